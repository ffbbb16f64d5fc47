//! The Markdown report: the HTML's content for wikis, pull requests and chat, with
//! sparklines in place of charts.

use std::fmt::Write;

use adaptd_optimizer::recommend::Status;

use crate::input::ChangeState;
use crate::model::{ComponentReport, Report, RiskKind};
use crate::text::{days, human_range, ms, pct, pct_signed, shorten, usd, usd_signed, usd0};

/// Renders the report.
pub fn render(r: &Report) -> String {
    let s = &r.summary;
    let mut o = String::new();
    let _ = writeln!(o, "# {}\n", md(&r.title));
    let _ = writeln!(
        o,
        "**{}** ({} days of telemetry) · {} components · generated {}\n",
        human_range(r.period.start_minute, r.period.end_minute),
        days(r.period.days),
        s.components,
        r.generated_at
    );
    let trend = s
        .previous_available_savings_usd_per_month
        .map_or(String::new(), |p| {
            format!(
                " ({} vs last period)",
                usd_signed(s.available_savings_usd_per_month - p)
            )
        });
    o.push_str("| Savings available | Realised savings | SLO risks | Data-quality warnings |\n");
    o.push_str("|---:|---:|---:|---:|\n");
    let _ = writeln!(
        o,
        "| {}/mo{trend} | {}/mo vs {} predicted (error {}){} | {} | {} |\n",
        usd0(s.available_savings_usd_per_month),
        usd0(s.realised_savings_usd_per_month),
        usd0(s.predicted_savings_measured_usd_per_month),
        usd_signed(s.realised_error_usd_per_month),
        if s.changes_not_measured > 0 {
            format!("; {} not measured", s.changes_not_measured)
        } else {
            String::new()
        },
        s.slo_risks,
        s.data_quality_warnings
    );

    o.push_str("## Top opportunities\n\n");
    let top: Vec<&ComponentReport> = r
        .components
        .iter()
        .filter(|c| matches!(c.status, Status::Change | Status::SloInfeasible))
        .collect();
    if top.is_empty() {
        o.push_str("Nothing to change: every component is at its best configuration.\n\n");
    } else {
        o.push_str("| component | status | now | recommended | saving/month | confidence |\n");
        o.push_str("|---|---|---|---|---:|---|\n");
        for c in top {
            let _ = writeln!(
                o,
                "| {} | {} | {} | {} | {} | {} |",
                md(&c.component),
                status(c.status),
                md(&shorten(c.current.as_deref().unwrap_or("-"), 60)),
                md(&shorten(c.recommended.as_deref().unwrap_or("-"), 60)),
                usd(c.saving_usd_per_month),
                c.confidence
            );
        }
        o.push('\n');
    }

    o.push_str("## SLO risks\n\n");
    if r.slo_risks.is_empty() {
        o.push_str("No component is predicted or seen to miss its SLO.\n");
    }
    for k in &r.slo_risks {
        let label = match k.kind {
            RiskKind::Infeasible => "infeasible",
            RiskKind::BreachPredicted => "predicted breach",
            RiskKind::ObservedAboveTarget => "observed above target",
            RiskKind::RolledBack => "rolled back",
        };
        let _ = writeln!(o, "- **{}** ({label}): {}", md(&k.component), md(&k.detail));
    }

    o.push_str("\n## Changes applied and rolled back\n\n");
    if r.changes.is_empty() {
        o.push_str("No change was applied or rolled back in this period.\n");
    } else {
        o.push_str("| component | state | change | predicted/month | realised/month | error | measured over |\n");
        o.push_str("|---|---|---|---:|---:|---:|---|\n");
        for c in &r.changes {
            let state = match c.state {
                ChangeState::Applied => "applied",
                ChangeState::Live => "live",
                ChangeState::RolledBack => "rolled back",
            };
            let (realised, error, over) = match &c.realised {
                Some(m) => (
                    usd(m.saving_usd_per_month),
                    format!(
                        "{}{}",
                        usd_signed(m.error_usd_per_month),
                        m.relative_error
                            .map_or(String::new(), |e| format!(" ({})", pct_signed(e)))
                    ),
                    format!(
                        "{} days, {} invocations",
                        days((m.to_minute - m.from_minute) as f64 / 1440.0),
                        m.invocations
                    ),
                ),
                None => (
                    "not measured".into(),
                    "-".into(),
                    c.not_measured.clone().unwrap_or_default(),
                ),
            };
            let _ = writeln!(
                o,
                "| {} | {state} | {} → {} | {} | {realised} | {error} | {} |",
                md(&c.change.component),
                md(&shorten(&c.change.before.describe(), 48)),
                md(&shorten(&c.change.after.describe(), 48)),
                usd(c.change.predicted_saving_usd_per_month),
                md(&over)
            );
        }
    }

    o.push_str("\n## Data quality\n\n");
    if r.data_quality.is_empty() && r.warnings.is_empty() {
        o.push_str("No gaps or estimates to flag.\n");
    }
    for w in &r.warnings {
        let _ = writeln!(o, "- **all components**: {}", md(w));
    }
    for w in &r.data_quality {
        let _ = writeln!(
            o,
            "- **{}**: {}",
            md(w.component.as_deref().unwrap_or("all components")),
            md(&w.message)
        );
    }

    o.push_str("\n## Components\n");
    for c in &r.components {
        component(&mut o, c);
    }
    o
}

fn status(s: Status) -> &'static str {
    match s {
        Status::Change => "change",
        Status::Keep => "keep",
        Status::SloInfeasible => "SLO infeasible",
        Status::NoData => "no data",
    }
}

