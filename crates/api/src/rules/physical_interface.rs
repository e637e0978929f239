//! Physical interfaces (Contrail's `physical_interface.py`): an ESI is ten hex octets joined by
//! colons (400); the display name is the interface's name on the device, unique among its
//! router's interfaces and fixed once created (403); the interface type, once set, stays (400).
//!
//! Not built: the ESI family's logical-interface check, AE-id bookkeeping, and the port
//! parameters (MTU, flow control, LACP force-up) this schema does not carry.

use serde_json::Value;

use super::Ctx;
use crate::error::{ApiError, ApiResult};
use crate::object::Obj;

fn esi_ok(esi: &str) -> bool {
    // Contrail matches the start only: `xx:` nine times, then `xx`.
    let b = esi.as_bytes();
    b.len() >= 29
        && (0..10).all(|i| {
            let o = i * 3;
            b[o].is_ascii_hexdigit() && b[o + 1].is_ascii_hexdigit() && (i == 9 || b[o + 2] == b':')
        })
}

fn text<'a>(o: &'a Obj, field: &str) -> Option<&'a str> {
    o.body.get(field).and_then(Value::as_str)
}

pub fn check(c: &Ctx, old: Option<&Obj>, new: &mut Obj) -> ApiResult<()> {
    let given = |f: &str| c.input.get(f).filter(|v| !v.is_null());
    if let Some(esi) = given("ethernet_segment_identifier").and_then(Value::as_str)
        && !esi.is_empty()
        && !esi_ok(esi)
    {
        return Err(ApiError::bad_request(format!(
            "{}: ethernet_segment_identifier {esi:?}: Invalid ESI string format",
            c.what
        )));
    }
    match old {
        None => {
            let name = text(new, "display_name").unwrap_or(new.name());
            if let Some(twin) = new.parent.as_ref().and_then(|p| {
                c.index.children(&p.uuid).find(|o| {
                    o.type_name() == "physical-interface"
                        && o.uuid != new.uuid
                        && text(o, "display_name") == Some(name)
                })
            }) {
                return Err(ApiError::forbidden(format!(
                    "{}: display_name: Display name already used in another interface: {}",
                    c.what, twin.uuid
                )));
            }
        }
        Some(o) => {
            if given("display_name").is_some()
                && text(new, "display_name") != text(o, "display_name")
            {
                return Err(ApiError::forbidden(format!(
                    "{}: display_name: Cannot change display name !",
                    c.what
                )));
            }
            let was = text(o, "physical_interface_type");
            if let (Some(was), Some(now)) = (
                was,
                given("physical_interface_type").and_then(Value::as_str),
            ) && was != now
            {
                return Err(ApiError::bad_request(format!(
                    "{}: physical_interface_type: Cannot set physical interface type: {now} \
                     on already existing {was} interface",
                    c.what
                )));
            }
        }
    }
    Ok(())
}
