//! From a recommendation to a plan: the ordered AWS API calls that move a Lambda
//! function from one configuration to another, and the changes no API call may make.
//!
//! Pure: no I/O, no clock. A plan is a function of where the function is (`from`, read
//! from the live configuration when applying) and where it should be (`to`, the
//! recommendation), so planning the same move twice gives the same plan and the same
//! [`Plan::id`], which the audit log uses as the idempotency key.
//!
//! Architecture changes need an arm64 build and platform moves need new
//! infrastructure, so they are never API calls: they become [`IacOnly`] items.

use std::fmt;

pub use adaptd_engine::schedule::{ScheduledStep, change_points, schedule_of};
use adaptd_engine::spec::{Deployment, LambdaConfig, Provisioned};
use adaptd_engine::zone::Zone;
use adaptd_optimizer::recommend::Recommendation;
use serde::{Deserialize, Serialize};

/// Application Auto Scaling's dimension for Lambda provisioned concurrency.
pub const PC_DIMENSION: &str = "lambda:function:ProvisionedConcurrency";

/// Prefix of the scheduled actions adaptd owns; the hour (in the target's zone) follows.
pub const ACTION_PREFIX: &str = "adaptd-pc-";

/// Where a component's changes go.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Target {
    /// The component (the recommendation's name).
    pub component: String,
    /// The Lambda function.
    pub function_name: String,
    /// The alias or version carrying provisioned concurrency; without one, provisioned
    /// concurrency cannot be applied (AWS refuses it on `$LATEST`).
    pub qualifier: Option<String>,
    /// The zone of its hour-of-day schedules (the component's `timezone`).
    #[serde(default)]
    pub timezone: Zone,
}

impl Target {
    /// Application Auto Scaling's resource id (`function:NAME:QUALIFIER`).
    pub fn resource_id(&self) -> Option<String> {
        self.qualifier
            .as_ref()
            .map(|q| format!("function:{}:{q}", self.function_name))
    }
}

/// The settings of a function adaptd may change through the API.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LambdaSettings {
    /// Memory (MB).
    pub memory_mb: u32,
    /// Provisioned concurrency: none, constant or by hour of day (UTC).
    pub provisioned: Provisioned,
    /// Reserved concurrency, if any.
    pub reserved_concurrency: Option<u32>,
}

impl From<&LambdaConfig> for LambdaSettings {
    fn from(l: &LambdaConfig) -> Self {
        Self {
            memory_mb: l.memory_mb,
            provisioned: Provisioned::from_hourly(l.provisioned.hourly()),
            reserved_concurrency: l.reserved_concurrency,
        }
    }
}

/// One AWS API call, with exactly the parameters it is made with.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
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
    /// `application-autoscaling:RegisterScalableTarget` for provisioned concurrency.
    RegisterScalableTarget {
        /// `function:NAME:QUALIFIER`.
        resource_id: String,
        /// Lowest level of the schedule.
        min_capacity: u32,
        /// Highest level of the schedule.
        max_capacity: u32,
    },
    /// `application-autoscaling:PutScheduledAction`: from `hour` (in `timezone`)
    /// every day, capacity fixed at `capacity` (min = max).
    PutScheduledAction {
        /// `function:NAME:QUALIFIER`.
        resource_id: String,
        /// `adaptd-pc-HH`.
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
        /// Environments from then on.
        capacity: u32,
    },
    /// `application-autoscaling:DeleteScheduledAction`.
    DeleteScheduledAction {
        /// `function:NAME:QUALIFIER`.
        resource_id: String,
        /// `adaptd-pc-HH`.
        scheduled_action_name: String,
    },
    /// `application-autoscaling:DeregisterScalableTarget`.
    DeregisterScalableTarget {
        /// `function:NAME:QUALIFIER`.
        resource_id: String,
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
            Call::PutFunctionConcurrency { .. } => "lambda:PutFunctionConcurrency",
            Call::DeleteFunctionConcurrency { .. } => "lambda:DeleteFunctionConcurrency",
        }
    }
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
                resource_id,
                min_capacity,
                max_capacity,
            } => write!(
                f,
                " ServiceNamespace=lambda ResourceId={resource_id} ScalableDimension={PC_DIMENSION} MinCapacity={min_capacity} MaxCapacity={max_capacity}"
            ),
            Call::PutScheduledAction {
                resource_id,
                scheduled_action_name,
                schedule,
                timezone,
                capacity,
                ..
            } => write!(
                f,
                " ServiceNamespace=lambda ResourceId={resource_id} ScalableDimension={PC_DIMENSION} ScheduledActionName={scheduled_action_name} Schedule=\"{schedule}\" Timezone={timezone} ScalableTargetAction.MinCapacity={capacity} ScalableTargetAction.MaxCapacity={capacity}"
            ),
            Call::DeleteScheduledAction {
                resource_id,
                scheduled_action_name,
            } => write!(
                f,
                " ServiceNamespace=lambda ResourceId={resource_id} ScalableDimension={PC_DIMENSION} ScheduledActionName={scheduled_action_name}"
            ),
            Call::DeregisterScalableTarget { resource_id } => write!(
                f,
                " ServiceNamespace=lambda ResourceId={resource_id} ScalableDimension={PC_DIMENSION}"
            ),
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
        }
    }
}

