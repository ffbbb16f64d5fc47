//! From engine candidates to the optimiser's [`Problem`]: SLOs become filters and
//! budgets, shared limits become rows, RDS Proxies become switches.

use std::collections::{BTreeMap, BTreeSet};

use adaptd_engine::options::{Candidate, Context, Evaluation, ModelCache, platform, platforms};
use adaptd_engine::prices::PriceSheet;
use adaptd_engine::profile::Profile;
use adaptd_engine::rds_proxy;
use adaptd_engine::spec::{AccountSpec, Architecture, ComponentSpec, DatabaseSpec, Slo};

use crate::problem::{Alt, AltUsage, Base, Item, Problem, Row, RowId, Slot, Switch, SwitchId};
use crate::recommend::budget::Budgets;
use crate::recommend::model::THROTTLE_TOLERANCE;

/// Everything known about one component while building and explaining.
#[derive(Debug)]
pub struct Prepared<'a> {
    /// The component.
    pub spec: &'a ComponentSpec,
    /// Its profile (absent without telemetry).
    pub profile: Option<&'a Profile>,
    /// The model context (when there is a profile).
    pub ctx: Option<Context<'a>>,
    /// Every candidate, allowed or not.
    pub candidates: Vec<Candidate>,
    /// Prediction of what is deployed.
    pub current: Option<Evaluation>,
    /// Index in the problem's items, when the component is optimised.
    pub item: Option<usize>,
    /// For each base of the item, the index of its candidate.
    pub base_candidates: Vec<usize>,
    /// Why the SLO had to be relaxed, when it had to.
    pub infeasible: Option<String>,
}

/// The problem and how it maps back.
#[derive(Debug)]
pub struct Built<'a> {
    /// The joint problem.
    pub problem: Problem,
    /// Per component, in spec order.
    pub prepared: Vec<Prepared<'a>>,
    /// Rows per account: 24 hour rows.
    pub account_rows: BTreeMap<String, Vec<RowId>>,
    /// Row per database without a proxy, and its switch.
    pub db_rows: BTreeMap<String, (RowId, SwitchId)>,
    /// Warnings.
    pub warnings: Vec<String>,
}

/// Converts a candidate into a base: levels that break the SLO's p99 or throttle
/// objective become unavailable, with per-slot `p99_floor` relaxing p99 for a best-effort
/// base.
pub fn to_base(
    c: &Candidate,
    slo: &Slo,
    account_rows: Option<&[RowId]>,
    db_rows: &[(RowId, f64)],
    relax_p99: Option<&[f64]>,
    budget: Option<f64>,
) -> Base {
    let mut usage: Vec<(RowId, f64)> = Vec::new();
    if let (Some(r), Some(rows)) = (c.reserved_concurrency, account_rows) {
        usage.extend(rows.iter().map(|&row| (row, f64::from(r))));
    }
    usage.extend(db_rows.iter().copied());
    let slots = c
        .slots
        .iter()
        .enumerate()
        .map(|(s, slot)| Slot {
            alternatives: slot
                .levels
                .iter()
                .map(|o| {
                    let o = o.as_ref()?;
                    let p99_limit = match (slo.p99_ms, relax_p99) {
                        (Some(t), Some(floor)) => Some(t.max(floor[s])),
                        (Some(t), None) => Some(t),
                        (None, _) => None,
                    };
                    if p99_limit.is_some_and(|t| o.p99_ms > t * (1.0 + 1e-9)) {
                        return None;
                    }
                    if slo
                        .max_throttle_rate
                        .is_some_and(|t| o.throttle_rate > t + THROTTLE_TOLERANCE)
                    {
                        return None;
                    }
                    let mut alt_usage = AltUsage::new();
                    if o.account_concurrency > 0
                        && let Some(rows) = account_rows
                    {
                        alt_usage.extend(
                            slot.hours
                                .iter()
                                .map(|&h| (rows[h], f64::from(o.account_concurrency))),
                        );
                    }
                    Some(Alt {
                        cost: o.usd_per_month,
                        risk: o.cold_starts_per_month,
                        usage: alt_usage,
                    })
                })
                .collect(),
            potential: slot.potential.clone(),
        })
        .collect();
    Base {
        label: c.label.clone(),
        cost: c.fixed_usd_per_month,
        usage,
        levels: c.levels.clone(),
        cyclic: c.slots.len() == 24,
        slots,
        risk_budget: budget,
    }
}

