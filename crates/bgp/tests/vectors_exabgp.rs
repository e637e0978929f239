//! Codec against ExaBGP's raw messages (`../shared/vectors/exabgp`): decode every `raw` line,
//! check the fields the `cmd`/`json` lines state for the VPN/EVPN ones, re-encode and compare the
//! bytes. Without the vectors folder each test is a visible skip (a failure under `CI=true`).

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use cirrus_bgp::codec::{self, CodecContext};
use cirrus_bgp::ext_community::ExtCommunity;
use cirrus_bgp::message::Message;
use cirrus_bgp::types::{EvpnRoute, Family, Label, Nlri, Rd};

/// The ExaBGP vectors, or a visible skip (a failure under CI) naming `test`.
fn vectors(test: &str) -> Option<PathBuf> {
    cirrus_testkit::vectors("exabgp", &format!("{}::{test}", module_path!()))
}

/// The raw messages of one `.ci` file, with the session context its config implies.
fn raw_messages(dir: &Path, file: &Path) -> (CodecContext, Vec<Vec<u8>>) {
    let text = std::fs::read_to_string(file).unwrap();
    let mut ctx = CodecContext::asn4();
    let mut out = Vec::new();
    for line in text.lines() {
        if let Some(conf) = line.strip_prefix("option:file:") {
            let c = std::fs::read_to_string(dir.join("conf").join(conf)).unwrap_or_default();
            ctx.asn4 = !c.contains("asn4 disable");
            if c.contains("add-path {") {
                ctx.add_path_rx.insert(Family::Inet);
                ctx.add_path_rx.insert(Family::InetVpn);
            }
        }
        if line.starts_with('#') {
            continue;
        }
        let mut parts = line.splitn(3, ':');
        let (_tag, kind, payload) = (parts.next(), parts.next(), parts.next());
        if kind == Some("raw") {
            let hex: String = payload.unwrap().chars().filter(|c| *c != ':').collect();
            out.push(hex::decode(hex).unwrap());
        }
    }
    (ctx, out)
}

#[test]
fn every_raw_message_decodes_and_reencodes() {
    let Some(dir) = vectors("every_raw_message_decodes_and_reencodes") else {
        return;
    };
    let (mut total, mut exact, mut structural) = (0, 0, 0);
    let mut failures = Vec::new();
    for sub in ["encoding", "api"] {
        let mut files: Vec<_> = std::fs::read_dir(dir.join(sub))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "ci"))
            .collect();
        files.sort();
        for f in files {
            let (ctx, msgs) = raw_messages(&dir, &f);
            let name = f.file_name().unwrap().to_string_lossy().to_string();
            for (i, raw) in msgs.iter().enumerate() {
                total += 1;
                let m = match codec::decode(raw, &ctx) {
                    Ok(m) => m,
                    Err(e) if name == "extended-nexthop.ci" && i == 1 => {
                        // IPv6 NLRI with a 4-octet IPv4 next hop: ExaBGP's non-standard
                        // "nexthop ipv6 unicast ipv4" (RFC 8950 covers only the reverse);
                        // netgauze rejects it and so does Cirrus, with a NOTIFICATION.
                        println!("{name}#{i}: rejected as expected: {e}");
                        assert_eq!(e.notification.code, 3);
                        continue;
                    }
                    Err(e) => {
                        failures.push(format!("{name}#{i}: decode: {e}"));
                        continue;
                    }
                };
                if let Message::Update(u) = &m {
                    assert!(
                        u.attribute_errors.is_empty(),
                        "{name}#{i}: {:?}",
                        u.attribute_errors
                    );
                }
                let back = match codec::encode(&m, ctx.asn4) {
                    Ok(b) => b,
                    Err(e) => {
                        failures.push(format!("{name}#{i}: encode: {e}"));
                        continue;
                    }
                };
                if &back == raw {
                    exact += 1;
                } else {
                    // Where Cirrus legitimately differs (capability order in OPEN), the decoded
                    // structures must still agree.
                    match codec::decode(&back, &ctx) {
                        Ok(again) if again == m => {
                            structural += 1;
                            println!(
                                "{name}#{i}: equal after decode, bytes differ\n  in  {}\n  out {}",
                                hex::encode(raw),
                                hex::encode(&back)
                            );
                        }
                        other => failures.push(format!(
                            "{name}#{i}: re-encode differs\n  in  {}\n  out {}\n  {other:?}",
                            hex::encode(raw),
                            hex::encode(&back)
                        )),
                    }
                }
            }
        }
    }
    println!("ExaBGP raw messages: {total}, byte-exact {exact}, structurally equal {structural}");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(total >= 100, "expected the 111 raw lines, saw {total}");
}

