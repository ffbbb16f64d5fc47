//! A local search that turns the dual search's primal into a better one. At the
//! optimal multiplier the two bracketing paths are both optimal for the Lagrangian, but
//! when breakpoints are far apart the feasible one can waste a lot of the budget; single
//! slot moves to nearby levels recover most of that at the cost of a few sweeps.

use crate::compact::{CompactBase, RISK_TOL};

/// Cost and risk change of setting slot `s` of `path` to level `l`, transitions and
/// wrap included.
fn move_delta(cb: &CompactBase, adj: &[f64], path: &[usize], s: usize, l: usize) -> (f64, f64) {
    let n = cb.levels;
    let ns = path.len();
    let old = path[s];
    let c_new = s * n + l;
    let c_old = s * n + old;
    let into = |slot: usize, to: usize, from: usize| {
        (cb.pot[slot * n + to] - cb.pot[slot * n + from]).max(0.0)
    };
    let mut dr = cb.risk[c_new] - cb.risk[c_old];
    if s > 0 {
        dr += into(s, l, path[s - 1]) - into(s, old, path[s - 1]);
    } else if cb.wraps {
        dr += into(0, l, path[ns - 1]) - into(0, old, path[ns - 1]);
    }
    if s + 1 < ns {
        dr += into(s + 1, path[s + 1], l) - into(s + 1, path[s + 1], old);
    } else if cb.wraps && ns > 1 {
        dr += into(0, path[0], l) - into(0, path[0], old);
    }
    (adj[c_new] - adj[c_old], dr)
}

/// Greedy single-slot moves: first cut risk at the least cost per unit until the budget
/// holds, then spend the remaining slack where it saves the most per unit of risk.
pub(crate) fn improve(
    cb: &CompactBase,
    fixed: f64,
    adj: &[f64],
    budget: f64,
    mut path: Vec<usize>,
) -> Option<(f64, Vec<usize>)> {
    let (r, w) = cb.path_risk(&path);
    let mut risk = r + w;
    let n = cb.levels;
    for _ in 0..4 * path.len() {
        let repair = risk > budget + RISK_TOL;
        // Lexicographic score, lower is better: moves that save cost without adding
        // risk come first (by saving), then by cost per unit of risk.
        let mut best: Option<((u8, f64), usize, usize, f64)> = None;
        for s in 0..path.len() {
            // Risk is convex in the level: nearby levels carry the useful moves.
            for l in path[s].saturating_sub(2)..(path[s] + 3).min(n) {
                if l == path[s] || !cb.cost[s * n + l].is_finite() {
                    continue;
                }
                let (dc, dr) = move_delta(cb, adj, &path, s, l);
                let score = if repair {
                    if dr >= 0.0 {
                        continue;
                    }
                    (1, dc / -dr)
                } else if dc >= -1e-12 || risk + dr > budget + RISK_TOL {
                    continue;
                } else if dr <= 0.0 {
                    (0, dc)
                } else {
                    (1, dc / dr)
                };
                if best.is_none_or(|b| score.0 < b.0.0 || (score.0 == b.0.0 && score.1 < b.0.1)) {
                    best = Some((score, s, l, dr));
                }
            }
        }
        let Some((_, s, l, dr)) = best else { break };
        path[s] = l;
        risk += dr;
    }
    let (r, w) = cb.path_risk(&path);
    (r + w <= budget + RISK_TOL).then(|| (cb.path_cost(fixed, adj, &path), path))
}
