//! The cost–latency frontier of one component (ε-constraint on p99).
//!
//! Starting from the cheapest configuration that meets the component's other objectives,
//! each step asks for a p99 2 % below the last point's and re-solves, until nothing
//! within the guardrails is faster. The points are Pareto-optimal: each is the cheapest
//! configuration at or below its latency.

use adaptd_engine::options::{Context, platform, platforms};
use adaptd_engine::prices::PriceSheet;
use adaptd_engine::profile::Profile;
use adaptd_engine::spec::{ComponentSpec, Slo};
use serde::{Deserialize, Serialize};

use super::budget::Budgets;
use super::build::{min_risk, to_base};
use crate::problem::Item;
use crate::{SolveOptions, solve_item};

/// One point of the frontier.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FrontierPoint {
    /// The configuration.
    pub description: String,
    /// Monthly cost.
    pub usd_per_month: f64,
    /// Worst hour's p99 (ms).
    pub worst_hour_p99_ms: f64,
    /// Cold starts per invocation.
    pub cold_start_rate: f64,
}

/// Step between successive p99 targets.
const STEP: f64 = 0.02;

/// Up to `max_points` frontier points, cheapest (slowest) first.
pub fn frontier(
    spec: &ComponentSpec,
    profile: &Profile,
    prices: &PriceSheet,
    max_points: usize,
) -> Vec<FrontierPoint> {
    let ctx = Context::new(spec, profile, prices);
    let candidates: Vec<_> = platforms()
        .iter()
        .flat_map(|p| p.candidates(&ctx))
        .filter(|c| c.excluded.is_none())
        .collect();
    let mut out: Vec<FrontierPoint> = Vec::new();
    let mut target = f64::INFINITY;
    // Per-hour p99 filters and the evaluated worst hour can differ (transitions between
    // hours add cold starts); a step that does not improve is retried a little lower.
    let mut misses = 0;
    while out.len() < max_points && misses < 5 {
        let slo = Slo {
            p99_ms: target.is_finite().then_some(target),
            ..spec.slo.clone()
        };
        let mut bases = Vec::new();
        let mut owners = Vec::new();
        let mut budgets = Budgets::new(&slo, Some(profile));
        for (i, c) in candidates.iter().enumerate() {
            let base = to_base(c, &slo, None, &[], None, budgets.of(c));
            if min_risk(&base).is_some_and(|r| base.risk_budget.is_none_or(|b| r <= b + 1e-9)) {
                bases.push(base);
                owners.push(i);
            }
        }
        if bases.is_empty() {
            break;
        }
        let item = Item {
            name: spec.name.clone(),
            bases,
        };
        let Ok((choice, _)) = solve_item(&item, &SolveOptions::default()) else {
            break;
        };
        let c = &candidates[owners[choice.base]];
        let d = c.deployment(&choice.levels);
        let Some(e) = platform(d.platform()).evaluate(&ctx, &d) else {
            break;
        };
        if out
            .last()
            .is_some_and(|l| e.worst_hour_p99_ms >= l.worst_hour_p99_ms)
        {
            misses += 1;
            target *= 1.0 - STEP;
            continue;
        }
        misses = 0;
        target = e.worst_hour_p99_ms * (1.0 - STEP);
        out.push(FrontierPoint {
            description: d.describe(),
            usd_per_month: e.usd_per_month,
            worst_hour_p99_ms: e.worst_hour_p99_ms,
            cold_start_rate: e.cold_start_rate,
        });
    }
    out
}
