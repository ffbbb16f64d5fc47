//! The AWS side: makes a plan's calls with the AWS SDK and reads the live
//! configuration they are compared with (Lambda, ECS and Application Auto Scaling).
//!
//! Credentials, retries and timeouts are the collectors' too ([`adaptd_aws::sdk_loader`]);
//! an endpoint override points the SDK at another server that speaks the AWS wire
//! protocol (the tests' moto).

mod ecs;
mod lambda;
mod scaling;

use std::time::Duration;

use adaptd_engine::spec::{Provisioned, TrackingMetric};
use adaptd_engine::zone::Zone;

use crate::plan::{
    Call, EcsSettings, LambdaSettings, Scalable, ServiceTarget, TRACKING_POLICY, Target,
    TaskScaling,
};

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
    ecs: aws_sdk_ecs::Client,
    elb: aws_sdk_elasticloadbalancingv2::Client,
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
            ecs: aws_sdk_ecs::Client::new(&config),
            elb: aws_sdk_elasticloadbalancingv2::Client::new(&config),
        }
    }

    /// Makes `call`.
    pub async fn execute(&self, call: &Call) -> Result<(), AwsError> {
        match call.service() {
            "application-autoscaling" => scaling::execute(&self.scaling, call).await,
            "ecs" => ecs::execute(&self.ecs, call).await,
            _ => lambda::execute(&self.lambda, call).await,
        }
    }

    /// Whether the live configuration already has `call`'s effect.
    pub async fn is_effective(&self, call: &Call) -> Result<bool, AwsError> {
        match call.service() {
            "application-autoscaling" => scaling::is_effective(&self.scaling, call).await,
            "ecs" => ecs::is_effective(&self.ecs, call).await,
            _ => lambda::is_effective(&self.lambda, call).await,
        }
    }

    /// The function's live settings: memory of `$LATEST`, reserved concurrency, and
    /// provisioned concurrency — the schedule of adaptd's scheduled actions when there
    /// are any, else the alias's configuration.
    pub async fn read(&self, target: &Target) -> Result<LambdaSettings, AwsError> {
        let memory_mb = lambda::memory_mb(&self.lambda, &target.function_name).await?;
        let reserved_concurrency = lambda::reserved(&self.lambda, &target.function_name).await?;
        let pc = Scalable::LambdaProvisionedConcurrency;
        let (provisioned, schedule_timezone) = match (&target.qualifier, target.resource_id()) {
            (Some(q), Some(rid)) => {
                match scaling::schedule(&self.scaling, pc, &rid, target.timezone).await? {
                    Some((h, zone)) => (Provisioned::from_hourly(h), zone),
                    None => (
                        lambda::provisioned(&self.lambda, &target.function_name, q)
                            .await?
                            .map_or(Provisioned::None, Provisioned::Constant),
                        None,
                    ),
                }
            }
            _ => (Provisioned::None, None),
        };
        Ok(LambdaSettings {
            memory_mb,
            provisioned,
            reserved_concurrency,
            schedule_timezone,
        })
    }

    /// The service's live settings: its task definition and size, and its task count
    /// — adaptd's target-tracking policy when there is one, else the schedule of
    /// adaptd's scheduled actions (with their zone when it is not `zone`, the
    /// target's), else the desired count.
    pub async fn read_service(
        &self,
        s: &ServiceTarget,
        zone: Zone,
    ) -> Result<EcsSettings, AwsError> {
        let (task_definition, (cpu_units, memory_mb, architecture), desired) =
            ecs::service(&self.ecs, s).await?;
        let rid = s.resource_id();
        let fixed = TaskScaling::Fixed { tasks: desired };
        let tasks = Scalable::EcsDesiredCount;
        let mut schedule_timezone = None;
        let scaling = match scaling::target(&self.scaling, tasks, &rid).await? {
            None => fixed,
            Some((min_tasks, max_tasks)) => {
                let policy = scaling::policy(&self.scaling, &rid, TRACKING_POLICY)
                    .await?
                    .and_then(|p| scaling::tracking_of(&p));
                let metric = policy.as_ref().and_then(|(name, _, _)| {
                    [
                        TrackingMetric::Cpu,
                        TrackingMetric::AlbRequestCountPerTarget,
                    ]
                    .into_iter()
                    .find(|m| m.aws_name() == name)
                });
                match (metric, policy) {
                    (Some(metric), Some((_, target_value, _))) => TaskScaling::Tracking {
                        metric,
                        target_value,
                        min_tasks,
                        max_tasks,
                    },
                    _ => match scaling::schedule(&self.scaling, tasks, &rid, zone).await? {
                        Some((h, zone)) => {
                            schedule_timezone = zone;
                            TaskScaling::from_hourly(h)
                        }
                        None => fixed,
                    },
                }
            }
        };
        Ok(EcsSettings {
            task_definition: Some(task_definition),
            cpu_units,
            memory_mb,
            architecture,
            scaling,
            schedule_timezone,
        })
    }

    /// The `ResourceLabel` (`app/LB/ID/targetgroup/TG/ID`) of the service's first
    /// target group, which an `ALBRequestCountPerTarget` policy names; `None` when the
    /// service has no load balancer.
    pub async fn alb_resource_label(&self, s: &ServiceTarget) -> Result<Option<String>, AwsError> {
        let Some(tg) = ecs::target_group(&self.ecs, s).await? else {
            return Ok(None);
        };
        let out = self
            .elb
            .describe_target_groups()
            .target_group_arns(&tg)
            .send()
            .await
            .map_err(|e| AwsError::new("elasticloadbalancing:DescribeTargetGroups", &e))?;
        Ok(out
            .target_groups()
            .iter()
            .flat_map(|g| g.load_balancer_arns())
            .find_map(|lb| ecs::resource_label(lb, &tg)))
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
