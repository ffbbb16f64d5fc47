//! The long format: one row per (minute, component, metric, stat), in CSV or JSON.
//!
//! It is the lowest common denominator of telemetry exports (CloudWatch `GetMetricData`,
//! Prometheus range queries and SQL all flatten to it), so every collector can write it
//! and a user can hand-edit it. The full specification follows; it is the same text as
//! `docs/telemetry-format.md`.
#![doc = include_str!("../../../docs/telemetry-format.md")]

mod accumulate;
mod csv;
mod error;
mod json;
mod row;
mod write;

use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

use adaptd_engine::telemetry::TelemetrySet;

use self::accumulate::Accumulator;
pub use self::error::{Conflict, Error, Problem, Reason};
pub use self::row::ATTRIBUTE;
pub use self::write::{write_long_csv, write_long_json, write_long_jsonl};

/// A flavour of the long format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// CSV with a header row.
    Csv,
    /// A JSON array of row objects.
    Json,
    /// JSON Lines: one row object per line.
    JsonLines,
}

impl Format {
    /// The format a file name declares (`.csv`, `.json`, `.jsonl`, each optionally
    /// `.gz`), if any.
    pub fn of(path: &Path) -> Option<Format> {
        let name = crate::input::strip_gz(path)?;
        let (_, ext) = name.rsplit_once('.')?;
        match ext {
            "csv" => Some(Format::Csv),
            "json" => Some(Format::Json),
            "jsonl" | "ndjson" => Some(Format::JsonLines),
            _ => None,
        }
    }
}

/// Reads a long-format file, or every long-format file directly inside a directory
/// (in name order, merged as one input).
pub fn read_path(path: &Path) -> Result<TelemetrySet, Error> {
    let io = |source| Error::Io {
        path: path.to_owned(),
        source,
    };
    if !path.is_dir() {
        return read_files(&[path]);
    }
    let mut files = Vec::new();
    for entry in std::fs::read_dir(path).map_err(io)? {
        let p = entry.map_err(io)?.path();
        if p.is_file() && Format::of(&p).is_some() {
            files.push(p);
        }
    }
    if files.is_empty() {
        return Err(Error::EmptyDirectory {
            path: path.to_owned(),
        });
    }
    files.sort();
    read_files(&files)
}

/// Reads several long-format files as one input: a sample given in two files with
/// different values is a conflict, as within one file.
pub fn read_files<P: AsRef<Path>>(paths: &[P]) -> Result<TelemetrySet, Error> {
    let mut acc = Accumulator::default();
    for path in paths {
        let path = path.as_ref();
        let format = Format::of(path).ok_or_else(|| Error::UnknownExtension {
            path: path.to_owned(),
        })?;
        let io = |source| Error::Io {
            path: path.to_owned(),
            source,
        };
        let file = acc.add_file(path);
        match format {
            Format::Csv => csv::read(&mut acc, file, crate::input::open(path).map_err(io)?)?,
            Format::Json | Format::JsonLines => {
                let text = crate::input::read_to_string(path).map_err(io)?;
                json::read(&mut acc, file, &text);
            }
        }
        if acc.is_full() {
            break;
        }
    }
    acc.finish()
}

/// Reads a long-format file held in memory (for example one compiled into a binary
/// with `include_bytes!`): `name` gives the format by its extension, as for a path,
/// and labels problems; gzip is detected from the content.
pub fn read_bytes(bytes: &[u8], name: impl AsRef<Path>) -> Result<TelemetrySet, Error> {
    let name = name.as_ref();
    let format = Format::of(name).ok_or_else(|| Error::UnknownExtension {
        path: name.to_owned(),
    })?;
    let mut acc = Accumulator::default();
    let file = acc.add_file(name);
    let input = crate::input::from_bytes(bytes);
    match format {
        Format::Csv => csv::read(&mut acc, file, input)?,
        Format::Json | Format::JsonLines => {
            let mut text = String::new();
            let mut input = input;
            input
                .read_to_string(&mut text)
                .map_err(|source| Error::Io {
                    path: name.to_owned(),
                    source,
                })?;
            json::read(&mut acc, file, &text);
        }
    }
    acc.finish()
}

/// Reads long-format CSV from `input`; `name` only labels problems and sources.
pub fn read_csv(name: impl Into<PathBuf>, input: impl Read) -> Result<TelemetrySet, Error> {
    let mut acc = Accumulator::default();
    let file = acc.add_file(&name.into());
    csv::read(&mut acc, file, BufReader::new(input))?;
    acc.finish()
}

/// Reads long-format JSON (an array or JSON Lines) from `text`; `name` only labels
/// problems and sources.
pub fn read_json(name: impl Into<PathBuf>, text: &str) -> Result<TelemetrySet, Error> {
    let mut acc = Accumulator::default();
    let file = acc.add_file(&name.into());
    json::read(&mut acc, file, text);
    acc.finish()
}
