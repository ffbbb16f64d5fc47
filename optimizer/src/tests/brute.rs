//! A brute-force enumerator: every base and level combination of every item, every
//! switch setting. Exponential, for tiny problems only; exact by construction (the only
//! pruning is Pareto dominance on cost and row usage, and partial sums that already
//! exceed a row or the best cost).

use crate::problem::{Choice, Problem};

/// One feasible option of one item alone.
#[derive(Clone, Debug)]
struct Opt {
    cost: f64,
    usage: Vec<f64>,
    choice: Choice,
}

fn options(p: &Problem, i: usize, tol: f64) -> Vec<Opt> {
    let item = &p.items[i];
    let mut out = Vec::new();
    for (b, base) in item.bases.iter().enumerate() {
        let ns = base.slots.len();
        let nl = base.levels.len().max(1);
        let total = nl.pow(ns as u32);
        'combo: for mut code in 0..total {
            let mut levels = Vec::with_capacity(ns);
            for _ in 0..ns {
                levels.push(code % nl);
                code /= nl;
            }
            let mut cost = base.cost;
            let mut risk = 0.0;
            let mut usage = vec![0.0; p.rows.len()];
            for &(r, u) in &base.usage {
                usage[r.0] += u;
            }
            for (s, slot) in base.slots.iter().enumerate() {
                let Some(Some(alt)) = slot.alternatives.get(levels[s]) else {
                    continue 'combo;
                };
                cost += alt.cost;
                risk += alt.risk + base.transition_risk(s, &levels);
                for &(r, u) in &alt.usage {
                    usage[r.0] += u;
                }
            }
            if base.risk_budget.is_some_and(|bud| risk > bud + tol) {
                continue;
            }
            out.push(Opt {
                cost,
                usage,
                choice: Choice { base: b, levels },
            });
        }
    }
    // Drop options another option beats on cost and on every row.
    let keep: Vec<bool> = (0..out.len())
        .map(|k| {
            !out.iter().enumerate().any(|(j, o)| {
                j != k
                    && o.cost <= out[k].cost
                    && o.usage.iter().zip(&out[k].usage).all(|(a, b)| a <= b)
                    && (o.cost < out[k].cost
                        || o.usage.iter().zip(&out[k].usage).any(|(a, b)| a < b)
                        || j < k)
            })
        })
        .collect();
    out.into_iter()
        .zip(keep)
        .filter(|x| x.1)
        .map(|x| x.0)
        .collect()
}

/// Whether item `i` has any option that meets its budget, rows aside.
pub fn item_feasible(p: &Problem, i: usize) -> bool {
    !options(p, i, crate::feasibility_tol(p)).is_empty()
}

/// The optimum `(cost, choices, switches)`, or `None` if no assignment is feasible.
pub fn brute_force(p: &Problem) -> Option<(f64, Vec<Choice>, Vec<bool>)> {
    let tol = crate::feasibility_tol(p);
    let opts: Vec<Vec<Opt>> = (0..p.items.len()).map(|i| options(p, i, tol)).collect();
    if opts.iter().any(Vec::is_empty) {
        return None;
    }
    let ns = p.switches.len();
    let mut best: Option<(f64, Vec<Choice>, Vec<bool>)> = None;
    // Best cost so far, over all switch settings: prunes every later search.
    let mut bound = f64::INFINITY;
    for mask in 0..(1u32 << ns) {
        let on: Vec<bool> = (0..ns).map(|s| mask & (1 << s) != 0).collect();
        if p.switches
            .iter()
            .zip(&on)
            .any(|(s, &v)| s.fixed.is_some_and(|f| f != v))
        {
            continue;
        }
        let sw_cost: f64 = p
            .switches
            .iter()
            .zip(&on)
            .filter(|x| *x.1)
            .map(|x| x.0.cost)
            .sum();
        let binding: Vec<bool> = p
            .rows
            .iter()
            .map(|r| !r.lifted_by.is_some_and(|s| on[s.0]))
            .collect();
        let mut pick = vec![0usize; opts.len()];
        let mut usage = vec![0.0; p.rows.len()];
        dfs(
            p,
            &opts,
            &binding,
            tol,
            0,
            sw_cost,
            &mut usage,
            &mut pick,
            &mut |cost, pick| {
                if best.as_ref().is_none_or(|b| cost < b.0) {
                    let choices = pick
                        .iter()
                        .enumerate()
                        .map(|(i, &k)| opts[i][k].choice.clone())
                        .collect();
                    best = Some((cost, choices, on.clone()));
                }
            },
            &mut bound,
        );
    }
    best
}

#[allow(clippy::too_many_arguments)]
fn dfs(
    p: &Problem,
    opts: &[Vec<Opt>],
    binding: &[bool],
    tol: f64,
    i: usize,
    cost: f64,
    usage: &mut Vec<f64>,
    pick: &mut Vec<usize>,
    found: &mut dyn FnMut(f64, &[usize]),
    bound: &mut f64,
) {
    if cost >= *bound {
        return;
    }
    if i == opts.len() {
        *bound = cost;
        found(cost, pick);
        return;
    }
    for (k, o) in opts[i].iter().enumerate() {
        for (u, x) in usage.iter_mut().zip(&o.usage) {
            *u += x;
        }
        // Usage never decreases, so an exceeded row stays exceeded.
        let ok = p
            .rows
            .iter()
            .zip(usage.iter())
            .zip(binding)
            .all(|((r, &u), &b)| !b || u <= r.capacity + tol);
        if ok {
            pick[i] = k;
            dfs(
                p,
                opts,
                binding,
                tol,
                i + 1,
                cost + o.cost,
                usage,
                pick,
                found,
                bound,
            );
        }
        for (u, x) in usage.iter_mut().zip(&o.usage) {
            *u -= x;
        }
    }
}
