//! Who is calling and what they may do to one object, by the `aaa_mode` in force
//! ([`super::aaa_mode`]): `perms2` under `rbac` (Contrail's `vnc_perms.validate_perms_rbac`),
//! the legacy `id_perms.permissions` bits under `cloud-admin` (`validate_perms`), nothing under
//! `no-auth`.

use serde_json::Value;

use super::aaa_mode::AaaMode;
use crate::error::{ApiError, ApiResult};
use crate::object::Obj;

pub const READ: u64 = 4;
pub const WRITE: u64 = 2;
pub const LINK: u64 = 1;

#[derive(Debug, Clone)]
pub struct Caller {
    /// Holds the cloud-admin role, or the mode is `no-auth`.
    pub admin: bool,
    /// Holds the global read-only role: may read everything.
    pub read_only: bool,
    pub mode: AaaMode,
    /// The user name (Keystone's `X-User`), when known.
    pub user: Option<String>,
    pub roles: Vec<String>,
    pub project_fq: Option<String>,
    pub project_uuid: Option<String>,
    /// The uuid of the project's domain.
    pub domain_uuid: Option<String>,
}

/// `id_perms.user_visible`, true unless set false.
pub fn user_visible(obj: &Obj) -> bool {
    obj.body.get("id_perms").and_then(|p| p.get("user_visible")) != Some(&Value::Bool(false))
}

fn dashless(s: &str) -> String {
    s.replace('-', "")
}

fn bits(v: Option<&Value>, default: u64) -> u64 {
    v.and_then(Value::as_u64).unwrap_or(default) & 7
}

/// `RWX`-style letters for access bits, as `obj-perms` answers.
pub fn perms_letters(access: u64) -> String {
    [(READ, 'R'), (WRITE, 'W'), (LINK, 'X')]
        .iter()
        .filter(|(b, _)| access & b != 0)
        .map(|(_, c)| *c)
        .collect()
}

impl Caller {
    /// The server itself, or a caller under `--auth none`.
    pub fn admin() -> Self {
        Caller {
            admin: true,
            read_only: false,
            mode: AaaMode::NoAuth,
            user: None,
            roles: Vec::new(),
            project_fq: None,
            project_uuid: None,
            domain_uuid: None,
        }
    }

    /// perms2.owner for objects this caller creates.
    pub fn owner(&self) -> String {
        match &self.project_uuid {
            Some(u) if !self.admin => dashless(u),
            _ => "cloud-admin".into(),
        }
    }

    /// The project's name (the last part of its fq_name), for messages.
    pub fn project_name(&self) -> &str {
        self.project_fq
            .as_deref()
            .map(|p| p.rsplit(':').next().unwrap_or(p))
            .unwrap_or("")
    }

    /// The access bits (rwx as 4/2/1) this caller has on `obj`.
    pub fn access(&self, obj: &Obj) -> u64 {
        if self.admin {
            return 7;
        }
        let granted = match self.mode {
            AaaMode::NoAuth => 7,
            AaaMode::CloudAdmin => self.legacy_access(obj),
            AaaMode::Rbac => self.perms2_access(obj),
        };
        if self.read_only {
            granted | READ
        } else {
            granted
        }
    }

    /// `cloud-admin` mode: the owner's bits when the user owns the object, the group's when one
    /// of the caller's roles is its group, the others' bits otherwise.
    fn legacy_access(&self, obj: &Obj) -> u64 {
        let Some(p) = obj.body.get("id_perms").and_then(|p| p.get("permissions")) else {
            return 7;
        };
        let mut access = 0;
        let owner = p.get("owner").and_then(Value::as_str);
        if owner.is_some() && owner == self.user.as_deref() {
            access |= bits(p.get("owner_access"), 7);
        }
        let group = p.get("group").and_then(Value::as_str);
        if group.is_some_and(|g| self.roles.iter().any(|r| r == g)) {
            access |= bits(p.get("group_access"), 7);
        }
        if access == 0 {
            access = bits(p.get("other_access"), 7);
        }
        access
    }

    /// `rbac` mode: global_access for all, owner_access for the owning project, tenant_access
    /// for a project or domain the object is shared with.
    fn perms2_access(&self, obj: &Obj) -> u64 {
        let Some(mine) = self.project_uuid.as_deref().map(dashless) else {
            return 0;
        };
        // A member may always read its own project and the domain above it.
        if obj.type_name() == "project" && dashless(&obj.uuid) == mine {
            return READ | self.perms2_bits(obj, &mine);
        }
        if obj.type_name() == "domain"
            && self
                .project_fq
                .as_deref()
                .is_some_and(|p| p.split(':').next() == Some(obj.name()))
        {
            return READ;
        }
        self.perms2_bits(obj, &mine)
    }

