//! Stable-toolchain stand-in for the fuzz target (crates/bgp/fuzz needs nightly): every ExaBGP
//! vector mutated many times (bit flips, truncation, length games) must decode or fail cleanly,
//! never panic, and whatever decodes must re-encode to itself (see [`reencodes`]).

use std::path::Path;

use cirrus_bgp::codec::{self, CodecContext};
use cirrus_bgp::message::Message;
use cirrus_bgp::types::Family;

/// Every `raw` message of ExaBGP's `.ci` files.
fn seeds(dir: &Path) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for sub in ["encoding", "api"] {
        let rd = std::fs::read_dir(dir.join(sub))
            .unwrap_or_else(|e| panic!("{}: {e}", dir.join(sub).display()));
        for e in rd {
            let path = e.unwrap().path();
            let text = std::fs::read_to_string(&path)
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            for line in text.lines() {
                let mut p = line.splitn(3, ':');
                if let (Some(_), Some("raw"), Some(hex)) = (p.next(), p.next(), p.next()) {
                    let h: String = hex.chars().filter(|c| *c != ':').collect();
                    out.push(hex::decode(h).unwrap());
                }
            }
        }
    }
    out
}

/// What "whatever decodes re-encodes" means: the message encodes, and its encoding decodes to
/// the same message. An UPDATE with RFC 7606 attribute errors (its announcements already turned
/// into withdrawals) re-encodes without the faulty attributes: it must decode cleanly, with the
/// same announcements and withdrawals.
fn reencodes(msg: &Message, ctx: &CodecContext) -> Result<(), String> {
    let bytes = codec::encode(msg, ctx.asn4).map_err(|e| format!("encode: {e}"))?;
    let again = codec::decode(&bytes, ctx)
        .map_err(|e| format!("re-decode: {e}\n  out   {}", hex::encode(&bytes)))?;
    let same = match (msg, &again) {
        (Message::Update(u), Message::Update(v)) if !u.attribute_errors.is_empty() => {
            v.attribute_errors.is_empty() && v.announce == u.announce && v.withdraw == u.withdraw
        }
        _ => again == *msg,
    };
    if same {
        Ok(())
    } else {
        Err(format!(
            "re-decodes differently\n  out   {}\n  first {msg:?}\n  again {again:?}",
            hex::encode(&bytes)
        ))
    }
}

#[test]
fn mutated_vectors_never_panic() {
    let Some(dir) =
        cirrus_testkit::vectors("exabgp", "decode_mutations::mutated_vectors_never_panic")
    else {
        return;
    };
    let seeds = seeds(&dir);
    assert!(
        seeds.len() >= 100,
        "expected the 111 raw lines, saw {}",
        seeds.len()
    );
    let ctxs = [
        CodecContext::asn4(),
        CodecContext::default(),
        CodecContext {
            asn4: true,
            add_path_rx: Family::ALL.into_iter().collect(),
        },
    ];
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut rnd = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let (mut ok, mut rejected) = (0u32, 0u32);
    let mut failures: Vec<String> = Vec::new();
    for i in 0..20_000 {
        let mut m = seeds[(rnd() as usize) % seeds.len()].clone();
        for _ in 0..1 + rnd() % 4 {
            let pos = 19 + (rnd() as usize) % (m.len().saturating_sub(19).max(1));
            let last = m.len() - 1;
            match rnd() % 4 {
                0 => m[pos.min(last)] ^= 1 << (rnd() % 8),
                1 => m[pos.min(last)] = rnd() as u8,
                2 => m.truncate(pos.max(19)),
                _ => m.insert(pos.min(m.len()), rnd() as u8),
            }
        }
        // Keep the header length honest half the time so the body parsers get exercised.
        if i % 2 == 0 && m.len() >= 19 && m.len() <= 4096 {
            let l = m.len() as u16;
            m[16..18].copy_from_slice(&l.to_be_bytes());
        }
        let ctx = &ctxs[i % ctxs.len()];
        match codec::frame(&m) {
            Ok(Some(len)) => match codec::decode(&m[..len], ctx) {
                Ok(msg) => {
                    ok += 1;
                    if let Err(why) = reencodes(&msg, ctx) {
                        failures.push(format!("#{i} {why}\n  in    {}", hex::encode(&m[..len])));
                    }
                }
                Err(e) => {
                    rejected += 1;
                    assert!((1..=7).contains(&e.notification.code), "{e}");
                }
            },
            Ok(None) | Err(_) => rejected += 1,
        }
    }
    println!("mutations: {ok} decoded, {rejected} rejected");
    assert!(
        ok > 1000,
        "only {ok} of the mutations decoded: the seeds are not exercised"
    );
    let n = failures.len();
    failures.truncate(5);
    assert!(
        n == 0,
        "{n} decoded messages do not re-encode to themselves:\n{}",
        failures.join("\n")
    );
}
