//! How a component is deployed: its platform, architecture, memory or task size,
//! provisioned concurrency and scaling.

use std::fmt;

use serde::{Deserialize, Serialize};

/// CPU architecture of a Lambda function or Fargate task.
#[derive(
    Copy, Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Architecture {
    /// Intel/AMD.
    #[default]
    X86_64,
    /// Graviton.
    Arm64,
}

impl Architecture {
    /// The name AWS uses.
    pub fn as_str(self) -> &'static str {
        match self {
            Architecture::X86_64 => "x86_64",
            Architecture::Arm64 => "arm64",
        }
    }

    /// The name ECS uses in a task definition's `runtimePlatform.cpuArchitecture`.
    pub fn ecs_name(self) -> &'static str {
        match self {
            Architecture::X86_64 => "X86_64",
            Architecture::Arm64 => "ARM64",
        }
    }
}

impl fmt::Display for Architecture {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The compute platforms adaptd can move a component between.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PlatformKind {
    /// AWS Lambda.
    Lambda,
    /// An ECS service on Fargate.
    Fargate,
}

impl PlatformKind {
    /// The name used in config and output.
    pub fn as_str(self) -> &'static str {
        match self {
            PlatformKind::Lambda => "lambda",
            PlatformKind::Fargate => "fargate",
        }
    }
}

impl fmt::Display for PlatformKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

pub use crate::schedule::{Hourly, describe_schedule};

/// Provisioned concurrency of a Lambda function.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "value")]
pub enum Provisioned {
    /// No provisioned concurrency.
    #[default]
    None,
    /// The same number of environments all day.
    Constant(u32),
    /// A number per hour of day (applied by scheduled actions).
    Hourly(Hourly<u32>),
}

impl Provisioned {
    /// Environments provisioned during `hour`.
    pub fn at(&self, hour: usize) -> u32 {
        match self {
            Provisioned::None => 0,
            Provisioned::Constant(n) => *n,
            Provisioned::Hourly(h) => h[hour % 24],
        }
    }

    /// The schedule as 24 values.
    pub fn hourly(&self) -> Hourly<u32> {
        std::array::from_fn(|h| self.at(h))
    }

    /// The simplest representation of a 24-value schedule.
    pub fn from_hourly(h: Hourly<u32>) -> Self {
        if h.iter().all(|&v| v == 0) {
            Provisioned::None
        } else if h.iter().all(|&v| v == h[0]) {
            Provisioned::Constant(h[0])
        } else {
            Provisioned::Hourly(h)
        }
    }

    /// Largest number of environments at any hour.
    pub fn peak(&self) -> u32 {
        (0..24).map(|h| self.at(h)).max().unwrap_or(0)
    }
}

/// How a Lambda function is deployed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LambdaConfig {
    /// Memory in MB (128–10,240).
    pub memory_mb: u32,
    /// CPU architecture.
    pub architecture: Architecture,
    /// Provisioned concurrency.
    #[serde(default)]
    pub provisioned: Provisioned,
    /// Reserved concurrency, if set: a cap and a reservation.
    #[serde(default)]
    pub reserved_concurrency: Option<u32>,
}

/// How an ECS service on Fargate is deployed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FargateConfig {
    /// vCPUs per task (0.25–16, in AWS's allowed steps).
    pub vcpu: f64,
    /// Memory per task in MB, valid for the vCPU size.
    pub memory_mb: u32,
    /// CPU architecture.
    pub architecture: Architecture,
    /// Tasks per hour of day (a constant schedule has 24 equal values).
    pub tasks: Hourly<u32>,
    /// Requests one task serves at once.
    pub per_task_concurrency: u32,
    /// Who sets the task count: `None` runs `tasks` as a schedule (scheduled scaling);
    /// with target tracking `tasks` is what the model expects tracking to run each hour
    /// (the cost it is priced at), bounded by the policy's min and max.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_tracking: Option<FargateTracking>,
    /// Share of the tasks above one on-demand task run on `FARGATE_SPOT` (0–1): a
    /// capacity provider strategy of `FARGATE` base 1, then weights in this ratio.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub spot_share: f64,
}

fn is_zero(x: &f64) -> bool {
    *x == 0.0
}

impl Default for FargateConfig {
    /// The smallest task, two of them all day, one request at a time.
    fn default() -> Self {
        Self {
            vcpu: 0.25,
            memory_mb: 512,
            architecture: Architecture::X86_64,
            tasks: [2; 24],
            per_task_concurrency: 1,
            target_tracking: None,
            spot_share: 0.0,
        }
    }
}

