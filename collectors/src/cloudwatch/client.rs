//! AWS clients for each account and region: credentials through the standard chain
//! (or a named profile), assume-role for other accounts, the endpoint override, and
//! the retry and timeout policy.
//!
//! Retries are the SDK's standard mode: throttling, 5xx answers, timeouts and
//! transient connection errors are retried up to `max_attempts` with exponential
//! backoff and full jitter, so a burst of throttling spreads out instead of
//! synchronising the retries of parallel requests.

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, ConfigLoader, Region, SdkConfig};

use super::config::{AccountTarget, Settings};

/// The region name shown when the chain found none.
pub(crate) const NO_REGION: &str = "(no region)";

/// Clients of one account and region.
#[derive(Clone, Debug)]
pub(crate) struct Clients {
    pub lambda: aws_sdk_lambda::Client,
    pub cloudwatch: aws_sdk_cloudwatch::Client,
    pub region: String,
}

/// How adaptd reaches AWS, whichever part of it calls: the collectors here, the
/// actuator when it applies. One loader, so both retry, time out and find
/// credentials alike.
#[derive(Clone, Copy, Debug, Default)]
pub struct Access<'a> {
    /// Endpoint override (tests, VPC endpoints).
    pub endpoint_url: Option<&'a str>,
    /// Named profile; `None`: the standard chain.
    pub profile: Option<&'a str>,
    /// Region; `None`: the chain's.
    pub region: Option<&'a str>,
    /// Credentials that replace the standard chain (a secret store, tests).
    pub credentials: Option<&'a aws_sdk_lambda::config::SharedCredentialsProvider>,
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

/// The base configuration of the credentials' own account: the standard chain, or
/// `profile`, with the endpoint, retry and timeout settings.
fn loader(settings: &Settings, region: Option<&str>) -> ConfigLoader {
    sdk_loader(&Access {
        endpoint_url: settings.endpoint_url.as_deref(),
        profile: settings.profile.as_deref(),
        region,
        credentials: settings.credentials.as_ref(),
        max_attempts: settings.max_attempts,
        timeout: settings.timeout,
    })
}

/// The configuration of `account` in `region`: the base one, or credentials of its
/// role (refreshed by the SDK before they expire).
pub(crate) async fn account_config(
    settings: &Settings,
    account: &AccountTarget,
    region: Option<&str>,
) -> SdkConfig {
    let base = loader(settings, region).load().await;
    let Some(role) = &account.role_arn else {
        return base;
    };
    let mut provider = aws_config::sts::AssumeRoleProvider::builder(role)
        .session_name("adaptd-collector")
        .configure(&base);
    if let Some(id) = &account.external_id {
        provider = provider.external_id(id);
    }
    if let Some(r) = base.region() {
        provider = provider.region(r.clone());
    }
    let provider = provider.build().await;
    loader(settings, region)
        .credentials_provider(provider)
        .load()
        .await
}

impl Clients {
    /// Clients of an account in a region (`None`: the chain's region).
    pub(crate) async fn new(
        settings: &Settings,
        account: &AccountTarget,
        region: Option<&str>,
    ) -> Clients {
        let config = account_config(settings, account, region).await;
        let region = config
            .region()
            .map_or_else(|| NO_REGION.to_owned(), |r| r.to_string());
        Clients {
            lambda: aws_sdk_lambda::Client::new(&config),
            cloudwatch: aws_sdk_cloudwatch::Client::new(&config),
            region,
        }
    }
}
