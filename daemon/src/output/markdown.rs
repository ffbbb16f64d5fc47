//! A Markdown report: summary table, then one section per component that changes.

use std::fmt::Write;

use adaptd_optimizer::recommend::{RecommendationSet, Status};

use super::{pct, usd};

/// Renders the report.
pub fn render(set: &RecommendationSet) -> String {
    let s = &set.summary;
    let mut out = String::from("# adaptd recommendations\n\n");
    let _ = writeln!(
        out,
        "{} components, {} to change. Deployed: {}/month; recommended: {}/month; saving {}/month.\n",
        s.components,
        s.changes,
        usd(s.current_usd_per_month),
        usd(s.recommended_usd_per_month),
        usd(s.saving_usd_per_month)
    );
    for w in &set.warnings {
        let _ = writeln!(out, "> **Warning:** {w}\n");
    }
    out.push_str("| component | status | now | recommended | saving/month | p99 now → rec | cold starts now → rec |\n");
    out.push_str("|---|---|---|---|---:|---|---|\n");
    for r in &set.components {
        let status = match r.status {
            Status::Change => "change",
            Status::Keep => "keep",
            Status::SloInfeasible => "SLO infeasible",
            Status::NoData => "no data",
        };
        let (now, rec) = (r.current.as_ref(), r.recommended.as_ref());
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} |",
            r.component,
            status,
            now.map_or("-".into(), |p| format!(
                "{} ({})",
                p.description,
                usd(p.usd_per_month)
            )),
            rec.map_or("-".into(), |p| format!(
                "{} ({})",
                p.description,
                usd(p.usd_per_month)
            )),
            usd(r.saving_usd_per_month),
            match (now, rec) {
                (Some(a), Some(b)) =>
                    format!("{:.0} → {:.0} ms", a.worst_hour_p99_ms, b.worst_hour_p99_ms),
                _ => "-".into(),
            },
            match (now, rec) {
                (Some(a), Some(b)) =>
                    format!("{} → {}", pct(a.cold_start_rate), pct(b.cold_start_rate)),
                _ => "-".into(),
            },
        );
    }
    for r in set
        .components
        .iter()
        .filter(|r| matches!(r.status, Status::Change | Status::SloInfeasible))
    {
        let _ = writeln!(out, "\n## {}\n\n{}\n", r.component, r.explanation.summary);
        if let Some(utc) = super::utc_hours(r) {
            let _ = writeln!(out, "Schedule {utc}.\n");
        }
        for b in &r.explanation.binding {
            let _ = writeln!(out, "- {b}");
        }
        if let Some(o) = &r.explanation.other_platform {
            let _ = writeln!(out, "- other platform: {}: {}", o.description, o.why);
        }
        if !r.explanation.alternatives.is_empty() {
            out.push_str("\nAlternatives:\n\n");
            for a in &r.explanation.alternatives {
                let verdict = match (&a.excluded_by, a.meets_slo) {
                    (Some(g), _) => format!("forbidden by {g}"),
                    (None, true) => "meets the SLO".into(),
                    (None, false) => "misses the SLO".into(),
                };
                let _ = writeln!(
                    out,
                    "- {}: {}/month, {verdict}",
                    a.description,
                    usd(a.usd_per_month)
                );
            }
        }
    }
    for c in &set.companions {
        let _ = writeln!(
            out,
            "\n## {} for {}\n\n{}/month: {}",
            c.kind.replace('_', " "),
            c.database,
            usd(c.usd_per_month),
            c.reason
        );
    }
    out
}
