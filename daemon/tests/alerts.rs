//! Alerts end to end: a real Prometheus evaluates a rule on what adaptd exports, the
//! real Alertmanager delivers the webhook, adaptd records the alert and runs a focused
//! cycle; and the endpoints' refusals (authentication, malformed payloads, SNS
//! signatures), deduplication and rate limits, against `adaptd serve` on 127.0.0.1.

#![allow(clippy::print_stdout)]

mod service_support;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{Value, json};
use service_support::*;

const ALERTS: &str = "\n[alerts]\nenabled = true\ncomponent_label = \"function\"\nhmac_secret_file = \"hmac\"\nsns_cert_hosts = [\"127.0.0.1\"]\nsns_subscribe_hosts = [\"127.0.0.1\"]\nsns_allow_http = true\nsns_topic_arns = [\"arn:aws:sns:us-east-1:123456789012:adaptd-alarms\"]\n";

/// `adaptd serve` on the example shop with `[alerts]`, after its first cycle.
fn serve_with_alerts(dir: &Scratch, store: &StoreKind) -> Proc {
    let port = free_port();
    let config = config(dir, port, store, None, 3600, 1.0);
    let mut text = std::fs::read_to_string(&config).unwrap();
    text.push_str(ALERTS);
    std::fs::write(&config, text).unwrap();
    std::fs::write(dir.path("hmac"), "hmac-s3cret\n").unwrap();
    let p = serve(&config, port, &[], dir.path("adaptd.log"));
    next_cycle(&p, 0);
    p
}

fn alerts(p: &Proc) -> Vec<Value> {
    let (s, v) = get(&p.url("/api/v1/alerts?limit=1000"));
    assert_eq!(s, 200, "{v}");
    v["items"].as_array().unwrap().clone()
}

fn latest(p: &Proc, component: &str) -> Value {
    let (_, v) = get(&p.url(&format!(
        "/api/v1/recommendations?component={component}&all_versions=true"
    )));
    v["items"]
        .as_array()
        .unwrap()
        .iter()
        .max_by_key(|r| r["version"].as_i64())
        .cloned()
        .unwrap_or(Value::Null)
}

/// Waits until alert `id` left `pending`; returns it.
fn handled(p: &Proc, id: i64) -> Value {
    wait_for(
        "the focused cycle",
        Duration::from_secs(300),
        || p.log_text(),
        || {
            alerts(p)
                .into_iter()
                .find(|a| a["id"] == id && a["outcome"] != "pending")
        },
    )
}

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

fn am_body(fingerprint: &str, function: &str, status: &str) -> String {
    json!({
        "version": "4", "receiver": "adaptd", "status": status, "groupKey": "{}:{alertname=\"P99\"}",
        "truncatedAlerts": 0, "groupLabels": {"alertname": "P99"},
        "commonLabels": {}, "commonAnnotations": {}, "externalURL": "http://127.0.0.1:9093",
        "alerts": [{"status": status, "labels": {"alertname": "P99", "function": function},
                    "annotations": {}, "startsAt": "2026-11-27T06:00:00Z",
                    "endsAt": "0001-01-01T00:00:00Z", "generatorURL": "http://127.0.0.1:9090/graph",
                    "fingerprint": fingerprint}]
    })
    .to_string()
}

fn hmac(body: &str, secret: &str) -> String {
    let f = std::env::temp_dir().join(format!("adaptd-hmac-{}", std::process::id()));
    std::fs::write(&f, body).unwrap();
    let out = Command::new("openssl")
        .args(["dgst", "-sha256", "-hmac", secret, "-hex", "-r"])
        .arg(&f)
        .output()
        .expect("openssl runs");
    let _ = std::fs::remove_file(&f);
    let text = String::from_utf8(out.stdout).unwrap();
    format!("sha256={}", text.split_whitespace().next().unwrap())
}

#[test]
fn webhooks_are_authenticated_checked_deduplicated_and_rate_limited_on_sqlite() {
    webhooks(&StoreKind::Sqlite);
}

#[test]
fn webhooks_are_authenticated_checked_deduplicated_and_rate_limited_on_postgres() {
    webhooks(&StoreKind::Postgres(PgDb::new("alerts")));
}

