//! The CSV flavour of the long format.
//!
//! Columns are found by header name so that exports from spreadsheets or SQL, which
//! rarely keep a column order, load as they are. Extra columns are refused rather than
//! ignored: a column such as `unit` or `region` would carry meaning the model cannot
//! keep, and dropping it silently would misread the data.

use std::io::BufRead;

use super::accumulate::{Accumulator, Loc};
use super::error::{Error, Reason};
use super::row::{Kind, non_empty, parse_kind, parse_stat, parse_value};
use crate::records::Records;
use crate::timestamp::parse_minute;

/// The columns, in the order the writer emits them.
pub(super) const COLUMNS: [&str; 5] = ["timestamp", "component", "metric", "stat", "value"];

/// Reads one CSV input into `acc`. Row problems are recorded in `acc`; only I/O failures
/// return early.
pub(super) fn read(acc: &mut Accumulator, file: u32, input: impl BufRead) -> Result<(), Error> {
    let mut records = Records::new(input, true);
    let io_error = |acc: &Accumulator, source| Error::Io {
        path: acc.path(file).to_owned(),
        source,
    };
    let loc = |line| Loc {
        file,
        line,
        element: None,
    };
    let Some(header) = records.next_record().map_err(|e| io_error(acc, e))? else {
        acc.problem(loc(0), None, Reason::NoHeader);
        return Ok(());
    };
    let Some(order) = header_order(acc, loc(header.line), &header.to_strings()) else {
        return Ok(());
    };
    while !acc.is_full() {
        let Some(record) = records.next_record().map_err(|e| io_error(acc, e))? else {
            break;
        };
        let at = loc(record.line);
        if let Some(why) = record.malformed {
            acc.problem(at, None, Reason::Syntax(why.to_owned()));
        } else if record.len() != COLUMNS.len() {
            let reason = Reason::FieldCount {
                expected: COLUMNS.len(),
                found: record.len(),
            };
            acc.problem(at, None, reason);
        } else if let Err(reason) = row(acc, at, order.map(|i| record.get(i))) {
            acc.problem(at, None, reason);
        }
    }
    Ok(())
}

/// Maps the header to column positions, recording what is wrong with it.
fn header_order(acc: &mut Accumulator, at: Loc, names: &[String]) -> Option<[usize; 5]> {
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
