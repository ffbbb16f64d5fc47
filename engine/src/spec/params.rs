//! Model parameters and their documented defaults.

use serde::{Deserialize, Serialize};

/// Model parameters; each has a documented default and may be set per component.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelParams {
    /// How long Lambda keeps an idle on-demand environment warm (minutes). AWS does not
    /// publish it; 10 minutes is a common observation and the replay's default.
    pub keep_alive_minutes: u32,
    /// Initialisation time of a new environment when telemetry has none (ms).
    pub init_duration_ms: Option<f64>,
    /// Share of the duration that is CPU-bound and so shrinks with more vCPU (0–1).
    /// Estimated from history when memory changed; else this default.
    pub cpu_bound_fraction: Option<f64>,
    /// Threads the code can keep busy; caps the speed-up above 1,769 MB (1 vCPU).
    pub parallelism: f64,
    /// Duration on arm64 relative to x86_64 (1.0 = same speed).
    pub arm64_duration_factor: f64,
    /// Time between a provisioned-concurrency increase and its environments being ready
    /// (minutes); scheduled increases are issued this much ahead of the hour.
    pub provisioned_allocation_delay_minutes: u32,
    /// Memory headroom over the largest observed use (0.2 = +20 %).
    pub memory_headroom: f64,
    /// Minutes from a sustained rise in load until ECS target tracking asks for more
    /// tasks: the scale-out alarm's evaluation periods (3 one-minute datapoints above
    /// target, Application Auto Scaling's default) and the metric's publication. The
    /// task start time comes on top (`fargate_task_start_seconds`).
    pub fargate_scaling_lag_minutes: u32,
    /// Seconds from launching a Fargate task until it serves (image pull, ENI, start):
    /// Fargate's cold start. From telemetry (ECS task events) when visible, else this
    /// when set, else a default by `fargate_image_size_mb` (see
    /// [`default_task_start_seconds`]).
    #[serde(default)]
    pub fargate_task_start_seconds: Option<f64>,
    /// Compressed size of the service's container image (MB), which sets the default
    /// task start time: Fargate caches no image, every task pulls all of it.
    #[serde(default)]
    pub fargate_image_size_mb: Option<f64>,
    /// Expected Fargate Spot interruptions per Spot task-hour. AWS publishes none; the
    /// default (0.01) is an assumption to override from the service's own events.
    #[serde(default = "default_spot_interruptions")]
    pub fargate_spot_interruptions_per_task_hour: f64,
    /// Largest request or response body (KB), when known. A move to Lambda needs it
    /// within 6 MB (a function URL; 1 MB through an ALB's Lambda target).
    #[serde(default)]
    pub max_payload_kb: Option<f64>,
    /// Target CPU utilisation of a Fargate service.
    pub fargate_target_cpu_utilization: f64,
}

impl Default for ModelParams {
    fn default() -> Self {
        Self {
            keep_alive_minutes: 10,
            init_duration_ms: None,
            cpu_bound_fraction: None,
            parallelism: 1.0,
            arm64_duration_factor: 1.0,
            provisioned_allocation_delay_minutes: 2,
            memory_headroom: 0.2,
            fargate_scaling_lag_minutes: 3,
            fargate_target_cpu_utilization: 0.7,
            fargate_task_start_seconds: None,
            fargate_image_size_mb: None,
            fargate_spot_interruptions_per_task_hour: default_spot_interruptions(),
            max_payload_kb: None,
        }
    }
}

fn default_spot_interruptions() -> f64 {
    0.01
}

/// Image size assumed when neither telemetry nor config gives one (MB, compressed): a
/// slim runtime base image with an application on top.
pub const DEFAULT_IMAGE_SIZE_MB: f64 = 250.0;

/// Fargate task start time (s) when telemetry has none, from the image size.
///
/// Fargate runs every task on a fresh single-use instance and caches no image, so the
/// whole image is pulled and unpacked for every task, and the time to pull is "directly
/// correlated to the time taken to start a Fargate task" (AWS, *Linux containers on
/// Fargate container image pull behavior*); `awsvpc` adds "several seconds" for the
/// task's network interface (AWS, *Optimize Amazon ECS task launch time*). The default
/// is 20 s of provisioning, ENI and container start plus the image at 50 MB/s
/// (pull and gzip unpack): 25 s for a 250 MB image, 60 s for 2 GB. Measured starts in
/// telemetry always win.
pub fn default_task_start_seconds(image_size_mb: Option<f64>) -> f64 {
    20.0 + image_size_mb.unwrap_or(DEFAULT_IMAGE_SIZE_MB).max(0.0) / 50.0
}

/// The default CPU-bound share when history has no memory change to learn it from.
pub const DEFAULT_CPU_BOUND_FRACTION: f64 = 0.5;

/// Per-runtime initialisation defaults (ms), used when telemetry reports none. Typical
/// values of small functions without SnapStart; a runtime not listed gets 600 ms.
pub fn default_init_duration_ms(runtime: Option<&str>) -> f64 {
    let Some(r) = runtime else { return 600.0 };
    let r = r.to_ascii_lowercase();
    if r.starts_with("java") {
        1500.0
    } else if r.starts_with("dotnet") {
        800.0
    } else if r.starts_with("python") || r.starts_with("nodejs") {
        300.0
    } else if r.starts_with("ruby") {
        400.0
    } else if r.starts_with("provided") || r.starts_with("go") {
        100.0
    } else {
        600.0
    }
}
