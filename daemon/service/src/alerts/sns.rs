//! CloudWatch alarms delivered by Amazon SNS to an HTTP(S) subscription.
//!
//! Every message is authenticated by its signature before anything else happens:
//! the canonical string of its type (Amazon SNS documentation, "Verifying the
//! signatures of Amazon SNS messages") signed with SHA1withRSA (`SignatureVersion`
//! "1") or SHA256withRSA ("2") by the certificate at `SigningCertURL`. The
//! certificate is fetched only over HTTPS (unless `sns_allow_http`) from a host
//! `sns_cert_hosts` allows, must be within its validity period, and is cached by URL.
//! HTTPS to an Amazon host is the trust anchor, as in AWS's own message validators.
//!
//! A `SubscriptionConfirmation` is confirmed by a GET on its `SubscribeURL`, only to
//! a host `sns_subscribe_hosts` allows. A `Notification`'s `Message` is the alarm's
//! JSON: `AlarmName`, `NewStateValue` (`ALARM` fires, `OK` resolves) and the
//! metric's dimensions, which name the component.

use std::collections::HashMap;
use std::time::Duration;

use adaptd_config::{AlertsSection, host_matches};
use base64::Engine as _;
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::sync::Mutex;

use super::{Incoming, Invalid, Status, parse, rfc3339};

/// An SNS message as POSTed to the endpoint.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Envelope {
    /// `Notification`, `SubscriptionConfirmation`, `UnsubscribeConfirmation`.
    #[serde(rename = "Type")]
    pub kind: String,
    /// Unique per message.
    pub message_id: String,
    /// The subscription's token (confirmations).
    #[serde(default)]
    pub token: Option<String>,
    /// The topic.
    pub topic_arn: String,
    /// Subject (notifications, optional).
    #[serde(default)]
    pub subject: Option<String>,
    /// The payload: the alarm's JSON, or a text for confirmations.
    pub message: String,
    /// Where to confirm (confirmations).
    #[serde(default, rename = "SubscribeURL")]
    pub subscribe_url: Option<String>,
    /// When SNS sent it (RFC 3339).
    pub timestamp: String,
    /// "1" (SHA1withRSA) or "2" (SHA256withRSA).
    pub signature_version: String,
    /// Base64 signature of the canonical string.
    pub signature: String,
    /// The signing certificate (PEM).
    #[serde(rename = "SigningCertURL")]
    pub signing_cert_url: String,
}

/// Why a message was refused.
#[derive(Debug, thiserror::Error)]
pub enum SnsError {
    /// The message is malformed.
    #[error("{}: {}", .0.pointer, .0.message)]
    Invalid(Invalid),
    /// The message is not authentic or not allowed (topic, hosts, age, signature).
    #[error("{pointer}: {message}")]
    Forbidden {
        /// Where.
        pointer: String,
        /// Why.
        message: String,
    },
    /// The signing certificate could not be fetched or read.
    #[error("the signing certificate at {url} is unusable: {why}")]
    Certificate {
        /// Its URL.
        url: String,
        /// Why.
        why: String,
    },
    /// The subscription could not be confirmed.
    #[error("confirming the subscription failed: {0}")]
    Confirm(String),
}

impl From<Invalid> for SnsError {
    fn from(i: Invalid) -> Self {
        SnsError::Invalid(i)
    }
}

fn forbidden(pointer: &str, message: impl Into<String>) -> SnsError {
    SnsError::Forbidden {
        pointer: pointer.to_owned(),
        message: message.into(),
    }
}

