//! Unit tests of the public API on hand-made problems with known answers.

use std::time::Duration;

use crate::problem::{Alt, Base, Item, Problem, Row, RowId, Slot, Switch, SwitchId};
use crate::synthetic::{FleetSpec, lambda_fleet};
use crate::units::Config;
use crate::{Method, SolveError, SolveOptions, solve, solve_item, solve_with};

fn alt(cost: f64, risk: f64, usage: Vec<(RowId, f64)>) -> Option<Alt> {
    Some(Alt {
        cost,
        risk,
        usage: usage.into(),
    })
}

/// One slot, levels 0 and 1: level 1 costs nothing but uses a unit of row 0, level 0
/// costs `c` and uses nothing.
fn chooser(name: &str, c: f64) -> Item {
    Item {
        name: name.into(),
        bases: vec![Base {
            label: "only".into(),
            cost: 0.0,
            usage: Vec::new(),
            levels: vec![0, 1],
            slots: vec![Slot {
                alternatives: vec![
                    alt(c, 0.0, Vec::new()),
                    alt(0.0, 0.0, vec![(RowId(0), 1.0)]),
                ],
                potential: Vec::new(),
            }],
            cyclic: false,
            risk_budget: None,
        }],
    }
}

fn options(method: Method) -> SolveOptions {
    SolveOptions {
        mip_gap: 0.0,
        time_limit: Duration::from_secs(20),
        method,
    }
}

fn two_choosers(capacity: f64) -> Problem {
    Problem {
        items: vec![chooser("a", 3.0), chooser("b", 5.0)],
        rows: vec![Row {
            name: "shared".into(),
            capacity,
            lifted_by: None,
        }],
        switches: Vec::new(),
    }
}

#[test]
fn binding_row_is_priced_at_the_marginal_saving() {
    // One unit for two items: b (saves 5) gets it, a pays 3; one more unit saves 3.
    let p = two_choosers(1.0);
    let mono = solve(&p, &options(Method::Monolithic)).expect("solves");
    assert_eq!(mono.cost, 3.0);
    assert_eq!(mono.choices[1].levels, vec![1]);
    assert!(
        (mono.row_prices[0] - 3.0).abs() < 1e-6,
        "price {}",
        mono.row_prices[0]
    );
    let priced = Config {
        local_row_max_items: 0,
        group_max_items: 0,
    };
    let dec = solve_with(&p, &options(Method::Decomposed), &priced).expect("solves");
    assert_eq!(dec.cost, 3.0);
    assert!(
        (3.0..=5.0).contains(&dec.row_prices[0]),
        "price {}",
        dec.row_prices[0]
    );
    assert!(dec.stats.priced_rows == 1 && dec.stats.groups == 0);
    // With room for both, the row is slack and free.
    let loose = solve(&two_choosers(5.0), &options(Method::Monolithic)).expect("solves");
    assert_eq!((loose.cost, loose.row_prices[0]), (0.0, 0.0));
}

#[test]
fn switch_lifts_a_row_when_cheaper_than_living_with_it() {
    let mut p = two_choosers(0.0);
    p.rows[0].lifted_by = Some(SwitchId(0));
    p.switches.push(Switch {
        name: "proxy".into(),
        cost: 4.0,
        fixed: None,
    });
    // Without the switch: 3 + 5 = 8; with it: 4.
    for method in [Method::Monolithic, Method::Decomposed] {
        let s = solve(&p, &options(method)).expect("solves");
        assert_eq!(
            (s.cost, s.switches.clone()),
            (4.0, vec![true]),
            "{method:?}"
        );
    }
    p.switches[0].fixed = Some(false);
    let s = solve(&p, &options(Method::Decomposed)).expect("solves");
    assert_eq!((s.cost, s.switches), (8.0, vec![false]));
}

#[test]
fn infeasible_rows_are_named() {
    // Both items must use the row (level 0 not allowed), capacity 1.
    let mut p = two_choosers(1.0);
    for item in &mut p.items {
        item.bases[0].slots[0].alternatives[0] = None;
    }
    for method in [Method::Monolithic, Method::Decomposed] {
        match solve(&p, &options(method)) {
            Err(SolveError::RowsInfeasible { rows }) => {
                assert_eq!(rows, vec!["shared".to_string()]);
            }
            other => panic!("{method:?}: {other:?}"),
        }
    }
}

