//! Groups: items tied by local rows (a database's connections, rows a switch lifts),
//! solved together and exactly. When the group's rows are used by bases only, the group
//! reduces to picking a base per item, each base solved by the per-item solver: a tiny
//! selection MILP instead of the full model of every level of every slot.

use super::{Counters, Group, ItemData, MAX_LABELS, UnitResult, column_for, milp_base, milp_error};
use crate::error::SolveError;
use crate::item::{Scratch, exact_outcome, solve_item};
use crate::milp::{self, MilpError, RunConfig, Scope, SelectCol, SelectRow, SelectSwitch};
use crate::problem::{Choice, Problem};

/// Shadow prices of a group's rows under prices `mu` on the others: the duals of the
/// group model's LP relaxation (of the base selection when the group reduces to it).
pub(crate) fn group_row_prices(
    problem: &Problem,
    g: &Group,
    data: &mut [ItemData],
    mu: Option<&[f64]>,
    sc: &mut Scratch,
    counters: &mut Counters,
) -> Result<Vec<(usize, f64)>, SolveError> {
    let cfg = RunConfig {
        rel_gap: 0.0,
        abs_gap: 1e-9,
        time_limit: 60.0,
    };
    counters.highs += 1;
    if !g.by_base {
        let scope = Scope {
            items: &g.items,
            only_base: None,
            rows: &g.rows,
            outside: None,
            switches: &g.switches,
            mu,
            relax: true,
            elastic: false,
        };
        return milp::solve_scope(problem, &scope, &cfg)
            .map(|s| s.row_prices)
            .map_err(|e| milp_error(problem, e, &g.rows));
    }
    let mut units = Vec::with_capacity(g.items.len());
    for &i in &g.items {
        let d = &mut data[i];
        let (o, _) = solve_item(&d.compact, mu, &mut d.states, sc, true);
        units.push(
            o.bases
                .iter()
                .enumerate()
                .map(|(b, &(_, ub))| SelectCol {
                    cost: ub,
                    usage: problem.items[i].bases[b]
                        .usage
                        .iter()
                        .filter_map(|&(r, u)| g.rows.iter().position(|&x| x == r.0).map(|k| (k, u)))
                        .collect(),
                })
                .collect::<Vec<_>>(),
        );
    }
    let (rows, switches) = select_shape(problem, g);
    let sel = milp::select(&units, &rows, &switches, &cfg, None, true)
        .map_err(|e| milp_error(problem, e, &g.rows))?;
    Ok(g.rows.iter().copied().zip(sel.row_prices).collect())
}

fn select_shape(problem: &Problem, g: &Group) -> (Vec<SelectRow>, Vec<SelectSwitch>) {
    let rows = g
        .rows
        .iter()
        .map(|&r| SelectRow {
            capacity: problem.rows[r].capacity,
            lifted_by: problem.rows[r]
                .lifted_by
                .and_then(|s| g.switches.iter().position(|&x| x == s.0)),
        })
        .collect();
    let switches = g
        .switches
        .iter()
        .map(|&s| SelectSwitch {
            cost: problem.switches[s].cost,
            fixed: problem.switches[s].fixed,
        })
        .collect();
    (rows, switches)
}

