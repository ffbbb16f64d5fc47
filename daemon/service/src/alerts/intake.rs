//! The alert endpoints: authenticate, parse and check each request whole, then
//! record every alert with its outcome and wake the leader when a focused cycle is
//! due.

use std::collections::BTreeSet;
use std::sync::Arc;

use adaptd_store::alerts::{Admission, Admitted, AlertStore, NewAlert};
use adaptd_store::{AuditEntry, now_ms};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use tracing::Instrument;

use super::{Incoming, Invalid, Status, alertmanager, sns};
use crate::auth::Denied;
use crate::http::{ApiError, Params, page, params};
use crate::state::AppState;

impl From<Invalid> for ApiError {
    fn from(i: Invalid) -> Self {
        ApiError::body(i.pointer, i.message)
    }
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
        let span = tracing::info_span!(
            "alert",
            source = i.source,
            name = %i.name,
            component = i.component.as_deref(),
            status = i.status.as_str()
        );
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
            .instrument(span.clone())
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
        span.in_scope(|| match &note {
            Some(n) => tracing::info!(outcome, "alert received: {outcome} ({n})"),
            None => tracing::info!(outcome, "alert received: {outcome}"),
        });
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

/// Counts a refusal of an alert request (`adaptd_alert_requests_refused_total`):
/// an alert that never reached adaptd is what an operator must hear about.
fn counted<S>(
    st: &AppState<S>,
    source: &str,
    r: Result<Response, ApiError>,
) -> Result<Response, ApiError> {
    if let Err(e) = &r {
        st.metrics.observe_alert_refused(source, e.code());
    }
    r
}

/// `POST /api/v1/alerts/alertmanager`.
#[tracing::instrument(name = "alerts", skip_all, fields(endpoint = "alertmanager"))]
pub async fn alertmanager<S: AlertStore>(
    State(st): State<Arc<AppState<S>>>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    let r = alertmanager_request(&st, &headers, &bytes).await;
    counted(&st, "alertmanager", r)
}

async fn alertmanager_request<S: AlertStore>(
    st: &AppState<S>,
    headers: &HeaderMap,
    bytes: &Bytes,
) -> Result<Response, ApiError> {
    st.alerts.enabled()?;
    match headers.get("x-adaptd-signature") {
        Some(sig) => st
            .alerts
            .check_hmac(sig.to_str().unwrap_or(""), bytes)?,
        None => st.auth.check(headers).map(drop).map_err(|d| match d {
            Denied::NoToken => ApiError::new(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "send `Authorization: Bearer <token>` ([[service.tokens]], service.token_env or service.token_file) or X-Adaptd-Signature",
            ),
            d => ApiError::from(d),
        })?,
    }
    let alerts = alertmanager::alerts(bytes, &st.alerts.section)?;
    Ok(accepted(&intake(st, alerts).await?))
}

/// `POST /api/v1/alerts/sns`.
#[tracing::instrument(name = "alerts", skip_all, fields(endpoint = "sns"))]
pub async fn sns<S: AlertStore>(
    State(st): State<Arc<AppState<S>>>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    let r = sns_request(&st, &headers, &bytes).await;
    counted(&st, "sns", r)
}

async fn sns_request<S: AlertStore>(
    st: &AppState<S>,
    headers: &HeaderMap,
    bytes: &Bytes,
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
    let e = sns::envelope(bytes, header, a, now_ms()).map_err(to_api)?;
    st.alerts.verifier.verify(&e, a).await.map_err(to_api)?;
    match e.kind.as_str() {
        "Notification" => {
            let alert = sns::alarm(&e, a)?;
            Ok(accepted(&intake(st, vec![alert]).await?))
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
    q: Params,
) -> Result<Response, ApiError> {
    let (limit, before) = page(&params(q, &["limit", "before_id"])?)?;
    let rows = st
        .store
        .alerts(limit, before)
        .await
        .map_err(ApiError::internal)?;
    Ok(axum::Json(json!({"items": rows})).into_response())
}
