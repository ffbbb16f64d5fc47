//! From a recommendation to a plan: the ordered AWS API calls that move a Lambda
//! function or an ECS service on Fargate from one configuration to another, and the
//! changes no API call may make.
//!
//! Pure: no I/O, no clock. A plan is a function of where the component is (`from`,
//! read from the live configuration when applying) and where it should be (`to`, the
//! recommendation), so planning the same move twice gives the same plan and the same
//! [`Plan::id`], which the audit log uses as the idempotency key.
//!
//! Each platform's calls have their own file ([`lambda`], [`ecs`]); the calls
//! themselves, shared by both (Application Auto Scaling), are in [`call`].
//! Architecture changes of a function need an arm64 build and platform moves need new
//! infrastructure, so they are never API calls: they become [`IacOnly`] items. An ECS
//! task's architecture is a field of its task definition, and the image is the
//! operator's: a multi-architecture image runs on either.

pub mod call;
pub mod ecs;
pub mod lambda;

pub use adaptd_engine::schedule::{ScheduledStep, change_points, schedule_of};
use adaptd_engine::spec::{Deployment, PlatformKind};
use adaptd_engine::zone::Zone;
use adaptd_optimizer::recommend::Recommendation;
use serde::{Deserialize, Serialize};

pub use call::{
    ACTION_PREFIX, Call, ECS_ACTION_PREFIX, ECS_DIMENSION, PC_DIMENSION, Scalable, TRACKING_POLICY,
};
pub use ecs::{EcsSettings, TaskScaling};
pub use lambda::LambdaSettings;

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
    /// The ECS service, for a component on Fargate whose cluster is configured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<ServiceTarget>,
    /// The zone of its hour-of-day schedules (the component's `timezone`), Lambda
    /// provisioned concurrency and ECS task counts alike.
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

/// An ECS service.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceTarget {
    /// Cluster name.
    pub cluster: String,
    /// Service name.
    pub service: String,
    /// `app/LB/ID/targetgroup/TG/ID` of the service's first target group, which an
    /// `ALBRequestCountPerTarget` policy needs; read from AWS when applying.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alb_resource_label: Option<String>,
}

impl ServiceTarget {
    /// Application Auto Scaling's resource id (`service/CLUSTER/SERVICE`).
    pub fn resource_id(&self) -> String {
        format!("service/{}/{}", self.cluster, self.service)
    }
}

/// The settings of a component adaptd may change through the API. Untagged: each
/// side's fields are its own, and audit logs written before ECS read as Lambda.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Settings {
    /// A Lambda function.
    Lambda(LambdaSettings),
    /// An ECS service on Fargate.
    Ecs(EcsSettings),
}

impl From<LambdaSettings> for Settings {
    fn from(s: LambdaSettings) -> Self {
        Settings::Lambda(s)
    }
}

impl From<EcsSettings> for Settings {
    fn from(s: EcsSettings) -> Self {
        Settings::Ecs(s)
    }
}

impl Settings {
    /// The Lambda settings, if a function.
    pub fn lambda(&self) -> Option<&LambdaSettings> {
        match self {
            Settings::Lambda(l) => Some(l),
            Settings::Ecs(_) => None,
        }
    }

    /// The ECS settings, if a service.
    pub fn ecs(&self) -> Option<&EcsSettings> {
        match self {
            Settings::Ecs(e) => Some(e),
            Settings::Lambda(_) => None,
        }
    }

    /// The settings of a deployment as the recommendation states it.
    pub fn of(d: &Deployment) -> Settings {
        match d {
            Deployment::Lambda(l) => Settings::Lambda(l.into()),
            Deployment::Fargate(f) => Settings::Ecs(f.into()),
        }
    }

    fn platform(&self) -> PlatformKind {
        match self {
            Settings::Lambda(_) => PlatformKind::Lambda,
            Settings::Ecs(_) => PlatformKind::Fargate,
        }
    }

    /// What the step guardrail limits, by hour: provisioned concurrency, or a fixed
    /// or scheduled task count; `None` under target tracking.
    pub fn levels(&self) -> Option<[u32; 24]> {
        match self {
            Settings::Lambda(l) => Some(l.provisioned.hourly()),
            Settings::Ecs(e) => e.scaling.levels(),
        }
    }

