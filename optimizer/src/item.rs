//! The per-item solver: for one item under given row prices, the cheapest choice that
//! keeps its base's risk budget, with a lower bound, in pure Rust.
//!
//! For a fixed budget multiplier `nu`, the best levels of a base are a shortest path over
//! the slot chain whose arcs carry `nu * max(0, g_s(l) - g_s(l'))`. Because `g_s` is
//! non-increasing in the level index, the minimum over the previous level splits into a
//! prefix minimum (previous level at most `l`: no penalty) and a suffix minimum of
//! `V(l') - nu * g_s(l')` plus `nu * g_s(l)`, so one sweep is `O(slots * levels)`.
//!
//! The best multiplier is found by Kelley's cutting planes in one dimension: every path
//! is a line `cost + nu * (risk - budget)` above the dual function, and the next `nu` is
//! where the best line of positive slope meets the best line of non-positive slope. When
//! the dual function touches that intersection, the multiplier is optimal. Lines remain
//! valid when prices change, so the previous solve's two lines warm-start the next one.
//!
//! The midnight wrap of cyclic bases is first dropped (a linear chain is a relaxation);
//! only when a path the search relies on actually crosses midnight downwards does the
//! base switch for good to the exact cyclic sweep, one chain per starting level.

use crate::compact::{CompactBase, RISK_TOL};
use crate::improve::improve;

/// Buffers reused across sweeps so the hot loop never allocates.
#[derive(Debug, Default)]
pub(crate) struct Scratch {
    pub adj: Vec<f64>,
    adjs: Vec<(f64, Vec<f64>)>,
    prev: Vec<f64>,
    cur: Vec<f64>,
    back: Vec<u32>,
    pre_v: Vec<f64>,
    pre_i: Vec<u32>,
    suf_v: Vec<f64>,
    suf_i: Vec<u32>,
    alt_path: Vec<usize>,
}

/// What the search keeps about a base between price updates.
#[derive(Debug, Clone, Default)]
pub(crate) struct BaseState {
    lo: Option<Vec<usize>>,
    hi: Option<Vec<usize>>,
    nu: f64,
    /// Smallest achievable risk (true, with the wrap) and a path reaching it.
    min_risk: Option<(f64, Vec<usize>)>,
    /// Set once the chain relaxation proved too weak for this base.
    exact: bool,
}

/// The outcome for one base under given prices.
#[derive(Debug, Clone)]
pub(crate) struct BaseOutcome {
    /// Lower bound on the base's best priced cost (infinite if the base is infeasible).
    pub lb: f64,
    /// Best feasible path found and its priced cost.
    pub ub: Option<(f64, Vec<usize>)>,
    /// Budget multiplier at the end of the search (USD per unit of risk).
    pub nu: f64,
}

impl BaseOutcome {
    pub fn ub_cost(&self) -> f64 {
        self.ub.as_ref().map_or(f64::INFINITY, |u| u.0)
    }
}