/// A group under prices. With `refine`, every base is closed exactly first, so the
/// group's bound meets its cost.
#[allow(clippy::too_many_arguments)]
pub(crate) fn solve_group(
    problem: &Problem,
    global: &[bool],
    g: &Group,
    data: &mut [ItemData],
    mu: Option<&[f64]>,
    cfg: &RunConfig,
    refine: bool,
    sc: &mut Scratch,
    counters: &mut Counters,
) -> Result<UnitResult, SolveError> {
    if !g.by_base {
        let cfg = if refine { exact_cfg(cfg) } else { cfg.clone() };
        return solve_group_milp(problem, global, g, data, mu, &cfg, counters);
    }
    let mut costs: Vec<Vec<(f64, f64)>> = Vec::with_capacity(g.items.len());
    let mut paths: Vec<Vec<Option<Vec<usize>>>> = Vec::with_capacity(g.items.len());
    for &i in &g.items {
        let d = &mut data[i];
        let (o, mut p) = solve_item(&d.compact, mu, &mut d.states, sc, true);
        let mut bases = o.bases;
        if refine {
            counters.refined += 1;
            for b in 0..bases.len() {
                let (lb, ub) = bases[b];
                if ub - lb <= 1e-9 * (1.0 + ub.abs()) {
                    continue;
                }
                match exact_outcome(
                    &d.compact[b],
                    mu,
                    &mut d.states[b],
                    sc,
                    f64::INFINITY,
                    MAX_LABELS,
                ) {
                    Ok(o) => {
                        bases[b] = (o.lb, o.ub_cost());
                        p[b] = o.ub.map(|u| u.1);
                    }
                    Err(()) => {
                        counters.highs += 1;
                        let (lb, best) = milp_base(problem, i, b, mu, &exact_cfg(cfg))?;
                        bases[b].0 = bases[b].0.max(lb);
                        if let Some((c, choice)) = best
                            && c < bases[b].1
                        {
                            bases[b].1 = c;
                            p[b] = Some(d.compact[b].path_of(&choice.levels));
                        }
                    }
                }
            }
        }
        costs.push(bases);
        paths.push(p);
    }
    let (rows, switches) = select_shape(problem, g);
    let local_usage = |i: usize, b: usize| -> Vec<(usize, f64)> {
        problem.items[i].bases[b]
            .usage
            .iter()
            .filter_map(|&(r, u)| g.rows.iter().position(|&x| x == r.0).map(|k| (k, u)))
            .collect()
    };
    let units = |pick_lb: bool| -> Vec<Vec<SelectCol>> {
        g.items
            .iter()
            .zip(&costs)
            .map(|(&i, bases)| {
                bases
                    .iter()
                    .enumerate()
                    .map(|(b, &(lb, ub))| SelectCol {
                        cost: if pick_lb { lb } else { ub },
                        usage: local_usage(i, b),
                    })
                    .collect()
            })
            .collect()
    };
    counters.highs += 1;
    let sel = milp::select(&units(false), &rows, &switches, cfg, None, false)
        .map_err(|e| milp_error(problem, e, &g.rows))?;
    let mut choices = Vec::with_capacity(g.items.len());
    for (k, &b) in sel.pick.iter().enumerate() {
        let Some(levels) = paths[k][b].clone() else {
            return Err(SolveError::Solver {
                message: format!(
                    "group selection picked an infeasible base of item {}",
                    g.items[k]
                ),
            });
        };
        let levels = data[g.items[k]].compact[b].levels_of(&levels);
        choices.push(Choice { base: b, levels });
    }
    let on: Vec<(usize, bool)> = g
        .switches
        .iter()
        .copied()
        .zip(sel.switches.iter().copied())
        .collect();
    let refs: Vec<&ItemData> = g.items.iter().map(|&i| &data[i]).collect();
    let col = column_for(&refs, choices, on, problem, global);
    let fixed_on: f64 = switches
        .iter()
        .filter(|s| s.fixed == Some(true))
        .map(|s| s.cost)
        .sum();
    let cheap: f64 = costs
        .iter()
        .map(|b| b.iter().map(|x| x.0).fold(f64::INFINITY, f64::min))
        .sum::<f64>()
        + fixed_on;
    let lb = if sel.objective - cheap <= 1e-9 * (1.0 + sel.objective.abs()) {
        cheap
    } else {
        counters.highs += 1;
        match milp::select(&units(true), &rows, &switches, cfg, None, false) {
            Ok(s) => s.bound.max(cheap),
            Err(MilpError::Infeasible) => f64::INFINITY,
            Err(_) => cheap,
        }
    };
    Ok(UnitResult {
        lb: lb.min(sel.objective),
        ub: sel.objective,
        col,
        bases: Vec::new(),
    })
}

fn exact_cfg(cfg: &RunConfig) -> RunConfig {
    RunConfig {
        rel_gap: 0.0,
        abs_gap: 1e-9,
        time_limit: cfg.time_limit,
    }
}

fn solve_group_milp(
    problem: &Problem,
    global: &[bool],
    g: &Group,
    data: &[ItemData],
    mu: Option<&[f64]>,
    cfg: &RunConfig,
    counters: &mut Counters,
) -> Result<UnitResult, SolveError> {
    let scope = Scope {
        items: &g.items,
        only_base: None,
        rows: &g.rows,
        outside: None,
        switches: &g.switches,
        mu,
        relax: false,
        elastic: false,
    };
    counters.highs += 1;
    let sol =
        milp::solve_scope(problem, &scope, cfg).map_err(|e| milp_error(problem, e, &g.rows))?;
    let refs: Vec<&ItemData> = g.items.iter().map(|&i| &data[i]).collect();
    let col = column_for(&refs, sol.choices, sol.switches, problem, global);
    Ok(UnitResult {
        lb: sol.bound,
        ub: sol.objective,
        col,
        bases: Vec::new(),
    })
}