/// Parses the envelope and checks what needs no network: type (and the
/// `x-amz-sns-message-type` header), topic, age, signature version.
pub fn envelope(
    body: &[u8],
    header_type: Option<&str>,
    a: &AlertsSection,
    now_ms: i64,
) -> Result<Envelope, SnsError> {
    let e: Envelope = parse(body)?;
    if !matches!(
        e.kind.as_str(),
        "Notification" | "SubscriptionConfirmation" | "UnsubscribeConfirmation"
    ) {
        return Err(Invalid::at(
            "/Type",
            format!(
                "unknown SNS message type \"{}\" (expected Notification, SubscriptionConfirmation or UnsubscribeConfirmation)",
                e.kind
            ),
        )
        .into());
    }
    if let Some(h) = header_type
        && h != e.kind
    {
        return Err(Invalid::at(
            "/Type",
            format!(
                "\"{}\" differs from the x-amz-sns-message-type header (\"{h}\")",
                e.kind
            ),
        )
        .into());
    }
    if !matches!(e.signature_version.as_str(), "1" | "2") {
        return Err(Invalid::at(
            "/SignatureVersion",
            format!(
                "must be \"1\" (SHA1withRSA) or \"2\" (SHA256withRSA) (got \"{}\")",
                e.signature_version
            ),
        )
        .into());
    }
    if e.kind != "Notification" && (e.subscribe_url.is_none() || e.token.is_none()) {
        let missing = if e.subscribe_url.is_none() {
            "/SubscribeURL"
        } else {
            "/Token"
        };
        return Err(Invalid::at(missing, format!("missing in a {}", e.kind)).into());
    }
    let sent_ms = rfc3339(&e.timestamp).map_err(|m| Invalid::at("/Timestamp", m))?;
    let age_ms = (now_ms - sent_ms).abs();
    if age_ms > (a.sns_max_age_seconds as i64).saturating_mul(1000) {
        return Err(forbidden(
            "/Timestamp",
            format!(
                "sent {} s from now, beyond alerts.sns_max_age_seconds ({}): refused as a replay",
                age_ms / 1000,
                a.sns_max_age_seconds
            ),
        ));
    }
    if !a.sns_topic_arns.is_empty() && !a.sns_topic_arns.contains(&e.topic_arn) {
        return Err(forbidden(
            "/TopicArn",
            format!("topic {} is not in alerts.sns_topic_arns", e.topic_arn),
        ));
    }
    Ok(e)
}

/// The string SNS signed: the message's keys of its type, in order, each as
/// `Key\nvalue\n`.
pub fn canonical(e: &Envelope) -> String {
    let mut fields: Vec<(&str, &str)> = vec![("Message", &e.message), ("MessageId", &e.message_id)];
    if e.kind == "Notification" {
        if let Some(s) = &e.subject {
            fields.push(("Subject", s));
        }
    } else {
        fields.push(("SubscribeURL", e.subscribe_url.as_deref().unwrap_or("")));
    }
    fields.push(("Timestamp", &e.timestamp));
    if e.kind != "Notification" {
        fields.push(("Token", e.token.as_deref().unwrap_or("")));
    }
    fields.push(("TopicArn", &e.topic_arn));
    fields.push(("Type", &e.kind));
    fields.iter().map(|(k, v)| format!("{k}\n{v}\n")).collect()
}

/// Checks a URL against the allowed scheme and host patterns.
fn allowed_url(
    raw: &str,
    hosts: &[String],
    a: &AlertsSection,
    pointer: &str,
    key: &str,
) -> Result<reqwest::Url, SnsError> {
    let url = reqwest::Url::parse(raw)
        .map_err(|e| Invalid::at(pointer, format!("not a URL ({e}): \"{raw}\"")))?;
    let scheme_ok = url.scheme() == "https" || (a.sns_allow_http && url.scheme() == "http");
    if !scheme_ok {
        return Err(forbidden(
            pointer,
            format!(
                "{raw}: only https URLs are accepted{}",
                if a.sns_allow_http { " (or http)" } else { "" }
            ),
        ));
    }
    let host = url.host_str().unwrap_or("");
    if !url.username().is_empty() || !hosts.iter().any(|p| host_matches(p, host)) {
        return Err(forbidden(
            pointer,
            format!(
                "host \"{host}\" is not allowed by alerts.{key} ({})",
                hosts.join(", ")
            ),
        ));
    }
    Ok(url)
}