impl FargateConfig {
    /// The task's CPU as ECS writes it: units of 1/1024 vCPU (`512` for 0.5 vCPU).
    pub fn cpu_units(&self) -> u32 {
        let units = (self.vcpu * 1024.0).round();
        if units.is_finite() && units > 0.0 {
            units.min(f64::from(u32::MAX)) as u32
        } else {
            0
        }
    }

    /// Tasks on Spot when `n` run: all above the one on-demand base, times the share.
    pub fn spot_tasks(&self, n: u32) -> f64 {
        f64::from(n.saturating_sub(1)) * self.spot_share.clamp(0.0, 1.0)
    }
}

/// The metric an ECS target-tracking policy follows (Application Auto Scaling's
/// predefined metric types for `ecs:service:DesiredCount`).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TrackingMetric {
    /// `ECSServiceAverageCPUUtilization`; the target is a percentage.
    Cpu,
    /// `ALBRequestCountPerTarget`; the target is requests per task per minute. Needs
    /// the service behind an Application Load Balancer.
    AlbRequestCountPerTarget,
}

impl TrackingMetric {
    /// The predefined metric type's name in the Application Auto Scaling API.
    pub fn aws_name(self) -> &'static str {
        match self {
            TrackingMetric::Cpu => "ECSServiceAverageCPUUtilization",
            TrackingMetric::AlbRequestCountPerTarget => "ALBRequestCountPerTarget",
        }
    }
}

/// An ECS service's target-tracking scaling policy.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FargateTracking {
    /// The metric followed.
    pub metric: TrackingMetric,
    /// The target value in the metric's unit, as the API takes it (`70` for 70 % CPU;
    /// `600` requests per task per minute).
    pub target_value: f64,
    /// Fewest tasks (the scalable target's minimum capacity).
    pub min_tasks: u32,
    /// Most tasks.
    pub max_tasks: u32,
}

/// The deployed (or proposed) configuration of a component.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "platform")]
pub enum Deployment {
    /// On AWS Lambda.
    Lambda(LambdaConfig),
    /// On ECS Fargate.
    Fargate(FargateConfig),
}

impl Deployment {
    /// The platform.
    pub fn platform(&self) -> PlatformKind {
        match self {
            Deployment::Lambda(_) => PlatformKind::Lambda,
            Deployment::Fargate(_) => PlatformKind::Fargate,
        }
    }

    /// What it holds of its account's concurrency in hour `h` (UTC): reserved
    /// concurrency all day, or else the hour's provisioned concurrency; Fargate holds
    /// none.
    pub fn account_concurrency_at(&self, h: usize) -> u32 {
        match self {
            Deployment::Lambda(l) => l.reserved_concurrency.unwrap_or(l.provisioned.at(h)),
            Deployment::Fargate(_) => 0,
        }
    }

    /// The architecture.
    pub fn architecture(&self) -> Architecture {
        match self {
            Deployment::Lambda(l) => l.architecture,
            Deployment::Fargate(f) => f.architecture,
        }
    }

    /// A short human description ("lambda 512 MB arm64, PC 4 (08–18 h)").
    pub fn describe(&self) -> String {
        match self {
            Deployment::Lambda(l) => {
                let mut s = format!("lambda {} MB {}", l.memory_mb, l.architecture);
                match &l.provisioned {
                    Provisioned::None => {}
                    Provisioned::Constant(n) => s.push_str(&format!(", provisioned {n}")),
                    Provisioned::Hourly(h) => {
                        s.push_str(&format!(", provisioned {}", describe_schedule(h)));
                    }
                }
                if let Some(r) = l.reserved_concurrency {
                    s.push_str(&format!(", reserved {r}"));
                }
                s
            }
            Deployment::Fargate(f) => {
                let mut s = format!(
                    "fargate {} vCPU {} MB {} × {} tasks, {} per task",
                    f.vcpu,
                    f.memory_mb,
                    f.architecture,
                    describe_schedule(&f.tasks),
                    f.per_task_concurrency
                );
                if let Some(t) = &f.target_tracking {
                    let target = match t.metric {
                        TrackingMetric::Cpu => format!("CPU {:.0} %", t.target_value),
                        TrackingMetric::AlbRequestCountPerTarget => {
                            format!("{:.0} requests per task-minute", t.target_value)
                        }
                    };
                    s = format!(
                        "fargate {} vCPU {} MB {}, {} per task, target tracking {target} ({}–{} tasks, ~{} expected)",
                        f.vcpu,
                        f.memory_mb,
                        f.architecture,
                        f.per_task_concurrency,
                        t.min_tasks,
                        t.max_tasks,
                        describe_schedule(&f.tasks)
                    );
                }
                if f.spot_share > 0.0 {
                    s.push_str(&format!(", {:.0} % Spot", 100.0 * f.spot_share));
                }
                s
            }
        }
    }
}
