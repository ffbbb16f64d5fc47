//! Joining the three tables into one [`ComponentTelemetry`] per function.
//!
//! The tables come from different logs, so a function can be in one and not another;
//! the join refuses that by default rather than inventing a duration or memory profile,
//! because a component without one would be costed on guesses.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use adaptd_engine::calendar::days_from_civil;
use adaptd_engine::telemetry::{
    ComponentTelemetry, MINUTES_PER_DAY, Metric, MinuteSeries, Stat, TelemetrySet,
};
use chrono::Datelike;

use super::Options;
use super::error::{Error, Problem, Reason, Unmatched, short};
use super::parse::{DurRow, Ids, Invocations, MemRow};
use crate::problems::Collector;

/// How many hashes an [`Unmatched`] shows.
const EXAMPLES: usize = 5;

/// The tables, parsed.
pub(super) struct Tables {
    pub invocations: Invocations,
    pub durations_path: PathBuf,
    pub durations: Vec<DurRow>,
    /// Absent only when `allow_missing` let a missing memory file through.
    pub memory: Option<(PathBuf, Vec<MemRow>)>,
}

fn other_app(ids: &Ids, owner: &str, app: &str, inv_line: u64) -> Option<Reason> {
    let describe = |owner: &str, app: &str| format!("owner {} / app {}", short(owner), short(app));
    (ids.owner != owner || ids.app != app).then(|| Reason::OtherApp {
        hash: short(&ids.function),
        here: describe(owner, app),
        invocations: describe(&ids.owner, &ids.app),
        inv_line,
    })
}

fn unmatched<'a>(
    present_in: &Path,
    missing_from: &Path,
    kind: &'static str,
    hashes: impl IntoIterator<Item = &'a str>,
) -> Option<Unmatched> {
    let hashes: Vec<&str> = hashes.into_iter().collect();
    (!hashes.is_empty()).then(|| Unmatched {
        present_in: present_in.to_owned(),
        missing_from: missing_from.to_owned(),
        kind,
        count: hashes.len(),
        examples: hashes.iter().take(EXAMPLES).map(|h| short(h)).collect(),
    })
}

