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
pub mod intake;
pub mod sns;

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;

use adaptd_config::AlertsSection;
use axum::http::StatusCode;
use serde_json::Value;
use tokio::sync::Notify;

use super::http::ApiError;

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
    chrono::DateTime::parse_from_rfc3339(s)
        .map(|t| t.timestamp_millis())
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