/// The database rows a candidate of `spec` uses, with its peak connections.
pub fn db_usage(
    db_rows: &BTreeMap<String, (RowId, SwitchId)>,
    spec: &ComponentSpec,
    c: &Candidate,
) -> Vec<(RowId, f64)> {
    spec.databases
        .iter()
        .filter_map(|d| db_rows.get(d).map(|&(r, _)| (r, c.db_connections)))
        .collect()
}

/// Smallest risk a base can reach (its slots at their least risky allowed level, plus the
/// transitions of that choice), or `None` if a slot has no allowed level.
pub fn min_risk(base: &Base) -> Option<f64> {
    let mut levels = Vec::with_capacity(base.slots.len());
    let mut risk = 0.0;
    for slot in &base.slots {
        let (l, alt) = slot
            .alternatives
            .iter()
            .enumerate()
            .filter_map(|(l, a)| a.as_ref().map(|a| (l, a)))
            .min_by(|a, b| a.1.risk.total_cmp(&b.1.risk).then(b.0.cmp(&a.0)))?;
        levels.push(l);
        risk += alt.risk;
    }
    risk += (0..base.slots.len())
        .map(|s| base.transition_risk(s, &levels))
        .sum::<f64>();
    Some(risk)
}

/// On-demand GB-seconds a month per account and architecture: what sets the marginal
/// duration tier.
pub type DurationTotals = BTreeMap<(String, Architecture), f64>;

/// What the deployed configurations of `prepared` use (before tier pricing; usage does
/// not depend on price).
pub fn current_totals(prepared: &[Prepared<'_>]) -> DurationTotals {
    let mut totals = DurationTotals::new();
    for p in prepared {
        if let Some(e) = &p.current {
            *totals
                .entry((p.spec.account.clone(), e.deployment.architecture()))
                .or_default() += e.on_demand_gb_seconds_per_month;
        }
    }
    totals
}

/// What the deployed configurations of `specs` use, as [`current_totals`] has it for
/// a built problem, without building anything else: the deployed configurations set
/// the marginal duration tier, so it is known before any solve.
pub fn deployed_totals(
    specs: &[ComponentSpec],
    profiles: &BTreeMap<String, Profile>,
    prices: &PriceSheet,
) -> DurationTotals {
    let used = super::par::map(specs.len(), |i| {
        let spec = &specs[i];
        let profile = profiles.get(&spec.name)?;
        let ctx = Context::new(spec, profile, prices);
        let e = platform(spec.current.platform()).evaluate(&ctx, &spec.current)?;
        Some((
            (spec.account.clone(), e.deployment.architecture()),
            e.on_demand_gb_seconds_per_month,
        ))
    });
    let mut totals = DurationTotals::new();
    for (k, v) in used.into_iter().flatten() {
        *totals.entry(k).or_default() += v;
    }
    totals
}

/// Concurrency per account and hour of the day (UTC).
pub type AccountHours = BTreeMap<String, [f64; 24]>;

/// How a part of the fleet sits in the whole when it is solved alone.
#[derive(Debug, Default, Clone, Copy)]
pub struct Whole<'a> {
    /// The whole's on-demand usage, which sets the marginal duration tier (`None`: the
    /// part's own).
    pub totals: Option<&'a DurationTotals>,
    /// What components outside the part hold of each account's concurrency, which the
    /// part cannot use.
    pub held: Option<&'a AccountHours>,
    /// Components whose SLO gives way to a shared limit, chosen across the whole.
    pub give_way: Option<&'a BTreeSet<String>>,
    /// Whether the part is solved only to size what it asks of the whole, with no
    /// explanation to follow: what the guardrails forbid is then not priced.
    pub sizing_only: bool,
}