/// A change adaptd proposes but never makes through the API.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IacOnly {
    /// `architecture`, `platform`, `provisioned_concurrency`, …
    pub field: String,
    /// Old value.
    pub from: String,
    /// New value.
    pub to: String,
    /// Why it is not an API call.
    pub reason: String,
}

/// The ordered calls that move one function from `from` to `to`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Plan {
    /// Hash of target, from, to and calls (16 hex digits): the idempotency key.
    pub id: String,
    /// Where the calls go.
    pub target: Target,
    /// The configuration the plan starts from.
    pub from: LambdaSettings,
    /// The configuration it reaches.
    pub to: LambdaSettings,
    /// API calls, in order.
    pub calls: Vec<Call>,
    /// Changes left to infrastructure code.
    pub iac_only: Vec<IacOnly>,
    /// Monthly cost change predicted by the recommendation (USD; positive costs more).
    pub cost_delta_usd_per_month: f64,
}

/// Why no plan can be made.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PlanError {
    /// The recommendation has no current or no recommended deployment (no data).
    #[error("{0}: the recommendation has no {1} deployment (no data)")]
    Missing(String, &'static str),
}

/// FNV-1a, 64 bits: a stable hash with no dependency, enough for an idempotency key
/// (collisions would need two different plans for one component in one audit log).
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

impl Plan {
    /// Whether the plan makes no API call.
    pub fn is_empty(&self) -> bool {
        self.calls.is_empty()
    }

    /// The plan back: from `to` to `from` (rollback), with the opposite cost.
    pub fn inverse(&self) -> Plan {
        let mut p = between(&self.target, &self.to, &self.from);
        p.cost_delta_usd_per_month = -self.cost_delta_usd_per_month;
        p
    }

    fn compute_id(&mut self) {
        let key = serde_json::json!([self.target, self.from, self.to, self.calls]);
        self.id = format!("{:016x}", fnv1a(key.to_string().as_bytes()));
    }
}

/// The scheduled action name of an hour (local to the target's zone).
pub fn action_name(hour: u32) -> String {
    format!("{ACTION_PREFIX}{hour:02}")
}

fn action(resource_id: &str, step: ScheduledStep, timezone: Zone) -> Call {
    Call::PutScheduledAction {
        resource_id: resource_id.to_owned(),
        scheduled_action_name: action_name(step.hour),
        schedule: step.cron(),
        hour: step.hour,
        timezone,
        capacity: step.value,
    }
}

/// Reserved concurrency `b` allows at least what `a` allows (none = unlimited).
fn looser(a: Option<u32>, b: Option<u32>) -> bool {
    match (a, b) {
        (_, None) => true,
        (None, Some(_)) => false,
        (Some(x), Some(y)) => y >= x,
    }
}

fn reserved_call(t: &Target, r: Option<u32>) -> Call {
    match r {
        Some(n) => Call::PutFunctionConcurrency {
            function_name: t.function_name.clone(),
            reserved_concurrent_executions: n,
        },
        None => Call::DeleteFunctionConcurrency {
            function_name: t.function_name.clone(),
        },
    }
}

