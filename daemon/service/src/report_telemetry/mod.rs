//! The scheduled report's telemetry, kept between runs so that a run collects only
//! what nobody collected before it.
//!
//! The report needs every metric per minute over its period, which the store does not
//! keep (it keeps summaries, and a few metrics of recent minutes for verification).
//! So the report keeps its own rolling window, per live source (CloudWatch,
//! Prometheus), in `ARCHIVE/.telemetry/` (`[report] output_dir`; the files are
//! described in [`files`]), and [`Window`] is its one owner:
//!
//! - each cycle [appends](Window::append) the minutes it collected, and moves the
//!   window's watermarks to its own for every series the window was complete up to
//!   where the cycle started (a series the window lacks minutes of keeps its mark:
//!   the report collects that gap itself);
//! - the report [gathers](Window::gather): it loads the window, collects from the
//!   source starting at the window's watermarks — after cycles, the minutes since the
//!   last one; without them, since the last report — merges the new minutes in,
//!   forgets those before the period's start, and writes the window back whole.
//!
//! Both bound the window by the report period: the report prunes at each run, and a
//! cycle that finds more than [`MAX_SEGMENTS`] appended files folds them in and
//! prunes. A first run, or one whose files are missing or unreadable (a new leader
//! without the shared volume), backfills the source's `lookback_days` as before. A
//! file source is read whole each run, as it costs nothing to read, and cycles do not
//! append it.

mod files;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use adaptd_collectors::shutdown::Shutdown;
use adaptd_collectors::watermarks::Watermarks;
use adaptd_config::Config;
use adaptd_engine::telemetry::{Minute, TelemetrySet};

use self::files::{VERSION, load, load_state, merge, prune, save, windows_of};
use crate::sources::{Collected, Source};

/// The directory under the archive.
pub const DIR: &str = ".telemetry";

/// Appended files a cycle leaves before it folds them into the window.
pub const MAX_SEGMENTS: usize = 24;

/// The report's window on disk: its directory, the period it covers, and the lock
/// that keeps the cycles' appends and the report's runs from interleaving.
#[derive(Debug)]
pub struct Window {
    dir: PathBuf,
    period_days: u32,
    lock: tokio::sync::Mutex<()>,
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

impl Window {
    /// The window in `dir` covering `period_days`.
    pub fn new(dir: PathBuf, period_days: u32) -> Self {
        Self {
            dir,
            period_days,
            lock: tokio::sync::Mutex::new(()),
        }
    }

    /// The window of `config`'s scheduled report, in its archive under `base`.
    pub fn of(config: &Config, base: &Path) -> Self {
        Self::new(
            base.join(&config.report.output_dir).join(DIR),
            config.report.period_days,
        )
    }

