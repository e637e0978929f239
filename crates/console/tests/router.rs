//! The `/ui` routes as a browser meets them: the app's page for its own paths (deep links
//! survive a reload), its files with their types, the schema, 404 for a file it lacks.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use tower::ServiceExt;

async fn get(path: &str) -> (StatusCode, String, String) {
    let resp = cirrus_console::router()
        .oneshot(Request::get(path).body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = resp.status();
    let ctype = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    (status, ctype, String::from_utf8_lossy(&body).into_owned())
}

#[tokio::test]
async fn the_page_for_the_root_and_for_deep_links() {
    let (status, ctype, root) = get("/ui/").await;
    assert_eq!(status, StatusCode::OK);
    assert!(ctype.starts_with("text/html"), "{ctype}");
    if cirrus_console::BUILT {
        assert!(root.contains("<script"), "{root}");
    } else {
        assert!(root.contains("was not built"), "{root}");
    }
    let (status, _, deep) = get("/ui/virtual-network/8a6b0f1e-0000-4000-8000-000000000001").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(deep, root);
}

#[tokio::test]
async fn ui_without_slash_redirects() {
    let resp = cirrus_console::router()
        .oneshot(Request::get("/ui").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert!(resp.status().is_redirection());
    assert_eq!(resp.headers()[header::LOCATION], "/ui/");
}

#[tokio::test]
async fn a_missing_file_is_404_not_the_page() {
    let (status, _, body) = get("/ui/nothing-here.js").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(body.contains("nothing-here.js"), "{body}");
}

#[tokio::test]
async fn the_schema_is_served_as_json() {
    let (status, ctype, body) = get("/ui/schema.json").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(ctype, "application/json");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        v["types"]["network-policy"]["collection"],
        "network-policys"
    );
}

#[tokio::test]
async fn built_files_are_served_with_their_type() {
    for (name, body) in cirrus_console::assets::FILES {
        let (status, ctype, got) = get(&format!("/ui/{name}")).await;
        assert_eq!(status, StatusCode::OK, "{name}");
        assert_eq!(ctype, cirrus_console::assets::content_type(name), "{name}");
        assert_eq!(got.len(), String::from_utf8_lossy(body).len(), "{name}");
    }
}

#[tokio::test]
async fn control_paths_are_not_the_app_without_a_control_node() {
    let (status, _, body) = get("/ui/control/bgp/neighbors").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(body.contains("control role"), "{body}");
}
