//! Importer for the Azure Functions 2019 trace (Shahrad et al., "Serverless in the
//! Wild", USENIX ATC 2020; CC-BY 4.0).
//!
//! It is the largest public record of real serverless traffic, which makes it the
//! benchmark for the engine's cold-start and cost models. A trace directory holds one
//! day as three CSV tables (each optionally gzipped), found by name prefix:
//! `invocations_per_function*`, `function_durations_percentiles*` and
//! `app_memory_percentiles*`.
//!
//! Each function becomes a component named `fn-` + the first 12 hex characters of its
//! `HashFunction` (longer for every function when 12 do not tell them apart), with:
//! - `invocations`/`sum` for every minute column, zeros included — the trace *declares*
//!   those minutes, so a zero is an observation, not a gap — and `window` = first
//!   declared minute to one past the last;
//! - attributes `source = azure2019`, `trigger`, `owner`, `app` and `function` (the
//!   full hashes);
//! - `duration_ms` from the `percentile_Average_N` columns with `Average` as the mean
//!   (percentiles of 30-second averages, see the dataset notes);
//! - `memory_used_mb` from the `AverageAllocatedMb_pctN` columns with
//!   `AverageAllocatedMb` as the mean, joined per function when the table has a
//!   `HashFunction` column (In-Vitro samples, which split an app's memory evenly over
//!   its functions), else per app (owner + app, the published schema) — every function
//!   of the app then gets the whole app's memory.
//!
//! **Minutes.** Column `N` (or `minute_N`) is the dataset's N-th minute of the day,
//! 1-based: it covers `[N-1, N)` minutes after midnight UTC of [`Options::date`]. The
//! In-Vitro 500-function sample keeps the original numbers 480–959, so it covers
//! 07:59–15:59, not 08:00–16:00 as its description says.
//!
//! **Strictness.** A function missing from one of the tables (or a row with no
//! invocations row) is an error listing how many and a few hashes, unless
//! [`Options::allow_missing`] is set; the component then simply has no `duration_ms` /
//! `memory_used_mb`. Malformed cells, decreasing percentiles, duplicate functions and a
//! function filed under different apps are always errors, reported with file and line.

mod build;
mod error;
mod parse;

use std::path::{Path, PathBuf};

use adaptd_engine::telemetry::TelemetrySet;
use chrono::NaiveDate;

pub use self::error::{Error, Problem, Reason, Unmatched};
use crate::problems::Collector;

/// How to read a trace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// The UTC day the trace's minutes are placed on. The dataset only says "July
    /// 2019"; the default, Monday 2019-07-15, keeps weekday logic meaningful.
    pub date: NaiveDate,
    /// Load functions that lack a durations or memory row (and ignore rows of functions
    /// that were never invoked) instead of refusing the trace.
    pub allow_missing: bool,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            date: NaiveDate::from_ymd_opt(2019, 7, 15).expect("a valid date"),
            allow_missing: false,
        }
    }
}

const INVOCATIONS: &str = "invocations_per_function";
const DURATIONS: &str = "function_durations_percentiles";
const MEMORY: &str = "app_memory_percentiles";

/// Reads the trace day in `dir`.
pub fn load_dir(dir: &Path, opts: &Options) -> Result<TelemetrySet, Error> {
    let inv_path = find(dir, INVOCATIONS)?;
    let dur_path = find(dir, DURATIONS)?;
    // The published dataset lacks memory for its last two days.
    let mem_path = match find(dir, MEMORY) {
        Err(Error::MissingFile { .. }) if opts.allow_missing => None,
        other => Some(other?),
    };
    let mut problems = Collector::default();
    let invocations = parse::invocations(&inv_path, &mut problems)?;
    let durations = parse::durations(&dur_path, &mut problems)?;
    let memory = match &mem_path {
        Some(p) => parse::memory(p, &mut problems)?,
        None => None,
    };
    // A table is only absent when a problem was recorded.
    let (Some(invocations), Some(durations), true) = (invocations, durations, problems.is_empty())
    else {
        return Err(Error::Invalid(problems.into_problems()));
    };
    let memory = mem_path.zip(memory);
    let tables = build::Tables {
        invocations,
        durations_path: dur_path,
        durations,
        memory,
    };
    build::build(&tables, opts)
}

/// The one `{prefix}*.csv` or `{prefix}*.csv.gz` file in `dir`.
fn find(dir: &Path, prefix: &'static str) -> Result<PathBuf, Error> {
    let io = |source| Error::Io {
        path: dir.to_owned(),
        source,
    };
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let entry = entry.map_err(io)?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with(prefix) && (name.ends_with(".csv") || name.ends_with(".csv.gz")) {
            found.push(name);
        }
    }
    found.sort();
    match found.len() {
        0 => Err(Error::MissingFile {
            dir: dir.to_owned(),
            prefix,
        }),
        1 => Ok(dir.join(&found[0])),
        _ => Err(Error::AmbiguousFile {
            dir: dir.to_owned(),
            prefix,
            candidates: found,
        }),
    }
}
