//! Incremental state of the live collectors: per series of a source, the first minute
//! not yet collected.
//!
//! The collectors never store anything themselves: the caller owns this value and
//! persists it between cycles (`adaptd collect --state FILE` as JSON, the service in
//! its database). A collector moves a watermark only after everything up to it has
//! been fetched and handed back, so a crash between a fetch and the caller's save
//! re-fetches a window rather than losing it.

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};

use adaptd_engine::telemetry::Minute;
use serde::{Deserialize, Serialize};

/// Version of the JSON layout; a file of another version is refused, not guessed.
const FORMAT_VERSION: u32 = 1;

/// Collected-up-to marks, keyed by a source-specific identity (a function ARN, a
/// Prometheus source and label value) that survives renames in the config.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Watermarks {
    version: u32,
    /// Key → first minute not yet collected (everything before it is complete).
    marks: BTreeMap<String, Minute>,
}

/// Reading or writing a state file failed.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// The file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: io::Error,
    },
    /// The file is not a state file of this version.
    #[error("{path}: not an adaptd collector state file ({reason})")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
}

impl Watermarks {
    /// No marks: every series starts with a backfill.
    pub fn new() -> Self {
        Self {
            version: FORMAT_VERSION,
            marks: BTreeMap::new(),
        }
    }

    /// The first minute not yet collected for `key`.
    pub fn get(&self, key: &str) -> Option<Minute> {
        self.marks.get(key).copied()
    }

    /// Records that everything before `next` is collected for `key`. A mark never
    /// moves backwards: a late, shorter fetch cannot reopen a window.
    pub fn advance(&mut self, key: &str, next: Minute) {
        let e = self.marks.entry(key.to_owned()).or_insert(next);
        *e = (*e).max(next);
    }

    /// Number of keys.
    pub fn len(&self) -> usize {
        self.marks.len()
    }

    /// Whether there is no mark.
    pub fn is_empty(&self) -> bool {
        self.marks.is_empty()
    }

    /// Every key with its mark.
    pub fn iter(&self) -> impl Iterator<Item = (&str, Minute)> + '_ {
        self.marks.iter().map(|(k, &m)| (k.as_str(), m))
    }

    /// Reads a state file; a missing file is an empty state (the first run).
    pub fn load(path: &Path) -> Result<Self, StateError> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Self::new()),
            Err(source) => {
                return Err(StateError::Io {
                    path: path.to_owned(),
                    source,
                });
            }
        };
        let state: Watermarks = serde_json::from_str(&text).map_err(|e| StateError::Invalid {
            path: path.to_owned(),
            reason: e.to_string(),
        })?;
        if state.version != FORMAT_VERSION {
            return Err(StateError::Invalid {
                path: path.to_owned(),
                reason: format!(
                    "version {} (this build reads version {FORMAT_VERSION})",
                    state.version
                ),
            });
        }
        Ok(state)
    }

    /// Writes a state file atomically (a temporary file renamed over it), so an
    /// interrupted save leaves the previous state intact.
    pub fn save(&self, path: &Path) -> Result<(), StateError> {
        let io = |source| StateError::Io {
            path: path.to_owned(),
            source,
        };
        let mut tmp = path.as_os_str().to_owned();
        tmp.push(".tmp");
        let tmp = PathBuf::from(tmp);
        let text = serde_json::to_string_pretty(self).map_err(|e| io(io::Error::other(e)))?;
        std::fs::write(&tmp, text + "\n").map_err(io)?;
        std::fs::rename(&tmp, path).map_err(io)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marks_only_move_forward_and_round_trip_through_a_file() {
        let mut w = Watermarks::new();
        w.advance("a", 100);
        w.advance("a", 90);
        w.advance("b", 5);
        assert_eq!(w.get("a"), Some(100));
        let dir = std::env::temp_dir().join(format!("adaptd-wm-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("state.json");
        assert_eq!(Watermarks::load(&path).unwrap(), Watermarks::new());
        w.save(&path).unwrap();
        assert_eq!(Watermarks::load(&path).unwrap(), w);
        std::fs::write(&path, r#"{"version":7,"marks":{}}"#).unwrap();
        let err = Watermarks::load(&path).unwrap_err().to_string();
        assert!(err.contains("version 7"), "{err}");
        std::fs::write(&path, "[]").unwrap();
        assert!(Watermarks::load(&path).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
