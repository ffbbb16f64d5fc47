//! The HTTP vocabulary every handler shares: the JSON refusal ([`ApiError`]) and the
//! query parameters, checked by name so that an unknown one is refused, not ignored.

use axum::extract::Query;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::auth::Denied;

/// Largest page.
pub(crate) const MAX_LIMIT: i64 = 1000;

/// A refusal.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
    parameter: Option<String>,
    pointer: Option<String>,
}

impl ApiError {
    pub(crate) fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            parameter: None,
            pointer: None,
        }
    }

    pub(crate) fn parameter(name: &str, message: impl Into<String>) -> Self {
        Self {
            parameter: Some(name.to_owned()),
            ..Self::new(StatusCode::BAD_REQUEST, "invalid_parameter", message)
        }
    }

    /// The refusal's code (`unauthorized`, `invalid_body`, …), a small fixed set.
    pub(crate) fn code(&self) -> &'static str {
        self.code
    }

    pub(crate) fn with_pointer(self, pointer: String) -> Self {
        Self {
            pointer: Some(pointer),
            ..self
        }
    }

    pub(crate) fn body(pointer: String, message: impl Into<String>) -> Self {
        Self {
            pointer: Some(pointer),
            ..Self::new(StatusCode::BAD_REQUEST, "invalid_body", message)
        }
    }

    pub(crate) fn internal(e: impl std::fmt::Display) -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "store_unavailable",
            e.to_string(),
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut err = json!({
            "status": self.status.as_u16(),
            "code": self.code,
            "message": self.message,
        });
        if let Some(p) = self.parameter {
            err["parameter"] = json!(p);
        }
        if let Some(p) = self.pointer {
            err["pointer"] = json!(p);
        }
        let mut r = (self.status, axum::Json(json!({ "error": err }))).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            r.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"adaptd\""),
            );
        }
        r
    }
}

impl From<Denied> for ApiError {
    fn from(d: Denied) -> Self {
        match d {
            Denied::NoToken => Self::new(
                StatusCode::FORBIDDEN,
                "mutations_disabled",
                "no API token is configured ([[service.tokens]], service.token_env or service.token_file): changes are refused",
            ),
            Denied::Missing => Self::new(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "this endpoint needs `Authorization: Bearer <token>`",
            ),
            Denied::Wrong => Self::new(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "the bearer token is not valid",
            ),
            Denied::Unreadable(e) => Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "token_unreadable",
                format!("the token file cannot be read ({e})"),
            ),
        }
    }
}

/// What a handler answers.
pub(crate) type ApiResult = Result<Response, ApiError>;

/// Query parameters as given, so unknown ones can be named.
pub(crate) type Params =
    Result<Query<Vec<(String, String)>>, axum::extract::rejection::QueryRejection>;

pub(crate) fn params(p: Params, allowed: &[&str]) -> Result<Vec<(String, String)>, ApiError> {
    let Query(list) = p.map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_query",
            format!("malformed query string ({e})"),
        )
    })?;
    for (k, _) in &list {
        if !allowed.contains(&k.as_str()) {
            return Err(ApiError::parameter(
                k,
                format!(
                    "unknown parameter `{k}` (expected one of: {})",
                    allowed.join(", ")
                ),
            ));
        }
    }
    Ok(list)
}

pub(crate) fn int_param(name: &str, v: &str, lo: i64, hi: i64) -> Result<i64, ApiError> {
    match v.parse::<i64>() {
        Ok(n) if (lo..=hi).contains(&n) => Ok(n),
        Ok(n) => Err(ApiError::parameter(
            name,
            format!("must be between {lo} and {hi} (got {n})"),
        )),
        Err(_) => Err(ApiError::parameter(
            name,
            format!("must be a whole number (got \"{v}\")"),
        )),
    }
}

pub(crate) fn id_param(raw: &str, what: &str) -> Result<i64, ApiError> {
    raw.parse::<i64>().ok().filter(|&n| n > 0).ok_or_else(|| {
        ApiError::parameter(
            "id",
            format!("{what} ids are positive whole numbers (got \"{raw}\")"),
        )
    })
}

pub(crate) fn page(list: &[(String, String)]) -> Result<(i64, Option<i64>), ApiError> {
    let mut limit = 50;
    let mut before = None;
    for (k, v) in list {
        match k.as_str() {
            "limit" => limit = int_param(k, v, 1, MAX_LIMIT)?,
            "before_id" => before = Some(int_param(k, v, 1, i64::MAX)?),
            _ => {}
        }
    }
    Ok((limit, before))
}
