//! The Grafana dashboards in `dashboards/`: each passes the type check of Grafana's
//! published `Dashboard` type (npm `@grafana/schema`, `tsc --strict`), a broken one
//! does not, every metric they name is one adaptd registers, and every panel query,
//! run against a real Prometheus that scraped a running `adaptd serve`, returns data.
//!
//! `scripts/setup-dashboard-tools` installs the npm packages into
//! tests/dashboards/node_modules; `scripts/setup-test-services` installs Prometheus
//! and moto. Missing tools fail the tests with what to run.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use serde_json::{Value, json};

use super::service_support::*;

const DASHBOARDS: [&str; 3] = ["overview", "component", "health"];

fn dashboard(name: &str) -> Value {
    let path = repo().join(format!("dashboards/{name}.json"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path:?}: {e}"))
}

/// Every panel, rows' nested panels included.
fn panels(d: &Value) -> Vec<&Value> {
    let mut out = Vec::new();
    for p in d["panels"].as_array().into_iter().flatten() {
        out.push(p);
        out.extend(p["panels"].as_array().into_iter().flatten());
    }
    out
}

/// (panel title, refId, expr, instant) of every query of `d`.
fn queries(d: &Value) -> Vec<(String, String, String, bool)> {
    panels(d)
        .into_iter()
        .flat_map(|p| {
            p["targets"].as_array().into_iter().flatten().map(|t| {
                (
                    p["title"].as_str().unwrap_or("").to_owned(),
                    t["refId"].as_str().unwrap_or("").to_owned(),
                    t["expr"].as_str().unwrap_or("").to_owned(),
                    t["instant"].as_bool() == Some(true),
                )
            })
        })
        .collect()
}

// ---------------------------------------------------------------------------
// The type check

/// The dashboard as a TypeScript module that assigns it to a constant of Grafana's
/// `Dashboard` type. A dashboard is JSON, where an enum is its value: `Json<T>`
/// turns TypeScript's string enums (ThresholdsMode, FieldColorModeId, MappingType)
/// into the unions of their values and leaves every other type as it is, so an
/// unknown key, a wrong type, a bad enum value or a missing required field is
/// still an error.
fn typescript_module(d: &Value) -> String {
    format!(
        "import type {{ Dashboard }} from '@grafana/schema';\n\
         type Json<T> = T extends string ? `${{T}}` : T extends readonly (infer U)[] ? Json<U>[] : T extends object ? {{ [K in keyof T]: Json<T[K]> }} : T;\n\
         export const dashboard: Json<Dashboard> = {};\n",
        serde_json::to_string_pretty(d).unwrap()
    )
}

fn node_modules() -> PathBuf {
    let dir = repo().join("tests/dashboards/node_modules");
    assert!(
        dir.join("@grafana/schema/package.json").exists()
            && dir.join("typescript/bin/tsc").exists(),
        "@grafana/schema and typescript are not installed in {dir:?}: run scripts/setup-dashboard-tools"
    );
    dir
}

/// Runs `tsc --noEmit --strict --skipLibCheck` over `files` (name → module text) in
/// a scratch folder beside node_modules; returns tsc's diagnostics per file name.
fn tsc(files: &[(String, String)]) -> BTreeMap<String, Vec<String>> {
    let modules = node_modules();
    let n = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let dir = repo().join(format!(
        "tests/dashboards/.check-{}-{n}",
        std::process::id()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let _cleanup = Scratch(dir.clone());
    for (name, text) in files {
        std::fs::write(dir.join(name), text).unwrap();
    }
    let out = Command::new("node")
        .arg(modules.join("typescript/bin/tsc"))
        .args([
            "--noEmit",
            "--strict",
            "--skipLibCheck",
            "--module",
            "esnext",
            "--moduleResolution",
            "bundler",
            "--target",
            "es2022",
            "--pretty",
            "false",
        ])
        .args(files.iter().map(|(name, _)| name))
        .current_dir(&dir)
        .output()
        .expect("node runs (apt-get install nodejs)");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let mut by_file: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for line in text.lines().filter(|l| l.contains("error TS")) {
        let file = line.split('(').next().unwrap_or("").to_owned();
        by_file.entry(file).or_default().push(line.to_owned());
    }
    // Errors that are not about one of our files (a missing module, a bad flag)
    // would leave the dashboards unchecked.
    let unknown: Vec<&String> = by_file
        .keys()
        .filter(|f| !files.iter().any(|(name, _)| name == *f))
        .collect();
    assert!(
        unknown.is_empty(),
        "tsc failed outside the dashboards:\n{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        out.status.success(),
        by_file.is_empty(),
        "tsc exit status and diagnostics disagree:\n{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    by_file
}

/// Broken copies of the overview, each with one mistake the type check must catch.
fn broken_dashboards() -> Vec<(&'static str, Value)> {
    let good = dashboard("overview");
    let panel = good["panels"]
        .as_array()
        .unwrap()
        .iter()
        .position(|p| p["type"] != "row")
        .unwrap();
    let mut out = Vec::new();
    let mut d = good.clone();
    d["titel"] = json!("typo of title");
    out.push(("unknown_key", d));
    let mut d = good.clone();
    d["schemaVersion"] = json!("39");
    out.push(("schema_version_as_string", d));
    let mut d = good.clone();
    d.as_object_mut().unwrap().remove("schemaVersion");
    out.push(("no_schema_version", d));
    let mut d = good.clone();
    d["panels"][panel]["fieldConfig"]["defaults"]["thresholds"] =
        json!({"mode": "absolut", "steps": [{"color": "green", "value": null}]});
    out.push(("bad_thresholds_mode", d));
    let mut d = good.clone();
    d["templating"]["list"][1]["type"] = json!("qery");
    out.push(("bad_variable_type", d));
    let mut d = good.clone();
    d["panels"][panel]["gridPos"]["w"] = json!("6");
    out.push(("grid_width_as_string", d));
    let mut d = good;
    d["panels"][panel]["fieldConfig"]
        .as_object_mut()
        .unwrap()
        .remove("overrides");
    out.push(("field_config_without_overrides", d));
    out
}

#[test]
fn dashboards_pass_the_grafana_schema_type_check_and_broken_ones_do_not() {
    let mut files: Vec<(String, String)> = DASHBOARDS
        .iter()
        .map(|n| (format!("{n}.ts"), typescript_module(&dashboard(n))))
        .collect();
    let broken = broken_dashboards();
    for (name, d) in &broken {
        files.push((format!("broken_{name}.ts"), typescript_module(d)));
    }
    let errors = tsc(&files);
    for n in DASHBOARDS {
        assert!(
            !errors.contains_key(&format!("{n}.ts")),
            "dashboards/{n}.json fails the @grafana/schema type check:\n{}",
            errors[&format!("{n}.ts")].join("\n")
        );
    }
    for (name, _) in &broken {
        assert!(
            errors.contains_key(&format!("broken_{name}.ts")),
            "the type check let a broken dashboard ({name}) pass; errors: {errors:#?}"
        );
    }
}

// ---------------------------------------------------------------------------
// Static checks tsc does not make

/// Metric names `daemon/service/src/metrics.rs` registers.
fn registered_metrics() -> BTreeSet<String> {
    let src = std::fs::read_to_string(repo().join("daemon/service/src/metrics.rs")).unwrap();
    src.split('"')
        .skip(1)
        .step_by(2)
        .filter(|s| {
            s.starts_with("adaptd_")
                && s.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        })
        .map(str::to_owned)
        .collect()
}

/// `adaptd_…` names in a PromQL expression.
fn metric_names(expr: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut rest = expr;
    while let Some(i) = rest.find("adaptd_") {
        let before = rest[..i].chars().last();
        let tail = &rest[i..];
        let end = tail
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(tail.len());
        if !before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_') {
            out.insert(tail[..end].to_owned());
        }
        rest = &tail[end..];
    }
    out
}

#[test]
fn dashboards_name_only_registered_metrics_and_are_complete() {
    let registered = registered_metrics();
    assert!(registered.len() >= 20, "{registered:?}");
    let mut used = BTreeSet::new();
    for n in DASHBOARDS {
        let d = dashboard(n);
        assert!(
            d["title"].as_str().is_some_and(|t| !t.is_empty()),
            "{n}: no title"
        );
        assert!(
            d["uid"]
                .as_str()
                .is_some_and(|u| u == format!("adaptd-{n}")),
            "{n}: uid"
        );
        let mut ids = BTreeSet::new();
        for p in panels(&d) {
            let title = p["title"].as_str().unwrap_or("");
            assert!(!title.is_empty(), "{n}: a panel without a title: {p}");
            assert!(
                ids.insert(p["id"].as_i64().unwrap()),
                "{n}: panel id {} twice",
                p["id"]
            );
            for k in ["x", "y", "w", "h"] {
                assert!(
                    p["gridPos"][k].as_u64().is_some(),
                    "{n}/{title}: gridPos.{k}"
                );
            }
            let gp = &p["gridPos"];
            assert!(
                gp["x"].as_u64().unwrap() + gp["w"].as_u64().unwrap() <= 24,
                "{n}/{title}: wider than the grid"
            );
            if p["type"] != "row" {
                assert!(
                    p["targets"].as_array().is_some_and(|t| !t.is_empty()),
                    "{n}/{title}: no query"
                );
            }
        }
        for (title, _, expr, _) in queries(&d) {
            let names = metric_names(&expr);
            for m in &names {
                let base = ["_bucket", "_sum", "_count"]
                    .iter()
                    .find_map(|s| m.strip_suffix(s).filter(|b| registered.contains(*b)))
                    .unwrap_or(m);
                assert!(
                    registered.contains(base),
                    "{n}/{title}: {m} is not a metric of daemon/service/src/metrics.rs"
                );
                used.insert(base.to_owned());
            }
        }
    }
    // The metrics the issue asks the dashboards to show.
    for m in [
        "adaptd_savings_available_usd_per_month",
        "adaptd_component_cost_usd_per_month",
        "adaptd_recommendations",
        "adaptd_component_predicted_latency_seconds",
        "adaptd_component_observed_duration_seconds",
        "adaptd_component_provisioned_concurrency",
        "adaptd_component_invocations_per_minute",
        "adaptd_cycle_stage_duration_seconds",
        "adaptd_cycle_failures_total",
        "adaptd_collector_up",
        "adaptd_observation_cost_usd_total",
        "adaptd_leader",
    ] {
        assert!(used.contains(m), "no dashboard shows {m}");
    }
    // The component drill-down is driven by its variable.
    let c = dashboard("component");
    let vars: Vec<&str> = c["templating"]["list"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["name"].as_str().unwrap())
        .collect();
    assert!(vars.contains(&"component"), "{vars:?}");
    for (title, _, expr, _) in queries(&c) {
        assert!(expr.contains("component=\"$component\""), "{title}: {expr}");
    }
}

// ---------------------------------------------------------------------------
// Every query against a real Prometheus that scraped adaptd

/// Prometheus scraping `target` (host:port) every second as job `adaptd`.
fn prometheus(dir: &Scratch, target: &str) -> Proc {
    let port = free_port();
    let config = dir.path("prometheus.yml");
    std::fs::write(
        &config,
        format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n  - job_name: adaptd\n    static_configs:\n      - targets: ['{target}']\n"
        ),
    )
    .unwrap();
    let log = dir.path("prometheus.log");
    let out = std::fs::File::create(&log).unwrap();
    let child = Command::new("prometheus")
        .arg(format!("--config.file={}", config.display()))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.path("prom-data").display()
        ))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .arg(format!("--web.external-url=http://127.0.0.1:{port}/"))
        .stdout(out.try_clone().unwrap())
        .stderr(out)
        .spawn()
        .expect("prometheus runs (scripts/setup-test-services installs it)");
    let p = Proc { child, log, port };
    wait_for(
        "Prometheus to be ready",
        Duration::from_secs(60),
        || p.log_text(),
        || {
            reqwest::blocking::get(p.url("/-/ready"))
                .ok()
                .filter(|r| r.status().is_success())
        },
    );
    p
}