    /// Where its files are.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The telemetry of every source from minute `from` on (the period's start), kept
    /// sources collected only from the window's watermarks.
    pub async fn gather(&self, sources: &[Source], from: Minute, shutdown: Shutdown) -> Gathered {
        let _held = self.lock.lock().await;
        let mut out = Gathered::default();
        for source in sources {
            let c = match source {
                Source::File { .. } => source.collect(None, shutdown.clone()).await,
                _ => collect_kept(source, self.dir.clone(), from, shutdown.clone()).await,
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

    /// Appends what a cycle collected of `source`, which it collected from the state
    /// `before` (`None`: a backfill of the source's lookback). The window takes the
    /// cycle's watermark of every series it was complete up to `before`'s; when none,
    /// nothing is written (the report collects it all anyway). Failures are logged:
    /// the report then collects what the window lacks.
    pub async fn append(&self, source: &Source, before: Option<&str>, collected: &Collected) {
        let name = source.name();
        if matches!(source, Source::File { .. }) {
            return;
        }
        let Some(after) = collected.state.as_deref().and_then(marks) else {
            return;
        };
        let before = match before.map(marks) {
            None => None,
            Some(Some(b)) => Some(b),
            // Unreadable: the cycle's collection started nowhere known.
            Some(None) => return,
        };
        let _held = self.lock.lock().await;
        let (dir, telemetry) = (self.dir.clone(), collected.telemetry.clone());
        let from = now_minute() - i64::from(self.period_days) * 1440;
        let done = tokio::task::spawn_blocking(move || {
            append_blocking(&dir, name, before.as_ref(), &after, &telemetry, from)
        })
        .await;
        match done {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::warn!(
                "report window: cannot append {name}'s minutes in {}: {e}",
                self.dir.display()
            ),
            Err(e) => tracing::warn!("report window: appending {name}'s minutes failed: {e}"),
        }
    }
}

fn now_minute() -> Minute {
    adaptd_store::now_ms() / 60_000
}

fn marks(state: &str) -> Option<Watermarks> {
    serde_json::from_str(state).ok()
}

/// The window's watermarks `window` moved to the cycle's (`after`) for every series
/// the window was complete up to where the cycle started (`before`; `None`: a
/// backfill, which starts where any window does). `None` when none moves.
fn advanced(
    window: Option<&Watermarks>,
    before: Option<&Watermarks>,
    after: &Watermarks,
) -> Option<Watermarks> {
    let mut out = window.cloned().unwrap_or_else(Watermarks::new);
    let mut moved = false;
    for (key, a) in after.iter() {
        let w = window.and_then(|w| w.get(key));
        let contiguous = match (before.and_then(|b| b.get(key)), w) {
            (None, _) => true,
            (Some(b), Some(w)) => w >= b,
            (Some(_), None) => false,
        };
        if contiguous && w.is_none_or(|w| a > w) {
            out.advance(key, a);
            moved = true;
        }
    }
    moved.then_some(out)
}

/// [`Window::append`]'s files: the segment and the state, then, past
/// [`MAX_SEGMENTS`], the whole window folded and pruned to `from`.
fn append_blocking(
    dir: &Path,
    name: &'static str,
    before: Option<&Watermarks>,
    after: &Watermarks,
    telemetry: &TelemetrySet,
    from: Minute,
) -> std::io::Result<()> {
    let mut kept = load_state(dir, name);
    let window = kept.state.as_deref().and_then(marks);
    let Some(moved) = advanced(window.as_ref(), before, after) else {
        return Ok(());
    };
    kept.version = VERSION;
    kept.state = Some(serde_json::to_string(&moved).map_err(std::io::Error::other)?);
    kept.widen(telemetry);
    if files::append(dir, name, &kept, telemetry)? > MAX_SEGMENTS {
        let (mut kept, mut all, folded) = load(dir, name);
        prune(&mut all, from);
        kept.windows = windows_of(&all);
        save(dir, name, &kept, &all, &folded)?;
    }
    Ok(())
}

/// Collects `source` from the window's state, merges and prunes, and keeps the
/// result, the appended segments folded in.
async fn collect_kept(
    source: &Source,
    dir: PathBuf,
    from: Minute,
    shutdown: Shutdown,
) -> Collected {
    let name = source.name();
    let (mut kept, mut telemetry, folded) = {
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
    kept.windows = windows_of(&telemetry);
    let saved = tokio::task::spawn_blocking(move || {
        let r = save(&dir, name, &kept, &telemetry, &folded);
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

#[cfg(test)]
mod tests {
    use super::*;

    fn w(marks: &[(&str, Minute)]) -> Watermarks {
        let mut w = Watermarks::new();
        for (k, m) in marks {
            w.advance(k, *m);
        }
        w
    }

    #[test]
    fn the_window_takes_the_cycles_marks_where_it_has_no_gap() {
        let after = w(&[("a", 200), ("b", 200)]);
        // A backfill: whatever the window had, the cycle's minutes start before it.
        assert_eq!(advanced(None, None, &after), Some(after.clone()));
        // The window is complete up to where the cycle started for a, not for b
        // (it stopped at 90 while the cycle started at 100): b keeps its mark.
        let window = w(&[("a", 100), ("b", 90)]);
        let before = w(&[("a", 100), ("b", 100)]);
        assert_eq!(
            advanced(Some(&window), Some(&before), &after),
            Some(w(&[("a", 200), ("b", 90)]))
        );
        // A series the window never had, which the cycle did not backfill: a gap.
        let before = w(&[("a", 100), ("c", 100)]);
        let after = w(&[("a", 100), ("c", 200)]);
        assert_eq!(advanced(Some(&window), Some(&before), &after), None);
        // A window ahead of the cycle (a report ran since): nothing moves back.
        let ahead = w(&[("a", 300)]);
        assert_eq!(
            advanced(Some(&ahead), Some(&w(&[("a", 100)])), &w(&[("a", 200)])),
            None
        );
    }
}
