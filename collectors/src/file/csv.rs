//! The CSV flavour of the long format.
//!
//! Columns are found by header name so that exports from spreadsheets or SQL, which
//! rarely keep a column order, load as they are. Extra columns are refused rather than
//! ignored: a column such as `unit` or `region` would carry meaning the model cannot
//! keep, and dropping it silently would misread the data.

use std::io::Read;

use super::accumulate::{Accumulator, Loc};
use super::error::{Error, Reason};
use super::row::{Kind, non_empty, parse_kind, parse_stat, parse_value};
use crate::timestamp::parse_minute;

/// The columns, in the order the writer emits them.
pub(super) const COLUMNS: [&str; 5] = ["timestamp", "component", "metric", "stat", "value"];

/// Reads one CSV input into `acc`. Row problems are recorded in `acc`; only I/O failures
/// return early.
pub(super) fn read(acc: &mut Accumulator, file: u32, input: impl Read) -> Result<(), Error> {
    let mut reader = ::csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .comment(Some(b'#'))
        .trim(::csv::Trim::All)
        .buffer_capacity(1 << 16)
        .from_reader(input);
    let mut record = ::csv::ByteRecord::new();
    let io_error = |acc: &Accumulator, e: ::csv::Error| Error::Io {
        path: acc.path(file).to_owned(),
        source: match e.into_kind() {
            ::csv::ErrorKind::Io(e) => e,
            other => std::io::Error::other(format!("{other:?}")),
        },
    };
    if !reader
        .read_byte_record(&mut record)
        .map_err(|e| io_error(acc, e))?
    {
        let at = Loc {
            file,
            line: 0,
            element: None,
        };
        acc.problem(at, None, Reason::NoHeader);
        return Ok(());
    }
    let header_line = record.position().map_or(1, |p| p.line());
    let Some(order) = header(acc, file, header_line, &record) else {
        return Ok(());
    };
    while !acc.is_full()
        && reader
            .read_byte_record(&mut record)
            .map_err(|e| io_error(acc, e))?
    {
        let line = record.position().map_or(0, |p| p.line());
        let at = Loc {
            file,
            line,
            element: None,
        };
        if record.len() != COLUMNS.len() {
            let reason = Reason::FieldCount {
                expected: COLUMNS.len(),
                found: record.len(),
            };
            acc.problem(at, None, reason);
            continue;
        }
        if let Err(reason) = row(acc, at, order.map(|i| &record[i])) {
            acc.problem(at, None, reason);
        }
    }
    Ok(())
}

/// Maps the header to column positions, recording what is wrong with it.
fn header(
    acc: &mut Accumulator,
    file: u32,
    line: u64,
    record: &::csv::ByteRecord,
) -> Option<[usize; 5]> {
    let at = Loc {
        file,
        line,
        element: None,
    };
    let names: Vec<String> = record
        .iter()
        .map(|f| String::from_utf8_lossy(f).into_owned())
        .collect();
    if names.iter().any(|n| n == "HashFunction") {
        acc.problem(at, None, Reason::AzureTrace);
        return None;
    }
    let mut order = [usize::MAX; 5];
    let mut unexpected = Vec::new();
    let mut ok = true;
    for (i, name) in names.iter().enumerate() {
        match COLUMNS.iter().position(|c| c == name) {
            Some(c) if order[c] != usize::MAX => {
                acc.problem(at, None, Reason::DuplicateColumn(name.clone()));
                ok = false;
            }
            Some(c) => order[c] = i,
            None => unexpected.push(name.clone()),
        }
    }
    let missing: Vec<String> = COLUMNS
        .iter()
        .zip(order)
        .filter(|&(_, i)| i == usize::MAX)
        .map(|(c, _)| (*c).to_owned())
        .collect();
    if !missing.is_empty() {
        acc.problem(at, None, Reason::MissingColumns(missing));
        ok = false;
    }
    if !unexpected.is_empty() {
        acc.problem(at, None, Reason::UnexpectedColumns(unexpected));
        ok = false;
    }
    ok.then_some(order)
}

fn text<'a>(field: &'static str, bytes: &'a [u8]) -> Result<&'a str, Reason> {
    std::str::from_utf8(bytes).map_err(|_| Reason::NotUtf8(field))
}

/// Interprets one row whose fields are in [`COLUMNS`] order.
fn row(acc: &mut Accumulator, at: Loc, f: [&[u8]; 5]) -> Result<(), Reason> {
    let minute = parse_minute(text("timestamp", f[0])?)?;
    let component = non_empty("component", text("component", f[1])?)?;
    match parse_kind(text("metric", f[2])?)? {
        Kind::Metric(metric) => {
            let stat = parse_stat(text("stat", f[3])?)?;
            let value = parse_value(text("value", f[4])?)?;
            acc.sample(component, metric, stat, minute, value, at);
        }
        Kind::Attribute => {
            let name = non_empty("stat", text("stat", f[3])?)?;
            let value = non_empty("value", text("value", f[4])?)?;
            acc.attribute(component, name, value, minute, at);
        }
    }
    Ok(())
}
