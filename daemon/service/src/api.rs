//! The HTTP API (axum): reads for everyone, approve/reject behind a named bearer token,
//! health and readiness, `/metrics` and the OpenAPI document (`docs/openapi.json`,
//! served as checked in).
//!
//! Every refusal is JSON, `{"error": {"status", "code", "message", …}}`, naming what
//! is wrong: the query parameter (`parameter`) or the place in the body (`pointer`, a
//! JSON pointer).

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use adaptd_store::alerts::AlertStore;
use adaptd_store::{Lifecycle, RecommendationFilter, Store, Transition, TransitionError};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{MatchedPath, Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::alerts::intake;
use crate::http::{ApiError, ApiResult, MAX_LIMIT, Params, id_param, int_param, page, params};
use crate::reports;
use crate::state::AppState;

/// The OpenAPI document, as checked in.
pub const OPENAPI: &str = include_str!("../../../docs/openapi.json");

/// The router.
pub fn router<S: AlertStore>(state: Arc<AppState<S>>) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz::<S>))
        .route("/metrics", get(metrics::<S>))
        .route("/openapi.json", get(openapi))
        .route("/api/v1/components", get(components::<S>))
        .route("/api/v1/recommendations", get(recommendations::<S>))
        .route("/api/v1/recommendations/{id}", get(recommendation::<S>))
        .route("/api/v1/recommendations/{id}/approve", post(approve::<S>))
        .route("/api/v1/recommendations/{id}/reject", post(reject::<S>))
        .route("/api/v1/cycles", get(cycles::<S>))
        .route("/api/v1/cycles/{id}", get(cycle::<S>))
        .route("/api/v1/audit", get(audit::<S>))
        .route("/api/v1/reports", get(reports::list::<S>))
        .route("/api/v1/reports/latest", get(reports::latest::<S>))
        .route("/api/v1/reports/{period}/{file}", get(reports::file::<S>))
        .route("/api/v1/alerts", get(intake::list::<S>))
        .route(
            "/api/v1/alerts/alertmanager",
            post(intake::alertmanager::<S>),
        )
        .route("/api/v1/alerts/sns", post(intake::sns::<S>))
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(state.clone(), observe::<S>))
        .with_state(state)
}

async fn observe<S: Store>(
    State(st): State<Arc<AppState<S>>>,
    req: Request,
    next: Next,
) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", |m| m.as_str())
        .to_owned();
    let method = req.method().as_str().to_owned();
    let t = Instant::now();
    let r = next.run(req).await;
    st.metrics.observe_http(
        &route,
        &method,
        r.status().as_u16(),
        t.elapsed().as_secs_f64(),
    );
    r
}

async fn not_found() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "not_found",
        "no such endpoint (see /openapi.json)",
    )
}

async fn healthz() -> Response {
    axum::Json(json!({"status": "ok"})).into_response()
}

async fn readyz<S: Store>(State(st): State<Arc<AppState<S>>>) -> Response {
    let role = if st.leader.load(Ordering::Relaxed) {
        "leader"
    } else {
        "follower"
    };
    match st.store.ping().await {
        Ok(()) => axum::Json(json!({"status": "ready", "role": role, "instance": st.instance}))
            .into_response(),
        Err(e) => (
            StatusCode::SERVICE_UNAVAILABLE,
            axum::Json(json!({"status": "unavailable", "role": role, "instance": st.instance, "reason": e.to_string()})),
        )
            .into_response(),
    }
}

async fn metrics<S: Store>(State(st): State<Arc<AppState<S>>>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        st.metrics.render(),
    )
        .into_response()
}

async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI).into_response()
}

async fn components<S: Store>(State(st): State<Arc<AppState<S>>>, q: Params) -> ApiResult {
    params(q, &[])?;
    let comps = st.store.components().await.map_err(ApiError::internal)?;
    let latest = st
        .store
        .latest_recommendations()
        .await
        .map_err(ApiError::internal)?;
    let by_name: std::collections::BTreeMap<&str, _> =
        latest.iter().map(|r| (r.component.as_str(), r)).collect();
    let items: Vec<Value> = comps
        .iter()
        .map(|c| {
            let mut v = serde_json::to_value(c).unwrap_or_default();
            v["recommendation"] = by_name.get(c.name.as_str()).map_or(Value::Null, |r| {
                json!({"id": r.id, "version": r.version, "status": r.status, "verdict": r.verdict,
                       "saving_usd_per_month": r.saving_usd_per_month})
            });
            v
        })
        .collect();
    Ok(axum::Json(json!({"items": items, "total": items.len()})).into_response())
}

