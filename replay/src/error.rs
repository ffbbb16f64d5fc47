//! Why a replay cannot run: the inputs, never the simulation, are at fault.

use adaptd_engine::quantiles::QuantileError;
use adaptd_engine::telemetry::Minute;

/// A workload, configuration or parameter the replay refuses.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ReplayError {
    /// The telemetry has no invocation counts to replay.
    #[error("component `{0}` has no invocation counts (invocations/sum) to replay")]
    NoInvocations(String),
    /// Invocations exist but nothing says how long they take.
    #[error("component `{0}` has invocations but no duration data (duration_ms) to draw from")]
    NoDuration(String),
    /// The memory the durations were observed at is unknown, so no other memory can be
    /// replayed faithfully.
    #[error(
        "component `{0}`: the memory its durations were observed at is unknown (set WorkloadOptions::observed_memory_mb, a `memory_mb` attribute or configured_memory_mb)"
    )]
    UnknownMemory(String),
    /// A per-minute count that is not a non-negative number of invocations.
    #[error("component `{name}`: invocation count {value} at minute {minute} is not a count")]
    BadCount {
        /// Component.
        name: String,
        /// The minute.
        minute: Minute,
        /// The value found.
        value: f64,
    },
    /// Per-minute duration stats that do not form a distribution.
    #[error("component `{name}`: duration stats at minute {minute}: {source}")]
    BadDuration {
        /// Component.
        name: String,
        /// The minute.
        minute: Minute,
        /// What is wrong with them.
        source: QuantileError,
    },
    /// A workload field out of its range.
    #[error("workload `{name}`: {field} = {value} is out of range ({expected})")]
    Workload {
        /// Workload name.
        name: String,
        /// Field.
        field: &'static str,
        /// Offending value.
        value: f64,
        /// The accepted range, in words.
        expected: &'static str,
    },
    /// A configuration or policy the replay cannot run.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// A parameter out of range.
    #[error("invalid replay parameter: {0}")]
    Params(String),
}