    fn perms2_bits(&self, obj: &Obj, mine: &str) -> u64 {
        let Some(perms) = obj.body.get("perms2") else {
            return 0;
        };
        let mut access = bits(perms.get("global_access"), 0);
        if perms
            .get("owner")
            .and_then(Value::as_str)
            .map(dashless)
            .as_deref()
            == Some(mine)
        {
            access |= bits(perms.get("owner_access"), 7);
        }
        let my_domain = self.domain_uuid.as_deref().map(dashless);
        for s in perms
            .get("share")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let tenant = s.get("tenant").and_then(Value::as_str).unwrap_or("");
            // `tenant:<uuid>`, `domain:<uuid>` or a bare project uuid.
            let (kind, id) = match tenant.split_once(':') {
                Some((k, id)) => (k, id),
                None => ("tenant", tenant),
            };
            let id = dashless(id);
            let matches = match kind {
                "domain" => my_domain.as_deref() == Some(&id),
                _ => id == mine,
            };
            if matches {
                access |= bits(s.get("tenant_access"), 0);
            }
        }
        access
    }

    pub fn can_read(&self, obj: &Obj) -> bool {
        self.access(obj) & READ != 0
    }

    /// Whether `obj` is listed for this caller: readable, and visible (Contrail lists objects
    /// with `id_perms.user_visible` false to the admin only).
    pub fn lists(&self, obj: &Obj) -> bool {
        self.can_read(obj) && (self.admin || user_visible(obj))
    }

    /// Whether this caller may read (`READ`) or change (`WRITE`) `obj`. An object with
    /// `id_perms.user_visible` false does not exist for anyone but the admin (404, as Contrail
    /// answers).
    pub fn check(&self, obj: &Obj, bit: u64) -> ApiResult<()> {
        if !self.admin && !user_visible(obj) {
            return Err(ApiError::not_found(format!(
                "This object is not visible by users: {}",
                obj.uuid
            )));
        }
        if self.access(obj) & bit != 0 {
            return Ok(());
        }
        let what = match bit {
            READ => "read",
            WRITE => "write",
            _ => "link",
        };
        Err(ApiError::forbidden(format!(
            "Permission denied: no {what} access to {} {} for project '{}'",
            obj.type_name(),
            obj.fq_str,
            self.project_name()
        )))
    }

    /// Whether this caller may delete `obj`: write access, and under `rbac` only the owning
    /// project may delete (a project it is shared with, even read-write, may not).
    pub fn check_delete(&self, obj: &Obj) -> ApiResult<()> {
        self.check(obj, WRITE)?;
        if self.admin || self.mode != AaaMode::Rbac {
            return Ok(());
        }
        let owner = obj
            .body
            .get("perms2")
            .and_then(|p| p.get("owner"))
            .and_then(Value::as_str)
            .map(dashless);
        if owner.is_some() && owner == self.project_uuid.as_deref().map(dashless) {
            return Ok(());
        }
        Err(ApiError::forbidden(format!(
            "Permission denied: only the owner may delete {} {}; project '{}' does not own it",
            obj.type_name(),
            obj.fq_str,
            self.project_name()
        )))
    }

    /// Only the admin may create an object that users cannot see (`id_perms.user_visible`
    /// false): 400 for anyone else, as in Contrail.
    pub fn check_create_visible(&self, what: &str, id_perms: Option<&Value>) -> ApiResult<()> {
        let hidden = id_perms.and_then(|p| p.get("user_visible")) == Some(&Value::Bool(false));
        if hidden && !self.admin {
            return Err(ApiError::bad_request(format!(
                "{what}: id_perms.user_visible: This object is not visible by users, and only \
                 the admin may create it so"
            )));
        }
        Ok(())
    }

    /// Whether this caller may create an object under `parent` (None: a global object).
    pub fn check_create_under(&self, type_name: &str, parent: Option<&Obj>) -> ApiResult<()> {
        if self.admin || self.mode == AaaMode::NoAuth {
            return Ok(());
        }
        let in_own_project = |p: &Obj| {
            p.type_name() == "project"
                && self.project_uuid.as_deref().map(dashless) == Some(dashless(&p.uuid))
        };
        match parent {
            Some(p) if in_own_project(p) && !self.read_only_alone() => Ok(()),
            Some(p) if self.access_without_read_only(p) & WRITE != 0 => Ok(()),
            None if self.mode == AaaMode::CloudAdmin => Ok(()),
            _ => Err(ApiError::forbidden(format!(
                "Permission denied: a member of {} cannot create {type_name} here",
                self.project_fq.as_deref().unwrap_or("?")
            ))),
        }
    }

    /// A caller whose only power is the global read-only role.
    fn read_only_alone(&self) -> bool {
        self.read_only && self.roles.len() == 1
    }

    fn access_without_read_only(&self, obj: &Obj) -> u64 {
        Caller {
            read_only: false,
            ..self.clone()
        }
        .access(obj)
    }
}