/// A verified signing key, cached by certificate URL.
#[derive(Clone, Debug)]
struct Key {
    /// The RSAPublicKey (PKCS#1 DER) of the certificate.
    rsa_der: Vec<u8>,
    /// The certificate's notAfter (s since the epoch).
    not_after: i64,
}

/// Fetches and caches signing certificates; confirms subscriptions.
#[derive(Debug)]
pub struct Verifier {
    client: reqwest::Client,
    keys: Mutex<HashMap<String, Key>>,
}

impl Default for Verifier {
    fn default() -> Self {
        Self::new()
    }
}

impl Verifier {
    /// A verifier with a short-timeout client that follows no redirects (a redirect
    /// could lead away from the allowed hosts).
    pub fn new() -> Self {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap_or_default();
        Self {
            client,
            keys: Mutex::new(HashMap::new()),
        }
    }

    async fn key(&self, url: &reqwest::Url) -> Result<Key, SnsError> {
        let now = adaptd_store::now_ms() / 1000;
        if let Some(k) = self.keys.lock().await.get(url.as_str())
            && k.not_after > now
        {
            return Ok(k.clone());
        }
        let cert_err = |why: String| SnsError::Certificate {
            url: url.to_string(),
            why,
        };
        let r = self
            .client
            .get(url.clone())
            .send()
            .await
            .map_err(|e| cert_err(e.to_string()))?;
        if !r.status().is_success() {
            return Err(cert_err(format!("HTTP {}", r.status())));
        }
        let pem = r.bytes().await.map_err(|e| cert_err(e.to_string()))?;
        let (_, pem) = x509_parser::pem::parse_x509_pem(&pem)
            .map_err(|e| cert_err(format!("not a PEM certificate ({e})")))?;
        let cert = pem
            .parse_x509()
            .map_err(|e| cert_err(format!("not an X.509 certificate ({e})")))?;
        if !cert.validity().is_valid() {
            return Err(cert_err("outside its validity period".into()));
        }
        let spki = cert.public_key();
        if !matches!(
            spki.parsed(),
            Ok(x509_parser::public_key::PublicKey::RSA(_))
        ) {
            return Err(cert_err("its key is not an RSA key".into()));
        }
        let key = Key {
            rsa_der: spki.subject_public_key.data.to_vec(),
            not_after: cert.validity().not_after.timestamp(),
        };
        self.keys.lock().await.insert(url.to_string(), key.clone());
        Ok(key)
    }

    /// Verifies `e`'s signature.
    pub async fn verify(&self, e: &Envelope, a: &AlertsSection) -> Result<(), SnsError> {
        let url = allowed_url(
            &e.signing_cert_url,
            &a.sns_cert_hosts,
            a,
            "/SigningCertURL",
            "sns_cert_hosts",
        )?;
        let signature = base64::engine::general_purpose::STANDARD
            .decode(e.signature.trim())
            .map_err(|x| Invalid::at("/Signature", format!("not base64 ({x})")))?;
        let key = self.key(&url).await?;
        let alg: &dyn ring::signature::VerificationAlgorithm = if e.signature_version == "1" {
            &ring::signature::RSA_PKCS1_2048_8192_SHA1_FOR_LEGACY_USE_ONLY
        } else {
            &ring::signature::RSA_PKCS1_2048_8192_SHA256
        };
        ring::signature::UnparsedPublicKey::new(alg, &key.rsa_der)
            .verify(canonical(e).as_bytes(), &signature)
            .map_err(|_| {
                forbidden(
                    "/Signature",
                    format!(
                        "does not verify (SignatureVersion {}) with the certificate at {url}",
                        e.signature_version
                    ),
                )
            })
    }

    /// Confirms a subscription by a GET on its `SubscribeURL`.
    pub async fn confirm(&self, e: &Envelope, a: &AlertsSection) -> Result<(), SnsError> {
        let raw = e.subscribe_url.as_deref().unwrap_or("");
        let url = allowed_url(
            raw,
            &a.sns_subscribe_hosts,
            a,
            "/SubscribeURL",
            "sns_subscribe_hosts",
        )?;
        let r = self
            .client
            .get(url)
            .send()
            .await
            .map_err(|x| SnsError::Confirm(x.to_string()))?;
        if !r.status().is_success() {
            return Err(SnsError::Confirm(format!(
                "SNS answered HTTP {}",
                r.status()
            )));
        }
        Ok(())
    }
}

