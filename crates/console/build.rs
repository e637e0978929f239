//! Embeds the web console's built assets (`web/dist`, made by `npm run build` in `web/`) into
//! the crate, so the controller binary serves them with nothing on disk. Without a `dist`
//! (no Node on the build machine) the crate embeds one page that says the console was not
//! built and how to build it; `cargo build` never needs Node.
//!
//! `CIRRUS_CONSOLE_DIST` overrides the folder.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn main() {
    println!("cargo:rerun-if-env-changed=CIRRUS_CONSOLE_DIST");
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    let web = manifest.join("../../web");
    let given = std::env::var_os("CIRRUS_CONSOLE_DIST").map(PathBuf::from);
    let dist = given.clone().unwrap_or_else(|| web.join("dist"));
    // A missing path would make cargo rerun this on every build; while the default dist is
    // missing, watch web/ (where it will appear) instead, so a dist built later is picked up.
    // A given path is watched as it is (cargo scans a watched folder whole).
    let watched = if dist.exists() || given.is_some() || !web.is_dir() {
        dist.clone()
    } else {
        web
    };
    println!("cargo:rerun-if-changed={}", watched.display());

    let mut files = Vec::new();
    if dist.join("index.html").is_file() {
        collect(&dist, &dist, &mut files);
    }
    files.sort();

    let mut out = String::new();
    out.push_str("/// Whether `web/dist` was found and embedded at build time.\n");
    writeln!(out, "pub const BUILT: bool = {};", !files.is_empty()).unwrap();
    out.push_str("/// The embedded files: path under `/ui/`, contents.\n");
    out.push_str("pub static FILES: &[(&str, &[u8])] = &[\n");
    for (rel, abs) in &files {
        writeln!(
            out,
            "    ({rel:?}, include_bytes!({:?})),",
            abs.display().to_string()
        )
        .unwrap();
    }
    out.push_str("];\n");
    let out_dir = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets it"));
    std::fs::write(out_dir.join("assets.rs"), out).expect("writing assets.rs");
}

/// Every regular file under `dir`, as (path relative to `root` with `/`, absolute path).
fn collect(root: &Path, dir: &Path, files: &mut Vec<(String, PathBuf)>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect(root, &path, files);
        } else if path.is_file() {
            let rel = path
                .strip_prefix(root)
                .expect("under root")
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join("/");
            let abs = path.canonicalize().unwrap_or(path);
            files.push((rel, abs));
        }
    }
}
