//! Sharing an account's concurrency among groups that together ask for more of it
//! than the account has.
//!
//! Each group is first asked, as if it had each account's whole limit, what its
//! optimum holds and what each of its components needs at least to keep its SLO
//! ([`demand`]). Which SLOs give way is then chosen across the fleet, and each group
//! gets what its remaining SLOs need plus a part of the rest ([`shares`]). The shares
//! are whole executions and add up to the limit in every hour, so whatever each group
//! then chooses within its share, the groups' choices together fit the account. What a group leaves of its share
//! (a flat reserved concurrency cannot use an hour's larger share, say) passes on to
//! the next group.

use std::collections::{BTreeMap, BTreeSet};

use adaptd_engine::options::ModelCache;
use adaptd_engine::prices::PriceSheet;
use adaptd_engine::profile::Profile;
use adaptd_engine::spec::{AccountSpec, ComponentSpec, DatabaseSpec, Deployment};

use super::super::build::{self, AccountHours, DurationTotals, Whole};
use super::super::elastic::{self, Unlimited};
use super::super::{RecommendError, Recommendation, Settings};
use crate::SolveError;

/// Adds what `deployment` holds of `account`'s concurrency to `usage`.
pub(super) fn add(usage: &mut AccountHours, account: &str, deployment: &Deployment) {
    if !matches!(deployment, Deployment::Lambda(_)) {
        return;
    }
    let hours = usage.entry(account.to_owned()).or_insert([0.0; 24]);
    for (h, u) in hours.iter_mut().enumerate() {
        *u += f64::from(deployment.account_concurrency_at(h));
    }
}

/// What `recommendations` (of `specs`) hold of each account's concurrency.
pub(super) fn usage_of(
    specs: &[ComponentSpec],
    recommendations: &[Recommendation],
) -> AccountHours {
    let by_name: BTreeMap<&str, &ComponentSpec> =
        specs.iter().map(|s| (s.name.as_str(), s)).collect();
    let mut usage = AccountHours::new();
    for r in recommendations {
        let Some(spec) = by_name.get(r.component.as_str()) else {
            continue;
        };
        let deployed = r
            .recommended
            .as_ref()
            .map_or(&spec.current, |p| &p.deployment);
        add(&mut usage, &spec.account, deployed);
    }
    usage
}

/// What a group asks of each account, measured as if it had each account's whole
/// limit.
#[derive(Debug, Clone, Default)]
pub(super) struct Asks {
    /// What the group's optimum holds.
    pub plan: AccountHours,
    /// What its components without a choice (no telemetry) hold, whatever happens.
    pub fixed: AccountHours,
    /// Per component that uses its account's concurrency: its name, its account, and
    /// the least of it with which its SLO still holds, hour by hour.
    pub least: Vec<(String, String, [f64; 24])>,
    /// What the group would hold of each account (its components without a choice
    /// included) and cost if no limit were in the way, every SLO held: its optimum,
    /// unless the whole limit binds the group alone (unknown when not solved in time).
    pub free: Option<Unlimited>,
}

/// What `specs` ask of each account (see [`Asks`]), and what their deployed
/// configurations use; without explaining the plan, which only the final pass needs.
pub(super) fn demand(
    specs: &[ComponentSpec],
    profiles: &BTreeMap<String, Profile>,
    databases: &[DatabaseSpec],
    accounts: &[AccountSpec],
    prices: &PriceSheet,
    settings: &Settings,
    totals: &DurationTotals,
) -> Result<(Asks, DurationTotals), RecommendError> {
    let caches: Vec<ModelCache> = specs.iter().map(|_| ModelCache::default()).collect();
    let whole = Whole {
        totals: Some(totals),
        sizing_only: true,
        ..Whole::default()
    };
    let mut built = build::build(specs, profiles, databases, accounts, prices, &caches, whole);
    let used = build::current_totals(&built.prepared);
    let mut asks = Asks {
        least: elastic::least_account_usages(&built, None)
            .into_iter()
            .map(|(p, hours)| {
                let spec = built.prepared[p].spec;
                (spec.name.clone(), spec.account.clone(), hours)
            })
            .collect(),
        ..Asks::default()
    };
    let (solution, relaxed) =
        match elastic::solve_or_relax(&mut built, &settings.solve, &BTreeSet::new()) {
            Ok((s, r)) => (Some(s), r.map(|r| r.relaxed).unwrap_or_default()),
            // The final pass keeps the deployed configuration then: ask for what it holds.
            Err(SolveError::TimeLimit { .. }) => (None, BTreeSet::new()),
            Err(e) => return Err(e.into()),
        };
    for p in &built.prepared {
        let planned = p.item.zip(solution.as_ref()).map(|(item, s)| {
            let c = &s.choices[item];
            p.candidates[p.base_candidates[c.base]].deployment(&c.levels)
        });
        if p.item.is_none() {
            add(&mut asks.fixed, &p.spec.account, &p.spec.current);
        }
        add(
            &mut asks.plan,
            &p.spec.account,
            planned.as_ref().unwrap_or(&p.spec.current),
        );
    }
    asks.free = solution.and_then(|s| {
        if !elastic::account_binds(&built, &s, &relaxed) {
            let hours = asks.plan.clone();
            return Some(Unlimited {
                hours,
                usd_per_month: s.cost,
            });
        }
        let mut free = elastic::unbound(&mut built, &relaxed, &settings.solve)?;
        super::add_hours(&mut free.hours, &asks.fixed);
        Some(free)
    });
    Ok((asks, used))
}

