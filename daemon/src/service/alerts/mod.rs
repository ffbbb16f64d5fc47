//! Alerts that trigger auto-tuning: `POST /api/v1/alerts/alertmanager` (Alertmanager
//! webhook, version 4) and `POST /api/v1/alerts/sns` (CloudWatch alarms through SNS),
//! and `GET /api/v1/alerts`.
//!
//! A request is authenticated first (Alertmanager: the service's bearer token or
//! `X-Adaptd-Signature: sha256=<hex HMAC-SHA256 of the body>`; SNS: the message
//! signature), then parsed and checked whole; any refusal is a 4xx naming the place
//! (a JSON pointer) and nothing is recorded. Each accepted alert is recorded in the
//! `alerts` table with its outcome: `pending` (a focused cycle is due; the leader runs
//! it at once, see [`focus`]), `duplicate` (same identity and status within
//! `dedup_window_seconds`), `rate_limited`, `resolved`, `unmapped` (no component
//! named, or not one adaptd knows), `ignored` (SNS `INSUFFICIENT_DATA`).

pub mod alertmanager;
pub mod apply;
pub mod focus;
pub mod sns;

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;

use adaptd_config::AlertsSection;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use tokio::sync::Notify;

use super::api::{ApiError, AppState};
use super::auth::Denied;
use crate::store::alerts::{Admission, Admitted, AlertStore, NewAlert};
use crate::store::{AuditEntry, now_ms};

/// A refusal of a body: where (JSON pointer, "" for the whole body) and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    /// JSON pointer.
    pub pointer: String,
    /// Why.
    pub message: String,
}

impl Invalid {
    /// A problem at `pointer`.
    pub fn at(pointer: &str, message: impl Into<String>) -> Self {
        Self {
            pointer: pointer.to_owned(),
            message: message.into(),
        }
    }
}

impl From<Invalid> for ApiError {
    fn from(i: Invalid) -> Self {
        ApiError::body(i.pointer, i.message)
    }
}

/// Parses JSON, naming the failing place with a JSON pointer (RFC 6901).
pub fn parse<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, Invalid> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(&mut de).map_err(|e| {
        use serde_path_to_error::Segment;
        let pointer: String = e
            .path()
            .iter()
            .filter_map(|s| match s {
                Segment::Seq { index } => Some(index.to_string()),
                Segment::Map { key } => Some(key.clone()),
                Segment::Enum { variant } => Some(variant.clone()),
                Segment::Unknown => None,
            })
            .map(|s| format!("/{}", s.replace('~', "~0").replace('/', "~1")))
            .collect();
        Invalid::at(&pointer, format!("invalid JSON body: {}", e.into_inner()))
    })
}

/// Milliseconds since the epoch of an RFC 3339 time.
pub fn rfc3339(s: &str) -> Result<i64, String> {
    time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
        .map(|t| (t.unix_timestamp_nanos() / 1_000_000) as i64)
        .map_err(|e| format!("not an RFC 3339 time (\"{s}\": {e})"))
}

/// An alert's status.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Status {
    /// Firing (Alertmanager `firing`, CloudWatch `ALARM`).
    Firing,
    /// Resolved (`resolved`, `OK`).
    Resolved,
    /// Neither (CloudWatch `INSUFFICIENT_DATA`).
    Unknown,
}

impl Status {
    fn as_str(self) -> &'static str {
        match self {
            Status::Firing => "firing",
            Status::Resolved => "resolved",
            Status::Unknown => "unknown",
        }
    }
}

/// An alert as parsed, before it is recorded.
#[derive(Debug, Clone)]
pub struct Incoming {
    /// `alertmanager` or `sns`.
    pub source: &'static str,
    /// Stable across firing and resolving (fingerprint, alarm name).
    pub identity: String,
    /// Alert or alarm name.
    pub name: String,
    /// The component named, if any.
    pub component: Option<String>,
    /// Status.
    pub status: Status,
    /// What is kept of it (JSON).
    pub payload: Value,
}

/// Where the HMAC secret comes from.
#[derive(Debug, Clone)]
enum Secret {
    None,
    Value(Vec<u8>),
    File(PathBuf),
}

/// The alerts' shared state.
#[derive(Debug)]
pub struct Alerts {
    /// `[alerts]`.
    pub section: AlertsSection,
    secret: Secret,
    /// Components named in the config (besides those the store knows).
    configured: BTreeSet<String>,
    /// Wakes the leader's scheduler when a focused cycle is due.
    pub wake: Arc<Notify>,
    /// SNS signatures and confirmations.
    verifier: sns::Verifier,
}