/// A PromQL query: instant at now, or a range over the last five minutes. Panics on
/// an error (bad PromQL is a 400); returns the result.
fn promql(prom: &Proc, expr: &str, instant: bool) -> Vec<Value> {
    let client = reqwest::blocking::Client::new();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    let req = if instant {
        client
            .get(prom.url("/api/v1/query"))
            .query(&[("query", expr), ("time", &now.to_string())])
    } else {
        client.get(prom.url("/api/v1/query_range")).query(&[
            ("query", expr),
            ("start", &(now - 300.0).to_string()),
            ("end", &now.to_string()),
            ("step", "2"),
        ])
    };
    let r = req.send().unwrap();
    let status = r.status().as_u16();
    let v: Value = r.json().unwrap();
    assert_eq!(status, 200, "{expr}: {v}");
    v["data"]["result"].as_array().cloned().unwrap_or_default()
}

/// Whether any sample of a result is a finite number.
fn has_finite_value(result: &[Value]) -> bool {
    result.iter().any(|s| {
        let samples: Vec<&Value> = match s.get("values") {
            Some(vs) => vs.as_array().unwrap().iter().collect(),
            None => vec![&s["value"]],
        };
        samples.iter().any(|v| {
            v[1].as_str()
                .and_then(|x| x.parse::<f64>().ok())
                .is_some_and(f64::is_finite)
        })
    })
}

