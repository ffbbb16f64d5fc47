//! The `adaptd` binary end to end: the demo, recommendations on the Azure sample, config
//! and telemetry errors with their exit codes, backtests.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn adaptd(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_adaptd"))
        .args(args)
        .current_dir(repo())
        .output()
        .expect("adaptd runs")
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("adaptd-cli-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

const COMPONENTS: [&str; 13] = [
    "audit-log-writer",
    "auth-token",
    "checkout-api",
    "email-sender",
    "image-resize",
    "inventory-api",
    "nightly-etl",
    "orders-api",
    "pdf-export",
    "report-generator",
    "search-api",
    "thumbnail-worker",
    "webhook-ingest",
];

#[test]
fn the_demo_explains_every_sample_component() {
    let o = adaptd(&["demo"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    for c in COMPONENTS {
        assert!(
            out.contains(&format!("\n{c} — ")),
            "no explanation for {c}:\n{out}"
        );
    }
    assert!(out.contains("why:"), "{out}");
    assert!(out.contains("add rds proxy for orders-db"), "{out}");
}

fn keys(v: &serde_json::Value, out: &mut std::collections::BTreeSet<String>) {
    match v {
        serde_json::Value::Object(m) => {
            for (k, v) in m {
                out.insert(k.clone());
                keys(v, out);
            }
        }
        serde_json::Value::Array(a) => a.iter().for_each(|v| keys(v, out)),
        _ => {}
    }
}

#[test]
fn the_json_document_is_versioned_and_every_key_is_documented() {
    let o = adaptd(&["demo", "--output", "json", "--detail", "full"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON");
    assert_eq!(doc["schema_version"], 1);
    // The default summary keeps hourly rows only where something changes.
    let summary = adaptd(&["demo", "--output", "json"]);
    let brief: serde_json::Value = serde_json::from_slice(&summary.stdout).expect("JSON");
    for c in brief["components"].as_array().expect("components") {
        let hours = c["hours"].as_array().map_or(0, Vec::len);
        let changes = c["status"] == "change" || c["status"] == "slo_infeasible";
        assert_eq!(hours, if changes { 24 } else { 0 }, "{}", c["component"]);
        assert!(
            c["explanation"]["alternatives"]
                .as_array()
                .map_or(0, Vec::len)
                <= 3
        );
    }
    let components = doc["components"].as_array().expect("components");
    assert_eq!(components.len(), 13);
    for c in components {
        assert!(
            !c["explanation"]["summary"]
                .as_str()
                .unwrap_or("")
                .is_empty(),
            "{c}"
        );
        assert_eq!(c["hours"].as_array().map(Vec::len), Some(24));
    }
    let search = components
        .iter()
        .find(|c| c["component"] == "search-api")
        .expect("search-api");
    assert_eq!(
        search["recommended"]["deployment"]["platform"], "fargate",
        "Fargate should win for search-api"
    );
    let checkout = components
        .iter()
        .find(|c| c["component"] == "checkout-api")
        .expect("checkout-api");
    assert_eq!(checkout["current"]["meets_slo"], false);
    assert_eq!(checkout["recommended"]["meets_slo"], true);
    let docs = std::fs::read_to_string(repo().join("docs/recommendations.md")).expect("docs");
    let mut all = std::collections::BTreeSet::new();
    keys(&doc, &mut all);
    let missing: Vec<&String> = all
        .iter()
        .filter(|k| !docs.contains(&format!("`{k}`")))
        .collect();
    assert!(
        missing.is_empty(),
        "undocumented keys in docs/recommendations.md: {missing:?}"
    );
}

#[test]
fn recommend_covers_all_500_functions_of_the_azure_sample() {
    let o = adaptd(&[
        "recommend",
        "--telemetry",
        "azure2019:tests/data/azure2019-500",
        "--output",
        "json",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON");
    let components = doc["components"].as_array().expect("components");
    assert_eq!(components.len(), 500);
    assert!(
        components.iter().all(|c| c["status"] != "no_data"),
        "every function has data"
    );
}

#[test]
fn csv_and_markdown_outputs_have_one_row_per_component() {
    let csv = adaptd(&["demo", "--output", "csv"]);
    assert!(csv.status.success());
    let text = stdout(&csv);
    assert!(text.starts_with("component,status,"));
    assert_eq!(text.lines().count(), 1 + COMPONENTS.len());
    let md = adaptd(&["demo", "--output", "markdown"]);
    assert!(md.status.success());
    let text = stdout(&md);
    assert!(text.starts_with("# adaptd recommendations"));
    assert!(
        COMPONENTS
            .iter()
            .all(|c| text.contains(&format!("| {c} |")))
    );
}

#[test]
fn config_errors_are_all_reported_with_positions_and_exit_code_2() {
    let dir = scratch("config");
    let path = dir.join("bad.toml");
    std::fs::write(
        &path,
        "[optimizer]\nmip_gap = 2.0\n\n[[components]]\nname = \"a\"\ncurrent = { memory_mb = 64 }\nsurprise = 1\n",
    )
    .expect("write");
    let o = adaptd(&["check-config", path.to_str().expect("utf-8")]);
    assert_eq!(o.status.code(), Some(2), "{}", stdout(&o));
    let err = stderr(&o);
    assert!(err.contains("bad.toml:2:"), "{err}");
    assert!(err.contains("optimizer.mip_gap"), "{err}");
    assert!(err.contains("components[0].current.memory_mb"), "{err}");
    assert!(err.contains("surprise"), "{err}");
    assert!(err.lines().count() >= 3, "all errors at once: {err}");

    let ok = adaptd(&["check-config", "examples/adaptd.toml"]);
    assert!(ok.status.success(), "{}", stderr(&ok));
}

#[test]
fn malformed_telemetry_names_the_file_and_line_and_exits_2() {
    let dir = scratch("telemetry");
    let path = dir.join("t.csv");
    std::fs::write(
        &path,
        "timestamp,component,metric,stat,value\n2026-11-16T08:00:00Z,f,invocations,sum,3\n2026-11-16T08:01:00Z,f,latency,sum,3\n",
    )
    .expect("write");
    let o = adaptd(&["recommend", "--telemetry", path.to_str().expect("utf-8")]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(err.contains("t.csv:3"), "{err}");
    assert!(err.contains("latency"), "{err}");
}

/// A day of synthetic telemetry in the long format: a steady API (20 invocations a
/// minute of ~120 ms) and a rare job (one invocation every 40 minutes).
fn small_telemetry(dir: &Path) -> PathBuf {
    let mut csv = String::from("timestamp,component,metric,stat,value\n");
    csv.push_str("2026-11-16T00:00:00Z,api,attribute,trigger,http\n");
    csv.push_str("2026-11-16T00:00:00Z,rare,attribute,trigger,http\n");
    let start = 1_794_787_200i64; // 2026-11-16T00:00:00Z
    for m in 0..1440i64 {
        let t = start + 60 * m;
        let api = 18 + (m * 7 % 5);
        csv.push_str(&format!("{t},api,invocations,sum,{api}\n{t},api,duration_ms,avg,120\n{t},api,duration_ms,p99,300\n{t},api,max_memory_used_mb,max,90\n"));
        let rare = u8::from(m % 40 == 0);
        csv.push_str(&format!("{t},rare,invocations,sum,{rare}\n"));
        if rare == 1 {
            csv.push_str(&format!(
                "{t},rare,duration_ms,avg,800\n{t},rare,max_memory_used_mb,max,150\n"
            ));
        }
    }
    let path = dir.join("small.csv");
    std::fs::write(&path, csv).expect("write");
    path
}

#[test]
fn backtest_replays_current_and_recommended_configurations() {
    let dir = scratch("backtest");
    let telemetry = small_telemetry(&dir);
    let config = dir.join("c.toml");
    std::fs::write(
        &config,
        "[defaults]\nmemory_mb = 1024\n[[slo]]\nname = \"http\"\nmatch = { trigger = \"http\" }\nmax_cold_start_rate = 0.01\n",
    )
    .expect("write");
    let o = adaptd(&[
        "backtest",
        "--config",
        config.to_str().expect("utf-8"),
        "--telemetry",
        telemetry.to_str().expect("utf-8"),
        "--policy",
        "current,adaptd,oracle",
        "--output",
        "json",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let r: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON");
    let policies = r["policies"].as_array().expect("policies");
    assert_eq!(policies.len(), 3);
    let get =
        |p: &str, k: &str| policies.iter().find(|x| x["policy"] == p).expect("policy")[k].clone();
    // The rare job is cold every time as deployed; adaptd provisions for it.
    assert_eq!(get("current", "slo_met"), 1, "{r}");
    assert_eq!(get("adaptd", "slo_met"), 2, "{r}");
    assert_eq!(get("oracle", "slo_met"), 2, "{r}");
    // Meeting the SLO costs an environment for the rare job; the hindsight oracle is the
    // floor, and adaptd stays within sight of it.
    let money = |p: &str| get(p, "usd_per_month").as_f64().expect("number");
    assert!(money("adaptd") < 1.5 * money("oracle"), "{r}");
    let v = &r["validation"];
    assert!(
        v["cost_relative_error_median"].as_f64().expect("number") < 0.10,
        "{v}"
    );
}

/// The Azure sample's setting (`tests/data/azure2019-500-slo.toml`: every function
/// under a 1 % cold-start SLO, deployed at 1,024 MB x86_64, Lambda only), `extra`
/// appended.
fn azure_slo_config(dir: &Path, extra: &str) -> PathBuf {
    let path = dir.join("adaptd.toml");
    std::fs::write(
        &path,
        format!(
            "{}{extra}",
            include_str!("../../tests/data/azure2019-500-slo.toml")
        ),
    )
    .expect("config written");
    path
}

fn recommend_json(config: &Path) -> (Output, serde_json::Value) {
    let o = adaptd(&[
        "recommend",
        "--config",
        config.to_str().expect("utf-8 path"),
        "--telemetry",
        "azure2019:tests/data/azure2019-500",
        "--output",
        "json",
    ]);
    assert!(
        o.status.success(),
        "exit {:?}: {}",
        o.status.code(),
        stderr(&o)
    );
    let doc = serde_json::from_slice(&o.stdout).expect("JSON");
    (o, doc)
}

/// An account whose concurrency cannot hold every function's provisioned concurrency:
/// the answer is still a plan within the limit (exit 0), the functions whose SLO gives
/// way are named, and the limit says which quota would restore them.
#[test]
fn an_account_limit_that_cannot_hold_every_slo_still_gets_a_plan() {
    let dir = scratch("tight-account");
    let roomy = azure_slo_config(&dir, "");
    let (_, free) = recommend_json(&roomy);
    let needed = free["shared_limits"][0]["peak_usage"]
        .as_f64()
        .expect("peak usage");
    assert!(
        needed >= 20.0,
        "the SLOs need provisioned concurrency ({needed})"
    );
    // A fifth of what the SLOs need may be reserved (100 always stays unreserved).
    let limit = 100 + (needed / 5.0) as u32;
    let tight = azure_slo_config(
        &dir,
        &format!("\n[[accounts]]\nname = \"default\"\nconcurrency_limit = {limit}\n"),
    );
    let (o, doc) = recommend_json(&tight);
    let limit_doc = &doc["shared_limits"][0];
    assert_eq!(limit_doc["kind"], "account_concurrency");
    assert!(
        limit_doc["peak_usage"].as_f64().expect("peak")
            <= limit_doc["capacity"].as_f64().expect("capacity") + 1e-6,
        "the plan stays within the limit: {limit_doc}"
    );
    let shortfall = &limit_doc["shortfall"];
    let request = shortfall["request_limit"]
        .as_f64()
        .expect("a quota to request");
    assert!(request > f64::from(limit), "{shortfall}");
    assert!(
        request <= needed + 100.0 + 1.0,
        "no more than the SLOs need: {shortfall}"
    );
    let named: Vec<&str> = shortfall["components"]
        .as_array()
        .expect("components")
        .iter()
        .map(|c| c.as_str().expect("name"))
        .collect();
    let infeasible: Vec<&str> = doc["components"]
        .as_array()
        .expect("components")
        .iter()
        .filter(|c| c["status"] == "slo_infeasible")
        .map(|c| c["component"].as_str().expect("name"))
        .collect();
    assert!(!named.is_empty());
    assert_eq!(named, infeasible, "exactly the components that gave way");
    // What the quota would buy: every SLO held again, at a price (more provisioned
    // concurrency for the components that gave way).
    let restore = shortfall["restore_usd_per_month"]
        .as_f64()
        .unwrap_or_else(|| panic!("the cost of the restored plan: {shortfall}"));
    assert!(restore > 0.0, "{shortfall}");
    // And the quota at which the limit would not bind at all: the roomy plan's.
    let unbound = &limit_doc["unbound"];
    let free_quota = unbound["request_limit"].as_f64().expect("unbound quota");
    assert!(
        (free_quota - (needed + 100.0)).abs() <= 0.1 * needed,
        "the roomy plan peaks at {needed}: {unbound}"
    );
    let objective = |d: &serde_json::Value| d["solver"]["objective_usd_per_month"].as_f64();
    let change = objective(&free).expect("objective") - objective(&doc).expect("objective");
    let told = unbound["change_usd_per_month"].as_f64().expect("change");
    assert!(
        (told - change).abs() <= 0.01 * objective(&free).expect("objective"),
        "the roomy plan costs {change:+.2} more: {unbound}"
    );
    assert!(
        named.len() < 500 / 2,
        "the fewest components give way, not all: {}",
        named.len()
    );
    for c in doc["components"].as_array().expect("components") {
        if c["status"] == "slo_infeasible" {
            let why = c["explanation"]["binding"][0].as_str().unwrap_or_default();
            assert!(why.contains("concurrency binds"), "{why}");
        }
    }
    let warnings = doc["warnings"].as_array().expect("warnings");
    assert!(
        warnings.iter().any(|w| w
            .as_str()
            .is_some_and(|w| w.contains(&format!("quota of {request:.0}")))),
        "{warnings:?}"
    );
    assert!(
        stderr(&o).contains("warning:"),
        "a warning line beside the JSON too"
    );
    // The table says it as well.
    let table = adaptd(&[
        "recommend",
        "--config",
        tight.to_str().expect("utf-8"),
        "--telemetry",
        "azure2019:tests/data/azure2019-500",
    ]);
    assert!(table.status.success(), "{}", stderr(&table));
    assert!(stdout(&table).contains("warning: account default concurrency"));
    let free = format!("at {free_quota:.0} it would not bind and the plan would cost");
    assert!(stdout(&table).contains(&free), "{}", stdout(&table));
}

/// A time limit too short to finish: the best plan found so far and its proven gap,
/// or the deployed configuration, never an error.
#[test]
fn a_tiny_time_limit_yields_a_plan_and_its_gap_not_an_error() {
    let dir = scratch("tiny-time-limit");
    let config = azure_slo_config(
        &dir,
        "\n[[accounts]]\nname = \"default\"\nconcurrency_limit = 150\n\n[optimizer]\ntime_limit_seconds = 0.001\n",
    );
    let (_, doc) = recommend_json(&config);
    assert_eq!(doc["components"].as_array().expect("components").len(), 500);
    let gap = doc["solver"]["gap"].as_f64().expect("gap");
    assert!(gap > 0.0, "1 ms cannot prove optimality here");
    assert_eq!(
        doc["solver"]["time_limit_reached"], true,
        "{}",
        doc["solver"]
    );
    let warnings = doc["warnings"].as_array().expect("warnings");
    assert!(
        warnings.iter().any(|w| w
            .as_str()
            .is_some_and(|w| w.contains("time limit of 0.0 s"))),
        "{warnings:?}"
    );
}
