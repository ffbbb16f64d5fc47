//! Helpers shared by the integration tests.

#![allow(dead_code)]

use adaptd_engine::prices::PriceSheet;
use adaptd_engine::quantiles::QuantileSet;
use adaptd_engine::spec::{Architecture, Deployment, LambdaConfig, Provisioned};
use adaptd_replay::{Params, Policy, ReplayResult, Workload, replay};

/// A 1 GB x86_64 workload starting at midnight UTC whose invocations all take `ms`.
pub fn constant(counts: Vec<u32>, ms: f64) -> Workload {
    Workload::new("f", 0, counts, QuantileSet::constant(ms), 1024.0)
}

/// `n` minutes of zero traffic with `at` (minute, count) set.
pub fn counts(n: usize, at: &[(usize, u32)]) -> Vec<u32> {
    let mut c = vec![0; n];
    for &(m, k) in at {
        c[m] = k;
    }
    c
}

/// A 1 GB x86_64 Lambda.
pub fn lambda(provisioned: Provisioned, reserved: Option<u32>) -> Policy {
    Policy::Static(Deployment::Lambda(LambdaConfig {
        memory_mb: 1024,
        architecture: Architecture::X86_64,
        provisioned,
        reserved_concurrency: reserved,
    }))
}

/// Replays with default parameters and us-east-1 prices.
pub fn run(w: &Workload, p: &Policy) -> ReplayResult {
    replay(w, p, &Params::default(), &PriceSheet::us_east_1()).unwrap()
}

/// Relative closeness.
pub fn close(a: f64, b: f64, rel: f64) -> bool {
    (a - b).abs() <= rel * a.abs().max(b.abs()).max(1e-300)
}
