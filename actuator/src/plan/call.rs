//! One AWS API call of a plan, with exactly the parameters it is made with, and its
//! text as the operator reads it (IAM action, then each parameter by its AWS name).

use std::fmt;

use adaptd_engine::spec::{Architecture, TrackingMetric};
use adaptd_engine::zone::Zone;
use serde::{Deserialize, Serialize};

/// Application Auto Scaling's dimension for Lambda provisioned concurrency.
pub const PC_DIMENSION: &str = "lambda:function:ProvisionedConcurrency";

/// Application Auto Scaling's dimension for an ECS service's task count.
pub const ECS_DIMENSION: &str = "ecs:service:DesiredCount";

/// Prefix of the scheduled actions adaptd owns on an alias; the hour (in the target's
/// zone) follows.
pub const ACTION_PREFIX: &str = "adaptd-pc-";

/// Prefix of the scheduled actions adaptd owns on an ECS service; the hour (in the
/// target's zone) follows.
pub const ECS_ACTION_PREFIX: &str = "adaptd-tasks-";

/// The name of the target-tracking policy adaptd owns on an ECS service.
pub const TRACKING_POLICY: &str = "adaptd-tracking";

/// What an Application Auto Scaling call scales. One owner for the namespace, the
/// dimension and the names of adaptd's actions, so Lambda and ECS share every
/// scaling call and its reading back.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scalable {
    /// Provisioned concurrency of a Lambda alias (`function:NAME:QUALIFIER`).
    #[default]
    LambdaProvisionedConcurrency,
    /// The desired task count of an ECS service (`service/CLUSTER/SERVICE`).
    EcsDesiredCount,
}

impl Scalable {
    /// The service namespace (`lambda`, `ecs`).
    pub fn namespace(self) -> &'static str {
        match self {
            Scalable::LambdaProvisionedConcurrency => "lambda",
            Scalable::EcsDesiredCount => "ecs",
        }
    }

    /// The scalable dimension.
    pub fn dimension(self) -> &'static str {
        match self {
            Scalable::LambdaProvisionedConcurrency => PC_DIMENSION,
            Scalable::EcsDesiredCount => ECS_DIMENSION,
        }
    }

    /// Prefix of adaptd's scheduled actions.
    pub fn action_prefix(self) -> &'static str {
        match self {
            Scalable::LambdaProvisionedConcurrency => ACTION_PREFIX,
            Scalable::EcsDesiredCount => ECS_ACTION_PREFIX,
        }
    }

    /// The scheduled action name of an hour, local to the target's zone
    /// (`adaptd-pc-08`, `adaptd-tasks-08`).
    pub fn action_name(self, hour: u32) -> String {
        format!("{}{hour:02}", self.action_prefix())
    }

    /// Lambda is the default and is left out of the JSON, so audit logs written before
    /// ECS existed read the same.
    fn is_lambda(&self) -> bool {
        *self == Scalable::LambdaProvisionedConcurrency
    }
}

