//! Closes the gap the budget multiplier leaves on one base: a label-setting search over
//! (cost, risk) pairs along the slot chain, pruned by the Lagrangian completion bound at
//! the multiplier the dual search ended on and by the smallest completion risk. With a
//! good multiplier and incumbent, almost every label is pruned, so this is exact at the
//! price of a few sweeps; when it is not (labels beyond a cap), the caller falls back to
//! a MILP.

use crate::compact::{CompactBase, RISK_TOL};

/// Best completion value after slot `s` given level `l` at `s`, for weights `(wc, wr)`
/// over the chain (wrap ignored: a valid bound).
fn completion(cb: &CompactBase, adj: &[f64], (wc, wr): (f64, f64)) -> Vec<f64> {
    let (ns, nl) = (cb.slots, cb.levels);
    let mut w = vec![0.0; ns * nl];
    let mut a = vec![0.0; nl];
    let mut suf = vec![0.0; nl + 1];
    for s in (0..ns.saturating_sub(1)).rev() {
        let next = (s + 1) * nl;
        let pot = &cb.pot[next..next + nl];
        for (l, al) in a.iter_mut().enumerate() {
            let c = next + l;
            *al = if cb.cost[c].is_finite() {
                wc * adj[c] + wr * cb.risk[c] + w[c]
            } else {
                f64::INFINITY
            };
        }
        suf[nl] = f64::INFINITY;
        for l in (0..nl).rev() {
            suf[l] = suf[l + 1].min(a[l]);
        }
        // Next level below the current one raises the potential: pay the difference.
        let mut pre = f64::INFINITY;
        for l in 0..nl {
            let down = pre - wr * pot[l];
            w[s * nl + l] = suf[l].min(down);
            pre = pre.min(a[l] + wr * pot[l]);
        }
    }
    w
}

#[derive(Clone, Copy)]
struct Label {
    cost: f64,
    risk: f64,
    level: u32,
    start: u32,
    prev: u32,
}

/// The exact optimum of one base under the priced costs `adj`/`fixed`, if it is cheaper
/// than `incumbent` (by more than a relative 1e-9); `Ok(None)` proves it is not.
///
/// # Errors
/// `Err(())` when more than `max_labels` labels survive pruning.
pub(crate) fn exact_base(
    cb: &CompactBase,
    fixed: f64,
    adj: &[f64],
    nu: f64,
    incumbent: f64,
    max_labels: usize,
) -> Result<Option<(f64, Vec<usize>)>, ()> {
    let (ns, nl) = (cb.slots, cb.levels);
    let budget = cb.budget.unwrap_or(f64::INFINITY);
    let eps = 1e-9 * (1.0 + incumbent.abs().min(1e12));
    let mut best = incumbent - eps;
    if ns == 0 {
        return Ok((fixed < best).then(|| (fixed, Vec::new())));
    }
    let nu = if budget.is_finite() { nu } else { 0.0 };
    let w = completion(cb, adj, (1.0, nu));
    let rm = completion(cb, adj, (0.0, 1.0));
    let starts = if cb.wraps { nl } else { 1 };
    let bound = |s: usize, l: usize, cost: f64, risk: f64, best: f64| {
        let c = s * nl + l;
        risk + rm[c] > budget + RISK_TOL
            || fixed + cost + nu * (risk - budget) + w[c] >= best
            || fixed + cost >= best
    };
    let mut arena: Vec<Label> = Vec::new();
    // Per node (start, level): labels sorted by risk, cost strictly decreasing.
    let mut fronts: Vec<Vec<u32>> = vec![Vec::new(); starts * nl];
    for l in 0..nl {
        if cb.cost[l].is_finite() && !bound(0, l, adj[l], cb.risk[l], best) {
            let start = if cb.wraps { l as u32 } else { 0 };
            fronts[start as usize * nl + l].push(arena.len() as u32);
            arena.push(Label {
                cost: adj[l],
                risk: cb.risk[l],
                level: l as u32,
                start,
                prev: u32::MAX,
            });
        }
    }
    for s in 1..ns {
        let layer: Vec<u32> = fronts.iter_mut().flat_map(std::mem::take).collect();
        for &li in &layer {
            let from = arena[li as usize];
            for l in 0..nl {
                let c = s * nl + l;
                if !cb.cost[c].is_finite() {
                    continue;
                }
                let cost = from.cost + adj[c];
                let risk = from.risk
                    + cb.risk[c]
                    + (cb.pot[c] - cb.pot[s * nl + from.level as usize]).max(0.0);
                if bound(s, l, cost, risk, best) {
                    continue;
                }
                let front = &mut fronts[from.start as usize * nl + l];
                let pos = front.partition_point(|&k| arena[k as usize].risk <= risk);
                if pos > 0 && arena[front[pos - 1] as usize].cost <= cost {
                    continue;
                }
                let end = pos
                    + front[pos..]
                        .iter()
                        .take_while(|&&k| arena[k as usize].cost >= cost)
                        .count();
                front.splice(pos..end, [arena.len() as u32]);
                arena.push(Label {
                    cost,
                    risk,
                    level: l as u32,
                    start: from.start,
                    prev: li,
                });
                if arena.len() > max_labels {
                    return Err(());
                }
            }
        }
        if s == ns - 1 {
            break;
        }
    }
    let mut found: Option<u32> = None;
    for front in &fronts {
        for &k in front {
            let lab = arena[k as usize];
            let wrap = if cb.wraps {
                (cb.pot[lab.start as usize] - cb.pot[lab.level as usize]).max(0.0)
            } else {
                0.0
            };
            if lab.risk + wrap <= budget + RISK_TOL && fixed + lab.cost < best {
                best = fixed + lab.cost;
                found = Some(k);
            }
        }
    }
    Ok(found.map(|mut k| {
        let mut path = vec![0; ns];
        for s in (0..ns).rev() {
            let lab = arena[k as usize];
            path[s] = lab.level as usize;
            k = lab.prev;
        }
        (best, path)
    }))
}
