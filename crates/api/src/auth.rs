//! Tenancy: who is asking and what they may see or change.
//!
//! `--auth none` makes every caller a cloud admin. `--auth token-file=PATH` reads lines of
//! `TOKEN ROLES PROJECT` (roles comma-separated, such as `admin` or `member,netadmin`, project
//! as an fq_name such as `default-domain:tenant1`); the `X-Auth-Token` header picks the line.
//! What a caller may then do is decided by the `aaa_mode` ([`aaa_mode`]): under `rbac` (the
//! default) the `api-access-list` rules ([`rbac`]) and perms2 ([`caller`]), as Contrail's RBAC.
//!
//! `--auth keystone=URL,credentials=PATH` validates the `X-Auth-Token` with a Keystone v3
//! ([`keystone`]); the token's project is the caller's (created in the model on first use,
//! [`keystone_project`]) and its `admin` role makes the caller the cloud admin.

pub mod aaa_mode;
pub mod aaa_mode_http;
pub mod caller;
pub mod keystone;
pub mod keystone_project;
pub mod rbac;

pub use aaa_mode::{AaaMode, AccessControl};
pub use caller::{Caller, LINK, READ, WRITE, user_visible};

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use axum::http::HeaderMap;

use crate::error::{ApiError, ApiResult};
use crate::index::Index;

/// One line of a token file: the caller's roles and project.
#[derive(Debug, Clone)]
pub struct TokenEntry {
    pub roles: Vec<String>,
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
            let usage = || {
                format!("--auth {flag:?}: expected `keystone=URL,credentials=PATH[,cafile=PATH]`")
            };
            let mut parts = rest.split(',');
            let url = parts.next().filter(|u| !u.is_empty()).ok_or_else(usage)?;
            let (mut creds, mut cafile) = (None, None);
            for part in parts {
                match part.split_once('=') {
                    Some(("credentials", p)) if !p.is_empty() => creds = Some(p),
                    Some(("cafile", p)) if !p.is_empty() => cafile = Some(Path::new(p)),
                    _ => return Err(format!("{}: unknown part {part:?}", usage())),
                }
            }
            let creds = creds.ok_or_else(usage)?;
            let creds = keystone::ServiceCredentials::from_file(Path::new(creds))?;
            return Ok(Auth::Keystone(Arc::new(keystone::Keystone::new(
                url, creds, cafile,
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
            let roles: Vec<String> = role.split(',').map(str::to_string).collect();
            if roles.iter().any(String::is_empty) {
                return Err(format!(
                    "{}:{}: empty role name in {role:?} (roles are comma-separated)",
                    path.display(),
                    n + 1
                ));
            }
            tokens.insert(
                token.to_string(),
                TokenEntry {
                    roles,
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

    /// Identifies the caller of one request: its user, roles and project, and what
    /// `access` makes of its roles. With Keystone, the token must have been validated (by the
    /// [`keystone_project::admit`] gate on the API's routes).
    pub fn identify(
        &self,
        headers: &HeaderMap,
        index: &Index,
        access: &AccessControl,
    ) -> ApiResult<Caller> {
        let (user, roles, project_uuid, project_fq) = match self {
            Auth::None => return Ok(Caller::admin()),
            Auth::Keystone(ks) => {
                let info = ks.cached(token(headers)?).ok_or_else(|| {
                    ApiError::unauthorized("Authentication failed: token not validated")
                })?;
                let project_uuid = info
                    .project
                    .as_ref()
                    .map(|(id, _)| keystone::vnc_project_uuid(id));
                if project_uuid.is_none() && !access.is_admin(&info.roles) {
                    return Err(ApiError::unauthorized(
                        "Authentication failed: the token is not scoped to a project",
                    ));
                }
                let project_fq = project_uuid
                    .as_deref()
                    .and_then(|u| index.get(u))
                    .map(|p| p.fq_str.clone());
                (
                    info.user.clone(),
                    info.roles.clone(),
                    project_uuid,
                    project_fq,
                )
            }
            Auth::Tokens(tokens) => {
                let token = token(headers)?;
                let entry = tokens.get(token).ok_or_else(|| {
                    ApiError::unauthorized("Authentication failed: unknown token")
                })?;
                let project_uuid = index.uuid_of("project", &entry.project).map(str::to_string);
                (
                    None,
                    entry.roles.clone(),
                    project_uuid,
                    Some(entry.project.clone()),
                )
            }
        };
        let mode = access.mode();
        let domain_uuid = project_fq
            .as_deref()
            .and_then(|p| p.split(':').next())
            .and_then(|d| index.uuid_of("domain", d))
            .map(str::to_string);
        Ok(Caller {
            admin: mode == AaaMode::NoAuth || access.is_admin(&roles),
            read_only: access.is_read_only(&roles),
            mode,
            user,
            roles,
            project_fq,
            project_uuid,
            domain_uuid,
        })
    }
}
