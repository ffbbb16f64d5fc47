//! Alertmanager's webhook payload, version "4", and how its alerts map to components.
//!
//! Unknown keys are accepted (Alertmanager adds keys without changing the version);
//! every key adaptd reads is checked, and a problem is reported with the JSON
//! pointer of its place.

use std::collections::BTreeMap;

use adaptd_config::AlertsSection;
use serde::Deserialize;
use serde_json::json;

use super::{Incoming, Invalid, Status, parse, rfc3339};

/// The webhook body.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Payload {
    /// Must be "4".
    pub version: String,
    /// The receiver's name.
    pub receiver: String,
    /// `firing` or `resolved` (of the group).
    pub status: String,
    /// The alerts of the group.
    pub alerts: Vec<Alert>,
    /// Labels the group shares.
    #[serde(default)]
    pub group_labels: BTreeMap<String, String>,
    /// Labels every alert has.
    #[serde(default)]
    pub common_labels: BTreeMap<String, String>,
    /// Annotations every alert has.
    #[serde(default)]
    pub common_annotations: BTreeMap<String, String>,
    /// Alertmanager's URL.
    #[serde(default, rename = "externalURL")]
    pub external_url: Option<String>,
    /// The group's key.
    #[serde(default)]
    pub group_key: Option<String>,
    /// Alerts left out by `max_alerts`.
    #[serde(default)]
    pub truncated_alerts: u64,
}

/// One alert.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Alert {
    /// `firing` or `resolved`.
    pub status: String,
    /// Its labels.
    pub labels: BTreeMap<String, String>,
    /// Its annotations.
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
    /// When it started firing (RFC 3339).
    pub starts_at: String,
    /// When it resolved (RFC 3339; year 1 while firing).
    #[serde(default)]
    pub ends_at: Option<String>,
    /// The rule's URL.
    #[serde(default, rename = "generatorURL")]
    pub generator_url: Option<String>,
    /// Alertmanager's identity of the alert (its label set).
    pub fingerprint: String,
}

/// The component `labels` name, by `component_template` or `component_label`.
pub fn component(labels: &BTreeMap<String, String>, a: &AlertsSection) -> Option<String> {
    match &a.component_template {
        Some(t) => {
            let mut out = t.clone();
            for name in adaptd_config::template_labels(t).ok()? {
                let v = labels.get(name).filter(|v| !v.is_empty())?;
                out = out.replace(&format!("{{{name}}}"), v);
            }
            Some(out)
        }
        None => labels
            .get(&a.component_label)
            .filter(|v| !v.is_empty())
            .cloned(),
    }
}

