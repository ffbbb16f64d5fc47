//! The shared limits as the document reports them: usage, binding hours, prices, and,
//! when a limit could not hold every SLO, the quota request that would.

use std::collections::{BTreeMap, BTreeSet};

use adaptd_engine::spec::AccountSpec;

use super::build::{AccountHours, Built, quota};
use super::elastic::{COLD_START_PENALTY_USD, Relaxation, Unlimited};
use super::explain::hour_ranges;
use super::model::{Recommendation, SharedLimit, Shortfall, Unbound};
use crate::Solution;
use crate::problem::RowId;

/// An over-subscribed limit, in the user's terms.
struct Over {
    kind: &'static str,
    name: String,
    /// Hours of the day (every hour for a database).
    hours: Vec<usize>,
    raise_by: f64,
    request_limit: f64,
    /// Prepared indices of the components whose SLO gave way to it.
    relaxed: Vec<usize>,
}

/// [`SharedLimit::kind`] of an account's concurrency.
pub const ACCOUNT_CONCURRENCY: &str = "account_concurrency";
/// [`SharedLimit::kind`] of a database's connections.
pub const DATABASE_CONNECTIONS: &str = "database_connections";

/// The limits that `r` found over-subscribed, one entry per account or database.
fn over(built: &Built<'_>, r: &Relaxation, accounts: &[AccountSpec]) -> Vec<Over> {
    let mut out = Vec::new();
    for (account, rows) in &built.account_rows {
        let hours: Vec<usize> = (0..24)
            .filter(|&h| r.shortfall.contains_key(&rows[h]))
            .collect();
        if hours.is_empty() {
            continue;
        }
        let raise_by = hours
            .iter()
            .map(|&h| r.shortfall[&rows[h]].ceil())
            .fold(0.0, f64::max);
        let relaxed = r
            .relaxed
            .iter()
            .copied()
            .filter(|&p| &built.prepared[p].spec.account == account)
            .collect();
        out.push(Over {
            kind: ACCOUNT_CONCURRENCY,
            name: account.clone(),
            hours,
            raise_by,
            request_limit: quota(accounts, account) + raise_by,
            relaxed,
        });
    }
    for (db, (row, _)) in &built.db_rows {
        let Some(&e) = r.shortfall.get(row) else {
            continue;
        };
        let relaxed = r
            .relaxed
            .iter()
            .copied()
            .filter(|&p| built.prepared[p].spec.databases.contains(db))
            .collect();
        out.push(Over {
            kind: DATABASE_CONNECTIONS,
            name: db.clone(),
            hours: (0..24).collect(),
            raise_by: e.ceil(),
            request_limit: built.problem.rows[row.0].capacity + e.ceil(),
            relaxed,
        });
    }
    out
}

/// Gives every component whose SLO gave way its reason, which makes it
/// `slo_infeasible` and leads its explanation.
pub fn mark_relaxed(built: &mut Built<'_>, r: &Relaxation, accounts: &[AccountSpec]) {
    for o in over(built, r, accounts) {
        let text = gives_way(o.kind, &o.name, &o.hours, o.request_limit, o.raise_by);
        for p in o.relaxed {
            built.prepared[p].infeasible = Some(text.clone());
        }
    }
}

/// Why a component's SLO gave way to the limit `kind` `name` (as
/// [`SharedLimit::kind`] has it), over `hours`, which `request_limit` (`raise_by`
/// more) restores.
pub fn gives_way(
    kind: &str,
    name: &str,
    hours: &[usize],
    request_limit: f64,
    raise_by: f64,
) -> String {
    if kind == ACCOUNT_CONCURRENCY {
        format!(
            "account {name} concurrency binds in {}: the limit cannot hold every component's SLO, and this one's gives way (a concurrency quota of {request_limit:.0}, {raise_by:.0} more, restores it)",
            hour_ranges(hours),
        )
    } else {
        format!(
            "database {name} connections bind: they cannot hold every component's SLO, and this one's gives way ({raise_by:.0} more usable connections restore it)"
        )
    }
}

/// Per account, each hour's raise (whole executions) that the relaxed SLOs need; only
/// accounts with one.
pub fn account_shortfalls(built: &Built<'_>, r: &Relaxation) -> AccountHours {
    built
        .account_rows
        .iter()
        .filter_map(|(account, rows)| {
            let hours: [f64; 24] =
                std::array::from_fn(|h| r.shortfall.get(&rows[h]).map_or(0.0, |e| e.ceil()));
            hours
                .iter()
                .any(|&e| e > 0.0)
                .then(|| (account.clone(), hours))
        })
        .collect()
}