/// Values of a `label_values(SELECTOR, LABEL)` variable, as Grafana asks for them.
fn label_values(prom: &Proc, query: &str) -> Vec<String> {
    let inner = query
        .strip_prefix("label_values(")
        .and_then(|q| q.strip_suffix(')'))
        .unwrap_or_else(|| panic!("not label_values(): {query}"));
    let (selector, label) = inner.rsplit_once(',').unwrap();
    let v: Value = reqwest::blocking::Client::new()
        .get(prom.url(&format!("/api/v1/label/{}/values", label.trim())))
        .query(&[("match[]", selector.trim())])
        .send()
        .unwrap()
        .json()
        .unwrap();
    v["data"]
        .as_array()
        .unwrap_or_else(|| panic!("{query}: {v}"))
        .iter()
        .map(|s| s.as_str().unwrap().to_owned())
        .collect()
}

/// Grafana's substitutions: the dashboard's variables, then the built-in intervals.
fn substitute(expr: &str, vars: &BTreeMap<String, String>) -> String {
    let mut e = expr
        .replace("$__rate_interval", "1m")
        .replace("$__range", "5m")
        .replace("$__interval", "2s");
    for (k, v) in vars {
        e = e
            .replace(&format!("${{{k}}}"), v)
            .replace(&format!("${k}"), v);
    }
    assert!(!e.contains('$'), "a variable left in {e}");
    e
}

