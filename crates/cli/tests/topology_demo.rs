//! `cirrusctl sandbox up --demo --computes 3`, as a user runs it: the demo builds two tenants
//! with the same subnet, a policy between red's networks, a floating IP from the public network
//! and seven workloads, pings between them, and fails when any ping does what it should not.
//! The test checks that it succeeds, that its output shows each try as expected (same network
//! across nodes, policy pass and policy deny, overlapping tenants isolated, the floating IP
//! from the public network), and then, in the sandbox the demo left up, that the floating IP's
//! traffic reaches red-web1 translated (red-web1 sees pub1's address talk to its own) and
//! pub1 sees the answer come from the floating IP; and that red's pings to blue-web2's
//! address (red has its own 10.1.1.0/24) never reach blue-web2.

mod common;

use std::time::Duration;

use common::{Background, Capture, Sandbox, sandbox_can_run, wait_until};

#[test]
fn the_demo_on_three_nodes_shows_every_try_as_expected() {
    let test = "the_demo_on_three_nodes_shows_every_try_as_expected";
    if !sandbox_can_run(test, &["ping", "tshark"]) {
        return;
    }
    let sb = Sandbox::new("dem");
    let mut args = sb.up_args("3");
    args.push("--demo");
    let up = sb.ok(&args);

    assert!(
        up.contains("First successful ping (red-web1 -> red-web2"),
        "{up}"
    );
    assert!(!up.contains("UNEXPECTED"), "{up}");
    // (seen, from, what the line says): each try, as the demo prints it.
    let expected = [
        ("works", "red-web1", "red-web2: same network, c1 -> c2"),
        ("works", "red-web1", "red-db1: policy web-to-db"),
        (
            "works",
            "blue-web1",
            "blue-web2: blue's 10.1.1.0/24 is red's too",
        ),
        (
            "works",
            "pub1",
            "red-web1's floating IP, from the public network",
        ),
        ("blocked", "red-web1", "red-app1: policy web-to-app"),
        ("blocked", "blue-web1", "red's db network: another tenant"),
    ];
    for (seen, from, what) in expected {
        let line = up
            .lines()
            .find(|l| l.contains(what))
            .unwrap_or_else(|| panic!("no try `{what}` in:\n{up}"));
        let words: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(words.first(), Some(&seen), "{line}");
        assert_eq!(words.get(4), Some(&from), "{line}");
    }
    // Seven workloads, each with the address DHCP gave (its instance-ip).
    assert_eq!(up.matches("from DHCP").count(), 7, "{up}");
    assert!(!up.contains("instance-ip is"), "{up}");
    let status = sb.ok(&["status"]);

    // The floating IP, seen from both ends.
    let fip = sb.rest(
        "GET",
        &format!(
            "/floating-ip/{}",
            sb.uuid(
                "floating-ip",
                &[
                    "default-domain",
                    "default-project",
                    "public",
                    "public-pool",
                    "red-web1"
                ]
            )
        ),
        None,
    )["floating-ip"]["floating_ip_address"]
        .as_str()
        .unwrap()
        .to_string();
    let web1 = common::address(&status, "red-web1");
    let pub1 = common::address(&status, "pub1");
    assert!(fip.starts_with("10.99.0."), "{fip}");
    let capture = Capture::start(
        &sb,
        "red-web1",
        &[
            "-i",
            "eth0",
            "-f",
            "icmp",
            "-T",
            "fields",
            "-E",
            "separator=,",
            "-e",
            "ip.src",
            "-e",
            "ip.dst",
            "-e",
            "icmp.type",
        ],
        2,
        15,
    );
    let ping = wait_until(
        "pub1 to ping red-web1's floating IP",
        Duration::from_secs(10),
        || {
            let out = sb.exec("pub1", &["ping", "-c", "1", "-W", "1", &fip]);
            out.status.success().then_some(out)
        },
        || sb.logs(),
    );
    let said = common::text(&ping.stdout);
    assert!(
        said.contains(&format!("bytes from {fip}:")),
        "the answer must come from the floating IP: {said}"
    );
    let seen = capture.lines();
    assert_eq!(
        seen.first().map(String::as_str),
        Some(format!("{pub1},{web1},8").as_str()),
        "red-web1 sees pub1's request to its own address: {seen:?}"
    );
    assert_eq!(
        seen.get(1).map(String::as_str),
        Some(format!("{web1},{pub1},0").as_str()),
        "{seen:?}"
    );

    // TCP through the floating IP: red-web1 serves a stream of about 1.2 MB (busybox nc
    // runs `seq` on the connection), which its stack hands over as checksum-offloaded
    // super-frames; translated on the way (source rewritten to the floating IP, checksum
    // still partial), pub1 receives it whole. (pub1's stack trusts a checksum left
    // partial, so the partial field's translation itself is checked by the NAT unit test.)
    let _server = Background::start(
        &sb,
        "red-web1",
        &[
            "busybox", "nc", "-l", "-p", "5002", "-e", "seq", "1", "200000",
        ],
    );
    let sent: String = (1..=200000).map(|i| format!("{i}\n")).collect();
    let received = wait_until(
        "pub1 to receive red-web1's stream through the floating IP",
        Duration::from_secs(10),
        || {
            let out = sb.exec("pub1", &["busybox", "nc", "-w", "3", &fip, "5002"]);
            (out.status.success() && !out.stdout.is_empty()).then_some(out)
        },
        || sb.logs(),
    );
    let received = common::text(&received.stdout);
    assert_eq!(
        received.len(),
        sent.len(),
        "pub1 received all of the stream"
    );
    assert!(received == sent, "the stream arrived changed");

    // The tenants overlap: red's pings to blue-web2's address never reach blue-web2.
    let blue2 = common::address(&status, "blue-web2");
    let capture = Capture::start(
        &sb,
        "blue-web2",
        &["-i", "eth0", "-f", "icmp", "-T", "fields", "-e", "ip.src"],
        1,
        4,
    );
    let _ = sb.exec("red-web1", &["ping", "-c", "2", "-W", "1", &blue2]);
    let seen = capture.lines();
    assert!(seen.is_empty(), "red reached blue-web2: {seen:?}");
}
