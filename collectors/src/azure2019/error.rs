//! What can go wrong importing an Azure Functions 2019 trace.

use std::fmt;
use std::path::PathBuf;

use adaptd_engine::quantiles::QuantileError;

use crate::problems::Problems;

/// Importing the trace failed; nothing was returned.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file could not be opened, decompressed or read.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The directory has no file for one of the three tables.
    #[error("{}: no `{prefix}*.csv` file (an Azure Functions 2019 trace directory holds invocations_per_function, function_durations_percentiles and app_memory_percentiles CSVs)", dir.display())]
    MissingFile {
        /// The directory.
        dir: PathBuf,
        /// The file name prefix looked for.
        prefix: &'static str,
    },
    /// The directory has several files for one table (for example several days).
    #[error("{}: several `{prefix}*.csv` files ({}); put one day's files in a directory of their own", dir.display(), candidates.join(", "))]
    AmbiguousFile {
        /// The directory.
        dir: PathBuf,
        /// The file name prefix looked for.
        prefix: &'static str,
        /// The matching names.
        candidates: Vec<String>,
    },
    /// Malformed content.
    #[error("invalid Azure Functions 2019 trace: {0}")]
    Invalid(Problems<Problem>),
    /// The tables do not describe the same functions.
    #[error("the trace files do not match:{}", list(.0))]
    Unmatched(Vec<Unmatched>),
}

fn list(items: &[Unmatched]) -> String {
    items.iter().map(|u| format!("\n  {u}")).collect()
}

/// Rows of one table with no counterpart in another.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unmatched {
    /// The table that has them.
    pub present_in: PathBuf,
    /// The table that lacks them.
    pub missing_from: PathBuf,
    /// `"function"` or `"app"`.
    pub kind: &'static str,
    /// How many.
    pub count: usize,
    /// A few of their hashes, shortened.
    pub examples: Vec<String>,
}

impl fmt::Display for Unmatched {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = if self.count == 1 { "" } else { "s" };
        write!(
            f,
            "{} {}{s} in {} {} no row in {} (e.g. {}); set `allow_missing` to load without them",
            self.count,
            self.kind,
            self.present_in.display(),
            if self.count == 1 { "has" } else { "have" },
            self.missing_from.display(),
            self.examples.join(", "),
        )
    }
}

/// One malformed spot in a trace file.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    /// The file.
    pub path: PathBuf,
    /// 1-based line, when the problem is on a line.
    pub line: Option<u64>,
    /// What is wrong.
    pub reason: Reason,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.path.display())?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        write!(f, ": {}", self.reason)
    }
}

/// Why a row or header is malformed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Reason {
    /// Broken CSV.
    #[error("syntax error: {0}")]
    Syntax(String),
    /// An empty file.
    #[error("no header row")]
    NoHeader,
    /// Required columns are absent.
    #[error("missing column{} {}", if .0.len() == 1 { "" } else { "s" }, .0.join(", "))]
    MissingColumns(Vec<String>),
    /// Columns this table does not have.
    #[error("unexpected column{} {} (expected {expected})", if .columns.len() == 1 { "" } else { "s" }, .columns.join(", "))]
    UnexpectedColumns {
        /// The columns.
        columns: Vec<String>,
        /// What the table's columns are.
        expected: &'static str,
    },
    /// A column named twice.
    #[error("column `{0}` appears twice in the header")]
    DuplicateColumn(String),
    /// An invocations table without minute columns.
    #[error("no minute columns (named `N` or `minute_N`, N in 1–1440)")]
    NoMinuteColumns,
    /// A minute column outside the day.
    #[error("minute column `{0}` is outside 1–1440")]
    MinuteOutOfRange(String),
    /// A percentile column outside 0–100.
    #[error("percentile column `{0}` is outside 0–100")]
    PercentileOutOfRange(String),
    /// A row with the wrong number of fields.
    #[error("expected {expected} fields, found {found}")]
    FieldCount {
        /// Fields in the header.
        expected: usize,
        /// Fields in the row.
        found: usize,
    },
    /// An empty cell where a value is required.
    #[error("`{0}` is empty")]
    Empty(String),
    /// An invocation count that is not a non-negative integer.
    #[error("`{column}` = `{text}` is not a non-negative whole number of invocations")]
    BadCount {
        /// The column.
        column: String,
        /// The cell.
        text: String,
    },
    /// A value that is not a finite non-negative number.
    #[error("`{column}` = `{text}` is not a finite non-negative number")]
    BadNumber {
        /// The column.
        column: String,
        /// The cell.
        text: String,
    },
    /// Percentile columns that decrease.
    #[error(transparent)]
    Quantiles(#[from] QuantileError),
    /// A function listed twice in one table.
    #[error("function {hash} is listed twice (first at line {first_line})")]
    DuplicateFunction {
        /// The shortened hash.
        hash: String,
        /// The earlier line.
        first_line: u64,
    },
    /// An app listed twice with different values in the per-app memory table.
    #[error("app {app} is listed twice with different values (first at line {first_line})")]
    DuplicateApp {
        /// The shortened hash.
        app: String,
        /// The earlier line.
        first_line: u64,
    },
    /// A function filed under another owner or app than in the invocations table.
    #[error(
        "function {hash} belongs to {here} here but to {invocations} in the invocations table (line {inv_line})"
    )]
    OtherApp {
        /// The shortened function hash.
        hash: String,
        /// `owner X / app Y` here (shortened).
        here: String,
        /// `owner X / app Y` in the invocations table (shortened).
        invocations: String,
        /// Line in the invocations table.
        inv_line: u64,
    },
}

/// A hash shortened for messages: enough to find it with a search, short enough to
/// read.
pub(crate) fn short(hash: &str) -> String {
    match hash.get(..16) {
        Some(prefix) if hash.len() > 16 => format!("{prefix}…"),
        _ => hash.to_owned(),
    }
}