#[test]
fn every_panel_query_returns_data_from_a_prometheus_that_scraped_adaptd() {
    let _serial = serial();
    let dir = Scratch::new("dashboards");
    let (moto, _) = moto(&dir, 2);
    let port = free_port();
    let cfg = config(&dir, port, &StoreKind::Sqlite, Some(&moto), 2, 1.0);
    let mut env = AWS_ENV.to_vec();
    env.push(("AWS_EC2_METADATA_DISABLED", "true"));
    let serve = serve(&cfg, port, &env, dir.path("serve.log"));
    let prom = prometheus(&dir, &format!("127.0.0.1:{port}"));

    // A good cycle, a failed collection (collector errors), a good one again; API
    // requests for the HTTP panels.
    let first = next_cycle(&serve, 0);
    assert_eq!(first["outcome"], "ok", "{first:#}\n{}", serve.log_text());
    let t = now_ms();
    std::fs::write(dir.path("telemetry.csv.gz"), b"not gzip").unwrap();
    let broken = cycle_started_after(&serve, t);
    assert_eq!(broken["outcome"], "partial", "{broken:#}");
    let t = now_ms();
    std::fs::copy(
        repo().join("examples/telemetry.csv.gz"),
        dir.path("telemetry.csv.gz"),
    )
    .unwrap();
    let healed = cycle_started_after(&serve, t);
    assert_eq!(healed["outcome"], "ok", "{healed:#}");
    for _ in 0..5 {
        assert_eq!(get(&serve.url("/api/v1/recommendations")).0, 200);
    }
    // Prometheus has scraped the healed state a few times.
    wait_for(
        "Prometheus to scrape the healed cycle",
        Duration::from_secs(60),
        || prom.log_text(),
        || {
            let r = promql(
                &prom,
                "count_over_time(adaptd_collector_up{source=\"file\"}[20s]) >= 5 and adaptd_collector_up{source=\"file\"} == 1 and on() adaptd_collector_errors_total{source=\"file\"} > 0",
                true,
            );
            (!r.is_empty()).then_some(())
        },
    );

    // The check is not vacuous: an unknown metric and a label value nobody has
    // return nothing.
    assert!(promql(&prom, "adaptd_no_such_metric", true).is_empty());
    assert!(
        promql(
            &prom,
            "adaptd_component_cost_usd_per_month{component=\"no-such\"}",
            true
        )
        .is_empty()
    );

    let mut failures = Vec::new();
    let mut checked = 0;
    for n in DASHBOARDS {
        let d = dashboard(n);
        // Variables in order, each from Prometheus as Grafana would ask.
        let mut vars = BTreeMap::new();
        for v in d["templating"]["list"].as_array().unwrap() {
            let name = v["name"].as_str().unwrap().to_owned();
            match v["type"].as_str().unwrap() {
                "datasource" => {}
                "query" => {
                    let q = v["query"]["query"]
                        .as_str()
                        .or(v["query"].as_str())
                        .unwrap();
                    let values = label_values(&prom, &substitute(q, &vars));
                    assert!(
                        !values.is_empty(),
                        "{n}: variable {name} ({q}) has no values"
                    );
                    let pick = if name == "component" {
                        // The largest component of the example shop, as a user
                        // would pick it from the list.
                        assert!(values.iter().any(|c| c == "search-api"), "{values:?}");
                        "search-api".to_owned()
                    } else {
                        values[0].clone()
                    };
                    vars.insert(name, pick);
                }
                t => panic!("{n}: variable {name} of type {t} is not resolved by this test"),
            }
        }
        for (title, ref_id, expr, instant) in queries(&d) {
            let e = substitute(&expr, &vars);
            let result = promql(&prom, &e, instant);
            checked += 1;
            if !has_finite_value(&result) {
                failures.push(format!("{n} / {title} / {ref_id}: {e}\n  → {result:?}"));
            }
        }
    }
    assert!(checked >= 40, "only {checked} queries");
    assert!(
        failures.is_empty(),
        "{} of {checked} panel queries returned no data:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn provisioning_files_declare_a_prometheus_datasource_and_a_file_provider() {
    let dir = repo().join("dashboards/provisioning");
    let ds = yaml(&dir.join("datasources/prometheus.yaml"));
    assert_eq!(ds.len(), 1);
    assert_eq!(ds[0]["apiVersion"], 1);
    let sources = ds[0]["datasources"].as_array().unwrap();
    assert!(
        sources
            .iter()
            .any(|s| s["type"] == "prometheus" && s["url"].is_string()),
        "{ds:?}"
    );
    let dash = yaml(&dir.join("dashboards/adaptd.yaml"));
    assert_eq!(dash[0]["apiVersion"], 1);
    let provider = &dash[0]["providers"][0];
    assert_eq!(provider["type"], "file", "{provider}");
    assert!(provider["options"]["path"].is_string(), "{provider}");
    // The dashboards' variables look for a Prometheus datasource.
    for n in DASHBOARDS {
        let d = dashboard(n);
        let v = &d["templating"]["list"][0];
        assert_eq!(
            (v["name"].as_str(), v["query"].as_str()),
            (Some("datasource"), Some("prometheus")),
            "{n}"
        );
    }
}
