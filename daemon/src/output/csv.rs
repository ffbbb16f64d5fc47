//! One CSV row per component, for spreadsheets.

use adaptd_optimizer::recommend::{RecommendationSet, Status};

fn field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

/// Renders the header and one row per component.
pub fn render(set: &RecommendationSet) -> String {
    let mut out = String::from(
        "component,status,current,recommended,current_usd_per_month,recommended_usd_per_month,saving_usd_per_month,current_worst_hour_p99_ms,recommended_worst_hour_p99_ms,current_cold_start_rate,recommended_cold_start_rate,meets_slo,confidence,summary\n",
    );
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
            field(&r.component),
            status.into(),
            field(&get(&r.current, |p| p.description.clone())),
            field(&get(&r.recommended, |p| p.description.clone())),
            get(&r.current, |p| format!("{:.4}", p.usd_per_month)),
            get(&r.recommended, |p| format!("{:.4}", p.usd_per_month)),
            format!("{:.4}", r.saving_usd_per_month),
            get(&r.current, |p| format!("{:.1}", p.worst_hour_p99_ms)),
            get(&r.recommended, |p| format!("{:.1}", p.worst_hour_p99_ms)),
            get(&r.current, |p| format!("{:.6}", p.cold_start_rate)),
            get(&r.recommended, |p| format!("{:.6}", p.cold_start_rate)),
            get(&r.recommended, |p| p.meets_slo.to_string()),
            r.confidence.level.clone(),
            field(&r.explanation.summary),
        ];
        out.push_str(&row.join(","));
        out.push('\n');
    }
    out
}
