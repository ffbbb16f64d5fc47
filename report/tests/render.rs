//! Every format rendered from the same inputs: Markdown against snapshots, JSON against
//! its schema, HTML checked for self-containment, CSV, the webhook message, the files and
//! the index, and the applied-changes file's errors.
//!
//! Snapshots live in `report/tests/snapshots/`; `UPDATE_SNAPSHOTS=1 cargo test -p
//! adaptd-report` rewrites them (review the diff before committing).

mod common;

use std::path::PathBuf;

use adaptd_report::{
    AppliedFile, ChangeOutcome, ChangeState, Period, ReportFormat, RiskKind, build, file_names,
    render, render_files, render_index, slack_message,
};

fn snapshot(name: &str, actual: &str) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/snapshots")
        .join(name);
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(&path, actual).expect("write snapshot");
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|_| {
        panic!(
            "missing snapshot {}; run with UPDATE_SNAPSHOTS=1 to create it",
            path.display()
        )
    });
    if expected != actual {
        let first = expected
            .lines()
            .zip(actual.lines())
            .position(|(a, b)| a != b)
            .unwrap_or(expected.lines().count().min(actual.lines().count()));
        panic!(
            "{name} differs from its snapshot at line {}:\n  expected: {:?}\n  actual:   {:?}\n(UPDATE_SNAPSHOTS=1 to accept)",
            first + 1,
            expected.lines().nth(first),
            actual.lines().nth(first)
        );
    }
}

fn schema() -> serde_json::Value {
    let text = include_str!("../../docs/report.schema.json");
    serde_json::from_str(text).expect("the schema is JSON")
}

#[test]
fn markdown_matches_its_snapshot() {
    let report = build(&common::inputs());
    snapshot(
        "weekly.md",
        &render(&report, ReportFormat::Markdown).unwrap(),
    );
}

#[test]
fn markdown_of_a_quiet_week_matches_its_snapshot() {
    let mut inputs = common::inputs();
    inputs.previous = None;
    inputs.changes.clear();
    inputs.data_quality.clear();
    inputs.frontiers.clear();
    inputs.observed.clear();
    inputs.recommendations.components.truncate(2);
    snapshot(
        "quiet.md",
        &render(&build(&inputs), ReportFormat::Markdown).unwrap(),
    );
}

#[test]
fn json_validates_against_the_schema() {
    let validator = jsonschema::validator_for(&schema()).expect("the schema compiles");
    let report = build(&common::inputs());
    let json: serde_json::Value =
        serde_json::from_str(&render(&report, ReportFormat::Json).unwrap()).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(&json)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{}", errors.join("\n"));
    // The schema is strict enough to catch a wrong document.
    let mut broken = json.clone();
    broken["summary"]["slo_risks"] = serde_json::json!("two");
    assert!(!validator.is_valid(&broken));
    let mut extra = json.clone();
    extra["components"][0]["surprise"] = serde_json::json!(1);
    assert!(!validator.is_valid(&extra));
    let mut deployment = json;
    deployment["changes"][0]["change"]["after"]["platform"] = serde_json::json!("ec2");
    assert!(!validator.is_valid(&deployment));
}

#[test]
fn the_document_sums_what_it_shows() {
    let report = build(&common::inputs());
    let s = &report.summary;
    assert_eq!(report.period.id, "2026-11-23");
    assert_eq!(report.period.start, "2026-11-16T00:00:00Z");
    assert_eq!(report.generated_at, "2026-11-23T08:00:00Z");
    assert_eq!((s.changes_applied, s.changes_rolled_back), (1, 1));
    // Applied and live count toward the prediction; only the measured one is realised.
    assert!((s.predicted_savings_applied_usd_per_month - (2.48 + 3.77)).abs() < 1e-9);
    assert!((s.realised_savings_usd_per_month - 1.9).abs() < 1e-9);
    assert!((s.predicted_savings_measured_usd_per_month - 2.48).abs() < 1e-9);
    assert!((s.realised_error_usd_per_month - (1.9 - 2.48)).abs() < 1e-9);
    assert_eq!(s.changes_not_measured, 1);
    let prev = s.previous_available_savings_usd_per_month.unwrap();
    assert!((prev - 0.8 * s.available_savings_usd_per_month).abs() < 1e-6);
    // Largest saving first.
    let savings: Vec<f64> = report
        .components
        .iter()
        .map(|c| c.saving_usd_per_month)
        .collect();
    assert!(savings.windows(2).all(|w| w[0] >= w[1]), "{savings:?}");
    assert!(!report.components[0].frontier.is_empty());
    // The rollback is an SLO risk, and so is each predicted breach.
    assert!(
        report
            .slo_risks
            .iter()
            .any(|r| r.kind == RiskKind::RolledBack && r.detail.contains("p99 alarm"))
    );
    let breaches = report
        .components
        .iter()
        .filter(|c| c.status != adaptd_optimizer::recommend::Status::SloInfeasible)
        .filter(|c| {
            common::recommendations().components.iter().any(|r| {
                r.component == c.component && r.current.as_ref().is_some_and(|p| !p.meets_slo)
            })
        })
        .count();
    assert_eq!(
        report
            .slo_risks
            .iter()
            .filter(|r| r.kind == RiskKind::BreachPredicted)
            .count(),
        breaches
    );
    assert_eq!(s.slo_risks, report.slo_risks.len());
    // Fleet-wide data-quality findings lead.
    assert_eq!(report.data_quality[0].component, None);
    assert_eq!(s.data_quality_warnings, report.data_quality.len());
}

