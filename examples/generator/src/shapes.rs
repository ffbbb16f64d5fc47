//! The thirteen components of the sample shop and the traffic shape of each: twelve
//! Lambda functions and one ECS service on Fargate.
//!
//! Each one is there to exercise a decision adaptd should make (noted per component),
//! so the numbers follow the scenario, not a real shop. The names are fixed: the
//! sample config `examples/adaptd.toml` refers to them.

use adaptd_engine::telemetry::{MINUTES_PER_DAY, Minute};

use crate::rng::Rng;

/// How busy a component is, before noise and bursts (requests per second).
#[derive(Debug, Clone, Copy)]
pub enum Traffic {
    /// Business hours on weekdays (ramping 07–09 and 17–19 UTC): `night` outside,
    /// `peak` inside; weekends reach only `weekend` of the weekday business increase.
    Business {
        /// Rate outside business hours.
        night: f64,
        /// Rate at the business-hours plateau.
        peak: f64,
        /// Share of the weekday increase that weekends see.
        weekend: f64,
    },
    /// A daily sinusoid: `mean · (1 + amplitude · cos(2π (hour − peak_hour) / 24))`.
    Diurnal {
        /// Mean rate.
        mean: f64,
        /// Relative swing.
        amplitude: f64,
        /// Hour (UTC) of the maximum.
        peak_hour: f64,
    },
    /// Exactly one invocation at this minute of every hour (a cron timer).
    Hourly {
        /// Minute past the hour.
        minute: i64,
    },
}

/// Short surges that replace the base rate.
#[derive(Debug, Clone, Copy)]
pub struct Bursts {
    /// Rate during a burst (requests per second), ±15 % per burst.
    pub rate: f64,
    /// Bursts per day, drawn uniformly in this range.
    pub per_day: (u32, u32),
    /// Length in minutes, drawn uniformly in this range.
    pub minutes: (u32, u32),
    /// UTC hours in which bursts start.
    pub hours: (u32, u32),
}

/// An ECS service on Fargate behind an existing Application Load Balancer: what its
/// task definition and service say (the shape's `memory_mb` is the task's memory).
#[derive(Debug, Clone, Copy)]
pub struct FargateService {
    /// vCPUs per task.
    pub vcpu: f64,
    /// Tasks kept running (the service's desired count, every hour).
    pub tasks: u32,
    /// Requests one task serves at once (its worker count).
    pub per_task_concurrency: u32,
    /// Share of a request's time the task's CPU is busy (for `CPUUtilization`).
    pub cpu_share: f64,
}

/// One component of the sample.
#[derive(Debug, Clone, Copy)]
pub struct Shape {
    /// Name, as in the sample config.
    pub name: &'static str,
    /// `http`, `event`, `timer` or `queue`.
    pub trigger: &'static str,
    /// Lambda runtime identifier (the language of an ECS service's image, which ECS
    /// does not report: the sample config declares it).
    pub runtime: &'static str,
    /// Memory configured now (MB; per task on Fargate).
    pub memory_mb: u32,
    /// `x86_64` or `arm64`.
    pub architecture: &'static str,
    /// Base traffic.
    pub traffic: Traffic,
    /// Surges on top, if any.
    pub bursts: Option<Bursts>,
    /// Median execution time (ms) at the memory configured at the start of the week.
    pub duration_median_ms: f64,
    /// Log-space standard deviation of the execution time.
    pub duration_sigma: f64,
    /// Median initialisation time of a new environment (ms).
    pub init_ms: f64,
    /// Typical memory used by an invocation (MB).
    pub memory_used_mb: f64,
    /// Share of invocations that fail.
    pub error_rate: f64,
    /// Provisioned concurrency currently configured (0 for none).
    pub provisioned_concurrency: u32,
    /// A memory change during the week: (days after the start, memory before). The
    /// duration then scales as `0.1 + 0.9 · first / memory` (90 % CPU-bound).
    pub memory_before: Option<(i64, u32)>,
    /// Runs as an ECS service on Fargate instead of a Lambda function: it then reports
    /// what ECS and the load balancer show (requests, response time, 5xx, CPU and
    /// memory utilisation, running tasks), not Lambda's concurrency or cold starts.
    pub fargate: Option<FargateService>,
}

