//! The port IPC's request bodies (and persisted files, read the same way) on arbitrary
//! bytes: no panic, and an accepted request written back reads as the same record.
#![no_main]

use cirrus_agent::port_ipc::{parse_port_request, parse_vm_request};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(ports) = parse_port_request(data) {
        for p in ports {
            let back = parse_port_request(p.to_json(None).to_string().as_bytes()).unwrap();
            assert_eq!(back, vec![p]);
        }
    }
    if let Ok(r) = parse_vm_request(data) {
        let back = parse_vm_request(r.to_json(None).to_string().as_bytes()).unwrap();
        assert_eq!(back, r);
    }
});
