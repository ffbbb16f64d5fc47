//! The incoming-webhook message: the headline, the top items and a link, in Slack's
//! format (`text` for notifications and clients without blocks, `blocks` for layout).
//! Mattermost, Rocket.Chat and Teams' Slack-compatible endpoints read the same JSON.

use adaptd_optimizer::recommend::Status;
use serde_json::{Value, json};

use crate::model::Report;
use crate::text::{human_range, shorten, usd, usd_signed, usd0};

/// Slack's mrkdwn reserves these three.
fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The message for `r`, linking to `link` (a URL, or a file path when the reports are
/// not served), with at most `top_items` components.
pub fn message(r: &Report, link: &str, top_items: usize) -> Value {
    let s = &r.summary;
    let period = human_range(r.period.start_minute, r.period.end_minute);
    let is_url = link.starts_with("https://") || link.starts_with("http://");
    let open = if is_url {
        format!("<{}|Open the full report>", esc(link))
    } else {
        format!("Full report: `{}`", esc(link))
    };
    let trend = s
        .previous_available_savings_usd_per_month
        .map_or(String::new(), |p| {
            format!(
                " ({} vs last period)",
                usd_signed(s.available_savings_usd_per_month - p)
            )
        });
    let text = format!(
        "{}, {period}: {}/month in savings available{trend}, {}/month realised from applied changes, {} SLO risk{}. {open}",
        esc(&r.title),
        usd0(s.available_savings_usd_per_month),
        usd0(s.realised_savings_usd_per_month),
        s.slo_risks,
        if s.slo_risks == 1 { "" } else { "s" },
    );
    let top: Vec<String> = r
        .components
        .iter()
        .filter(|c| matches!(c.status, Status::Change | Status::SloInfeasible))
        .filter(|c| c.saving_usd_per_month > 0.0)
        .take(top_items)
        .map(|c| {
            format!(
                "• *{}*: {}/month — {} → {}",
                esc(&c.component),
                usd(c.saving_usd_per_month),
                esc(&shorten(c.current.as_deref().unwrap_or("-"), 40)),
                esc(&shorten(c.recommended.as_deref().unwrap_or("-"), 40))
            )
        })
        .collect();
    let risks: Vec<String> = r
        .slo_risks
        .iter()
        .take(3)
        .map(|k| {
            format!(
                "• *{}*: {}",
                esc(&k.component),
                esc(&shorten(&k.detail, 140))
            )
        })
        .collect();
    let mut blocks = vec![
        json!({"type": "header", "text": {"type": "plain_text", "text": shorten(&format!("{} — {period}", r.title), 150)}}),
        json!({"type": "section", "fields": [
            {"type": "mrkdwn", "text": format!("*Savings available*\n{}/month{}", usd0(s.available_savings_usd_per_month), esc(&trend))},
            {"type": "mrkdwn", "text": format!("*Realised savings*\n{}/month (vs {} predicted, error {})", usd0(s.realised_savings_usd_per_month), usd0(s.predicted_savings_measured_usd_per_month), usd_signed(s.realised_error_usd_per_month))},
            {"type": "mrkdwn", "text": format!("*SLO risks*\n{}", s.slo_risks)},
            {"type": "mrkdwn", "text": format!("*Data-quality warnings*\n{}", s.data_quality_warnings)},
        ]}),
    ];
    if !top.is_empty() {
        blocks.push(json!({"type": "section", "text": {"type": "mrkdwn", "text": format!("*Top opportunities*\n{}", top.join("\n"))}}));
    }
    if !risks.is_empty() {
        blocks.push(json!({"type": "section", "text": {"type": "mrkdwn", "text": format!("*SLO risks*\n{}", risks.join("\n"))}}));
    }
    blocks.push(json!({"type": "context", "elements": [{"type": "mrkdwn", "text": open}]}));
    json!({"text": text, "blocks": blocks})
}
