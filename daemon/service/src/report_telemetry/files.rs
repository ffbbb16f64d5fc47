//! The window's files in `ARCHIVE/.telemetry/`, per live source:
//!
//! - `SOURCE.csv.gz`: the minutes of the window, in the long telemetry format (so
//!   `adaptd report --telemetry` and `adaptd recommend` read it as they are);
//! - `SOURCE.seg-N.csv.gz`: the minutes cycles appended since (one file a cycle),
//!   folded into `SOURCE.csv.gz` by the next report or compaction;
//! - `SOURCE.json`: the window's incremental state (its watermarks: everything
//!   before them is in the files) and each component's declared window, which the
//!   long format does not hold.
//!
//! Every file is written through a temporary file and a rename, the data before the
//! state: a crash in between leaves data the state does not claim, which is
//! collected again (a minute collected twice has the later value), never a claim
//! without its data.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use adaptd_engine::telemetry::{ComponentTelemetry, Minute, TelemetrySet};
use serde::{Deserialize, Serialize};

/// Version of `SOURCE.json`; another version is ignored (the source is backfilled).
pub(super) const VERSION: u32 = 1;

/// `SOURCE.json`.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Kept {
    pub(super) version: u32,
    /// The window's watermarks (JSON, as [`crate::sources::Source::collect`] takes
    /// them): the report collects from here.
    pub(super) state: Option<String>,
    /// Each component's declared window.
    pub(super) windows: BTreeMap<String, (Minute, Minute)>,
}

impl Kept {
    /// The declared windows of `telemetry`'s components added to the kept ones.
    pub(super) fn widen(&mut self, telemetry: &TelemetrySet) {
        for (name, t) in &telemetry.components {
            if let Some(w) = t.window {
                let e = self.windows.entry(name.clone()).or_insert(w);
                *e = (e.0.min(w.0), e.1.max(w.1));
            }
        }
    }
}

fn data_path(dir: &Path, source: &str) -> PathBuf {
    dir.join(format!("{source}.csv.gz"))
}

fn meta_path(dir: &Path, source: &str) -> PathBuf {
    dir.join(format!("{source}.json"))
}

/// The segments of `source` in `dir` with their numbers, in order.
pub(super) fn segments(dir: &Path, source: &str) -> Vec<(u64, PathBuf)> {
    let prefix = format!("{source}.seg-");
    let mut out: Vec<(u64, PathBuf)> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .filter_map(|e| {
            let e = e.ok()?;
            let name = e.file_name();
            let n = name
                .to_str()?
                .strip_prefix(&prefix)?
                .strip_suffix(".csv.gz")?
                .parse()
                .ok()?;
            Some((n, e.path()))
        })
        .collect();
    out.sort();
    out
}

/// The kept state alone (a missing or unreadable one is empty, with a warning for
/// the latter).
pub(super) fn load_state(dir: &Path, source: &str) -> Kept {
    let meta = meta_path(dir, source);
    match std::fs::read_to_string(&meta) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Kept::default(),
        Err(e) => {
            tracing::warn!("{}: {e}; collecting the lookback afresh", meta.display());
            Kept::default()
        }
        Ok(text) => match serde_json::from_str::<Kept>(&text) {
            Ok(k) if k.version == VERSION => k,
            Ok(_) | Err(_) => {
                tracing::warn!(
                    "{} is not of this version; collecting afresh",
                    meta.display()
                );
                Kept::default()
            }
        },
    }
}

