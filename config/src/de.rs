//! Deserialization that reports every type error and unknown key, not just the first.
//!
//! serde stops at the first error. We deserialize the whole spanned document; when it
//! fails, the error's span is mapped to the deepest entry it falls in, the error is
//! recorded with that entry's dotted path, the entry is removed from the document and
//! deserialization is tried again. Every schema field has a default, so removing an
//! entry never causes a new error; required fields are checked afterwards, against the
//! document, by the semantic validation.

use std::ops::Range;

use serde::de::DeserializeOwned;
use toml::Spanned;
use toml::de::{DeTable, DeValue, ValueDeserializer};

use crate::error::{did_you_mean, one_of};
use crate::spans::{locate, remove, render, value_at};

/// A problem found while deserializing: the path, the byte span and the message.
#[derive(Clone, Debug)]
pub(crate) struct RawError {
    pub(crate) path: String,
    pub(crate) span: Range<usize>,
    pub(crate) message: String,
}

/// Deserializes `doc` into `T`, collecting one error per offending entry. Returns
/// `None` only when an error could not be attributed to an entry.
pub(crate) fn collect<T: DeserializeOwned>(
    doc: &DeTable<'_>,
    span: Range<usize>,
) -> (Option<T>, Vec<RawError>) {
    let mut doc = doc.clone();
    let mut errors = Vec::new();
    loop {
        let value = Spanned::new(span.clone(), DeValue::Table(doc.clone()));
        let err = match T::deserialize(ValueDeserializer::from(value)) {
            Ok(v) => return (Some(v), errors),
            Err(e) => e,
        };
        let err_span = err.span().unwrap_or(0..0);
        let segs = locate(&doc, &err_span);
        let mut message = rewrite(err.message());
        // Date-times reach serde as tables; say what was written.
        if segs
            .as_deref()
            .and_then(|s| value_at(&doc, s))
            .is_some_and(|v| matches!(v, DeValue::Datetime(_)))
        {
            message = message.replace("(got a table,", "(got a date-time,");
        }
        let path = segs.as_deref().map(render).unwrap_or_default();
        // `[components]` written for `[[components]]`.
        if message == "wrong type (got a table, expected an array)"
            && !path.contains(['.', '[', '"'])
        {
            message = format!(
                "wrong type (got a table, expected an array: write `[[{path}]]` for each entry)"
            );
        }
        errors.push(RawError {
            path,
            span: err_span,
            message,
        });
        if !segs.is_some_and(|s| remove(&mut doc, &s)) {
            return (None, errors);
        }
    }
}

/// Rewrites serde's messages in the `what is wrong (got …, expected …)` style.
pub(crate) fn rewrite(msg: &str) -> String {
    if let Some(rest) = msg.strip_prefix("unknown field `") {
        let (name, expected) = split_quoted(rest);
        return unknown("unknown key", name, &expected, '`');
    }
    if let Some(rest) = msg.strip_prefix("unknown variant `") {
        let (name, expected) = split_quoted(rest);
        return unknown("unknown value", name, &expected, '"');
    }
    if let Some((kind, rest)) = msg
        .strip_prefix("invalid type: ")
        .map(|r| ("wrong type", r))
        .or_else(|| {
            msg.strip_prefix("invalid value: ")
                .map(|r| ("invalid value", r))
        })
        && let Some((got, expected)) = rest.rsplit_once(", expected ")
    {
        let got = friendly_got(got);
        let expected = friendly_expected(expected);
        if kind == "invalid value" && expected.starts_with("a whole number >= 0") {
            if got.starts_with("integer -") {
                return format!("must be >= 0 (got {})", &got["integer ".len()..]);
            }
            return format!("too large (got {got}, expected {expected})");
        }
        return format!("{kind} (got {got}, expected {expected})");
    }
    msg.to_owned()
}

fn split_quoted(rest: &str) -> (&str, Vec<&str>) {
    let (name, tail) = rest.split_once('`').unwrap_or((rest, ""));
    let expected = tail.split('`').skip(1).step_by(2).collect();
    (name, expected)
}

fn unknown(what: &str, name: &str, expected: &[&str], q: char) -> String {
    let hint = did_you_mean(name, expected.iter().copied())
        .map(|s| format!(", did you mean {q}{s}{q}?"))
        .unwrap_or_default();
    if expected.is_empty() {
        format!("{what}{hint} (this table takes no keys)")
    } else {
        format!("{what}{hint} (expected {})", one_of(expected))
    }
}

fn friendly_got(got: &str) -> String {
    let got = got.replace('`', "");
    if let Some(f) = got.strip_prefix("floating point ") {
        format!("float {f}")
    } else if got == "map" {
        "a table".to_owned()
    } else if got == "sequence" {
        "an array".to_owned()
    } else {
        got
    }
}

fn friendly_expected(e: &str) -> String {
    match e {
        "u8" | "u16" | "u32" | "u64" | "usize" => "a whole number >= 0".to_owned(),
        "i8" | "i16" | "i32" | "i64" | "isize" => "a whole number".to_owned(),
        "f32" | "f64" => "a number".to_owned(),
        "a sequence" => "an array".to_owned(),
        "a map" => "a table".to_owned(),
        e if e.starts_with("struct ") => "a table".to_owned(),
        e if e.starts_with("variant identifier") => "a string".to_owned(),
        e => e.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serde_messages_are_rewritten() {
        assert_eq!(
            rewrite("unknown field `nmae`, expected one of `name`, `account`"),
            "unknown key, did you mean `name`? (expected one of: name, account)"
        );
        assert_eq!(
            rewrite("unknown field `zzz`, expected `name` or `x`"),
            "unknown key (expected one of: name, x)"
        );
        assert_eq!(
            rewrite("unknown field `a`, there are no fields"),
            "unknown key (this table takes no keys)"
        );
        assert_eq!(
            rewrite("unknown variant `arm`, expected `x86_64` or `arm64`"),
            "unknown value, did you mean \"arm64\"? (expected one of: x86_64, arm64)"
        );
        assert_eq!(
            rewrite("invalid type: string \"big\", expected u32"),
            "wrong type (got string \"big\", expected a whole number >= 0)"
        );
        assert_eq!(
            rewrite("invalid value: integer `-5`, expected u32"),
            "must be >= 0 (got -5)"
        );
        assert_eq!(
            rewrite("invalid type: floating point `1.5`, expected u32"),
            "wrong type (got float 1.5, expected a whole number >= 0)"
        );
    }
}