fn webhooks(store: &StoreKind) {
    let _serial = serial();
    let dir = Scratch::new("alerts-api");
    let p = serve_with_alerts(&dir, store);
    let url = p.url("/api/v1/alerts/alertmanager");
    let bearer = [("Authorization", "Bearer s3cret")];
    let body = am_body("f1", "checkout-api", "firing");

    // Unauthenticated, a wrong token, a wrong HMAC: 401, nothing recorded.
    let (s, v) = post_with(&url, &[], &body);
    assert_eq!(s, 401, "{v}");
    assert!(
        v["error"]["message"].as_str().unwrap().contains("Bearer"),
        "{v}"
    );
    assert_eq!(
        post_with(&url, &[("Authorization", "Bearer nope")], &body).0,
        401
    );
    let wrong = hmac(&body, "other");
    let (s, v) = post_with(&url, &[("X-Adaptd-Signature", wrong.as_str())], &body);
    assert_eq!(s, 401, "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("does not match"),
        "{v}"
    );
    // Malformed: 400 with the pointer, nothing recorded.
    let mut bad: Value = serde_json::from_str(&body).unwrap();
    bad["alerts"][0]["status"] = json!("burning");
    let bad = bad.to_string();
    let (s, v) = post_with(&url, &bearer, &bad);
    assert_eq!(s, 400, "{v}");
    assert_eq!(v["error"]["pointer"], "/alerts/0/status", "{v}");
    let (s, v) = post_with(
        &url,
        &bearer,
        &body.replace("\"version\":\"4\"", "\"version\":\"3\""),
    );
    assert_eq!(
        (s, v["error"]["pointer"].as_str()),
        (400, Some("/version")),
        "{v}"
    );
    assert!(alerts(&p).is_empty());

    // Accepted with the token; the same fingerprint again is a duplicate.
    let (s, v) = post_with(&url, &bearer, &body);
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["items"][0]["outcome"], "pending", "{v}");
    let first = v["items"][0]["id"].as_i64().unwrap();
    let (s, v) = post_with(&url, &bearer, &body);
    assert_eq!(
        (s, v["items"][0]["outcome"].as_str()),
        (200, Some("duplicate")),
        "{v}"
    );
    // With the HMAC instead of the token; a second fingerprint of the same component.
    let body2 = am_body("f2", "checkout-api", "firing");
    let sig = hmac(&body2, "hmac-s3cret");
    let (s, v) = post_with(&url, &[("X-Adaptd-Signature", sig.as_str())], &body2);
    assert_eq!(
        (s, v["items"][0]["outcome"].as_str()),
        (200, Some("pending")),
        "{v}"
    );
    // A third one exceeds max_focused_cycles_per_component (2 per hour).
    let (_, v) = post_with(&url, &bearer, &am_body("f3", "checkout-api", "firing"));
    assert_eq!(v["items"][0]["outcome"], "rate_limited", "{v}");
    // Unknown or absent components are recorded, start nothing.
    let (_, v) = post_with(&url, &bearer, &am_body("f4", "no-such-fn", "firing"));
    assert_eq!(v["items"][0]["outcome"], "unmapped", "{v}");
    // Resolved is recorded.
    let (_, v) = post_with(&url, &bearer, &am_body("f1", "checkout-api", "resolved"));
    assert_eq!(v["items"][0]["outcome"], "resolved", "{v}");
    let done = handled(&p, first);
    assert!(
        ["focused", "unchanged"].contains(&done["outcome"].as_str().unwrap()),
        "{done}"
    );

    let metrics = get_text(&p.url("/metrics"));
    for want in [
        "adaptd_alerts_total{outcome=\"duplicate\",source=\"alertmanager\"} 1",
        "adaptd_alerts_total{outcome=\"pending\",source=\"alertmanager\"} 2",
        "adaptd_alerts_total{outcome=\"rate_limited\",source=\"alertmanager\"} 1",
    ] {
        assert!(metrics.contains(want), "no `{want}` in /metrics");
    }

    sns(&p, &dir);
}

