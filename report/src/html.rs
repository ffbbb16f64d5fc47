//! The HTML report: one self-contained page (inline CSS and SVG, no script, no external
//! resource), laid out to be read top-down by someone who forwards it: the headline
//! numbers, what to do first, what went wrong, then the detail per component.

use std::fmt::Write;

use adaptd_optimizer::recommend::Status;

use crate::chart::{self, esc};
use crate::input::ChangeState;
use crate::model::{ComponentReport, Report, RiskKind};
use crate::text::{human_range, ms, pct, pct_signed, shorten, usd, usd_signed, usd0};

const CSS: &str = r#"
:root{--ink:#111827;--muted:#6b7280;--line:#e5e7eb;--bg:#f8fafc;--teal:#0f766e;--red:#b91c1c;--amber:#b45309}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--ink);font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif}
main{max-width:1060px;margin:0 auto;padding:28px 28px 60px}
header{border-bottom:3px solid var(--teal);padding-bottom:14px;margin-bottom:22px}
h1{font-size:28px;margin:0 0 4px}
h2{font-size:20px;margin:34px 0 12px;padding-bottom:6px;border-bottom:1px solid var(--line)}
h3{font-size:17px;margin:0}
.sub{color:var(--muted)}
.cards{display:grid;grid-template-columns:repeat(4,1fr);gap:14px}
.card{background:#fff;border:1px solid var(--line);border-radius:10px;padding:14px 16px}
.card .k{font-size:13px;color:var(--muted);text-transform:uppercase;letter-spacing:.04em}
.card .v{font-size:28px;font-weight:700;margin:2px 0}
.card .d{font-size:13px;color:var(--muted)}
.good{color:var(--teal)}.bad{color:var(--red)}.warn{color:var(--amber)}
table{width:100%;border-collapse:collapse;background:#fff;border:1px solid var(--line);border-radius:8px;overflow:hidden;font-size:14px}
th,td{text-align:left;padding:7px 10px;border-bottom:1px solid var(--line);vertical-align:top}
th{background:#f1f5f9;font-weight:600;font-size:13px}
td.n,th.n{text-align:right;white-space:nowrap}
.badge{display:inline-block;padding:1px 8px;border-radius:999px;font-size:12px;font-weight:600;white-space:nowrap}
.b-change{background:#ccfbf1;color:#115e59}.b-keep{background:#e5e7eb;color:#374151}
.b-slo_infeasible{background:#fee2e2;color:#991b1b}.b-no_data{background:#fef3c7;color:#92400e}
.b-high{background:#dcfce7;color:#166534}.b-medium{background:#fef9c3;color:#854d0e}.b-low{background:#fee2e2;color:#991b1b}
ul.items{background:#fff;border:1px solid var(--line);border-radius:8px;margin:0;padding:10px 14px 10px 32px}
ul.items li{margin:3px 0}
section.component{background:#fff;border:1px solid var(--line);border-radius:10px;padding:16px 18px;margin:16px 0;break-inside:avoid}
.head{display:flex;gap:10px;align-items:center;flex-wrap:wrap}
.head .saving{margin-left:auto;font-weight:700;font-size:18px}
.facts{display:grid;grid-template-columns:repeat(4,1fr);gap:8px;margin:12px 0}
.facts div{background:var(--bg);border-radius:6px;padding:6px 10px;font-size:13px}
.facts b{display:block;font-size:15px}
.charts{display:grid;grid-template-columns:1fr;gap:6px}
svg.chart{width:100%;height:auto;font:12px system-ui,"DejaVu Sans",sans-serif;margin:4px 0}
svg .tick{fill:#4b5563;font-size:12px}svg .axis{fill:#6b7280;font-size:12px}
svg .legend{fill:#374151;font-size:13px}svg .value{fill:#111827;font-size:12px;font-weight:600}
details{margin:8px 0}summary{cursor:default;color:var(--muted)}
code{font-size:13px;background:#f1f5f9;padding:0 4px;border-radius:4px}
h4{font-size:13px;font-weight:600;color:var(--muted);margin:14px 0 0;text-transform:uppercase;letter-spacing:.04em}
footer{margin-top:36px;color:var(--muted);font-size:13px}
@media print{body{background:#fff}section.component{border:0}}
"#;

/// The page's Content-Security-Policy: no script, no network; inline CSS and `data:`
/// images (the charts) only. In the page's `<meta>`, and the header the service sends
/// with it.
pub const CONTENT_SECURITY_POLICY: &str =
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:";

/// Renders the page.
pub fn render(r: &Report) -> String {
    let mut o = String::with_capacity(256 * 1024);
    let _ = write!(
        o,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <meta http-equiv=\"Content-Security-Policy\" content=\"{CONTENT_SECURITY_POLICY}\">\
         <title>{} — {}</title><style>{CSS}</style></head><body><main>",
        esc(&r.title),
        human_range(r.period.start_minute, r.period.end_minute)
    );
    let _ = write!(
        o,
        "<header><h1>{}</h1><div class=\"sub\">{} ({} days of telemetry) · {} components · generated {}</div></header>",
        esc(&r.title),
        human_range(r.period.start_minute, r.period.end_minute),
        crate::text::days(r.period.days),
        r.summary.components,
        esc(&r.generated_at)
    );
    cards(&mut o, r);
    top(&mut o, r);
    risks(&mut o, r);
    changes(&mut o, r);
    quality(&mut o, r);
    let _ = write!(o, "<h2 id=\"components\">Components</h2>");
    for c in &r.components {
        component(&mut o, c);
    }
    let _ = writeln!(
        o,
        "<footer>Costs are predicted for a 730-hour month by adaptd's models from this period's traffic; \
         realised savings replay the traffic observed after each change against the deployment before \
         and after it. Observed latency is the function's execution time (init excluded). \
         Report schema version {}.</footer></main></body></html>",
        r.schema_version
    );
    o
}

fn cards(o: &mut String, r: &Report) {
    let s = &r.summary;
    let trend = match s.previous_available_savings_usd_per_month {
        Some(p) => format!(
            "{} vs last period ({})",
            usd_signed(s.available_savings_usd_per_month - p),
            usd0(p)
        ),
        None => format!(
            "{} of {} components to change",
            s.changes_recommended, s.components
        ),
    };
    let realised_detail = if s.changes_applied + s.changes_rolled_back == 0
        && s.predicted_savings_applied_usd_per_month == 0.0
    {
        "no changes applied yet".to_owned()
    } else {
        let mut d = format!(
            "vs {} predicted, error {}",
            usd0(s.predicted_savings_measured_usd_per_month),
            usd_signed(s.realised_error_usd_per_month)
        );
        if s.changes_not_measured > 0 {
            let _ = write!(d, ", {} not measured", s.changes_not_measured);
        }
        d
    };
    let _ = write!(o, "<div class=\"cards\">");
    let card = |o: &mut String, k: &str, v: String, class: &str, d: String| {
        let _ = write!(
            o,
            "<div class=\"card\"><div class=\"k\">{k}</div><div class=\"v {class}\">{v}</div><div class=\"d\">{}</div></div>",
            esc(&d)
        );
    };
    card(
        o,
        "Savings available",
        format!("{}/mo", usd0(s.available_savings_usd_per_month)),
        "good",
        trend,
    );
    card(
        o,
        "Realised savings",
        format!("{}/mo", usd0(s.realised_savings_usd_per_month)),
        "",
        realised_detail,
    );
    card(
        o,
        "SLO risks",
        s.slo_risks.to_string(),
        if s.slo_risks > 0 { "bad" } else { "good" },
        "components that may miss their objectives".into(),
    );
    card(
        o,
        "Data-quality warnings",
        s.data_quality_warnings.to_string(),
        if s.data_quality_warnings > 0 {
            "warn"
        } else {
            "good"
        },
        "gaps and estimates behind the numbers".into(),
    );
    let _ = write!(o, "</div>");
}

fn badge(class: &str, text: &str) -> String {
    format!("<span class=\"badge b-{class}\">{}</span>", esc(text))
}

fn status(s: Status) -> (&'static str, &'static str) {
    match s {
        Status::Change => ("change", "change"),
        Status::Keep => ("keep", "keep"),
        Status::SloInfeasible => ("slo_infeasible", "SLO infeasible"),
        Status::NoData => ("no_data", "no data"),
    }
}

fn top(o: &mut String, r: &Report) {
    let _ = write!(
        o,
        "<h2>Top opportunities</h2><table><tr><th>Component</th><th>Now</th><th>Recommended</th>\
         <th class=\"n\">Saving / month</th><th>Confidence</th></tr>"
    );
    let rows: Vec<&ComponentReport> = r
        .components
        .iter()
        .filter(|c| c.status != Status::Keep && c.status != Status::NoData)
        .take(8)
        .collect();
    for c in &rows {
        let (cls, text) = status(c.status);
        let _ = write!(
            o,
            "<tr><td><a href=\"#c-{id}\">{name}</a> {}</td><td>{}</td><td>{}</td><td class=\"n {}\">{}</td><td>{}</td></tr>",
            badge(cls, text),
            esc(&shorten(c.current.as_deref().unwrap_or("-"), 60)),
            esc(&shorten(c.recommended.as_deref().unwrap_or("-"), 60)),
            if c.saving_usd_per_month < 0.0 {
                "bad"
            } else {
                "good"
            },
            usd(c.saving_usd_per_month),
            badge(&c.confidence, &c.confidence),
            id = anchor(&c.component),
            name = esc(&c.component),
        );
    }
    if rows.is_empty() {
        let _ = write!(
            o,
            "<tr><td colspan=\"5\">Nothing to change: every component is at its best configuration.</td></tr>"
        );
    }
    let _ = write!(o, "</table>");
    let costs: Vec<(String, f64, f64)> = r
        .components
        .iter()
        .filter_map(|c| {
            Some((
                c.component.clone(),
                c.current_usd_per_month?,
                c.recommended_usd_per_month?,
            ))
        })
        .take(8)
        .collect();
    if !costs.is_empty() {
        let _ = write!(
            o,
            "<p class=\"sub\">Monthly cost now and recommended, largest savings first.</p>{}",
            chart::fleet_costs(&costs, "Monthly cost now and recommended by component")
        );
    }
}

fn risks(o: &mut String, r: &Report) {
    let _ = write!(o, "<h2>SLO risks</h2>");
    if r.slo_risks.is_empty() {
        let _ = write!(
            o,
            "<p class=\"good\">No component is predicted or seen to miss its SLO.</p>"
        );
        return;
    }
    let _ = write!(o, "<ul class=\"items\">");
    for k in &r.slo_risks {
        let label = match k.kind {
            RiskKind::Infeasible => "infeasible",
            RiskKind::BreachPredicted => "predicted breach",
            RiskKind::ObservedAboveTarget => "observed above target",
            RiskKind::RolledBack => "rolled back",
        };
        let _ = write!(
            o,
            "<li><b><a href=\"#c-{}\">{}</a></b> <span class=\"bad\">{label}</span>: {}</li>",
            anchor(&k.component),
            esc(&k.component),
            esc(&k.detail)
        );
    }
    let _ = write!(o, "</ul>");
}

fn changes(o: &mut String, r: &Report) {
    let _ = write!(o, "<h2>Changes applied and rolled back</h2>");
    if r.changes.is_empty() {
        let _ = write!(
            o,
            "<p class=\"sub\">No change was applied or rolled back in this period.</p>"
        );
        return;
    }
    let _ = write!(
        o,
        "<table><tr><th>Component</th><th>State</th><th>Change</th><th class=\"n\">Predicted / mo</th>\
         <th class=\"n\">Realised / mo</th><th class=\"n\">Error</th><th>Measured over</th></tr>"
    );
    for c in &r.changes {
        let state = match c.state {
            ChangeState::Applied => badge("change", "applied"),
            ChangeState::Live => badge("keep", "live"),
            ChangeState::RolledBack => badge("slo_infeasible", "rolled back"),
        };
        let (realised, error, over) = match (&c.realised, &c.not_measured) {
            (Some(m), _) => (
                usd(m.saving_usd_per_month),
                format!(
                    "{}{}",
                    usd_signed(m.error_usd_per_month),
                    m.relative_error
                        .map_or(String::new(), |e| format!(" ({})", pct_signed(e)))
                ),
                format!(
                    "{:.1} days, {} invocations",
                    (m.to_minute - m.from_minute) as f64 / 1440.0,
                    m.invocations
                ),
            ),
            (None, why) => (
                "not measured".to_owned(),
                "-".to_owned(),
                why.clone().unwrap_or_default(),
            ),
        };
        let _ = write!(
            o,
            "<tr><td>{}</td><td>{state}</td><td>{} → {}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td>{}</td></tr>",
            esc(&c.change.component),
            esc(&shorten(&c.change.before.describe(), 48)),
            esc(&shorten(&c.change.after.describe(), 48)),
            usd(c.change.predicted_saving_usd_per_month),
            esc(&realised),
            esc(&error),
            esc(&over)
        );
    }
    let _ = write!(o, "</table>");
}

fn quality(o: &mut String, r: &Report) {
    let _ = write!(o, "<h2>Data quality</h2>");
    if r.data_quality.is_empty() && r.warnings.is_empty() {
        let _ = write!(o, "<p class=\"good\">No gaps or estimates to flag.</p>");
        return;
    }
    let _ = write!(o, "<ul class=\"items\">");
    for w in &r.warnings {
        let _ = write!(o, "<li><b>all components</b>: {}</li>", esc(w));
    }
    for w in &r.data_quality {
        let _ = write!(
            o,
            "<li><b>{}</b>: {}</li>",
            esc(w.component.as_deref().unwrap_or("all components")),
            esc(&w.message)
        );
    }
    let _ = write!(o, "</ul>");
}

/// An id for `name` that survives any component name.
fn anchor(name: &str) -> String {
    name.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect()
}

fn level_labels(c: &ComponentReport) -> (String, String) {
    let kind = |d: Option<&str>| {
        if d.is_some_and(|d| d.starts_with("fargate")) {
            "tasks"
        } else {
            "provisioned"
        }
    };
    (
        format!("{} now", kind(c.current.as_deref())),
        format!("{} recommended", kind(c.recommended.as_deref())),
    )
}

fn component(o: &mut String, c: &ComponentReport) {
    let (cls, text) = status(c.status);
    let _ = write!(
        o,
        "<section class=\"component\" id=\"c-{}\"><div class=\"head\"><h3>{}</h3>{}{}<span class=\"saving {}\">{}/mo</span></div>",
        anchor(&c.component),
        esc(&c.component),
        badge(cls, text),
        badge(&c.confidence, &format!("{} confidence", c.confidence)),
        if c.saving_usd_per_month < 0.0 {
            "bad"
        } else {
            "good"
        },
        usd_signed(c.saving_usd_per_month)
    );
    if !c.explanation.is_empty() {
        let _ = write!(o, "<p>{}</p>", esc(&c.explanation));
    }
    let opt = |v: Option<f64>, f: fn(f64) -> String| v.map_or("-".to_owned(), f);
    let _ = write!(
        o,
        "<div class=\"facts\"><div>Now<b>{}</b>{}</div><div>Recommended<b>{}</b>{}</div>\
         <div>p99 now → recommended<b>{} → {}</b>observed {}{}</div>\
         <div>Cold starts now → rec.<b>{} → {}</b>observed {}</div></div>",
        opt(c.current_usd_per_month, usd),
        esc(&shorten(c.current.as_deref().unwrap_or("-"), 70)),
        opt(c.recommended_usd_per_month, usd),
        esc(&shorten(c.recommended.as_deref().unwrap_or("-"), 70)),
        opt(c.predicted_p99_ms_current, ms),
        opt(c.predicted_p99_ms_recommended, ms),
        opt(c.observed_p99_ms, ms),
        c.slo_p99_ms
            .map_or(String::new(), |t| format!(", target {}", ms(t))),
        opt(c.predicted_cold_start_rate_current, pct),
        opt(c.predicted_cold_start_rate_recommended, pct),
        opt(c.observed_cold_start_rate, pct),
    );
    if !c.changes.is_empty() {
        let list: Vec<String> = c
            .changes
            .iter()
            .map(|ch| {
                format!(
                    "<code>{}</code> {} → {} <span class=\"sub\">(via {})</span>",
                    esc(&ch.field),
                    esc(&shorten(&ch.from, 40)),
                    esc(&shorten(&ch.to, 40)),
                    esc(&ch.applies_via)
                )
            })
            .collect();
        let _ = write!(o, "<p>Changes: {}</p>", list.join("; "));
    }
    let detailed =
        matches!(c.status, Status::Change | Status::SloInfeasible) || !c.frontier.is_empty();
    if c.hours.is_empty() {
        let _ = write!(o, "</section>");
        return;
    }
    let _ = write!(
        o,
        "{}<div class=\"charts\">",
        if detailed {
            ""
        } else {
            "<details><summary>Charts</summary>"
        }
    );
    let (now_label, rec_label) = level_labels(c);
    let _ = write!(
        o,
        "<h4>Traffic by hour, with provisioned environments or tasks</h4>{}",
        chart::traffic(
            &c.hours,
            &c.timezone,
            &now_label,
            &rec_label,
            &format!(
                "{}: traffic by hour with the provisioned schedule",
                c.component
            )
        )
    );
    if let (Some(now), Some(rec)) = (&c.current_cost, &c.recommended_cost) {
        let _ = write!(
            o,
            "<h4>Monthly cost by part</h4>{}",
            chart::cost(
                now,
                rec,
                &format!("{}: monthly cost now and recommended", c.component)
            )
        );
    }
    let _ = write!(
        o,
        "<h4>p99 latency by hour: predicted and observed</h4>{}",
        chart::latency(
            &c.hours,
            &c.timezone,
            c.slo_p99_ms,
            &format!("{}: predicted and observed p99 by hour", c.component)
        )
    );
    if !c.frontier.is_empty() {
        let _ = write!(
            o,
            "<h4>Cost–latency frontier: the cheapest configuration at each p99</h4>{}",
            chart::frontier(
                &c.frontier,
                c.current_usd_per_month.zip(c.predicted_p99_ms_current),
                c.recommended_usd_per_month
                    .zip(c.predicted_p99_ms_recommended),
                c.slo_p99_ms,
                &format!("{}: cost–latency frontier", c.component)
            )
        );
    }
    let _ = write!(o, "</div>{}", if detailed { "" } else { "</details>" });
    if !c.warnings.is_empty() {
        let _ = write!(o, "<ul>");
        for w in &c.warnings {
            let _ = write!(o, "<li class=\"warn\">{}</li>", esc(w));
        }
        let _ = write!(o, "</ul>");
    }
    let _ = write!(o, "</section>");
}