#[test]
fn conf_vpn_fields_match_the_announce_commands() {
    let Some(dir) = vectors("conf_vpn_fields_match_the_announce_commands") else {
        return;
    };
    let (ctx, msgs) = raw_messages(&dir, &dir.join("encoding/conf-vpn.ci"));
    let prefixes = [
        "10.0.0.0/25",
        "10.0.0.128/25",
        "20.0.0.0/25",
        "20.0.0.128/25",
    ];
    for (raw, want) in msgs.iter().zip(prefixes) {
        let Message::Update(u) = codec::decode(raw, &ctx).unwrap() else {
            panic!("not an update")
        };
        assert_eq!(u.announce.len(), 1);
        let l = &u.announce[0];
        assert_eq!(
            l.nlri,
            Nlri::InetVpn {
                rd: Rd::As2(65000, 1),
                prefix: want.parse().unwrap()
            }
        );
        assert_eq!(l.labels.first, Some(Label::mpls(1000)));
        assert_eq!(
            u.attrs.next_hop,
            Some("200.10.0.101".parse::<IpAddr>().unwrap())
        );
        assert_eq!(u.attrs.local_pref, Some(100));
        let rts: Vec<ExtCommunity> = u.attrs.route_targets().copied().collect();
        assert_eq!(
            rts,
            vec![
                "target:10000:1".parse().unwrap(),
                "target:65000:1".parse().unwrap()
            ]
        );
    }
}

#[test]
fn vpnv4_withdraw_and_eor() {
    let Some(dir) = vectors("vpnv4_withdraw_and_eor") else {
        return;
    };
    let (ctx, msgs) = raw_messages(&dir, &dir.join("api/api-vpnv4.ci"));
    let decoded: Vec<_> = msgs
        .iter()
        .map(|r| codec::decode(r, &ctx).unwrap())
        .collect();
    let Message::Update(eor) = &decoded[0] else {
        panic!()
    };
    assert_eq!(eor.eor, Some(Family::InetVpn));
    let Message::Update(wd) = &decoded[2] else {
        panic!()
    };
    assert!(wd.announce.is_empty());
    assert_eq!(
        wd.withdraw[0].nlri,
        Nlri::InetVpn {
            rd: Rd::As2(65000, 1),
            prefix: "1.4.0.0/16".parse().unwrap()
        }
    );
    // ExaBGP withdraws with the real label rather than 0x800000.
    assert_eq!(wd.withdraw[0].labels.first, Some(Label::mpls(1000)));
}

#[test]
fn vpnv6_ipv4_mapped_next_hop() {
    let Some(dir) = vectors("vpnv6_ipv4_mapped_next_hop") else {
        return;
    };
    let (ctx, msgs) = raw_messages(&dir, &dir.join("encoding/conf-parity.ci"));
    let Message::Update(u) = codec::decode(&msgs[0], &ctx).unwrap() else {
        panic!()
    };
    assert_eq!(u.announce[0].nlri.family(), Family::Inet6Vpn);
    assert_eq!(u.announce[0].nlri.rd(), Some(Rd::As2(3215, 583_457_597)));
    assert_eq!(
        u.announce[0].labels.first.map(|l| l.mpls_value()),
        Some(926)
    );
    assert_eq!(
        u.attrs.next_hop,
        Some("81.52.17.146".parse::<IpAddr>().unwrap())
    );
    assert_eq!(u.attrs.as_path_string(), "25186 65000 64512");
}

#[test]
fn evpn_withdrawals_body_only_vector() {
    let Some(dir) = vectors("evpn_withdrawals_body_only_vector") else {
        return;
    };
    let text = std::fs::read_to_string(dir.join("decoding/bgp-evpn-1")).unwrap();
    let body = hex::decode(text.lines().nth(1).unwrap().trim()).unwrap();
    // This vector has no 19-octet header: add one.
    let mut msg = vec![0xff; 16];
    msg.extend_from_slice(&((19 + body.len()) as u16).to_be_bytes());
    msg.push(2);
    msg.extend_from_slice(&body);
    let Message::Update(u) = codec::decode(&msg, &CodecContext::asn4()).unwrap() else {
        panic!()
    };
    assert!(u.withdraw.len() >= 3);
    assert!(matches!(
        u.withdraw[0].nlri.as_evpn(),
        Some(EvpnRoute::Other { route_type: 8, .. })
    ));
    let Some(EvpnRoute::MacIp {
        rd, tag, mac, ip, ..
    }) = u.withdraw[1].nlri.as_evpn()
    else {
        panic!()
    };
    assert_eq!(*rd, "37.44.55.55:1".parse().unwrap());
    assert_eq!(*tag, 1901);
    assert_eq!(*mac, [0xfc, 0x15, 0xb4, 0x78, 0x7b, 0x8f]);
    assert_eq!(*ip, None);
    let back = codec::encode(&Message::Update(u), true).unwrap();
    assert_eq!(back, msg, "EVPN withdrawals re-encode byte for byte");
}

#[test]
fn decoding_folder_full_messages() {
    let Some(dir) = vectors("decoding_folder_full_messages") else {
        return;
    };
    for name in ["bgp-open-sofware-version", "vpnv4-extended-nexthop-1"] {
        let text = std::fs::read_to_string(dir.join("decoding").join(name)).unwrap();
        let raw = hex::decode(text.lines().nth(1).unwrap().trim()).unwrap();
        let m =
            codec::decode(&raw, &CodecContext::asn4()).unwrap_or_else(|e| panic!("{name}: {e}"));
        let back = codec::encode(&m, true).unwrap();
        let again = codec::decode(&back, &CodecContext::asn4()).unwrap();
        assert_eq!(again, m, "{name}");
        if let Message::Update(u) = &m {
            assert_eq!(
                u.announce[0].labels.first.map(|l| l.mpls_value()),
                Some(3),
                "{name}"
            );
            assert!(matches!(u.attrs.next_hop, Some(IpAddr::V6(_))), "{name}");
        }
    }
}
