//! The lab's naming and addressing plan: from a prefix and a /24 of 198.18.0.0/15, every
//! namespace name, root-namespace link name and underlay address of the lab. Pure functions,
//! so the CLI, the tests and teardown all agree on names without asking the kernel.
//!
//! - underlay namespace `<prefix>-u` holding bridge `br0`; the root namespace's veth
//!   `<prefix>-ul` (198.18.x.1/24) has its peer `root` on that bridge;
//! - compute node cK: namespace `<prefix>-cK`, `eth0` = 198.18.x.(10+K)/24, its peer `cK` on
//!   the bridge;
//! - workload W: namespace `<prefix>-W`, `eth0` inside, the other end in its compute node's
//!   namespace under the name the vrouter is told (`tap…`, Contrail's `system-name`).
//!
//! Links inside the lab's own namespaces need no prefix: they vanish with their namespace and
//! cannot collide with anything outside it.

use std::net::Ipv4Addr;

use crate::error::{LabError, Result};

/// Interface names are at most 15 bytes (IFNAMSIZ - 1).
pub const IFNAME_MAX: usize = 15;
/// The longest prefix: `<prefix>-ul` must fit in an interface name.
pub const PREFIX_MAX: usize = IFNAME_MAX - 3;
/// Compute nodes are numbered 1..=MAX_COMPUTES (their address is .10+K).
pub const MAX_COMPUTES: u32 = 200;
/// The /24s of 198.18.0.0/15.
pub const SUBNETS: u16 = 512;
/// MTU of every underlay link: the largest veth and bridges take, so a workload's TCP
/// super-frame crosses the fabric in few packets (and a 1500-byte packet always fits after
/// encapsulation).
pub const UNDERLAY_MTU: u32 = 65535;

/// Names and addresses of one lab.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    prefix: String,
    subnet: u16,
}

impl Plan {
    pub fn new(prefix: &str, subnet: u16) -> Result<Plan> {
        check_prefix(prefix)?;
        if subnet >= SUBNETS {
            return Err(LabError::Invalid(format!(
                "underlay subnet index {subnet} is outside 198.18.0.0/15 (0..{SUBNETS})"
            )));
        }
        Ok(Plan {
            prefix: prefix.to_string(),
            subnet,
        })
    }

    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// Which /24 of 198.18.0.0/15 the underlay uses (0 is 198.18.0.0/24, 256 is 198.19.0.0/24).
    pub fn subnet(&self) -> u16 {
        self.subnet
    }

    pub fn underlay_ns(&self) -> String {
        format!("{}-u", self.prefix)
    }

    pub fn compute_ns(&self, k: u32) -> String {
        format!("{}-c{k}", self.prefix)
    }

    pub fn workload_ns(&self, name: &str) -> String {
        format!("{}-{name}", self.prefix)
    }

    /// The root namespace's end of the veth into the underlay.
    pub fn root_link(&self) -> String {
        format!("{}-ul", self.prefix)
    }

    /// `198.18.x.host`.
    pub fn underlay_addr(&self, host: u8) -> Ipv4Addr {
        let base = u32::from(Ipv4Addr::new(198, 18, 0, 0)) + u32::from(self.subnet) * 256;
        Ipv4Addr::from(base + u32::from(host))
    }

    /// The root namespace's (the controller's) underlay address, 198.18.x.1.
    pub fn root_addr(&self) -> Ipv4Addr {
        self.underlay_addr(1)
    }

    /// Compute node cK's underlay address, 198.18.x.(10+K).
    pub fn compute_addr(&self, k: u32) -> Ipv4Addr {
        assert!((1..=MAX_COMPUTES).contains(&k), "compute index {k}");
        self.underlay_addr(10 + k as u8)
    }

    /// A loopback address that belongs to this lab alone, 127.18.x.1 (127.19.x.1 for the upper
    /// half): servers of parallel labs in the root namespace bind their usual ports on it
    /// without colliding.
    pub fn loopback(&self) -> Ipv4Addr {
        let [_, b, c, _] = self.underlay_addr(0).octets();
        Ipv4Addr::new(127, b, c, 1)
    }
}

/// `cK` → K.
pub fn parse_compute(name: &str) -> Option<u32> {
    let k: u32 = name.strip_prefix('c')?.parse().ok()?;
    (name == format!("c{k}") && (1..=MAX_COMPUTES).contains(&k)).then_some(k)
}