/// Builds the joint problem of `specs`, as part of `whole`.
pub fn build<'a>(
    specs: &'a [ComponentSpec],
    profiles: &'a BTreeMap<String, Profile>,
    databases: &[DatabaseSpec],
    accounts: &[AccountSpec],
    prices: &'a PriceSheet,
    caches: &'a [ModelCache],
    whole: Whole<'_>,
) -> Built<'a> {
    let mut warnings = Vec::new();
    let mut problem = Problem::default();
    let account_rows = add_account_rows(&mut problem, specs, accounts);
    for (account, rows) in &account_rows {
        if let Some(hours) = whole.held.and_then(|h| h.get(account)) {
            for (&row, held) in rows.iter().zip(hours) {
                problem.rows[row.0].capacity -= held;
            }
        }
    }
    let db_rows = add_database_rows(&mut problem, specs, databases, prices);
    let mut prepared = prepare(specs, profiles, prices, caches, &whole, &mut warnings);
    hold_what_is_left_out(&mut problem, &prepared, &account_rows);
    add_items(&mut problem, &mut prepared, &account_rows, &db_rows);
    Built {
        problem,
        prepared,
        account_rows,
        db_rows,
        warnings,
    }
}

/// The account's concurrent-executions quota: AWS's default of 1,000 unless declared.
pub fn quota(accounts: &[AccountSpec], name: &str) -> f64 {
    let declared = accounts.iter().find(|a| a.name == name);
    f64::from(declared.map_or(1000, |a| a.concurrency_limit))
}

/// What reserved and provisioned concurrency may take of the account's quota: all but
/// the executions AWS keeps unreserved.
pub fn reservable(accounts: &[AccountSpec], name: &str) -> f64 {
    (quota(accounts, name) - f64::from(AccountSpec::UNRESERVED_MINIMUM)).max(0.0)
}

/// Accounts: 24 hour rows each, at the account's reservable concurrency.
fn add_account_rows(
    problem: &mut Problem,
    specs: &[ComponentSpec],
    accounts: &[AccountSpec],
) -> BTreeMap<String, Vec<RowId>> {
    let mut account_rows: BTreeMap<String, Vec<RowId>> = BTreeMap::new();
    for spec in specs {
        account_rows.entry(spec.account.clone()).or_insert_with(|| {
            (0..24)
                .map(|h| {
                    problem.rows.push(Row {
                        name: format!("account {} concurrency, {h:02}:00", spec.account),
                        capacity: reservable(accounts, &spec.account),
                        lifted_by: None,
                    });
                    RowId(problem.rows.len() - 1)
                })
                .collect()
        });
    }
    account_rows
}

/// Databases without a proxy: one row each, liftable by a proxy switch.
fn add_database_rows(
    problem: &mut Problem,
    specs: &[ComponentSpec],
    databases: &[DatabaseSpec],
    prices: &PriceSheet,
) -> BTreeMap<String, (RowId, SwitchId)> {
    let mut db_rows: BTreeMap<String, (RowId, SwitchId)> = BTreeMap::new();
    for db in databases.iter().filter(|d| !d.has_proxy) {
        if !specs.iter().any(|s| s.databases.contains(&db.name)) {
            continue;
        }
        problem.switches.push(Switch {
            name: format!("RDS Proxy for {}", db.name),
            cost: rds_proxy::usd_per_month(db, prices),
            fixed: None,
        });
        let switch = SwitchId(problem.switches.len() - 1);
        problem.rows.push(Row {
            name: format!("database {} connections", db.name),
            capacity: rds_proxy::usable_connections(db),
            lifted_by: Some(switch),
        });
        db_rows.insert(db.name.clone(), (RowId(problem.rows.len() - 1), switch));
    }
    db_rows
}

/// Every component with its model context, its deployed configuration's prediction at
/// the marginal duration tier, and its candidates.
fn prepare<'a>(
    specs: &'a [ComponentSpec],
    profiles: &'a BTreeMap<String, Profile>,
    prices: &'a PriceSheet,
    caches: &'a [ModelCache],
    whole: &Whole<'_>,
    warnings: &mut Vec<String>,
) -> Vec<Prepared<'a>> {
    // The deployed configurations first, at the first duration tier: they set the
    // marginal tier. Their shapes are cached (the price is in the cache key), so the
    // candidate at the deployed size reuses them.
    let current = super::par::map(specs.len(), |i| {
        let spec = &specs[i];
        let ctx = profiles
            .get(&spec.name)
            .map(|p| Context::new(spec, p, prices).with_cache(&caches[i]));
        ctx.and_then(|c| platform(spec.current.platform()).evaluate(&c, &spec.current))
    });
    let mut prepared: Vec<Prepared<'a>> = specs
        .iter()
        .zip(current)
        .zip(caches)
        .map(|((spec, current), cache)| {
            let profile = profiles.get(&spec.name);
            Prepared {
                spec,
                profile,
                ctx: profile.map(|p| {
                    let ctx = Context::new(spec, p, prices).with_cache(cache);
                    if whole.sizing_only {
                        ctx.without_forbidden()
                    } else {
                        ctx
                    }
                }),
                candidates: Vec::new(),
                current,
                item: None,
                base_candidates: Vec::new(),
                infeasible: None,
            }
        })
        .collect();
    apply_duration_tiers(&mut prepared, prices, whole.totals, warnings);

    let candidates = super::par::map(prepared.len(), |i| {
        let p = &prepared[i];
        match p.ctx.as_ref() {
            Some(ctx) if p.current.is_some() && ctx.profile.has_traffic_data() => platforms()
                .iter()
                .flat_map(|pl| pl.candidates(ctx))
                .collect(),
            _ => Vec::new(),
        }
    });
    for (p, c) in prepared.iter_mut().zip(candidates) {
        p.candidates = c;
    }
    prepared
}