/// Parses and checks a webhook body into alerts.
pub fn alerts(body: &[u8], a: &AlertsSection) -> Result<Vec<Incoming>, Invalid> {
    let p: Payload = parse(body)?;
    if p.version != "4" {
        return Err(Invalid::at(
            "/version",
            format!(
                "unsupported Alertmanager payload version \"{}\" (expected \"4\")",
                p.version
            ),
        ));
    }
    if !matches!(p.status.as_str(), "firing" | "resolved") {
        return Err(Invalid::at(
            "/status",
            format!("must be \"firing\" or \"resolved\" (got \"{}\")", p.status),
        ));
    }
    if p.alerts.is_empty() {
        return Err(Invalid::at("/alerts", "holds no alert"));
    }
    let mut out = Vec::with_capacity(p.alerts.len());
    for (i, alert) in p.alerts.iter().enumerate() {
        let at = |k: &str| format!("/alerts/{i}/{k}");
        let status = match alert.status.as_str() {
            "firing" => Status::Firing,
            "resolved" => Status::Resolved,
            s => {
                return Err(Invalid::at(
                    &at("status"),
                    format!("must be \"firing\" or \"resolved\" (got \"{s}\")"),
                ));
            }
        };
        if alert.fingerprint.trim().is_empty() {
            return Err(Invalid::at(&at("fingerprint"), "must not be empty"));
        }
        rfc3339(&alert.starts_at).map_err(|e| Invalid::at(&at("startsAt"), e))?;
        if let Some(e) = &alert.ends_at {
            rfc3339(e).map_err(|e| Invalid::at(&at("endsAt"), e))?;
        }
        let name = alert
            .labels
            .get("alertname")
            .cloned()
            .unwrap_or_else(|| "unnamed".to_owned());
        out.push(Incoming {
            source: "alertmanager",
            identity: alert.fingerprint.clone(),
            name,
            component: component(&alert.labels, a),
            status,
            payload: json!({
                "receiver": p.receiver,
                "group_key": p.group_key,
                "external_url": p.external_url,
                "truncated_alerts": p.truncated_alerts,
                "status": alert.status,
                "labels": alert.labels,
                "annotations": alert.annotations,
                "starts_at": alert.starts_at,
                "ends_at": alert.ends_at,
                "generator_url": alert.generator_url,
                "fingerprint": alert.fingerprint,
            }),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(alert: &serde_json::Value) -> Vec<u8> {
        json!({
            "version": "4", "receiver": "adaptd", "status": "firing", "groupKey": "{}:{}",
            "truncatedAlerts": 0, "groupLabels": {}, "commonLabels": {}, "commonAnnotations": {},
            "externalURL": "http://127.0.0.1:9093", "alerts": [alert]
        })
        .to_string()
        .into_bytes()
    }

    fn alert() -> serde_json::Value {
        json!({"status": "firing", "labels": {"alertname": "P99High", "function": "checkout-api"},
               "annotations": {}, "startsAt": "2026-11-27T06:00:00.123Z",
               "endsAt": "0001-01-01T00:00:00Z", "generatorURL": "http://x", "fingerprint": "abc"})
    }

    #[test]
    fn a_valid_payload_maps_labels_to_components() {
        let a = AlertsSection::default();
        let got = alerts(&body(&alert()), &a).unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].component.as_deref(), Some("checkout-api"));
        assert_eq!(got[0].name, "P99High");
        assert_eq!(got[0].identity, "abc");
        let t = AlertsSection {
            component_template: Some("{alertname}-{function}".into()),
            ..AlertsSection::default()
        };
        let got = alerts(&body(&alert()), &t).unwrap();
        assert_eq!(got[0].component.as_deref(), Some("P99High-checkout-api"));
        let mut unmapped = alert();
        unmapped["labels"] = json!({"alertname": "X"});
        assert_eq!(alerts(&body(&unmapped), &a).unwrap()[0].component, None);
    }

    #[test]
    fn every_problem_is_reported_at_its_pointer() {
        let a = AlertsSection::default();
        let cases: Vec<(serde_json::Value, &str)> = vec![
            (json!({"status": "firing"}), "/alerts/0"),
            (
                {
                    let mut x = alert();
                    x["status"] = json!("pending");
                    x
                },
                "/alerts/0/status",
            ),
            (
                {
                    let mut x = alert();
                    x["startsAt"] = json!("yesterday");
                    x
                },
                "/alerts/0/startsAt",
            ),
            (
                {
                    let mut x = alert();
                    x["labels"]["function"] = json!(5);
                    x
                },
                "/alerts/0/labels/function",
            ),
            (
                {
                    let mut x = alert();
                    x["fingerprint"] = json!("");
                    x
                },
                "/alerts/0/fingerprint",
            ),
        ];
        for (alert, pointer) in cases {
            let e = alerts(&body(&alert), &a).unwrap_err();
            assert_eq!(e.pointer, pointer, "{}", e.message);
        }
        let mut v: serde_json::Value = serde_json::from_slice(&body(&alert())).unwrap();
        v["version"] = json!("3");
        let e = alerts(v.to_string().as_bytes(), &a).unwrap_err();
        assert_eq!(e.pointer, "/version");
        let e = alerts(b"{not json", &a).unwrap_err();
        assert_eq!(e.pointer, "");
        assert!(e.message.contains("line 1"), "{}", e.message);
    }
}
