//! Alerts end to end: a real Prometheus evaluates a rule on what adaptd exports, the
//! real Alertmanager delivers the webhook, adaptd records the alert and runs a focused
//! cycle (and, in mode auto, applies it to the local AWS emulator); a follower's
//! alert is focused by the leader; endpoints are off until enabled. Refusals,
//! deduplication, rate limits and SNS are in `alerts_webhooks.rs`; deduplication
//! across replicas in `alerts/admission.rs`.

#![allow(clippy::print_stdout)]

#[path = "alerts/admission.rs"]
mod admission;
mod alerts_support;
mod service_support;

use std::process::Command;
use std::time::{Duration, Instant};

use alerts_support::*;
use serde_json::{Value, json};
use service_support::*;

#[test]
fn a_prometheus_rule_fires_through_alertmanager_and_starts_a_focused_cycle() {
    let _serial = serial();
    let dir = Scratch::new("alerts-e2e");
    let p = serve_with_alerts(&dir, &StoreKind::Sqlite);
    let before = latest(&p, "checkout-api");
    assert!(
        before.is_object(),
        "the first cycle recommends for checkout-api"
    );
    let am = alertmanager(
        &dir,
        &p.url("/api/v1/alerts/alertmanager"),
        &dir.path("token"),
    );
    let rules = "groups:\n  - name: adaptd\n    rules:\n      - alert: CheckoutColdStarts\n        expr: adaptd_component_predicted_cold_start_ratio{component=\"checkout-api\",deployment=\"current\"} > 0.001\n        labels:\n          function: '{{ $labels.component }}'\n          severity: page\n        annotations:\n          summary: checkout-api pays too many cold starts\n";
    let started = Instant::now();
    let t0 = now_ms();
    let _prom = prometheus(
        &dir,
        &format!("127.0.0.1:{}", p.port),
        rules,
        &format!("127.0.0.1:{}", am.port),
    );
    let alert = wait_for(
        "the webhook from Alertmanager",
        Duration::from_secs(120),
        || format!("{}\n--- alertmanager:\n{}", p.log_text(), am.log_text()),
        || {
            alerts(&p)
                .into_iter()
                .find(|a| a["source"] == "alertmanager" && a["component"] == "checkout-api")
        },
    );
    let delivered = started.elapsed();
    assert_eq!(alert["name"], "CheckoutColdStarts");
    assert_eq!(alert["status"], "firing");
    assert_eq!(alert["payload"]["labels"]["severity"], "page");
    let id = alert["id"].as_i64().unwrap();
    let done = handled(&p, id);
    assert_eq!(done["outcome"], "focused", "{done}\n{}", p.log_text());
    let cycle_id = done["cycle_id"].as_i64().unwrap();
    let (_, cycle) = get(&p.url(&format!("/api/v1/cycles/{cycle_id}")));
    assert_eq!(
        cycle["report"]["alerts"]["focus"],
        json!(["checkout-api"]),
        "{cycle}"
    );
    let received = alert["received_ms"].as_i64().unwrap();
    let focus_ms = cycle["finished_ms"].as_i64().unwrap() - received;
    println!(
        "alert rule to webhook: {:.1} s (Prometheus start {t0} → received {received}); webhook to focused cycle stored: {focus_ms} ms (cycle {cycle_id}, {})",
        delivered.as_secs_f64(),
        cycle["outcome"]
    );

    // Only the focused component got a new version, flagged as alert-triggered, with
    // the cold-start budget halved (1 % → 0.5 %).
    let after = latest(&p, "checkout-api");
    assert!(
        after["version"].as_i64() > before["version"].as_i64(),
        "{after}"
    );
    assert_eq!(after["status"], "proposed");
    assert_eq!(after["inputs"]["alert"]["triggered_by"], "alert");
    assert_eq!(after["inputs"]["alert"]["alert_ids"], json!([id]));
    assert_eq!(after["cycle_id"], cycle_id);
    let (_, doc) = get(&p.url(&format!("/api/v1/recommendations/{}", after["id"])));
    let cold = doc["recommendation"]["recommended"]["cold_start_rate"]
        .as_f64()
        .unwrap();
    assert!(
        cold <= 0.005 + 1e-9,
        "cold-start rate {cold} above the halved budget"
    );
    // Bought with provisioned concurrency: at least as much as before, in every hour.
    let (_, old) = get(&p.url(&format!("/api/v1/recommendations/{}", before["id"])));
    let levels = |d: &Value| -> Vec<u64> {
        d["recommendation"]["hours"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| h["recommended_level"].as_u64().unwrap())
            .collect()
    };
    let (was, now) = (levels(&old), levels(&doc));
    assert!(
        now.iter().zip(&was).all(|(n, w)| n >= w)
            && now.iter().sum::<u64>() > was.iter().sum::<u64>(),
        "provisioned by hour before {was:?}, after {now:?}"
    );
    println!("checkout-api provisioned by hour: before {was:?}, after the alert {now:?}");
    let others: Vec<Value> = get(&p.url("/api/v1/recommendations?limit=1000")).1["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["cycle_id"] == cycle_id && r["component"] != "checkout-api")
        .cloned()
        .collect();
    assert!(others.is_empty(), "a focused cycle touched {others:?}");

    // Prometheus keeps the alert firing and Alertmanager keeps it grouped: no second
    // focused cycle for the same alert.
    std::thread::sleep(Duration::from_secs(5));
    let focused: Vec<Value> = alerts(&p)
        .into_iter()
        .filter(|a| a["component"] == "checkout-api" && a["outcome"] != "duplicate")
        .collect();
    assert_eq!(focused.len(), 1, "{focused:?}");
}

/// Memory (MB) and provisioned concurrency on alias `live` of `function` in moto,
/// read through the AWS SDK.
fn live(m: &Proc, function: &str) -> (i32, Option<i32>) {
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let conf = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .endpoint_url(m.url(""))
            .region(aws_config::Region::new("us-east-1"))
            .credentials_provider(aws_sdk_lambda::config::Credentials::new(
                AWS_ENV[0].1,
                AWS_ENV[1].1,
                None,
                None,
                "test",
            ))
            .load()
            .await;
        let l = aws_sdk_lambda::Client::new(&conf);
        let memory = l
            .get_function_configuration()
            .function_name(function)
            .send()
            .await
            .unwrap()
            .memory_size()
            .unwrap();
        let pc = l
            .get_provisioned_concurrency_config()
            .function_name(function)
            .qualifier("live")
            .send()
            .await
            .ok()
            .and_then(|r| r.requested_provisioned_concurrent_executions());
        (memory, pc)
    })
}