/// A prefix is a lowercase letter then lowercase letters and digits, at most [`PREFIX_MAX`].
pub fn check_prefix(prefix: &str) -> Result<()> {
    let ok = !prefix.is_empty()
        && prefix.len() <= PREFIX_MAX
        && prefix.starts_with(|c: char| c.is_ascii_lowercase())
        && prefix
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    if ok {
        Ok(())
    } else {
        Err(LabError::Invalid(format!(
            "lab prefix {prefix:?}: use 1 to {PREFIX_MAX} lowercase letters and digits, starting \
             with a letter"
        )))
    }
}

/// A workload name: lowercase letters, digits and `-`, starting with a letter or digit, at
/// most 40 bytes, and not a name the lab uses itself (`u`, `cK`).
pub fn check_workload_name(name: &str) -> Result<()> {
    let chars_ok = !name.is_empty()
        && name.len() <= 40
        && !name.starts_with('-')
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if !chars_ok {
        return Err(LabError::Invalid(format!(
            "workload name {name:?}: use 1 to 40 lowercase letters, digits and '-'"
        )));
    }
    if name == "u" || parse_compute(name).is_some() {
        return Err(LabError::Invalid(format!(
            "workload name {name:?} is taken by the lab's own namespaces (u, c1, c2, ...)"
        )));
    }
    Ok(())
}

/// An interface name the kernel accepts: 1 to 15 bytes, no `/`, `:` or whitespace.
pub fn check_ifname(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= IFNAME_MAX
        && name != "."
        && name != ".."
        && !name.contains(|c: char| c == '/' || c == ':' || c.is_whitespace());
    if ok {
        Ok(())
    } else {
        Err(LabError::Invalid(format!(
            "interface name {name:?}: 1 to {IFNAME_MAX} bytes without '/', ':' or spaces"
        )))
    }
}

/// Contrail's name for a port's host-side interface: `tap` and the first 11 characters of the
/// port (virtual-machine-interface) uuid, as nova's vif driver names it.
pub fn tap_name(vmi_uuid: &str) -> String {
    let mut name = String::from("tap");
    name.extend(vmi_uuid.chars().take(11));
    name
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_addresses() {
        let p = Plan::new("cirrus", 0).unwrap();
        assert_eq!(p.underlay_ns(), "cirrus-u");
        assert_eq!(p.compute_ns(3), "cirrus-c3");
        assert_eq!(p.workload_ns("web-1"), "cirrus-web-1");
        assert_eq!(p.root_link(), "cirrus-ul");
        assert_eq!(p.root_addr(), Ipv4Addr::new(198, 18, 0, 1));
        assert_eq!(p.compute_addr(2), Ipv4Addr::new(198, 18, 0, 12));
        assert_eq!(p.loopback(), Ipv4Addr::new(127, 18, 0, 1));
        let p = Plan::new("t", 258).unwrap();
        assert_eq!(p.root_addr(), Ipv4Addr::new(198, 19, 2, 1));
        assert_eq!(p.loopback(), Ipv4Addr::new(127, 19, 2, 1));
        assert!(Plan::new("t", 512).is_err());
        let longest = "a".repeat(PREFIX_MAX);
        assert_eq!(
            Plan::new(&longest, 1).unwrap().root_link().len(),
            IFNAME_MAX
        );
    }

    #[test]
    fn prefixes_and_workload_names_are_checked() {
        for bad in ["", "Cirrus", "1ab", "a-b", "abcdefghijklm"] {
            assert!(check_prefix(bad).is_err(), "{bad}");
        }
        check_prefix("cl4f2a").unwrap();
        for bad in ["", "u", "c1", "c200", "-x", "A", "a b", &"x".repeat(41)] {
            assert!(check_workload_name(bad).is_err(), "{bad}");
        }
        for good in ["web1", "red-web1", "c", "c1x", "c01", "1"] {
            check_workload_name(good).unwrap();
        }
        assert_eq!(parse_compute("c12"), Some(12));
        assert_eq!(parse_compute("c0"), None);
        assert_eq!(parse_compute("c012"), None);
        assert_eq!(parse_compute("x1"), None);
    }

    #[test]
    fn tap_names_are_contrails() {
        assert_eq!(
            tap_name("93c2c386-6e79-485e-bfa4-b9daa713133b"),
            "tap93c2c386-6e"
        );
        check_ifname(&tap_name("93c2c386-6e79-485e-bfa4-b9daa713133b")).unwrap();
        assert!(check_ifname("a/b").is_err());
        assert!(check_ifname(&"x".repeat(16)).is_err());
    }
}
