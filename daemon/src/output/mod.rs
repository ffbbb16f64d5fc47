//! Rendering a [`RecommendationSet`] for people (table, Markdown) and programs (JSON,
//! CSV). The JSON is the versioned document itself; see `docs/recommendations.md`.

mod csv;
mod markdown;
mod table;

use std::io::Write;

use adaptd_engine::spec::Deployment;
use adaptd_optimizer::recommend::{
    Companion, Recommendation, RecommendationSet, SharedLimit, SolverReport, Status, Summary,
};

/// Output formats of `adaptd recommend`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Aligned text for a terminal.
    Table,
    /// The versioned JSON document.
    Json,
    /// The document as JSON lines: first everything but the components, then one
    /// component a line (for large fleets: `jq`, `grep` and streaming readers).
    Ndjson,
    /// One row per component.
    Csv,
    /// A Markdown report.
    Markdown,
}

/// How much of each recommendation the document carries.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Detail {
    /// What each component needs: its recommendation and prediction, the binding
    /// constraints, the three cheapest alternatives, and the hourly rows only for
    /// components that change (or whose SLO cannot be met).
    #[default]
    Summary,
    /// Everything: every alternative shown, hourly rows for every component.
    Full,
}

/// For a recommendation whose schedule is by local hour in a zone other than UTC:
/// `hours local to Europe/Berlin; in UTC: UTC+01:00: 3 in 07–17 h … / UTC+02:00: …`,
/// the UTC hours for this year's winter and summer offsets. `None` for UTC or a
/// constant level.
pub fn utc_hours(r: &Recommendation) -> Option<String> {
    if r.timezone.is_utc() {
        return None;
    }
    let hourly = match &r.recommended.as_ref()?.deployment {
        Deployment::Lambda(l) => l.provisioned.hourly(),
        Deployment::Fargate(f) => f.tasks,
    };
    if hourly.iter().all(|&v| v == hourly[0]) {
        return None;
    }
    let days = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() / 86_400);
    let (year, _, _) = adaptd_engine::calendar::civil_from_days(days as i64);
    Some(format!(
        "hours local to {}; in UTC: {}",
        r.timezone,
        r.timezone.describe_in_utc(&hourly, year)
    ))
}

/// How many alternatives a summary keeps per component (the cheapest ones).
pub const SUMMARY_ALTERNATIVES: usize = 3;

/// Drops what [`Detail::Summary`] leaves out: at 10,000 components the full document
/// is about 150 MB, most of it hourly rows of components that keep their configuration.
pub fn trim(set: &mut RecommendationSet) {
    for r in &mut set.components {
        if matches!(r.status, Status::Keep | Status::NoData) {
            r.hours = Vec::new();
        }
        r.explanation.alternatives.truncate(SUMMARY_ALTERNATIVES);
    }
}

/// Writes `set` as `format` to `out` (streamed: a large fleet's document is never held
/// as one string).
pub fn write(set: &RecommendationSet, format: Format, out: &mut dyn Write) -> std::io::Result<()> {
    match format {
        Format::Table => out.write_all(table::render(set).as_bytes()),
        Format::Json => {
            serde_json::to_writer_pretty(&mut *out, set)?;
            out.write_all(b"\n")
        }
        Format::Ndjson => {
            let head = Head {
                schema_version: set.schema_version,
                summary: &set.summary,
                companions: &set.companions,
                shared_limits: &set.shared_limits,
                solver: &set.solver,
                warnings: &set.warnings,
            };
            serde_json::to_writer(&mut *out, &head)?;
            out.write_all(b"\n")?;
            for r in &set.components {
                serde_json::to_writer(&mut *out, r)?;
                out.write_all(b"\n")?;
            }
            Ok(())
        }
        Format::Csv => out.write_all(csv::render(set).as_bytes()),
        Format::Markdown => out.write_all(markdown::render(set).as_bytes()),
    }
}

/// The first line of NDJSON output: the document without its components.
#[derive(serde::Serialize)]
struct Head<'a> {
    schema_version: u32,
    summary: &'a Summary,
    companions: &'a [Companion],
    shared_limits: &'a [SharedLimit],
    solver: &'a SolverReport,
    warnings: &'a [String],
}

/// Renders `set` as `format` into a string (tests, small documents).
pub fn render(set: &RecommendationSet, format: Format) -> std::io::Result<String> {
    let mut out = Vec::new();
    write(set, format, &mut out)?;
    String::from_utf8(out).map_err(std::io::Error::other)
}

/// Dollars with thousands separators: `$1,234.56`.
pub fn usd(x: f64) -> String {
    let neg = x < 0.0;
    let cents = (x.abs() * 100.0).round() as u64;
    let (whole, frac) = (cents / 100, cents % 100);
    let digits = whole.to_string();
    let mut grouped = String::new();
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(ch);
    }
    format!("{}${grouped}.{frac:02}", if neg { "-" } else { "" })
}

/// A share as a percentage with sensible precision.
pub fn pct(x: f64) -> String {
    if x > 0.0 && x < 0.001 {
        format!("{:.3}%", 100.0 * x)
    } else {
        format!("{:.1}%", 100.0 * x)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dollars_are_grouped_and_rounded() {
        assert_eq!(usd(1234.567), "$1,234.57");
        assert_eq!(usd(0.004), "$0.00");
        assert_eq!(usd(-41.0), "-$41.00");
        assert_eq!(usd(1_000_000.0), "$1,000,000.00");
        assert_eq!(pct(0.0123), "1.2%");
        assert_eq!(pct(0.00012), "0.012%");
    }
}