#[test]
fn infeasible_item_reports_its_smallest_risk() {
    let item = Item {
        name: "hot".into(),
        bases: vec![Base {
            label: "only".into(),
            cost: 1.0,
            usage: Vec::new(),
            levels: vec![0, 1],
            slots: vec![Slot {
                alternatives: vec![alt(0.0, 5.0, Vec::new()), alt(2.0, 3.0, Vec::new())],
                potential: Vec::new(),
            }],
            cyclic: false,
            risk_budget: Some(2.0),
        }],
    };
    let err = solve_item(&item, &SolveOptions::default()).expect_err("infeasible");
    assert_eq!(
        err,
        SolveError::ItemInfeasible {
            item: 0,
            name: "hot".into(),
            min_risk: 3.0,
            budget: 2.0
        }
    );
    let p = Problem {
        items: vec![chooser("ok", 1.0), item],
        rows: two_choosers(1.0).rows,
        switches: Vec::new(),
    };
    for method in [Method::Monolithic, Method::Decomposed] {
        match solve(&p, &options(method)) {
            Err(SolveError::ItemInfeasible {
                item: 1, min_risk, ..
            }) => assert_eq!(min_risk, 3.0),
            other => panic!("{method:?}: {other:?}"),
        }
    }
}

#[test]
fn validation_names_the_offending_element() {
    let base = || chooser("f", 1.0).bases[0].clone();
    let with = |f: &dyn Fn(&mut Base)| {
        let mut b = base();
        f(&mut b);
        Problem {
            items: vec![Item {
                name: "f".into(),
                bases: vec![b],
            }],
            rows: vec![Row {
                name: "r".into(),
                capacity: 1.0,
                lifted_by: None,
            }],
            switches: Vec::new(),
        }
    };
    let msg = |p: &Problem| p.validate().expect_err("invalid").to_string();
    assert_eq!(
        msg(&with(&|b| b.slots[0]
            .alternatives
            .pop()
            .map(drop)
            .unwrap_or(()))),
        "invalid problem: item 0 (\"f\") base 0 (\"only\") slot 0: 1 alternatives for 2 levels"
    );
    assert_eq!(
        msg(&with(&|b| b.slots[0].potential = vec![1.0])),
        "invalid problem: item 0 (\"f\") base 0 (\"only\") slot 0: potential has 1 values for 2 levels"
    );
    assert_eq!(
        msg(&with(&|b| b.slots[0].potential = vec![1.0, 2.0])),
        "invalid problem: item 0 (\"f\") base 0 (\"only\") slot 0: potential must be non-increasing, but level 1 has 2 > 1"
    );
    assert_eq!(
        msg(&with(&|b| b.cost = f64::NAN)),
        "invalid problem: item 0 (\"f\") base 0 (\"only\"): cost must be finite and non-negative, got NaN"
    );
    assert_eq!(
        msg(&with(
            &|b| b.slots[0].alternatives[1] = alt(-1.0, 0.0, Vec::new())
        )),
        "invalid problem: item 0 (\"f\") base 0 (\"only\") slot 0 level 1: cost must be finite and non-negative, got -1"
    );
    assert_eq!(
        msg(&with(&|b| b.usage.push((RowId(3), 1.0)))),
        "invalid problem: item 0 (\"f\") base 0 (\"only\"): row 3 out of range (1 rows)"
    );
    assert_eq!(
        msg(&with(&|b| b.risk_budget = Some(f64::INFINITY))),
        "invalid problem: item 0 (\"f\") base 0 (\"only\"): risk budget must be finite and non-negative, got inf"
    );
    let mut p = with(&|_| {});
    p.rows[0].lifted_by = Some(SwitchId(0));
    assert_eq!(
        msg(&p),
        "invalid problem: row 0 (\"r\"): lifted by switch 0 out of range (0 switches)"
    );
    p.items[0].bases.clear();
    p.rows[0].lifted_by = None;
    assert_eq!(msg(&p), "invalid problem: item 0 (\"f\") has no bases");
    assert!(with(&|_| {}).validate().is_ok());
    // solve validates too.
    assert!(matches!(
        solve(&p, &SolveOptions::default()),
        Err(SolveError::InvalidProblem { .. })
    ));
}

#[test]
fn solve_item_ignores_rows_and_meets_the_budget() {
    let p = lambda_fleet(&FleetSpec {
        account_pressure: None,
        databases: 0,
        ..FleetSpec::new(20, 3)
    });
    for item in &p.items {
        let (choice, cost) = solve_item(item, &SolveOptions::default()).expect("feasible");
        let alone = Problem {
            items: vec![item.clone()],
            rows: p.rows.clone(),
            switches: p.switches.clone(),
        };
        assert_eq!(
            alone.evaluate(&[choice], &[], crate::feasibility_tol(&alone)),
            Some(cost)
        );
    }
}