/// A local server standing in for SNS: serves the signing certificate and records
/// subscription confirmations.
fn sns_server(cert: String) -> (u16, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { continue };
            let mut buf = [0u8; 4096];
            let n = conn.read(&mut buf).unwrap_or(0);
            let req = String::from_utf8_lossy(&buf[..n]).to_string();
            let path = req.split_whitespace().nth(1).unwrap_or("").to_owned();
            log.lock().unwrap().push(path.clone());
            let body = if path == "/cert.pem" {
                cert.clone()
            } else {
                "<ConfirmSubscriptionResponse/>".to_owned()
            };
            let _ = write!(
                conn,
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    (port, seen)
}

fn now_rfc3339(offset_s: i64) -> String {
    (time::OffsetDateTime::now_utc() + time::Duration::seconds(offset_s))
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap()
}

/// Signs `m` (an SNS message without its signature) as SNS does.
fn sign(dir: &Scratch, m: &mut Value) {
    let keys: &[&str] = if m["Type"] == "Notification" {
        &[
            "Message",
            "MessageId",
            "Subject",
            "Timestamp",
            "TopicArn",
            "Type",
        ]
    } else {
        &[
            "Message",
            "MessageId",
            "SubscribeURL",
            "Timestamp",
            "Token",
            "TopicArn",
            "Type",
        ]
    };
    let mut text = String::new();
    for k in keys {
        if let Some(v) = m[*k].as_str() {
            text.push_str(&format!("{k}\n{v}\n"));
        }
    }
    std::fs::write(dir.path("canonical.txt"), text).unwrap();
    let digest = if m["SignatureVersion"] == "1" {
        "-sha1"
    } else {
        "-sha256"
    };
    let out = Command::new("openssl")
        .args(["dgst", digest, "-sign"])
        .arg(dir.path("key.pem"))
        .arg("-out")
        .arg(dir.path("sig.bin"))
        .arg(dir.path("canonical.txt"))
        .output()
        .expect("openssl runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let sig = std::fs::read(dir.path("sig.bin")).unwrap();
    m["Signature"] = json!(base64::engine::general_purpose::STANDARD.encode(sig));
}

fn sns(p: &Proc, dir: &Scratch) {
    let out = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=sns.amazonaws.com",
            "-keyout",
        ])
        .arg(dir.path("key.pem"))
        .arg("-out")
        .arg(dir.path("cert.pem"))
        .output()
        .expect("openssl runs (scripts/setup-test-services installs it)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (port, seen) = sns_server(std::fs::read_to_string(dir.path("cert.pem")).unwrap());
    let cert_url = format!("http://127.0.0.1:{port}/cert.pem");
    let url = p.url("/api/v1/alerts/sns");
    let topic = "arn:aws:sns:us-east-1:123456789012:adaptd-alarms";
    let before = alerts(p).len();

    // Subscription confirmation, SignatureVersion 1 (SHA1withRSA).
    let mut sub = json!({"Type": "SubscriptionConfirmation", "MessageId": "m-1", "Token": "tok",
        "TopicArn": topic, "Message": "You have chosen to subscribe…",
        "SubscribeURL": format!("http://127.0.0.1:{port}/confirm?Action=ConfirmSubscription&Token=tok"),
        "Timestamp": now_rfc3339(0), "SignatureVersion": "1", "SigningCertURL": cert_url});
    sign(dir, &mut sub);
    let h = [("x-amz-sns-message-type", "SubscriptionConfirmation")];
    let (s, v) = post_with(&url, &h, &sub.to_string());
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["confirmed"], true);
    assert!(
        seen.lock()
            .unwrap()
            .iter()
            .any(|p| p.starts_with("/confirm?Action=ConfirmSubscription&Token=tok"))
    );

    // An unsubscribe confirmation is verified and recorded, and fetches nothing.
    let mut unsub = sub.clone();
    unsub["Type"] = json!("UnsubscribeConfirmation");
    unsub["MessageId"] = json!("m-0");
    sign(dir, &mut unsub);
    let calls = seen.lock().unwrap().len();
    let (s, v) = post_with(
        &url,
        &[("x-amz-sns-message-type", "UnsubscribeConfirmation")],
        &unsub.to_string(),
    );
    assert_eq!((s, &v["confirmed"]), (200, &json!(false)), "{v}");
    assert_eq!(
        seen.lock().unwrap().len(),
        calls,
        "an unsubscription fetched something"
    );
    let audit = get(&p.url("/api/v1/audit?limit=20")).1;
    let actions: Vec<&str> = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    assert!(
        actions.contains(&"alerts.sns.subscribe") && actions.contains(&"alerts.sns.unsubscribed"),
        "{actions:?}"
    );

    // A subscribe URL on another host is not followed, even when signed.
    let mut evil = sub.clone();
    evil["SubscribeURL"] = json!("http://localhost:1/confirm");
    sign(dir, &mut evil);
    let (s, v) = post_with(&url, &h, &evil.to_string());
    assert_eq!(
        (s, v["error"]["pointer"].as_str()),
        (403, Some("/SubscribeURL")),
        "{v}"
    );

    // A signed CloudWatch alarm, SignatureVersion 2 (SHA256withRSA).
    let alarm = json!({"AlarmName": "search-api-p99", "NewStateValue": "ALARM", "OldStateValue": "OK",
        "NewStateReason": "Threshold Crossed", "Region": "US East (N. Virginia)", "AWSAccountId": "123456789012",
        "Trigger": {"MetricName": "Duration", "Namespace": "AWS/Lambda", "Statistic": "p99",
                    "Dimensions": [{"value": "search-api", "name": "FunctionName"}]}});
    let mut n = json!({"Type": "Notification", "MessageId": "m-2", "TopicArn": topic,
        "Subject": "ALARM: \"search-api-p99\"", "Message": alarm.to_string(),
        "Timestamp": now_rfc3339(0), "SignatureVersion": "2", "SigningCertURL": cert_url});
    sign(dir, &mut n);
    let nh = [("x-amz-sns-message-type", "Notification")];
    // Tampered after signing: refused, nothing recorded.
    let mut tampered = n.clone();
    tampered["Message"] = json!(alarm.to_string().replace("search-api", "checkout-api"));
    let (s, v) = post_with(&url, &nh, &tampered.to_string());
    assert_eq!(
        (s, v["error"]["pointer"].as_str()),
        (403, Some("/Signature")),
        "{v}"
    );
    // A certificate from a host not allowed is not fetched.
    let mut foreign = n.clone();
    foreign["SigningCertURL"] = json!("http://localhost:1/cert.pem");
    let (s, v) = post_with(&url, &nh, &foreign.to_string());
    assert_eq!(
        (s, v["error"]["pointer"].as_str()),
        (403, Some("/SigningCertURL")),
        "{v}"
    );
    // Old messages are replays.
    let mut old = n.clone();
    old["Timestamp"] = json!(now_rfc3339(-7200));
    sign(dir, &mut old);
    let (s, v) = post_with(&url, &nh, &old.to_string());
    assert_eq!(
        (s, v["error"]["pointer"].as_str()),
        (403, Some("/Timestamp")),
        "{v}"
    );
    // Malformed alarm inside a signed message: 400 at /Message.
    let mut broken = n.clone();
    broken["Message"] = json!("{\"NewStateValue\": \"ALARM\"}");
    sign(dir, &mut broken);
    let (s, v) = post_with(&url, &nh, &broken.to_string());
    assert_eq!(
        (s, v["error"]["pointer"].as_str()),
        (400, Some("/Message")),
        "{v}"
    );
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("AlarmName"),
        "{v}"
    );
    assert_eq!(alerts(p).len(), before, "refused messages were recorded");

    let (s, v) = post_with(&url, &nh, &n.to_string());
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["items"][0]["component"], "search-api", "{v}");
    assert_eq!(v["items"][0]["outcome"], "pending", "{v}");
    // SNS retries a delivery: the same alarm and state is a duplicate.
    let mut again = n.clone();
    again["MessageId"] = json!("m-3");
    sign(dir, &mut again);
    let (_, v) = post_with(&url, &nh, &again.to_string());
    assert_eq!(v["items"][0]["outcome"], "duplicate", "{v}");
    let id = alerts(p)
        .into_iter()
        .find(|a| a["source"] == "sns" && a["outcome"] != "duplicate")
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    let done = handled(p, id);
    assert!(
        ["focused", "unchanged"].contains(&done["outcome"].as_str().unwrap()),
        "{done}"
    );
    let r = latest(p, "search-api");
    if done["outcome"] == "focused" {
        assert_eq!(
            r["inputs"]["alert"]["alerts"],
            json!(["sns:search-api-p99"]),
            "{r}"
        );
    }
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
    let p = serve(&config, port, &AWS_ENV, dir.path("adaptd.log"));
    next_cycle(&p, 0);
    let before = live(&m, &function);
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
    assert_eq!(done["outcome"], "focused", "{done}\n{}", p.log_text());
    let entry = wait_for(
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
    );
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
