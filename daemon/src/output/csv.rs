//! One CSV row per component, for spreadsheets (written by the `csv` crate, which
//! quotes what needs quoting).

use adaptd_optimizer::recommend::{RecommendationSet, Status};

const HEADER: [&str; 14] = [
    "component",
    "status",
    "current",
    "recommended",
    "current_usd_per_month",
    "recommended_usd_per_month",
    "saving_usd_per_month",
    "current_worst_hour_p99_ms",
    "recommended_worst_hour_p99_ms",
    "current_cold_start_rate",
    "recommended_cold_start_rate",
    "meets_slo",
    "confidence",
    "summary",
];

/// Renders the header and one row per component.
pub fn render(set: &RecommendationSet) -> String {
    let mut w = csv::Writer::from_writer(Vec::new());
    // Writing to memory cannot fail.
    let _ = w.write_record(HEADER);
    for r in &set.components {
        let status = match r.status {
            Status::Change => "change",
            Status::Keep => "keep",
            Status::SloInfeasible => "slo_infeasible",
            Status::NoData => "no_data",
        };
        let get = |p: &Option<adaptd_optimizer::recommend::Predicted>,
                   f: fn(&adaptd_optimizer::recommend::Predicted) -> String| {
            p.as_ref().map(f).unwrap_or_default()
        };
        let row = [
            r.component.clone(),
            status.into(),
            get(&r.current, |p| p.description.clone()),
            get(&r.recommended, |p| p.description.clone()),
            get(&r.current, |p| format!("{:.4}", p.usd_per_month)),
            get(&r.recommended, |p| format!("{:.4}", p.usd_per_month)),
            format!("{:.4}", r.saving_usd_per_month),
            get(&r.current, |p| format!("{:.1}", p.worst_hour_p99_ms)),
            get(&r.recommended, |p| format!("{:.1}", p.worst_hour_p99_ms)),
            get(&r.current, |p| format!("{:.6}", p.cold_start_rate)),
            get(&r.recommended, |p| format!("{:.6}", p.cold_start_rate)),
            get(&r.recommended, |p| p.meets_slo.to_string()),
            r.confidence.level.clone(),
            r.explanation.summary.clone(),
        ];
        let _ = w.write_record(&row);
    }
    String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
}