async fn recommendations<S: Store>(State(st): State<Arc<AppState<S>>>, q: Params) -> ApiResult {
    let list = params(
        q,
        &[
            "status",
            "verdict",
            "component",
            "min_saving_usd_per_month",
            "all_versions",
            "limit",
            "offset",
        ],
    )?;
    let mut f = RecommendationFilter {
        limit: 100,
        ..RecommendationFilter::default()
    };
    for (k, v) in &list {
        match k.as_str() {
            "status" => {
                for s in v.split(',') {
                    f.statuses.push(
                        s.trim()
                            .parse()
                            .map_err(|e: String| ApiError::parameter(k, e))?,
                    );
                }
            }
            "verdict" => {
                for s in v.split(',').map(str::trim) {
                    if !["change", "keep", "slo_infeasible", "no_data"].contains(&s) {
                        return Err(ApiError::parameter(
                            k,
                            format!(
                                "unknown verdict `{s}` (expected one of: change, keep, slo_infeasible, no_data)"
                            ),
                        ));
                    }
                    f.verdicts.push(s.to_owned());
                }
            }
            "component" => f.component = Some(v.clone()),
            "min_saving_usd_per_month" => {
                let x: f64 = v
                    .parse()
                    .ok()
                    .filter(|x: &f64| x.is_finite())
                    .ok_or_else(|| {
                        ApiError::parameter(
                            k,
                            format!("must be a number of USD per month (got \"{v}\")"),
                        )
                    })?;
                f.min_saving_usd_per_month = Some(x);
            }
            "all_versions" => {
                f.all_versions = match v.as_str() {
                    "true" => true,
                    "false" => false,
                    _ => {
                        return Err(ApiError::parameter(
                            k,
                            format!("must be true or false (got \"{v}\")"),
                        ));
                    }
                }
            }
            "limit" => f.limit = int_param(k, v, 1, MAX_LIMIT)?,
            "offset" => f.offset = int_param(k, v, 0, i64::MAX)?,
            _ => unreachable!("checked by params"),
        }
    }
    if !f.all_versions {
        let revision = st
            .store
            .recommendations_revision()
            .await
            .map_err(ApiError::internal)?;
        if let Some(body) = st.listing.page(revision, &f).await {
            return Ok((
                [(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json"),
                )],
                body,
            )
                .into_response());
        }
    }
    let (rows, total) = st
        .store
        .list_recommendations(&f)
        .await
        .map_err(ApiError::internal)?;
    Ok(
        axum::Json(json!({"items": rows, "total": total, "limit": f.limit, "offset": f.offset}))
            .into_response(),
    )
}

async fn recommendation<S: Store>(
    State(st): State<Arc<AppState<S>>>,
    Path(raw): Path<String>,
    q: Params,
) -> ApiResult {
    params(q, &[])?;
    let id = id_param(&raw, "recommendation")?;
    let Some(row) = st
        .store
        .recommendation(id)
        .await
        .map_err(ApiError::internal)?
    else {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no recommendation {id}"),
        ));
    };
    let document: Value = row
        .document
        .as_deref()
        .map(serde_json::from_str)
        .transpose()
        .map_err(ApiError::internal)?
        .unwrap_or(Value::Null);
    let mut v = serde_json::to_value(&row).map_err(ApiError::internal)?;
    v["recommendation"] = document;
    Ok(axum::Json(v).into_response())
}

/// Body of `approve`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ApproveBody {
    note: Option<String>,
}

/// Body of `reject`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RejectBody {
    reason: String,
}

/// Parses a JSON body, naming the failing place (an unknown key included) with a
/// JSON pointer.
fn body<T: serde::de::DeserializeOwned>(bytes: &Bytes) -> Result<T, ApiError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let pointer = if path == "." {
            String::new()
        } else {
            format!("/{}", path.replace('.', "/"))
        };
        let msg = e.into_inner().to_string();
        ApiError::body(pointer, format!("invalid JSON body: {msg}"))
    })
}

