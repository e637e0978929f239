//! Per-request costs of the schema: lookups and validating a full
//! client-shaped virtual-network body. Prints one line per figure.
//! Run: `cargo bench -p cirrus-model`.

use std::hint::black_box;
use std::time::Instant;

use serde_json::Value;

fn per_iter(name: &str, iters: u32, mut f: impl FnMut()) {
    for _ in 0..iters / 10 {
        f();
    }
    let start = Instant::now();
    for _ in 0..iters {
        f();
    }
    let ns = start.elapsed().as_nanos() as f64 / f64::from(iters);
    println!("{name}: {ns:.1} ns/iter");
}

fn main() {
    let s = cirrus_model::schema();
    let payloads: Value =
        serde_json::from_str(include_str!("../tests/fixtures/client_payloads.json"))
            .expect("fixture");
    let vn_body = payloads
        .as_array()
        .and_then(|a| a.iter().find(|p| p["type"] == "virtual-network"))
        .map(|p| p["body"].clone())
        .expect("virtual-network payload");
    let vn = s.resource("virtual-network").expect("vn");

    per_iter("resource(\"virtual-network\")", 1_000_000, || {
        black_box(s.resource(black_box("virtual-network")));
    });
    per_iter(
        "resource_by_collection(\"virtual-networks\")",
        1_000_000,
        || {
            black_box(s.resource_by_collection(black_box("virtual-networks")));
        },
    );
    per_iter("ref_by_field(\"network_ipam_refs\")", 1_000_000, || {
        black_box(vn.ref_by_field(black_box("network_ipam_refs")));
    });
    per_iter("validate_object(virtual-network body)", 100_000, || {
        black_box(s.validate_object(vn, black_box(&vn_body))).ok();
    });
    per_iter("validate_prop(virtual_network_properties)", 200_000, || {
        black_box(s.validate_prop(
            vn,
            "virtual_network_properties",
            &vn_body["virtual_network_properties"],
        ))
        .ok();
    });
}