/// A dimension of the alarm's metric.
#[derive(Debug, Deserialize)]
struct Dimension {
    #[serde(alias = "Name")]
    name: String,
    #[serde(alias = "Value")]
    value: String,
}

/// The alarm's trigger (only what names the component).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Trigger {
    #[serde(default)]
    dimensions: Vec<Dimension>,
    /// Metric-math alarms: `[{"MetricStat": {"Metric": {"Dimensions": […]}}}]`.
    #[serde(default)]
    metrics: Vec<Value>,
}

/// The CloudWatch alarm inside a notification.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Alarm {
    alarm_name: String,
    new_state_value: String,
    #[serde(default)]
    new_state_reason: Option<String>,
    #[serde(default)]
    old_state_value: Option<String>,
    #[serde(default)]
    state_change_time: Option<String>,
    #[serde(default)]
    region: Option<String>,
    #[serde(default, rename = "AWSAccountId")]
    account: Option<String>,
    #[serde(default)]
    alarm_arn: Option<String>,
    #[serde(default)]
    trigger: Trigger,
}

/// The alert a `Notification` carries.
pub fn alarm(e: &Envelope, a: &AlertsSection) -> Result<Incoming, Invalid> {
    let alarm: Alarm = parse(e.message.as_bytes()).map_err(|inner| {
        Invalid::at(
            "/Message",
            format!(
                "not a CloudWatch alarm: at {} inside the message: {}",
                if inner.pointer.is_empty() {
                    "its root"
                } else {
                    &inner.pointer
                },
                inner.message
            ),
        )
    })?;
    let status = match alarm.new_state_value.as_str() {
        "ALARM" => Status::Firing,
        "OK" => Status::Resolved,
        "INSUFFICIENT_DATA" => Status::Unknown,
        s => {
            return Err(Invalid::at(
                "/Message",
                format!(
                    "not a CloudWatch alarm: at /NewStateValue inside the message: must be ALARM, OK or INSUFFICIENT_DATA (got \"{s}\")"
                ),
            ));
        }
    };
    let mut dims: Vec<(String, String)> = alarm
        .trigger
        .dimensions
        .iter()
        .map(|d| (d.name.clone(), d.value.clone()))
        .collect();
    for m in &alarm.trigger.metrics {
        if let Some(list) = m
            .pointer("/MetricStat/Metric/Dimensions")
            .and_then(Value::as_array)
        {
            for d in list {
                let n = d
                    .get("Name")
                    .or_else(|| d.get("name"))
                    .and_then(Value::as_str);
                let v = d
                    .get("Value")
                    .or_else(|| d.get("value"))
                    .and_then(Value::as_str);
                if let (Some(n), Some(v)) = (n, v) {
                    dims.push((n.to_owned(), v.to_owned()));
                }
            }
        }
    }
    let component = a.sns_component_dimensions.iter().find_map(|want| {
        dims.iter()
            .find(|(n, v)| n == want && !v.is_empty())
            .map(|(_, v)| v.clone())
    });
    Ok(Incoming {
        source: "sns",
        identity: alarm.alarm_name.clone(),
        name: alarm.alarm_name.clone(),
        component,
        status,
        payload: json!({
            "topic_arn": e.topic_arn,
            "message_id": e.message_id,
            "alarm_name": alarm.alarm_name,
            "alarm_arn": alarm.alarm_arn,
            "new_state": alarm.new_state_value,
            "old_state": alarm.old_state_value,
            "reason": alarm.new_state_reason,
            "state_change_time": alarm.state_change_time,
            "region": alarm.region,
            "account": alarm.account,
            "dimensions": dims.iter().map(|(n, v)| json!({"name": n, "value": v})).collect::<Vec<_>>(),
        }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(kind: &str) -> Envelope {
        Envelope {
            kind: kind.into(),
            message_id: "m".into(),
            token: Some("t".into()),
            topic_arn: "arn:aws:sns:us-east-1:123456789012:a".into(),
            subject: Some("s".into()),
            message: "hello".into(),
            subscribe_url: Some("https://sns.us-east-1.amazonaws.com/?x".into()),
            timestamp: "2026-11-27T06:00:00.000Z".into(),
            signature_version: "2".into(),
            signature: String::new(),
            signing_cert_url: String::new(),
        }
    }

    #[test]
    fn canonical_strings_follow_the_message_type() {
        assert_eq!(
            canonical(&env("Notification")),
            "Message\nhello\nMessageId\nm\nSubject\ns\nTimestamp\n2026-11-27T06:00:00.000Z\nTopicArn\narn:aws:sns:us-east-1:123456789012:a\nType\nNotification\n"
        );
        let mut n = env("Notification");
        n.subject = None;
        assert!(!canonical(&n).contains("Subject"));
        assert_eq!(
            canonical(&env("SubscriptionConfirmation")),
            "Message\nhello\nMessageId\nm\nSubscribeURL\nhttps://sns.us-east-1.amazonaws.com/?x\nTimestamp\n2026-11-27T06:00:00.000Z\nToken\nt\nTopicArn\narn:aws:sns:us-east-1:123456789012:a\nType\nSubscriptionConfirmation\n"
        );
    }

    #[test]
    fn urls_must_be_https_on_an_allowed_host() {
        let a = AlertsSection::default();
        let hosts = &a.sns_cert_hosts;
        assert!(
            allowed_url(
                "https://sns.us-east-1.amazonaws.com/c.pem",
                hosts,
                &a,
                "/p",
                "k"
            )
            .is_ok()
        );
        for bad in [
            "http://sns.us-east-1.amazonaws.com/c.pem",
            "https://sns.us-east-1.amazonaws.com.evil.com/c.pem",
            "https://evil.com/sns.us-east-1.amazonaws.com",
            "https://x@sns.us-east-1.amazonaws.com/c.pem",
        ] {
            assert!(
                matches!(
                    allowed_url(bad, hosts, &a, "/p", "k"),
                    Err(SnsError::Forbidden { .. })
                ),
                "{bad}"
            );
        }
        assert!(matches!(
            allowed_url("::", hosts, &a, "/p", "k"),
            Err(SnsError::Invalid(_))
        ));
    }

    #[test]
    fn alarms_name_components_by_dimension() {
        let a = AlertsSection::default();
        let mut e = env("Notification");
        e.message = json!({"AlarmName": "p99", "NewStateValue": "ALARM",
            "Trigger": {"Dimensions": [{"name": "Resource", "value": "x"}, {"value": "checkout-api", "name": "FunctionName"}]}})
        .to_string();
        let i = alarm(&e, &a).unwrap();
        assert_eq!(i.component.as_deref(), Some("checkout-api"));
        assert_eq!(i.status, Status::Firing);
        e.message = json!({"AlarmName": "p99", "NewStateValue": "OK",
            "Trigger": {"Metrics": [{"Id": "m1", "MetricStat": {"Metric": {"Dimensions": [{"Name": "ServiceName", "Value": "orders"}]}}}]}})
        .to_string();
        let i = alarm(&e, &a).unwrap();
        assert_eq!(i.component.as_deref(), Some("orders"));
        assert_eq!(i.status, Status::Resolved);
        e.message = json!({"NewStateValue": "ALARM"}).to_string();
        let x = alarm(&e, &a).unwrap_err();
        assert_eq!(x.pointer, "/Message");
        assert!(x.message.contains("AlarmName"), "{}", x.message);
        e.message = json!({"AlarmName": "p", "NewStateValue": "BAD"}).to_string();
        assert!(
            alarm(&e, &a)
                .unwrap_err()
                .message
                .contains("/NewStateValue")
        );
    }
}