impl Alerts {
    /// From the config; `base` is the config file's directory.
    pub fn from_config(
        config: &adaptd_config::Config,
        base: &std::path::Path,
    ) -> Result<Self, String> {
        let a = &config.alerts;
        let secret = if let Some(var) = &a.hmac_secret_env {
            match std::env::var(var) {
                Ok(s) if !s.trim().is_empty() => Secret::Value(s.trim().as_bytes().to_vec()),
                Ok(_) => return Err(format!("alerts.hmac_secret_env: ${var} is empty")),
                Err(_) => return Err(format!("alerts.hmac_secret_env: ${var} is not set")),
            }
        } else if let Some(f) = &a.hmac_secret_file {
            let path = base.join(f);
            std::fs::read_to_string(&path)
                .map_err(|e| format!("alerts.hmac_secret_file: {}: {e}", path.display()))?;
            Secret::File(path)
        } else {
            Secret::None
        };
        Ok(Self {
            section: a.clone(),
            secret,
            configured: config.components.iter().map(|c| c.name.clone()).collect(),
            wake: Arc::new(Notify::new()),
            verifier: sns::Verifier::new(),
        })
    }

    fn enabled(&self) -> Result<(), ApiError> {
        if self.section.enabled {
            Ok(())
        } else {
            Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "alerts_disabled",
                "alerts are not enabled (set alerts.enabled = true)",
            ))
        }
    }

    /// Checks `X-Adaptd-Signature` against the body.
    fn check_hmac(&self, given: &str, body: &[u8]) -> Result<(), ApiError> {
        let unauthorized = |m: String| ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", m);
        let secret = match &self.secret {
            Secret::None => {
                return Err(unauthorized(
                    "X-Adaptd-Signature is given but no HMAC secret is configured (alerts.hmac_secret_env or alerts.hmac_secret_file)".into(),
                ));
            }
            Secret::Value(v) => v.clone(),
            Secret::File(p) => std::fs::read_to_string(p)
                .map_err(|e| {
                    ApiError::new(
                        StatusCode::SERVICE_UNAVAILABLE,
                        "secret_unreadable",
                        format!("the HMAC secret file cannot be read ({e})"),
                    )
                })?
                .trim()
                .as_bytes()
                .to_vec(),
        };
        let hex = given.trim().strip_prefix("sha256=").ok_or_else(|| {
            unauthorized("X-Adaptd-Signature must be `sha256=<hex HMAC-SHA256 of the body>`".into())
        })?;
        let tag = decode_hex(hex).ok_or_else(|| {
            unauthorized("X-Adaptd-Signature: the digest is not hexadecimal".into())
        })?;
        let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &secret);
        ring::hmac::verify(&key, body, &tag).map_err(|_| {
            unauthorized("X-Adaptd-Signature does not match the body (HMAC-SHA256 with the configured secret)".into())
        })
    }
}

fn decode_hex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

/// What one alert became.
fn outcome_json(id: i64, i: &Incoming, outcome: &str, note: Option<&str>) -> Value {
    json!({"id": id, "name": i.name, "component": i.component, "status": i.status.as_str(),
           "outcome": outcome, "note": note})
}

/// Records `alerts` with their outcomes; wakes the scheduler when a focused cycle is
/// due. Whether an alert is a duplicate or rate-limited is decided by the store in one
/// transaction per alert ([`AlertStore::admit_alert`]), so it holds across replicas.
async fn intake<S: AlertStore>(
    st: &AppState<S>,
    alerts: Vec<Incoming>,
) -> Result<Vec<Value>, ApiError> {
    let a = &st.alerts;
    let known: BTreeSet<String> = st
        .store
        .components()
        .await
        .map_err(ApiError::internal)?
        .into_iter()
        .map(|c| c.name)
        .chain(a.configured.iter().cloned())
        .collect();
    let now = now_ms();
    let window_ms = |s: u64| i64::try_from(s.saturating_mul(1000)).unwrap_or(i64::MAX);
    let rules = Admission {
        dedup_since_ms: now.saturating_sub(window_ms(a.section.dedup_window_seconds)),
        rate_since_ms: now.saturating_sub(window_ms(a.section.rate_limit_window_seconds)),
        max_focused: i64::from(a.section.max_focused_cycles_per_component),
    };
    let mut out = Vec::with_capacity(alerts.len());
    let mut wake = false;
    for i in alerts {
        // The outcome unless the store finds a duplicate or the rate limit reached.
        let (outcome, note) = match (&i.component, i.status) {
            (None, _) => (
                "unmapped",
                Some("no component is named by its labels or dimensions".to_owned()),
            ),
            (Some(c), _) if !known.contains(c) => {
                ("unmapped", Some(format!("adaptd knows no component `{c}`")))
            }
            (Some(_), Status::Resolved) => ("resolved", None),
            (Some(_), Status::Unknown) => (
                "ignored",
                Some("INSUFFICIENT_DATA starts nothing".to_owned()),
            ),
            (Some(_), Status::Firing) => ("pending", Some("a focused cycle starts now".to_owned())),
        };
        let admitted = st
            .store
            .admit_alert(
                &NewAlert {
                    received_ms: now,
                    source: i.source.to_owned(),
                    identity: i.identity.clone(),
                    dedup_key: format!("{}|{}|{}", i.source, i.identity, i.status.as_str()),
                    name: i.name.clone(),
                    component: i.component.clone(),
                    status: i.status.as_str().to_owned(),
                    outcome: outcome.to_owned(),
                    payload: i.payload.to_string(),
                },
                &rules,
            )
            .await
            .map_err(ApiError::internal)?;
        let (outcome, note) = match admitted {
            Admitted::Recorded { .. } => (outcome, note),
            Admitted::Duplicate { first, .. } => (
                "duplicate",
                Some(format!(
                    "the same alert was received as alert {first} within alerts.dedup_window_seconds"
                )),
            ),
            Admitted::RateLimited { count, .. } => (
                "rate_limited",
                Some(format!(
                    "{} already had {count} focused cycle(s) within alerts.rate_limit_window_seconds",
                    i.component.as_deref().unwrap_or_default()
                )),
            ),
        };
        wake |= outcome == "pending";
        st.metrics.observe_alert(i.source, outcome);
        out.push(outcome_json(admitted.id(), &i, outcome, note.as_deref()));
    }
    if wake {
        a.wake.notify_one();
    }
    Ok(out)
}

