//! bgperf-style convergence benchmark: N injector peers each advertise M unique VPNv4 prefixes
//! into the speaker under test, which re-advertises them to one sink peer. Prints one line per
//! implementation: time from the first injected byte to the sink holding all N*M prefixes, and
//! the speaker's peak RSS (VmHWM) and its RSS once converged, with the time and peak ratios to
//! Cirrus (above 1: Cirrus is faster / smaller). The speaker runs as its own process (Cirrus
//! re-executes this binary with `--serve`), so its memory is measured alone. Every
//! implementation gets the same load and the same criterion (the sink holds all N*M prefixes).
//!
//! cargo bench -p cirrus-bgp --bench convergence -- --peers 10 --prefixes 100000 --impl cirrus,frr,bird
//!
//! (add `gobgp` at 10 x 10000: it takes minutes at 10 x 100000.)

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

use cirrus_bgp::attrs::{AsSegment, PathAttrs};
use cirrus_bgp::codec::{self, CodecContext};
use cirrus_bgp::ext_community::ExtCommunity;
use cirrus_bgp::message::{Capabilities, Message, Open, Update};
use cirrus_bgp::speaker::{PeerConfig, Speaker, SpeakerConfig};
use cirrus_bgp::types::{Family, Label, Labeled, Nlri, Rd};

const SPEAKER_AS: u32 = 64512;
const SINK_AS: u32 = 65200;
const PORT: u16 = 17951;

fn speaker_ip() -> Ipv4Addr {
    Ipv4Addr::new(127, 0, 8, 1)
}
fn injector_ip(i: usize) -> Ipv4Addr {
    Ipv4Addr::new(127, 0, 8, 10 + i as u8)
}
fn sink_ip() -> Ipv4Addr {
    Ipv4Addr::new(127, 0, 8, 200)
}

struct Args {
    peers: usize,
    prefixes: usize,
    impls: Vec<String>,
    serve: Option<String>,
}

fn args() -> Args {
    let mut a = Args {
        peers: 4,
        prefixes: 10_000,
        impls: vec!["cirrus".into()],
        serve: None,
    };
    let v: Vec<String> = std::env::args().skip(1).collect();
    let mut i = 0;
    while i < v.len() {
        let next = v.get(i + 1).cloned().unwrap_or_default();
        match v[i].as_str() {
            "--peers" => a.peers = next.parse().expect("--peers N"),
            "--prefixes" => a.prefixes = next.parse().expect("--prefixes M"),
            "--impl" => a.impls = next.split(',').map(str::to_string).collect(),
            "--serve" => a.serve = Some(next),
            _ => {
                i += 1;
                continue;
            }
        }
        i += 2;
    }
    assert!(a.peers <= 100, "at most 100 injector peers");
    a
}

fn main() {
    let a = args();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    if let Some(cfg) = a.serve {
        rt.block_on(serve(&cfg));
        return;
    }
    // (implementation, outcome): printed together at the end so every line can carry its
    // ratios to Cirrus's figures, whatever the order of `--impl`.
    let mut results: Vec<(String, Result<Outcome, String>)> = Vec::new();
    for imp in &a.impls {
        let dir =
            std::env::temp_dir().join(format!("cirrus-bgp-bench-{imp}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut child = match start(imp, a.peers, &dir) {
            Ok(c) => c,
            Err(e) => {
                results.push((imp.clone(), Err(e)));
                continue;
            }
        };
        let res = rt.block_on(run(imp, a.peers, a.prefixes));
        let rss = rss_kb(child.id(), "VmHWM:");
        // Resident memory once converged: what stays, next to the peak.
        let rss_now = rss_kb(child.id(), "VmRSS:");
        if res.is_err() {
            // Show the daemon's last words next to the error.
            for e in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
                if e.path().extension().is_some_and(|x| x == "log") {
                    let t = std::fs::read_to_string(e.path()).unwrap_or_default();
                    let tail: Vec<&str> = t.lines().rev().take(8).collect();
                    eprintln!(
                        "{}:\n{}",
                        e.path().display(),
                        tail.into_iter().rev().collect::<Vec<_>>().join("\n")
                    );
                }
            }
        }
        let _ = child.kill();
        let _ = child.wait();
        let _ = std::fs::remove_dir_all(&dir);
        let res = res.map(|t| (t, rss, rss_now));
        match &res {
            Ok((t, _, _)) => eprintln!("{imp}: converged in {} ms", t.as_millis()),
            Err(e) => eprintln!("{imp}: {e}"),
        }
        results.push((imp.clone(), res));
    }
    let cirrus = results.iter().find_map(|(i, r)| match r {
        Ok(v) if i == "cirrus" => Some(*v),
        _ => None,
    });
    for (imp, res) in results {
        match res {
            Ok((t, rss, rss_now)) => {
                // Ratios are this implementation's figure over Cirrus's: above 1 means Cirrus
                // converged faster / peaked lower.
                let ratios = cirrus.map_or(String::new(), |(ct, crss, _)| {
                    let mem = match (rss, crss) {
                        (Some(r), Some(c)) if c > 0 => format!("{:.2}", r as f64 / c as f64),
                        _ => "?".into(),
                    };
                    format!(
                        " time_vs_cirrus={:.2} rss_vs_cirrus={mem}",
                        t.as_secs_f64() / ct.as_secs_f64()
                    )
                });
                println!(
                    "impl={imp} peers={} prefixes_per_peer={} total={} convergence_ms={} prefixes_per_s={:.0} peak_rss_kb={} rss_after_kb={}{ratios}",
                    a.peers,
                    a.prefixes,
                    a.peers * a.prefixes,
                    t.as_millis(),
                    (a.peers * a.prefixes) as f64 / t.as_secs_f64(),
                    rss.map_or("?".into(), |r| r.to_string()),
                    rss_now.map_or("?".into(), |r| r.to_string()),
                )
            }
            Err(e) => println!(
                "impl={imp} peers={} prefixes_per_peer={} error=\"{e}\"",
                a.peers, a.prefixes
            ),
        }
    }
}

