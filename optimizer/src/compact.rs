//! A flat copy of one base, laid out so the per-item dynamic programme sweeps contiguous
//! arrays: the problem's own `Option<Alt>` with a heap-allocated usage list per cell
//! would cost a cache miss per cell on every price update.

use crate::problem::{Base, Item};

/// One base, cells indexed `slot * levels + level`.
#[derive(Debug, Clone)]
pub(crate) struct CompactBase {
    pub slots: usize,
    pub levels: usize,
    pub fixed_cost: f64,
    /// `(row, amount)` used by the base itself, whatever the levels.
    pub base_usage: Vec<(u32, f64)>,
    /// Alternative cost; infinite where the level is not allowed.
    pub cost: Vec<f64>,
    /// Risk per cell; empty for bases without a budget (risk never matters there).
    pub risk: Vec<f64>,
    /// Transition potential; zero for slots without one (no transition risk). Empty for
    /// bases without a budget.
    pub pot: Vec<f64>,
    /// Usage of each cell, CSR: `use_row[use_start[c]..use_start[c + 1]]`.
    pub use_start: Vec<u32>,
    pub use_row: Vec<u32>,
    pub use_amt: Vec<f64>,
    /// Whether slot 0 follows the last slot *and* that can carry risk.
    pub wraps: bool,
    /// Original index of this layout's slot 0 (see [`cut`]).
    pub rot: usize,
    pub budget: Option<f64>,
}

/// Absolute slack on risk budgets: the DP calls a path feasible only within this, which
/// is far inside the tolerance `Problem::evaluate` is called with.
pub(crate) const RISK_TOL: f64 = 1e-9;

/// Where to cut a cyclic base into a chain. The per-item solver first drops the
/// transition into the chain's first slot (a relaxation) and only goes exact when a path
/// it relies on drops its level across the cut. Levels are flat and low where risk
/// pressure is low on both sides (the middle of the night), whatever the row prices of
/// busy hours, so the cut goes to the middle of the longest run of lowest pressure.
fn cut(base: &Base) -> usize {
    let pressure: Vec<f64> = base
        .slots
        .iter()
        .map(|s| {
            s.alternatives
                .iter()
                .flatten()
                .next()
                .map_or(0.0, |a| a.risk)
        })
        .collect();
    let n = pressure.len();
    if n < 2 {
        return 0;
    }
    let edge = |s: usize| pressure[s].max(pressure[(s + n - 1) % n]);
    let low = (0..n).map(edge).fold(f64::INFINITY, f64::min);
    let is_low = |s: usize| edge(s) <= low + 1e-12 * low.abs();
    // Longest cyclic run of low edges; cut in its middle.
    let (mut best, mut best_len) = (0, 0);
    for s in (0..n).filter(|&s| is_low(s) && !is_low((s + n - 1) % n)) {
        let len = (0..n).take_while(|&k| is_low((s + k) % n)).count();
        if len > best_len {
            (best, best_len) = (s, len);
        }
    }
    if best_len == 0 {
        // Every edge is low (flat pressure): any cut is as good.
        return 0;
    }
    (best + best_len / 2) % n
}

impl CompactBase {
    pub fn new(base: &Base) -> Self {
        let slots = base.slots.len();
        let levels = if slots == 0 { 0 } else { base.levels.len() };
        let cells = slots * levels;
        let budgeted = base.risk_budget.is_some();
        let rot = if base.cyclic && budgeted {
            cut(base)
        } else {
            0
        };
        let mut cost = Vec::with_capacity(cells);
        let mut risk = Vec::with_capacity(if budgeted { cells } else { 0 });
        let mut pot = Vec::with_capacity(if budgeted { cells } else { 0 });
        let mut use_start = Vec::with_capacity(cells + 1);
        let mut use_row = Vec::with_capacity(cells);
        let mut use_amt = Vec::with_capacity(cells);
        use_start.push(0);
        for k in 0..slots {
            let slot = &base.slots[(k + rot) % slots];
            for l in 0..levels {
                match slot.alternatives.get(l).and_then(Option::as_ref) {
                    Some(alt) => {
                        cost.push(alt.cost);
                        if budgeted {
                            risk.push(alt.risk);
                        }
                        for &(r, u) in &alt.usage {
                            use_row.push(r.0 as u32);
                            use_amt.push(u);
                        }
                    }
                    None => {
                        cost.push(f64::INFINITY);
                        if budgeted {
                            risk.push(0.0);
                        }
                    }
                }
                if budgeted {
                    pot.push(slot.potential.get(l).copied().unwrap_or(0.0));
                }
                use_start.push(use_row.len() as u32);
            }
        }
        let wraps = base.cyclic
            && slots > 1
            && budgeted
            && base.slots[rot].potential.windows(2).any(|w| w[0] > w[1]);
        Self {
            slots,
            levels,
            rot,
            fixed_cost: base.cost,
            base_usage: base.usage.iter().map(|&(r, u)| (r.0 as u32, u)).collect(),
            cost,
            risk,
            pot,
            use_start,
            use_row,
            use_amt,
            wraps,
            budget: base.risk_budget,
        }
    }