/// One AWS API call, with exactly the parameters it is made with.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "api", deny_unknown_fields)]
pub enum Call {
    /// `lambda:UpdateFunctionConfiguration` (memory of `$LATEST`).
    UpdateFunctionConfiguration {
        /// Function.
        function_name: String,
        /// New memory (MB).
        memory_mb: u32,
    },
    /// `lambda:PutProvisionedConcurrencyConfig`.
    PutProvisionedConcurrencyConfig {
        /// Function.
        function_name: String,
        /// Alias or version.
        qualifier: String,
        /// Environments.
        provisioned_concurrent_executions: u32,
    },
    /// `lambda:DeleteProvisionedConcurrencyConfig`.
    DeleteProvisionedConcurrencyConfig {
        /// Function.
        function_name: String,
        /// Alias or version.
        qualifier: String,
    },
    /// `application-autoscaling:RegisterScalableTarget`.
    RegisterScalableTarget {
        /// What is scaled.
        #[serde(default, skip_serializing_if = "Scalable::is_lambda")]
        scalable: Scalable,
        /// `function:NAME:QUALIFIER` or `service/CLUSTER/SERVICE`.
        resource_id: String,
        /// Lowest level of the schedule (or the tracking policy's minimum).
        min_capacity: u32,
        /// Highest level.
        max_capacity: u32,
    },
    /// `application-autoscaling:PutScheduledAction`: from `hour` (in `timezone`)
    /// every day, capacity fixed at `capacity` (min = max).
    PutScheduledAction {
        /// What is scaled.
        #[serde(default, skip_serializing_if = "Scalable::is_lambda")]
        scalable: Scalable,
        /// The scalable target's resource id.
        resource_id: String,
        /// `adaptd-pc-HH` or `adaptd-tasks-HH`.
        scheduled_action_name: String,
        /// `cron(0 H * * ? *)`.
        schedule: String,
        /// The local hour it fires in `timezone` (written `hour_utc` before zones).
        #[serde(alias = "hour_utc")]
        hour: u32,
        /// The IANA zone AWS reads the cron in, so the hour stays local across
        /// daylight-saving changes (`UTC` in records from before zones).
        #[serde(default)]
        timezone: Zone,
        /// Capacity from then on.
        capacity: u32,
    },
    /// `application-autoscaling:DeleteScheduledAction`.
    DeleteScheduledAction {
        /// What is scaled.
        #[serde(default, skip_serializing_if = "Scalable::is_lambda")]
        scalable: Scalable,
        /// The scalable target's resource id.
        resource_id: String,
        /// The action.
        scheduled_action_name: String,
    },
    /// `application-autoscaling:DeregisterScalableTarget`.
    DeregisterScalableTarget {
        /// What is scaled.
        #[serde(default, skip_serializing_if = "Scalable::is_lambda")]
        scalable: Scalable,
        /// The scalable target's resource id.
        resource_id: String,
    },
    /// `application-autoscaling:PutScalingPolicy`, target tracking on a predefined
    /// metric (ECS services).
    PutScalingPolicy {
        /// `service/CLUSTER/SERVICE`.
        resource_id: String,
        /// `adaptd-tracking`.
        policy_name: String,
        /// The metric followed.
        metric: TrackingMetric,
        /// Its target value.
        target_value: f64,
        /// `app/LB/ID/targetgroup/TG/ID`, for `ALBRequestCountPerTarget`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        resource_label: Option<String>,
    },
    /// `application-autoscaling:DeleteScalingPolicy`.
    DeleteScalingPolicy {
        /// `service/CLUSTER/SERVICE`.
        resource_id: String,
        /// `adaptd-tracking`.
        policy_name: String,
    },
    /// `lambda:PutFunctionConcurrency`.
    PutFunctionConcurrency {
        /// Function.
        function_name: String,
        /// Reserved executions.
        reserved_concurrent_executions: u32,
    },
    /// `lambda:DeleteFunctionConcurrency`.
    DeleteFunctionConcurrency {
        /// Function.
        function_name: String,
    },
    /// `ecs:UpdateService` with a desired count.
    UpdateServiceDesiredCount {
        /// Cluster name.
        cluster: String,
        /// Service name.
        service: String,
        /// Tasks.
        desired_count: u32,
    },
    /// `ecs:RegisterTaskDefinition`: a new revision of `based_on`'s family, a copy of
    /// it (containers, roles, network mode, volumes) with a new task size.
    RegisterTaskDefinition {
        /// The revision copied (`family:revision`).
        based_on: String,
        /// Task CPU units (1024 = 1 vCPU).
        cpu_units: u32,
        /// Task memory (MB).
        memory_mb: u32,
        /// `runtimePlatform.cpuArchitecture`.
        architecture: Architecture,
    },
    /// `ecs:UpdateService` with a task definition: `family` (its latest active
    /// revision, the one just registered) or `family:revision` (a rollback to the
    /// revision that ran before).
    UpdateServiceTaskDefinition {
        /// Cluster name.
        cluster: String,
        /// Service name.
        service: String,
        /// `family` or `family:revision`.
        task_definition: String,
        /// The task size it has, to tell whether it is already in use.
        cpu_units: u32,
        /// See `cpu_units`.
        memory_mb: u32,
        /// See `cpu_units`.
        architecture: Architecture,
    },
}

impl Call {
    /// The IAM action the call needs (`lambda:PutProvisionedConcurrencyConfig`).
    pub fn iam_action(&self) -> &'static str {
        match self {
            Call::UpdateFunctionConfiguration { .. } => "lambda:UpdateFunctionConfiguration",
            Call::PutProvisionedConcurrencyConfig { .. } => {
                "lambda:PutProvisionedConcurrencyConfig"
            }
            Call::DeleteProvisionedConcurrencyConfig { .. } => {
                "lambda:DeleteProvisionedConcurrencyConfig"
            }
            Call::RegisterScalableTarget { .. } => "application-autoscaling:RegisterScalableTarget",
            Call::PutScheduledAction { .. } => "application-autoscaling:PutScheduledAction",
            Call::DeleteScheduledAction { .. } => "application-autoscaling:DeleteScheduledAction",
            Call::DeregisterScalableTarget { .. } => {
                "application-autoscaling:DeregisterScalableTarget"
            }
            Call::PutScalingPolicy { .. } => "application-autoscaling:PutScalingPolicy",
            Call::DeleteScalingPolicy { .. } => "application-autoscaling:DeleteScalingPolicy",
            Call::PutFunctionConcurrency { .. } => "lambda:PutFunctionConcurrency",
            Call::DeleteFunctionConcurrency { .. } => "lambda:DeleteFunctionConcurrency",
            Call::UpdateServiceDesiredCount { .. } | Call::UpdateServiceTaskDefinition { .. } => {
                "ecs:UpdateService"
            }
            Call::RegisterTaskDefinition { .. } => "ecs:RegisterTaskDefinition",
        }
    }

    /// The service the call goes to.
    pub fn service(&self) -> &'static str {
        self.iam_action()
            .split_once(':')
            .map_or("", |(service, _)| service)
    }
}

