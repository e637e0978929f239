//! What the crates' tests need when a prerequisite may be missing: one rule, one place.
//!
//! The rule (PLAN.md, "How we work"): a test that cannot run here because something it needs
//! is missing (root, a package, the vectors folder, the Python venv)
//! - under `CI=true` fails, saying what is missing: CI guarantees every prerequisite, so a
//!   skip there would be a green run that checked nothing;
//! - elsewhere prints `SKIP <test>: <why>` on the test process's standard error, bypassing the
//!   test harness's output capture so that the line shows in `cargo test`'s output, appends the
//!   same line to the file named by `$CIRRUS_SKIP_LOG` when set (scripts/test.sh sets it and
//!   prints the file at the end of the run), and the test returns.
//!
//! Only a *missing* prerequisite is a skip. A prerequisite that is there but misbehaves (a
//! helper that exits non-zero, a file that does not parse) is a test failure.

use std::io::Write;
use std::path::{Path, PathBuf};

/// Whether this run is CI's (`CI=true`), where every prerequisite is guaranteed.
pub fn in_ci() -> bool {
    std::env::var("CI").as_deref() == Ok("true")
}

/// Reports that `test` cannot run because of `why` (see the module doc): panics under CI,
/// else prints and logs the `SKIP` line. The caller returns right after.
pub fn skip(test: &str, why: &str) {
    let line = format!("SKIP {test}: {why}");
    if in_ci() {
        panic!("{line} (CI=true: a missing prerequisite is a failure)");
    }
    // `eprintln!` would be captured (and hidden) by the test harness for a passing test;
    // a direct write to the standard error stream is not.
    let _ = writeln!(std::io::stderr().lock(), "{line}");
    if let Some(path) = std::env::var_os("CIRRUS_SKIP_LOG") {
        let logged = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .and_then(|mut f| writeln!(f, "{line}"));
        if let Err(e) = logged {
            // Losing the line would make the skip silent again.
            panic!(
                "{line}; and it could not be written to CIRRUS_SKIP_LOG={}: {e}",
                Path::new(&path).display()
            );
        }
    }
}

/// The third-party wire vectors folder (`../shared/vectors` beside the repository, see its
/// README), joined with `sub` (e.g. `exabgp`, `tcpdump/tests`), when it is there; else
/// [`skip`]s `test` and gives `None`.
///
/// Where it is looked for: `$CIRRUS_VECTORS` when set (then it must exist: a wrong setting
/// fails rather than skips); else `shared/vectors` in the repository's parent folder or, for a
/// git worktree kept in a subfolder (`/work/wt/NAME`), in the nearest ancestor that has one.
pub fn vectors(sub: &str, test: &str) -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("CIRRUS_VECTORS") {
        let p = PathBuf::from(dir).join(sub);
        assert!(
            p.is_dir(),
            "{test}: CIRRUS_VECTORS is set but {} is not a folder",
            p.display()
        );
        return Some(p);
    }
    match find_vectors(&repo_root()) {
        Some(root) => Some(root.join(sub)).filter(|p| p.is_dir()).or_else(|| {
            skip(test, &format!("{} has no {sub} folder", root.display()));
            None
        }),
        None => {
            skip(
                test,
                &format!(
                    "third-party vectors not found (../shared/vectors beside {}, or set \
                     CIRRUS_VECTORS)",
                    repo_root().display()
                ),
            );
            None
        }
    }
}

/// The workspace root (this crate is `crates/testkit` in it).
pub fn repo_root() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    root.canonicalize().unwrap_or(root)
}

/// `shared/vectors` in the nearest ancestor of `repo` (its parent first) that has one.
fn find_vectors(repo: &Path) -> Option<PathBuf> {
    repo.canonicalize()
        .ok()?
        .ancestors()
        .skip(1)
        .map(|a| a.join("shared/vectors"))
        .find(|p| p.is_dir())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_vectors_in_the_parent_or_an_ancestor() {
        let base = std::env::temp_dir().join(format!("cirrus-testkit-{}", std::process::id()));
        let repo = base.join("wt/repo");
        std::fs::create_dir_all(&repo).unwrap();
        assert_eq!(find_vectors(&repo).filter(|p| p.starts_with(&base)), None);
        std::fs::create_dir_all(base.join("shared/vectors")).unwrap();
        let found = find_vectors(&repo).unwrap();
        assert_eq!(found, base.canonicalize().unwrap().join("shared/vectors"));
        std::fs::create_dir_all(base.join("wt/shared/vectors")).unwrap();
        let nearer = find_vectors(&repo).unwrap();
        assert_eq!(
            nearer,
            base.canonicalize().unwrap().join("wt/shared/vectors")
        );
        std::fs::remove_dir_all(&base).unwrap();
    }
}
