//! The JSON flavours of the long format: an array of row objects, or JSON Lines.
//!
//! The whole input is held as text and rows are borrowed from it as raw JSON, which is
//! what lets a problem in element 123 of an array name both its JSON pointer and the
//! line it starts on: serde alone knows neither once an element has been parsed.

use std::borrow::Cow;
use std::fmt;

use serde::Deserialize;
use serde::de::{self, IgnoredAny, MapAccess, Visitor};
use serde_json::value::RawValue;

use super::accumulate::{Accumulator, Loc};
use super::error::Reason;
use super::row::{Kind, non_empty, parse_kind, parse_stat, parse_value};
use crate::timestamp::parse_minute;

/// Reads JSON text (array or JSON Lines, told apart by the first character) into `acc`.
pub(super) fn read(acc: &mut Accumulator, file: u32, text: &str) {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let body = text.trim_start();
    if body.starts_with('[') {
        read_array(acc, file, text);
    } else {
        read_lines(acc, file, text);
    }
}

fn read_array(acc: &mut Accumulator, file: u32, text: &str) {
    let elements: Vec<&RawValue> = match serde_json::from_str(text) {
        Ok(e) => e,
        Err(e) => {
            let at = Loc {
                file,
                line: e.line() as u64,
                element: None,
            };
            acc.problem(at, None, Reason::Syntax(e.to_string()));
            return;
        }
    };
    // Elements come in text order, so lines can be counted incrementally.
    let (mut offset, mut line) = (0usize, 1u64);
    for (i, raw) in elements.into_iter().enumerate() {
        if acc.is_full() {
            return;
        }
        let start = raw.get().as_ptr() as usize - text.as_ptr() as usize;
        line += text.as_bytes()[offset..start]
            .iter()
            .filter(|&&b| b == b'\n')
            .count() as u64;
        offset = start;
        let at = Loc {
            file,
            line,
            element: Some(i as u32),
        };
        if let Err((field, reason)) = row(acc, at, raw.get()) {
            let pointer = match field {
                Some(f) => format!("/{i}/{f}"),
                None => format!("/{i}"),
            };
            acc.problem(at, Some(pointer), reason);
        }
    }
}

fn read_lines(acc: &mut Accumulator, file: u32, text: &str) {
    for (i, line) in text.lines().enumerate() {
        if acc.is_full() {
            return;
        }
        if line.trim().is_empty() {
            continue;
        }
        let at = Loc {
            file,
            line: i as u64 + 1,
            element: None,
        };
        if let Err((field, reason)) = row(acc, at, line) {
            acc.problem(at, field.map(|f| format!("/{f}")), reason);
        }
    }
}

/// Interprets one row object; an error names the offending key, if one is to blame.
fn row(acc: &mut Accumulator, at: Loc, json: &str) -> Result<(), (Option<&'static str>, Reason)> {
    let r: RawRow<'_> =
        serde_json::from_str(json).map_err(|e| (None, Reason::Syntax(e.to_string())))?;
    if !r.unexpected.is_empty() {
        return Err((None, Reason::UnexpectedKeys(r.unexpected)));
    }
    let ts = get("timestamp", r.timestamp)?;
    let component = get("component", r.component)?;
    let metric = get("metric", r.metric)?;
    let stat = get("stat", r.stat)?;
    let value = get("value", r.value)?;

    let at_key = |field: &'static str| move |reason: Reason| (Some(field), reason);
    let minute = if ts.starts_with('"') {
        parse_minute(&string("timestamp", ts)?)
    } else if ts.starts_with(|c: char| c == '-' || c.is_ascii_digit()) {
        parse_minute(ts)
    } else {
        return Err(wrong_type("timestamp", "a string or integer Unix seconds"));
    }
    .map_err(|e| (Some("timestamp"), e.into()))?;
    let component = string("component", component)?;
    let component = non_empty("component", &component).map_err(at_key("component"))?;
    let metric = string("metric", metric)?;
    let stat = string("stat", stat)?;
    match parse_kind(&metric).map_err(at_key("metric"))? {
        Kind::Metric(m) => {
            let stat = parse_stat(&stat).map_err(at_key("stat"))?;
            if !value.starts_with(|c: char| c == '-' || c.is_ascii_digit()) {
                return Err(wrong_type("value", "a number"));
            }
            let v = parse_value(value).map_err(at_key("value"))?;
            acc.sample(component, m, stat, minute, v, at);
        }
        Kind::Attribute => {
            let name = non_empty("stat", &stat).map_err(at_key("stat"))?;
            let text = if value.starts_with('"') {
                string("value", value)?
            } else if value.starts_with(|c: char| c == '-' || c.is_ascii_digit()) {
                Cow::Borrowed(value)
            } else {
                return Err(wrong_type("value", "a string or number"));
            };
            let text = non_empty("value", &text).map_err(at_key("value"))?;
            acc.attribute(component, name, text, minute, at);
        }
    }
    Ok(())
}