/// Shortest path minimising `sum(wc * adj + wr * risk) + wr * transitions`. With
/// `start = Some(a)`, slot 0 is fixed to level `a` and the wrap into slot 0 is charged.
/// Returns the value (infinite if no allowed path) and writes the path.
fn sweep(
    cb: &CompactBase,
    adj: &[f64],
    (wc, wr): (f64, f64),
    start: Option<usize>,
    sc: &mut Scratch,
    out: &mut Vec<usize>,
) -> f64 {
    out.clear();
    let (ns, nl) = (cb.slots, cb.levels);
    if ns == 0 {
        return 0.0;
    }
    // Bases without a budget carry no risk or potential arrays (read as zeros).
    let risk = |c: usize| cb.risk.get(c).copied().unwrap_or(0.0);
    let cell = |c: usize| {
        if cb.cost[c].is_finite() {
            wc * adj[c] + wr * risk(c)
        } else {
            f64::INFINITY
        }
    };
    if wr == 0.0 && start.is_none() {
        // No risk weight: slots are independent (and bases without a budget carry no
        // risk arrays at all).
        let mut total = 0.0;
        for s in 0..ns {
            let (mut m, mut arg) = (f64::INFINITY, 0);
            for l in 0..nl {
                let c = s * nl + l;
                let v = if cb.cost[c].is_finite() {
                    wc * adj[c]
                } else {
                    f64::INFINITY
                };
                if v < m {
                    m = v;
                    arg = l;
                }
            }
            total += m;
            out.push(arg);
        }
        if !total.is_finite() {
            out.clear();
        }
        return total;
    }
    sc.prev.clear();
    sc.prev.extend((0..nl).map(|l| match start {
        Some(a) if a != l => f64::INFINITY,
        _ => cell(l),
    }));
    sc.cur.resize(nl, 0.0);
    sc.back.resize(ns * nl, 0);
    sc.pre_v.resize(nl, 0.0);
    sc.pre_i.resize(nl, 0);
    sc.suf_v.resize(nl + 1, 0.0);
    sc.suf_i.resize(nl + 1, 0);
    for s in 1..ns {
        let base = s * nl;
        let pot = cb.pot.get(base..base + nl);
        let pot = |l: usize| pot.map_or(0.0, |p| p[l]);
        let (mut m, mut arg) = (f64::INFINITY, 0u32);
        for l in 0..nl {
            if sc.prev[l] < m {
                m = sc.prev[l];
                arg = l as u32;
            }
            sc.pre_v[l] = m;
            sc.pre_i[l] = arg;
        }
        {
            sc.suf_v[nl] = f64::INFINITY;
            sc.suf_i[nl] = 0;
            for l in (0..nl).rev() {
                let v = sc.prev[l] - wr * pot(l);
                if v < sc.suf_v[l + 1] {
                    sc.suf_v[l] = v;
                    sc.suf_i[l] = l as u32;
                } else {
                    sc.suf_v[l] = sc.suf_v[l + 1];
                    sc.suf_i[l] = sc.suf_i[l + 1];
                }
            }
        }
        for l in 0..nl {
            let (mut best, mut arg) = (sc.pre_v[l], sc.pre_i[l]);
            let cand = wr * pot(l) + sc.suf_v[l + 1];
            if cand < best {
                best = cand;
                arg = sc.suf_i[l + 1];
            }
            sc.cur[l] = cell(base + l) + best;
            sc.back[base + l] = arg;
        }
        std::mem::swap(&mut sc.prev, &mut sc.cur);
    }
    let (mut best, mut arg) = (f64::INFINITY, 0usize);
    for l in 0..nl {
        let mut v = sc.prev[l];
        if let Some(a) = start {
            v += wr
                * (cb.pot.get(a).copied().unwrap_or(0.0) - cb.pot.get(l).copied().unwrap_or(0.0))
                    .max(0.0);
        }
        if v < best {
            best = v;
            arg = l;
        }
    }
    if !best.is_finite() {
        return f64::INFINITY;
    }
    out.resize(ns, 0);
    out[ns - 1] = arg;
    for s in (1..ns).rev() {
        out[s - 1] = sc.back[s * nl + out[s]] as usize;
    }
    best
}

/// [`sweep`] over the chain, or exactly around the cycle by trying every start level.
fn sweep_mode(
    cb: &CompactBase,
    adj: &[f64],
    w: (f64, f64),
    exact: bool,
    sc: &mut Scratch,
    out: &mut Vec<usize>,
) -> f64 {
    if !(exact && cb.wraps) {
        return sweep(cb, adj, w, None, sc, out);
    }
    let mut best = f64::INFINITY;
    let mut tmp = std::mem::take(&mut sc.alt_path);
    for a in 0..cb.levels {
        if !cb.cost[a].is_finite() {
            continue;
        }
        let v = sweep(cb, adj, w, Some(a), sc, &mut tmp);
        if v < best {
            best = v;
            out.clone_from(&tmp);
        }
    }
    sc.alt_path = tmp;
    best
}

