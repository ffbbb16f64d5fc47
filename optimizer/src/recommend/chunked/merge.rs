//! One document from the groups' documents: totals summed, shared limits and solver
//! figures combined, and the groups' quota requests turned into the account's.
//!
//! Each group's raise restores its own SLOs within what it had of the account, so
//! their hourly sum restores every SLO. Pricing that raise would take a solve per
//! group; the fleet prices the quota at which its limit stops binding instead, from
//! what the groups asked (see `share::unlimited`).

use std::collections::BTreeMap;

use super::super::build::AccountHours;
use super::super::limits::{
    ACCOUNT_CONCURRENCY as ACCOUNT, gives_way, limit_warning, shortfall_warning,
};
use super::super::{
    Proof, Recommendation, RecommendationSet, SharedLimit, Shortfall, SolverReport, Summary,
    Unbound,
};

/// A group's document (without its components), with what the whole needs beside it.
#[derive(Debug)]
pub(super) struct Solved {
    /// The group's document; its components went to the caller.
    pub set: RecommendationSet,
    /// Per account, each hour's raise the group's SLOs that gave way need.
    pub shortfall: AccountHours,
    /// What the other groups held of each account while this one was solved.
    pub held: AccountHours,
    /// What the group's solve proved.
    pub proof: Proof,
}

/// One set from the groups' sets (without components). `usage` is what the groups'
/// recommendations hold of each account, summed; `limit_of` an account's reservable
/// concurrency; `unbound` where an account's limit binds, the quota at which it would
/// not, given the plan's cost (as the solver counts it), when the fleet knows it.
pub(super) fn merge(
    parts: Vec<Solved>,
    usage: &AccountHours,
    limit_of: impl Fn(&str) -> f64,
    unbound: impl Fn(&str, f64) -> Option<Unbound>,
) -> RecommendationSet {
    let mut summary = Summary::default();
    let mut companions = Vec::new();
    let mut accounts: BTreeMap<String, SharedLimit> = BTreeMap::new();
    let mut shortfalls: BTreeMap<String, Vec<Shortfall>> = BTreeMap::new();
    let mut raised = AccountHours::new();
    let mut databases = Vec::new();
    let mut solver = SolverReport::default();
    let mut warnings: Vec<String> = Vec::new();
    let mut schema_version = super::super::SCHEMA_VERSION;
    let mut proven = Proof::default();
    for (n, part) in parts.into_iter().enumerate() {
        let Solved {
            set: p,
            shortfall,
            held,
            proof,
        } = part;
        proven = proven.and(proof);
        schema_version = p.schema_version;
        add_summary(&mut summary, &p.summary);
        companions.extend(p.companions);
        let mut group_warnings = p.warnings;
        for mut l in p.shared_limits {
            if l.kind != ACCOUNT {
                databases.push(l);
                continue;
            }
            let limit = limit_of(&l.name);
            let had = held.get(&l.name).copied().unwrap_or([0.0; 24]);
            if let Some(s) = l.shortfall.take() {
                // The group's own quota advice is the whole's only in part.
                let text = shortfall_warning(&l.kind, &l.name, &s, l.unbound.as_ref());
                group_warnings.retain(|w| *w != text);
                let raise = shortfall.get(&l.name).copied().unwrap_or([0.0; 24]);
                let sum = raised.entry(l.name.clone()).or_insert([0.0; 24]);
                for (t, r) in sum.iter_mut().zip(raise) {
                    *t += r;
                }
                shortfalls.entry(l.name.clone()).or_default().push(s);
            }
            // Each group's capacity is the limit less what its own left-out components
            // and the other groups hold; the whole's is the limit less what all the
            // left-out components hold.
            l.capacity += had[0];
            match accounts.get_mut(&l.name) {
                None => {
                    accounts.insert(l.name.clone(), l);
                }
                Some(m) => {
                    m.capacity -= limit - l.capacity;
                    m.binding_hours.extend(l.binding_hours);
                    m.binding_hours.sort_unstable();
                    m.binding_hours.dedup();
                    m.shadow_price_usd = m.shadow_price_usd.max(l.shadow_price_usd);
                }
            }
        }
        add_solver(&mut solver, &p.solver, n == 0);
        for w in group_warnings {
            if !warnings.contains(&w) {
                warnings.push(w);
            }
        }
    }
    summary.saving_usd_per_month =
        summary.current_usd_per_month - summary.recommended_usd_per_month;
    solver.gap = proven.gap();
    for (name, l) in &mut accounts {
        if let Some(hours) = usage.get(name) {
            l.peak_usage = hours.iter().copied().fold(0.0, f64::max);
        }
        // Groups, solved as parts, never tell it: only the fleet knows the whole's.
        l.unbound = unbound(name, solver.objective_usd_per_month);
        if let Some(groups) = shortfalls.remove(name) {
            let s = summed(groups, raised.get(name).copied().unwrap_or([0.0; 24]));
            l.shortfall = Some(s);
        }
        warnings.extend(limit_warning(l));
    }
    let mut shared_limits: Vec<SharedLimit> = accounts.into_values().collect();
    shared_limits.extend(databases);
    RecommendationSet {
        schema_version,
        summary,
        components: Vec::new(),
        companions,
        shared_limits,
        solver,
        warnings,
    }
}

