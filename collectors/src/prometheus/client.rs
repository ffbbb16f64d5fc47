//! The HTTP side: one `query_range` call, with authentication, a custom CA, extra
//! headers, a timeout, and Prometheus's error answers turned into errors that carry
//! the query text.

use std::collections::BTreeMap;
use std::time::Duration;

use adaptd_config::PrometheusSection;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use serde::Deserialize;

use super::error::Error;

/// How requests authenticate.
#[derive(Clone, Debug)]
enum Auth {
    None,
    Bearer(String),
    /// A token file, read at each collection so a rotated token is picked up.
    BearerFile(String),
    Basic(String, Option<String>),
}

/// A configured HTTP client of one server.
#[derive(Clone, Debug)]
pub(crate) struct Client {
    http: reqwest::Client,
    base: String,
    auth: Auth,
    timeout: Duration,
}

/// One series of a range query: its labels and `(unix seconds, value)` samples.
#[derive(Debug, Deserialize)]
pub(crate) struct Series {
    pub metric: BTreeMap<String, String>,
    #[serde(default)]
    pub values: Vec<(f64, String)>,
}

#[derive(Debug, Deserialize)]
struct Answer {
    status: String,
    #[serde(default)]
    data: Option<Data>,
    #[serde(default, rename = "errorType")]
    error_type: Option<String>,
    #[serde(default)]
    error: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Data {
    #[serde(rename = "resultType")]
    result_type: String,
    #[serde(default)]
    result: Vec<Series>,
}

fn env_secret(var: &str, what: &str) -> Result<String, Error> {
    std::env::var(var).map_err(|_| {
        Error::Settings(format!(
            "collectors.prometheus.{what}: environment variable {var} is not set"
        ))
    })
}

impl Client {
    pub(crate) fn new(s: &PrometheusSection) -> Result<Client, Error> {
        let auth = if let Some(var) = &s.bearer_token_env {
            Auth::Bearer(env_secret(var, "bearer_token_env")?)
        } else if let Some(file) = &s.bearer_token_file {
            Auth::BearerFile(file.clone())
        } else if let Some(user) = &s.username {
            let password = s
                .password_env
                .as_deref()
                .map(|v| env_secret(v, "password_env"))
                .transpose()?;
            Auth::Basic(user.clone(), password)
        } else {
            Auth::None
        };
        let mut headers = HeaderMap::new();
        for (k, v) in &s.headers {
            let name = HeaderName::from_bytes(k.as_bytes()).map_err(|e| {
                Error::Settings(format!("collectors.prometheus.headers: `{k}`: {e}"))
            })?;
            let value = HeaderValue::from_str(v)
                .map_err(|e| Error::Settings(format!("collectors.prometheus.headers.{k}: {e}")))?;
            headers.insert(name, value);
        }
        let timeout = Duration::from_secs_f64(s.timeout_seconds.max(0.001));
        let mut builder = reqwest::Client::builder()
            .default_headers(headers)
            .connect_timeout(Duration::from_secs(10).min(timeout))
            .timeout(timeout);
        if let Some(ca) = &s.ca_file {
            let pem = std::fs::read(ca).map_err(|e| {
                Error::Settings(format!(
                    "collectors.prometheus.ca_file: cannot read {ca}: {e}"
                ))
            })?;
            let certs = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| {
                Error::Settings(format!(
                    "collectors.prometheus.ca_file: {ca} is not PEM: {e}"
                ))
            })?;
            if certs.is_empty() {
                return Err(Error::Settings(format!(
                    "collectors.prometheus.ca_file: {ca} holds no certificate"
                )));
            }
            builder = builder.tls_certs_merge(certs);
        }
        let http = builder
            .build()
            .map_err(|e| Error::Settings(format!("collectors.prometheus: {e}")))?;
        Ok(Client {
            http,
            base: s.url.trim_end_matches('/').to_owned(),
            auth,
            timeout,
        })
    }

    /// `GET /api/v1/query_range` over `[start, end]` (unix seconds, inclusive).
    pub(crate) async fn query_range(
        &self,
        query: &str,
        start: i64,
        end: i64,
        step_seconds: u32,
    ) -> Result<Vec<Series>, Error> {
        let failed = |message: String| Error::Query {
            query: query.to_owned(),
            error_type: None,
            message,
        };
        let mut req = self
            .http
            .get(format!("{}/api/v1/query_range", self.base))
            .query(&[
                ("query", query),
                ("start", &start.to_string()),
                ("end", &end.to_string()),
                ("step", &format!("{step_seconds}s")),
                ("timeout", &format!("{}s", self.timeout.as_secs().max(1))),
            ]);
        req = match &self.auth {
            Auth::None => req,
            Auth::Bearer(t) => req.bearer_auth(t),
            Auth::BearerFile(f) => {
                let t = std::fs::read_to_string(f).map_err(|e| {
                    Error::Settings(format!(
                        "collectors.prometheus.bearer_token_file: cannot read {f}: {e}"
                    ))
                })?;
                req.bearer_auth(t.trim())
            }
            Auth::Basic(u, p) => req.basic_auth(u, p.as_deref()),
        };
        let resp = req.send().await.map_err(|e| {
            if e.is_timeout() {
                Error::Timeout {
                    query: query.to_owned(),
                    seconds: self.timeout.as_secs_f64(),
                }
            } else {
                failed(format!("cannot reach {}: {e}", self.base))
            }
        })?;
        let status = resp.status();
        let body = resp.text().await.map_err(|e| {
            if e.is_timeout() {
                Error::Timeout {
                    query: query.to_owned(),
                    seconds: self.timeout.as_secs_f64(),
                }
            } else {
                failed(format!("reading the answer: {e}"))
            }
        })?;
        let answer: Answer = match serde_json::from_str(&body) {
            Ok(a) => a,
            Err(_) => {
                let snippet: String = body.chars().take(200).collect();
                return Err(failed(format!(
                    "HTTP {status} without a Prometheus API answer (is {} the API's base URL?): {snippet}",
                    self.base
                )));
            }
        };
        if answer.status != "success" {
            return Err(Error::Query {
                query: query.to_owned(),
                error_type: answer.error_type,
                message: format!(
                    "HTTP {status}: {}",
                    answer.error.unwrap_or_else(|| "no error message".into())
                ),
            });
        }
        let data = answer
            .data
            .ok_or_else(|| failed("a success answer without data".into()))?;
        if data.result_type != "matrix" {
            return Err(failed(format!(
                "expected a range vector (matrix), got a {}",
                data.result_type
            )));
        }
        Ok(data.result)
    }
}
