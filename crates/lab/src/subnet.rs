//! Choosing a lab's /24 of 198.18.0.0/15: under a machine-wide lock, the lowest /24 that no
//! address in the root namespace uses yet. A lab holds its /24 by the address on its root link
//! (198.18.x.1), so the kernel itself is the registry: a lab that is gone frees its /24 with
//! its link, and nothing stale is left to clean.

use std::collections::BTreeSet;
use std::fs::File;
use std::net::Ipv4Addr;
use std::path::PathBuf;

use crate::cmd;
use crate::error::{LabError, Result};
use crate::plan::SUBNETS;

fn lock_path() -> PathBuf {
    let run_lock = PathBuf::from("/run/lock");
    if run_lock.is_dir() {
        run_lock.join("cirrus-lab.lock")
    } else {
        std::env::temp_dir().join("cirrus-lab.lock")
    }
}

/// Held while a lab chooses its /24 and puts the address on its root link.
pub(crate) fn lock() -> Result<File> {
    let path = lock_path();
    let file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| LabError::file("opening the subnet lock", &path, e))?;
    file.lock()
        .map_err(|e| LabError::file("locking", &path, e))?;
    Ok(file)
}

/// The /24 index of an address in 198.18.0.0/15.
pub(crate) fn index_of(addr: Ipv4Addr) -> Option<u16> {
    let [a, b, c, _] = addr.octets();
    (a == 198 && (b == 18 || b == 19)).then(|| u16::from(b - 18) * 256 + u16::from(c))
}

/// The /24s used by addresses in the output of `ip -4 -o addr show`.
pub(crate) fn used_in(ip_addr_output: &str) -> BTreeSet<u16> {
    ip_addr_output
        .lines()
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            words.find(|w| *w == "inet")?;
            let cidr = words.next()?;
            let addr: Ipv4Addr = cidr.split('/').next()?.parse().ok()?;
            index_of(addr)
        })
        .collect()
}

/// The /24s the root namespace's addresses use now.
pub(crate) fn used() -> Result<BTreeSet<u16>> {
    Ok(used_in(&cmd::run("ip", &["-4", "-o", "addr", "show"])?))
}

/// `wanted` if it is free, else the lowest free /24.
pub(crate) fn choose(wanted: Option<u16>, used: &BTreeSet<u16>) -> Result<u16> {
    match wanted {
        Some(w) if used.contains(&w) => Err(LabError::Invalid(format!(
            "underlay subnet {} is in use by another lab on this machine",
            crate::plan::Plan::new("x", w)?.underlay_addr(0)
        ))),
        Some(w) => Ok(w),
        None => (0..SUBNETS)
            .find(|i| !used.contains(i))
            .ok_or(LabError::NoSubnet),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_used_subnets_from_ip_output() {
        let out = "1: lo    inet 127.0.0.1/8 scope host lo\\       valid_lft forever\n\
                   23: cirrus-ul    inet 198.18.0.1/24 scope global cirrus-ul\\ x\n\
                   24: cl9-ul    inet 198.19.3.1/24 scope global cl9-ul\\ x\n\
                   25: eth0    inet 198.20.0.1/24 scope global eth0\n";
        assert_eq!(used_in(out), BTreeSet::from([0, 259]));
        assert_eq!(choose(None, &BTreeSet::from([0, 1, 3])).unwrap(), 2);
        assert_eq!(choose(Some(7), &BTreeSet::from([0])).unwrap(), 7);
        let err = choose(Some(0), &BTreeSet::from([0])).unwrap_err();
        assert!(err.to_string().contains("198.18.0.0 is in use"), "{err}");
        let all: BTreeSet<u16> = (0..SUBNETS).collect();
        assert!(matches!(choose(None, &all), Err(LabError::NoSubnet)));
    }
}