/// The kept state and telemetry of `source` (the window, then each segment merged
/// in), and the segments read; empty (a backfill) when missing or unreadable, with a
/// warning for the latter.
pub(super) fn load(dir: &Path, source: &str) -> (Kept, TelemetrySet, Vec<PathBuf>) {
    let kept = load_state(dir, source);
    if kept.version != VERSION {
        return Default::default();
    }
    let data = data_path(dir, source);
    let mut telemetry = match adaptd_collectors::load(&data.to_string_lossy()) {
        Ok(t) => t,
        Err(e) => {
            tracing::warn!("{}: {e}; collecting the lookback afresh", data.display());
            return Default::default();
        }
    };
    let mut read = Vec::new();
    for (_, path) in segments(dir, source) {
        match adaptd_collectors::load(&path.to_string_lossy()) {
            Ok(t) => merge(&mut telemetry, t),
            // Its minutes are past the state's marks only if the state was written
            // after it: collected again then, as after a crash.
            Err(e) => tracing::warn!("{}: {e}; left out", path.display()),
        }
        read.push(path);
    }
    for (name, c) in &mut telemetry.components {
        c.window = kept.windows.get(name).copied();
    }
    (kept, telemetry, read)
}

/// Writes `path` through a temporary file and a rename.
fn replace(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path)
}

fn gzipped_csv(telemetry: &TelemetrySet) -> std::io::Result<Vec<u8>> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    adaptd_collectors::file::write_long_csv(telemetry, &mut gz)?;
    gz.flush()?;
    gz.finish()
}

fn save_state(dir: &Path, source: &str, kept: &Kept) -> std::io::Result<()> {
    let json = serde_json::to_string(kept).map_err(std::io::Error::other)?;
    replace(&meta_path(dir, source), json.as_bytes())
}

/// Writes the whole window, removes the segments it holds (`folded`), then writes
/// the state.
pub(super) fn save(
    dir: &Path,
    source: &str,
    kept: &Kept,
    telemetry: &TelemetrySet,
    folded: &[PathBuf],
) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    replace(&data_path(dir, source), &gzipped_csv(telemetry)?)?;
    for p in folded {
        // One left behind is read again with the same minutes: harmless.
        let _ = std::fs::remove_file(p);
    }
    save_state(dir, source, kept)
}

/// Writes `telemetry` as the next segment, then the state; an empty window first
/// when there is none yet, so that the segment has one to be read with. Returns the
/// number of segments now kept.
pub(super) fn append(
    dir: &Path,
    source: &str,
    kept: &Kept,
    telemetry: &TelemetrySet,
) -> std::io::Result<usize> {
    std::fs::create_dir_all(dir)?;
    let data = data_path(dir, source);
    if !data.exists() {
        replace(&data, &gzipped_csv(&TelemetrySet::default())?)?;
    }
    let existing = segments(dir, source);
    let next = existing.last().map_or(0, |(n, _)| n + 1);
    let path = dir.join(format!("{source}.seg-{next}.csv.gz"));
    replace(&path, &gzipped_csv(telemetry)?)?;
    save_state(dir, source, kept)?;
    Ok(existing.len() + 1)
}

/// `new`'s minutes into `kept`: a later value of a minute replaces the earlier one,
/// attributes are the latest, windows grow to cover both.
pub(super) fn merge(kept: &mut TelemetrySet, new: TelemetrySet) {
    for (name, t) in new.components {
        let c = kept.component_mut(&name);
        c.attributes.extend(t.attributes);
        for (key, series) in &t.series {
            for (m, v) in series.observed() {
                // Values come out of a series: finite.
                let _ = c.record(m, key.0, key.1, v);
            }
        }
        c.window = match (c.window, t.window) {
            (Some(a), Some(b)) => Some((a.0.min(b.0), a.1.max(b.1))),
            (a, b) => a.or(b),
        };
    }
}

/// `kept` without the minutes before `from`; components left with none are dropped.
pub(super) fn prune(kept: &mut TelemetrySet, from: Minute) {
    kept.components.retain(|_, c| {
        let mut cut = ComponentTelemetry::new(c.name.clone());
        cut.attributes = std::mem::take(&mut c.attributes);
        for (key, series) in &c.series {
            for (m, v) in series.observed().filter(|&(m, _)| m >= from) {
                let _ = cut.record(m, key.0, key.1, v);
            }
        }
        cut.window = c
            .window
            .map(|(a, b)| (a.max(from), b))
            .filter(|(a, b)| a < b);
        *c = cut;
        !c.series.is_empty()
    });
}

