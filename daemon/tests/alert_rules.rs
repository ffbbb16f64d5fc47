//! The alerting rules `deploy/prometheus/` ships: valid (`promtool check rules`),
//! unit-tested (`promtool test rules`), every adaptd metric and label value they
//! select exported by a running `adaptd serve`, and evaluated by a real Prometheus
//! scraping it: a refused Alertmanager request fires `AdaptdAlertIntakeRefusing`
//! while the rules about a healthy service stay quiet.

mod alerts_support;
mod service_support;

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use alerts_support::*;
use serde_json::Value;
use service_support::*;

fn rules_dir() -> PathBuf {
    repo().join("deploy/prometheus")
}

fn promtool(args: &[&str]) -> String {
    let out = Command::new("promtool")
        .args(args)
        .current_dir(rules_dir())
        .output()
        .expect("promtool runs (scripts/setup-test-services installs it)");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "promtool {args:?} failed:\n{text}");
    text
}

#[test]
fn the_rules_are_valid_and_pass_their_unit_tests() {
    let checked = promtool(&["check", "rules", "adaptd-alerts.yml"]);
    assert!(checked.contains("SUCCESS: 9 rules found"), "{checked}");
    promtool(&["test", "rules", "adaptd-alerts.test.yml"]);
}

/// Every alert's name and expression, from the rules file.
fn rules() -> Vec<(String, String)> {
    let docs = yaml(&rules_dir().join("adaptd-alerts.yml"));
    let mut out = Vec::new();
    for g in docs[0]["groups"].as_array().unwrap() {
        for r in g["rules"].as_array().unwrap() {
            out.push((
                r["alert"].as_str().unwrap().to_owned(),
                r["expr"].as_str().unwrap().to_owned(),
            ));
        }
    }
    out
}

/// A vector selector: the metric and its equality matchers.
#[derive(Debug)]
struct Selector {
    metric: String,
    equal: Vec<(String, String)>,
}

/// The `adaptd_*` selectors of a PromQL expression. Matchers other than `=` are kept
/// out: their values are patterns. `job` is Prometheus's label, not adaptd's.
fn selectors(expr: &str) -> Vec<Selector> {
    let mut out = Vec::new();
    let mut rest = expr;
    while let Some(i) = rest.find("adaptd_") {
        let preceded = rest[..i]
            .chars()
            .last()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
        let tail = &rest[i..];
        let end = tail
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(tail.len());
        let metric = tail[..end].to_owned();
        rest = &tail[end..];
        if preceded {
            continue;
        }
        let mut equal = Vec::new();
        if let Some(body) = rest.strip_prefix('{') {
            let close = body.find('}').expect("closed matchers");
            for m in body[..close].split(',') {
                let Some((label, value)) = m.split_once('=') else {
                    continue;
                };
                let (label, value) = (label.trim(), value.trim());
                if label == "job" || value.starts_with('~') || label.ends_with('!') {
                    continue;
                }
                equal.push((label.to_owned(), value.trim_matches('"').to_owned()));
            }
            rest = &body[close..];
        }
        out.push(Selector { metric, equal });
    }
    out
}

#[test]
fn the_selector_parser_reads_names_and_equality_matchers() {
    let s = selectors(
        r#"sum by (source) (increase(adaptd_x_total{job="adaptd", a="b", c=~"d|e", f!="g"}[5m])) / adaptd_y"#,
    );
    assert_eq!(s.len(), 2, "{s:?}");
    assert_eq!(s[0].metric, "adaptd_x_total");
    assert_eq!(s[0].equal, vec![("a".to_owned(), "b".to_owned())]);
    assert_eq!(s[1].metric, "adaptd_y");
    assert!(s[1].equal.is_empty());
}

/// Whether the exposition `text` has a sample of `s.metric` with every label value
/// `s` names.
fn exported(text: &str, s: &Selector) -> bool {
    text.lines().filter(|l| !l.starts_with('#')).any(|l| {
        let Some(rest) = l.strip_prefix(s.metric.as_str()) else {
            return false;
        };
        (rest.starts_with('{') || rest.starts_with(' '))
            && s.equal
                .iter()
                .all(|(k, v)| rest.contains(&format!("{k}=\"{v}\"")))
    })
}

