//! Route targets as Contrail's `route_target.py` reads them: a route-target object is named
//! `target:<ASN>:<number>` or `target:<IP>:<number>` (an ASN written `<n>L` is a four-byte one,
//! whose number fits 16 bits); the targets a user configures on networks and routers are also
//! outside the range the system allocates from for the global ASN (8000000 to 2^24 with a
//! two-byte ASN, 8000 to 2^15 with a four-byte one), and are stored as Contrail rewrites them
//! (`target:<asn>:<number>`). Changing the global ASN is refused while configured targets would
//! fall into its range.

use std::net::IpAddr;

use serde_json::{Value, json};

use super::{Ctx, check_asn, global_asn};
use crate::error::{ApiError, ApiResult};
use crate::index::Index;
use crate::object::Obj;

/// The route-target lists users configure, by type (Contrail's `USER_DEFINED_RT_FIELDS`).
const USER_LISTS: &[(&str, &[&str])] = &[
    (
        "virtual-network",
        &[
            "route_target_list",
            "import_route_target_list",
            "export_route_target_list",
        ],
    ),
    ("logical-router", &["configured_route_target_list"]),
];

const FORMAT: &str =
    "Route target must be of the format 'target:<asn>:<number>' or 'target:<ip>:<number>'";

#[derive(Debug, PartialEq)]
enum Asn {
    Number(u64),
    Address(String),
}

/// Contrail's parse of a route target name: (ASN, number).
fn parse(name: &str) -> Result<(Asn, u64), String> {
    let parts: Vec<&str> = name.split(':').collect();
    let [prefix, asn, target] = parts[..] else {
        return Err(FORMAT.into());
    };
    if prefix != "target" {
        return Err(FORMAT.into());
    }
    let target: u64 = target.trim().parse().map_err(|_| FORMAT.to_string())?;
    let asn = match asn.strip_suffix(['l', 'L']) {
        Some(a) => {
            if target > 0xFFFF {
                return Err(
                    "Route Target index value must be less than 0xFFFF in case of 4 byte ASN"
                        .into(),
                );
            }
            a
        }
        None => asn,
    };
    if !asn.is_empty() && asn.bytes().all(|b| b.is_ascii_digit()) {
        return asn
            .parse()
            .map(|a| (Asn::Number(a), target))
            .map_err(|_| FORMAT.into());
    }
    asn.parse::<IpAddr>()
        .map(|_| (Asn::Address(asn.to_string()), target))
        .map_err(|_| FORMAT.into())
}

fn four_byte(index: &Index) -> bool {
    index
        .by_fq_name("global-system-config", "default-global-system-config")
        .and_then(|g| g.body.get("enable_4byte_as"))
        .and_then(Value::as_bool)
        .unwrap_or(false)
}

/// Whether a target of `asn` numbered `n` is outside what the system allocates for `global`.
fn user_defined(asn: &Asn, n: u64, global: u64, four_byte: bool) -> bool {
    if *asn != Asn::Number(global) {
        return true;
    }
    let (min, max) = if global > 0xFFFF {
        (8000, 1 << 15)
    } else {
        (8_000_000, 1 << 24)
    };
    let top = if four_byte { 0xFFFF } else { 0xFFFF_FFFF };
    (1..min).contains(&n) || (max < n && n <= top)
}

/// The route-target object's name.
pub fn check_object(c: &Ctx, old: Option<&Obj>, new: &mut Obj) -> ApiResult<()> {
    if old.is_some() {
        return Ok(());
    }
    parse(new.name())
        .map(|_| ())
        .map_err(|m| ApiError::bad_request(format!("{}: {m}", c.what)))
}

