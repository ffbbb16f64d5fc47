//! `adaptd serve` end to end, on SQLite and on PostgreSQL: a cycle over the file
//! source and CloudWatch (moto), recommendations read over HTTP, an approval with
//! and without the token, bad input refused with what is wrong, `/metrics` checked by
//! promtool, a failed collection that keeps the last recommendations and marks
//! components stale, and a restart that resumes without recollecting. Then replicas:
//! two on one store never both lead, and the survivor takes over.

mod service_support;

use std::collections::BTreeSet;
use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use service_support::*;

const TOKEN: &str = "s3cret";

fn env() -> Vec<(&'static str, &'static str)> {
    let mut e = AWS_ENV.to_vec();
    e.push(("AWS_EC2_METADATA_DISABLED", "true"));
    e
}

fn promtool_check(text: &str) {
    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool runs (scripts/setup-test-services installs it)");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "promtool check metrics failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn sources_of(cycle: &Value) -> Vec<Value> {
    cycle["report"]["sources"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn source<'a>(sources: &'a [Value], name: &str) -> &'a Value {
    sources
        .iter()
        .find(|s| s["source"] == name)
        .unwrap_or_else(|| panic!("no source {name} in {sources:?}"))
}

fn end_to_end(store: &StoreKind) {
    let _serial = serial();
    let dir = Scratch::new("e2e");
    let (moto, functions) = moto(&dir, 3);
    let port = free_port();
    let cfg = config(&dir, port, store, Some(&moto), 2, 1.0);
    let mut p = serve(&cfg, port, &env(), dir.path("serve-1.log"));

    // A cycle completes over both sources.
    let first = next_cycle(&p, 0);
    assert_eq!(first["outcome"], "ok", "{first:#}\n{}", p.log_text());
    let srcs = sources_of(&first);
    assert_eq!(source(&srcs, "file")["components_with_new_data"], 13);
    assert_eq!(source(&srcs, "cloudwatch")["components_with_new_data"], 3);
    assert!(
        source(&srcs, "cloudwatch")["metrics_requested"]
            .as_u64()
            .unwrap()
            > 0
    );

    let names = component_names(&p);
    assert!(
        names.contains("search-api") && names.len() == 16,
        "{names:?}"
    );
    for f in &functions {
        assert!(names.contains(f.as_str()), "{f} not in {names:?}");
    }

    // Recommendations, largest saving first, with filters.
    let (s, list) =
        get(&p.url("/api/v1/recommendations?verdict=change&min_saving_usd_per_month=100"));
    assert_eq!(s, 200, "{list}");
    let items = list["items"].as_array().unwrap();
    assert!(!items.is_empty());
    assert_eq!(items[0]["component"], "search-api");
    assert!(
        items
            .iter()
            .all(|i| i["saving_usd_per_month"].as_f64().unwrap() >= 100.0)
    );
    let id = items[0]["id"].as_i64().unwrap();
    let (s, one) = get(&p.url(&format!("/api/v1/recommendations/{id}")));
    assert_eq!(s, 200);
    assert!(
        !one["recommendation"]["explanation"]["summary"]
            .as_str()
            .unwrap()
            .is_empty()
    );
    assert_eq!(one["inputs"]["cycle_id"].as_i64(), first["id"].as_i64());

    // Approve: refused without the token or with a wrong one, then accepted once.
    let approve = p.url(&format!("/api/v1/recommendations/{id}/approve"));
    let (s, e) = http("POST", &approve, None, None);
    assert_eq!(s, 401, "{e}");
    assert_eq!(e["error"]["code"], "unauthorized");
    assert_eq!(http("POST", &approve, Some("nope"), None).0, 401);
    let (s, ok) = http("POST", &approve, Some(TOKEN), Some(r#"{"note": "go"}"#));
    assert_eq!(s, 200, "{ok}");
    assert_eq!(ok["status"], "approved");
    let (s, e) = http("POST", &approve, Some(TOKEN), None);
    assert_eq!(s, 409, "{e}");
    assert!(
        e["error"]["message"].as_str().unwrap().contains("approved"),
        "{e}"
    );

    // Bad input: 4xx naming the place.
    let reject = p.url(&format!("/api/v1/recommendations/{id}/reject"));
    let (s, e) = http("POST", &reject, Some(TOKEN), Some(r#"{"reason": 5}"#));
    assert_eq!(
        (s, e["error"]["pointer"].as_str()),
        (400, Some("/reason")),
        "{e}"
    );
    let (s, e) = http(
        "POST",
        &reject,
        Some(TOKEN),
        Some(r#"{"reason": "x", "extra": 1}"#),
    );
    assert_eq!(
        (s, e["error"]["pointer"].as_str()),
        (400, Some("/extra")),
        "{e}"
    );
    let (s, e) = get(&p.url("/api/v1/recommendations?min_saving_usd_per_month=lots"));
    assert_eq!(
        (s, e["error"]["parameter"].as_str()),
        (400, Some("min_saving_usd_per_month"))
    );
    let (s, e) = get(&p.url("/api/v1/recommendations?colour=red"));
    assert_eq!((s, e["error"]["parameter"].as_str()), (400, Some("colour")));
    assert_eq!(get(&p.url("/api/v1/recommendations/abc")).0, 400);
    assert_eq!(get(&p.url("/api/v1/recommendations/999999")).0, 404);
    let (_, audit) = get(&p.url("/api/v1/audit"));
    assert_eq!(audit["items"][0]["action"], "recommendation.approve");

    // /metrics: the suggestions, valid for promtool.
    let metrics = wait_for(
        "metrics to show the approval",
        Duration::from_secs(20),
        || p.log_text(),
        || {
            let m = get_text(&p.url("/metrics"));
            m.contains("adaptd_recommendations{status=\"approved\",verdict=\"change\"} 1")
                .then_some(m)
        },
    );
    for needle in [
        "adaptd_component_cost_usd_per_month{component=\"search-api\",deployment=\"current\"}",
        "adaptd_savings_available_usd_per_month",
        "adaptd_component_predicted_latency_seconds{component=\"search-api\",deployment=\"recommended\",percentile=\"p99\"}",
        "adaptd_collector_up{source=\"cloudwatch\"} 1",
        "adaptd_observation_metrics_requested_total{source=\"cloudwatch\"}",
        "adaptd_cycle_stage_duration_seconds_bucket{stage=\"optimise\"",
        "adaptd_leader 1",
    ] {
        assert!(metrics.contains(needle), "no {needle} in:\n{metrics}");
    }
    promtool_check(&metrics);

    // A failed collection keeps the last recommendations and marks components stale.
    let before =
        get(&p.url("/api/v1/recommendations?all_versions=true&limit=1000")).1["total"].clone();
    let t = now_ms();
    std::fs::write(dir.path("telemetry.csv.gz"), b"not gzip at all").unwrap();
    let broken = cycle_started_after(&p, t);
    assert_eq!(broken["outcome"], "partial", "{broken:#}");
    assert_eq!(broken["failed_stage"], "collect");
    let (_, comps) = get(&p.url("/api/v1/components"));
    let search = comps["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "search-api")
        .unwrap()
        .clone();
    assert!(
        search["stale_reason"]
            .as_str()
            .unwrap()
            .contains("file collection failed"),
        "{search}"
    );
    let moto_fn = comps["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == functions[0].as_str())
        .unwrap()
        .clone();
    assert!(moto_fn["stale_reason"].is_null(), "{moto_fn}");
    let after =
        get(&p.url("/api/v1/recommendations?all_versions=true&limit=1000")).1["total"].clone();
    assert_eq!(before, after);
    assert_eq!(
        get(&p.url(&format!("/api/v1/recommendations/{id}"))).1["status"],
        "approved"
    );
    let t = now_ms();
    std::fs::copy(
        repo().join("examples/telemetry.csv.gz"),
        dir.path("telemetry.csv.gz"),
    )
    .unwrap();
    let healed = cycle_started_after(&p, t);
    assert_eq!(healed["outcome"], "ok", "{healed:#}");
    let (_, comps) = get(&p.url("/api/v1/components"));
    assert!(
        comps["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["stale_reason"].is_null())
    );

    // Graceful stop, restart: state kept, nothing recollected.
    let stopped_at = now_ms();
    assert_eq!(
        p.terminate(Duration::from_secs(25)),
        Some(0),
        "{}",
        p.log_text()
    );
    assert!(p.log_text().contains("stopped"));
    drop(p);
    let p = serve(&cfg, port, &env(), dir.path("serve-2.log"));
    assert_eq!(
        get(&p.url(&format!("/api/v1/recommendations/{id}"))).1["status"],
        "approved"
    );
    let resumed = cycle_started_after(&p, stopped_at);
    assert_eq!(resumed["outcome"], "ok", "{resumed:#}");
    let srcs = sources_of(&resumed);
    assert_eq!(
        source(&srcs, "file")["components_with_new_data"],
        0,
        "{resumed:#}"
    );
    assert_eq!(
        source(&srcs, "cloudwatch")["components_with_new_data"],
        0,
        "{resumed:#}"
    );
    assert_eq!(
        source(&srcs, "cloudwatch")["metrics_requested"],
        0,
        "{resumed:#}"
    );
    let (_, list) = get(&p.url("/api/v1/recommendations?limit=1000"));
    assert_eq!(list["total"], 16);
}

#[test]
fn serve_end_to_end_on_sqlite() {
    end_to_end(&StoreKind::Sqlite);
}

#[test]
fn serve_end_to_end_on_postgres() {
    end_to_end(&StoreKind::Postgres(PgDb::new("e2e")));
}

/// Two replicas on one store: at every instant at most one leads, no two cycles
/// of different replicas overlap, and when the leader stops the other takes over.
fn replicas(store: &StoreKind) {
    let _serial = serial();
    let dir = Scratch::new("replicas");
    let (pa, pb) = (free_port(), free_port());
    let a = serve(
        &config(&dir, pa, store, None, 1, 0.3),
        pa,
        &env(),
        dir.path("a.log"),
    );
    let b = serve(
        &config(&dir, pb, store, None, 1, 0.3),
        pb,
        &env(),
        dir.path("b.log"),
    );
    let role = |p: &Proc| {
        get(&p.url("/readyz")).1["role"]
            .as_str()
            .unwrap_or("")
            .to_owned()
    };
    let t = Instant::now();
    let mut leaders_seen = BTreeSet::new();
    while t.elapsed() < Duration::from_secs(8) {
        let (ra, rb) = (role(&a), role(&b));
        assert!(!(ra == "leader" && rb == "leader"), "both lead");
        if ra == "leader" {
            leaders_seen.insert("a");
        }
        if rb == "leader" {
            leaders_seen.insert("b");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(
        leaders_seen.len(),
        1,
        "leadership flapped: {leaders_seen:?}"
    );
    let (mut leader, follower) = if leaders_seen.contains("a") {
        (a, b)
    } else {
        (b, a)
    };
    // The follower serves reads from the same store.
    let c = next_cycle(&follower, 0);
    assert_eq!(c["outcome"], "ok", "{c:#}");
    assert_eq!(get(&follower.url("/api/v1/recommendations")).0, 200);
    assert_eq!(
        leader.terminate(Duration::from_secs(25)),
        Some(0),
        "{}",
        leader.log_text()
    );
    wait_for(
        "the follower to lead",
        Duration::from_secs(15),
        || follower.log_text(),
        || (role(&follower) == "leader").then_some(()),
    );
    let last = last_finished_cycle(&follower).unwrap()["id"]
        .as_i64()
        .unwrap();
    let mine = next_cycle(&follower, last);
    let (_, cycles) = get(&follower.url("/api/v1/cycles?limit=1000"));
    let cycles = cycles["items"].as_array().unwrap().clone();
    assert_eq!(mine["instance"], cycles[0]["instance"]);
    let instances: BTreeSet<&str> = cycles
        .iter()
        .map(|c| c["instance"].as_str().unwrap())
        .collect();
    assert_eq!(
        instances.len(),
        2,
        "both replicas should have cycled: {instances:?}"
    );
    // Cycles that committed (a replica that lost leadership cannot, and its cycle is
    // closed as abandoned by the next leader).
    let cycles: Vec<Value> = cycles
        .into_iter()
        .filter(|c| c["outcome"] != "abandoned")
        .collect();
    for x in &cycles {
        for y in &cycles {
            if x["instance"] != y["instance"] {
                let (xs, xe) = (
                    x["started_ms"].as_i64().unwrap(),
                    x["finished_ms"].as_i64().unwrap_or(i64::MAX),
                );
                let (ys, ye) = (
                    y["started_ms"].as_i64().unwrap(),
                    y["finished_ms"].as_i64().unwrap_or(i64::MAX),
                );
                assert!(
                    xe <= ys || ye <= xs,
                    "cycles {} and {} of two replicas overlap",
                    x["id"],
                    y["id"]
                );
            }
        }
    }
}

#[test]
fn replicas_on_postgres_never_both_lead() {
    replicas(&StoreKind::Postgres(PgDb::new("ha")));
}

#[test]
fn replicas_on_one_sqlite_file_never_both_lead() {
    replicas(&StoreKind::Sqlite);
}

#[test]
fn the_served_openapi_document_is_the_checked_in_one_and_lists_every_route() {
    let _serial = serial();
    let dir = Scratch::new("openapi");
    let port = free_port();
    let p = serve(
        &config(&dir, port, &StoreKind::Sqlite, None, 3600, 1.0),
        port,
        &env(),
        dir.path("log"),
    );
    let served = get_text(&p.url("/openapi.json"));
    let file = std::fs::read_to_string(repo().join("docs/openapi.json")).unwrap();
    assert_eq!(served, file);
    let doc: Value = serde_json::from_str(&file).unwrap();
    let source = std::fs::read_to_string(repo().join("daemon/service/src/api.rs")).unwrap();
    let routes: Vec<&str> = source
        .split(".route(\"")
        .skip(1)
        .map(|r| r.split('"').next().unwrap())
        .collect();
    assert!(routes.len() >= 12, "{routes:?}");
    for r in routes {
        assert!(
            doc["paths"].get(r).is_some(),
            "route {r} is not in docs/openapi.json"
        );
    }
    assert_eq!(get(&p.url("/no/such/thing")).0, 404);
    assert_eq!(get(&p.url("/healthz")).1["status"], "ok");
}

#[test]
fn a_bad_config_is_refused_before_listening() {
    let dir = Scratch::new("badcfg");
    let cfg = dir.path("bad.toml");
    std::fs::write(
        &cfg,
        "[service]\nbind = \"everywhere\"\n[store]\nmax_connections = 0\n",
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_adaptd"))
        .args(["serve", "-c"])
        .arg(&cfg)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bad.toml:2:8: service.bind"), "{err}");
    assert!(
        err.contains("bad.toml:4:19: store.max_connections"),
        "{err}"
    );
    std::fs::write(&cfg, "[service]\ntoken_env = \"ADAPTD_TEST_UNSET_TOKEN\"\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_adaptd"))
        .args(["serve", "-c"])
        .arg(&cfg)
        .env_remove("ADAPTD_TEST_UNSET_TOKEN")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("ADAPTD_TEST_UNSET_TOKEN is not set"));
}
