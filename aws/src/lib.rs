//! How adaptd reaches AWS: one SDK configuration loader for every part that calls it
//! (the collectors read CloudWatch and Lambda, the actuator applies through Lambda and
//! Application Auto Scaling), so that all of them find credentials, retry and time out
//! alike. Its own crate so that neither of them depends on the other for it.
//!
//! Retries are the SDK's standard mode: throttling, 5xx answers, timeouts and
//! transient connection errors are retried up to `max_attempts` with exponential
//! backoff and full jitter, so a burst of throttling spreads out instead of
//! synchronising the retries of parallel requests.

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, ConfigLoader, Region};
pub use aws_credential_types::provider::SharedCredentialsProvider;

/// How adaptd reaches AWS, whichever part of it calls: the collectors, the actuator
/// when it applies.
#[derive(Clone, Copy, Debug, Default)]
pub struct Access<'a> {
    /// Endpoint override (tests, VPC endpoints).
    pub endpoint_url: Option<&'a str>,
    /// Named profile; `None`: the standard chain.
    pub profile: Option<&'a str>,
    /// Region; `None`: the chain's.
    pub region: Option<&'a str>,
    /// Credentials that replace the standard chain (a secret store, tests).
    pub credentials: Option<&'a SharedCredentialsProvider>,
    /// Attempts per call (standard retry mode: throttling, 5xx, timeouts and transient
    /// connection errors are retried with exponential backoff and full jitter).
    pub max_attempts: u32,
    /// Per attempt.
    pub timeout: Duration,
}

/// The SDK configuration loader for `access`.
pub fn sdk_loader(access: &Access<'_>) -> ConfigLoader {
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .retry_config(
            RetryConfig::standard()
                .with_max_attempts(access.max_attempts.max(1))
                .with_initial_backoff(Duration::from_millis(200))
                .with_max_backoff(Duration::from_secs(20)),
        )
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(5).min(access.timeout))
                .operation_attempt_timeout(access.timeout)
                .build(),
        );
    if let Some(c) = access.credentials {
        loader = loader.credentials_provider(c.clone());
    }
    if let Some(p) = access.profile {
        loader = loader.profile_name(p);
    }
    if let Some(u) = access.endpoint_url {
        loader = loader.endpoint_url(u);
    }
    if let Some(r) = access.region {
        loader = loader.region(Region::new(r.to_owned()));
    }
    loader
}