fn get<'a>(
    field: &'static str,
    v: Option<&'a RawValue>,
) -> Result<&'a str, (Option<&'static str>, Reason)> {
    v.map(RawValue::get)
        .ok_or((None, Reason::MissingKey(field)))
}

fn wrong_type(field: &'static str, expected: &'static str) -> (Option<&'static str>, Reason) {
    (Some(field), Reason::WrongType { field, expected })
}

/// A JSON string's content, borrowed unless it has escapes.
fn string<'a>(
    field: &'static str,
    raw: &'a str,
) -> Result<Cow<'a, str>, (Option<&'static str>, Reason)> {
    if !raw.starts_with('"') {
        return Err(wrong_type(field, "a string"));
    }
    if let Ok(s) = serde_json::from_str::<&str>(raw) {
        return Ok(Cow::Borrowed(s));
    }
    serde_json::from_str::<String>(raw)
        .map(Cow::Owned)
        .map_err(|e| (Some(field), Reason::Syntax(e.to_string())))
}

/// A row object with its values still as raw JSON, so each can be checked with a
/// precise message; unknown keys are kept to be listed together.
#[derive(Debug, Default)]
struct RawRow<'a> {
    timestamp: Option<&'a RawValue>,
    component: Option<&'a RawValue>,
    metric: Option<&'a RawValue>,
    stat: Option<&'a RawValue>,
    value: Option<&'a RawValue>,
    unexpected: Vec<String>,
}

enum Key {
    Timestamp,
    Component,
    Metric,
    Stat,
    Value,
    Other(String),
}

impl<'de> Deserialize<'de> for Key {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl Visitor<'_> for KeyVisitor {
            type Value = Key;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a key")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Key, E> {
                Ok(match s {
                    "timestamp" => Key::Timestamp,
                    "component" => Key::Component,
                    "metric" => Key::Metric,
                    "stat" => Key::Stat,
                    "value" => Key::Value,
                    other => Key::Other(other.to_owned()),
                })
            }
        }
        d.deserialize_identifier(KeyVisitor)
    }
}

impl<'de> Deserialize<'de> for RawRow<'de> {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct RowVisitor;
        impl<'de> Visitor<'de> for RowVisitor {
            type Value = RawRow<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object with keys timestamp, component, metric, stat, value")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawRow<'de>, A::Error> {
                let mut row = RawRow::default();
                while let Some(key) = map.next_key::<Key>()? {
                    let (slot, name) = match key {
                        Key::Timestamp => (&mut row.timestamp, "timestamp"),
                        Key::Component => (&mut row.component, "component"),
                        Key::Metric => (&mut row.metric, "metric"),
                        Key::Stat => (&mut row.stat, "stat"),
                        Key::Value => (&mut row.value, "value"),
                        Key::Other(name) => {
                            map.next_value::<IgnoredAny>()?;
                            row.unexpected.push(name);
                            continue;
                        }
                    };
                    if slot.is_some() {
                        return Err(de::Error::duplicate_field(name));
                    }
                    *slot = Some(map.next_value()?);
                }
                Ok(row)
            }
        }
        d.deserialize_map(RowVisitor)
    }
}