/// Each group's share of each account's reservable concurrency (`limit_of`), hour by
/// hour, from what the groups ask (one entry per group).
///
/// The components whose SLO gives way are chosen across the fleet, as the joint
/// problem would: the fewest whose least usage covers the excess of everyone's least
/// usage over the limit. Each group gets what its other components need at least and
/// what its components without a choice hold; the rest of the limit goes in
/// proportion to what each group's optimum holds beyond that where the groups ask for
/// more than is left, and elsewhere as asked plus an even part of what remains.
///
/// Also returns whose SLO gives way.
pub(super) fn shares(asks: &[Asks], limit_of: impl Fn(&str) -> f64) -> Shares {
    let mut out = Shares {
        of_group: vec![AccountHours::new(); asks.len()],
        ..Shares::default()
    };
    let accounts: BTreeSet<&String> = asks
        .iter()
        .flat_map(|a| a.plan.keys().chain(a.fixed.keys()))
        .collect();
    for account in accounts {
        let limit = limit_of(account).max(0.0).floor();
        let hours_of = |m: &AccountHours| m.get(account).copied().unwrap_or([0.0; 24]);
        // Every component's least usage, keyed by (group, index in its group).
        let least: BTreeMap<(usize, usize), BTreeMap<usize, f64>> = asks
            .iter()
            .enumerate()
            .flat_map(|(g, a)| {
                a.least
                    .iter()
                    .enumerate()
                    .filter(|(_, (_, acc, _))| acc == account)
                    .map(move |(i, (_, _, hours))| {
                        let by_hour = (0..24).filter(|&h| hours[h] > 0.0).map(|h| (h, hours[h]));
                        ((g, i), by_hour.collect())
                    })
            })
            .collect();
        let mut required: Vec<[f64; 24]> = asks.iter().map(|a| hours_of(&a.fixed)).collect();
        for (&(g, _), hours) in &least {
            for (&h, &u) in hours {
                required[g][h] += u;
            }
        }
        let excess: BTreeMap<usize, f64> = (0..24)
            .map(|h| (h, required.iter().map(|r| r[h]).sum::<f64>() - limit))
            .filter(|&(_, e)| e > 1e-9)
            .collect();
        // Their SLO gives way: their group need not keep anything for them.
        for key in elastic::cover(&least, excess) {
            for (&h, &u) in &least[&key] {
                required[key.0][h] -= u;
            }
            out.give_way.insert(asks[key.0].least[key.1].0.clone());
        }
        for h in 0..24 {
            let wants: Vec<f64> = asks
                .iter()
                .zip(&required)
                .map(|(a, r)| (hours_of(&a.plan)[h] - r[h]).max(0.0))
                .collect();
            let left = (limit - required.iter().map(|r| r[h]).sum::<f64>()).max(0.0);
            for (g, extra) in split(left, &wants).into_iter().enumerate() {
                let share = out.of_group[g].entry(account.clone()).or_insert([0.0; 24]);
                share[h] = required[g][h] + extra;
            }
        }
    }
    out
}

/// What the fleet would hold and cost if no account limited it, from what its groups
/// asked (unknown when a group's is).
pub(super) fn unlimited(asks: &[Asks]) -> Option<Unlimited> {
    let mut whole = Unlimited {
        hours: AccountHours::new(),
        usd_per_month: 0.0,
    };
    for a in asks {
        let free = a.free.as_ref()?;
        super::add_hours(&mut whole.hours, &free.hours);
        whole.usd_per_month += free.usd_per_month;
    }
    Some(whole)
}

/// How a fleet's account limits are shared out among its groups.
#[derive(Debug, Default)]
pub(super) struct Shares {
    /// Each group's share of each account, hour by hour.
    pub of_group: Vec<AccountHours>,
    /// The components whose SLO gives way.
    pub give_way: BTreeSet<String>,
}

/// `limit` whole executions split among groups that want `wants`: in proportion
/// where they want more, else as wanted plus an even part of the rest; by largest
/// remainder, so that the shares add up to `limit`.
fn split(limit: f64, wants: &[f64]) -> Vec<f64> {
    let n = wants.len() as f64;
    let total: f64 = wants.iter().sum();
    let raw: Vec<f64> = wants
        .iter()
        .map(|&a| {
            if total > limit {
                limit * a / total
            } else {
                a + (limit - total) / n
            }
        })
        .collect();
    let mut shares: Vec<f64> = raw.iter().map(|r| r.floor()).collect();
    // The remainders add up to a whole number below the number of groups.
    let left = (limit - shares.iter().sum::<f64>()).round().max(0.0) as usize;
    let mut order: Vec<usize> = (0..raw.len()).collect();
    order.sort_by(|&a, &b| (raw[b] - shares[b]).total_cmp(&(raw[a] - shares[a])));
    for &g in order.iter().take(left) {
        shares[g] += 1.0;
    }
    shares
}

