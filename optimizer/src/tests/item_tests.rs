//! The per-item solver against brute force on random bases: the sweep, the exact cyclic
//! sweep, the dual search's bounds, the label search and the slot rotation.

use super::*;
use crate::compact::CompactBase;
use crate::problem::{Alt, Base, Slot};
use crate::synthetic::SplitMix64;

fn random_base(rng: &mut SplitMix64, budget: bool) -> Base {
    let ns = 1 + rng.below(5) as usize;
    let nl = 1 + rng.below(4) as usize;
    let slots = (0..ns)
        .map(|_| {
            let alternatives = (0..nl)
                .map(|_| {
                    (rng.unit() > 0.15).then(|| Alt {
                        cost: rng.below(9) as f64,
                        risk: rng.below(6) as f64 * 0.5,
                        usage: Vec::new().into(),
                    })
                })
                .collect();
            let mut potential: Vec<f64> = if rng.unit() < 0.8 {
                (0..nl).map(|_| rng.below(7) as f64).collect()
            } else {
                Vec::new()
            };
            potential.sort_by(|a, b| b.total_cmp(a));
            Slot {
                alternatives,
                potential,
            }
        })
        .collect();
    Base {
        label: "b".into(),
        cost: rng.below(4) as f64,
        usage: Vec::new(),
        levels: (0..nl as u32).collect(),
        slots,
        cyclic: rng.unit() < 0.6,
        risk_budget: budget.then(|| rng.below(12) as f64 * 0.5),
    }
}

/// Every path of the compact layout with its cost, chain risk and wrap.
fn all_paths(cb: &CompactBase) -> Vec<(Vec<usize>, f64, f64, f64)> {
    let (ns, nl) = (cb.slots, cb.levels);
    let mut out = Vec::new();
    for mut code in 0..nl.pow(ns as u32) {
        let path: Vec<usize> = (0..ns)
            .map(|_| {
                let l = code % nl;
                code /= nl;
                l
            })
            .collect();
        if path
            .iter()
            .enumerate()
            .any(|(s, &l)| !cb.cost[s * nl + l].is_finite())
        {
            continue;
        }
        let (r, w) = cb.path_risk(&path);
        out.push((
            path.clone(),
            cb.path_cost(cb.fixed_cost, &cb.cost, &path),
            r,
            w,
        ));
    }
    out
}

fn min_of(it: impl Iterator<Item = f64>) -> f64 {
    it.fold(f64::INFINITY, f64::min)
}

#[test]
fn sweep_matches_brute_force_on_chain_and_cycle() {
    let mut rng = SplitMix64::new(7);
    for _ in 0..300 {
        let base = random_base(&mut rng, true);
        let cb = CompactBase::new(&base);
        let paths = all_paths(&cb);
        let mut sc = Scratch::default();
        let mut path = Vec::new();
        for nu in [0.0, 0.5, 2.0] {
            let chain = sweep(&cb, &cb.cost, (1.0, nu), None, &mut sc, &mut path);
            let want = min_of(paths.iter().map(|p| p.1 - cb.fixed_cost + nu * p.2));
            assert!(
                (chain - want).abs() < 1e-9 || chain == want,
                "chain {chain} vs {want}"
            );
            let cyc = sweep_mode(&cb, &cb.cost, (1.0, nu), true, &mut sc, &mut path);
            let want = min_of(paths.iter().map(|p| p.1 - cb.fixed_cost + nu * (p.2 + p.3)));
            assert!(
                (cyc - want).abs() < 1e-9 || cyc == want,
                "cycle {cyc} vs {want}"
            );
            if cyc.is_finite() {
                let (r, w) = cb.path_risk(&path);
                let got = cb.path_cost(0.0, &cb.cost, &path) + nu * (r + w);
                assert!(
                    (got - cyc).abs() < 1e-9,
                    "returned path does not have the value"
                );
            }
        }
    }
}

#[test]
fn compact_layout_preserves_risk_and_transitions_including_the_wrap() {
    let mut rng = SplitMix64::new(11);
    for _ in 0..300 {
        let base = random_base(&mut rng, true);
        let cb = CompactBase::new(&base);
        for (path, cost, r, w) in all_paths(&cb) {
            let levels = cb.levels_of(&path);
            assert_eq!(cb.path_of(&levels), path);
            let mut risk = 0.0;
            let mut want_cost = base.cost;
            for (s, slot) in base.slots.iter().enumerate() {
                let alt = slot.alternatives[levels[s]].as_ref().expect("allowed");
                risk += alt.risk + base.transition_risk(s, &levels);
                want_cost += alt.cost;
            }
            assert!((risk - (r + w)).abs() < 1e-9, "risk {} vs {risk}", r + w);
            assert!((cost - want_cost).abs() < 1e-9);
        }
    }
}

#[test]
fn wrap_transition_counts_when_level_drops_at_midnight() {
    // Two slots, levels 0..2, potential 4, 2, 0 in slot 0: going from level 2 at the
    // last slot to level 0 at slot 0 costs 4 - 0 = 4, the other way round nothing.
    let slot = |g: Vec<f64>| Slot {
        alternatives: vec![
            Some(Alt {
                cost: 0.0,
                risk: 0.0,
                usage: Vec::new().into()
            });
            3
        ],
        potential: g,
    };
    let base = Base {
        label: "b".into(),
        cost: 0.0,
        usage: Vec::new(),
        levels: vec![0, 1, 2],
        slots: vec![slot(vec![4.0, 2.0, 0.0]), slot(Vec::new())],
        cyclic: true,
        risk_budget: Some(10.0),
    };
    assert_eq!(base.transition_risk(0, &[0, 2]), 4.0);
    assert_eq!(base.transition_risk(0, &[2, 0]), 0.0);
    assert_eq!(base.transition_risk(1, &[0, 2]), 0.0);
    let linear = Base {
        cyclic: false,
        ..base.clone()
    };
    assert_eq!(linear.transition_risk(0, &[0, 2]), 0.0);
    let cb = CompactBase::new(&base);
    let path = cb.path_of(&[0, 2]);
    let (r, w) = cb.path_risk(&path);
    assert_eq!(r + w, 4.0);
}