#[test]
fn methods_agree_on_a_small_fleet_with_binding_rows() {
    let p = lambda_fleet(&FleetSpec {
        databases: 1,
        ..FleetSpec::new(4, 5)
    });
    let opts = |method| SolveOptions {
        mip_gap: 1e-4,
        ..options(method)
    };
    let mono = solve(&p, &opts(Method::Monolithic)).expect("solves");
    let dec = solve(&p, &opts(Method::Decomposed)).expect("solves");
    assert!(mono.lower_bound <= dec.cost * (1.0 + 1e-6));
    assert!(dec.lower_bound <= mono.cost * (1.0 + 1e-6));
    assert!(dec.gap <= 1e-4 + 1e-9 && mono.gap <= 1e-4 + 1e-9);
    assert_eq!(dec.stats.method, Method::Decomposed);
    assert_eq!(mono.stats.method, Method::Monolithic);
    assert_eq!(dec.risk_prices.len(), p.items.len());
    assert!(
        dec.risk_prices
            .iter()
            .chain(&dec.row_prices)
            .all(|&x| x >= 0.0 && x.is_finite())
    );
}

#[test]
fn decomposition_alone_meets_the_gap_on_a_fleet() {
    let p = lambda_fleet(&FleetSpec::new(80, 9));
    let s = solve(&p, &SolveOptions::default()).expect("solves");
    assert_eq!(s.stats.method, Method::Decomposed);
    assert!(!s.stats.fell_back_to_monolithic, "{:?}", s.stats);
    assert!(s.gap <= 0.005, "gap {}", s.gap);
    assert_eq!(s.stats.priced_rows, 24);
    assert!(s.stats.groups > 0);
    assert_eq!(
        p.evaluate(&s.choices, &s.switches, crate::feasibility_tol(&p)),
        Some(s.cost)
    );
    // No time at all: either an answer with a valid bound, or a clean time-limit error.
    let rushed = SolveOptions {
        time_limit: Duration::ZERO,
        ..SolveOptions::default()
    };
    match solve(&p, &rushed) {
        Ok(r) => assert!(r.lower_bound <= s.cost * (1.0 + 1e-9) && r.cost >= s.lower_bound),
        Err(e) => assert!(matches!(e, SolveError::TimeLimit { .. }), "{e}"),
    }
}

#[test]
fn decomposition_proves_rows_infeasible_without_the_exact_model() {
    // Every base of every function needs one unit of a row with no room at all: far too
    // many binaries for the monolithic fallback, so the bound must prove it.
    let mut p = lambda_fleet(&FleetSpec {
        databases: 0,
        account_pressure: None,
        ..FleetSpec::new(30, 4)
    });
    let row = RowId(p.rows.len());
    p.rows.push(Row {
        name: "no room".into(),
        capacity: 0.0,
        lifted_by: None,
    });
    for item in &mut p.items {
        for base in &mut item.bases {
            base.usage.push((row, 1.0));
        }
    }
    assert!(crate::binaries_exceed(&p, 20_000));
    match solve(&p, &SolveOptions::default()) {
        Err(SolveError::RowsInfeasible { rows }) => assert_eq!(rows, vec!["no room".to_string()]),
        other => panic!("{other:?}"),
    }
}

/// What an assignment uses of each row, and the most any can: base usage plus each
/// slot's chosen (heaviest) alternative, summed over items; a base that uses less
/// does not lower the most.
#[test]
fn usage_and_most_usage_sum_bases_and_slots() {
    let mut p = two_choosers(1.0);
    p.items[1].bases.push(Base {
        label: "reserved".into(),
        cost: 1.0,
        usage: vec![(RowId(0), 2.0)],
        levels: vec![0],
        slots: Vec::new(),
        cyclic: false,
        risk_budget: None,
    });
    let pick = |base, levels: Vec<usize>| crate::problem::Choice { base, levels };
    assert_eq!(p.usage(&[pick(0, vec![1]), pick(0, vec![0])]), vec![1.0]);
    assert_eq!(p.usage(&[pick(0, vec![1]), pick(1, vec![])]), vec![3.0]);
    assert_eq!(p.most_usage(), vec![3.0]);
}
