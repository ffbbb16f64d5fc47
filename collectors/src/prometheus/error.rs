//! Errors of the Prometheus collector. Every query failure carries the query text:
//! with templates expanded per source, "bad_data" alone would not tell which one.

/// A failure of the Prometheus collector.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The settings cannot be used (a missing secret, an unreadable CA file).
    #[error("{0}")]
    Settings(String),
    /// The server refused or failed a query (`bad_data` for invalid PromQL,
    /// `execution` for a query that fails at evaluation, like duplicate series).
    #[error("query `{query}` failed: {}{message}", error_type.as_deref().map(|t| format!("{t}: ")).unwrap_or_default())]
    Query {
        /// The PromQL sent.
        query: String,
        /// Prometheus's `errorType`, when it answered with one.
        error_type: Option<String>,
        /// What went wrong.
        message: String,
    },
    /// No answer within `timeout_seconds`.
    #[error("query `{query}` timed out after {seconds} s (collectors.prometheus.timeout_seconds)")]
    Timeout {
        /// The PromQL sent.
        query: String,
        /// The timeout.
        seconds: f64,
    },
    /// A query's answer cannot be attributed to components.
    #[error("query `{query}`: {message}")]
    Shape {
        /// The PromQL sent.
        query: String,
        /// What is wrong with the answer.
        message: String,
    },
}
