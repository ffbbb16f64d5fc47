//! Totals, the model's validation, and rendering.

use std::fmt::Write;

use adaptd_report::text::{pct, usd};

use adaptd_engine::spec::PlatformKind;

use super::{Outcome, PolicyKind, PolicySummary, Report, Validation};

/// Per-policy totals, with costs relative to the oracle's.
pub fn summarise(policies: &[PolicyKind], outcomes: &[Outcome]) -> Vec<PolicySummary> {
    let mut out: Vec<PolicySummary> = policies
        .iter()
        .map(|&policy| {
            let mine: Vec<&Outcome> = outcomes.iter().filter(|o| o.policy == policy).collect();
            let slo: Vec<&&Outcome> = mine.iter().filter(|o| o.has_slo).collect();
            let slo_invocations: u64 = slo.iter().map(|o| o.invocations).sum();
            let bad: u64 = slo.iter().map(|o| o.cold_starts + o.throttles).sum();
            PolicySummary {
                policy,
                window_usd: mine.iter().map(|o| o.window_usd).sum(),
                usd_per_month: mine.iter().map(|o| o.usd_per_month).sum(),
                slo_components_usd_per_month: slo.iter().map(|o| o.usd_per_month).sum(),
                slo_components: slo.len(),
                slo_met: slo.iter().filter(|o| o.meets_slo).count(),
                cold_or_throttled_share: if slo_invocations > 0 {
                    bad as f64 / slo_invocations as f64
                } else {
                    0.0
                },
                cost_vs_oracle: None,
            }
        })
        .collect();
    if let Some(oracle) = out
        .iter()
        .find(|p| p.policy == PolicyKind::Oracle)
        .map(|p| p.usd_per_month)
    {
        for p in &mut out {
            p.cost_vs_oracle = (oracle > 0.0).then(|| p.usd_per_month / oracle);
        }
    }
    out
}

fn quantile(mut v: Vec<f64>, p: f64) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(f64::total_cmp);
    let i = ((p * v.len() as f64).ceil() as usize).clamp(1, v.len()) - 1;
    v[i]
}

/// The engine's predictions for the recommendation against the replay, for the
/// components it put on `platform` (all when `None`).
pub fn validate(outcomes: &[Outcome], platform: Option<PlatformKind>) -> Option<Validation> {
    let rows: Vec<&Outcome> = outcomes
        .iter()
        .filter(|o| {
            o.policy == PolicyKind::Adaptd
                && o.invocations > 0
                && o.predicted_window_usd.is_some()
                && platform.is_none_or(|p| p == o.platform)
        })
        .collect();
    if rows.is_empty() {
        return None;
    }
    let cost_err: Vec<f64> = rows
        .iter()
        .filter(|o| o.window_usd > 0.0)
        .map(|o| (o.predicted_window_usd.unwrap_or(0.0) - o.window_usd).abs() / o.window_usd)
        .collect();
    let window_to_month = |o: &Outcome| {
        if o.window_usd > 0.0 {
            o.usd_per_month / o.window_usd
        } else {
            0.0
        }
    };
    let abs_err: Vec<f64> = rows
        .iter()
        .map(|o| (o.predicted_window_usd.unwrap_or(0.0) - o.window_usd).abs() * window_to_month(o))
        .collect();
    let cold_err: Vec<f64> = rows
        .iter()
        .map(|o| {
            (o.predicted_cold_start_rate.unwrap_or(0.0)
                - o.cold_starts as f64 / o.invocations as f64)
                .abs()
        })
        .collect();
    Some(Validation {
        components: rows.len(),
        cost_abs_error_usd_per_month_median: quantile(abs_err.clone(), 0.5),
        cost_abs_error_usd_per_month_p90: quantile(abs_err, 0.9),
        cost_relative_error_median: quantile(cost_err.clone(), 0.5),
        cost_relative_error_p90: quantile(cost_err, 0.9),
        cold_start_rate_abs_error_median: quantile(cold_err.clone(), 0.5),
        cold_start_rate_abs_error_p90: quantile(cold_err, 0.9),
        predicted_window_usd: rows.iter().filter_map(|o| o.predicted_window_usd).sum(),
        replayed_window_usd: rows.iter().map(|o| o.window_usd).sum(),
    })
}

/// A table per policy, then (optionally) per component.
pub fn render_table(r: &Report, per_component: bool) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "backtest over {} minutes ({:.1} h), seed {}, {:.1} s\n",
        r.window_minutes,
        r.window_minutes as f64 / 60.0,
        r.seed,
        r.seconds
    );
    let _ = writeln!(
        out,
        "{:<16} {:>14} {:>14} {:>16} {:>12} {:>16} {:>10}",
        "POLICY", "WINDOW $", "$/MONTH", "SLO COMP. $/MO", "SLO MET", "COLD|THROTTLED", "VS ORACLE"
    );
    for p in &r.policies {
        let _ = writeln!(
            out,
            "{:<16} {:>14} {:>14} {:>16} {:>12} {:>16} {:>10}",
            p.policy.as_str(),
            usd(p.window_usd),
            usd(p.usd_per_month),
            usd(p.slo_components_usd_per_month),
            format!("{}/{}", p.slo_met, p.slo_components),
            pct(p.cold_or_throttled_share),
            p.cost_vs_oracle.map_or("-".into(), |x| format!("{x:.3}×")),
        );
    }
    let validations = [("", &r.validation), (", on Fargate", &r.validation_fargate)];
    for (which, v) in validations {
        let Some(v) = v else { continue };
        let _ = writeln!(
            out,
            "{}model vs replay ({} components{which}, adaptd's configuration): cost error median {} ({:.1}%) p90 {} ({:.1}%) per month; cold-start rate error median {:.2} pp p90 {:.2} pp; total predicted {} vs replayed {}",
            if which.is_empty() { "\n" } else { "" },
            v.components,
            usd(v.cost_abs_error_usd_per_month_median),
            100.0 * v.cost_relative_error_median,
            usd(v.cost_abs_error_usd_per_month_p90),
            100.0 * v.cost_relative_error_p90,
            100.0 * v.cold_start_rate_abs_error_median,
            100.0 * v.cold_start_rate_abs_error_p90,
            usd(v.predicted_window_usd),
            usd(v.replayed_window_usd)
        );
    }
    for (c, why) in &r.skipped {
        let _ = writeln!(out, "skipped {c}: {why}");
    }
    if per_component {
        let _ = writeln!(
            out,
            "\n{:<24} {:<16} {:>10} {:>9} {:>9} {:>12} {:>5}  DEPLOYMENT",
            "COMPONENT", "POLICY", "INVOC.", "COLD", "THROTTLE", "$/MONTH", "SLO"
        );
        for o in &r.outcomes {
            let _ = writeln!(
                out,
                "{:<24} {:<16} {:>10} {:>9} {:>9} {:>12} {:>5}  {}",
                o.component,
                o.policy.as_str(),
                o.invocations,
                o.cold_starts,
                o.throttles,
                usd(o.usd_per_month),
                if !o.has_slo {
                    "-"
                } else if o.meets_slo {
                    "met"
                } else {
                    "MISS"
                },
                o.deployment
            );
        }
    }
    out
}

/// The report as JSON.
pub fn render_json(r: &Report) -> Result<String, serde_json::Error> {
    Ok(serde_json::to_string_pretty(r)? + "\n")
}