impl Shape {
    /// Memory configured at `minute`, given the week's first minute.
    pub fn memory_at(&self, minute: Minute, start: Minute) -> u32 {
        match self.memory_before {
            Some((days, before)) if minute < start + days * MINUTES_PER_DAY => before,
            _ => self.memory_mb,
        }
    }

    /// Median duration at `memory` MB: the CPU-bound part scales inversely with memory
    /// (Lambda allots CPU in proportion), the rest does not.
    pub fn duration_median_at(&self, memory: u32) -> f64 {
        let first = self
            .memory_before
            .map_or(self.memory_mb, |(_, before)| before);
        let d = self.duration_median_ms;
        0.1 * d + 0.9 * d * f64::from(first) / f64::from(memory)
    }
}

const fn shape(name: &'static str, trigger: &'static str, runtime: &'static str) -> Shape {
    Shape {
        name,
        trigger,
        runtime,
        memory_mb: 1024,
        architecture: "x86_64",
        traffic: Traffic::Hourly { minute: 0 },
        bursts: None,
        duration_median_ms: 100.0,
        duration_sigma: 0.4,
        init_ms: 400.0,
        memory_used_mb: 100.0,
        error_rate: 0.001,
        provisioned_concurrency: 0,
        memory_before: None,
        fargate: None,
    }
}

/// Image resizing ran at 1024 MB and was moved to this size after three days.
const IMAGE_RESIZE_MEMORY: u32 = 1536;