    /// Levels per original slot, from a path in this layout's slot order.
    pub fn levels_of(&self, path: &[usize]) -> Vec<usize> {
        let mut out = vec![0; path.len()];
        for (k, &l) in path.iter().enumerate() {
            out[(k + self.rot) % path.len()] = l;
        }
        out
    }

    /// A path in this layout's slot order, from levels per original slot.
    pub fn path_of(&self, levels: &[usize]) -> Vec<usize> {
        (0..levels.len())
            .map(|k| levels[(k + self.rot) % levels.len()])
            .collect()
    }

    pub fn of_item(item: &Item) -> Vec<Self> {
        item.bases.iter().map(Self::new).collect()
    }

    /// Fills `adj` with each cell's cost plus its priced usage and returns the base's
    /// fixed cost plus its priced usage: the costs the item faces under row prices `mu`.
    pub fn adjust(&self, mu: Option<&[f64]>, adj: &mut Vec<f64>) -> f64 {
        adj.clear();
        let Some(mu) = mu else {
            adj.extend_from_slice(&self.cost);
            return self.fixed_cost;
        };
        adj.extend(self.cost.iter().enumerate().map(|(c, &cost)| {
            let (a, b) = (self.use_start[c] as usize, self.use_start[c + 1] as usize);
            let mut v = cost;
            for k in a..b {
                v += mu[self.use_row[k] as usize] * self.use_amt[k];
            }
            v
        }));
        self.fixed_cost
            + self
                .base_usage
                .iter()
                .map(|&(r, u)| mu[r as usize] * u)
                .sum::<f64>()
    }

    /// Sum of `adj` along a path plus `fixed`.
    pub fn path_cost(&self, fixed: f64, adj: &[f64], path: &[usize]) -> f64 {
        fixed
            + path
                .iter()
                .enumerate()
                .map(|(s, &l)| adj[s * self.levels + l])
                .sum::<f64>()
    }

    /// Slot risk plus transitions along the chain, and the wrap transition into slot 0
    /// (zero unless the base wraps).
    pub fn path_risk(&self, path: &[usize]) -> (f64, f64) {
        if self.risk.is_empty() {
            return (0.0, 0.0);
        }
        let n = self.levels;
        let mut risk = 0.0;
        for (s, &l) in path.iter().enumerate() {
            risk += self.risk[s * n + l];
            if s > 0 {
                risk += (self.pot[s * n + l] - self.pot[s * n + path[s - 1]]).max(0.0);
            }
        }
        let wrap = match (self.wraps, path.first(), path.last()) {
            (true, Some(&first), Some(&last)) => (self.pot[first] - self.pot[last]).max(0.0),
            _ => 0.0,
        };
        (risk, wrap)
    }

    /// Sparse usage of base and path, merged per row.
    pub fn usage_of(&self, path: &[usize]) -> Vec<(u32, f64)> {
        let mut v: Vec<(u32, f64)> = self.base_usage.clone();
        for (s, &l) in path.iter().enumerate() {
            let c = s * self.levels + l;
            for k in self.use_start[c] as usize..self.use_start[c + 1] as usize {
                v.push((self.use_row[k], self.use_amt[k]));
            }
        }
        v.sort_by_key(|e| e.0);
        v.dedup_by(|b, a| {
            if a.0 == b.0 {
                a.1 += b.1;
                true
            } else {
                false
            }
        });
        v
    }
}