#[test]
fn dual_search_brackets_the_constrained_optimum() {
    let mut rng = SplitMix64::new(13);
    for _ in 0..400 {
        let base = random_base(&mut rng, true);
        let budget = base.risk_budget.unwrap_or(0.0);
        let cb = CompactBase::new(&base);
        let opt = min_of(
            all_paths(&cb)
                .into_iter()
                .filter(|p| p.2 + p.3 <= budget + 1e-9)
                .map(|p| p.1),
        );
        let mut st = BaseState::default();
        let mut sc = Scratch::default();
        let o = solve_base(
            &cb,
            cb.fixed_cost,
            &cb.cost,
            &mut st,
            &mut sc,
            f64::INFINITY,
            None,
        );
        assert!(o.lb <= opt + 1e-9, "bound {} above optimum {opt}", o.lb);
        match &o.ub {
            Some((c, p)) => {
                assert!(*c >= opt - 1e-9);
                let (r, w) = cb.path_risk(p);
                assert!(r + w <= budget + 1e-9, "returned path breaks the budget");
                assert!((cb.path_cost(cb.fixed_cost, &cb.cost, p) - c).abs() < 1e-9);
            }
            None => assert!(opt.is_infinite(), "feasible optimum {opt} but no path"),
        }
        // Closing the gap lands exactly on the optimum.
        let e =
            exact_outcome(&cb, None, &mut st, &mut sc, f64::INFINITY, 1_000_000).expect("labels");
        if opt.is_finite() {
            assert!(
                (e.ub_cost() - opt).abs() < 1e-9,
                "exact {} vs {opt}",
                e.ub_cost()
            );
            assert!((e.lb - opt).abs() < 1e-9);
        } else {
            assert!(e.ub.is_none());
        }
    }
}

#[test]
fn min_risk_is_the_smallest_true_risk() {
    let mut rng = SplitMix64::new(17);
    for _ in 0..300 {
        let base = random_base(&mut rng, true);
        let cb = CompactBase::new(&base);
        let want = min_of(all_paths(&cb).into_iter().map(|p| p.2 + p.3));
        let (got, _) = min_risk(&cb, &mut Scratch::default());
        assert!((got - want).abs() < 1e-9 || got == want, "{got} vs {want}");
    }
}

#[test]
fn multiplier_prices_the_binding_budget() {
    // One slot: levels cost 0, 1, 3 and risk 4, 2, 0; budget 2. The optimum is level 1
    // at cost 1, and every multiplier in [0.5, 1] is dual optimal.
    let base = Base {
        label: "b".into(),
        cost: 0.0,
        usage: Vec::new(),
        levels: vec![0, 1, 2],
        slots: vec![Slot {
            alternatives: [(0.0, 4.0), (1.0, 2.0), (3.0, 0.0)]
                .iter()
                .map(|&(cost, risk)| {
                    Some(Alt {
                        cost,
                        risk,
                        usage: Vec::new().into(),
                    })
                })
                .collect(),
            potential: Vec::new(),
        }],
        cyclic: false,
        risk_budget: Some(2.0),
    };
    let cb = CompactBase::new(&base);
    let o = solve_base(
        &cb,
        0.0,
        &cb.cost,
        &mut BaseState::default(),
        &mut Scratch::default(),
        f64::INFINITY,
        None,
    );
    assert_eq!(
        o.ub.as_ref().map(|u| (u.0, u.1.clone())),
        Some((1.0, vec![1]))
    );
    assert!((o.lb - 1.0).abs() < 1e-12);
    assert!((0.5..=1.0).contains(&o.nu), "multiplier {}", o.nu);
    let slack = Base {
        risk_budget: Some(4.0),
        ..base
    };
    let cb = CompactBase::new(&slack);
    let o = solve_base(
        &cb,
        0.0,
        &cb.cost,
        &mut BaseState::default(),
        &mut Scratch::default(),
        f64::INFINITY,
        None,
    );
    assert_eq!(o.nu, 0.0);
    assert_eq!(o.ub_cost(), 0.0);
}

#[test]
fn warm_started_search_stays_valid_when_prices_move() {
    let mut rng = SplitMix64::new(19);
    for _ in 0..200 {
        let base = random_base(&mut rng, true);
        let budget = base.risk_budget.unwrap_or(0.0);
        let cb = CompactBase::new(&base);
        let mut st = BaseState::default();
        let mut sc = Scratch::default();
        for round in 0..3u8 {
            // Perturb costs as row prices would.
            let adj: Vec<f64> = cb
                .cost
                .iter()
                .map(|&c| c + f64::from(round) * rng.below(3) as f64)
                .collect();
            let paths = all_paths(&cb);
            let opt = min_of(
                paths
                    .iter()
                    .filter(|p| p.2 + p.3 <= budget + 1e-9)
                    .map(|p| cb.path_cost(cb.fixed_cost, &adj, &p.0)),
            );
            let o = solve_base(
                &cb,
                cb.fixed_cost,
                &adj,
                &mut st,
                &mut sc,
                f64::INFINITY,
                None,
            );
            assert!(
                o.lb <= opt + 1e-9,
                "round {round}: bound {} above {opt}",
                o.lb
            );
            assert!(o.ub_cost() >= opt - 1e-9);
        }
    }
}
