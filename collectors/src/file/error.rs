//! What can go wrong reading the long format, with enough context to fix the file.

use std::fmt;
use std::path::PathBuf;

use adaptd_engine::telemetry::{Metric, UnknownStat};

use crate::problems::Problems;
use crate::timestamp::TimestampError;

/// Reading long-format telemetry failed; nothing was returned.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The file could not be opened, decompressed or read.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The name does not say which format the file is in.
    #[error(
        "{}: unknown telemetry file type (expected .csv, .json or .jsonl, optionally .gz)",
        path.display()
    )]
    UnknownExtension {
        /// The file.
        path: PathBuf,
    },
    /// A directory holds no telemetry file.
    #[error(
        "{}: no telemetry files (.csv, .json, .jsonl, optionally .gz) in this directory",
        path.display()
    )]
    EmptyDirectory {
        /// The directory.
        path: PathBuf,
    },
    /// The content is malformed.
    #[error("invalid telemetry: {0}")]
    Invalid(Problems<Problem>),
}

/// One malformed spot in an input.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    /// The file.
    pub path: PathBuf,
    /// 1-based line, when the problem is on a line.
    pub line: Option<u64>,
    /// JSON pointer of the offending value (`/123/value` in an array, `/value` in a
    /// JSON Lines row), for JSON input.
    pub pointer: Option<String>,
    /// What is wrong.
    pub reason: Reason,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.path.display())?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        if let Some(p) = &self.pointer {
            write!(f, " ({p})")?;
        }
        write!(f, ": {}", self.reason)
    }
}

/// Why a row or file is malformed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Reason {
    /// The CSV or JSON syntax is broken.
    #[error("syntax error: {0}")]
    Syntax(String),
    /// A CSV file without a header row.
    #[error("no header row (expected `timestamp,component,metric,stat,value`)")]
    NoHeader,
    /// Required CSV columns are absent.
    #[error(
        "missing column{} {} (the header must name timestamp, component, metric, stat and value)",
        if .0.len() == 1 { "" } else { "s" }, quoted(.0)
    )]
    MissingColumns(Vec<String>),
    /// CSV columns that are not part of the format.
    #[error(
        "unexpected column{} {} (the columns are timestamp, component, metric, stat and value)",
        if .0.len() == 1 { "" } else { "s" }, quoted(.0)
    )]
    UnexpectedColumns(Vec<String>),
    /// A CSV column named twice.
    #[error("column `{0}` appears twice in the header")]
    DuplicateColumn(String),
    /// The header is that of an Azure Functions 2019 trace file.
    #[error(
        "this is an Azure Functions 2019 trace file, not the long format; load its directory as `azure2019:DIR`"
    )]
    AzureTrace,
    /// A CSV row with the wrong number of fields.
    #[error("expected {expected} fields, found {found}")]
    FieldCount {
        /// Fields in the header.
        expected: usize,
        /// Fields in the row.
        found: usize,
    },
    /// Bytes that are not UTF-8.
    #[error("field `{0}` is not valid UTF-8")]
    NotUtf8(&'static str),
    /// A JSON row without one of the five keys.
    #[error("missing key `{0}`")]
    MissingKey(&'static str),
    /// A JSON row with keys that are not part of the format.
    #[error("unexpected key{} {} (the keys are timestamp, component, metric, stat and value)",
        if .0.len() == 1 { "" } else { "s" }, quoted(.0))]
    UnexpectedKeys(Vec<String>),
    /// A JSON value of the wrong type.
    #[error("`{field}` must be {expected}")]
    WrongType {
        /// The key.
        field: &'static str,
        /// What it must be.
        expected: &'static str,
    },
    /// An empty component name, attribute name or attribute value.
    #[error("`{0}` is empty")]
    Empty(&'static str),
    /// A bad timestamp.
    #[error(transparent)]
    Timestamp(#[from] TimestampError),
    /// A metric name that is neither a metric nor `attribute`.
    #[error("unknown metric `{0}` (expected `attribute` or one of: {list})", list = metric_names())]
    UnknownMetric(String),
    /// A bad stat.
    #[error(transparent)]
    UnknownStat(#[from] UnknownStat),
    /// A metric value that is not a number.
    #[error("value `{0}` is not a number")]
    NotANumber(String),
    /// A metric value that is NaN or infinite.
    #[error("value `{0}` is not finite")]
    NonFinite(String),
    /// A finite value too large for the model, which stores 32-bit floats.
    #[error("value `{0}` is too large (the limit is about ±3.4e38)")]
    TooLarge(String),
    /// Two different values for the same component, metric, stat and minute.
    #[error("{0}")]
    Conflict(Box<Conflict>),
}

/// Two rows giving different values for one sample (or attribute) and minute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conflict {
    /// Component.
    pub component: String,
    /// Metric name, or `attribute`.
    pub metric: String,
    /// Stat, or the attribute's name.
    pub stat: String,
    /// Timestamp.
    pub at: String,
    /// Value on the later row.
    pub here: String,
    /// Value on the earlier row.
    pub before: String,
    /// Where the earlier row is (`line 4`, or `other.csv:4` in another file).
    pub before_at: String,
}

impl fmt::Display for Conflict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "conflicting samples for `{}` {} {} at {}: {} here but {} at {}",
            self.component, self.metric, self.stat, self.at, self.here, self.before, self.before_at
        )
    }
}

fn quoted(names: &[String]) -> String {
    names
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn metric_names() -> String {
    Metric::ALL.map(Metric::as_str).join(", ")
}
