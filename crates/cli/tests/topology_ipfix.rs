//! IPFIX export end to end (`cirrus-vrouter --ipfix`): a real collector, Debian nfdump's
//! `nfcapd`, runs in compute node c1 on its loopback and receives c1's vrouter export
//! (the sandbox's `--vrouter-ipfix 127.0.0.1:PORT`, every vrouter to its own node). A TCP
//! connection from l1 (on c1) to r1:80 (on c2), captured on l1's interface, is read back
//! with `nfdump`: both directions with the right addresses, ports, bytes and packets.
//! tshark decodes the same export as IPFIX (cflow) without a malformed packet or an error.

mod common;

use std::collections::HashMap;
use std::process::Command;
use std::time::Duration;

use common::{Background, Capture, Sandbox, sandbox_can_run, text, wait_until};

const LEFT: &str = "default-domain:ipx:left";
const RIGHT: &str = "default-domain:ipx:right";

fn config() -> String {
    let mut c = String::from(
        "\
kind: project
fq_name: [default-domain, ipx]
---
kind: network-ipam
fq_name: [default-domain, ipx, ipx-ipam]
---
kind: network-policy
fq_name: [default-domain, ipx, web]
network_policy_entries:
  policy_rule:
    - direction: \"<>\"
      protocol: tcp
      ethertype: IPv4
      src_addresses: [{virtual_network: \"default-domain:ipx:left\"}]
      src_ports: [{start_port: -1, end_port: -1}]
      dst_addresses: [{virtual_network: \"default-domain:ipx:right\"}]
      dst_ports: [{start_port: 80, end_port: 80}]
      action_list: {simple_action: pass}
",
    );
    for (name, prefix) in [("left", "10.32.1.0"), ("right", "10.32.2.0")] {
        c.push_str(&format!(
            "---\nkind: virtual-network\nfq_name: [default-domain, ipx, {name}]\n\
             network_ipam_refs:\n  - to: [default-domain, ipx, ipx-ipam]\n    attr:\n      \
             ipam_subnets:\n        - subnet: {{ip_prefix: {prefix}, ip_prefix_len: 24}}\n\
             network_policy_refs:\n  - to: [default-domain, ipx, web]\n    \
             attr: {{sequence: {{major: 0, minor: 0}}}}\n"
        ));
    }
    c
}

fn connect(sb: &Sandbox, addr: &str) -> Option<String> {
    let out = sb.exec("l1", &["busybox", "nc", "-w", "2", addr, "80"]);
    let said = text(&out.stdout).trim().to_string();
    (out.status.success() && !said.is_empty()).then_some(said)
}

/// (bytes, packets) by (source, source port, destination, destination port).
type Counts = HashMap<(String, u16, String, u16), (u64, u64)>;

/// Every record of the files nfcapd finished in `dir`, as nfdump prints them in CSV.
fn nfdump(dir: &std::path::Path) -> (Counts, String) {
    let mut counts = Counts::new();
    let mut said = String::new();
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("nfcapd.2"))
        })
        .collect();
    files.sort();
    for f in files {
        let out = Command::new("nfdump")
            .arg("-r")
            .arg(&f)
            .args(["-q", "-o", "csv"])
            .output()
            .unwrap();
        assert!(out.status.success(), "nfdump -r {}: {out:?}", f.display());
        let csv = text(&out.stdout);
        said.push_str(&csv);
        // ts,te,td,sa,da,sp,dp,pr,flg,fwd,stos,ipkt,ibyt,...
        for line in csv.lines() {
            let v: Vec<&str> = line.split(',').map(str::trim).collect();
            if v.len() < 13 {
                continue;
            }
            let (Ok(sp), Ok(dp), Ok(pkts), Ok(bytes)) = (
                v[5].parse::<u16>(),
                v[6].parse::<u16>(),
                v[11].parse::<u64>(),
                v[12].parse::<u64>(),
            ) else {
                continue;
            };
            let e = counts
                .entry((v[3].to_string(), sp, v[4].to_string(), dp))
                .or_default();
            e.0 += bytes;
            e.1 += pkts;
        }
    }
    (counts, said)
}

/// nfcapd's output folder, removed at the end (also on failure).
struct FlowDir(std::path::PathBuf);

impl FlowDir {
    fn new() -> Self {
        let p = std::env::temp_dir().join(format!("cirrus-ipfix-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        FlowDir(p)
    }
    fn path(&self) -> &std::path::Path {
        &self.0
    }
}

impl Drop for FlowDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn nfcapd_receives_the_vrouters_ipfix_and_nfdump_reads_back_the_connection() {
    let test = "nfcapd_receives_the_vrouters_ipfix_and_nfdump_reads_back_the_connection";
    if !sandbox_can_run(test, &["nfcapd", "nfdump", "tshark"]) {
        return;
    }
    let sb = Sandbox::new("ipx");
    // A port in c1's own namespace: nothing else listens there.
    let port = (20_000 + std::process::id() % 20_000).to_string();
    let to = format!("127.0.0.1:{port}");
    let mut up = sb.up_args("2");
    up.extend(["--vrouter-ipfix", &to]);
    sb.ok(&up);
    sb.apply(&config());
    let l1 = sb.add_workload("l1", "c1", LEFT);
    let r1 = sb.add_workload("r1", "c2", RIGHT);
    let _server = Background::start(
        &sb,
        "r1",
        &["busybox", "nc", "-ll", "-p", "80", "-e", "echo", "r1:80"],
    );
    wait_until(
        "l1 to reach r1:80",
        Duration::from_secs(30),
        || connect(&sb, &r1),
        || sb.logs(),
    );

    let dir = FlowDir::new();
    let flows = dir.path().to_str().unwrap().to_string();
    let _nfcapd = Background::start(
        &sb,
        "c1",
        &[
            "nfcapd",
            "-w",
            &flows,
            "-b",
            "127.0.0.1",
            "-p",
            &port,
            "-t",
            "2",
        ],
    );
    let decode = format!("udp.port=={port},cflow");
    let filter = format!("udp port {port}");
    let ipfix = Capture::start(
        &sb,
        "c1",
        &[
            "-i",
            "lo",
            "-f",
            &filter,
            "-d",
            &decode,
            "-T",
            "fields",
            "-E",
            "separator=|",
            "-e",
            "cflow.version",
            "-e",
            "cflow.srcaddr",
            "-e",
            "cflow.dstaddr",
            "-e",
            "cflow.srcport",
            "-e",
            "cflow.dstport",
            "-e",
            "_ws.malformed",
            "-e",
            "_ws.expert.severity",
        ],
        1000,
        12,
    );
    let workload = Capture::start(
        &sb,
        "l1",
        &[
            "-i",
            "eth0",
            "-f",
            "tcp port 80",
            "-T",
            "fields",
            "-E",
            "separator=|",
            "-e",
            "ip.src",
            "-e",
            "tcp.srcport",
            "-e",
            "ip.dst",
            "-e",
            "tcp.dstport",
            "-e",
            "ip.len",
        ],
        100,
        6,
    );
    assert_eq!(connect(&sb, &r1).as_deref(), Some("r1:80"));

    // What crossed l1's interface, per direction of the one connection, in IP bytes (what
    // IPFIX's octet counts are).
    let mut seen = Counts::new();
    for line in workload.lines() {
        let v: Vec<&str> = line.split('|').collect();
        let (Some(sp), Some(dp), Some(len)) = (
            v.get(1).and_then(|x| x.parse::<u16>().ok()),
            v.get(3).and_then(|x| x.parse::<u16>().ok()),
            v.get(4).and_then(|x| x.parse::<u64>().ok()),
        ) else {
            continue;
        };
        let e = seen
            .entry((v[0].to_string(), sp, v[2].to_string(), dp))
            .or_default();
        e.0 += len;
        e.1 += 1;
    }
    let sport = seen
        .keys()
        .find(|(s, _, d, dp)| *s == l1 && *d == r1 && *dp == 80)
        .map(|k| k.1)
        .unwrap_or_else(|| panic!("the connection in l1's capture: {seen:?}"));
    assert_eq!(seen.len(), 2, "one connection, both ways: {seen:?}");

    // tshark: IPFIX (version 10) with the connection's record, nothing malformed.
    let lines = ipfix.lines();
    assert!(!lines.is_empty(), "no IPFIX message seen on c1's loopback");
    for l in &lines {
        let v: Vec<&str> = l.split('|').collect();
        assert!(v[0].split(',').all(|x| x == "10"), "not IPFIX: {l}");
        assert!(
            v.get(5).is_none_or(|m| m.is_empty()) && v.get(6).is_none_or(|s| s.is_empty()),
            "tshark found a problem: {l}\n{lines:?}"
        );
    }
    let has = |a: &str, b: &str, p: u16, q: u16| {
        lines.iter().any(|l| {
            let v: Vec<&str> = l.split('|').collect();
            let at = |i: usize| v.get(i).map_or(Vec::new(), |x| x.split(',').collect());
            let (s, d, sp, dp) = (at(1), at(2), at(3), at(4));
            (0..s.len()).any(|i| {
                s[i] == a
                    && d.get(i) == Some(&b)
                    && sp.get(i) == Some(&p.to_string().as_str())
                    && dp.get(i) == Some(&q.to_string().as_str())
            })
        })
    };
    assert!(
        has(&l1, &r1, sport, 80),
        "tshark: no record of l1:{sport} -> r1:80 in {lines:?}"
    );
    assert!(
        has(&r1, &l1, 80, sport),
        "tshark: no reverse record in {lines:?}"
    );

    // nfdump reads back what l1's interface saw, once nfcapd has rotated its file.
    let want_out = seen[&(l1.clone(), sport, r1.clone(), 80)];
    let want_in = seen[&(r1.clone(), 80, l1.clone(), sport)];
    let (got_out, got_in) = wait_until(
        "nfdump to read the connection back",
        Duration::from_secs(15),
        || {
            let (c, _) = nfdump(dir.path());
            let out = c.get(&(l1.clone(), sport, r1.clone(), 80)).copied()?;
            let back = c.get(&(r1.clone(), 80, l1.clone(), sport)).copied()?;
            (out == want_out && back == want_in).then_some((out, back))
        },
        || {
            let (c, csv) = nfdump(dir.path());
            format!(
                "want out {want_out:?} in {want_in:?} (bytes, packets)\nnfdump: {c:?}\n{csv}\n{}",
                sb.logs()
            )
        },
    );
    assert!(got_out.1 >= 3 && got_in.1 >= 2, "{got_out:?} {got_in:?}");
}
