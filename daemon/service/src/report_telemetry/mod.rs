//! The scheduled report's telemetry, kept between runs so that each run collects only
//! what the last one did not.
//!
//! The report needs every metric per minute over its period, which the store does not
//! keep (it keeps summaries, and a few metrics of recent minutes for verification).
//! So the report keeps its own rolling window, per live source (CloudWatch,
//! Prometheus), in `ARCHIVE/.telemetry/` (`[report] output_dir`):
//!
//! - `SOURCE.csv.gz`: the minutes of the window, in the long telemetry format (so
//!   `adaptd report --telemetry` and `adaptd recommend` read it as they are);
//! - `SOURCE.json`: the source's incremental state (its watermarks, as the cycles keep
//!   theirs in the store) and each component's declared window, which the long format
//!   does not hold.
//!
//! A run loads both, collects from the source starting at those watermarks — the
//! minutes since the last run, not the whole lookback — merges the new minutes in,
//! forgets those before the period's start, and writes the telemetry, then the state
//! (each through a temporary file and a rename): a crash between the two re-collects
//! a span rather than losing one. A first run, or one whose files are missing or
//! unreadable (a new leader without the shared volume), backfills the source's
//! `lookback_days` as before. A file source is read whole each run, as it costs
//! nothing to read.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use adaptd_collectors::shutdown::Shutdown;
use adaptd_engine::telemetry::{ComponentTelemetry, Minute, TelemetrySet};
use serde::{Deserialize, Serialize};

use crate::sources::{Collected, Source};

/// The directory under the archive.
pub const DIR: &str = ".telemetry";

/// Version of `SOURCE.json`; another version is ignored (the source is backfilled).
const VERSION: u32 = 1;

/// `SOURCE.json`.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Kept {
    version: u32,
    /// The source's state after the last run (JSON, as [`Source::collect`] takes it).
    state: Option<String>,
    /// Each component's declared window.
    windows: BTreeMap<String, (Minute, Minute)>,
}

/// The telemetry of one run: every source's, the first source's series winning for a
/// component two sources see (as before the window was kept).
#[derive(Debug, Default)]
pub struct Gathered {
    /// The telemetry, from `from` on for the kept sources.
    pub telemetry: TelemetrySet,
    /// Whether shutdown cut it short.
    pub stopped: bool,
    /// API calls or queries made, by source (for the log).
    pub calls: BTreeMap<&'static str, u64>,
}

fn paths(dir: &Path, source: &str) -> (PathBuf, PathBuf) {
    (
        dir.join(format!("{source}.csv.gz")),
        dir.join(format!("{source}.json")),
    )
}

/// The kept state and telemetry of `source`; empty (a backfill) when missing or
/// unreadable, with a warning for the latter.
fn load(dir: &Path, source: &str) -> (Kept, TelemetrySet) {
    let (data, meta) = paths(dir, source);
    let kept: Kept = match std::fs::read_to_string(&meta) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Default::default(),
        Err(e) => {
            tracing::warn!("{}: {e}; collecting the lookback afresh", meta.display());
            return Default::default();
        }
        Ok(text) => match serde_json::from_str::<Kept>(&text) {
            Ok(k) if k.version == VERSION => k,
            Ok(_) | Err(_) => {
                tracing::warn!(
                    "{} is not of this version; collecting afresh",
                    meta.display()
                );
                return Default::default();
            }
        },
    };
    let mut telemetry = match adaptd_collectors::load(&data.to_string_lossy()) {
        Ok(t) => t,
        Err(e) => {
            tracing::warn!("{}: {e}; collecting the lookback afresh", data.display());
            return Default::default();
        }
    };
    for (name, c) in &mut telemetry.components {
        c.window = kept.windows.get(name).copied();
    }
    (kept, telemetry)
}

/// Writes `path` through a temporary file and a rename.
fn replace(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path)
}