fn accepted(items: &[Value]) -> Response {
    (StatusCode::OK, axum::Json(json!({"items": items}))).into_response()
}

/// `POST /api/v1/alerts/alertmanager`.
pub async fn alertmanager<S: AlertStore>(
    State(st): State<Arc<AppState<S>>>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    st.alerts.enabled()?;
    match headers.get("x-adaptd-signature") {
        Some(sig) => st
            .alerts
            .check_hmac(sig.to_str().unwrap_or(""), &bytes)?,
        None => st.auth.check(&headers).map_err(|d| match d {
            Denied::NoToken => ApiError::new(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "send `Authorization: Bearer <token>` (service.token_env or service.token_file) or X-Adaptd-Signature",
            ),
            d => ApiError::from(d),
        })?,
    }
    let alerts = alertmanager::alerts(&bytes, &st.alerts.section)?;
    Ok(accepted(&intake(&st, alerts).await?))
}

/// `POST /api/v1/alerts/sns`.
pub async fn sns<S: AlertStore>(
    State(st): State<Arc<AppState<S>>>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    st.alerts.enabled()?;
    let a = &st.alerts.section;
    let header = headers
        .get("x-amz-sns-message-type")
        .and_then(|v| v.to_str().ok());
    let to_api = |e: sns::SnsError| match e {
        sns::SnsError::Invalid(i) => ApiError::from(i),
        sns::SnsError::Forbidden { pointer, message } => {
            ApiError::new(StatusCode::FORBIDDEN, "forbidden", message).with_pointer(pointer)
        }
        e @ sns::SnsError::Certificate { .. } => ApiError::new(
            StatusCode::BAD_GATEWAY,
            "certificate_unavailable",
            e.to_string(),
        )
        .with_pointer("/SigningCertURL".into()),
        e @ sns::SnsError::Confirm(_) => ApiError::new(
            StatusCode::BAD_GATEWAY,
            "confirmation_failed",
            e.to_string(),
        )
        .with_pointer("/SubscribeURL".into()),
    };
    let e = sns::envelope(&bytes, header, a, now_ms()).map_err(to_api)?;
    st.alerts.verifier.verify(&e, a).await.map_err(to_api)?;
    match e.kind.as_str() {
        "Notification" => {
            let alert = sns::alarm(&e, a)?;
            Ok(accepted(&intake(&st, vec![alert]).await?))
        }
        kind => {
            let subscribe = kind == "SubscriptionConfirmation";
            if subscribe {
                st.alerts.verifier.confirm(&e, a).await.map_err(to_api)?;
            }
            let action = if subscribe {
                "alerts.sns.subscribe"
            } else {
                "alerts.sns.unsubscribed"
            };
            st.store
                .audit(&AuditEntry {
                    at_ms: now_ms(),
                    actor: "sns".into(),
                    action: action.into(),
                    subject: format!("topic/{}", e.topic_arn),
                    payload: json!({"message_id": e.message_id, "subscribe_url": e.subscribe_url})
                        .to_string(),
                    outcome: "ok".into(),
                })
                .await
                .map_err(ApiError::internal)?;
            Ok((
                StatusCode::OK,
                axum::Json(json!({"type": kind, "topic_arn": e.topic_arn, "confirmed": subscribe})),
            )
                .into_response())
        }
    }
}

/// `GET /api/v1/alerts?limit=&before_id=`.
pub async fn list<S: AlertStore>(
    State(st): State<Arc<AppState<S>>>,
    q: super::api::Params,
) -> Result<Response, ApiError> {
    let (limit, before) = super::api::page(&super::api::params(q, &["limit", "before_id"])?)?;
    let rows = st
        .store
        .alerts(limit, before)
        .await
        .map_err(ApiError::internal)?;
    Ok(axum::Json(json!({"items": rows})).into_response())
}
