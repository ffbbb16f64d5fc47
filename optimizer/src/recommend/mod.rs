//! Recommendations: candidates from the engine, solved jointly, explained.
//!
//! [`recommend`] is the whole pipeline and stays pure: it takes component specs,
//! telemetry profiles and prices, and returns a [`RecommendationSet`].

mod budget;
mod build;
mod changes;
pub mod chunked;
mod elastic;
mod explain;
pub mod frontier;
mod limits;
pub mod model;
mod par;
mod price;

use std::collections::BTreeMap;
use std::time::Instant;

use adaptd_engine::options::{Candidate, Evaluation, ModelCache, platform};
use adaptd_engine::prices::PriceSheet;
use adaptd_engine::profile::Profile;
use adaptd_engine::spec::{AccountSpec, ComponentSpec, DatabaseSpec};

use crate::{SolveError, SolveOptions};
pub use changes::changes;
pub use model::*;

/// Settings of one recommendation run.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    /// Solver options.
    pub solve: SolveOptions,
    /// Total monthly budget, if the org set one.
    pub budget_usd_per_month: Option<f64>,
}

/// Why no recommendation could be made.
#[derive(Debug, thiserror::Error)]
pub enum RecommendError {
    /// The optimiser failed.
    #[error(transparent)]
    Solve(#[from] SolveError),
    /// The cheapest configuration that meets every SLO is over budget.
    #[error(
        "budget infeasible: the cheapest configuration that meets every SLO costs ${minimum:.2}/month, over the budget of ${budget:.2}/month"
    )]
    OverBudget {
        /// Cheapest cost found.
        minimum: f64,
        /// The budget.
        budget: f64,
    },
}

/// Recommends a configuration for every component.
pub fn recommend(
    specs: &[ComponentSpec],
    profiles: &BTreeMap<String, Profile>,
    databases: &[DatabaseSpec],
    accounts: &[AccountSpec],
    prices: &PriceSheet,
    settings: &Settings,
) -> Result<RecommendationSet, RecommendError> {
    let whole = build::Whole::default();
    recommend_at(
        specs, profiles, databases, accounts, prices, settings, whole,
    )
    .map(|p| p.set)
}

/// One part of the fleet's recommendations, with what the whole sums over the parts.
#[derive(Debug)]
pub(crate) struct Part {
    /// The part's recommendations.
    pub set: RecommendationSet,
    /// What the part's deployed configurations use, which sets the duration tier.
    pub used: build::DurationTotals,
    /// Per account, each hour's raise of the limit (whole executions) with which the
    /// part's SLOs that gave way to it would hold.
    pub shortfall: build::AccountHours,
    /// What the solve proved of the part's plan, for the whole's gap.
    pub proof: Proof,
}

/// A solve's objective and the lower bound it proved, both as the solver saw them
/// (cold-start penalties of SLOs that gave way included). Parts solved independently
/// are summed: the sum of their bounds bounds the sum of their optima, so the whole's
/// gap is `(Σ objective − Σ bound) / Σ objective`, not the worst part's.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Proof {
    pub objective: f64,
    pub bound: f64,
}

impl Proof {
    /// The relative gap of `self`, at least 0.
    pub fn gap(self) -> f64 {
        crate::relative_gap(self.objective, self.bound)
    }

    /// `self` and `other` together.
    pub fn and(self, other: Proof) -> Proof {
        Proof {
            objective: self.objective + other.objective,
            bound: self.bound + other.bound,
        }
    }
}