/// Escapes what would break a table cell or start markup.
fn md(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

/// Invocations per minute: `13,347`, `42.5`.
fn rate(x: f64) -> String {
    if x >= 100.0 {
        usd0(x).trim_start_matches('$').to_owned()
    } else {
        format!("{x:.1}")
    }
}

/// Eight-level bars for 24 hourly values.
fn sparkline(values: &[f64]) -> String {
    const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    let max = values.iter().copied().fold(0.0, f64::max);
    values
        .iter()
        .map(|v| {
            if max <= 0.0 {
                BARS[0]
            } else {
                BARS[((v / max) * 7.0).round().clamp(0.0, 7.0) as usize]
            }
        })
        .collect()
}

/// "3 in 08–18 h, 0 otherwise" for an hourly schedule.
fn schedule(levels: &[u32]) -> String {
    if levels.iter().all(|&l| l == levels[0]) {
        return levels
            .first()
            .map_or("-".into(), |l| format!("{l} all day"));
    }
    let mut runs: Vec<(u32, usize, usize)> = Vec::new();
    for (h, &l) in levels.iter().enumerate() {
        match runs.last_mut() {
            Some(r) if r.0 == l => r.2 = h + 1,
            _ => runs.push((l, h, h + 1)),
        }
    }
    // The most frequent level is "otherwise".
    let mut common = (0u32, 0usize);
    for &(l, _, _) in &runs {
        let hours: usize = runs.iter().filter(|r| r.0 == l).map(|r| r.2 - r.1).sum();
        if hours > common.1 {
            common = (l, hours);
        }
    }
    let mut parts: Vec<String> = runs
        .iter()
        .filter(|r| r.0 != common.0)
        .map(|&(l, a, b)| format!("{l} in {a:02}–{:02} h", b % 24))
        .collect();
    parts.push(format!("{} otherwise", common.0));
    parts.join(", ")
}

fn component(o: &mut String, c: &ComponentReport) {
    let _ = writeln!(
        o,
        "\n### {} — {}, {}/month\n",
        md(&c.component),
        status(c.status),
        usd_signed(c.saving_usd_per_month)
    );
    if !c.explanation.is_empty() {
        let _ = writeln!(o, "{}\n", md(&c.explanation));
    }
    let opt = |v: Option<f64>, f: fn(f64) -> String| v.map_or("-".to_owned(), f);
    o.push_str("| | now | recommended | observed |\n|---|---|---|---|\n");
    let _ = writeln!(
        o,
        "| deployment | {} | {} | |",
        md(&shorten(c.current.as_deref().unwrap_or("-"), 70)),
        md(&shorten(c.recommended.as_deref().unwrap_or("-"), 70))
    );
    let _ = writeln!(
        o,
        "| cost/month | {} | {} | |",
        opt(c.current_usd_per_month, usd),
        opt(c.recommended_usd_per_month, usd)
    );
    let _ = writeln!(
        o,
        "| worst-hour p99 | {} | {} | {}{} |",
        opt(c.predicted_p99_ms_current, ms),
        opt(c.predicted_p99_ms_recommended, ms),
        opt(c.observed_p99_ms, ms),
        c.slo_p99_ms
            .map_or(String::new(), |t| format!(" (target {})", ms(t)))
    );
    let _ = writeln!(
        o,
        "| cold starts | {} | {} | {} |",
        opt(c.predicted_cold_start_rate_current, pct),
        opt(c.predicted_cold_start_rate_recommended, pct),
        opt(c.observed_cold_start_rate, pct)
    );
    if !c.hours.is_empty() {
        let traffic: Vec<f64> = c.hours.iter().map(|h| h.invocations_per_minute).collect();
        let (peak_hour, peak) = c
            .hours
            .iter()
            .map(|h| (h.hour, h.invocations_per_minute))
            .fold((0, 0.0), |m, x| if x.1 > m.1 { x } else { m });
        let now: Vec<u32> = c.hours.iter().map(|h| h.current_level).collect();
        let rec: Vec<u32> = c.hours.iter().map(|h| h.recommended_level).collect();
        let _ = writeln!(
            o,
            "\nTraffic by hour ({}, 00–23): `{}` peak {}/min at {peak_hour:02}h  ",
            c.timezone,
            sparkline(&traffic),
            rate(peak)
        );
        let _ = writeln!(
            o,
            "Provisioned/tasks now: {}; recommended: {}",
            schedule(&now),
            schedule(&rec)
        );
    }
    if !c.changes.is_empty() {
        o.push('\n');
        for ch in &c.changes {
            let _ = writeln!(
                o,
                "- `{}`: {} → {} (via {})",
                ch.field,
                md(&shorten(&ch.from, 60)),
                md(&shorten(&ch.to, 60)),
                ch.applies_via
            );
        }
    }
    if !c.frontier.is_empty() {
        o.push_str("\nCost–latency frontier (cheapest at each p99):\n\n| worst-hour p99 | cost/month | configuration |\n|---:|---:|---|\n");
        for p in &c.frontier {
            let _ = writeln!(
                o,
                "| {} | {} | {} |",
                ms(p.worst_hour_p99_ms),
                usd(p.usd_per_month),
                md(&shorten(&p.description, 70))
            );
        }
    }
    for w in &c.warnings {
        let _ = writeln!(o, "\n> ⚠ {}", md(w));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedules_name_the_exceptions() {
        let mut h = [0u32; 24];
        assert_eq!(schedule(&h), "0 all day");
        for l in h.iter_mut().take(18).skip(8) {
            *l = 3;
        }
        assert_eq!(schedule(&h), "3 in 08–18 h, 0 otherwise");
    }

    #[test]
    fn sparklines_scale_to_the_peak() {
        assert_eq!(sparkline(&[0.0, 1.0, 2.0]), "▁▅█");
        assert_eq!(sparkline(&[0.0, 0.0]), "▁▁");
    }
}
