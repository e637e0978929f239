//! Building the underlay and the compute nodes: the underlay namespace with its bridge, the
//! root namespace's veth into it (198.18.x.1/24), and per compute node a namespace whose `eth0`
//! (198.18.x.(10+K)/24) is a port of that bridge, every underlay link at MTU 65535, and an
//! nftables table that drops overlay packets (MPLSoUDP 6635, VXLAN 4789, GRE) in the node
//! kernel's input path: the vrouter reads them from `eth0` itself, and the kernel must neither
//! deliver them nor answer them with ICMP.

use crate::cmd;
use crate::error::Result;
use crate::lab::Lab;
use crate::netns;
use crate::plan::MAX_COMPUTES;
use crate::state::ComputeRecord;

/// The nftables table each compute node gets.
pub const OVERLAY_TABLE: &str = "cirrus_lab";

/// The ruleset that keeps the node's kernel away from overlay packets. GRE is named by its
/// protocol number: nft resolves names through /etc/protocols, which a minimal Debian lacks.
pub fn overlay_drop_ruleset() -> String {
    format!(
        "table inet {OVERLAY_TABLE} {{\n\
         \tchain overlay_input {{\n\
         \t\ttype filter hook input priority filter; policy accept;\n\
         \t\tudp dport {{ 4789, 6635 }} counter drop comment \"overlay: for the vrouter\"\n\
         \t\tmeta l4proto 47 counter drop comment \"overlay: for the vrouter\"\n\
         \t}}\n\
         }}\n"
    )
}

impl Lab {
    /// The underlay namespace, its bridge `br0`, and the root namespace's link into it.
    pub(crate) fn build_underlay(&mut self) -> Result<()> {
        let u = self.plan.underlay_ns();
        let mtu = self.state.underlay_mtu.to_string();
        self.record_netns(&u)?;
        netns::add(&u)?;
        cmd::run(
            "ip",
            &[
                "-n", &u, "link", "add", "br0", "mtu", &mtu, "type", "bridge",
            ],
        )?;
        cmd::run("ip", &["-n", &u, "link", "set", "br0", "up"])?;

        let root = self.plan.root_link();
        self.record_root_link(&root)?;
        cmd::run(
            "ip",
            &[
                "link", "add", &root, "mtu", &mtu, "type", "veth", "peer", "name", "root", "mtu",
                &mtu, "netns", &u,
            ],
        )?;
        cmd::run(
            "ip",
            &["-n", &u, "link", "set", "root", "master", "br0", "up"],
        )?;
        let addr = format!("{}/24", self.plan.root_addr());
        cmd::run("ip", &["addr", "add", &addr, "dev", &root])?;
        cmd::run("ip", &["link", "set", &root, "up"])?;
        Ok(())
    }

    /// Puts another address of the underlay, 198.18.x.`host`/24, on the root namespace's link
    /// (e.g. for a second controller's channel and BGP), and returns it. It goes with the link.
    pub fn add_root_address(&mut self, host: u8) -> Result<std::net::Ipv4Addr> {
        if !(2..=10).contains(&host) {
            return Err(crate::error::LabError::Invalid(format!(
                "root address .{host}: use .2 to .10 (.1 is the root's, .11 and up the nodes')"
            )));
        }
        let addr = self.plan.underlay_addr(host);
        let cidr = format!("{addr}/24");
        cmd::run(
            "ip",
            &["addr", "replace", &cidr, "dev", &self.plan.root_link()],
        )?;
        Ok(addr)
    }

    /// Adds compute node c(K+1) after the last one: its namespace, `eth0` on the underlay and
    /// the overlay drop rule.
    pub fn add_compute(&mut self) -> Result<ComputeRecord> {
        let k = self
            .state
            .computes
            .iter()
            .map(|c| c.index)
            .max()
            .unwrap_or(0)
            + 1;
        if k > MAX_COMPUTES {
            return Err(crate::error::LabError::Invalid(format!(
                "a lab has at most {MAX_COMPUTES} compute nodes"
            )));
        }
        let record = ComputeRecord {
            name: format!("c{k}"),
            index: k,
            netns: self.plan.compute_ns(k),
            address: self.plan.compute_addr(k),
            port_ipc: None,
            introspect: None,
        };
        let (ns, u, mtu) = (
            record.netns.clone(),
            self.plan.underlay_ns(),
            self.state.underlay_mtu.to_string(),
        );
        self.state.computes.push(record.clone());
        self.record_netns(&ns)?;
        netns::add(&ns)?;
        cmd::run(
            "ip",
            &[
                "-n",
                &ns,
                "link",
                "add",
                "eth0",
                "mtu",
                &mtu,
                "type",
                "veth",
                "peer",
                "name",
                &record.name,
                "mtu",
                &mtu,
                "netns",
                &u,
            ],
        )?;
        cmd::run(
            "ip",
            &["-n", &u, "link", "set", &record.name, "master", "br0", "up"],
        )?;
        let addr = format!("{}/24", record.address);
        cmd::run("ip", &["-n", &ns, "addr", "add", &addr, "dev", "eth0"])?;
        cmd::run("ip", &["-n", &ns, "link", "set", "eth0", "up"])?;
        cmd::run_with_input(
            "ip",
            &["netns", "exec", &ns, "nft", "-f", "-"],
            Some(&overlay_drop_ruleset()),
        )?;
        tracing::info!(compute = %record.name, netns = %ns, address = %record.address, "compute node added");
        Ok(record)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ruleset_drops_the_three_overlay_encapsulations_on_input() {
        let rules = overlay_drop_ruleset();
        assert!(rules.contains("hook input"), "{rules}");
        assert!(
            rules.contains("udp dport { 4789, 6635 } counter drop"),
            "{rules}"
        );
        assert!(rules.contains("meta l4proto 47 counter drop"), "{rules}");
    }
}