/// [`recommend`] for a part of the fleet, priced as the whole would be and within
/// what the rest of the whole leaves of each account's concurrency.
pub(crate) fn recommend_at(
    specs: &[ComponentSpec],
    profiles: &BTreeMap<String, Profile>,
    databases: &[DatabaseSpec],
    accounts: &[AccountSpec],
    prices: &PriceSheet,
    settings: &Settings,
    whole: build::Whole<'_>,
) -> Result<Part, RecommendError> {
    let started = Instant::now();
    let caches: Vec<ModelCache> = specs.iter().map(|_| ModelCache::default()).collect();
    let mut built = build::build(specs, profiles, databases, accounts, prices, &caches, whole);
    let used = build::current_totals(&built.prepared);
    let models_ms = started.elapsed().as_secs_f64() * 1e3;
    let t = Instant::now();
    let give_way: std::collections::BTreeSet<usize> = whole
        .give_way
        .map(|names| {
            let named = |(_, p): &(usize, &build::Prepared<'_>)| names.contains(&p.spec.name);
            built
                .prepared
                .iter()
                .enumerate()
                .filter(named)
                .map(|(i, _)| i)
                .collect()
        })
        .unwrap_or_default();
    let relaxed = elastic::solve_or_relax(&mut built, &settings.solve, &give_way);
    let (solution, mut relaxation) = match relaxed {
        Ok(x) => x,
        // Nothing that meets every limit was found in time: what runs now is the one
        // plan known to be possible.
        Err(SolveError::TimeLimit { limit }) => {
            let reason = format!(
                "the solver's time limit of {:.1} s ran out before it found a plan that meets every shared limit: keeping the deployed configuration",
                limit.as_secs_f64()
            );
            let set = keep_deployed(built, &reason, models_ms, started);
            // Costs are never negative: 0 bounds what was not solved.
            let proof = Proof {
                objective: set.summary.recommended_usd_per_month,
                bound: 0.0,
            };
            return Ok(Part {
                set,
                used,
                shortfall: build::AccountHours::new(),
                proof,
            });
        }
        Err(e) => return Err(e.into()),
    };
    if let Some(r) = &mut relaxation {
        // A part of a fleet whose limit was shared out does not price its own quota
        // request: the fleet prices the quota at which its limit stops binding from
        // what its groups asked (see `chunked`), at no extra solve per group.
        if whole.give_way.is_none() {
            elastic::restore(&mut built, r, &settings.solve);
        }
        limits::mark_relaxed(&mut built, r, accounts);
    }
    // The groups of a large fleet learn it from what they asked (see `chunked`).
    let unlimited = match whole.totals {
        None => {
            elastic::unbound_if_binding(&mut built, &solution, relaxation.as_ref(), &settings.solve)
        }
        Some(_) => None,
    };
    let solve_ms = t.elapsed().as_secs_f64() * 1e3;
    let t = Instant::now();
    let mut components = explain_all(&built, &solution);
    components.sort_by(|a, b| a.component.cmp(&b.component));
    let explain_ms = t.elapsed().as_secs_f64() * 1e3;

    let companions = companions(specs, &built, &solution);
    let summary = summarize(&components, &companions);
    if let Some(budget) = settings.budget_usd_per_month
        && summary.recommended_usd_per_month > budget
    {
        return Err(RecommendError::OverBudget {
            minimum: summary.recommended_usd_per_month,
            budget,
        });
    }

    let penalty = limits::penalty_usd(&built, &solution, relaxation.as_ref());
    let plan_usd = solution.cost - penalty;
    let shared_limits = limits::shared_limits(
        &built,
        &solution,
        &components,
        relaxation.as_ref(),
        unlimited.as_ref(),
        accounts,
        plan_usd,
    );
    let mut warnings = std::mem::take(&mut built.warnings);
    warnings.extend(shared_limits.iter().filter_map(limits::limit_warning));
    let shortfall = relaxation
        .as_ref()
        .map(|r| limits::account_shortfalls(&built, r))
        .unwrap_or_default();
    // A part's gap is told once for the whole, by whoever merges the parts.
    let time_limit_reached = solution.stats.time_limit_reached;
    if whole.totals.is_none() {
        warnings.extend(gap_warning(settings, solution.gap, time_limit_reached));
    }
    let (items, bases, alternatives) = sizes(&built.problem);
    let set = RecommendationSet {
        schema_version: SCHEMA_VERSION,
        summary,
        components,
        companions,
        shared_limits,
        solver: SolverReport {
            method: format!("{:?}", solution.stats.method).to_lowercase(),
            gap: solution.gap,
            time_limit_reached,
            objective_usd_per_month: plan_usd,
            lower_bound_usd_per_month: solution.lower_bound - penalty,
            models_ms,
            solve_ms,
            explain_ms,
            total_ms: started.elapsed().as_secs_f64() * 1e3,
            items,
            bases,
            alternatives,
        },
        warnings,
    };
    Ok(Part {
        set,
        used,
        shortfall,
        proof: Proof {
            objective: solution.cost,
            bound: solution.lower_bound,
        },
    })
}

/// The warning that the solver did not prove its target gap, when it did not, with
/// why: the time limit, or a search that ended short of the target on its own (then a
/// longer time limit would not help).
pub(crate) fn gap_warning(
    settings: &Settings,
    gap: f64,
    time_limit_reached: bool,
) -> Option<String> {
    let target = settings.solve.mip_gap;
    (gap > target + 1e-9).then(|| {
        let limit = settings.solve.time_limit.as_secs_f64();
        let why = if time_limit_reached {
            format!("within its time limit of {limit:.1} s")
        } else {
            format!("(its search ended before the time limit of {limit:.1} s)")
        };
        format!(
            "the solver did not prove its target gap of {:.2} % {why}: this plan is proven within {:.2} % of the optimum",
            100.0 * target,
            100.0 * gap,
        )
    })
}

/// Recommendations for every component from the solver's choices.
fn explain_all(built: &build::Built<'_>, solution: &crate::Solution) -> Vec<Recommendation> {
    let rows_bind = solution.row_prices.iter().any(|&p| p > 1e-9);
    par::map(built.prepared.len(), |i| {
        let p = &built.prepared[i];
        match p.item {
            None => no_data(p),
            Some(item) => {
                let choice = &solution.choices[item];
                let cand = &p.candidates[p.base_candidates[choice.base]];
                let deployment = cand.deployment(&choice.levels);
                let ctx = p.ctx.as_ref().expect("optimised components have a context");
                let chosen = platform(deployment.platform())
                    .evaluate(ctx, &deployment)
                    .expect("candidates evaluate");
                let risk_price = solution.risk_prices.get(item).copied().unwrap_or(0.0);
                decide(p, cand, &chosen, risk_price, rows_bind, built, solution)
            }
        }
    })
}

/// The RDS Proxies the solution switched on, with their reasons.
fn companions(
    specs: &[ComponentSpec],
    built: &build::Built<'_>,
    solution: &crate::Solution,
) -> Vec<Companion> {
    built
        .db_rows
        .iter()
        .filter(|(_, (_, sw))| solution.switches[sw.0])
        .map(|(db, (row, sw))| {
            let users: Vec<String> = specs
                .iter()
                .filter(|s| s.databases.contains(db))
                .map(|s| s.name.clone())
                .collect();
            Companion {
                kind: "rds_proxy".into(),
                database: db.clone(),
                usd_per_month: built.problem.switches[sw.0].cost,
                reason: format!(
                    "peak connections of {} would exceed the {:.0} usable connections of {db}",
                    users.join(", "),
                    built.problem.rows[row.0].capacity
                ),
                components: users,
            }
        })
        .collect()
}

/// The fleet's totals.
fn summarize(components: &[Recommendation], companions: &[Companion]) -> Summary {
    let mut summary = Summary {
        components: components.len(),
        ..Summary::default()
    };
    for r in components {
        match r.status {
            Status::Change => summary.changes += 1,
            Status::SloInfeasible => summary.slo_infeasible += 1,
            Status::NoData => summary.no_data += 1,
            Status::Keep => {}
        }
        if let Some(c) = &r.current {
            summary.current_usd_per_month += c.usd_per_month;
            summary.slo_breaches_current += usize::from(!c.meets_slo);
        }
        if let Some(rec) = &r.recommended {
            summary.recommended_usd_per_month += rec.usd_per_month;
        }
        summary.available_savings_usd_per_month += r.saving_usd_per_month.max(0.0);
    }
    summary.recommended_usd_per_month += companions.iter().map(|c| c.usd_per_month).sum::<f64>();
    summary.saving_usd_per_month =
        summary.current_usd_per_month - summary.recommended_usd_per_month;
    summary
}

/// Items, bases and allowed alternatives of a problem, for the solver report.
fn sizes(problem: &crate::Problem) -> (usize, usize, usize) {
    problem.items.iter().fold((0, 0, 0), |(i, b, a), item| {
        let alts: usize = item
            .bases
            .iter()
            .flat_map(|b| &b.slots)
            .map(|s| s.alternatives.iter().flatten().count())
            .sum();
        (i + 1, b + item.bases.len(), a + alts)
    })
}

/// The document when no plan could be found: every component keeps what it runs,
/// with `reason` in its explanation and in the warnings.
fn keep_deployed(
    built: build::Built<'_>,
    reason: &str,
    models_ms: f64,
    started: Instant,
) -> RecommendationSet {
    let mut components: Vec<Recommendation> = built
        .prepared
        .iter()
        .map(|p| {
            let mut r = no_data(p);
            if p.item.is_some() {
                r.status = Status::Keep;
                r.explanation.summary = reason.to_owned();
                r.explanation.warnings = vec![reason.to_owned()];
                r.confidence = explain::confidence(p);
            }
            r
        })
        .collect();
    components.sort_by(|a, b| a.component.cmp(&b.component));
    let summary = summarize(&components, &[]);
    let mut warnings = built.warnings;
    warnings.push(reason.to_owned());
    let (items, bases, alternatives) = sizes(&built.problem);
    RecommendationSet {
        schema_version: SCHEMA_VERSION,
        summary,
        components,
        companions: Vec::new(),
        shared_limits: Vec::new(),
        solver: SolverReport {
            method: "none".into(),
            gap: 1.0,
            time_limit_reached: true,
            models_ms,
            total_ms: started.elapsed().as_secs_f64() * 1e3,
            items,
            bases,
            alternatives,
            ..SolverReport::default()
        },
        warnings,
    }
}

fn no_data(p: &build::Prepared<'_>) -> Recommendation {
    let mut warnings: Vec<String> = p.profile.map(|pr| pr.warnings.clone()).unwrap_or_default();
    let summary = if p.profile.is_none_or(|pr| !pr.has_traffic_data()) {
        "no telemetry: keeping the deployed configuration".to_owned()
    } else {
        "telemetry lacks durations: keeping the deployed configuration".to_owned()
    };
    warnings.push(summary.clone());
    let current = p
        .current
        .as_ref()
        .map(|e| Predicted::from_evaluation(e, &p.spec.slo));
    Recommendation {
        component: p.spec.name.clone(),
        status: Status::NoData,
        slo: budget::judged_slo(&p.spec.slo, p.profile),
        recommended: current.clone(),
        current,
        saving_usd_per_month: 0.0,
        changes: Vec::new(),
        confidence: Confidence {
            level: "low".into(),
            days_of_data: p.profile.map_or(0.0, Profile::days),
            invocations_seen: p.profile.map_or(0.0, |pr| pr.invocations),
            reasons: vec![summary.clone()],
        },
        explanation: Explanation {
            summary,
            warnings,
            ..Explanation::default()
        },
        hours: Vec::new(),
        timezone: p.spec.timezone,
    }
}

fn decide(
    p: &build::Prepared<'_>,
    cand: &Candidate,
    chosen: &Evaluation,
    risk_price: f64,
    rows_bind: bool,
    built: &build::Built<'_>,
    solution: &crate::Solution,
) -> Recommendation {
    let spec = p.spec;
    let current_eval = p
        .current
        .as_ref()
        .expect("optimised components have a current evaluation");
    let current = Predicted::from_evaluation(current_eval, &spec.slo);
    let mut recommended = Predicted::from_evaluation(chosen, &spec.slo);
    let mut final_eval = chosen;
    let saving = current.usd_per_month - recommended.usd_per_month;
    // Differences below both thresholds are not worth a change when the deployed
    // configuration already meets its SLO: churn has a cost the model does not see.
    let g = &spec.guardrails;
    let small = saving.abs()
        < g.min_change_saving_usd_per_month
            .max(g.min_change_saving_share * current.usd_per_month);
    let mut foregone = None;
    // Kept only when it holds the SLO as a plan must (with the planned confidence).
    let current_holds =
        current.meets_slo && budget::holds_with_confidence(current_eval, &spec.slo, p.profile);
    if p.infeasible.is_none() && current_holds && small && !rows_bind && saving != 0.0 {
        foregone = Some((saving, recommended.description.clone()));
        recommended = current.clone();
        final_eval = current_eval;
    }
    let mut changes = changes(&spec.current, &recommended.deployment);
    if !spec.timezone.is_utc() {
        // Hours of a schedule are the component's local hours: say which.
        for c in &mut changes {
            if matches!(c.field.as_str(), "provisioned_concurrency" | "tasks") {
                for text in [&mut c.from, &mut c.to] {
                    if text.contains(" h") {
                        text.push_str(&format!(" ({})", spec.timezone));
                    }
                }
            }
        }
    }
    let status = if p.infeasible.is_some() {
        Status::SloInfeasible
    } else if changes.is_empty() {
        Status::Keep
    } else {
        Status::Change
    };
    let hours = hour_rows(p.profile.expect("has profile"), current_eval, final_eval);
    let mut explanation = explain::explain(
        p,
        cand,
        &current,
        &recommended,
        final_eval,
        risk_price,
        built,
        solution,
    );
    if let Some((saving, best)) = foregone {
        explanation.summary = format!(
            "keep {} ({}/month): {best} would change the bill by {}/month, below the threshold for a change ({} or {} % of the cost)",
            current.description,
            output_usd(current.usd_per_month),
            output_usd(saving),
            threshold_usd(spec.guardrails.min_change_saving_usd_per_month),
            100.0 * spec.guardrails.min_change_saving_share
        );
    }
    Recommendation {
        component: spec.name.clone(),
        status,
        slo: budget::judged_slo(&spec.slo, p.profile),
        saving_usd_per_month: current.usd_per_month - recommended.usd_per_month,
        current: Some(current),
        recommended: Some(recommended),
        changes,
        confidence: explain::confidence(p),
        explanation,
        hours,
        timezone: spec.timezone,
    }
}

/// A configured threshold as written: `$1`, `$0.25`.
fn threshold_usd(x: f64) -> String {
    if x.fract() == 0.0 {
        format!("${x:.0}")
    } else {
        output_usd(x)
    }
}

fn output_usd(x: f64) -> String {
    if x.abs() >= 100.0 {
        format!("${x:.0}")
    } else {
        format!("${x:.2}")
    }
}

fn hour_rows(profile: &Profile, current: &Evaluation, rec: &Evaluation) -> Vec<HourRow> {
    (0..24)
        .map(|h| {
            let hp = &profile.hours[h];
            let rate = |e: &Evaluation| {
                let x = &e.hours[h];
                if x.invocations_per_month > 0.0 {
                    x.cold_starts_per_month / x.invocations_per_month
                } else {
                    0.0
                }
            };
            HourRow {
                hour: h,
                invocations_per_minute: hp.mean_per_minute(),
                p99_invocations_per_minute: hp.count_quantile(0.99),
                current_level: current.hours[h].level,
                recommended_level: rec.hours[h].level,
                current_p99_ms: current.hours[h].p99_ms,
                recommended_p99_ms: rec.hours[h].p99_ms,
                current_cold_start_rate: rate(current),
                recommended_cold_start_rate: rate(rec),
            }
        })
        .collect()
}
