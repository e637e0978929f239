//! A security group rule's port range as Neutron validates it (`_validate_port_range` and the
//! port value conversion) and as Contrail stores it in `dst_ports` (vnc_openstack: a missing
//! minimum 0, a missing maximum 65535; ICMP type and code in the minimum and maximum).

use serde_json::{Value, json};

use crate::error::{NResult, NeutronError};

fn icmp(proto: &str) -> bool {
    matches!(
        proto,
        "icmp" | "icmpv6" | "ipv6-icmp" | "icmp6" | "1" | "58"
    )
}

fn with_ports(proto: &str) -> bool {
    matches!(
        proto,
        "tcp" | "udp" | "dccp" | "sctp" | "udplite" | "6" | "17" | "33" | "132" | "136"
    )
}

/// The stored `(start, end)` of a rule's `port_range_min`/`port_range_max` for protocol
/// `proto` (None: any), or Neutron's 400.
pub fn range(proto: Option<&str>, min: Option<i64>, max: Option<i64>) -> NResult<(i64, i64)> {
    for p in [min, max].into_iter().flatten() {
        if !(0..=65535).contains(&p) {
            return Err(NeutronError::Bad {
                kind: "SecurityGroupInvalidPortValue",
                message: format!("Invalid value for port {p}."),
            });
        }
    }
    if min.is_none() && max.is_none() {
        return Ok((0, 65535));
    }
    let Some(proto) = proto else {
        return Err(NeutronError::Bad {
            kind: "SecurityGroupProtocolRequiredWithPorts",
            message: "Must also specify protocol if port range is given.".into(),
        });
    };
    if with_ports(proto) {
        return match (min, max) {
            (Some(0), _) | (_, Some(0)) => Err(NeutronError::Bad {
                kind: "SecurityGroupInvalidPortValue",
                message: "Invalid value for port 0.".into(),
            }),
            (Some(a), Some(z)) if a <= z => Ok((a, z)),
            _ => Err(NeutronError::Bad {
                kind: "SecurityGroupInvalidPortRange",
                message: "For TCP/UDP protocols, port_range_min must be <= port_range_max".into(),
            }),
        };
    }
    if icmp(proto) {
        for (v, field, attr) in [
            (min, "type", "port_range_min"),
            (max, "code", "port_range_max"),
        ] {
            if let Some(v) = v
                && !(0..=255).contains(&v)
            {
                return Err(NeutronError::Bad {
                    kind: "SecurityGroupInvalidIcmpValue",
                    message: format!(
                        "Invalid value for ICMP {field} ({attr}) {v}. It must be 0 to 255."
                    ),
                });
            }
        }
        let Some(t) = min else {
            return Err(NeutronError::Bad {
                kind: "SecurityGroupMissingIcmpType",
                message: format!(
                    "ICMP code (port-range-max) {} is provided but ICMP type (port-range-min) is missing.",
                    max.unwrap_or_default()
                ),
            });
        };
        return Ok((t, max.unwrap_or(65535)));
    }
    Err(NeutronError::Bad {
        kind: "SecurityGroupInvalidProtocolForPort",
        message: format!(
            "Invalid protocol {proto} for port range, only supported for TCP, UDP, UDPLITE, SCTP and DCCP."
        ),
    })
}

/// `port_range_min`/`port_range_max` of a stored `(start, end)` for protocol `proto`.
pub fn render(proto: Option<&str>, lo: i64, hi: i64) -> (Value, Value) {
    if lo < 0 || (lo == 0 && hi >= 65535) {
        return (Value::Null, Value::Null);
    }
    if proto.is_some_and(icmp) && hi > 255 {
        return (json!(lo), Value::Null);
    }
    (json!(lo), json!(hi))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(p: Option<&str>, a: Option<i64>, z: Option<i64>) -> String {
        let e = range(p, a, z).unwrap_err();
        assert_eq!(e.status(), axum::http::StatusCode::BAD_REQUEST);
        e.to_string()
    }

    #[test]
    fn tempests_invalid_ranges_get_neutrons_messages() {
        let tcp = Some("tcp");
        assert!(msg(tcp, Some(-16), Some(80)).contains("Invalid value for port -16"));
        assert!(msg(tcp, Some(80), Some(79)).contains("port_range_min must be <= port_range_max"));
        assert!(msg(tcp, Some(80), Some(65536)).contains("Invalid value for port 65536"));
        assert!(msg(tcp, None, Some(6)).contains("port_range_min must be <= port_range_max"));
        let icmp = Some("icmp");
        assert!(msg(icmp, Some(1), Some(256)).contains("Invalid value for ICMP code"));
        assert!(msg(icmp, Some(-1), Some(25)).contains("Invalid value"));
        assert!(msg(icmp, None, Some(6)).contains("ICMP type (port-range-min) is missing"));
        assert!(msg(icmp, Some(300), Some(1)).contains("Invalid value for ICMP type"));
        assert!(msg(None, Some(1), Some(2)).contains("Must also specify protocol"));
        assert!(msg(Some("gre"), Some(1), Some(2)).contains("Invalid protocol gre"));
    }

    #[test]
    fn valid_ranges_round_trip() {
        for (p, a, z) in [
            ("tcp", Some(22), Some(22)),
            ("icmp", Some(3), Some(2)),
            ("icmp", Some(0), Some(0)),
            ("icmp", Some(11), None),
            ("ipv6-icmp", Some(8), Some(0)),
        ] {
            let (lo, hi) = range(Some(p), a, z).unwrap();
            assert_eq!(
                render(Some(p), lo, hi),
                (json!(a), json!(z)),
                "{p} {a:?} {z:?}"
            );
        }
        let (lo, hi) = range(Some("tcp"), None, None).unwrap();
        assert_eq!(render(Some("tcp"), lo, hi), (Value::Null, Value::Null));
    }
}