#[test]
fn every_metric_the_rules_select_is_exported_and_prometheus_fires_on_a_refused_alert() {
    let _serial = serial();
    let dir = Scratch::new("alert-rules");
    let p = serve_with_alerts(&dir, &StoreKind::Sqlite);
    let metrics = get_text(&p.url("/metrics"));

    let rules = rules();
    assert_eq!(rules.len(), 9);
    let mut missing = Vec::new();
    let mut seen = BTreeSet::new();
    for (alert, expr) in &rules {
        for s in selectors(expr) {
            seen.insert(s.metric.clone());
            if !exported(&metrics, &s) {
                missing.push(format!("{alert}: {s:?}"));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "selected by the rules but not exported:\n{}\n/metrics:\n{metrics}",
        missing.join("\n")
    );
    assert!(seen.len() >= 7, "{seen:?}");

    // A real Prometheus scraping the service (job "adaptd") with the shipped rules.
    let target = p.url("").trim_start_matches("http://").to_owned();
    let rules_text = std::fs::read_to_string(rules_dir().join("adaptd-alerts.yml")).unwrap();
    let prom = prometheus(&dir, &target, &rules_text, "127.0.0.1:9");
    let query = |path: &str| {
        let (s, v) = get(&prom.url(path));
        assert_eq!(s, 200, "{v}");
        v
    };
    // Scraped at least twice: the refusal counters' zeros are known before a refusal.
    wait_for(
        "two scrapes of adaptd",
        Duration::from_secs(60),
        || prom.log_text(),
        || {
            let v = query(
                "/api/v1/query?query=count_over_time(adaptd_leader%7Bjob%3D%22adaptd%22%7D%5B1m%5D)",
            );
            (v["data"]["result"][0]["value"][1]
                .as_str()
                .and_then(|n| n.parse::<f64>().ok())
                .unwrap_or(0.0)
                >= 2.0)
                .then_some(())
        },
    );
    let (s, e) = post_with(
        &p.url("/api/v1/alerts/alertmanager"),
        &[("Authorization", "Bearer not-the-token")],
        "{}",
    );
    assert_eq!(
        (s, e["error"]["code"].as_str()),
        (401, Some("unauthorized")),
        "{e}"
    );

    let firing = wait_for(
        "AdaptdAlertIntakeRefusing to fire",
        Duration::from_secs(60),
        || prom.log_text(),
        || {
            let v = query("/api/v1/alerts");
            let alerts = v["data"]["alerts"].as_array()?.clone();
            alerts
                .iter()
                .any(|a| {
                    a["labels"]["alertname"] == "AdaptdAlertIntakeRefusing"
                        && a["state"] == "firing"
                })
                .then_some(alerts)
        },
    );
    let refusing: Vec<&Value> = firing
        .iter()
        .filter(|a| a["labels"]["alertname"] == "AdaptdAlertIntakeRefusing")
        .collect();
    assert_eq!(refusing.len(), 1, "{firing:#?}");
    assert_eq!(refusing[0]["labels"]["source"], "alertmanager");
    assert_eq!(refusing[0]["labels"]["code"], "unauthorized");
    // The service is healthy otherwise: it leads, cycled, nothing stale or rolled back.
    let others: Vec<&Value> = firing
        .iter()
        .filter(|a| a["labels"]["alertname"] != "AdaptdAlertIntakeRefusing")
        .collect();
    assert!(others.is_empty(), "{others:#?}");
    // Every rule evaluates without error against what adaptd exports.
    let groups = query("/api/v1/rules");
    let groups = groups["data"]["groups"].as_array().unwrap();
    let evaluated: Vec<&Value> = groups
        .iter()
        .flat_map(|g| g["rules"].as_array().unwrap())
        .collect();
    assert_eq!(evaluated.len(), 9);
    for r in evaluated {
        assert_eq!(r["health"], "ok", "{r:#}");
    }
}