#[test]
fn html_is_self_contained_and_has_every_section() {
    let report = build(&common::inputs());
    let html = render(&report, ReportFormat::Html).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(!html.contains("<script"), "no JavaScript");
    for attr in ["src=", "@import", "url(", "<link"] {
        assert!(!html.contains(attr), "external resource: {attr}");
    }
    // Every href is an in-page anchor.
    for (i, _) in html.match_indices("href=\"") {
        assert_eq!(&html[i + 6..i + 7], "#", "{}", &html[i..i + 60]);
    }
    for heading in [
        "Top opportunities",
        "SLO risks",
        "Changes applied and rolled back",
        "Data quality",
        "Components",
    ] {
        assert!(html.contains(&format!(">{heading}</h2>")), "{heading}");
    }
    // Per component with data: traffic, cost, latency charts; a frontier for the top one.
    let with_data = report
        .components
        .iter()
        .filter(|c| c.current_cost.is_some())
        .count();
    assert_eq!(
        html.matches("traffic by hour with the provisioned schedule</title>")
            .count(),
        report.components.len()
    );
    assert_eq!(
        html.matches("monthly cost now and recommended</title>")
            .count(),
        with_data
    );
    assert_eq!(
        html.matches("predicted and observed p99 by hour</title>")
            .count(),
        report.components.len()
    );
    assert_eq!(html.matches("cost–latency frontier</title>").count(), 1);
    assert!(html.contains("p99 alarm fired at 09:12"));
    assert!(html.contains("not measured"));
    // Balanced SVG.
    assert_eq!(html.matches("<svg").count(), html.matches("</svg>").count());
}

#[test]
fn csv_has_a_row_per_component_and_change() {
    let report = build(&common::inputs());
    let files = render_files(&report, &[ReportFormat::Csv]).unwrap();
    let names: Vec<&str> = files.iter().map(|f| f.name).collect();
    assert_eq!(names, ["components.csv", "changes.csv", "manifest.json"]);
    let components = &files[0].contents;
    assert_eq!(components.lines().count(), 1 + report.components.len());
    assert!(components.starts_with("component,status,current,recommended,current_usd_per_month,"));
    let header_cells = components.lines().next().unwrap().split(',').count();
    assert_eq!(header_cells, 18);
    let changes = &files[1].contents;
    assert_eq!(changes.lines().count(), 4);
    assert!(changes.contains("email-sender,applied,2026-11-18T00:00:00Z,,lambda 512 MB x86_64,lambda 256 MB x86_64,2.48,1.9,-0.58,"), "{changes}");
    assert!(changes.contains("checkout-api,rolled_back,"));
}