/// Components left out of the problem hold what they hold now: the account rows lose it.
fn hold_what_is_left_out(
    problem: &mut Problem,
    prepared: &[Prepared<'_>],
    account_rows: &BTreeMap<String, Vec<RowId>>,
) {
    for p in prepared {
        if p.current.is_some() && !p.candidates.is_empty() {
            continue;
        }
        let rows = &account_rows[&p.spec.account];
        for (h, &row) in rows.iter().enumerate() {
            problem.rows[row.0].capacity -= f64::from(p.spec.current.account_concurrency_at(h));
        }
    }
}

/// One item per component with candidates: the bases that can meet its SLO, or the one
/// that comes closest when none can.
fn add_items(
    problem: &mut Problem,
    prepared: &mut [Prepared<'_>],
    account_rows: &BTreeMap<String, Vec<RowId>>,
    db_rows: &BTreeMap<String, (RowId, SwitchId)>,
) {
    for p in prepared.iter_mut() {
        if p.candidates.is_empty() {
            continue;
        }
        let spec = p.spec;
        let rows = account_rows.get(&spec.account).map(Vec::as_slice);
        let db_usage = |c: &Candidate| db_usage(db_rows, spec, c);
        let mut bases = Vec::new();
        let mut base_candidates = Vec::new();
        let mut budgets = Budgets::new(&spec.slo, p.profile);
        for (i, c) in p
            .candidates
            .iter()
            .enumerate()
            .filter(|(_, c)| c.excluded.is_none())
        {
            let base = to_base(c, &spec.slo, rows, &db_usage(c), None, budgets.of(c));
            let feasible =
                min_risk(&base).is_some_and(|r| base.risk_budget.is_none_or(|b| r <= b + 1e-9));
            if feasible {
                bases.push(base);
                base_candidates.push(i);
            }
        }
        if bases.is_empty() {
            // Best effort: the allowed candidate closest to the SLO, held to what it can do.
            let Some((i, floor, risk)) = best_effort(p) else {
                continue;
            };
            let c = &p.candidates[i];
            let base = to_base(c, &spec.slo, rows, &db_usage(c), Some(&floor), None);
            let budget = budgets.of(c).map(|b| b.max(risk * (1.0 + 1e-9) + 1e-9));
            bases.push(Base {
                risk_budget: budget,
                ..base
            });
            base_candidates.push(i);
            p.infeasible = Some(infeasibility_text(p, i, &floor, risk));
        }
        p.base_candidates = base_candidates;
        p.item = Some(problem.items.len());
        problem.items.push(Item {
            name: spec.name.clone(),
            bases,
        });
    }
}

/// The allowed candidate that comes closest to the SLO: smallest worst-slot p99 excess,
/// then smallest reachable cold starts. Returns its index, per-slot p99 floors and its
/// least risk.
fn best_effort(p: &Prepared<'_>) -> Option<(usize, Vec<f64>, f64)> {
    let slo = &p.spec.slo;
    let mut best: Option<(f64, f64, usize, Vec<f64>)> = None;
    for (i, c) in p
        .candidates
        .iter()
        .enumerate()
        .filter(|(_, c)| c.excluded.is_none())
    {
        let floor: Vec<f64> = c
            .slots
            .iter()
            .map(|s| {
                s.levels
                    .iter()
                    .flatten()
                    .map(|o| o.p99_ms)
                    .fold(f64::INFINITY, f64::min)
            })
            .collect();
        if floor.iter().any(|f| !f.is_finite()) {
            continue;
        }
        let base = to_base(c, slo, None, &[], Some(&floor), None);
        let Some(risk) = min_risk(&base) else {
            continue;
        };
        let excess = slo.p99_ms.map_or(0.0, |t| {
            floor
                .iter()
                .map(|f| (f / t - 1.0).max(0.0))
                .fold(0.0, f64::max)
        });
        let rate = risk / c.invocations_per_month.max(1e-9);
        let key = (excess, rate);
        if best
            .as_ref()
            .is_none_or(|b| key.0 < b.0 - 1e-12 || (key.0 <= b.0 + 1e-12 && key.1 < b.1))
        {
            best = Some((excess, rate, i, floor));
        }
    }
    let (_, rate, i, floor) = best?;
    Some((i, floor, rate * p.candidates[i].invocations_per_month))
}

fn infeasibility_text(p: &Prepared<'_>, i: usize, floor: &[f64], risk: f64) -> String {
    let spec = p.spec;
    let g = &spec.guardrails;
    let c = &p.candidates[i];
    let mut parts = Vec::new();
    if let Some(t) = spec.slo.p99_ms {
        let worst = floor.iter().copied().fold(0.0, f64::max);
        if worst > t {
            parts.push(format!(
                "p99 ≤ {t:.0} ms is infeasible; best possible {worst:.0} ms"
            ));
        }
    }
    if let Some(r) = spec.slo.max_cold_start_rate {
        let best = risk / c.invocations_per_month.max(1e-9);
        if best > r {
            parts.push(format!(
                "cold starts ≤ {:.2} % are infeasible; best possible {:.2} %",
                100.0 * r,
                100.0 * best
            ));
        }
    }
    if parts.is_empty() {
        parts.push("the SLO cannot be met".into());
    }
    let mut limits = vec![
        format!("memory ≤ {} MB", g.memory_mb_max),
        format!(
            "provisioned concurrency ≤ {}",
            g.max_provisioned_concurrency
        ),
    ];
    if !g.allowed_platforms.is_empty() {
        let names: Vec<&str> = g.allowed_platforms.iter().map(|k| k.as_str()).collect();
        limits.push(format!("platforms {}", names.join(", ")));
    }
    format!(
        "{}: {} within {} (closest: {})",
        spec.name,
        parts.join("; "),
        limits.join(", "),
        c.label
    )
}

/// Lambda duration tiers apply to an account's total on-demand GB-seconds per
/// architecture: price every component at the marginal tier of its account's current
/// total, so the optimiser sees what one more GB-second really costs.
fn apply_duration_tiers(
    prepared: &mut [Prepared<'_>],
    prices: &PriceSheet,
    totals: Option<&DurationTotals>,
    warnings: &mut Vec<String>,
) {
    let totals = totals.cloned().unwrap_or_else(|| current_totals(prepared));
    let mut repriced = vec![false; prepared.len()];
    for ((account, arch), total) in &totals {
        let tiers = prices.lambda.duration_tiers(*arch);
        let marginal = tiers
            .iter()
            .find(|t| t.up_to_gb_seconds.is_none_or(|u| *total < u))
            .map_or(tiers[0].usd_per_gb_second, |t| t.usd_per_gb_second);
        if marginal < tiers[0].usd_per_gb_second {
            warnings.push(format!(
                "account {account} uses {:.2e} on-demand GB-s a month on {arch}: duration is priced at the marginal tier ${marginal}/GB-s",
                total
            ));
            for (i, p) in prepared.iter_mut().enumerate() {
                if let Some(ctx) = p.ctx.as_mut().filter(|_| &p.spec.account == account) {
                    ctx.lambda_duration_usd_per_gb_second
                        [usize::from(*arch == Architecture::Arm64)] = marginal;
                    repriced[i] = true;
                }
            }
        }
    }
    // Re-evaluate the deployed configurations whose duration price changed.
    let again = super::par::map(prepared.len(), |i| {
        let p = &prepared[i];
        match (p.ctx.as_ref(), p.current.as_ref()) {
            (Some(ctx), Some(_)) if repriced[i] => {
                Some(platform(p.spec.current.platform()).evaluate(ctx, &p.spec.current))
            }
            _ => None,
        }
    });
    for (p, e) in prepared.iter_mut().zip(again) {
        if let Some(e) = e {
            p.current = e;
        }
    }
}
