//! Errors of the CloudWatch collector, and what an AWS SDK failure means to a user.
//!
//! The SDK's errors are precise but terse ("service error", "unexpected token '<'").
//! They are turned into one sentence naming the operation, where it was called (the
//! account, region and function) and the likely cause: a test server that does not
//! implement the call, missing permissions, throttling that outlasted the retries.

use std::fmt;

use aws_sdk_lambda::config::http::HttpResponse;
use aws_smithy_types::error::display::DisplayErrorContext;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

/// Where a failure happened.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scope {
    /// Account key.
    pub account: String,
    /// Region, when known.
    pub region: Option<String>,
    /// Function name, when the failure concerns one function.
    pub function: Option<String>,
    /// ECS service (`cluster/service`), when the failure concerns one service.
    pub service: Option<String>,
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "account {}", self.account)?;
        if let Some(r) = &self.region {
            write!(f, ", region {r}")?;
        }
        if let Some(n) = &self.function {
            write!(f, ", function {n}")?;
        }
        if let Some(n) = &self.service {
            write!(f, ", ECS service {n}")?;
        }
        Ok(())
    }
}

/// What kind of failure an API call had, for callers that react differently (the
/// service alerts on permissions, waits on throttling).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum ApiErrorKind {
    /// The endpoint does not implement the operation (HTTP 404/501 without an AWS
    /// error, or an HTML page).
    Unsupported,
    /// Access denied or invalid credentials.
    Permission,
    /// Throttled after every retry.
    Throttled,
    /// No answer within the timeout, after every retry.
    Timeout,
    /// The request could not be sent (DNS, connection refused, TLS).
    Connection,
    /// The server failed (HTTP 5xx) after every retry.
    Server,
    /// Anything else the service refused (validation, missing resource).
    Service,
}

/// A failure of the CloudWatch collector.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The settings cannot be used.
    #[error("{0}")]
    Settings(String),
    /// An AWS API call failed.
    #[error("{operation} failed for {scope}: {message}")]
    Api {
        /// The operation (`GetMetricData`).
        operation: &'static str,
        /// Where (boxed: it keeps the error small enough to pass around by value).
        scope: Box<Scope>,
        /// What kind of failure.
        kind: ApiErrorKind,
        /// What happened, for a person.
        message: String,
    },
    /// Two functions or services map to one component name.
    #[error(
        "{scope}: component name `{name}` is also the name of {other}; set \
         collectors.cloudwatch.component_name to e.g. \"{{account}}-{{region}}-{{function}}\""
    )]
    NameCollision {
        /// Where the second function or service is.
        scope: Box<Scope>,
        /// The shared name.
        name: String,
        /// The function that has it already (its ARN).
        other: String,
    },
    /// A response lacked something AWS always sends.
    #[error("{operation} for {scope}: malformed response ({what})")]
    Malformed {
        /// The operation.
        operation: &'static str,
        /// Where (boxed: it keeps the error small enough to pass around by value).
        scope: Box<Scope>,
        /// What is missing or wrong.
        what: String,
    },
}

impl Error {
    /// The scope of an API failure, if it has one.
    pub fn scope(&self) -> Option<&Scope> {
        match self {
            Error::Api { scope, .. }
            | Error::NameCollision { scope, .. }
            | Error::Malformed { scope, .. } => Some(scope.as_ref()),
            Error::Settings(_) => None,
        }
    }
}

/// Describes an SDK failure of `operation`. `hint` adds what the caller knows that
/// the error does not (for GetMetricData, that percentile statistics were asked).
pub(crate) fn api_error<E>(
    operation: &'static str,
    scope: &Scope,
    err: &aws_sdk_lambda::error::SdkError<E, HttpResponse>,
    hint: Option<&str>,
) -> Error
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    use aws_sdk_lambda::error::SdkError;
    let (kind, message) = match err {
        SdkError::TimeoutError(_) => (
            ApiErrorKind::Timeout,
            "no answer within the timeout (collectors.cloudwatch.timeout_seconds), after every retry".to_owned(),
        ),
        SdkError::DispatchFailure(_) => match credentials_failure(err) {
            Some((code, message)) => {
                let (kind, text) = classify(Some(&code), Some(&message), 0, None);
                (kind, format!("cannot get credentials: {text}"))
            }
            None => (
                ApiErrorKind::Connection,
                format!("cannot reach the endpoint: {}", DisplayErrorContext(err)),
            ),
        },
        SdkError::ServiceError(s) => {
            let e = s.err();
            let status = s.raw().status().as_u16();
            classify(e.code(), e.message(), status, hint)
        }
        SdkError::ResponseError(r) => {
            let status = r.raw().status().as_u16();
            unsupported_or_server(status, &DisplayErrorContext(err).to_string(), hint)
        }
        _ => (ApiErrorKind::Service, DisplayErrorContext(err).to_string()),
    };
    Error::Api {
        operation,
        scope: Box::new(scope.clone()),
        kind,
        message,
    }
}

