//! The VNC REST API: Contrail's config-node wire contract (the one the `vnc_api` Python client
//! speaks) over the schema in `cirrus-model` and the revisioned store in `cirrus-store`.
//!
//! Reads are served from an in-memory [`index::Index`] derived from the store and kept current
//! by its watch; writes are store transactions planned against that index ([`ops`], [`write`]).

pub mod actions;
pub mod alloc;
pub mod auth;
pub mod crud;
pub mod defaults;
pub mod draft;
pub mod error;
pub mod fields;
pub mod hbs_get;
pub mod hooks;
pub mod http;
pub mod index;
pub mod keys;
pub mod list;
pub mod object;
pub mod ops;
pub mod prop_collection;
pub mod quota;
pub mod render;
pub mod reservations;
pub mod routes;
pub mod rules;
pub mod state;
pub mod vn_ip;
pub mod vn_subnets;
pub mod write;

use std::sync::Arc;

pub use auth::Auth;
pub use error::{ApiError, ApiResult};
pub use quota::QuotaDefaults;
pub use state::{ApiState, Settings};

/// Opens the API over `store`: loads the index, creates the default objects, and returns the
/// state with the router to serve.
pub async fn start(
    store: Arc<dyn cirrus_store::Store>,
    auth: Auth,
) -> ApiResult<(Arc<ApiState>, axum::Router)> {
    let settings = Settings {
        auth,
        ..Settings::default()
    };
    start_with(store, settings).await
}

/// [`start`] with everything the operator configures.
pub async fn start_with(
    store: Arc<dyn cirrus_store::Store>,
    settings: Settings,
) -> ApiResult<(Arc<ApiState>, axum::Router)> {
    let state = ApiState::open_with(store, settings).await?;
    defaults::ensure(&state).await?;
    auth::rbac::ensure_default_list(&state).await?;
    Ok((state.clone(), routes::router(state)))
}