/// The thirteen components, in a fixed order (their index seeds their random stream,
/// so a component added at the end leaves the others' telemetry unchanged).
pub const SHAPES: [Shape; 13] = [
    // A B2B checkout used in sessions: a partner's session sends ~12 requests a minute
    // for 2–3 minutes, sessions come every ~15 minutes in business hours, and between
    // them the function sits idle past the keep-alive. The first requests of a session
    // start cold (~2–3 % of all requests), breaking the cold-start and p99 objectives
    // unless an environment is provisioned in business hours.
    Shape {
        traffic: Traffic::Business {
            night: 0.0005,
            peak: 0.003,
            weekend: 0.3,
        },
        bursts: Some(Bursts {
            rate: 0.2,
            per_day: (30, 45),
            minutes: (2, 3),
            hours: (8, 18),
        }),
        duration_median_ms: 120.0,
        duration_sigma: 0.517, // p99 ≈ 400 ms
        init_ms: 600.0,
        memory_used_mb: 180.0,
        error_rate: 0.002,
        ..shape("checkout-api", "http", "nodejs20.x")
    },
    // Bursts exhaust a 100-connection database: it needs an RDS Proxy.
    Shape {
        memory_mb: 512,
        traffic: Traffic::Diurnal {
            mean: 5.0,
            amplitude: 0.2,
            peak_hour: 14.0,
        },
        bursts: Some(Bursts {
            rate: 250.0,
            per_day: (2, 5),
            minutes: (5, 15),
            hours: (6, 21),
        }),
        duration_median_ms: 300.0,
        duration_sigma: 0.5,
        init_ms: 450.0,
        memory_used_mb: 140.0,
        error_rate: 0.005,
        ..shape("orders-api", "http", "python3.12")
    },
    // CPU-bound, with a memory change in the history to learn from.
    Shape {
        memory_mb: IMAGE_RESIZE_MEMORY,
        traffic: Traffic::Diurnal {
            mean: 2.0,
            amplitude: 0.5,
            peak_hour: 14.0,
        },
        duration_median_ms: 900.0, // at 1024 MB
        duration_sigma: 0.25,
        init_ms: 500.0,
        memory_used_mb: 600.0,
        memory_before: Some((3, 1024)),
        ..shape("image-resize", "event", "nodejs20.x")
    },
    // Provisioned for a month-end rush, idle the rest of the time: over-provisioned.
    Shape {
        memory_mb: 2048,
        traffic: Traffic::Business {
            night: 0.002,
            peak: 0.3,
            weekend: 0.0,
        },
        duration_median_ms: 2000.0,
        duration_sigma: 0.35,
        init_ms: 3000.0,
        memory_used_mb: 700.0,
        error_rate: 0.01,
        provisioned_concurrency: 20,
        ..shape("report-generator", "http", "java17")
    },
    // Steady heavy traffic all day: a Fargate service is cheaper.
    Shape {
        memory_mb: 2048,
        traffic: Traffic::Diurnal {
            mean: 200.0,
            amplitude: 0.1,
            peak_hour: 15.0,
        },
        duration_median_ms: 250.0,
        duration_sigma: 0.45,
        init_ms: 400.0,
        memory_used_mb: 300.0,
        ..shape("search-api", "http", "nodejs20.x")
    },
    // An hourly timer: every run pays a cold start.
    Shape {
        memory_mb: 3008,
        traffic: Traffic::Hourly { minute: 5 },
        duration_median_ms: 45_000.0,
        duration_sigma: 0.05,
        init_ms: 800.0,
        memory_used_mb: 1536.0,
        error_rate: 0.0,
        ..shape("nightly-etl", "timer", "python3.12")
    },
    // Quiet, with short spikes of ~500 requests a minute.
    Shape {
        memory_mb: 256,
        traffic: Traffic::Diurnal {
            mean: 0.5,
            amplitude: 0.0,
            peak_hour: 0.0,
        },
        bursts: Some(Bursts {
            rate: 500.0 / 60.0,
            per_day: (2, 5),
            minutes: (2, 4),
            hours: (0, 23),
        }),
        duration_median_ms: 40.0,
        duration_sigma: 0.5,
        init_ms: 120.0,
        memory_used_mb: 45.0,
        error_rate: 0.003,
        ..shape("webhook-ingest", "http", "provided.al2023")
    },
    // 1024 MB configured, ~70 MB used: memory can come down.
    Shape {
        traffic: Traffic::Diurnal {
            mean: 20.0,
            amplitude: 0.3,
            peak_hour: 14.0,
        },
        duration_median_ms: 15.0,
        duration_sigma: 0.4,
        init_ms: 350.0,
        memory_used_mb: 70.0,
        error_rate: 0.0005,
        ..shape("auth-token", "http", "nodejs20.x")
    },
    Shape {
        memory_mb: 512,
        traffic: Traffic::Business {
            night: 0.05,
            peak: 3.0,
            weekend: 0.25,
        },
        duration_median_ms: 400.0,
        duration_sigma: 0.45,
        init_ms: 400.0,
        memory_used_mb: 120.0,
        error_rate: 0.004,
        ..shape("email-sender", "queue", "python3.12")
    },
    // Moderately CPU-bound and allowed on arm64.
    Shape {
        memory_mb: 1536,
        traffic: Traffic::Diurnal {
            mean: 8.0,
            amplitude: 0.0,
            peak_hour: 0.0,
        },
        duration_median_ms: 350.0,
        duration_sigma: 0.3,
        init_ms: 700.0,
        memory_used_mb: 500.0,
        error_rate: 0.002,
        ..shape("thumbnail-worker", "queue", "python3.12")
    },
    // Writes every audit event to its own small database, waiting on it (~2 s, a
    // serialisable insert and an index update): ~25 in flight on average, and the
    // busiest minutes of the afternoon open more connections than audit-db has for
    // it. Its messages may wait in the queue, so a reserved-concurrency cap that
    // throttles a few of them holds the database more cheaply than an RDS Proxy.
    Shape {
        memory_mb: 256,
        traffic: Traffic::Diurnal {
            mean: 12.0,
            amplitude: 0.3,
            peak_hour: 14.0,
        },
        duration_median_ms: 2000.0,
        duration_sigma: 0.35,
        init_ms: 300.0,
        memory_used_mb: 80.0,
        ..shape("audit-log-writer", "queue", "nodejs20.x")
    },
    // A few requests per business hour: a provisioned-concurrency schedule for
    // business hours is the typical insight.
    Shape {
        traffic: Traffic::Business {
            night: 0.001 / 60.0,
            peak: 0.05 / 60.0,
            weekend: 0.0,
        },
        duration_median_ms: 1500.0,
        duration_sigma: 0.35,
        init_ms: 900.0,
        memory_used_mb: 250.0,
        error_rate: 0.01,
        ..shape("pdf-export", "http", "nodejs20.x")
    },
    // An ECS service on Fargate behind the shop's ALB, sized for a launch: two tasks
    // of 1 vCPU and 2 GB all day for a few requests a second in business hours and
    // almost none at night. Lambda, behind the same ALB, bills only the requests.
    Shape {
        memory_mb: 2048,
        traffic: Traffic::Business {
            night: 0.2,
            peak: 4.0,
            weekend: 0.3,
        },
        duration_median_ms: 60.0,
        duration_sigma: 0.45,
        memory_used_mb: 350.0, // per task
        error_rate: 0.001,
        fargate: Some(FargateService {
            vcpu: 1.0,
            tasks: 2,
            per_task_concurrency: 8,
            cpu_share: 0.3,
        }),
        ..shape("inventory-api", "http", "nodejs20.x")
    },
];

