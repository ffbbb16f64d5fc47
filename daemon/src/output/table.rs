//! Aligned text for a terminal.

use std::fmt::Write;

use adaptd_optimizer::recommend::{RecommendationSet, Status};

use super::{pct, usd};

fn status(s: Status) -> &'static str {
    match s {
        Status::Change => "change",
        Status::Keep => "keep",
        Status::SloInfeasible => "SLO infeasible",
        Status::NoData => "no data",
    }
}

/// Renders the summary, one block per component and the shared limits.
pub fn render(set: &RecommendationSet) -> String {
    let s = &set.summary;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} components, {} to change · now {}/month → recommended {}/month · saving {}/month ({} available)",
        s.components,
        s.changes,
        usd(s.current_usd_per_month),
        usd(s.recommended_usd_per_month),
        usd(s.saving_usd_per_month),
        usd(s.available_savings_usd_per_month),
    );
    if s.slo_breaches_current > 0 || s.slo_infeasible > 0 || s.no_data > 0 {
        let _ = writeln!(
            out,
            "{} breach their SLO as deployed · {} cannot meet it within the guardrails · {} without data",
            s.slo_breaches_current, s.slo_infeasible, s.no_data
        );
    }
    let name_w = set
        .components
        .iter()
        .map(|c| c.component.len())
        .max()
        .unwrap_or(9)
        .max(9);
    let _ = writeln!(
        out,
        "\n{:name_w$}  {:<14}  {:>12}  {:>12}  {:>12}  {:>15}  {:>15}",
        "COMPONENT", "STATUS", "NOW $/MO", "REC $/MO", "SAVING", "P99 NOW→REC", "COLD NOW→REC"
    );
    for r in &set.components {
        let (now, rec) = (r.current.as_ref(), r.recommended.as_ref());
        let money = |p: Option<&adaptd_optimizer::recommend::Predicted>| {
            p.map_or("-".into(), |p| usd(p.usd_per_month))
        };
        let p99 = match (now, rec) {
            (Some(a), Some(b)) => {
                format!("{:.0}→{:.0} ms", a.worst_hour_p99_ms, b.worst_hour_p99_ms)
            }
            _ => "-".into(),
        };
        let cold = match (now, rec) {
            (Some(a), Some(b)) => format!("{}→{}", pct(a.cold_start_rate), pct(b.cold_start_rate)),
            _ => "-".into(),
        };
        let _ = writeln!(
            out,
            "{:name_w$}  {:<14}  {:>12}  {:>12}  {:>12}  {:>15}  {:>15}",
            r.component,
            status(r.status),
            money(now),
            money(rec),
            usd(r.saving_usd_per_month),
            p99,
            cold
        );
    }
    for r in &set.components {
        let _ = writeln!(out, "\n{} — {}", r.component, r.explanation.summary);
        if let (Some(now), Some(rec)) = (&r.current, &r.recommended)
            && now.description != rec.description
        {
            let _ = writeln!(out, "  now:  {}", now.description);
            let _ = writeln!(out, "  rec:  {}", rec.description);
        }
        if let Some(utc) = super::utc_hours(r) {
            let _ = writeln!(out, "  zone: {utc}");
        }
        for b in &r.explanation.binding {
            let _ = writeln!(out, "  why:  {b}");
        }
        for a in r.explanation.alternatives.iter().take(3) {
            let verdict = match (&a.excluded_by, a.meets_slo) {
                (Some(g), _) => format!("forbidden by {g}"),
                (None, true) => "meets the SLO".into(),
                (None, false) => "misses the SLO".into(),
            };
            let _ = writeln!(
                out,
                "  alt:  {}: {}/month, {verdict}",
                a.description,
                usd(a.usd_per_month)
            );
        }
        // The other platform's best option, figures side by side: the trade-off between
        // Lambda and Fargate is the one a reader most wants to see argued.
        if let Some(o) = &r.explanation.other_platform {
            let _ = writeln!(out, "  vs:   {}: {}", o.description, o.why);
        }
        let c = &r.confidence;
        let _ = writeln!(
            out,
            "  confidence: {} ({:.1} days, {:.0} invocations{})",
            c.level,
            c.days_of_data,
            c.invocations_seen,
            if c.reasons.is_empty() {
                String::new()
            } else {
                format!("; {}", c.reasons.join("; "))
            }
        );
        for w in &r.explanation.warnings {
            let _ = writeln!(out, "  note: {w}");
        }
    }
    if !set.companions.is_empty() {
        let _ = writeln!(out);
        for c in &set.companions {
            let _ = writeln!(
                out,
                "add {} for {}: {}/month — {}",
                c.kind.replace('_', " "),
                c.database,
                usd(c.usd_per_month),
                c.reason
            );
        }
    }
    for l in set
        .shared_limits
        .iter()
        .filter(|l| !l.binding_hours.is_empty())
    {
        let free = l.unbound.as_ref().map_or(String::new(), |u| {
            format!(
                "; at {:.0} it would not bind and the plan would {}",
                u.request_limit,
                u.change_in_words()
            )
        });
        let _ = writeln!(
            out,
            "shared limit {} {}: peak {:.0} of {:.0} (binding){free}",
            l.kind.replace('_', " "),
            l.name,
            l.peak_usage,
            l.capacity
        );
    }
    for w in &set.warnings {
        let _ = writeln!(out, "warning: {w}");
    }
    let _ = writeln!(
        out,
        "\nsolved by {} in {:.0} ms (gap {:.3}%), whole run {:.0} ms",
        set.solver.method,
        set.solver.solve_ms,
        100.0 * set.solver.gap,
        set.solver.total_ms
    );
    out
}
