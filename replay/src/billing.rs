//! Prices applied to what a replay measured, mirroring the engine's Lambda cost rules
//! (`engine/src/options/lambda/mod.rs`) and Fargate task price, with the two things the
//! analytic model leaves out billed exactly: provisioned-concurrency intervals rounded
//! up to the sheet's granularity, and the init of every on-demand cold start
//! including those caused by schedule transitions.
//!
//! - requests: served invocations × request price;
//! - on-demand duration: Σ billed ms (each invocation's duration rounded up to
//!   `duration_rounding_ms`, at least one unit) × GB × first-tier on-demand price;
//! - provisioned duration: the same for invocations on provisioned environments, at the
//!   provisioned-duration price;
//! - init: init ms of each on-demand cold start × GB × on-demand price (unrounded, as
//!   the engine bills it);
//! - provisioned concurrency: billed environment-seconds × GB × its price;
//! - tasks: billed task-seconds × task price per hour / 3,600.

use adaptd_engine::prices::PriceSheet;
use adaptd_engine::spec::Architecture;

use crate::result::{Cost, HourAcc};

/// Unit prices of one configuration.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Rates {
    /// A Lambda function of `gb` GB.
    Lambda {
        gb: f64,
        request_usd: f64,
        on_demand_usd_per_gb_s: f64,
        provisioned_duration_usd_per_gb_s: f64,
        provisioned_usd_per_gb_s: f64,
    },
    /// A Fargate task, and the share off it on Spot.
    Fargate {
        task_usd_per_second: f64,
        spot_discount: f64,
    },
}

impl Rates {
    /// Lambda at `memory_mb` on `arch`.
    pub fn lambda(prices: &PriceSheet, memory_mb: u32, arch: Architecture) -> Self {
        let l = &prices.lambda;
        Rates::Lambda {
            gb: f64::from(memory_mb) / 1024.0,
            request_usd: l.request_usd_per_million / 1e6,
            on_demand_usd_per_gb_s: l.duration_usd_per_gb_second(arch),
            provisioned_duration_usd_per_gb_s: l.provisioned_duration_usd_per_gb_second(arch),
            provisioned_usd_per_gb_s: l.provisioned_usd_per_gb_second(arch),
        }
    }

    /// A Fargate task of `vcpu` and `memory_mb` on `arch`.
    pub fn fargate(prices: &PriceSheet, vcpu: f64, memory_mb: u32, arch: Architecture) -> Self {
        Rates::Fargate {
            task_usd_per_second: prices.fargate.task_usd_per_hour(arch, vcpu, memory_mb) / 3600.0,
            spot_discount: prices.fargate.spot_discount.clamp(0.0, 1.0),
        }
    }

    /// The cost of one hour's measurements.
    pub fn cost(&self, h: &HourAcc) -> Cost {
        match *self {
            Rates::Lambda {
                gb,
                request_usd,
                on_demand_usd_per_gb_s,
                provisioned_duration_usd_per_gb_s,
                provisioned_usd_per_gb_s,
            } => Cost {
                requests_usd: h.served as f64 * request_usd,
                on_demand_duration_usd: h.od_billed_ms / 1000.0 * gb * on_demand_usd_per_gb_s,
                provisioned_duration_usd: h.pc_billed_ms / 1000.0
                    * gb
                    * provisioned_duration_usd_per_gb_s,
                init_usd: h.init_ms / 1000.0 * gb * on_demand_usd_per_gb_s,
                provisioned_concurrency_usd: h.capacity_seconds * gb * provisioned_usd_per_gb_s,
                tasks_usd: 0.0,
            },
            Rates::Fargate {
                task_usd_per_second,
                spot_discount,
            } => Cost {
                tasks_usd: (h.capacity_seconds - h.spot_seconds * spot_discount)
                    * task_usd_per_second,
                ..Cost::default()
            },
        }
    }

    /// On-demand GB-seconds of one hour (duration and init).
    pub fn on_demand_gb_seconds(&self, h: &HourAcc) -> f64 {
        match *self {
            Rates::Lambda { gb, .. } => (h.od_billed_ms + h.init_ms) / 1000.0 * gb,
            Rates::Fargate { .. } => 0.0,
        }
    }
}

/// Billed milliseconds of one invocation of `d` ms: rounded up to `rounding_ms`, at
/// least one unit.
pub(crate) fn billed_ms(d: f64, rounding_ms: f64) -> f64 {
    (d / rounding_ms).ceil().max(1.0) * rounding_ms
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_invocation_rounding_has_a_one_unit_floor() {
        assert_eq!(billed_ms(0.0, 1.0), 1.0);
        assert_eq!(billed_ms(10.2, 1.0), 11.0);
        assert_eq!(billed_ms(10.0, 1.0), 10.0);
        assert_eq!(billed_ms(101.0, 100.0), 200.0);
    }

    #[test]
    fn lambda_cost_uses_the_sheets_prices() {
        let p = PriceSheet::us_east_1();
        let r = Rates::lambda(&p, 2048, Architecture::Arm64);
        let h = HourAcc {
            served: 1_000_000,
            od_billed_ms: 1000.0,
            pc_billed_ms: 2000.0,
            init_ms: 500.0,
            capacity_seconds: 3600.0,
            ..HourAcc::default()
        };
        let c = r.cost(&h);
        assert!((c.requests_usd - 0.2).abs() < 1e-12);
        assert!((c.on_demand_duration_usd - 2.0 * 0.0000133334).abs() < 1e-15);
        assert!((c.provisioned_duration_usd - 4.0 * 0.0000077778).abs() < 1e-15);
        assert!((c.init_usd - 0.0000133334).abs() < 1e-15);
        assert!((c.provisioned_concurrency_usd - 7200.0 * 0.0000033334).abs() < 1e-12);
    }
}