    /// The name of [`Settings::levels`] for the operator.
    pub fn levels_name(&self) -> &'static str {
        match self {
            Settings::Lambda(_) => "provisioned concurrency",
            Settings::Ecs(_) => "tasks",
        }
    }

    /// These settings with `levels` by hour (see [`Settings::levels`]).
    pub fn with_levels(&self, levels: [u32; 24]) -> Settings {
        match self {
            Settings::Lambda(l) => Settings::Lambda(LambdaSettings {
                provisioned: adaptd_engine::spec::Provisioned::from_hourly(levels),
                ..l.clone()
            }),
            Settings::Ecs(e) => Settings::Ecs(EcsSettings {
                scaling: TaskScaling::from_hourly(levels),
                ..e.clone()
            }),
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

/// The ordered calls that move one component from `from` to `to`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Plan {
    /// Hash of target, from, to and calls (16 hex digits): the idempotency key.
    pub id: String,
    /// Where the calls go.
    pub target: Target,
    /// The configuration the plan starts from.
    pub from: Settings,
    /// The configuration it reaches.
    pub to: Settings,
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

/// The plan from `from` to `to` (cost delta 0; see [`plan`]). Settings of two
/// platforms give an empty plan: no API call moves a component between them.
pub fn between<S: Clone + Into<Settings>>(target: &Target, from: &S, to: &S) -> Plan {
    let (from, to): (Settings, Settings) = (from.clone().into(), to.clone().into());
    let (calls, iac_only) = match (&from, &to) {
        (Settings::Lambda(f), Settings::Lambda(t)) => lambda::calls(target, f, t),
        (Settings::Ecs(f), Settings::Ecs(t)) => ecs::calls(target, f, t),
        _ => (Vec::new(), Vec::new()),
    };
    let mut p = Plan {
        id: String::new(),
        target: target.clone(),
        from,
        to,
        calls,
        iac_only,
        cost_delta_usd_per_month: 0.0,
    };
    p.compute_id();
    p
}

/// The plan that carries out `rec` on `target`, starting from `live` (the component's
/// configuration as read from AWS; the recommendation's own `current` when absent or
/// of the other platform).
///
/// Only the settings the API may change move; a function's architecture change and
/// platform moves become [`IacOnly`] items, and a platform move leaves the component
/// as it is.
pub fn plan(
    rec: &Recommendation,
    target: &Target,
    live: Option<&Settings>,
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
    let (cur, rcm) = (&current.deployment, &recommended.deployment);
    if cur.platform() != rcm.platform() {
        iac_only.push(IacOnly {
            field: "platform".to_owned(),
            from: cur.platform().to_string(),
            to: rcm.platform().to_string(),
            reason: "a platform move needs new infrastructure (function or ECS service, \
                     networking, deployment pipeline); never done through the API"
                .to_owned(),
        });
    }
    // On Fargate to Fargate the architecture is a task definition field (below).
    let both_fargate = cur.platform() == PlatformKind::Fargate && rcm.platform() == cur.platform();
    if !both_fargate && cur.architecture() != rcm.architecture() {
        iac_only.push(IacOnly {
            field: "architecture".to_owned(),
            from: cur.architecture().to_string(),
            to: rcm.architecture().to_string(),
            reason: "an architecture change needs a build for it (native dependencies, \
                     container image); change it in the infrastructure code"
                .to_owned(),
        });
    }
    if let (Deployment::Fargate(c), Deployment::Fargate(r)) = (cur, rcm)
        && c.spot_share != r.spot_share
    {
        iac_only.push(IacOnly {
            field: "spot_share".to_owned(),
            from: c.spot_share.to_string(),
            to: r.spot_share.to_string(),
            reason: "a Fargate Spot share is the service's capacity provider strategy, \
                     which changes with a new deployment; change it in the infrastructure code"
                .to_owned(),
        });
    }
    let from = match live {
        Some(l) if l.platform() == cur.platform() => l.clone(),
        _ => Settings::of(cur),
    };
    // A platform move: nothing the API can do; an empty plan carrying the IaC items.
    let to = if cur.platform() == rcm.platform() {
        Settings::of(rcm)
    } else {
        from.clone()
    };
    let mut p = between(target, &from, &to);
    p.iac_only.splice(0..0, iac_only);
    p.cost_delta_usd_per_month = cost;
    Ok(p)
}

/// Settings the recommendation keeps (current = recommended) that the live
/// configuration no longer has: someone changed the component since the
/// recommendation was made. Applying would revert their change without anyone having
/// asked for it, so the caller skips such a recommendation; settings the
/// recommendation changes are not drift (a clamped step leaves them between current
/// and recommended).
pub fn drift(current: &Settings, recommended: &Settings, live: &Settings) -> Vec<String> {
    match (current, recommended, live) {
        (Settings::Lambda(c), Settings::Lambda(r), Settings::Lambda(l)) => lambda::drift(c, r, l),
        (Settings::Ecs(c), Settings::Ecs(r), Settings::Ecs(l)) => ecs::drift(c, r, l),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests;