/// Calls for provisioned concurrency, or an [`IacOnly`] item when there is no alias.
fn provisioned_calls(
    t: &Target,
    from: &Provisioned,
    to: &Provisioned,
) -> Result<Vec<Call>, IacOnly> {
    if from == to {
        return Ok(Vec::new());
    }
    let (Some(qualifier), Some(rid)) = (t.qualifier.clone(), t.resource_id()) else {
        return Err(IacOnly {
            field: "provisioned_concurrency".to_owned(),
            from: format!("{from:?}"),
            to: format!("{to:?}"),
            reason: "no alias or version is configured for the function \
                     (apply.components.qualifier); AWS refuses provisioned concurrency on $LATEST"
                .to_owned(),
        });
    };
    let fname = t.function_name.clone();
    let mut calls = Vec::new();
    let old_points = match from {
        Provisioned::Hourly(h) => change_points(h),
        _ => Vec::new(),
    };
    match to {
        Provisioned::Hourly(h) => {
            let points = change_points(h);
            let lo = h.iter().copied().min().unwrap_or(0);
            let hi = h.iter().copied().max().unwrap_or(0);
            // Until the first scheduled action fires, the alias holds the schedule's
            // peak: never less than the schedule wants, and never more than the new
            // reservation allows (a level left from before could be).
            if from.peak() != hi || !matches!(from, Provisioned::Constant(_)) {
                calls.push(Call::PutProvisionedConcurrencyConfig {
                    function_name: fname,
                    qualifier,
                    provisioned_concurrent_executions: hi,
                });
            }
            let same_bounds = matches!(from, Provisioned::Hourly(o)
                if o.iter().min() == h.iter().min() && o.iter().max() == h.iter().max());
            if !same_bounds {
                calls.push(Call::RegisterScalableTarget {
                    resource_id: rid.clone(),
                    min_capacity: lo,
                    max_capacity: hi,
                });
            }
            for old in &old_points {
                if !points.iter().any(|p| p.hour == old.hour) {
                    calls.push(Call::DeleteScheduledAction {
                        resource_id: rid.clone(),
                        scheduled_action_name: action_name(old.hour),
                    });
                }
            }
            for step in points {
                if !old_points.contains(&step) {
                    calls.push(action(&rid, step, t.timezone));
                }
            }
        }
        Provisioned::Constant(_) | Provisioned::None => {
            for old in &old_points {
                calls.push(Call::DeleteScheduledAction {
                    resource_id: rid.clone(),
                    scheduled_action_name: action_name(old.hour),
                });
            }
            if !old_points.is_empty() {
                calls.push(Call::DeregisterScalableTarget { resource_id: rid });
            }
            calls.push(match to {
                Provisioned::Constant(n) => Call::PutProvisionedConcurrencyConfig {
                    function_name: fname,
                    qualifier,
                    provisioned_concurrent_executions: *n,
                },
                _ => Call::DeleteProvisionedConcurrencyConfig {
                    function_name: fname,
                    qualifier,
                },
            });
        }
    }
    Ok(calls)
}

/// The plan from `from` to `to` (cost delta 0; see [`plan`]).
///
/// Order: a reservation that loosens goes first and one that tightens last, so the
/// reservation never drops below provisioned concurrency between two calls (AWS
/// refuses that); memory next; provisioned concurrency after.
pub fn between(target: &Target, from: &LambdaSettings, to: &LambdaSettings) -> Plan {
    let mut calls = Vec::new();
    let mut iac_only = Vec::new();
    let reserved_changes = from.reserved_concurrency != to.reserved_concurrency;
    let loosen = looser(from.reserved_concurrency, to.reserved_concurrency);
    if reserved_changes && loosen {
        calls.push(reserved_call(target, to.reserved_concurrency));
    }
    if from.memory_mb != to.memory_mb {
        calls.push(Call::UpdateFunctionConfiguration {
            function_name: target.function_name.clone(),
            memory_mb: to.memory_mb,
        });
    }
    match provisioned_calls(target, &from.provisioned, &to.provisioned) {
        Ok(c) => calls.extend(c),
        Err(i) => iac_only.push(i),
    }
    if reserved_changes && !loosen {
        calls.push(reserved_call(target, to.reserved_concurrency));
    }
    let mut p = Plan {
        id: String::new(),
        target: target.clone(),
        from: from.clone(),
        to: to.clone(),
        calls,
        iac_only,
        cost_delta_usd_per_month: 0.0,
    };
    p.compute_id();
    p
}