/// 0 outside 07–19 UTC, 1 from 09 to 17, half-cosine ramps between.
fn business_curve(hour: f64) -> f64 {
    let ramp = |x: f64| 0.5 - 0.5 * (std::f64::consts::PI * x.clamp(0.0, 1.0)).cos();
    if hour < 13.0 {
        ramp((hour - 7.0) / 2.0)
    } else {
        ramp((19.0 - hour) / 2.0)
    }
}

/// Whether `minute` falls on a Saturday or Sunday (1970-01-01 was a Thursday).
pub fn is_weekend(minute: Minute) -> bool {
    (minute.div_euclid(MINUTES_PER_DAY) + 3).rem_euclid(7) >= 5
}

impl Traffic {
    /// Base rate at `minute` (requests per second); `None` for a timer, which fires
    /// instead of being drawn.
    pub fn rate(&self, minute: Minute) -> Option<f64> {
        let hour = minute.rem_euclid(MINUTES_PER_DAY) as f64 / 60.0;
        match *self {
            Traffic::Business {
                night,
                peak,
                weekend,
            } => {
                let share = if is_weekend(minute) { weekend } else { 1.0 };
                Some(night + share * (peak - night) * business_curve(hour))
            }
            Traffic::Diurnal {
                mean,
                amplitude,
                peak_hour,
            } => {
                let phase = std::f64::consts::TAU * (hour - peak_hour) / 24.0;
                Some(mean * (1.0 + amplitude * phase.cos()))
            }
            Traffic::Hourly { .. } => None,
        }
    }
}

/// A burst: `[start, end)` minutes at `rate` requests per second.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Burst {
    /// First minute.
    pub start: Minute,
    /// One past the last minute.
    pub end: Minute,
    /// Rate during the burst.
    pub rate: f64,
}

impl Bursts {
    /// This week's bursts, sorted by start.
    pub fn schedule(&self, rng: &mut Rng, start: Minute, end: Minute) -> Vec<Burst> {
        let mut out = Vec::new();
        let mut day = start.div_euclid(MINUTES_PER_DAY) * MINUTES_PER_DAY;
        while day < end {
            for _ in 0..rng.range(self.per_day.0, self.per_day.1) {
                let first = self.hours.0 * 60;
                let last = self.hours.1 * 60 + 59;
                let at = day + Minute::from(rng.range(first, last));
                let len = Minute::from(rng.range(self.minutes.0, self.minutes.1));
                let rate = self.rate * (0.85 + 0.3 * rng.uniform());
                out.push(Burst {
                    start: at,
                    end: at + len,
                    rate,
                });
            }
            day += MINUTES_PER_DAY;
        }
        out.sort_by_key(|b| b.start);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn business_hours_and_weekends() {
        assert_eq!(business_curve(3.0), 0.0);
        assert_eq!(business_curve(12.0), 1.0);
        assert!((business_curve(8.0) - 0.5).abs() < 1e-12);
        assert_eq!(business_curve(20.0), 0.0);
        // 2026-11-16 is a Monday, 2026-11-21 a Saturday.
        let monday = 20_773 * MINUTES_PER_DAY;
        assert!(!is_weekend(monday));
        assert!(is_weekend(monday + 5 * MINUTES_PER_DAY));
        assert!(!is_weekend(monday + 7 * MINUTES_PER_DAY));
    }

    #[test]
    fn image_resize_duration_follows_memory() {
        let s = SHAPES.iter().find(|s| s.name == "image-resize").unwrap();
        assert!((s.duration_median_at(1024) - 900.0).abs() < 1e-9);
        assert!((s.duration_median_at(1536) - 630.0).abs() < 1e-9);
        assert_eq!(s.memory_at(0, 0), 1024);
        assert_eq!(s.memory_at(3 * MINUTES_PER_DAY, 0), 1536);
    }
}