#[test]
fn files_have_stable_names_and_a_manifest_the_index_reads() {
    let report = build(&common::inputs());
    let files = render_files(&report, &ReportFormat::ALL).unwrap();
    let names: Vec<&str> = files.iter().map(|f| f.name).collect();
    assert_eq!(
        names,
        [
            "report.html",
            "report.md",
            "report.json",
            "components.csv",
            "changes.csv",
            "manifest.json"
        ]
    );
    for f in ReportFormat::ALL {
        assert!(file_names(f).iter().all(|n| names.contains(n)));
    }
    let manifest: adaptd_report::Manifest =
        serde_json::from_str(&files.last().unwrap().contents).unwrap();
    assert_eq!(manifest.files.len(), 5);
    let mut older = manifest.clone();
    older.period.id = "2026-11-16".into();
    older.period.start_minute -= 7 * 1440;
    older.period.end_minute -= 7 * 1440;
    let index = render_index(&[older, manifest]);
    let newer_at = index
        .find("href=\"2026-11-23/report.html\"")
        .expect("links the new week");
    let older_at = index
        .find("href=\"2026-11-16/report.html\"")
        .expect("links the old week");
    assert!(newer_at < older_at, "newest first");
    assert!(render_index(&[]).contains("No reports yet."));
}

#[test]
fn the_webhook_message_has_the_headline_top_items_and_link() {
    let report = build(&common::inputs());
    let m = slack_message(&report, "https://reports.example/2026-11-23/report.html", 3);
    let text = m["text"].as_str().unwrap();
    assert!(
        text.starts_with("adaptd weekly report, 16 Nov – 22 Nov 2026: $"),
        "{text}"
    );
    assert!(text.contains("<https://reports.example/2026-11-23/report.html|Open the full report>"));
    let blocks = m["blocks"].as_array().unwrap();
    let top = blocks
        .iter()
        .find_map(|b| {
            b["text"]["text"]
                .as_str()
                .filter(|t| t.starts_with("*Top opportunities*"))
        })
        .expect("top items block");
    assert_eq!(top.lines().count(), 4, "{top}");
    assert!(top.contains(&format!("*{}*", report.components[0].component)));
    // A file path is shown, not linked.
    let m = slack_message(&report, "/srv/reports/2026-11-23/report.html", 3);
    assert!(
        m["text"]
            .as_str()
            .unwrap()
            .contains("Full report: `/srv/reports/2026-11-23/report.html`")
    );
}

#[test]
fn applied_files_parse_and_bad_ones_say_where() {
    let ok = r#"{"changes": [{"component": "a", "applied_at_minute": 100,
        "before": {"platform": "lambda", "memory_mb": 512, "architecture": "x86_64"},
        "after": {"platform": "lambda", "memory_mb": 256, "architecture": "arm64",
                  "provisioned": {"kind": "constant", "value": 2}},
        "predicted_saving_usd_per_month": 12.5}]}"#;
    let f = AppliedFile::parse(ok, "applied.json").unwrap();
    assert_eq!(
        f.changes[0].after.describe(),
        "lambda 256 MB arm64, provisioned 2"
    );
    let e = AppliedFile::parse(
        &ok.replace("\"component\"", "\"componnet\""),
        "applied.json",
    )
    .unwrap_err()
    .to_string();
    assert!(e.starts_with("applied.json:1:"), "{e}");
    assert!(e.contains("unknown field `componnet`"), "{e}");
    let e = AppliedFile::parse(
        &ok.replace(
            "\"predicted_saving_usd_per_month\": 12.5",
            "\"predicted_saving_usd_per_month\": 1, \"rolled_back_at_minute\": 50",
        ),
        "applied.json",
    )
    .unwrap_err()
    .to_string();
    assert_eq!(
        e,
        "applied.json: changes[0].rolled_back_at_minute: is before applied_at_minute (got 50, applied at 100)"
    );
    let e = AppliedFile::parse(&ok.replace("\"a\"", "\" \""), "x.json")
        .unwrap_err()
        .to_string();
    assert_eq!(e, "x.json: changes[0].component: must not be empty");
}

#[test]
fn change_states_follow_the_period() {
    let p = Period {
        start_minute: 1000,
        end_minute: 2000,
    };
    let mut c = common::inputs().changes.remove(0).change;
    let at = |c: &adaptd_report::AppliedChange| ChangeOutcome::state_in(c, &p);
    c.applied_at_minute = 1500;
    assert_eq!(at(&c), Some(ChangeState::Applied));
    c.applied_at_minute = 500;
    assert_eq!(at(&c), Some(ChangeState::Live));
    c.rolled_back_at_minute = Some(1200);
    assert_eq!(at(&c), Some(ChangeState::RolledBack));
    c.rolled_back_at_minute = Some(900);
    assert_eq!(at(&c), None);
    c.rolled_back_at_minute = None;
    c.applied_at_minute = 2000;
    assert_eq!(at(&c), None);
}
