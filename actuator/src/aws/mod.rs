//! The AWS side: makes a plan's calls with the AWS SDK and reads the live
//! configuration they are compared with (Lambda and Application Auto Scaling).
//!
//! Credentials, retries and timeouts are the collectors' too ([`adaptd_aws::sdk_loader`]);
//! an endpoint override points the SDK at another server that speaks the AWS wire
//! protocol (the tests' moto).

mod lambda;
mod scaling;

use std::time::Duration;

use crate::plan::{Call, LambdaSettings, Target};

/// How to reach AWS.
#[derive(Clone, Debug, Default)]
pub struct AwsSettings {
    /// Endpoint override (tests, VPC endpoints).
    pub endpoint_url: Option<String>,
    /// Region; `None`: the standard chain's.
    pub region: Option<String>,
    /// Named profile; `None`: the standard chain.
    pub profile: Option<String>,
    /// Attempts per call (standard retry mode: throttling and 5xx are retried).
    pub max_attempts: u32,
    /// Per attempt.
    pub timeout: Duration,
    /// Credentials that replace the standard chain (a secret store, tests).
    pub credentials: Option<adaptd_aws::SharedCredentialsProvider>,
}

/// A failed AWS call.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{operation}: {message}")]
pub struct AwsError {
    /// The operation (`lambda:GetFunctionConfiguration`).
    pub operation: &'static str,
    /// The SDK's message, with the service's error code.
    pub message: String,
}

impl AwsError {
    fn new(operation: &'static str, e: &(dyn std::error::Error + 'static)) -> Self {
        Self {
            operation,
            message: aws_sdk_lambda::error::DisplayErrorContext(e).to_string(),
        }
    }
}

/// The clients the actuator uses.
#[derive(Clone, Debug)]
pub struct Aws {
    lambda: aws_sdk_lambda::Client,
    scaling: aws_sdk_applicationautoscaling::Client,
}

impl Aws {
    /// Clients for `settings`.
    pub async fn connect(settings: &AwsSettings) -> Aws {
        let loader = adaptd_aws::sdk_loader(&adaptd_aws::Access {
            endpoint_url: settings.endpoint_url.as_deref(),
            profile: settings.profile.as_deref(),
            region: settings.region.as_deref(),
            credentials: settings.credentials.as_ref(),
            max_attempts: settings.max_attempts,
            timeout: settings.timeout,
        });
        let config = loader.load().await;
        Aws {
            lambda: aws_sdk_lambda::Client::new(&config),
            scaling: aws_sdk_applicationautoscaling::Client::new(&config),
        }
    }

    /// Makes `call`.
    pub async fn execute(&self, call: &Call) -> Result<(), AwsError> {
        match call {
            Call::RegisterScalableTarget { .. }
            | Call::PutScheduledAction { .. }
            | Call::DeleteScheduledAction { .. }
            | Call::DeregisterScalableTarget { .. } => scaling::execute(&self.scaling, call).await,
            _ => lambda::execute(&self.lambda, call).await,
        }
    }

    /// Whether the live configuration already has `call`'s effect.
    pub async fn is_effective(&self, call: &Call) -> Result<bool, AwsError> {
        match call {
            Call::RegisterScalableTarget { .. }
            | Call::PutScheduledAction { .. }
            | Call::DeleteScheduledAction { .. }
            | Call::DeregisterScalableTarget { .. } => {
                scaling::is_effective(&self.scaling, call).await
            }
            _ => lambda::is_effective(&self.lambda, call).await,
        }
    }

    /// The function's live settings: memory of `$LATEST`, reserved concurrency, and
    /// provisioned concurrency — the schedule of adaptd's scheduled actions when there
    /// are any, else the alias's configuration.
    pub async fn read(&self, target: &Target) -> Result<LambdaSettings, AwsError> {
        let memory_mb = lambda::memory_mb(&self.lambda, &target.function_name).await?;
        let reserved_concurrency = lambda::reserved(&self.lambda, &target.function_name).await?;
        let provisioned = match (&target.qualifier, target.resource_id()) {
            (Some(q), Some(rid)) => match scaling::schedule(&self.scaling, &rid).await? {
                Some(h) => adaptd_engine::spec::Provisioned::from_hourly(h),
                None => lambda::provisioned(&self.lambda, &target.function_name, q)
                    .await?
                    .map_or(adaptd_engine::spec::Provisioned::None, |n| {
                        adaptd_engine::spec::Provisioned::Constant(n)
                    }),
            },
            _ => adaptd_engine::spec::Provisioned::None,
        };
        Ok(LambdaSettings {
            memory_mb,
            provisioned,
            reserved_concurrency,
        })
    }
}

/// A count from the plan as the SDK's `i32` (AWS limits are far below `i32::MAX`).
fn i32_of(n: u32) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

/// An SDK count as `u32` (negative counts do not occur; they read as 0).
fn u32_of(n: i32) -> u32 {
    u32::try_from(n).unwrap_or(0)
}
