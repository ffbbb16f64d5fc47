//! Writing a [`TelemetrySet`] in the long format.
//!
//! Output is deterministic — components by name, attributes first, then series by
//! metric, stat and minute — so that generated files diff cleanly and compress well
//! (each series is a run of near-identical lines). Values are written with the
//! shortest text that reads back to the same stored `f32`, so a write/read round trip
//! is exact. Missing minutes are skipped: a gap stays a gap.
//!
//! What the long format cannot hold is dropped: the whole-period distributions
//! (`duration_ms`, `memory_used_mb`) and the declared `window`.

use std::fmt::Write as _;
use std::io::{self, Write};

use adaptd_engine::telemetry::{ComponentTelemetry, Metric, Minute, Stat, TelemetrySet};

use super::csv::COLUMNS;
use super::row::ATTRIBUTE;
use crate::timestamp::push_minute;

/// One row to write.
enum Row<'a> {
    Attribute {
        minute: Minute,
        name: &'a str,
        value: &'a str,
    },
    Sample {
        minute: Minute,
        metric: Metric,
        stat: Stat,
        value: f32,
    },
}

/// Calls `emit` for every row of `set`, in file order.
fn for_each_row(
    set: &TelemetrySet,
    mut emit: impl FnMut(&ComponentTelemetry, Row<'_>) -> io::Result<()>,
) -> io::Result<()> {
    let earliest = set
        .components
        .values()
        .filter_map(ComponentTelemetry::covered)
        .map(|(start, _)| start)
        .min()
        .unwrap_or(0);
    for c in set.components.values() {
        // Attributes need a timestamp; the component's first minute keeps them with
        // the data they describe.
        let first = c.covered().map_or(earliest, |(start, _)| start);
        for (name, value) in &c.attributes {
            emit(
                c,
                Row::Attribute {
                    minute: first,
                    name,
                    value,
                },
            )?;
        }
        for (&(metric, stat), series) in &c.series {
            for (minute, value) in series.observed() {
                let value = value as f32;
                emit(
                    c,
                    Row::Sample {
                        minute,
                        metric,
                        stat,
                        value,
                    },
                )?;
            }
        }
    }
    Ok(())
}

/// Writes `set` as long-format CSV with a header row.
pub fn write_long_csv<W: Write>(set: &TelemetrySet, w: W) -> io::Result<()> {
    let mut w = io::BufWriter::with_capacity(1 << 16, w);
    w.write_all(COLUMNS.join(",").as_bytes())?;
    w.write_all(b"\n")?;
    let mut line = String::with_capacity(128);
    for_each_row(set, |c, row| {
        line.clear();
        match row {
            Row::Attribute {
                minute,
                name,
                value,
            } => {
                push_minute(&mut line, minute);
                line.push(',');
                push_field(&mut line, &c.name);
                line.push_str(",attribute,");
                push_field(&mut line, name);
                line.push(',');
                push_field(&mut line, value);
            }
            Row::Sample {
                minute,
                metric,
                stat,
                value,
            } => {
                push_minute(&mut line, minute);
                line.push(',');
                push_field(&mut line, &c.name);
                // Writing to a String cannot fail.
                let _ = write!(line, ",{metric},{stat},{value}");
            }
        }
        line.push('\n');
        w.write_all(line.as_bytes())
    })?;
    w.flush()
}

/// Appends `text` as a CSV field, quoted when the reader would otherwise split it or
/// trim it.
fn push_field(out: &mut String, text: &str) {
    let quote = text.contains([',', '"', '\n', '\r'])
        || text.starts_with([' ', '\t'])
        || text.ends_with([' ', '\t']);
    if !quote {
        out.push_str(text);
        return;
    }
    out.push('"');
    for ch in text.chars() {
        if ch == '"' {
            out.push('"');
        }
        out.push(ch);
    }
    out.push('"');
}

/// Writes `set` as a JSON array of row objects, one per line.
pub fn write_long_json<W: Write>(set: &TelemetrySet, w: W) -> io::Result<()> {
    let mut w = io::BufWriter::with_capacity(1 << 16, w);
    let mut first = true;
    w.write_all(b"[")?;
    for_each_row(set, |c, row| {
        w.write_all(if first { b"\n" } else { b",\n" })?;
        first = false;
        json_row(&mut w, c, &row)
    })?;
    w.write_all(if first { b"]\n" } else { b"\n]\n" })?;
    w.flush()
}

/// Writes `set` as JSON Lines: one row object per line.
pub fn write_long_jsonl<W: Write>(set: &TelemetrySet, w: W) -> io::Result<()> {
    let mut w = io::BufWriter::with_capacity(1 << 16, w);
    for_each_row(set, |c, row| {
        json_row(&mut w, c, &row)?;
        w.write_all(b"\n")
    })?;
    w.flush()
}

fn json_row(w: &mut impl Write, c: &ComponentTelemetry, row: &Row<'_>) -> io::Result<()> {
    let mut ts = String::with_capacity(20);
    let minute = match row {
        Row::Attribute { minute, .. } | Row::Sample { minute, .. } => *minute,
    };
    push_minute(&mut ts, minute);
    write!(w, "{{\"timestamp\":\"{ts}\",\"component\":")?;
    serde_json::to_writer(&mut *w, &c.name)?;
    match row {
        Row::Attribute { name, value, .. } => {
            write!(w, ",\"metric\":\"{ATTRIBUTE}\",\"stat\":")?;
            serde_json::to_writer(&mut *w, name)?;
            w.write_all(b",\"value\":")?;
            serde_json::to_writer(&mut *w, value)?;
        }
        Row::Sample {
            metric,
            stat,
            value,
            ..
        } => write!(
            w,
            ",\"metric\":\"{metric}\",\"stat\":\"{stat}\",\"value\":{value}"
        )?,
    }
    w.write_all(b"}")
}
