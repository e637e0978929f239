//! Tenancy: who is asking and what they may see or change.
//!
//! `--auth none` makes every caller a cloud admin. `--auth token-file=PATH` reads lines of
//! `TOKEN ROLE PROJECT` (role `admin` or `member`, project as an fq_name such as
//! `default-domain:tenant1`); the `X-Auth-Token` header picks the line. Members see and change
//! only what their project owns, what is shared with it (perms2 `share`), or what is global
//! (perms2 `global_access`), as Contrail's RBAC does with perms2.
//!
//! `--auth keystone=URL,credentials=PATH` validates the `X-Auth-Token` with a Keystone v3
//! ([`keystone`]); the token's project is the caller's (created in the model on first use,
//! [`keystone_project`]) and its `admin` role makes the caller the cloud admin.

pub mod keystone;
pub mod keystone_project;

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use axum::http::HeaderMap;
use serde_json::Value;

use crate::error::{ApiError, ApiResult};
use crate::index::Index;
use crate::object::Obj;

pub const READ: u64 = 4;
pub const WRITE: u64 = 2;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Role {
    Admin,
    Member,
}

#[derive(Debug, Clone)]
pub struct TokenEntry {
    pub role: Role,
    pub project: String,
}

#[derive(Debug, Clone, Default)]
pub enum Auth {
    #[default]
    None,
    Tokens(HashMap<String, TokenEntry>),
    Keystone(Arc<keystone::Keystone>),
}

/// The caller's `X-Auth-Token`, or 401.
pub fn token(headers: &HeaderMap) -> ApiResult<&str> {
    headers
        .get("x-auth-token")
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| ApiError::unauthorized("Authentication required: no X-Auth-Token"))
}

impl Auth {
    /// Parses the `--auth` flag: `none`, `token-file=PATH` or
    /// `keystone=URL,credentials=PATH`.
    pub fn from_flag(flag: &str) -> Result<Auth, String> {
        if flag == "none" {
            return Ok(Auth::None);
        }
        if let Some(rest) = flag.strip_prefix("keystone=") {
            let Some((url, creds)) = rest.split_once(",credentials=") else {
                return Err(format!(
                    "--auth {flag:?}: expected `keystone=URL,credentials=PATH`"
                ));
            };
            let creds = keystone::ServiceCredentials::from_file(Path::new(creds))?;
            return Ok(Auth::Keystone(Arc::new(keystone::Keystone::new(
                url, creds,
            )?)));
        }
        let Some(path) = flag.strip_prefix("token-file=") else {
            return Err(format!(
                "--auth {flag:?}: expected `none`, `token-file=PATH` or \
                 `keystone=URL,credentials=PATH`"
            ));
        };
        Self::from_file(Path::new(path))
    }

    pub fn from_file(path: &Path) -> Result<Auth, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("--auth token file {}: {e}", path.display()))?;
        let mut tokens = HashMap::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let parts: Vec<&str> = line.split_whitespace().collect();
            let [token, role, project] = parts[..] else {
                return Err(format!(
                    "{}:{}: expected `TOKEN ROLE PROJECT`, got {line:?}",
                    path.display(),
                    n + 1
                ));
            };
            let role = match role {
                "admin" => Role::Admin,
                "member" => Role::Member,
                other => {
                    return Err(format!(
                        "{}:{}: role {other:?} is not admin or member",
                        path.display(),
                        n + 1
                    ));
                }
            };
            tokens.insert(
                token.to_string(),
                TokenEntry {
                    role,
                    project: project.to_string(),
                },
            );
        }
        Ok(Auth::Tokens(tokens))
    }

    pub fn describe(&self) -> String {
        match self {
            Auth::None => "none (every caller is admin)".into(),
            Auth::Tokens(t) => format!("token file with {} tokens", t.len()),
            Auth::Keystone(k) => format!("keystone at {}", k.url()),
        }
    }

    /// Identifies the caller of one request.
    /// With Keystone, the token must have been validated (by the
    /// [`keystone_project::admit`] gate on the API's routes).
    pub fn identify(&self, headers: &HeaderMap, index: &Index) -> ApiResult<Caller> {
        let tokens = match self {
            Auth::None => return Ok(Caller::admin()),
            Auth::Tokens(tokens) => tokens,
            Auth::Keystone(ks) => {
                let info = ks.cached(token(headers)?).ok_or_else(|| {
                    ApiError::unauthorized("Authentication failed: token not validated")
                })?;
                let project_uuid = info
                    .project
                    .as_ref()
                    .map(|(id, _)| keystone::vnc_project_uuid(id));
                if project_uuid.is_none() && !info.is_admin() {
                    return Err(ApiError::unauthorized(
                        "Authentication failed: the token is not scoped to a project",
                    ));
                }
                let project_fq = project_uuid
                    .as_deref()
                    .and_then(|u| index.get(u))
                    .map(|p| p.fq_str.clone());
                return Ok(Caller {
                    admin: info.is_admin(),
                    project_fq,
                    project_uuid,
                });
            }
        };
        let token = token(headers)?;
        let entry = tokens
            .get(token)
            .ok_or_else(|| ApiError::unauthorized("Authentication failed: unknown token"))?;
        let project_uuid = index.uuid_of("project", &entry.project).map(str::to_string);
        Ok(Caller {
            admin: entry.role == Role::Admin,
            project_fq: Some(entry.project.clone()),
            project_uuid,
        })
    }
}

