//! Who is asking: the caller as the VNC API identifies it (Keystone-validated through the api
//! crate's gate, `keystone_project::check`, which also creates the token's project), and the
//! tenant a new resource goes to.

use std::sync::Arc;

use axum::http::HeaderMap;
use cirrus_api::ApiState;
use cirrus_api::auth::Caller;
use cirrus_api::auth::keystone_project;
use serde_json::{Map, Value, json};

use crate::error::{NResult, NeutronError};

pub struct Ctx {
    pub state: Arc<ApiState>,
    pub caller: Caller,
    /// `http://host:port`, for links.
    pub base: String,
}

/// Neutron's tenant id of a VNC uuid (Keystone ids have no dashes).
pub fn dashless(uuid: &str) -> String {
    uuid.replace('-', "")
}

/// The VNC project uuid of a Neutron tenant id (dashed).
pub fn dashed(id: &str) -> Option<String> {
    uuid::Uuid::parse_str(id).ok().map(|u| u.to_string())
}

impl Ctx {
    pub async fn new(state: Arc<ApiState>, headers: &HeaderMap) -> NResult<Ctx> {
        keystone_project::check(&state, headers).await?;
        let caller = state.identify(headers)?;
        let host = headers
            .get("host")
            .and_then(|h| h.to_str().ok())
            .unwrap_or("localhost");
        Ok(Ctx {
            state,
            caller,
            base: format!("http://{host}"),
        })
    }

    /// The VNC project (uuid) a new resource goes to: `tenant_id`/`project_id` of the body
    /// (another tenant's only for an admin), else the caller's, else `default-project`.
    pub async fn project_for(&self, body: &Map<String, Value>) -> NResult<String> {
        let given = body
            .get("tenant_id")
            .or_else(|| body.get("project_id"))
            .and_then(Value::as_str);
        if let (Some(t), Some(p)) = (body.get("tenant_id"), body.get("project_id"))
            && t != p
        {
            return Err(NeutronError::InvalidInput(
                "'project_id' and 'tenant_id' do not match".into(),
            ));
        }
        let own = self.caller.project_uuid.clone();
        let uuid = match given {
            Some(t) => dashed(t).ok_or_else(|| {
                NeutronError::invalid("tenant_id", format!("'{t}' is not a valid tenant id"))
            })?,
            None => match own.clone() {
                Some(u) => u,
                None => self
                    .state
                    .index()
                    .uuid_of("project", "default-domain:default-project")
                    .map(str::to_string)
                    .ok_or_else(|| NeutronError::Internal("no default-project".into()))?,
            },
        };
        if own.as_deref() != Some(uuid.as_str()) && !self.caller.admin {
            return Err(NeutronError::Forbidden(
                "Only an admin can create a resource for another tenant".into(),
            ));
        }
        if self.state.index().get(&uuid).is_none() {
            let id = given.unwrap_or(&uuid).to_string();
            keystone_project::ensure_project(&self.state, &id, &id, keystone_project::DOMAIN)
                .await?;
        }
        Ok(uuid)
    }

    /// perms2 of a new object owned by `project` (the caller's own objects get it anyway).
    pub fn perms2_for(&self, project: &str) -> Value {
        json!({"owner": dashless(project), "owner_access": 7})
    }
}