/// The lists a user configures on a network or a logical router.
pub fn check_lists(c: &Ctx, old: Option<&Obj>, new: &mut Obj) -> ApiResult<()> {
    let Some((_, fields)) = USER_LISTS.iter().find(|(t, _)| *t == new.type_name()) else {
        return Ok(());
    };
    let global = global_asn(c.index);
    let wide = four_byte(c.index);
    for field in *fields {
        if old.is_some_and(|o| o.body.get(*field) == new.body.get(*field)) {
            continue;
        }
        let Some(list) = new
            .body
            .get_mut(*field)
            .and_then(|l| l.get_mut("route_target"))
            .and_then(Value::as_array_mut)
        else {
            continue;
        };
        for rt in list.iter_mut() {
            let name = rt.as_str().unwrap_or("");
            let bad = |m: String| ApiError::bad_request(format!("{}: {field}: {m}", c.what));
            let (asn, n) = parse(name).map_err(|m| bad(format!("{name}: {m}")))?;
            if let Asn::Number(a) = asn {
                check_asn(c, field, Some(&json!(a)))?;
            }
            if !user_defined(&asn, n, global, wide) {
                let (min, max) = if global > 0xFFFF {
                    (8000, 1 << 15)
                } else {
                    (8_000_000, 1 << 24)
                };
                return Err(bad(format!(
                    "{name}: Configured route target must use ASN that is different from \
                     global ASN or route target value must be less than {min} and greater \
                     than {max}"
                )));
            }
            let asn = match asn {
                Asn::Number(a) => a.to_string(),
                Asn::Address(a) => a,
            };
            *rt = json!(format!("target:{asn}:{n}"));
        }
    }
    Ok(())
}

/// A new global ASN may not put configured route targets into the system's range.
pub fn check_global_asn(c: &Ctx, old: Option<&Obj>, new: &mut Obj) -> ApiResult<()> {
    let asn = new.body.get("autonomous_system").and_then(Value::as_u64);
    let (Some(asn), Some(old)) = (asn, old) else {
        return Ok(());
    };
    if old.body.get("autonomous_system").and_then(Value::as_u64) == Some(asn) {
        return Ok(());
    }
    let wide = new
        .body
        .get("enable_4byte_as")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let mut clashes = Vec::new();
    for (ty, fields) in USER_LISTS {
        for o in c.index.of_type(ty) {
            for field in *fields {
                let names = o
                    .body
                    .get(*field)
                    .and_then(|l| l.get("route_target"))
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str);
                for name in names {
                    if let Ok((a, n)) = parse(name)
                        && !user_defined(&a, n, asn, wide)
                    {
                        clashes.push(format!("{ty} {} {field} {name}", o.fq_str));
                    }
                }
            }
        }
    }
    if clashes.is_empty() {
        return Ok(());
    }
    Err(ApiError::bad_request(format!(
        "{}: autonomous_system {asn}: route targets are configured with this ASN and a value in \
         the range used by automatically allocated route targets: {}",
        c.what,
        clashes.join(", ")
    )))
}

#[cfg(test)]
mod tests {
    use super::{Asn, parse, user_defined};

    #[test]
    fn names_parse_as_contrail_reads_them() {
        for bad in [
            ":::",
            "not-enough-part-in-rt",
            "to:much:part:in:rt",
            "bad-prefix:1:1",
            "target:non-digit-asn:1",
            "target:1:non-digit-target",
            "target:40L:70000",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
        assert_eq!(parse("target:1:1"), Ok((Asn::Number(1), 1)));
        assert_eq!(
            parse("target:1.1.1.1:1"),
            Ok((Asn::Address("1.1.1.1".into()), 1))
        );
        assert_eq!(parse("target:40L:10"), Ok((Asn::Number(40), 10)));
    }

    #[test]
    fn the_system_range_is_reserved_for_the_global_asn_only() {
        assert!(user_defined(&Asn::Number(1), 1, 42, false));
        assert!(user_defined(&Asn::Number(42), 1, 42, false));
        assert!(!user_defined(&Asn::Number(42), 8_001_000, 42, false));
        assert!(user_defined(&Asn::Number(42), (1 << 24) + 1000, 42, false));
        assert!(user_defined(&Asn::Number(40), 8_001_000, 42, false));
        assert!(!user_defined(&Asn::Number(70000), 9000, 70000, true));
        assert!(user_defined(&Asn::Number(70000), 7999, 70000, true));
    }
}