/// Convergence time, peak RSS and RSS once converged (KiB).
type Outcome = (Duration, Option<u64>, Option<u64>);

/// `--serve`: run a Cirrus speaker with the JSON config until killed.
async fn serve(cfg: &str) {
    let cfg: SpeakerConfig = serde_json::from_str(cfg).unwrap();
    let _s = Speaker::start(cfg).await.unwrap();
    loop {
        tokio::time::sleep(Duration::from_secs(3600)).await;
    }
}

/// A `/proc/<pid>/status` memory line (`VmHWM:` peak, `VmRSS:` current) in KiB.
fn rss_kb(pid: u32, field: &str) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = s.lines().find(|l| l.starts_with(field))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn spawn(cmd: &mut Command, log: &Path) -> Result<Child, String> {
    let f = std::fs::File::create(log).map_err(|e| e.to_string())?;
    cmd.stdin(Stdio::null())
        .stdout(f.try_clone().unwrap())
        .stderr(f)
        .spawn()
        .map_err(|e| format!("{:?}: {e}", cmd.get_program()))
}

/// Starts the speaker under test with the injectors and the sink as passive eBGP neighbors.
fn start(imp: &str, peers: usize, dir: &Path) -> Result<Child, String> {
    let neighbors: Vec<(Ipv4Addr, u32)> = (0..peers)
        .map(|i| (injector_ip(i), 65100 + i as u32))
        .chain([(sink_ip(), SINK_AS)])
        .collect();
    let me = speaker_ip();
    match imp {
        "cirrus" => {
            let mut c = SpeakerConfig::new(me, SPEAKER_AS, SocketAddr::new(IpAddr::V4(me), PORT));
            c.hold_time = 180;
            for (ip, asn) in &neighbors {
                let mut p = PeerConfig::new(IpAddr::V4(*ip), *asn);
                p.passive = true;
                p.families = vec![Family::InetVpn];
                c.peers.push(p);
            }
            let exe = std::env::current_exe().unwrap();
            spawn(
                Command::new(exe)
                    .arg("--serve")
                    .arg(serde_json::to_string(&c).unwrap()),
                &dir.join("cirrus.log"),
            )
        }
        "gobgp" => {
            let mut conf = format!(
                "[global.config]\n  as = {SPEAKER_AS}\n  router-id = \"{me}\"\n  port = {PORT}\n  local-address-list = [\"{me}\"]\n"
            );
            for (ip, asn) in &neighbors {
                conf.push_str(&format!(
                    "[[neighbors]]\n  [neighbors.config]\n    neighbor-address = \"{ip}\"\n    peer-as = {asn}\n  [neighbors.transport.config]\n    passive-mode = true\n    local-address = \"{me}\"\n  [[neighbors.afi-safis]]\n    [neighbors.afi-safis.config]\n      afi-safi-name = \"l3vpn-ipv4-unicast\"\n"
                ));
            }
            std::fs::write(dir.join("gobgpd.toml"), conf).unwrap();
            spawn(
                Command::new("gobgpd")
                    .arg("-f")
                    .arg(dir.join("gobgpd.toml"))
                    .args([
                        "--api-hosts",
                        "127.0.8.1:50951",
                        "--pprof-disable",
                        "-p",
                        "-l",
                        "warn",
                    ]),
                &dir.join("gobgpd.log"),
            )
        }
        "frr" => {
            let mut conf = format!(
                "router bgp {SPEAKER_AS}\n bgp router-id {me}\n no bgp default ipv4-unicast\n no bgp ebgp-requires-policy\n"
            );
            for (ip, asn) in &neighbors {
                conf.push_str(&format!(
                    " neighbor {ip} remote-as {asn}\n neighbor {ip} passive\n"
                ));
            }
            conf.push_str(" address-family ipv4 vpn\n");
            for (ip, _) in &neighbors {
                conf.push_str(&format!("  neighbor {ip} activate\n"));
            }
            conf.push_str(" exit-address-family\n");
            std::fs::write(dir.join("bgpd.conf"), conf).unwrap();
            spawn(
                Command::new("/usr/lib/frr/bgpd")
                    .args([
                        "-Z",
                        "-S",
                        "-P",
                        "0",
                        "-p",
                        &PORT.to_string(),
                        "-l",
                        &me.to_string(),
                        "-f",
                    ])
                    .arg(dir.join("bgpd.conf"))
                    .arg("-i")
                    .arg(dir.join("bgpd.pid"))
                    .arg("--vty_socket")
                    .arg(dir)
                    .arg("--log")
                    .arg(format!("file:{}", dir.join("bgpd.log").display())),
                &dir.join("bgpd.out"),
            )
        }
        "bird" => {
            let mut conf = format!(
                "router id {me};\nvpn4 table vpntab;\nprotocol device {{}}\nprotocol direct {{ ipv4; interface \"lo\"; }}\n"
            );
            for (i, (ip, asn)) in neighbors.iter().enumerate() {
                conf.push_str(&format!(
                    "protocol bgp p{i} {{\n  local {me} port {PORT} as {SPEAKER_AS};\n  neighbor {ip} as {asn};\n  passive on;\n  multihop;\n  vpn4 mpls {{ table vpntab; igp table master4; import all; export all; }};\n}}\n"
                ));
            }
            std::fs::write(dir.join("bird.conf"), conf).unwrap();
            spawn(
                Command::new("bird")
                    .arg("-f")
                    .arg("-c")
                    .arg(dir.join("bird.conf"))
                    .arg("-s")
                    .arg(dir.join("bird.ctl"))
                    .arg("-P")
                    .arg(dir.join("bird.pid")),
                &dir.join("bird.log"),
            )
        }
        other => Err(format!("unknown implementation {other}")),
    }
}

