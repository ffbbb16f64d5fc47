//! The `[report]` section: defaults, a full example, and every bad value reported at
//! its position.

use adaptd_config::{Config, ReportFormat};

fn short(text: &str) -> Vec<String> {
    match Config::from_str(text, "adaptd.toml") {
        Ok(_) => panic!("expected errors for:\n{text}"),
        Err(e) => e
            .iter()
            .map(|e| format!("{}:{}: {}: {}", e.line, e.col, e.path, e.message))
            .collect(),
    }
}

#[test]
fn defaults_are_monday_eight_utc_all_formats_no_webhook() {
    let c = Config::from_str("", "adaptd.toml").unwrap();
    assert_eq!(c.report.schedule, "0 8 * * MON");
    assert_eq!(c.report.cron().unwrap().to_string(), "0 8 * * MON");
    assert!(c.report.cron().unwrap().zone().is_utc());
    assert_eq!(c.report.period_days, 7);
    assert_eq!(c.report.formats, ReportFormat::ALL.to_vec());
    assert_eq!(c.report.output_dir, "reports");
    assert!(c.report.webhook.is_none());
}

#[test]
fn a_full_section_is_read() {
    let c = Config::from_str(
        r#"[report]
schedule = "30 7 * * MON-FRI"
timezone = "America/New_York"
period_days = 14
output_dir = "/var/lib/adaptd/reports"
formats = ["html", "json"]
frontier_components = 0
link_base_url = "https://reports.example/adaptd"

[report.webhook]
url = "https://hooks.slack.example/services/T/B/X"
max_attempts = 2
initial_backoff_seconds = 0.5
max_backoff_seconds = 5
timeout_seconds = 3
top_items = 3
"#,
        "adaptd.toml",
    )
    .unwrap();
    let w = c.report.webhook.as_ref().unwrap();
    assert_eq!(c.report.formats, [ReportFormat::Html, ReportFormat::Json]);
    assert_eq!(c.report.period_days, 14);
    assert_eq!(c.report.cron().unwrap().zone().name(), "America/New_York");
    assert_eq!(w.max_attempts, 2);
    assert_eq!(w.initial_backoff_seconds, 0.5);
    assert_eq!(w.top_items, 3);
}

#[test]
fn bad_values_are_reported_at_their_positions() {
    let got = short(
        r#"[report]
schedule = "0 25 * * MON"
period_days = 0
formats = ["html", "pdf", "html"]
link_base_url = "reports.example"

[report.webhook]
max_attempts = 0
initial_backoff_seconds = 10
max_backoff_seconds = 5
"#,
    );
    assert_eq!(
        got,
        [
            "2:12: report.schedule: invalid cron expression: hour: 25 is out of range 0–23 (got \"0 25 * * MON\")",
            "3:15: report.period_days: must be between 1 and 90 (got 0)",
            "4:20: report.formats[1]: unknown value (expected one of: html, markdown, json, csv)",
            "5:17: report.link_base_url: must start with https:// or http:// (got \"reports.example\")",
            "7:1: report.webhook.url: missing required key",
            "8:16: report.webhook.max_attempts: must be between 1 and 10 (got 0)",
            "10:23: report.webhook.max_backoff_seconds: must be >= 10 (got 5)",
        ]
    );
}

#[test]
fn an_unknown_time_zone_is_reported_at_its_position() {
    assert_eq!(
        short("[report]\nschedule = \"0 8 * * MON\"\ntimezone = \"Europe/Berlinn\"\n"),
        [
            "3:12: report.timezone: unknown time zone `Europe/Berlinn` (expected an IANA name such as \"Europe/Berlin\", \"America/New_York\" or \"UTC\")"
        ]
    );
    // An abbreviation is not a zone: it does not say when daylight saving starts.
    assert_eq!(short("[report]\ntimezone = \"CEST\"\n").len(), 1);
}

#[test]
fn duplicate_formats_and_unknown_keys() {
    assert_eq!(
        short("[report]\nformats = [\"csv\", \"csv\"]\nperiod = 7\n"),
        [
            "2:19: report.formats[1]: duplicate format \"csv\"",
            "3:1: report.period: unknown key, did you mean `period_days`? (expected one of: schedule, timezone, period_days, output_dir, formats, frontier_components, link_base_url, webhook, s3)",
        ]
    );
    assert_eq!(
        short("[report.webhook]\nurl = \"https://\"\n"),
        ["2:7: report.webhook.url: has no host (got \"https://\")"]
    );
}

#[test]
fn format_names_parse_for_the_command_line() {
    assert_eq!("md".parse::<ReportFormat>(), Ok(ReportFormat::Markdown));
    assert_eq!("HTML".parse::<ReportFormat>(), Ok(ReportFormat::Html));
    assert_eq!(
        "pdf".parse::<ReportFormat>(),
        Err("unknown report format `pdf` (expected one of: html, markdown, json, csv)".into())
    );
}