/// Smallest true risk of a base (wrap included) and a path reaching it.
pub(crate) fn min_risk(cb: &CompactBase, sc: &mut Scratch) -> (f64, Vec<usize>) {
    let mut path = Vec::new();
    let adj = cb.cost.clone();
    let v = sweep(cb, &adj, (0.0, 1.0), None, sc, &mut path);
    if !v.is_finite() {
        return (f64::INFINITY, path);
    }
    let (r, w) = cb.path_risk(&path);
    if w > 0.0 {
        sweep_mode(cb, &adj, (0.0, 1.0), true, sc, &mut path);
        let (r, w) = cb.path_risk(&path);
        return (r + w, path);
    }
    (r, path)
}

/// A path seen as a line of the dual function.
#[derive(Clone)]
struct Line {
    path: Vec<usize>,
    cost: f64,
    /// The risk the current relaxation sees (chain risk, or true risk when exact).
    risk: f64,
    true_risk: f64,
}

impl Line {
    fn new(cb: &CompactBase, fixed: f64, adj: &[f64], path: Vec<usize>, exact: bool) -> Self {
        let cost = cb.path_cost(fixed, adj, &path);
        let (r, w) = cb.path_risk(&path);
        let risk = if exact { r + w } else { r };
        Self {
            path,
            cost,
            risk,
            true_risk: r + w,
        }
    }
    fn at(&self, nu: f64, budget: f64) -> f64 {
        self.cost + nu * (self.risk - budget)
    }
    fn wraps(&self) -> bool {
        self.true_risk > self.risk
    }
}

/// The cheapest feasible choice of one base under prices folded into `adj`/`fixed`, with
/// a lower bound. Stops early once the bound reaches `cutoff` (the base cannot beat a
/// choice already in hand).
pub(crate) fn solve_base(
    cb: &CompactBase,
    fixed: f64,
    adj: &[f64],
    st: &mut BaseState,
    sc: &mut Scratch,
    cutoff: f64,
    p0: Option<(f64, Vec<usize>)>,
) -> BaseOutcome {
    let (v0, mut path) = p0.unwrap_or_else(|| {
        let mut path = Vec::new();
        (sweep(cb, adj, (1.0, 0.0), None, sc, &mut path), path)
    });
    let Some(budget) = cb.budget else {
        let ub = (v0.is_finite()).then_some((fixed + v0, path));
        return BaseOutcome {
            lb: fixed + v0,
            ub,
            nu: 0.0,
        };
    };
    if !v0.is_finite() {
        return infeasible();
    }
    let (r0, w0) = cb.path_risk(&path);
    if r0 + w0 <= budget + RISK_TOL {
        return BaseOutcome {
            lb: fixed + v0,
            ub: Some((fixed + v0, path)),
            nu: 0.0,
        };
    }
    let (mr, mr_path) = st.min_risk.get_or_insert_with(|| min_risk(cb, sc)).clone();
    if mr > budget + RISK_TOL {
        return infeasible();
    }
    let mut out = BaseOutcome {
        lb: fixed + v0,
        ub: None,
        nu: 0.0,
    };
    let consider = |out: &mut BaseOutcome, line: &Line| {
        if line.true_risk <= budget + RISK_TOL && line.cost < out.ub_cost() {
            out.ub = Some((line.cost, line.path.clone()));
        }
    };
    if out.lb >= cutoff {
        return out;
    }
    loop {
        let exact = st.exact;
        let nu0 = st.nu;
        let mut lo: Option<Line> = None;
        let mut hi: Option<Line> = None;
        let candidates = [Some(&path), st.lo.as_ref(), Some(&mr_path), st.hi.as_ref()];
        for p in candidates.into_iter().flatten() {
            let line = Line::new(cb, fixed, adj, p.clone(), exact);
            consider(&mut out, &line);
            let slot = if line.risk > budget + RISK_TOL {
                &mut lo
            } else {
                &mut hi
            };
            if slot
                .as_ref()
                .is_none_or(|s| line.at(nu0, budget) < s.at(nu0, budget))
            {
                *slot = Some(line);
            }
        }
        let (Some(mut lo), Some(mut hi)) = (lo, hi) else {
            // The ν = 0 path only exceeds the budget through the wrap: the chain
            // relaxation cannot see why, so go exact.
            if exact {
                return out;
            }
            st.exact = true;
            continue;
        };
        for _ in 0..100 {
            let nu = ((hi.cost - lo.cost) / (lo.risk - hi.risk)).max(0.0);
            let env = lo.at(nu, budget).min(hi.at(nu, budget));
            let v = sweep_mode(cb, adj, (1.0, nu), exact, sc, &mut path);
            let l = fixed + v - nu * budget;
            out.lb = out.lb.max(l);
            out.nu = nu;
            let line = Line::new(cb, fixed, adj, path.clone(), exact);
            consider(&mut out, &line);
            if out.lb >= cutoff || l >= env - 1e-9 * (1.0 + env.abs()) {
                break;
            }
            if line.risk > budget + RISK_TOL {
                lo = line;
            } else {
                hi = line;
            }
        }
        if !exact && cb.wraps && (lo.wraps() || hi.wraps()) && out.lb < cutoff {
            st.exact = true;
            continue;
        }
        st.lo = Some(lo.path);
        st.hi = Some(hi.path);
        st.nu = out.nu;
        return out;
    }
}

