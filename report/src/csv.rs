//! CSV for spreadsheets and finance: one file of components, one of changes. Numbers
//! are plain (no currency signs or separators) so they sum where they land; empty
//! cells mean "not known", never zero. Written by the `csv` crate (RFC 4180 quoting,
//! only where needed).

use crate::input::ChangeState;
use crate::model::Report;

fn num(v: Option<f64>) -> String {
    v.map_or(String::new(), |v| format!("{}", (v * 1e4).round() / 1e4))
}

type Out = csv::Writer<Vec<u8>>;

fn row(out: &mut Out, cells: &[String]) {
    // Writing to memory cannot fail.
    let _ = out.write_record(cells);
}

fn new() -> Out {
    csv::Writer::from_writer(Vec::new())
}

fn text(out: Out) -> String {
    String::from_utf8(out.into_inner().unwrap_or_default()).unwrap_or_default()
}

/// `components.csv`: one row per component, largest saving first.
pub fn components(r: &Report) -> String {
    let mut out = new();
    row(
        &mut out,
        &[
            "component",
            "status",
            "current",
            "recommended",
            "current_usd_per_month",
            "recommended_usd_per_month",
            "saving_usd_per_month",
            "previous_saving_usd_per_month",
            "confidence",
            "slo_p99_ms",
            "predicted_p99_ms_current",
            "predicted_p99_ms_recommended",
            "observed_p99_ms",
            "predicted_cold_start_rate_current",
            "predicted_cold_start_rate_recommended",
            "observed_cold_start_rate",
            "changes",
            "warnings",
        ]
        .map(String::from),
    );
    for c in &r.components {
        let status = serde_json::to_value(c.status)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        let changes: Vec<String> = c
            .changes
            .iter()
            .map(|ch| format!("{}: {} -> {}", ch.field, ch.from, ch.to))
            .collect();
        row(
            &mut out,
            &[
                c.component.clone(),
                status,
                c.current.clone().unwrap_or_default(),
                c.recommended.clone().unwrap_or_default(),
                num(c.current_usd_per_month),
                num(c.recommended_usd_per_month),
                num(Some(c.saving_usd_per_month)),
                num(c.previous_saving_usd_per_month),
                c.confidence.clone(),
                num(c.slo_p99_ms),
                num(c.predicted_p99_ms_current),
                num(c.predicted_p99_ms_recommended),
                num(c.observed_p99_ms),
                num(c.predicted_cold_start_rate_current),
                num(c.predicted_cold_start_rate_recommended),
                num(c.observed_cold_start_rate),
                changes.join("; "),
                c.warnings.join("; "),
            ],
        );
    }
    text(out)
}

/// `changes.csv`: one row per applied or rolled-back change, with its measured saving.
pub fn changes(r: &Report) -> String {
    let mut out = new();
    row(
        &mut out,
        &[
            "component",
            "state",
            "applied_at",
            "rolled_back_at",
            "before",
            "after",
            "predicted_saving_usd_per_month",
            "realised_saving_usd_per_month",
            "error_usd_per_month",
            "relative_error",
            "measured_from",
            "measured_to",
            "invocations",
            "not_measured",
        ]
        .map(String::from),
    );
    for c in &r.changes {
        let state = match c.state {
            ChangeState::Applied => "applied",
            ChangeState::Live => "live",
            ChangeState::RolledBack => "rolled_back",
        };
        let m = c.realised.as_ref();
        row(
            &mut out,
            &[
                c.change.component.clone(),
                state.to_owned(),
                crate::text::rfc3339(c.change.applied_at_minute),
                c.change
                    .rolled_back_at_minute
                    .map(crate::text::rfc3339)
                    .unwrap_or_default(),
                c.change.before.describe(),
                c.change.after.describe(),
                num(Some(c.change.predicted_saving_usd_per_month)),
                num(m.map(|m| m.saving_usd_per_month)),
                num(m.map(|m| m.error_usd_per_month)),
                num(m.and_then(|m| m.relative_error)),
                m.map(|m| crate::text::rfc3339(m.from_minute))
                    .unwrap_or_default(),
                m.map(|m| crate::text::rfc3339(m.to_minute))
                    .unwrap_or_default(),
                m.map(|m| m.invocations.to_string()).unwrap_or_default(),
                c.not_measured.clone().unwrap_or_default(),
            ],
        );
    }
    text(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_are_quoted_only_when_needed() {
        let mut out = new();
        row(
            &mut out,
            &["plain", "a, b", "say \"hi\"", ""].map(String::from),
        );
        assert_eq!(text(out), "plain,\"a, b\",\"say \"\"hi\"\"\",\n");
        assert_eq!(num(None), "");
        assert_eq!(num(Some(1.234_567)), "1.2346");
    }
}
