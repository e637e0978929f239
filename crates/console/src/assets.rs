//! The console's files, embedded by `build.rs` from `web/dist`, or the one page that says the
//! console was not built.

include!(concat!(env!("OUT_DIR"), "/assets.rs"));

/// Served at `/ui/` when `web/dist` was missing at build time.
const NOT_BUILT: &str = "<!doctype html>
<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Cirrus console not built</title></head>
<body><main><h1>The Cirrus console was not built</h1>
<p>This <code>cirrus-controller</code> was compiled without the web console's assets.
Build them with Node.js 18 or later, then build the controller again:</p>
<pre>cd web &amp;&amp; npm ci &amp;&amp; npm run build &amp;&amp; cd .. &amp;&amp; cargo build -p cirrus-controller</pre>
<p><code>scripts/run.sh</code> does both. The VNC API on this address works without it.</p>
</main></body></html>
";

/// The file at `path` (relative to `/ui/`), with its name.
pub fn get(path: &str) -> Option<(&'static str, &'static [u8])> {
    if path.is_empty() || path == "index.html" {
        return Some(index());
    }
    FILES
        .iter()
        .find(|(name, _)| *name == path)
        .map(|&(name, body)| (name, body))
}

/// The app's page (or the not-built page).
pub fn index() -> (&'static str, &'static [u8]) {
    FILES
        .iter()
        .find(|(name, _)| *name == "index.html")
        .map(|&(name, body)| (name, body))
        .unwrap_or(("index.html", NOT_BUILT.as_bytes()))
}

/// The Content-Type of a file by its extension.
pub fn content_type(name: &str) -> &'static str {
    match name.rsplit('.').next().unwrap_or("") {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" | "map" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "woff2" => "font/woff2",
        "txt" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}