/// Connects from `local`, exchanges OPEN/KEEPALIVE; returns the stream and unread bytes.
async fn client(local: Ipv4Addr, asn: u32) -> std::io::Result<(TcpStream, Vec<u8>)> {
    let remote = SocketAddr::new(IpAddr::V4(speaker_ip()), PORT);
    let mut s = loop {
        let sock = TcpSocket::new_v4()?;
        sock.bind(SocketAddr::new(IpAddr::V4(local), 0))?;
        match sock.connect(remote).await {
            Ok(s) => break s,
            Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    };
    let open = Open {
        my_as: asn as u16,
        hold_time: 240,
        router_id: local,
        caps: Capabilities {
            families: vec![Family::InetVpn],
            asn4: Some(asn),
            route_refresh: true,
            ..Default::default()
        },
        one_param_per_cap: true,
    };
    s.write_all(&codec::encode(&Message::Open(open), true).unwrap())
        .await?;
    let mut buf = Vec::new();
    let mut chunk = vec![0u8; 65536];
    loop {
        while let Ok(Some(len)) = codec::frame(&buf) {
            let msg: Vec<u8> = buf.drain(..len).collect();
            match codec::decode(&msg, &CodecContext::asn4()) {
                Ok(Message::Open(_)) => {
                    s.write_all(&codec::encode(&Message::Keepalive, true).unwrap())
                        .await?;
                }
                Ok(Message::Keepalive) => return Ok((s, buf)),
                Ok(Message::Notification(n)) => {
                    return Err(std::io::Error::other(format!("NOTIFICATION {n}")));
                }
                _ => {}
            }
        }
        let n = s.read(&mut chunk).await?;
        if n == 0 {
            return Err(std::io::Error::other("closed during OPEN"));
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// All UPDATEs of injector `i`, encoded up front: 250 prefixes per message, then End-of-RIB.
fn injector_stream(i: usize, m: usize, ip: Ipv4Addr) -> Vec<u8> {
    let attrs = PathAttrs {
        as_path: vec![AsSegment {
            set: false,
            asns: vec![65100 + i as u32],
        }],
        next_hop: Some(IpAddr::V4(ip)),
        ext_communities: vec![ExtCommunity::route_target_as2(SPEAKER_AS as u16, 1)],
        ..Default::default()
    };
    let mut out = Vec::new();
    let keys: Vec<Labeled> = (0..m)
        .map(|j| {
            let prefix = format!("{}.{}.{}.0/24", 10 + (j >> 16), (j >> 8) & 0xff, j & 0xff);
            Labeled::with_label(
                Nlri::InetVpn {
                    rd: Rd::As2(65100 + i as u16, 1),
                    prefix: prefix.parse().unwrap(),
                },
                Label::mpls(100 + i as u32),
            )
        })
        .collect();
    for chunk in keys.chunks(250) {
        let u = Update {
            announce: chunk.to_vec(),
            attrs: attrs.clone(),
            ..Default::default()
        };
        for msg in codec::encode_update_packed(&u, true).unwrap() {
            out.extend_from_slice(&msg);
        }
    }
    out.extend_from_slice(
        &codec::encode(&Message::Update(Update::end_of_rib(Family::InetVpn)), true).unwrap(),
    );
    out
}

async fn run(imp: &str, peers: usize, m: usize) -> Result<Duration, String> {
    // FRR rejects 127/8 next hops as martians; BIRD needs a next hop it can resolve (lo).
    let nh = |i: usize| {
        if imp == "frr" {
            Ipv4Addr::new(198, 18, 1, 1 + i as u8)
        } else {
            injector_ip(i)
        }
    };
    let streams: Vec<Vec<u8>> = (0..peers).map(|i| injector_stream(i, m, nh(i))).collect();
    let setup = async {
        let (sink, rest) = client(sink_ip(), SINK_AS)
            .await
            .map_err(|e| format!("sink: {e}"))?;
        let mut inj = Vec::new();
        for i in 0..peers {
            inj.push(
                client(injector_ip(i), 65100 + i as u32)
                    .await
                    .map_err(|e| format!("injector {i}: {e}"))?
                    .0,
            );
        }
        Ok::<_, String>((sink, rest, inj))
    };
    let (mut sink, mut buf, injectors) = tokio::time::timeout(Duration::from_secs(60), setup)
        .await
        .map_err(|_| "sessions did not come up in 60 s".to_string())??;
    // Let initial exchanges (End-of-RIB etc.) settle before the clock starts.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let start = Instant::now();
    for (s, bytes) in injectors.into_iter().zip(streams) {
        let (mut rd, mut wr) = s.into_split();
        // Injectors read (and drop) what the speaker sends them, as a real peer would: every
        // implementation re-advertises each route to the other eBGP injectors too.
        tokio::spawn(async move {
            let mut b = vec![0u8; 1 << 16];
            while matches!(rd.read(&mut b).await, Ok(n) if n > 0) {}
        });
        tokio::spawn(async move {
            let _ = wr.write_all(&bytes).await;
            // Keep the session open while the sink counts.
            tokio::time::sleep(Duration::from_secs(3600)).await;
            drop(wr);
        });
    }
    let want = peers * m;
    let mut seen = 0usize;
    let mut chunk = vec![0u8; 1 << 20];
    let ctx = CodecContext::asn4();
    let deadline = start + Duration::from_secs(900);
    while seen < want {
        while let Ok(Some(len)) = codec::frame(&buf) {
            let msg: Vec<u8> = buf.drain(..len).collect();
            if let Ok(Message::Update(u)) = codec::decode(&msg, &ctx) {
                seen += u.announce.len();
            }
        }
        if seen >= want {
            break;
        }
        let n = tokio::time::timeout_at(deadline.into(), sink.read(&mut chunk))
            .await
            .map_err(|_| format!("sink saw {seen} of {want} prefixes in 900 s"))?
            .map_err(|e| e.to_string())?;
        if n == 0 {
            return Err(format!("sink closed after {seen} of {want}"));
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    Ok(start.elapsed())
}