/// The penalty that relaxed components' cold starts add to the solver's objective,
/// which is not money anyone pays.
pub fn penalty_usd(built: &Built<'_>, solution: &Solution, r: Option<&Relaxation>) -> f64 {
    let Some(r) = r else { return 0.0 };
    r.relaxed
        .iter()
        .filter_map(|&p| built.prepared[p].item)
        .map(|i| {
            let c = &solution.choices[i];
            let base = &built.problem.items[i].bases[c.base];
            base.slots
                .iter()
                .zip(&c.levels)
                .filter_map(|(s, &l)| s.alternatives[l].as_ref())
                .map(|a| COLD_START_PENALTY_USD * a.risk)
                .sum::<f64>()
        })
        .sum()
}

/// The quota at which an account's limit (`quota`) would not bind, for a plan without
/// it that goes `excess` over the limit in its worst hour and changes the bill by
/// `change_usd_per_month`; `None` where it does not go over.
pub fn unbound(excess: f64, quota: f64, change_usd_per_month: f64) -> Option<Unbound> {
    (excess > 1e-6).then(|| Unbound {
        raise_by: excess.ceil(),
        request_limit: quota + excess.ceil(),
        change_usd_per_month,
    })
}

/// The warning a shared limit calls for, if any: the SLOs that gave way to it with the
/// quota that would restore them, or, where every SLO held but an account's limit
/// still binds, the quota at which it would not and what the plan would save there.
/// The second is advice rather than trouble, but a limit that makes the plan dearer is
/// what an owner acts on (a quota request is free), and warnings are what every output
/// and the weekly report carry.
pub fn limit_warning(l: &SharedLimit) -> Option<String> {
    if let Some(s) = &l.shortfall {
        return Some(shortfall_warning(&l.kind, &l.name, s, l.unbound.as_ref()));
    }
    let u = l.unbound.as_ref()?;
    if l.kind != ACCOUNT_CONCURRENCY || u.change_usd_per_month >= -0.005 {
        return None;
    }
    let when = if l.binding_hours.is_empty() {
        String::new()
    } else {
        format!(" in {}", hour_ranges(&l.binding_hours))
    };
    Some(format!(
        "account {} concurrency binds{when} (every SLO holds): at {:.0} ({:.0} more) the limit would not bind and the plan would {}",
        l.name,
        u.request_limit,
        u.raise_by,
        u.change_in_words()
    ))
}

/// The warning, for every output format, that the limit `kind` `name` (as
/// [`SharedLimit::kind`] has it) falls short by `s`; with the quota at which it would
/// not bind at all, when known (`unbound`).
pub fn shortfall_warning(
    kind: &str,
    name: &str,
    s: &Shortfall,
    unbound: Option<&Unbound>,
) -> String {
    let (what, unit) = if kind == ACCOUNT_CONCURRENCY {
        (
            format!(
                "account {name} concurrency cannot hold every SLO in {}",
                hour_ranges(&s.hours)
            ),
            "a concurrency quota",
        )
    } else {
        (
            format!("database {name} connections cannot hold every SLO"),
            "usable connections",
        )
    };
    let cost = s
        .restore_usd_per_month
        .map_or(String::new(), |c| format!(" at {c:+.2} USD/month"));
    let free = unbound.map_or(String::new(), |u| {
        format!(
            "; at {:.0} the limit would not bind and the plan would {}",
            u.request_limit,
            u.change_in_words()
        )
    });
    format!(
        "{what}: the SLO of {} component(s) gives way (status slo_infeasible); {unit} of {:.0} ({:.0} more) would restore them{cost}{free}",
        s.components.len(),
        s.request_limit,
        s.raise_by
    )
}