/// What the other groups hold of each account when a group has `share`: the rest of
/// the limit.
pub(super) fn held_beside(share: &AccountHours, limit_of: impl Fn(&str) -> f64) -> AccountHours {
    share
        .iter()
        .map(|(account, s)| {
            let limit = limit_of(account).max(0.0).floor();
            (account.clone(), std::array::from_fn(|h| limit - s[h]))
        })
        .collect()
}

/// What is left of `available` once `used` is taken (never below nothing).
pub(super) fn left_of(available: &AccountHours, used: &AccountHours) -> AccountHours {
    available
        .iter()
        .map(|(account, a)| {
            let u = used.get(account).copied().unwrap_or([0.0; 24]);
            (
                account.clone(),
                std::array::from_fn(|h| (a[h] - u[h]).max(0.0)),
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Where the groups want more than the limit, each gets it in proportion; where
    /// they want less, each gets what it wants and an even part of the rest; the
    /// shares are whole and add up to the limit.
    #[test]
    fn splits_add_up_to_the_limit_in_proportion_to_what_is_wanted() {
        assert_eq!(
            split(900.0, &[600.0, 300.0, 300.0]),
            vec![450.0, 225.0, 225.0]
        );
        assert_eq!(split(10.0, &[1.0, 1.0, 1.0]), vec![4.0, 3.0, 3.0]);
        assert_eq!(split(10.0, &[0.0, 0.0, 0.0]), vec![4.0, 3.0, 3.0]);
        let s = split(7.0, &[5.0, 5.0, 5.0]);
        assert_eq!(s.iter().sum::<f64>(), 7.0);
        assert!(s.iter().all(|&x| x == 2.0 || x == 3.0), "{s:?}");
        assert_eq!(split(0.0, &[3.0, 1.0]), vec![0.0, 0.0]);
    }

    fn all_day(account: &str, x: f64) -> AccountHours {
        [(account.to_owned(), [x; 24])].into_iter().collect()
    }

    /// Without the limit the fleet holds and costs what its groups would: summed hour
    /// by hour; unknown as soon as one group's is.
    #[test]
    fn the_fleet_without_its_limit_is_its_groups_without_it() {
        let free = |x: f64, usd: f64| Asks {
            free: Some(Unlimited {
                hours: all_day("main", x),
                usd_per_month: usd,
            }),
            ..Asks::default()
        };
        let whole = unlimited(&[free(3.0, 10.0), free(4.0, 5.5)]).expect("both known");
        assert_eq!(whole.hours["main"], [7.0; 24]);
        assert_eq!(whole.usd_per_month, 15.5);
        assert_eq!(unlimited(&[free(3.0, 10.0), Asks::default()]), None);
    }

    /// The SLO that gives way is the one whose least usage covers the excess alone,
    /// wherever it sits: its group keeps nothing for it, every other group keeps what
    /// its components need, and the rest follows what each optimum would hold.
    #[test]
    fn the_fleet_chooses_whose_slo_gives_way_and_each_group_keeps_the_rest() {
        // 8 may be reserved. Group 0: two components needing 3 each (its optimum 8);
        // group 1: one needing 6 (its optimum 6) and a left-out component holding 1.
        let asks = [
            Asks {
                plan: all_day("main", 8.0),
                fixed: AccountHours::new(),
                least: vec![
                    ("a".into(), "main".into(), [3.0; 24]),
                    ("b".into(), "main".into(), [3.0; 24]),
                ],
                free: None,
            },
            Asks {
                plan: all_day("main", 7.0),
                fixed: all_day("main", 1.0),
                least: vec![("c".into(), "main".into(), [6.0; 24])],
                free: None,
            },
        ];
        // Least usages add up to 13, 5 over: the component needing 6 frees most.
        let out = shares(&asks, |_| 8.0);
        assert_eq!(out.give_way.iter().collect::<Vec<_>>(), ["c"]);
        let s = &out.of_group;
        // Group 0 keeps 6 and wants 2 more; group 1 keeps 1 and wants 6: the 1 left
        // goes to the larger remainder.
        assert_eq!((s[0]["main"][5], s[1]["main"][5]), (6.0, 2.0));
        let total: f64 = s.iter().map(|g| g["main"][12]).sum();
        assert_eq!(total, 8.0);
        let held = held_beside(&s[1], |_| 8.0);
        assert_eq!(held["main"][0], 6.0);
        let left = left_of(&s[0], &all_day("main", 5.0));
        assert_eq!(left["main"][0], 1.0);
    }
}