fn infeasible() -> BaseOutcome {
    BaseOutcome {
        lb: f64::INFINITY,
        ub: None,
        nu: 0.0,
    }
}

/// Per-item result under given prices.
#[derive(Debug, Clone)]
pub(crate) struct ItemOutcome {
    pub lb: f64,
    /// `(base, levels, priced cost)` of the best feasible choice found.
    pub best: Option<(usize, Vec<usize>, f64)>,
    /// Budget multiplier of the chosen base.
    pub nu: f64,
    /// Per base: lower bound and best priced cost (for refinement and group selection).
    pub bases: Vec<(f64, f64)>,
}

/// Solves every base of an item (bases that cannot beat the best choice in hand are cut
/// off early unless `all_bases`, which group selection needs).
pub(crate) fn solve_item(
    bases: &[CompactBase],
    mu: Option<&[f64]>,
    states: &mut [BaseState],
    sc: &mut Scratch,
    all_bases: bool,
) -> (ItemOutcome, Vec<Option<Vec<usize>>>) {
    // Unconstrained optimum per base (a lower bound) to visit bases cheapest first.
    let mut order: Vec<(f64, usize)> = Vec::with_capacity(bases.len());
    // Priced costs per base, in buffers kept across calls.
    let mut adjs: Vec<(f64, Vec<f64>)> = std::mem::take(&mut sc.adjs);
    adjs.resize_with(bases.len(), Default::default);
    let mut p0s: Vec<Option<(f64, Vec<usize>)>> = Vec::with_capacity(bases.len());
    for (b, cb) in bases.iter().enumerate() {
        let (fixed, adj) = &mut adjs[b];
        *fixed = cb.adjust(mu, adj);
        let mut path = Vec::with_capacity(cb.slots);
        let v = sweep(cb, adj, (1.0, 0.0), None, sc, &mut path);
        order.push((*fixed + v, b));
        p0s.push(Some((v, path)));
    }
    order.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut out = ItemOutcome {
        lb: f64::INFINITY,
        best: None,
        nu: 0.0,
        bases: vec![(f64::INFINITY, f64::INFINITY); bases.len()],
    };
    let mut paths = vec![None; bases.len()];
    for &(l0, b) in &order {
        let ub = out.best.as_ref().map_or(f64::INFINITY, |x| x.2);
        if !all_bases && l0 >= ub {
            out.bases[b] = (l0, f64::INFINITY);
            out.lb = out.lb.min(l0);
            continue;
        }
        let (fixed, adj) = &adjs[b];
        let cutoff = if all_bases { f64::INFINITY } else { ub };
        let o = solve_base(
            &bases[b],
            *fixed,
            adj,
            &mut states[b],
            sc,
            cutoff,
            p0s[b].take(),
        );
        out.bases[b] = (o.lb, o.ub_cost());
        out.lb = out.lb.min(o.lb);
        if let Some((c, p)) = o.ub {
            if c < ub {
                out.best = Some((b, p.clone(), c));
                out.nu = o.nu;
            }
            paths[b] = Some(p);
        }
    }
    // The dual search's primal can sit far from the optimum when breakpoints are far
    // apart; a local search from both sides of the breakpoint closes most of that, and
    // only matters for bases that could still beat the item's best choice.
    for (b, cb) in bases.iter().enumerate() {
        let ub = out.best.as_ref().map_or(f64::INFINITY, |x| x.2);
        let (lb_b, ub_b) = out.bases[b];
        let Some(budget) = cb.budget else { continue };
        if lb_b >= ub - 1e-6 * (1.0 + ub.abs()) || ub_b - lb_b <= 1e-6 * (1.0 + ub_b.abs()) {
            continue;
        }
        let (fixed, adj) = &adjs[b];
        for start in [states[b].hi.clone(), states[b].lo.clone()]
            .into_iter()
            .flatten()
        {
            let Some((c, p)) = improve(cb, *fixed, adj, budget, start) else {
                continue;
            };
            if c < out.bases[b].1 {
                out.bases[b].1 = c;
                paths[b] = Some(p.clone());
                if c < out.best.as_ref().map_or(f64::INFINITY, |x| x.2) {
                    out.best = Some((b, p, c));
                    out.nu = states[b].nu;
                }
            }
        }
    }
    sc.adjs = adjs;
    (out, paths)
}