/// `ServiceNamespace=… ResourceId=… ScalableDimension=…`.
fn scaling_head(f: &mut fmt::Formatter<'_>, s: Scalable, resource_id: &str) -> fmt::Result {
    write!(
        f,
        " ServiceNamespace={} ResourceId={resource_id} ScalableDimension={}",
        s.namespace(),
        s.dimension()
    )
}

impl fmt::Display for Call {
    /// The call as it is made: the IAM action, then each parameter by its AWS name.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.iam_action())?;
        match self {
            Call::UpdateFunctionConfiguration {
                function_name,
                memory_mb,
            } => write!(f, " FunctionName={function_name} MemorySize={memory_mb}"),
            Call::PutProvisionedConcurrencyConfig {
                function_name,
                qualifier,
                provisioned_concurrent_executions,
            } => write!(
                f,
                " FunctionName={function_name} Qualifier={qualifier} ProvisionedConcurrentExecutions={provisioned_concurrent_executions}"
            ),
            Call::DeleteProvisionedConcurrencyConfig {
                function_name,
                qualifier,
            } => write!(f, " FunctionName={function_name} Qualifier={qualifier}"),
            Call::RegisterScalableTarget {
                scalable,
                resource_id,
                min_capacity,
                max_capacity,
            } => {
                scaling_head(f, *scalable, resource_id)?;
                write!(f, " MinCapacity={min_capacity} MaxCapacity={max_capacity}")
            }
            Call::PutScheduledAction {
                scalable,
                resource_id,
                scheduled_action_name,
                schedule,
                timezone,
                capacity,
                ..
            } => {
                scaling_head(f, *scalable, resource_id)?;
                write!(
                    f,
                    " ScheduledActionName={scheduled_action_name} Schedule=\"{schedule}\" Timezone={timezone} ScalableTargetAction.MinCapacity={capacity} ScalableTargetAction.MaxCapacity={capacity}"
                )
            }
            Call::DeleteScheduledAction {
                scalable,
                resource_id,
                scheduled_action_name,
            } => {
                scaling_head(f, *scalable, resource_id)?;
                write!(f, " ScheduledActionName={scheduled_action_name}")
            }
            Call::DeregisterScalableTarget {
                scalable,
                resource_id,
            } => scaling_head(f, *scalable, resource_id),
            Call::PutScalingPolicy {
                resource_id,
                policy_name,
                metric,
                target_value,
                resource_label,
            } => {
                scaling_head(f, Scalable::EcsDesiredCount, resource_id)?;
                write!(
                    f,
                    " PolicyName={policy_name} PolicyType=TargetTrackingScaling TargetValue={target_value} PredefinedMetricType={}",
                    metric.aws_name()
                )?;
                match resource_label {
                    Some(l) => write!(f, " ResourceLabel={l}"),
                    None => Ok(()),
                }
            }
            Call::DeleteScalingPolicy {
                resource_id,
                policy_name,
            } => {
                scaling_head(f, Scalable::EcsDesiredCount, resource_id)?;
                write!(f, " PolicyName={policy_name}")
            }
            Call::PutFunctionConcurrency {
                function_name,
                reserved_concurrent_executions,
            } => write!(
                f,
                " FunctionName={function_name} ReservedConcurrentExecutions={reserved_concurrent_executions}"
            ),
            Call::DeleteFunctionConcurrency { function_name } => {
                write!(f, " FunctionName={function_name}")
            }
            Call::UpdateServiceDesiredCount {
                cluster,
                service,
                desired_count,
            } => write!(
                f,
                " Cluster={cluster} Service={service} DesiredCount={desired_count}"
            ),
            Call::RegisterTaskDefinition {
                based_on,
                cpu_units,
                memory_mb,
                architecture,
            } => write!(
                f,
                " (copy of {based_on}) Cpu={cpu_units} Memory={memory_mb} RuntimePlatform.CpuArchitecture={}",
                architecture.ecs_name()
            ),
            Call::UpdateServiceTaskDefinition {
                cluster,
                service,
                task_definition,
                ..
            } => write!(
                f,
                " Cluster={cluster} Service={service} TaskDefinition={task_definition}"
            ),
        }
    }
}
