//! Both methods against brute force on random small problems. Numbers are small
//! multiples of 0.5 so sums are exact in floating point and budget or capacity ties are
//! decided identically by every solver and by the enumerator.

use proptest::prelude::*;

use super::brute::{brute_force, item_feasible};
use crate::problem::{Alt, Base, Item, Problem, Row, RowId, Slot, Switch, SwitchId};
use crate::synthetic::SplitMix64;
use crate::units::Config;
use crate::{Method, SolveError, SolveOptions, solve_with};

fn half(rng: &mut SplitMix64, max: u64) -> f64 {
    rng.below(2 * max + 1) as f64 * 0.5
}

/// A random small problem; `base_rows` puts switch-row usage on bases only (so groups
/// reduce to base selection) instead of anywhere.
fn random_problem(seed: u64, base_rows: bool) -> Problem {
    let mut rng = SplitMix64::new(seed);
    let nrows = rng.below(4) as usize;
    let lifted = nrows > 0 && rng.unit() < 0.6;
    let mut switches = Vec::new();
    if lifted {
        let fixed = match rng.below(4) {
            0 => Some(true),
            1 => Some(false),
            _ => None,
        };
        switches.push(Switch {
            name: "proxy".into(),
            cost: half(&mut rng, 6),
            fixed,
        });
    }
    let nitems = 1 + rng.below(4) as usize;
    let mut items = Vec::with_capacity(nitems);
    for i in 0..nitems {
        let nbases = 1 + rng.below(3) as usize;
        let mut bases = Vec::with_capacity(nbases);
        for b in 0..nbases {
            let ns = 1 + rng.below(4) as usize;
            let nl = 1 + rng.below(4) as usize;
            let mut slots = Vec::with_capacity(ns);
            let mut total_risk = 0.0;
            for _ in 0..ns {
                let mut alternatives = Vec::with_capacity(nl);
                for _ in 0..nl {
                    if rng.unit() < 0.15 {
                        alternatives.push(None);
                        continue;
                    }
                    let mut usage = Vec::new();
                    for r in 0..nrows {
                        let switch_row = lifted && r == 0;
                        if rng.unit() < 0.5 && !(base_rows && switch_row) {
                            usage.push((RowId(r), half(&mut rng, 3)));
                        }
                    }
                    let risk = half(&mut rng, 4);
                    total_risk += risk;
                    alternatives.push(Some(Alt {
                        cost: half(&mut rng, 8),
                        risk,
                        usage: usage.into(),
                    }));
                }
                let potential = if rng.unit() < 0.6 {
                    let mut g: Vec<f64> = (0..nl).map(|_| half(&mut rng, 4)).collect();
                    g.sort_by(|a, b| b.total_cmp(a));
                    g
                } else {
                    Vec::new()
                };
                slots.push(Slot {
                    alternatives,
                    potential,
                });
            }
            let risk_budget =
                (rng.unit() < 0.6).then(|| half(&mut rng, (total_risk * 0.6) as u64 + 1));
            let mut usage = Vec::new();
            for r in 0..nrows {
                if rng.unit() < 0.4 {
                    usage.push((RowId(r), half(&mut rng, 3)));
                }
            }
            bases.push(Base {
                label: format!("b{b}"),
                cost: half(&mut rng, 6),
                usage,
                levels: (0..nl as u32).collect(),
                slots,
                cyclic: rng.unit() < 0.5,
                risk_budget,
            });
        }
        items.push(Item {
            name: format!("item{i}"),
            bases,
        });
    }
    let rows = (0..nrows)
        .map(|r| Row {
            name: format!("row{r}"),
            capacity: half(&mut rng, 3 * nitems as u64 + 2),
            lifted_by: (lifted && r == 0).then_some(SwitchId(0)),
        })
        .collect();
    Problem {
        items,
        rows,
        switches,
    }
}

