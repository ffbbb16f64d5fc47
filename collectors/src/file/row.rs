//! Interpreting the five fields of a row, shared by the CSV and JSON readers so that
//! both formats accept exactly the same values.

use adaptd_engine::telemetry::{Metric, Stat};

use super::error::Reason;

/// The special metric under which configuration facts travel.
pub const ATTRIBUTE: &str = "attribute";

/// What the `metric` field names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    /// A per-minute metric; `stat` is a [`Stat`] and `value` a number.
    Metric(Metric),
    /// A configuration fact; `stat` is its name and `value` its text.
    Attribute,
}

pub(super) fn parse_kind(text: &str) -> Result<Kind, Reason> {
    if text == ATTRIBUTE {
        return Ok(Kind::Attribute);
    }
    text.parse()
        .map(Kind::Metric)
        .map_err(|_| Reason::UnknownMetric(text.to_owned()))
}

pub(super) fn parse_stat(text: &str) -> Result<Stat, Reason> {
    Ok(text.parse()?)
}

/// Parses a metric value straight to `f32`, the model's storage type, so that a value
/// written from the model reads back bit for bit and one that would overflow is caught
/// here rather than silently becoming infinite.
pub(super) fn parse_value(text: &str) -> Result<f32, Reason> {
    let v: f32 = text
        .parse()
        .map_err(|_| Reason::NotANumber(text.to_owned()))?;
    if v.is_finite() {
        return Ok(v);
    }
    let unsigned = text.trim_start_matches(['+', '-']).to_ascii_lowercase();
    if v.is_nan() || unsigned.starts_with("inf") {
        Err(Reason::NonFinite(text.to_owned()))
    } else {
        Err(Reason::TooLarge(text.to_owned()))
    }
}

pub(super) fn non_empty<'a>(field: &'static str, text: &'a str) -> Result<&'a str, Reason> {
    if text.is_empty() {
        Err(Reason::Empty(field))
    } else {
        Ok(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_must_be_finite_f32() {
        assert_eq!(parse_value("1.5"), Ok(1.5));
        assert_eq!(parse_value("-0"), Ok(-0.0));
        assert!(matches!(parse_value("NaN"), Err(Reason::NonFinite(_))));
        assert!(matches!(parse_value("-inf"), Err(Reason::NonFinite(_))));
        assert!(matches!(parse_value("1e39"), Err(Reason::TooLarge(_))));
        assert!(matches!(parse_value("12ms"), Err(Reason::NotANumber(_))));
        assert!(matches!(parse_value(""), Err(Reason::NotANumber(_))));
    }

    #[test]
    fn attribute_is_a_kind_and_typos_list_the_metrics() {
        assert_eq!(parse_kind("attribute"), Ok(Kind::Attribute));
        assert_eq!(
            parse_kind("duration_ms"),
            Ok(Kind::Metric(Metric::DurationMs))
        );
        let e = parse_kind("latency").unwrap_err().to_string();
        assert!(e.contains("`latency`") && e.contains("cold_starts"), "{e}");
    }
}
