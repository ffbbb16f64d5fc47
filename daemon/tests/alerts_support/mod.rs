//! What the alerts' tests share: `adaptd serve` with `[alerts]`, the alerts it
//! recorded, an Alertmanager payload.

#![allow(dead_code)]

use std::time::Duration;

use serde_json::{Value, json};

use crate::service_support::*;

pub const ALERTS: &str = "\n[alerts]\nenabled = true\ncomponent_label = \"function\"\nhmac_secret_file = \"hmac\"\nsns_cert_hosts = [\"127.0.0.1\"]\nsns_subscribe_hosts = [\"127.0.0.1\"]\nsns_allow_http = true\nsns_topic_arns = [\"arn:aws:sns:us-east-1:123456789012:adaptd-alarms\"]\n";

/// `adaptd serve` on the example shop with `[alerts]`, after its first cycle.
pub fn serve_with_alerts(dir: &Scratch, store: &StoreKind) -> Proc {
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

pub fn alerts(p: &Proc) -> Vec<Value> {
    let (s, v) = get(&p.url("/api/v1/alerts?limit=1000"));
    assert_eq!(s, 200, "{v}");
    v["items"].as_array().unwrap().clone()
}

pub fn latest(p: &Proc, component: &str) -> Value {
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
pub fn handled(p: &Proc, id: i64) -> Value {
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

/// An Alertmanager webhook body (version 4) with one alert.
pub fn am_body(fingerprint: &str, function: &str, status: &str) -> String {
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