fn exact(method: Method) -> SolveOptions {
    SolveOptions {
        mip_gap: 0.0,
        time_limit: std::time::Duration::from_secs(20),
        method,
    }
}

/// Checks one method on one problem against brute force.
fn check(p: &Problem, method: Method, config: &Config) -> Result<(), TestCaseError> {
    let truth = brute_force(p);
    let got = solve_with(p, &exact(method), config);
    match (truth, got) {
        (None, Err(SolveError::ItemInfeasible { item, .. })) => {
            prop_assert!(!item_feasible(p, item), "item {item} is feasible alone");
        }
        (None, Err(SolveError::RowsInfeasible { rows })) => {
            prop_assert!(!rows.is_empty());
            prop_assert!((0..p.items.len()).all(|i| item_feasible(p, i)));
        }
        (None, other) => prop_assert!(false, "brute force finds nothing, solver says {other:?}"),
        (Some((opt, ..)), Err(e)) => prop_assert!(false, "optimum {opt} exists, solver says {e}"),
        (Some((opt, ..)), Ok(sol)) => {
            let tol = 1e-6 * opt.abs().max(1.0);
            let eval = p.evaluate(&sol.choices, &sol.switches, crate::feasibility_tol(p));
            prop_assert_eq!(eval, Some(sol.cost));
            prop_assert!(
                (sol.cost - opt).abs() <= tol,
                "cost {} vs optimum {opt}",
                sol.cost
            );
            prop_assert!(
                sol.lower_bound <= opt + tol,
                "bound {} above optimum {opt}",
                sol.lower_bound
            );
            prop_assert!(sol.gap <= 1e-6, "gap {}", sol.gap);
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn monolithic_matches_brute_force(seed in any::<u64>(), base_rows in any::<bool>()) {
        check(&random_problem(seed, base_rows), Method::Monolithic, &Config::default())?;
    }

    #[test]
    fn decomposed_matches_brute_force(seed in any::<u64>(), base_rows in any::<bool>()) {
        check(&random_problem(seed, base_rows), Method::Decomposed, &Config::default())?;
    }

    /// Every row without a switch priced: exercises the Lagrangian loop, the restricted
    /// master and the refinement on instances small enough to enumerate.
    #[test]
    fn decomposed_with_priced_rows_matches_brute_force(seed in any::<u64>(), base_rows in any::<bool>()) {
        let config = Config { local_row_max_items: 0, group_max_items: 0 };
        check(&random_problem(seed, base_rows), Method::Decomposed, &config)?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 192, ..ProptestConfig::default() })]

    /// One base alone, rows ignored: whether each slot's cheapest level already fits the
    /// budget (no search) or the search runs, the cost is the enumerated optimum and the
    /// levels returned cost it and fit.
    #[test]
    fn cheapest_in_base_matches_brute_force(seed in any::<u64>()) {
        let p = random_problem(seed, false);
        for item in &p.items {
            for base in &item.bases {
                let mut alone = base.clone();
                alone.usage.clear();
                for alt in alone.slots.iter_mut().flat_map(|s| s.alternatives.iter_mut()).flatten() {
                    alt.usage.clear();
                }
                let single = Problem {
                    items: vec![Item { name: "alone".into(), bases: vec![alone.clone()] }],
                    rows: Vec::new(),
                    switches: Vec::new(),
                };
                let want = brute_force(&single).map(|(cost, _, _)| cost);
                let got = crate::cheapest_in_base(&alone);
                prop_assert_eq!(want.is_some(), got.is_some(), "base {:?}", alone.label);
                if let (Some(want), Some((levels, cost))) = (want, got) {
                    prop_assert!((want - cost).abs() < 1e-9, "cost {} against {}", cost, want);
                    let choice = crate::problem::Choice { base: 0, levels };
                    let at = single.evaluate(&[choice], &[], 1e-9);
                    prop_assert!(at.is_some_and(|c| (c - cost).abs() < 1e-9), "levels cost {:?}", at);
                }
            }
        }
    }
}
