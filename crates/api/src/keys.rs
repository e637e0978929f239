//! The layout of config state in the key-value store. Everything the API writes lives under
//! `/cirrus/`; the in-memory index is rebuilt from these keys alone.

pub const ROOT: &str = "/cirrus/";
pub const OBJ: &str = "/cirrus/obj/";
pub const FQN: &str = "/cirrus/fqn/";
pub const IP: &str = "/cirrus/ip/";
pub const ID: &str = "/cirrus/id/";
pub const KV: &str = "/cirrus/kv/";
pub const RELAX: &str = "/cirrus/relax/";
pub const QUOTA: &str = "/cirrus/quota/";

/// The object itself (JSON).
pub fn obj(uuid: &str) -> String {
    format!("{OBJ}{uuid}")
}

/// fq_name uniqueness guard: holds the uuid of the object of that type and name.
pub fn fqn(type_name: &str, fq_name: &str) -> String {
    format!("{FQN}{type_name}/{fq_name}")
}

/// One allocated IP address inside a virtual network; the value is the owner's uuid.
pub fn ip(vn_uuid: &str, addr: &str) -> String {
    format!("{IP}{vn_uuid}/{addr}")
}

/// One allocated integer id from a named pool (`vn`, `sg`); the value is the owner's uuid.
pub fn id(pool: &str, value: u64) -> String {
    format!("{ID}{pool}/{value:010}")
}

pub fn kv(key: &str) -> String {
    format!("{KV}{key}")
}

/// A reference from `from` to `to` that does not block the deletion of `to`.
pub fn relax(to: &str, from: &str) -> String {
    format!("{RELAX}{to}/{from}")
}

/// Rewritten by every create counted against a project's quota for a type: creates that
/// race past one count conflict here, and the loser counts again (the value is empty).
pub fn quota(project_uuid: &str, type_name: &str) -> String {
    format!("{QUOTA}{project_uuid}/{type_name}")
}