/// Usage, binding hours and prices of every shared limit, with the quota request when
/// the limit could not hold every SLO, and, where an account's limit binds, the quota
/// at which it would not (from `unlimited`, the plan solved without it).
pub fn shared_limits(
    built: &Built<'_>,
    solution: &Solution,
    components: &[Recommendation],
    relaxation: Option<&Relaxation>,
    unlimited: Option<&Unlimited>,
    accounts: &[AccountSpec],
    plan_usd_per_month: f64,
) -> Vec<SharedLimit> {
    let account_of: BTreeMap<&str, &str> = built
        .prepared
        .iter()
        .map(|p| (p.spec.name.as_str(), p.spec.account.as_str()))
        .collect();
    let mut usage: BTreeMap<&str, [f64; 24]> = BTreeMap::new();
    for r in components {
        let (Some(account), Some(deployment)) = (
            account_of.get(r.component.as_str()),
            r.recommended.as_ref().map(|p| &p.deployment),
        ) else {
            continue;
        };
        let u = usage.entry(account).or_insert([0.0; 24]);
        for (h, x) in u.iter_mut().enumerate() {
            *x += f64::from(deployment.account_concurrency_at(h));
        }
    }
    let over: BTreeMap<(&str, String), Over> = relaxation
        .map(|r| over(built, r, accounts))
        .unwrap_or_default()
        .into_iter()
        .map(|o| ((o.kind, o.name.clone()), o))
        .collect();
    let shortfall = |kind: &'static str, name: &str| {
        let o = over.get(&(kind, name.to_owned()))?;
        let names: BTreeSet<String> = o
            .relaxed
            .iter()
            .map(|&p| built.prepared[p].spec.name.clone())
            .collect();
        Some(Shortfall {
            raise_by: o.raise_by,
            request_limit: o.request_limit,
            hours: o.hours.clone(),
            components: names.into_iter().collect(),
            restore_usd_per_month: relaxation
                .and_then(|r| r.restored_usd_per_month)
                .map(|c| c - plan_usd_per_month),
        })
    };
    let price = |r: RowId| solution.row_prices[r.0];
    let mut out = Vec::new();
    for (account, rows) in &built.account_rows {
        let u = usage.get(account.as_str()).copied().unwrap_or([0.0; 24]);
        let binding: Vec<usize> = (0..24).filter(|&h| price(rows[h]) > 1e-9).collect();
        out.push(SharedLimit {
            kind: ACCOUNT_CONCURRENCY.into(),
            name: account.clone(),
            capacity: built.problem.rows[rows[0].0].capacity,
            peak_usage: u.iter().copied().fold(0.0, f64::max),
            shadow_price_usd: binding.iter().map(|&h| price(rows[h])).fold(0.0, f64::max),
            binding_hours: binding,
            shortfall: shortfall(ACCOUNT_CONCURRENCY, account),
            unbound: unlimited.and_then(|u| {
                let hours = u.hours.get(account)?;
                let over = (0..24).map(|h| hours[h] - built.problem.rows[rows[h].0].capacity);
                let change = u.usd_per_month - plan_usd_per_month;
                unbound(
                    over.fold(f64::MIN, f64::max),
                    quota(accounts, account),
                    change,
                )
            }),
        });
    }
    for (db, (row, sw)) in &built.db_rows {
        let peak: f64 = built
            .prepared
            .iter()
            .filter(|p| p.spec.databases.contains(db))
            .filter_map(|p| Some((p.item?, p)))
            .map(|(item, p)| {
                p.candidates[p.base_candidates[solution.choices[item].base]].db_connections
            })
            .sum();
        out.push(SharedLimit {
            kind: DATABASE_CONNECTIONS.into(),
            name: db.clone(),
            capacity: built.problem.rows[row.0].capacity,
            peak_usage: peak,
            binding_hours: if price(*row) > 1e-9 || solution.switches[sw.0] {
                (0..24).collect()
            } else {
                Vec::new()
            },
            shadow_price_usd: price(*row),
            shortfall: shortfall(DATABASE_CONNECTIONS, db),
            unbound: None,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::{SharedLimit, Shortfall, Unbound, limit_warning};

    fn account(shortfall: Option<Shortfall>, change_usd_per_month: f64) -> SharedLimit {
        SharedLimit {
            kind: "account_concurrency".to_owned(),
            name: "main".to_owned(),
            capacity: 900.0,
            peak_usage: 900.0,
            binding_hours: vec![8, 9, 10, 14],
            shadow_price_usd: 0.4,
            shortfall,
            unbound: Some(Unbound {
                raise_by: 547.0,
                request_limit: 1547.0,
                change_usd_per_month,
            }),
        }
    }

    #[test]
    fn a_limit_that_only_makes_the_plan_dearer_is_told_with_what_raising_it_saves() {
        let text = limit_warning(&account(None, -249.6)).expect("a warning");
        assert_eq!(
            text,
            "account main concurrency binds in 08–11 h, 14–15 h (every SLO holds): at 1547 (547 more) the limit would not bind and the plan would cost 249.60 USD/month less"
        );
        // Nothing to gain, nothing to say; a database's connections have no quota.
        assert_eq!(limit_warning(&account(None, 0.0)), None);
        let mut db = account(None, -10.0);
        db.kind = "database_connections".to_owned();
        assert_eq!(limit_warning(&db), None);
    }

    #[test]
    fn slos_that_gave_way_are_told_as_the_shortfall() {
        let s = Shortfall {
            raise_by: 40.0,
            request_limit: 1040.0,
            hours: vec![9],
            components: vec!["a".to_owned(), "b".to_owned()],
            restore_usd_per_month: None,
        };
        let text = limit_warning(&account(Some(s), -5.0)).expect("a warning");
        assert!(
            text.starts_with("account main concurrency cannot hold every SLO in 09–10 h: the SLO of 2 component(s) gives way"),
            "{text}"
        );
        assert!(
            text.ends_with(
                "; at 1547 the limit would not bind and the plan would cost 5.00 USD/month less"
            ),
            "{text}"
        );
    }
}