/// Joins the tables; see the module docs of [`super`] for the rules.
pub(super) fn build(t: &Tables, opts: &Options) -> Result<TelemetrySet, Error> {
    let inv = &t.invocations;
    let mut problems: Collector<Problem> = Collector::default();
    let mut gaps = Vec::new();

    let durations: HashMap<&str, &DurRow> = t
        .durations
        .iter()
        .map(|d| (d.ids.function.as_str(), d))
        .collect();
    let invoked: HashSet<&str> = inv.rows.iter().map(|r| r.ids.function.as_str()).collect();
    for r in &inv.rows {
        if let Some(d) = durations.get(r.ids.function.as_str())
            && let Some(reason) = other_app(&r.ids, &d.ids.owner, &d.ids.app, r.line)
        {
            problems.push(Problem {
                path: t.durations_path.clone(),
                line: Some(d.line),
                reason,
            });
        }
    }
    gaps.extend(unmatched(
        &inv.path,
        &t.durations_path,
        "function",
        inv.rows
            .iter()
            .map(|r| r.ids.function.as_str())
            .filter(|f| !durations.contains_key(f)),
    ));
    gaps.extend(unmatched(
        &t.durations_path,
        &inv.path,
        "function",
        t.durations
            .iter()
            .map(|d| d.ids.function.as_str())
            .filter(|f| !invoked.contains(f)),
    ));

    // Memory, keyed by function or by (owner, app) depending on the table's shape.
    let mut memory_of: HashMap<&str, &MemRow> = HashMap::new();
    if let Some((mem_path, rows)) = &t.memory {
        let per_function = rows.iter().any(|m| m.function.is_some());
        if per_function {
            let by_fn: HashMap<&str, &MemRow> = rows
                .iter()
                .filter_map(|m| Some((m.function.as_deref()?, m)))
                .collect();
            for r in &inv.rows {
                if let Some(m) = by_fn.get(r.ids.function.as_str()) {
                    if let Some(reason) = other_app(&r.ids, &m.owner, &m.app, r.line) {
                        problems.push(Problem {
                            path: mem_path.clone(),
                            line: Some(m.line),
                            reason,
                        });
                    }
                    memory_of.insert(&r.ids.function, m);
                }
            }
            let extra = by_fn.keys().copied().filter(|f| !invoked.contains(f));
            gaps.extend(unmatched(mem_path, &inv.path, "function", extra));
        } else {
            let by_app: HashMap<(&str, &str), &MemRow> = rows
                .iter()
                .map(|m| ((m.owner.as_str(), m.app.as_str()), m))
                .collect();
            for r in &inv.rows {
                if let Some(m) = by_app.get(&(r.ids.owner.as_str(), r.ids.app.as_str())) {
                    memory_of.insert(&r.ids.function, m);
                }
            }
            let apps: HashSet<(&str, &str)> = inv
                .rows
                .iter()
                .map(|r| (r.ids.owner.as_str(), r.ids.app.as_str()))
                .collect();
            let mut lacking: Vec<&str> = apps
                .iter()
                .filter(|k| !by_app.contains_key(*k))
                .map(|k| k.1)
                .collect();
            lacking.sort_unstable();
            gaps.extend(unmatched(&inv.path, mem_path, "app", lacking));
            let extra = rows
                .iter()
                .filter(|m| !apps.contains(&(m.owner.as_str(), m.app.as_str())))
                .map(|m| m.app.as_str());
            gaps.extend(unmatched(mem_path, &inv.path, "app", extra));
        }
        if per_function {
            gaps.extend(unmatched(
                &inv.path,
                mem_path,
                "function",
                inv.rows
                    .iter()
                    .map(|r| r.ids.function.as_str())
                    .filter(|f| !memory_of.contains_key(f)),
            ));
        }
    }
    problems.into_result().map_err(Error::Invalid)?;
    if !gaps.is_empty() && !opts.allow_missing {
        return Err(Error::Unmatched(gaps));
    }

    let day_start = days_from_civil(
        i64::from(opts.date.year()),
        opts.date.month(),
        opts.date.day(),
    ) * MINUTES_PER_DAY;
    // Column N is the N-th minute of the day: [N-1, N) minutes after midnight.
    let minutes: Vec<i64> = inv
        .minutes
        .iter()
        .map(|&n| day_start + i64::from(n) - 1)
        .collect();
    let window = match (minutes.first(), minutes.last()) {
        (Some(&first), Some(&last)) => Some((first, last + 1)),
        _ => None,
    };
    let hashes: Vec<&str> = inv.rows.iter().map(|r| r.ids.function.as_str()).collect();
    let width = name_width(&hashes);

    let mut set = TelemetrySet {
        sources: std::iter::once(&inv.path)
            .chain([&t.durations_path])
            .chain(t.memory.as_ref().map(|(p, _)| p))
            .map(|p| format!("azure2019:{}", p.display()))
            .collect(),
        ..TelemetrySet::default()
    };
    for r in &inv.rows {
        let f = r.ids.function.as_str();
        let name = format!("fn-{}", f.get(..width).unwrap_or(f));
        let mut c = ComponentTelemetry::new(name.clone());
        for (k, v) in [
            ("source", "azure2019"),
            ("trigger", r.trigger.as_str()),
            ("owner", r.ids.owner.as_str()),
            ("app", r.ids.app.as_str()),
            ("function", f),
        ] {
            c.attributes.insert(k.to_owned(), v.to_owned());
        }
        let mut series = MinuteSeries::new();
        for (&m, &n) in minutes.iter().zip(&r.counts) {
            series
                .set(m, f64::from(n))
                .expect("counts are finite integers");
        }
        c.series.insert((Metric::Invocations, Stat::Sum), series);
        c.duration_ms = durations.get(f).map(|d| d.duration_ms.clone());
        c.memory_used_mb = memory_of.get(f).map(|m| m.memory_mb.clone());
        c.window = window;
        set.components.insert(name, c);
    }
    Ok(set)
}

/// The shortest hash prefix, from 12 characters up, that tells every function apart.
/// One width for all keeps names uniform and independent of row order.
fn name_width(hashes: &[&str]) -> usize {
    let longest = hashes.iter().map(|h| h.len()).max().unwrap_or(0);
    (12..longest)
        .find(|&w| {
            let mut seen = HashSet::new();
            hashes.iter().all(|h| seen.insert(h.get(..w).unwrap_or(h)))
        })
        .unwrap_or(longest)
}

#[cfg(test)]
mod tests {
    use super::name_width;

    #[test]
    fn names_grow_until_unique() {
        let a = "aaaaaaaaaaaa0000";
        let b = "aaaaaaaaaaaa0001";
        assert_eq!(name_width(&[a, "bbbbbbbbbbbbbbbb"]), 12);
        assert_eq!(name_width(&[a, b]), 16);
        let c = "aaaaaaaaaaaaaaaaaaaa1";
        let d = "aaaaaaaaaaaaaaaaaaaa2";
        assert_eq!(name_width(&[c, d]), 21);
    }
}