/// The plan that carries out `rec` on `target`, starting from `live` (the function's
/// configuration as read from AWS; the recommendation's own `current` when absent).
///
/// Only the settings the API may change move; architecture and platform changes become
/// [`IacOnly`] items, and a move to Fargate leaves the function as it is.
pub fn plan(
    rec: &Recommendation,
    target: &Target,
    live: Option<&LambdaSettings>,
) -> Result<Plan, PlanError> {
    let current = rec
        .current
        .as_ref()
        .ok_or_else(|| PlanError::Missing(rec.component.clone(), "current"))?;
    let recommended = rec
        .recommended
        .as_ref()
        .ok_or_else(|| PlanError::Missing(rec.component.clone(), "recommended"))?;
    let cost = recommended.usd_per_month - current.usd_per_month;
    let mut iac_only = Vec::new();
    if current.deployment.platform() != recommended.deployment.platform() {
        iac_only.push(IacOnly {
            field: "platform".to_owned(),
            from: current.deployment.platform().to_string(),
            to: recommended.deployment.platform().to_string(),
            reason: "a platform move needs new infrastructure (function or ECS service, \
                     networking, deployment pipeline); never done through the API"
                .to_owned(),
        });
    }
    if current.deployment.architecture() != recommended.deployment.architecture() {
        iac_only.push(IacOnly {
            field: "architecture".to_owned(),
            from: current.deployment.architecture().to_string(),
            to: recommended.deployment.architecture().to_string(),
            reason: "an architecture change needs a build for it (native dependencies, \
                     container image); change it in the infrastructure code"
                .to_owned(),
        });
    }
    let (from, to) = match (&current.deployment, &recommended.deployment) {
        (Deployment::Lambda(c), Deployment::Lambda(r)) => {
            let from = live.cloned().unwrap_or_else(|| LambdaSettings::from(c));
            (from, LambdaSettings::from(r))
        }
        // A Fargate side: nothing the Lambda API can do; an empty plan carrying the
        // IaC items.
        (Deployment::Lambda(c), Deployment::Fargate(_)) => {
            let s = live.cloned().unwrap_or_else(|| LambdaSettings::from(c));
            (s.clone(), s)
        }
        (Deployment::Fargate(_), _) => {
            let s = live.cloned().unwrap_or(LambdaSettings {
                memory_mb: 0,
                provisioned: Provisioned::None,
                reserved_concurrency: None,
            });
            (s.clone(), s)
        }
    };
    let mut p = between(target, &from, &to);
    p.iac_only.splice(0..0, iac_only);
    p.cost_delta_usd_per_month = cost;
    Ok(p)
}

/// Settings the recommendation keeps (current = recommended) that the live
/// configuration no longer has: someone changed the function since the recommendation
/// was made. Applying would revert their change without anyone having asked for it, so
/// the caller skips such a recommendation; settings the recommendation changes are not
/// drift (a clamped step leaves them between current and recommended).
pub fn drift(
    current: &LambdaSettings,
    recommended: &LambdaSettings,
    live: &LambdaSettings,
) -> Vec<String> {
    let mut out = Vec::new();
    if current.memory_mb == recommended.memory_mb && live.memory_mb != current.memory_mb {
        out.push(format!(
            "memory {} → {} MB",
            current.memory_mb, live.memory_mb
        ));
    }
    if current.provisioned == recommended.provisioned && live.provisioned != current.provisioned {
        out.push(format!(
            "provisioned concurrency {} → {}",
            adaptd_engine::spec::describe_schedule(&current.provisioned.hourly()),
            adaptd_engine::spec::describe_schedule(&live.provisioned.hourly())
        ));
    }
    if current.reserved_concurrency == recommended.reserved_concurrency
        && live.reserved_concurrency != current.reserved_concurrency
    {
        let show = |r: Option<u32>| r.map_or_else(|| "none".to_owned(), |n| n.to_string());
        out.push(format!(
            "reserved concurrency {} → {}",
            show(current.reserved_concurrency),
            show(live.reserved_concurrency)
        ));
    }
    out
}

#[cfg(test)]
mod tests;
