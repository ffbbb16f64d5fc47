//! How a Lambda function's duration depends on its memory and architecture, and which
//! memory sizes are worth considering.

use crate::options::{Assumption, Context};
use crate::profile::duration_factor;
use crate::quantiles::QuantileSet;
use crate::spec::{Architecture, DEFAULT_CPU_BOUND_FRACTION, Deployment, default_init_duration_ms};

/// Memory sizes adaptd proposes besides the floor and the current size. 1,769 MB is
/// where a function gets one full vCPU.
pub const STANDARD_MEMORY_MB: [u32; 14] = [
    128, 256, 512, 768, 1024, 1536, 1769, 2048, 3008, 4096, 5120, 6144, 8192, 10240,
];

/// Lambda's memory range.
pub const MEMORY_RANGE_MB: (u32, u32) = (128, 10_240);

/// The duration model of one function.
#[derive(Debug, Clone)]
pub struct DurationLaw {
    /// Memory the observed durations refer to: for an ECS service, the Lambda memory
    /// with its `observed_vcpu`.
    pub observed_memory_mb: f64,
    /// vCPUs an observed request ran with: a Lambda's share of its memory, or what
    /// sharing its task left it ([`crate::cpu_share::observed_vcpu`]).
    pub observed_vcpu: f64,
    /// Architecture they were observed on.
    pub observed_architecture: Architecture,
    /// CPU-bound share and where it came from.
    pub cpu_bound_fraction: (f64, &'static str),
    /// Threads the code keeps busy.
    pub parallelism: f64,
    /// arm64 duration relative to x86_64.
    pub arm64_factor: f64,
}

impl DurationLaw {
    /// Reads the law off the context.
    pub fn of(ctx: &Context<'_>) -> Self {
        let current_memory = match &ctx.spec.current {
            Deployment::Lambda(l) => f64::from(l.memory_mb),
            Deployment::Fargate(f) => f64::from(f.memory_mb),
        };
        let cpu_bound_fraction = if let Some(est) = &ctx.profile.cpu_bound {
            (est.fraction, "telemetry (memory change in history)")
        } else if let Some(f) = ctx.spec.model.cpu_bound_fraction {
            (f, "config")
        } else {
            (DEFAULT_CPU_BOUND_FRACTION, "default")
        };
        let parallelism = ctx.spec.model.parallelism;
        // Durations observed on Fargate ran at what sharing the task's vCPUs left each
        // request: the Lambda memory with that CPU is what they were observed "at" (a
        // task's memory says nothing about its CPU).
        let (observed_memory_mb, observed_vcpu) = match &ctx.spec.current {
            Deployment::Fargate(f) => {
                let v = crate::cpu_share::observed_vcpu(
                    f,
                    ctx.profile,
                    cpu_bound_fraction.0,
                    parallelism,
                );
                (v * crate::profile::MB_PER_VCPU, v)
            }
            Deployment::Lambda(_) => {
                let m = ctx.profile.duration_memory_mb.unwrap_or(current_memory);
                (m, crate::profile::lambda_vcpu(m, parallelism))
            }
        };
        Self {
            observed_memory_mb,
            observed_vcpu,
            observed_architecture: ctx.spec.current.architecture(),
            cpu_bound_fraction,
            parallelism,
            arm64_factor: ctx.spec.model.arm64_duration_factor,
        }
    }

    /// Factor from observed durations to durations at `memory_mb` on `arch`.
    pub fn factor(&self, memory_mb: f64, arch: Architecture) -> f64 {
        let mem = duration_factor(
            self.observed_memory_mb,
            memory_mb,
            self.cpu_bound_fraction.0,
            self.parallelism,
        );
        let arch_factor = match (self.observed_architecture, arch) {
            (Architecture::X86_64, Architecture::Arm64) => self.arm64_factor,
            (Architecture::Arm64, Architecture::X86_64) => 1.0 / self.arm64_factor,
            _ => 1.0,
        };
        mem * arch_factor
    }

    /// Duration distribution at `memory_mb` on `arch`.
    pub fn at(&self, observed: &QuantileSet, memory_mb: f64, arch: Architecture) -> QuantileSet {
        observed.scaled(self.factor(memory_mb, arch))
    }

    /// The assumptions behind the law.
    pub fn assumptions(&self) -> Vec<Assumption> {
        vec![
            Assumption {
                name: "cpu_bound_fraction".into(),
                value: format!("{:.2}", self.cpu_bound_fraction.0),
                source: self.cpu_bound_fraction.1.into(),
            },
            Assumption {
                name: "durations_observed_at_memory_mb".into(),
                value: format!("{:.0}", self.observed_memory_mb),
                source: "telemetry".into(),
            },
        ]
    }
}

/// Initialisation time (ms) and where it came from.
pub fn init_duration(ctx: &Context<'_>) -> (f64, &'static str) {
    if let Some(i) = ctx.profile.init_duration_ms {
        (i, "telemetry")
    } else if ctx.spec.runtime.is_some() {
        (
            default_init_duration_ms(ctx.spec.runtime.as_deref()),
            "runtime default",
        )
    } else if let Some(i) = ctx.spec.model.init_duration_ms {
        (i, "config")
    } else {
        (default_init_duration_ms(None), "default")
    }
}

/// The smallest memory that holds the largest observed use plus headroom, or `None`
/// when memory use is unknown (then memory is never lowered blindly).
pub fn memory_floor_mb(ctx: &Context<'_>) -> Option<u32> {
    let used = ctx.profile.max_memory_used_mb?;
    let need = used * (1.0 + ctx.spec.model.memory_headroom.max(0.0));
    // Round up to 64 MB, which keeps proposals tidy.
    let mb = ((need / 64.0).ceil() * 64.0) as u32;
    Some(mb.clamp(MEMORY_RANGE_MB.0, MEMORY_RANGE_MB.1))
}

/// Memory sizes to consider: the floor, the standard sizes above it up to the point where
/// more memory stops making the code faster, and the current size.
pub fn memory_candidates(floor_mb: u32, current_mb: u32, parallelism: f64) -> Vec<u32> {
    let saturation = (crate::profile::MB_PER_VCPU * parallelism.max(1.0)).ceil() as u32;
    let mut out = vec![floor_mb];
    for &s in STANDARD_MEMORY_MB.iter().filter(|&&s| s > floor_mb) {
        out.push(s);
        if s >= saturation || out.len() >= 7 {
            break;
        }
    }
    out.push(current_mb);
    out.sort_unstable();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn candidates_stop_once_more_memory_buys_no_speed() {
        assert_eq!(
            memory_candidates(192, 1024, 1.0),
            vec![192, 256, 512, 768, 1024, 1536, 1769]
        );
        assert_eq!(memory_candidates(1600, 1024, 1.0), vec![1024, 1600, 1769]);
        // Multi-threaded code keeps gaining up to parallelism × 1,769 MB.
        assert_eq!(
            memory_candidates(3008, 3008, 4.0),
            vec![3008, 4096, 5120, 6144, 8192]
        );
    }
}
