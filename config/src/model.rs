//! `[model]`: the engine's model parameters, for every component, and the per-component
//! `model = { … }` overrides (same keys).

use adaptd_engine::spec::ModelParams;
use serde::Deserialize;

use crate::check::{Bound, Check};
use crate::spans::join;

/// Model parameters. Every key is optional; an unset key keeps the engine's default
/// (given for each key). In `[[components]]`, `model = { … }` takes the same keys and
/// overrides `[model]` for that component.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ModelSection {
    /// How long Lambda keeps an idle environment warm, in minutes (1–120; default 10).
    /// AWS does not publish it; 10 minutes is a common observation.
    pub keep_alive_minutes: Option<u32>,
    /// Initialisation time of a new environment when telemetry reports none, in ms
    /// (> 0). Default: a per-runtime value (java 1500, dotnet 800, ruby 400, python and
    /// nodejs 300, provided and go 100, anything else 600).
    pub init_duration_ms: Option<f64>,
    /// Share of the duration that is CPU-bound and so shrinks with more memory (0–1).
    /// Default: estimated from history when the memory changed, else 0.5.
    pub cpu_bound_fraction: Option<f64>,
    /// Threads the code keeps busy; caps the speed-up above 1,769 MB (one vCPU)
    /// (>= 1; default 1).
    pub parallelism: Option<f64>,
    /// Duration on arm64 relative to x86_64 (> 0; default 1.0 = same speed).
    pub arm64_duration_factor: Option<f64>,
    /// Time for a provisioned-concurrency increase to be ready, in minutes (0–60;
    /// default 2). Scheduled increases are issued this much ahead of the hour.
    pub provisioned_allocation_delay_minutes: Option<u32>,
    /// Memory headroom over the largest observed use (>= 0; default 0.2 = +20 %).
    pub memory_headroom: Option<f64>,
    /// Minutes from a sustained rise in load until ECS target tracking asks for more
    /// tasks: the scale-out alarm's evaluation periods (0–60; default 3, Application
    /// Auto Scaling's three one-minute datapoints). The task start time comes on top.
    pub fargate_scaling_lag_minutes: Option<u32>,
    /// Seconds from launching a Fargate task until it serves (image pull and start),
    /// when telemetry has none (> 0). Default: 20 s plus the image at 50 MB/s.
    pub fargate_task_start_seconds: Option<f64>,
    /// Compressed size of the container image, in MB (> 0; default 250), which sets
    /// the default task start time.
    pub fargate_image_size_mb: Option<f64>,
    /// Fargate Spot interruptions per Spot task-hour (0–1; default 0.01). AWS publishes
    /// none; set it from the service's own events.
    pub fargate_spot_interruptions_per_task_hour: Option<f64>,
    /// Largest request or response body, in KB (> 0), when known. A move to Lambda
    /// needs it within 6 MB (1 MB through an ALB's Lambda target). Default: unknown.
    pub max_payload_kb: Option<f64>,
    /// Target CPU utilisation of a Fargate service (> 0 and <= 1; default 0.7).
    pub fargate_target_cpu_utilization: Option<f64>,
}

impl ModelSection {
    pub(crate) fn validate(&self, path: &str, ck: &mut Check<'_>) {
        let p = |k: &str| join(path, k);
        if let Some(v) = self.keep_alive_minutes {
            ck.num(
                &p("keep_alive_minutes"),
                f64::from(v),
                &[Bound::Ge(1.0), Bound::Le(120.0)],
            );
        }
        ck.opt_num(
            &p("init_duration_ms"),
            self.init_duration_ms,
            &[Bound::Gt(0.0)],
        );
        ck.opt_num(
            &p("cpu_bound_fraction"),
            self.cpu_bound_fraction,
            &[Bound::Ge(0.0), Bound::Le(1.0)],
        );
        ck.opt_num(&p("parallelism"), self.parallelism, &[Bound::Ge(1.0)]);
        ck.opt_num(
            &p("arm64_duration_factor"),
            self.arm64_duration_factor,
            &[Bound::Gt(0.0)],
        );
        for (k, v) in [
            (
                "provisioned_allocation_delay_minutes",
                self.provisioned_allocation_delay_minutes,
            ),
            (
                "fargate_scaling_lag_minutes",
                self.fargate_scaling_lag_minutes,
            ),
        ] {
            if let Some(v) = v {
                ck.num(&p(k), f64::from(v), &[Bound::Ge(0.0), Bound::Le(60.0)]);
            }
        }
        ck.opt_num(
            &p("memory_headroom"),
            self.memory_headroom,
            &[Bound::Ge(0.0)],
        );
        for (k, v) in [
            (
                "fargate_task_start_seconds",
                self.fargate_task_start_seconds,
            ),
            ("fargate_image_size_mb", self.fargate_image_size_mb),
            ("max_payload_kb", self.max_payload_kb),
        ] {
            ck.opt_num(&p(k), v, &[Bound::Gt(0.0)]);
        }
        ck.opt_num(
            &p("fargate_spot_interruptions_per_task_hour"),
            self.fargate_spot_interruptions_per_task_hour,
            &[Bound::Ge(0.0), Bound::Le(1.0)],
        );
        ck.opt_num(
            &p("fargate_target_cpu_utilization"),
            self.fargate_target_cpu_utilization,
            &[Bound::Gt(0.0), Bound::Le(1.0)],
        );
    }

    /// Sets the parameters this section gives, keeping the others.
    pub fn apply(&self, m: &mut ModelParams) {
        if let Some(v) = self.keep_alive_minutes {
            m.keep_alive_minutes = v;
        }
        if let Some(v) = self.init_duration_ms {
            m.init_duration_ms = Some(v);
        }
        if let Some(v) = self.cpu_bound_fraction {
            m.cpu_bound_fraction = Some(v);
        }
        if let Some(v) = self.parallelism {
            m.parallelism = v;
        }
        if let Some(v) = self.arm64_duration_factor {
            m.arm64_duration_factor = v;
        }
        if let Some(v) = self.provisioned_allocation_delay_minutes {
            m.provisioned_allocation_delay_minutes = v;
        }
        if let Some(v) = self.memory_headroom {
            m.memory_headroom = v;
        }
        if let Some(v) = self.fargate_scaling_lag_minutes {
            m.fargate_scaling_lag_minutes = v;
        }
        if let Some(v) = self.fargate_target_cpu_utilization {
            m.fargate_target_cpu_utilization = v;
        }
        if let Some(v) = self.fargate_task_start_seconds {
            m.fargate_task_start_seconds = Some(v);
        }
        if let Some(v) = self.fargate_image_size_mb {
            m.fargate_image_size_mb = Some(v);
        }
        if let Some(v) = self.fargate_spot_interruptions_per_task_hour {
            m.fargate_spot_interruptions_per_task_hour = v;
        }
        if let Some(v) = self.max_payload_kb {
            m.max_payload_kb = Some(v);
        }
    }
}
