//! The weekly reports' archive over HTTP: the list of periods, the latest HTML report,
//! and each file of a period.
//!
//! The archive is the directory the leader's scheduled report (and `adaptd report`
//! without `--out`) writes, `[report] output_dir`; in a container that is the volume
//! under `/var/lib/adaptd`. Every replica reads it from disk at each request, so a
//! report written by the leader on a shared volume is served by all of them. Only
//! files a period's manifest lists are served: a path from the request never reaches
//! the filesystem unchecked.

use std::path::PathBuf;
use std::sync::Arc;

use adaptd_ops::report::{CONTENT_SECURITY_POLICY, MANIFEST, Manifest, archived, media_type};
use adaptd_store::Store;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::IntoResponse;
use serde_json::json;

use crate::http::{ApiError, ApiResult, Params, params};
use crate::state::AppState;

/// The periods of `dir`, newest first, read off the request's thread.
async fn periods(dir: PathBuf) -> Result<Vec<Manifest>, ApiError> {
    tokio::task::spawn_blocking(move || archived(&dir))
        .await
        .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string()))?
        .map_err(|e| {
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "archive_unavailable",
                format!("the report archive cannot be read ({e})"),
            )
        })
}

/// `GET /api/v1/reports`: every archived period, newest first, with its headline
/// numbers and the URLs of its files.
pub(crate) async fn list<S: Store>(State(st): State<Arc<AppState<S>>>, q: Params) -> ApiResult {
    params(q, &[])?;
    let items: Vec<serde_json::Value> = periods(st.reports_dir.clone())
        .await?
        .into_iter()
        .map(|m| {
            let id = m.period.id.clone();
            let urls: serde_json::Map<String, serde_json::Value> = m
                .files
                .iter()
                .chain(std::iter::once(&MANIFEST.to_owned()))
                .map(|f| (f.clone(), json!(format!("/api/v1/reports/{id}/{f}"))))
                .collect();
            let mut v = serde_json::to_value(&m).unwrap_or_default();
            v["id"] = json!(id);
            v["urls"] = serde_json::Value::Object(urls);
            v
        })
        .collect();
    Ok(axum::Json(json!({"items": items, "total": items.len()})).into_response())
}

/// `GET /api/v1/reports/latest`: the newest period's `report.html`.
pub(crate) async fn latest<S: Store>(State(st): State<Arc<AppState<S>>>, q: Params) -> ApiResult {
    params(q, &[])?;
    let all = periods(st.reports_dir.clone()).await?;
    let Some(m) = all
        .iter()
        .find(|m| m.files.iter().any(|f| f == "report.html"))
    else {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "no_report",
            if all.is_empty() {
                "no report has been archived yet (the first is written at the next [report] schedule)"
            } else {
                "no archived report has an HTML file ([report] formats leaves out html)"
            },
        ));
    };
    serve_file(&st.reports_dir, &m.period.id, "report.html").await
}

/// `GET /api/v1/reports/{period}/{file}`: one file a period's manifest lists (or the
/// manifest itself).
pub(crate) async fn file<S: Store>(
    State(st): State<Arc<AppState<S>>>,
    Path((period, name)): Path<(String, String)>,
    q: Params,
) -> ApiResult {
    params(q, &[])?;
    let all = periods(st.reports_dir.clone()).await?;
    let Some(m) = all.iter().find(|m| m.period.id == period) else {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no archived report for period `{period}` (GET /api/v1/reports lists them)"),
        ));
    };
    if name != MANIFEST && !m.files.contains(&name) {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!(
                "the report of {period} has no file `{name}` (it has: {}, {MANIFEST})",
                m.files.join(", ")
            ),
        ));
    }
    serve_file(&st.reports_dir, &m.period.id, &name).await
}

/// The file's bytes with its media type; HTML carries its Content-Security-Policy as
/// a header too.
async fn serve_file(root: &std::path::Path, period: &str, name: &str) -> ApiResult {
    let path = root.join(period).join(name);
    let bytes = tokio::task::spawn_blocking({
        let path = path.clone();
        move || std::fs::read(path)
    })
    .await
    .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string()))?
    .map_err(|e| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "archive_unavailable",
            format!("{} cannot be read ({e})", path.display()),
        )
    })?;
    let media = media_type(name);
    let mut r = (
        [(header::CONTENT_TYPE, HeaderValue::from_static(media))],
        bytes,
    )
        .into_response();
    if media.starts_with("text/html") {
        r.headers_mut().insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CONTENT_SECURITY_POLICY),
        );
    }
    Ok(r)
}