/// Writes the telemetry, then the state.
fn save(dir: &Path, source: &str, kept: &Kept, telemetry: &TelemetrySet) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let (data, meta) = paths(dir, source);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    adaptd_collectors::file::write_long_csv(telemetry, &mut gz)?;
    gz.flush()?;
    replace(&data, &gz.finish()?)?;
    let json = serde_json::to_string(kept).map_err(std::io::Error::other)?;
    replace(&meta, json.as_bytes())
}

/// `new`'s minutes into `kept`: a later value of a minute replaces the earlier one,
/// attributes are the latest, windows grow to cover both.
fn merge(kept: &mut TelemetrySet, new: TelemetrySet) {
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
fn prune(kept: &mut TelemetrySet, from: Minute) {
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

/// Collects `source` from its kept state, merges and prunes, and keeps the result.
async fn collect_kept(
    source: &Source,
    dir: PathBuf,
    from: Minute,
    shutdown: Shutdown,
) -> Collected {
    let name = source.name();
    let (mut kept, mut telemetry) = {
        let dir = dir.clone();
        tokio::task::spawn_blocking(move || load(&dir, name))
            .await
            .unwrap_or_default()
    };
    let mut c = source.collect(kept.state.as_deref(), shutdown).await;
    merge(&mut telemetry, std::mem::take(&mut c.telemetry));
    prune(&mut telemetry, from);
    if let Some(s) = &c.state {
        kept.state = Some(s.clone());
    }
    kept.version = VERSION;
    kept.windows = telemetry
        .components
        .iter()
        .filter_map(|(n, t)| Some((n.clone(), t.window?)))
        .collect();
    let saved = tokio::task::spawn_blocking(move || {
        let r = save(&dir, name, &kept, &telemetry);
        (r, dir, telemetry)
    })
    .await;
    match saved {
        Ok((r, dir, t)) => {
            if let Err(e) = r {
                // The next run collects again from the last state it could keep.
                tracing::warn!(
                    "scheduled report: cannot keep {name}'s telemetry in {}: {e}",
                    dir.display()
                );
            }
            c.telemetry = t;
        }
        Err(e) => tracing::warn!("scheduled report: keeping {name}'s telemetry failed: {e}"),
    }
    c
}

/// The telemetry of every source from minute `from` on (the period's start), kept
/// sources collected only since their last run, into `dir`.
pub async fn gather(sources: &[Source], dir: &Path, from: Minute, shutdown: Shutdown) -> Gathered {
    let mut out = Gathered::default();
    for source in sources {
        let c = match source {
            Source::File { .. } => source.collect(None, shutdown.clone()).await,
            _ => collect_kept(source, dir.to_path_buf(), from, shutdown.clone()).await,
        };
        for e in &c.errors {
            tracing::warn!("scheduled report: source {}: {}", c.source, e.message);
        }
        let calls: u64 = c.observation.calls.values().sum();
        *out.calls.entry(c.source).or_default() += calls;
        if c.stopped {
            out.stopped = true;
            return out;
        }
        out.telemetry.sources.push(c.source.to_owned());
        for (name, t) in c.telemetry.components {
            out.telemetry.components.entry(name).or_insert(t);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use adaptd_engine::telemetry::{Metric, Stat};

    fn span(name: &str, from: Minute, to: Minute, v: f64) -> TelemetrySet {
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

    #[test]
    fn what_is_kept_reads_back_the_same() {
        let dir = std::env::temp_dir().join(format!("adaptd-kept-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let t = span("a", 10, 70, 3.5);
        let kept = Kept {
            version: VERSION,
            state: Some("{\"marks\":{}}".into()),
            windows: [("a".to_owned(), (10, 70))].into(),
        };
        save(&dir, "cloudwatch", &kept, &t).unwrap();
        let (k, back) = load(&dir, "cloudwatch");
        assert_eq!(k.state, kept.state);
        let a = &back.components["a"];
        assert_eq!(a.window, Some((10, 70)));
        assert_eq!(a.series, t.components["a"].series);
        assert_eq!(a.attributes, t.components["a"].attributes);
        let _ = std::fs::remove_dir_all(&dir);
        assert!(load(&dir, "cloudwatch").1.is_empty(), "missing: empty");
    }
}
