//! The web console of `cirrus-controller`, served at `/ui/` beside the VNC API on the same
//! listener: the browser app built from `web/` and embedded at build time ([`assets`]), and
//! `/ui/schema.json`, the VNC schema of `cirrus-model` in the shape the app reads ([`schema`]),
//! so that its object browser and forms follow the model instead of a page per type.
//!
//! The app calls the API itself (same origin, the caller's `X-Auth-Token`), so the console has
//! exactly the API's auth and tenancy; its static files carry no data and need none.

pub mod assets;
pub mod schema;

use axum::Router;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;

pub use assets::BUILT;

/// The routes under `/ui`, to merge into the API's router.
pub fn router() -> Router {
    Router::new()
        .route("/ui", get(|| async { Redirect::permanent("/ui/") }))
        .route("/ui/", get(|| async { page("") }))
        .route("/ui/schema.json", get(schema_json))
        .route(
            "/ui/{*path}",
            get(
                |axum::extract::Path(path): axum::extract::Path<String>| async move { page(&path) },
            ),
        )
}

/// A file of the app, or the app's page for any other path without a file extension (the
/// app's own routes: a deep link such as `/ui/virtual-network/<uuid>` survives a reload).
fn page(path: &str) -> Response {
    // The control node's introspect is mounted at /ui/control/ by the controller when it runs
    // the control role; without it, those paths are not the app's.
    if path.starts_with("control/") {
        return (
            StatusCode::NOT_FOUND,
            "this controller does not run the control role (--roles config): no control node state",
        )
            .into_response();
    }
    let file = assets::get(path).or_else(|| {
        let last = path.rsplit('/').next().unwrap_or("");
        (!last.contains('.')).then(assets::index)
    });
    match file {
        Some((name, body)) => {
            let mut r = body.into_response();
            let h = r.headers_mut();
            h.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static(assets::content_type(name)),
            );
            // Built files are not hashed: the browser revalidates each load (cheap on loopback).
            h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
            h.insert(
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            );
            // Everything the app loads comes from this server: no CDN, no inline script.
            h.insert(
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(
                    "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'self'; frame-ancestors 'none'",
                ),
            );
            r
        }
        None => (StatusCode::NOT_FOUND, format!("no console file /ui/{path}")).into_response(),
    }
}

async fn schema_json() -> Response {
    let mut r = schema::json().into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}