#[derive(Debug, Clone)]
pub struct Caller {
    pub admin: bool,
    pub project_fq: Option<String>,
    pub project_uuid: Option<String>,
}

/// `id_perms.user_visible`, true unless set false.
pub fn user_visible(obj: &Obj) -> bool {
    obj.body.get("id_perms").and_then(|p| p.get("user_visible")) != Some(&Value::Bool(false))
}

fn dashless(s: &str) -> String {
    s.replace('-', "")
}

impl Caller {
    pub fn admin() -> Self {
        Caller {
            admin: true,
            project_fq: None,
            project_uuid: None,
        }
    }

    /// perms2.owner for objects this caller creates.
    pub fn owner(&self) -> String {
        match &self.project_uuid {
            Some(u) if !self.admin => dashless(u),
            _ => "cloud-admin".into(),
        }
    }

    /// The access bits (rwx as 4/2/1) this caller has on `obj`.
    pub fn access(&self, obj: &Obj) -> u64 {
        if self.admin {
            return 7;
        }
        let Some(mine) = self.project_uuid.as_deref().map(dashless) else {
            return 0;
        };
        // A member may always read its own project and the domain above it.
        if obj.type_name() == "project" && dashless(&obj.uuid) == mine {
            return READ;
        }
        if obj.type_name() == "domain"
            && self
                .project_fq
                .as_deref()
                .is_some_and(|p| p.split(':').next() == Some(obj.name()))
        {
            return READ;
        }
        let Some(perms) = obj.body.get("perms2") else {
            return 0;
        };
        let mut access = perms
            .get("global_access")
            .and_then(Value::as_u64)
            .unwrap_or(0);
        if perms
            .get("owner")
            .and_then(Value::as_str)
            .map(dashless)
            .as_deref()
            == Some(&mine)
        {
            access |= perms
                .get("owner_access")
                .and_then(Value::as_u64)
                .unwrap_or(7);
        }
        for s in perms
            .get("share")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let tenant = s.get("tenant").and_then(Value::as_str).unwrap_or("");
            let tenant = tenant.rsplit(':').next().unwrap_or(tenant);
            if dashless(tenant) == mine {
                access |= s.get("tenant_access").and_then(Value::as_u64).unwrap_or(0);
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
        let what = if bit == READ { "read" } else { "write" };
        Err(ApiError::forbidden(format!(
            "Permission denied: no {what} access to {} {}",
            obj.type_name(),
            obj.fq_str
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
        if self.admin {
            return Ok(());
        }
        match parent {
            Some(p)
                if p.type_name() == "project"
                    && self.project_uuid.as_deref().map(dashless) == Some(dashless(&p.uuid)) =>
            {
                Ok(())
            }
            Some(p) if self.access(p) & WRITE != 0 => Ok(()),
            _ => Err(ApiError::forbidden(format!(
                "Permission denied: a member of {} cannot create {type_name} here",
                self.project_fq.as_deref().unwrap_or("?")
            ))),
        }
    }
}
