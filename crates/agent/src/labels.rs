//! MPLS labels of local ports, kept in the state dir (`labels.json`) so a restarted agent
//! gives each port the label it had: the routes other vrouters still hold for it stay
//! right while this one comes back. Labels start at 16 (0-15 are reserved); the lowest
//! free one is taken. Written atomically (temporary file, fsync, rename).

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::program::encap::MIN_LABEL;

/// Why the label file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum LabelError {
    #[error("reading {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} is not a label map: {why}")]
    Corrupt { path: PathBuf, why: String },
    #[error("writing {path}: {source}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("no MPLS label left")]
    Exhausted,
}

/// Port uuid -> label, persisted.
#[derive(Debug)]
pub struct Labels {
    path: PathBuf,
    map: BTreeMap<String, u32>,
}

impl Labels {
    /// Opens (or starts) `<dir>/labels.json`.
    pub fn open(dir: &Path) -> Result<Labels, LabelError> {
        let path = dir.join("labels.json");
        let map = match std::fs::read(&path) {
            Ok(b) => serde_json::from_slice(&b).map_err(|e| LabelError::Corrupt {
                path: path.clone(),
                why: e.to_string(),
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => BTreeMap::new(),
            Err(source) => return Err(LabelError::Read { path, source }),
        };
        Ok(Labels { path, map })
    }

    pub fn get(&self, port: &str) -> Option<u32> {
        self.map.get(port).copied()
    }

    /// The port's label, allocating (and persisting) one if it has none.
    pub fn label(&mut self, port: &str) -> Result<u32, LabelError> {
        if let Some(l) = self.get(port) {
            return Ok(l);
        }
        let mut used: Vec<u32> = self.map.values().copied().collect();
        used.sort_unstable();
        let mut l = MIN_LABEL;
        for u in used {
            if u == l {
                l += 1;
            } else if u > l {
                break;
            }
        }
        if l > 0xf_ffff {
            return Err(LabelError::Exhausted);
        }
        self.map.insert(port.to_string(), l);
        if let Err(e) = self.save() {
            self.map.remove(port);
            return Err(e);
        }
        Ok(l)
    }

    /// Frees a port's label.
    pub fn release(&mut self, port: &str) -> Result<(), LabelError> {
        if self.map.remove(port).is_some() {
            self.save()?;
        }
        Ok(())
    }

    pub fn all(&self) -> &BTreeMap<String, u32> {
        &self.map
    }

    fn save(&self) -> Result<(), LabelError> {
        let w = |source| LabelError::Write {
            path: self.path.clone(),
            source,
        };
        let tmp = self.path.with_extension("json.tmp");
        let body = serde_json::to_vec_pretty(&self.map).unwrap_or_default();
        let mut f = std::fs::File::create(&tmp).map_err(w)?;
        f.write_all(&body).map_err(w)?;
        f.sync_all().map_err(w)?;
        std::fs::rename(&tmp, &self.path).map_err(w)?;
        if let Some(d) = self.path.parent()
            && let Ok(d) = std::fs::File::open(d)
        {
            let _ = d.sync_all();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_survive_a_restart_and_reuse_the_lowest_free() {
        let dir = tempfile::tempdir().unwrap();
        let mut l = Labels::open(dir.path()).unwrap();
        assert_eq!(l.label("a").unwrap(), 16);
        // On disk as soon as it is given out.
        assert_eq!(Labels::open(dir.path()).unwrap().get("a"), Some(16));
        assert_eq!(l.label("b").unwrap(), 17);
        assert_eq!(l.label("c").unwrap(), 18);
        l.release("b").unwrap();
        drop(l);
        let mut l = Labels::open(dir.path()).unwrap();
        assert_eq!(
            (l.get("a"), l.get("b"), l.get("c")),
            (Some(16), None, Some(18))
        );
        assert_eq!(l.label("d").unwrap(), 17);
        assert_eq!(l.label("a").unwrap(), 16);
        std::fs::write(dir.path().join("labels.json"), b"{oops").unwrap();
        let e = Labels::open(dir.path()).unwrap_err().to_string();
        assert!(e.contains("labels.json"), "{e}");
    }
}