/// Closes the base's gap under prices `mu`: the dual search first (cheap, often
/// enough), then the label search. `incumbent` is the best priced cost the item already
/// has elsewhere; a base that cannot beat it gets that value as its lower bound.
///
/// # Errors
/// `Err(())` when the label search exceeds `max_labels` (the caller uses a MILP).
pub(crate) fn exact_outcome(
    cb: &CompactBase,
    mu: Option<&[f64]>,
    st: &mut BaseState,
    sc: &mut Scratch,
    incumbent: f64,
    max_labels: usize,
) -> Result<BaseOutcome, ()> {
    exact_outcome_until(cb, mu, st, sc, incumbent, f64::INFINITY, max_labels)
}

/// [`exact_outcome`] whose dual search also stops once its bound reaches `cutoff`: for
/// a caller that wants nothing at or above it (the outcome's bounds are then looser).
pub(crate) fn exact_outcome_until(
    cb: &CompactBase,
    mu: Option<&[f64]>,
    st: &mut BaseState,
    sc: &mut Scratch,
    incumbent: f64,
    cutoff: f64,
    max_labels: usize,
) -> Result<BaseOutcome, ()> {
    let mut adj = std::mem::take(&mut sc.adj);
    let fixed = cb.adjust(mu, &mut adj);
    let o = solve_base(cb, fixed, &adj, st, sc, cutoff, None);
    let ub = o.ub_cost();
    let result = if ub - o.lb <= 1e-9 * (1.0 + ub.abs()) || o.lb >= incumbent {
        Ok(o)
    } else {
        let inc = ub.min(incumbent);
        crate::exact::exact_base(cb, fixed, &adj, o.nu, inc, max_labels).map(|found| match found {
            Some((c, p)) => BaseOutcome {
                lb: c,
                ub: Some((c, p)),
                nu: o.nu,
            },
            None => BaseOutcome {
                lb: inc,
                ub: o.ub,
                nu: o.nu,
            },
        })
    };
    sc.adj = adj;
    result
}

/// The budget multiplier of a chosen path under prices `mu` (USD per unit of risk): zero
/// when the budget is slack, else the optimal multiplier of the base's dual search.
pub(crate) fn risk_price(
    cb: &CompactBase,
    st: &mut BaseState,
    mu: Option<&[f64]>,
    levels: &[usize],
    sc: &mut Scratch,
) -> f64 {
    let Some(budget) = cb.budget else {
        return 0.0;
    };
    let (r, w) = cb.path_risk(levels);
    if r + w < budget - 1e-6 * budget.max(1.0) {
        return 0.0;
    }
    let mut adj = std::mem::take(&mut sc.adj);
    let fixed = cb.adjust(mu, &mut adj);
    let o = solve_base(cb, fixed, &adj, st, sc, f64::INFINITY, None);
    sc.adj = adj;
    o.nu
}

#[cfg(test)]
#[path = "tests/item_tests.rs"]
mod tests;