fn add_summary(summary: &mut Summary, s: &Summary) {
    summary.components += s.components;
    summary.changes += s.changes;
    summary.current_usd_per_month += s.current_usd_per_month;
    summary.recommended_usd_per_month += s.recommended_usd_per_month;
    summary.available_savings_usd_per_month += s.available_savings_usd_per_month;
    summary.slo_breaches_current += s.slo_breaches_current;
    summary.slo_infeasible += s.slo_infeasible;
    summary.no_data += s.no_data;
}

fn add_solver(solver: &mut SolverReport, r: &SolverReport, first: bool) {
    if first {
        solver.method.clone_from(&r.method);
    } else if solver.method != r.method {
        solver.method = "mixed".into();
    }
    solver.time_limit_reached |= r.time_limit_reached;
    solver.objective_usd_per_month += r.objective_usd_per_month;
    solver.lower_bound_usd_per_month += r.lower_bound_usd_per_month;
    solver.models_ms += r.models_ms;
    solver.solve_ms += r.solve_ms;
    solver.explain_ms += r.explain_ms;
    solver.total_ms += r.total_ms;
    solver.items += r.items;
    solver.bases += r.bases;
    solver.alternatives += r.alternatives;
}

/// An account's shortfall from its groups' shortfalls and, hour by hour, the sum of
/// their raises (`over`).
fn summed(groups: Vec<Shortfall>, over: [f64; 24]) -> Shortfall {
    let over = over.map(|x| x.max(0.0).ceil());
    let mut components = Vec::new();
    let mut restore = Some(0.0);
    let mut quota = 0.0;
    for s in groups {
        components.extend(s.components);
        restore = restore.zip(s.restore_usd_per_month).map(|(a, b)| a + b);
        quota = s.request_limit - s.raise_by;
    }
    components.sort_unstable();
    components.dedup();
    let raise_by = over.iter().copied().fold(0.0, f64::max);
    Shortfall {
        raise_by,
        request_limit: quota + raise_by,
        hours: (0..24).filter(|&h| over[h] > 0.0).collect(),
        components,
        restore_usd_per_month: restore,
    }
}

/// Tells the components of a group whose SLO gave way to an account (`group`, the
/// group's shortfall) the account's quota request (`whole`) instead of the group's.
pub(super) fn retell(r: &mut Recommendation, account: &str, group: &Shortfall, whole: &Shortfall) {
    let old = gives_way(
        ACCOUNT,
        account,
        &group.hours,
        group.request_limit,
        group.raise_by,
    );
    let new = gives_way(
        ACCOUNT,
        account,
        &whole.hours,
        whole.request_limit,
        whole.raise_by,
    );
    let e = &mut r.explanation;
    e.summary = e.summary.replace(&old, &new);
    for text in e.binding.iter_mut().chain(e.warnings.iter_mut()) {
        if *text == old {
            text.clone_from(&new);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn part(objective: f64, bound: f64, time_limit_reached: bool) -> Solved {
        let gap = (objective - bound) / objective;
        Solved {
            set: RecommendationSet {
                schema_version: super::super::super::SCHEMA_VERSION,
                summary: Summary::default(),
                components: Vec::new(),
                companions: Vec::new(),
                shared_limits: Vec::new(),
                solver: SolverReport {
                    gap,
                    time_limit_reached,
                    ..SolverReport::default()
                },
                warnings: Vec::new(),
            },
            shortfall: AccountHours::new(),
            held: AccountHours::new(),
            proof: Proof { objective, bound },
        }
    }

    /// The whole's gap is what the groups' bounds prove of the whole, not the worst
    /// group's: a small group far from its bound moves it little. Whether the time
    /// limit was reached is any group's.
    #[test]
    fn the_whole_gap_sums_the_groups_distances_from_their_bounds() {
        let set = merge(
            vec![part(100.0, 99.0, false), part(10.0, 5.0, true)],
            &AccountHours::new(),
            |_| 900.0,
            |_, _| None,
        );
        assert!(
            (set.solver.gap - 6.0 / 110.0).abs() < 1e-12,
            "{}",
            set.solver.gap
        );
        assert!(set.solver.time_limit_reached);
        let set = merge(
            vec![part(100.0, 99.0, false)],
            &AccountHours::new(),
            |_| 900.0,
            |_, _| None,
        );
        assert!((set.solver.gap - 0.01).abs() < 1e-12);
        assert!(!set.solver.time_limit_reached);
    }
}
