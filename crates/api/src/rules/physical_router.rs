//! Physical routers (Contrail's `physical_router.py`): the device password is stored encrypted
//! the way Contrail's device manager reads it (AES-256-ECB keyed by the router's uuid, the text
//! right-aligned to whole blocks, base64) and never kept or echoed in clear; a new router cannot
//! start in the `rma` or `activating` state.

use aes::Aes256;
use aes::cipher::{BlockEncrypt, KeyInit, generic_array::GenericArray};
use base64::Engine;
use serde_json::{Value, json};

use super::{Ctx, at};
use crate::error::{ApiError, ApiResult};
use crate::object::Obj;

const CREDS: &str = "physical_router_user_credentials";
const ENCRYPTION: &str = "physical_router_encryption_type";

pub fn check(c: &Ctx, old: Option<&Obj>, new: &mut Obj) -> ApiResult<()> {
    if old.is_none()
        && let Some(s @ ("rma" | "activating")) = new
            .body
            .get("physical_router_managed_state")
            .and_then(Value::as_str)
    {
        return Err(ApiError::bad_request(format!(
            "{}: Managed state cannot be {s} for router {:?}",
            c.what, new.fq_name
        )));
    }
    let Some(password) = at(new, &[CREDS, "password"]).and_then(Value::as_str) else {
        return Ok(());
    };
    // Encrypted already: the request says so, or it sends back the stored ciphertext.
    let given_type = c.input.get(ENCRYPTION).and_then(Value::as_str);
    let stored = old
        .and_then(|o| at(o, &[CREDS, "password"]))
        .and_then(Value::as_str);
    let encrypted = match given_type {
        Some(t) => t != "none",
        None => {
            stored == Some(password)
                && old.and_then(|o| o.body.get(ENCRYPTION)) == Some(&json!("local"))
        }
    };
    if encrypted {
        return Ok(());
    }
    let cipher = encrypt(&new.uuid, password);
    new.body[CREDS]["password"] = json!(cipher);
    new.body.insert(ENCRYPTION.into(), json!("local"));
    Ok(())
}

/// Contrail's `encrypt_password(uuid, password)`.
pub fn encrypt(uuid: &str, password: &str) -> String {
    let key = right_align(&uuid[uuid.len().saturating_sub(32)..]);
    let mut text = right_align(password).into_bytes();
    // The key is a uuid's last 32 characters: AES-256. A shorter key pads to 32 as well.
    let mut k = [b' '; 32];
    let kb = key.as_bytes();
    k[32 - kb.len().min(32)..].copy_from_slice(&kb[kb.len().saturating_sub(32)..]);
    let cipher = Aes256::new(GenericArray::from_slice(&k));
    for block in text.chunks_mut(16) {
        cipher.encrypt_block(GenericArray::from_mut_slice(block));
    }
    base64::engine::general_purpose::STANDARD.encode(text)
}

/// Spaces on the left up to a whole number of 16-byte blocks (at least one).
fn right_align(s: &str) -> String {
    let blocks = s.len().div_ceil(16).max(1);
    format!("{s:>width$}", width = blocks * 16)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pads_to_blocks_and_hides_the_text() {
        assert_eq!(right_align("abc").len(), 16);
        assert_eq!(right_align(&"x".repeat(17)).len(), 32);
        let c = encrypt("6f1c2b9e-0000-4000-8000-000000000001", "secret");
        assert!(!c.contains("secret"));
        assert_eq!(
            base64::engine::general_purpose::STANDARD
                .decode(&c)
                .unwrap()
                .len(),
            16
        );
        // Same key and text, same ciphertext (ECB), so an unchanged password is recognised.
        assert_eq!(c, encrypt("6f1c2b9e-0000-4000-8000-000000000001", "secret"));
    }
}