/// The AWS error behind a credentials failure (an assume-role that was denied, an
/// expired SSO session): the SDK reports those as dispatch failures, with the
/// service's error several sources deep.
fn credentials_failure(err: &(dyn std::error::Error + 'static)) -> Option<(String, String)> {
    let mut cur = Some(err);
    let mut credentials = false;
    while let Some(e) = cur {
        credentials |= e.to_string().contains("credentials");
        if credentials
            && let Some(meta) = e.downcast_ref::<aws_smithy_types::error::ErrorMetadata>()
        {
            return Some((
                meta.code().unwrap_or("Unknown").to_owned(),
                meta.message().unwrap_or_default().to_owned(),
            ));
        }
        cur = e.source();
    }
    credentials.then(|| {
        (
            "CredentialsError".to_owned(),
            DisplayErrorContext(err).to_string(),
        )
    })
}

fn classify(
    code: Option<&str>,
    message: Option<&str>,
    status: u16,
    hint: Option<&str>,
) -> (ApiErrorKind, String) {
    let text = match (code, message) {
        (Some(c), Some(m)) => format!("{c}: {m}"),
        (Some(c), None) => c.to_owned(),
        (None, Some(m)) => m.to_owned(),
        (None, None) => String::new(),
    };
    let c = code.unwrap_or("");
    if c.contains("AccessDenied")
        || c.contains("UnrecognizedClient")
        || c.contains("InvalidClientTokenId")
        || c.contains("ExpiredToken")
        || c == "AuthFailure"
        || status == 403
    {
        return (
            ApiErrorKind::Permission,
            format!("{text} (check the credentials and the IAM permissions in docs/collectors.md)"),
        );
    }
    if c.contains("Throttl")
        || c.contains("TooManyRequests")
        || c == "RequestLimitExceeded"
        || status == 429
    {
        return (
            ApiErrorKind::Throttled,
            format!(
                "{text} (still throttled after every retry; lower collectors.cloudwatch.max_concurrent_requests)"
            ),
        );
    }
    if code.is_none() {
        return unsupported_or_server(status, &text, hint);
    }
    if status >= 500 {
        return (
            ApiErrorKind::Server,
            with_hint(format!("HTTP {status}, {text}"), hint),
        );
    }
    (ApiErrorKind::Service, format!("HTTP {status}, {text}"))
}

fn with_hint(text: String, hint: Option<&str>) -> String {
    match hint {
        Some(h) => format!("{text}; {h}"),
        None => text,
    }
}

/// A failure without an AWS error code: an endpoint that does not implement the call
/// (moto answers unknown operations with a 404 HTML page) or a server crash.
fn unsupported_or_server(status: u16, detail: &str, hint: Option<&str>) -> (ApiErrorKind, String) {
    if status == 404 || status == 501 || detail.contains("unexpected token '<'") {
        return (
            ApiErrorKind::Unsupported,
            format!(
                "the endpoint does not implement this operation (HTTP {status} without an AWS error); \
                 if collectors.cloudwatch.endpoint_url points at a test server, it lacks this API"
            ),
        );
    }
    if status >= 500 {
        return (
            ApiErrorKind::Server,
            with_hint(
                format!("the server failed (HTTP {status}) after every retry"),
                hint,
            ),
        );
    }
    (ApiErrorKind::Service, format!("HTTP {status}: {detail}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_are_classified_for_people() {
        let (k, m) = classify(Some("AccessDeniedException"), Some("no"), 400, None);
        assert_eq!(k, ApiErrorKind::Permission);
        assert!(m.contains("IAM permissions"), "{m}");
        let (k, _) = classify(Some("ThrottlingException"), None, 400, None);
        assert_eq!(k, ApiErrorKind::Throttled);
        let (k, m) = classify(None, None, 404, None);
        assert_eq!(k, ApiErrorKind::Unsupported);
        assert!(m.contains("does not implement"), "{m}");
        let (k, m) = classify(None, None, 500, Some("percentiles were requested"));
        assert_eq!(k, ApiErrorKind::Server);
        assert!(m.ends_with("percentiles were requested"), "{m}");
        let (k, m) = classify(Some("ResourceNotFoundException"), Some("gone"), 404, None);
        assert_eq!(k, ApiErrorKind::Service);
        assert!(m.contains("gone"));
    }
}