#[test]
fn a_prometheus_alert_in_mode_auto_is_applied_and_visible_in_moto() {
    let _serial = serial();
    let dir = Scratch::new("alerts-apply");
    let (m, names) = moto(&dir, 1);
    let function = names[0].clone();
    let port = free_port();
    let config = config(&dir, port, &StoreKind::Sqlite, Some(&m), 3600, 1.0);
    let mut text = std::fs::read_to_string(&config).unwrap();
    text.push_str(ALERTS);
    text.push_str(&format!(
        "\n[apply]\nmode = \"auto\"\nexecute = true\ndefault_qualifier = \"live\"\nendpoint_url = \"{}\"\nregion = \"us-east-1\"\nmax_step_percent = 100\nmax_step_environments = 10\ncooldown_minutes = 0\nmax_changes_per_hour = 100\n",
        m.url("")
    ));
    std::fs::write(&config, text).unwrap();
    std::fs::write(dir.path("hmac"), "hmac-s3cret\n").unwrap();
    let before = live(&m, &function);
    let p = serve(&config, port, &AWS_ENV, dir.path("adaptd.log"));
    next_cycle(&p, 0);
    // Mode auto: the scheduled cycle hands its new versions to the apply feature (the
    // example shop's components, absent from moto, fail there and are logged).
    let scheduled = wait_for(
        "the apply after the scheduled cycle",
        Duration::from_secs(60),
        || p.log_text(),
        || {
            get(&p.url("/api/v1/audit?limit=100")).1["items"]
                .as_array()?
                .iter()
                .find(|e| {
                    e["action"] == "cycle.apply"
                        && e["subject"] == format!("component/{function}").as_str()
                })
                .cloned()
        },
    );
    assert_eq!(scheduled["outcome"], "ok", "{scheduled}");
    // The whole chain: a rule on what adaptd exports for the function fires in
    // Prometheus, Alertmanager delivers it with the bearer token.
    let am = alertmanager(
        &dir,
        &p.url("/api/v1/alerts/alertmanager"),
        &dir.path("token"),
    );
    let rules = format!(
        "groups:\n  - name: adaptd\n    rules:\n      - alert: FunctionCostly\n        expr: adaptd_component_cost_usd_per_month{{component=\"{function}\",deployment=\"current\"}} > 0\n        labels:\n          function: '{{{{ $labels.component }}}}'\n"
    );
    let _prom = prometheus(
        &dir,
        &format!("127.0.0.1:{}", p.port),
        &rules,
        &format!("127.0.0.1:{}", am.port),
    );
    let alert = wait_for(
        "the webhook from Alertmanager",
        Duration::from_secs(120),
        || format!("{}\n--- alertmanager:\n{}", p.log_text(), am.log_text()),
        || {
            alerts(&p)
                .into_iter()
                .find(|a| a["source"] == "alertmanager" && a["component"] == function.as_str())
        },
    );
    let id = alert["id"].as_i64().unwrap();
    let done = handled(&p, id);
    // `unchanged` when the focused cycle confirms what the scheduled one applied.
    assert!(
        done["outcome"] == "focused" || done["outcome"] == "unchanged",
        "{done}\n{}",
        p.log_text()
    );
    // The focused cycle's version is applied too when it differs from the one the
    // scheduled cycle applied; either way the newest version is what moto holds.
    let rec = latest(&p, &function);
    let entry =
        if rec["status"] == "applied" && scheduled["payload"]["recommendation_id"] == rec["id"] {
            scheduled
        } else {
            wait_for(
                "the apply after the focused cycle",
                Duration::from_secs(60),
                || p.log_text(),
                || {
                    get(&p.url("/api/v1/audit?limit=100")).1["items"]
                        .as_array()?
                        .iter()
                        .find(|e| e["action"] == "alerts.apply")
                        .cloned()
                },
            )
        };
    assert_eq!(entry["outcome"], "ok", "{entry}");
    let rec = latest(&p, &function);
    let (_, doc) = get(&p.url(&format!("/api/v1/recommendations/{}", rec["id"])));
    let now = live(&m, &function);
    println!(
        "{function}: before {before:?}, after {now:?}; apply: {}; recommended: {}",
        entry["payload"]["apply"]["outcome"], doc["recommendation"]["recommended"]["deployment"]
    );
    assert_eq!(entry["payload"]["apply"]["outcome"], "executed", "{entry}");
    assert_ne!(now, before, "the apply changed nothing in moto");
    let want = &doc["recommendation"]["recommended"]["deployment"];
    assert_eq!(
        i64::from(now.0),
        want["memory_mb"].as_i64().unwrap(),
        "{want}"
    );
    if want["provisioned"]["kind"] == "none" {
        assert!(
            now.1.unwrap_or(0) == 0,
            "provisioned {now:?}, recommended none"
        );
    }
    assert_eq!(rec["status"], "applied", "{rec}");
}

