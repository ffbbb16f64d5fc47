//! The alert endpoints' refusals (authentication, malformed payloads, SNS
//! signatures, hosts, topics, age), deduplication, rate limits, resolved and unmapped
//! alerts, and SNS subscriptions, against `adaptd serve` on 127.0.0.1 with a local
//! server standing in for SNS (a certificate made by openssl).

mod alerts_support;
mod service_support;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::process::Command;
use std::sync::{Arc, Mutex};

use alerts_support::*;
use base64::Engine as _;
use serde_json::{Value, json};
use service_support::*;

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
    (chrono::Utc::now() + chrono::TimeDelta::seconds(offset_s))
        .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
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
