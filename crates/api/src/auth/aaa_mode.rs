//! Contrail's `aaa_mode`: how much the API checks once it knows who is calling.
//!
//! - `no-auth`: nothing; every caller acts as the cloud admin.
//! - `cloud-admin`: the legacy `id_perms.permissions` (owner, group, other bits) decide; the
//!   cloud-admin role may do anything.
//! - `rbac`: `api-access-list` rules decide which role may create, read, update or delete which
//!   type (and field), and `perms2` (owner, share, global_access) decide which objects.
//!
//! The mode is set at start (`--aaa-mode`) and changed at run time by the cloud admin with
//! `PUT /aaa-mode`, as on Contrail; like Contrail's, a changed mode lasts until the next start.

use std::fmt;
use std::str::FromStr;
use std::sync::RwLock;

/// One of Contrail's three `aaa_mode` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AaaMode {
    NoAuth,
    CloudAdmin,
    #[default]
    Rbac,
}

impl AaaMode {
    pub const ALL: [AaaMode; 3] = [AaaMode::NoAuth, AaaMode::CloudAdmin, AaaMode::Rbac];

    pub fn as_str(self) -> &'static str {
        match self {
            AaaMode::NoAuth => "no-auth",
            AaaMode::CloudAdmin => "cloud-admin",
            AaaMode::Rbac => "rbac",
        }
    }
}

impl fmt::Display for AaaMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A value that is not one of the three modes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid aaa-mode {0:?}: expected no-auth, cloud-admin or rbac")]
pub struct BadAaaMode(pub String);

impl FromStr for AaaMode {
    type Err = BadAaaMode;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        AaaMode::ALL
            .into_iter()
            .find(|m| m.as_str() == s)
            .ok_or_else(|| BadAaaMode(s.to_string()))
    }
}

/// What the operator configures about access control: the mode and the two special roles
/// (Contrail's `cloud_admin_role`, default `admin`, and `global_read_only_role`, default none).
#[derive(Debug)]
pub struct AccessControl {
    mode: RwLock<AaaMode>,
    pub cloud_admin_role: String,
    pub global_read_only_role: Option<String>,
}

impl Default for AccessControl {
    fn default() -> Self {
        AccessControl::new(AaaMode::default(), "admin".into(), None)
    }
}

impl Clone for AccessControl {
    fn clone(&self) -> Self {
        AccessControl::new(
            self.mode(),
            self.cloud_admin_role.clone(),
            self.global_read_only_role.clone(),
        )
    }
}

impl AccessControl {
    pub fn new(
        mode: AaaMode,
        cloud_admin_role: String,
        global_read_only_role: Option<String>,
    ) -> Self {
        AccessControl {
            mode: RwLock::new(mode),
            cloud_admin_role,
            global_read_only_role,
        }
    }

    pub fn mode(&self) -> AaaMode {
        *self.mode.read().unwrap_or_else(|e| e.into_inner())
    }

    /// Changes the mode; returns the one before.
    pub fn set_mode(&self, mode: AaaMode) -> AaaMode {
        let mut m = self.mode.write().unwrap_or_else(|e| e.into_inner());
        std::mem::replace(&mut *m, mode)
    }

    pub fn is_admin(&self, roles: &[String]) -> bool {
        roles.contains(&self.cloud_admin_role)
    }

    pub fn is_read_only(&self, roles: &[String]) -> bool {
        self.global_read_only_role
            .as_ref()
            .is_some_and(|ro| roles.iter().any(|r| r == ro))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_parse_as_contrail_spells_them() {
        for m in AaaMode::ALL {
            assert_eq!(m.as_str().parse::<AaaMode>(), Ok(m));
        }
        assert_eq!(
            "multi-tenancy".parse::<AaaMode>(),
            Err(BadAaaMode("multi-tenancy".into()))
        );
    }

    #[test]
    fn roles_name_admin_and_read_only() {
        let ac = AccessControl::new(AaaMode::Rbac, "cloud-admin".into(), Some("ro".into()));
        assert!(ac.is_admin(&["x".into(), "cloud-admin".into()]));
        assert!(!ac.is_admin(&["admin".into()]));
        assert!(ac.is_read_only(&["ro".into()]));
        assert_eq!(ac.set_mode(AaaMode::NoAuth), AaaMode::Rbac);
        assert_eq!(ac.mode(), AaaMode::NoAuth);
    }
}