/// Who acts: the holder of the request's token. A self-declared actor
/// (`X-Adaptd-Actor`, accepted before tokens had names) is refused rather than
/// ignored, so that a script still sending it learns that its audit entries would
/// not say what it expects.
fn actor<S>(st: &AppState<S>, headers: &HeaderMap) -> Result<String, ApiError> {
    let actor = st.auth.check(headers)?;
    if headers.contains_key("x-adaptd-actor") {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_header",
            "X-Adaptd-Actor is not accepted: the actor is the name of the bearer token ([[service.tokens]])",
        ));
    }
    Ok(actor)
}

async fn approve<S: Store>(
    State(st): State<Arc<AppState<S>>>,
    Path(raw): Path<String>,
    headers: HeaderMap,
    bytes: Bytes,
) -> ApiResult {
    let actor = actor(&st, &headers)?;
    let id = id_param(&raw, "recommendation")?;
    let b: ApproveBody = if bytes.iter().all(u8::is_ascii_whitespace) {
        ApproveBody::default()
    } else {
        body(&bytes)?
    };
    transition(
        &st,
        id,
        vec![Lifecycle::Proposed],
        Lifecycle::Approved,
        actor,
        b.note,
        true,
    )
    .await
}

async fn reject<S: Store>(
    State(st): State<Arc<AppState<S>>>,
    Path(raw): Path<String>,
    headers: HeaderMap,
    bytes: Bytes,
) -> ApiResult {
    let actor = actor(&st, &headers)?;
    let id = id_param(&raw, "recommendation")?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::body(
            String::new(),
            "a JSON body with `reason` is required",
        ));
    }
    let b: RejectBody = body(&bytes)?;
    if b.reason.trim().is_empty() {
        return Err(ApiError::body("/reason".into(), "must not be empty"));
    }
    transition(
        &st,
        id,
        vec![Lifecycle::Proposed, Lifecycle::Approved],
        Lifecycle::Rejected,
        actor,
        Some(b.reason),
        false,
    )
    .await
}

async fn transition<S: Store>(
    st: &AppState<S>,
    id: i64,
    from: Vec<Lifecycle>,
    to: Lifecycle,
    actor: String,
    note: Option<String>,
    actionable_only: bool,
) -> ApiResult {
    let t = Transition {
        id,
        from,
        to,
        actor,
        note,
        at_ms: adaptd_store::now_ms(),
        verdicts: if actionable_only {
            vec!["change".into(), "slo_infeasible".into()]
        } else {
            Vec::new()
        },
    };
    match st.store.transition(&t).await {
        Ok(row) => Ok(axum::Json(row).into_response()),
        Err(TransitionError::NotFound(id)) => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no recommendation {id}"),
        )),
        Err(e @ TransitionError::Conflict { .. }) => Err(ApiError::new(
            StatusCode::CONFLICT,
            "conflict",
            e.to_string(),
        )),
        Err(TransitionError::Store(e)) => Err(ApiError::internal(e)),
    }
}

async fn cycles<S: Store>(State(st): State<Arc<AppState<S>>>, q: Params) -> ApiResult {
    let (limit, before) = page(&params(q, &["limit", "before_id"])?)?;
    let rows = st
        .store
        .cycles(limit, before)
        .await
        .map_err(ApiError::internal)?;
    Ok(axum::Json(json!({"items": rows})).into_response())
}

async fn cycle<S: Store>(
    State(st): State<Arc<AppState<S>>>,
    Path(raw): Path<String>,
    q: Params,
) -> ApiResult {
    params(q, &[])?;
    let id = id_param(&raw, "cycle")?;
    match st.store.cycle(id).await.map_err(ApiError::internal)? {
        Some(c) => Ok(axum::Json(c).into_response()),
        None => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no cycle {id}"),
        )),
    }
}

async fn audit<S: Store>(State(st): State<Arc<AppState<S>>>, q: Params) -> ApiResult {
    let (limit, before) = page(&params(q, &["limit", "before_id"])?)?;
    let rows = st
        .store
        .audit_log(limit, before)
        .await
        .map_err(ApiError::internal)?;
    Ok(axum::Json(json!({"items": rows})).into_response())
}