#[test]
fn an_alert_sent_to_a_follower_is_focused_by_the_leader() {
    let _serial = serial();
    let dir = Scratch::new("alerts-replicas");
    let store = StoreKind::Postgres(PgDb::new("alerts_ha"));
    std::fs::write(dir.path("hmac"), "hmac-s3cret\n").unwrap();
    let start = |name: &str| {
        let port = free_port();
        let config = config(&dir, port, &store, None, 3600, 0.5);
        let mut text = std::fs::read_to_string(&config).unwrap();
        text.push_str(ALERTS);
        std::fs::write(&config, text).unwrap();
        serve(&config, port, &[], dir.path(&format!("{name}.log")))
    };
    let a = start("a");
    next_cycle(&a, 0);
    let b = start("b");
    let role = |p: &Proc| {
        get(&p.url("/readyz")).1["role"]
            .as_str()
            .unwrap_or("")
            .to_owned()
    };
    let (leader, follower) = wait_for(
        "one leader",
        Duration::from_secs(30),
        || a.log_text(),
        || match (role(&a).as_str(), role(&b).as_str()) {
            ("leader", "follower") => Some((&a, &b)),
            ("follower", "leader") => Some((&b, &a)),
            _ => None,
        },
    );
    let (s, v) = post_with(
        &follower.url("/api/v1/alerts/alertmanager"),
        &[("Authorization", "Bearer s3cret")],
        &am_body("fp-ha", "checkout-api", "firing"),
    );
    assert_eq!(
        (s, v["items"][0]["outcome"].as_str()),
        (200, Some("pending")),
        "{v}"
    );
    let id = v["items"][0]["id"].as_i64().unwrap();
    let t = Instant::now();
    let done = handled(follower, id);
    assert_eq!(done["outcome"], "focused", "{done}\n{}", leader.log_text());
    let cycle_id = done["cycle_id"].as_i64().unwrap();
    let (_, cycle) = get(&leader.url(&format!("/api/v1/cycles/{cycle_id}")));
    let leader_instance = get(&leader.url("/readyz")).1["instance"].clone();
    assert_eq!(cycle["instance"], leader_instance, "{cycle}");
    println!(
        "follower-received alert focused by the leader in {:.1} s",
        t.elapsed().as_secs_f64()
    );
}

#[test]
fn alerts_are_refused_until_enabled_and_a_missing_secret_stops_the_start() {
    let _serial = serial();
    let dir = Scratch::new("alerts-off");
    let port = free_port();
    let cfg = config(&dir, port, &StoreKind::Sqlite, None, 3600, 1.0);
    let p = serve(&cfg, port, &[], dir.path("adaptd.log"));
    let body = am_body("f-off", "checkout-api", "firing");
    let (s, v) = post_with(
        &p.url("/api/v1/alerts/alertmanager"),
        &[("Authorization", "Bearer s3cret")],
        &body,
    );
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (403, Some("alerts_disabled")),
        "{v}"
    );
    let (s, v) = post_with(&p.url("/api/v1/alerts/sns"), &[], "{}");
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (403, Some("alerts_disabled")),
        "{v}"
    );
    assert!(alerts(&p).is_empty());
    drop(p);

    let bad = dir.path("bad.toml");
    std::fs::write(
        &bad,
        "[alerts]\nenabled = true\nhmac_secret_file = \"missing\"\n",
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_adaptd"))
        .args(["serve", "-c"])
        .arg(&bad)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("alerts.hmac_secret_file:") && err.contains("missing"),
        "{err}"
    );
}