/// The declared windows of `telemetry`'s components (what [`Kept::windows`] holds).
pub(super) fn windows_of(telemetry: &TelemetrySet) -> BTreeMap<String, (Minute, Minute)> {
    telemetry
        .components
        .iter()
        .filter_map(|(n, t)| Some((n.clone(), t.window?)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use adaptd_engine::telemetry::{Metric, Stat};

    pub(crate) fn span(name: &str, from: Minute, to: Minute, v: f64) -> TelemetrySet {
        let mut t = ComponentTelemetry::new(name);
        for m in from..to {
            t.record(m, Metric::Invocations, Stat::Sum, v).unwrap();
        }
        t.window = Some((from, to));
        t.attributes.insert("memory_mb".into(), v.to_string());
        let mut set = TelemetrySet::default();
        set.components.insert(name.into(), t);
        set
    }

    #[test]
    fn new_minutes_merge_in_and_old_ones_are_forgotten() {
        let mut kept = span("a", 0, 100, 1.0);
        merge(&mut kept, span("a", 90, 150, 2.0));
        let a = &kept.components["a"];
        assert_eq!(a.window, Some((0, 150)));
        assert_eq!(a.invocations().unwrap().get(89), Some(1.0));
        assert_eq!(a.invocations().unwrap().get(90), Some(2.0));
        assert_eq!(a.attributes["memory_mb"], "2");
        merge(&mut kept, span("b", 0, 10, 1.0));
        prune(&mut kept, 50);
        let a = &kept.components["a"];
        assert_eq!(a.window, Some((50, 150)));
        assert_eq!(a.invocations().unwrap().start(), 50);
        assert!(!kept.components.contains_key("b"), "nothing left of b");
    }

    fn scratch(what: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("adaptd-kept-{what}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn what_is_kept_reads_back_the_same() {
        let dir = scratch("save");
        let t = span("a", 10, 70, 3.5);
        let kept = Kept {
            version: VERSION,
            state: Some("{\"marks\":{}}".into()),
            windows: [("a".to_owned(), (10, 70))].into(),
        };
        save(&dir, "cloudwatch", &kept, &t, &[]).unwrap();
        let (k, back, _) = load(&dir, "cloudwatch");
        assert_eq!(k.state, kept.state);
        let a = &back.components["a"];
        assert_eq!(a.window, Some((10, 70)));
        assert_eq!(a.series, t.components["a"].series);
        assert_eq!(a.attributes, t.components["a"].attributes);
        let _ = std::fs::remove_dir_all(&dir);
        assert!(load(&dir, "cloudwatch").1.is_empty(), "missing: empty");
    }

    #[test]
    fn segments_read_with_the_window_and_fold_into_it() {
        let dir = scratch("segments");
        let mut kept = Kept {
            version: VERSION,
            ..Kept::default()
        };
        // Appended with no window yet: an empty one is written first.
        let first = span("a", 10, 20, 1.0);
        kept.widen(&first);
        assert_eq!(append(&dir, "prometheus", &kept, &first).unwrap(), 1);
        let second = span("a", 20, 30, 2.0);
        kept.widen(&second);
        assert_eq!(append(&dir, "prometheus", &kept, &second).unwrap(), 2);
        let (k, t, read) = load(&dir, "prometheus");
        assert_eq!(read.len(), 2);
        assert_eq!(k.windows["a"], (10, 30));
        let a = &t.components["a"];
        assert_eq!(a.window, Some((10, 30)));
        assert_eq!(a.invocations().unwrap().get(15), Some(1.0));
        assert_eq!(a.invocations().unwrap().get(25), Some(2.0));
        save(&dir, "prometheus", &k, &t, &read).unwrap();
        assert!(segments(&dir, "prometheus").is_empty(), "folded in");
        let (_, again, read) = load(&dir, "prometheus");
        assert!(read.is_empty());
        assert_eq!(again.components["a"].series, a.series);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
