//! How the decomposed solver splits a problem, and how it solves one piece under row
//! prices.
//!
//! Rows touched by few items (a database's connections) and every row a switch lifts
//! stay exact: the items they connect form a *group*, solved as one small model. Rows
//! touched by many items (an account's concurrency per hour) are priced instead. Every
//! item outside a group is a unit on its own, solved by the pure-Rust per-item solver.

use crate::compact::CompactBase;
use crate::error::SolveError;
use crate::item::{BaseState, Scratch, exact_outcome, solve_item};
use crate::milp::{self, MilpError, RunConfig, Scope};
use crate::problem::{Choice, Problem};

mod groups;

pub(crate) use groups::{group_row_prices, solve_group};

/// Labels the exact per-base search may keep before it hands over to HiGHS.
pub(crate) const MAX_LABELS: usize = 200_000;

/// Where the decomposition draws the line between local and priced rows.
#[derive(Debug, Clone)]
pub(crate) struct Config {
    /// Rows without a switch, used by bases only and touched by at most this many
    /// items are kept exact (grouped); other rows without a switch are priced.
    pub local_row_max_items: usize,
    /// Optional rows are not merged into groups beyond this many items.
    pub group_max_items: usize,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            local_row_max_items: 16,
            group_max_items: 64,
        }
    }
}

/// Per-item data the solver keeps across price updates.
#[derive(Debug)]
pub(crate) struct ItemData {
    pub compact: Vec<CompactBase>,
    pub states: Vec<BaseState>,
}

impl ItemData {
    pub fn new(item: &crate::problem::Item) -> Self {
        Self {
            compact: CompactBase::of_item(item),
            states: vec![BaseState::default(); item.bases.len()],
        }
    }
}

/// Whether some base of the item can meet its budget (rows aside).
pub(crate) fn feasible_alone(d: &ItemData, sc: &mut Scratch) -> bool {
    d.compact.iter().any(|cb| {
        let (mr, path) = crate::item::min_risk(cb, sc);
        let reachable = cb.slots == 0 || !path.is_empty();
        reachable && mr <= cb.budget.unwrap_or(f64::INFINITY) + crate::compact::RISK_TOL
    })
}

/// Items tied by local rows, with those rows and the switches lifting them.
#[derive(Debug, Clone)]
pub(crate) struct Group {
    pub items: Vec<usize>,
    pub rows: Vec<usize>,
    pub switches: Vec<usize>,
    /// The group's rows are used by bases only (not by levels), so the group reduces to
    /// choosing a base per item, each base solved alone.
    pub by_base: bool,
}

#[derive(Debug, Clone)]
pub(crate) enum Unit {
    Item(usize),
    Group(Group),
}

impl Unit {
    pub fn items(&self) -> &[usize] {
        match self {
            Unit::Item(i) => std::slice::from_ref(i),
            Unit::Group(g) => &g.items,
        }
    }
}

/// The split of a problem.
#[derive(Debug)]
pub(crate) struct Layout {
    pub units: Vec<Unit>,
    /// Per row: priced (true) or not.
    pub global: Vec<bool>,
    pub global_rows: Vec<usize>,
    /// Cost of switches outside every group that are fixed on (paid whatever happens).
    pub fixed_cost: f64,
}

fn find(parent: &mut [usize], mut x: usize) -> usize {
    while parent[x] != x {
        parent[x] = parent[parent[x]];
        x = parent[x];
    }
    x
}

/// Per row, the largest usage any assignment can reach (each item at its heaviest base
/// and levels for that row).
fn most_usage(data: &[ItemData], rows: usize) -> Vec<f64> {
    let mut most = vec![0.0; rows];
    let mut item = vec![0.0f64; rows];
    let mut base = vec![0.0f64; rows];
    let mut slot = vec![0.0f64; rows];
    // Rows seen in the current item / base, each listed once.
    let mut in_item = vec![usize::MAX; rows];
    let mut in_base = vec![usize::MAX; rows];
    let (mut item_rows, mut base_rows): (Vec<usize>, Vec<usize>) = (Vec::new(), Vec::new());
    let mut key = 0;
    for (i, d) in data.iter().enumerate() {
        item_rows.clear();
        for cb in &d.compact {
            key += 1;
            base_rows.clear();
            let mut note = |r: usize, base_rows: &mut Vec<usize>| {
                if in_base[r] != key {
                    in_base[r] = key;
                    base_rows.push(r);
                }
                if in_item[r] != i {
                    in_item[r] = i;
                    item_rows.push(r);
                }
            };
            for &(r, u) in &cb.base_usage {
                base[r as usize] += u;
                note(r as usize, &mut base_rows);
            }
            for s in 0..cb.slots {
                let cells = s * cb.levels..(s + 1) * cb.levels;
                let (a, b) = (
                    cb.use_start[cells.start] as usize,
                    cb.use_start[cells.end] as usize,
                );
                // Per row, the heaviest level of this slot (a cell's entries summed).
                for c in cells {
                    let range = cb.use_start[c] as usize..cb.use_start[c + 1] as usize;
                    for k in range.clone() {
                        let r = cb.use_row[k] as usize;
                        let cell: f64 = range
                            .clone()
                            .filter(|&j| cb.use_row[j] as usize == r)
                            .map(|j| cb.use_amt[j])
                            .sum();
                        slot[r] = slot[r].max(cell);
                    }
                }
                for k in a..b {
                    let r = cb.use_row[k] as usize;
                    base[r] += slot[r];
                    slot[r] = 0.0;
                    note(r, &mut base_rows);
                }
            }
            for &r in &base_rows {
                item[r] = item[r].max(base[r]);
                base[r] = 0.0;
            }
        }
        for &r in &item_rows {
            most[r] += item[r];
            item[r] = 0.0;
        }
    }
    most
}

/// Splits the problem. Rows nobody uses and no switch lifts are dropped (a negative
/// capacity there is infeasible).
pub(crate) fn layout(
    problem: &Problem,
    data: &[ItemData],
    cfg: &Config,
) -> Result<Layout, SolveError> {
    let (ni, ns, nr) = (
        problem.items.len(),
        problem.switches.len(),
        problem.rows.len(),
    );
    let mut row_items: Vec<Vec<usize>> = vec![Vec::new(); nr];
    let mut alt_use = vec![false; nr];
    let mut seen = vec![usize::MAX; nr];
    let most = most_usage(data, nr);
    for (i, d) in data.iter().enumerate() {
        for cb in &d.compact {
            for &r in &cb.use_row {
                alt_use[r as usize] = true;
            }
            for r in cb
                .base_usage
                .iter()
                .map(|x| x.0)
                .chain(cb.use_row.iter().copied())
            {
                if seen[r as usize] != i {
                    seen[r as usize] = i;
                    row_items[r as usize].push(i);
                }
            }
        }
    }
    // A row no assignment can exceed constrains nothing: drop it (its price is 0).
    for (r, items) in row_items.iter_mut().enumerate() {
        if most[r] <= problem.rows[r].capacity {
            items.clear();
        }
    }
    // Nodes: items, then switches.
    let mut parent: Vec<usize> = (0..ni + ns).collect();
    let mut size = vec![1usize; ni + ns];
    let mut local = vec![false; nr];
    let union = |parent: &mut Vec<usize>, size: &mut Vec<usize>, a: usize, b: usize| {
        let (ra, rb) = (find(parent, a), find(parent, b));
        if ra != rb {
            parent[rb] = ra;
            size[ra] += size[rb];
        }
    };
    let mut optional: Vec<usize> = Vec::new();
    for (r, row) in problem.rows.iter().enumerate() {
        if row_items[r].is_empty() && row.capacity >= 0.0 {
            continue;
        }
        if let Some(s) = row.lifted_by {
            local[r] = true;
            for &i in &row_items[r] {
                union(&mut parent, &mut size, ni + s.0, i);
            }
        } else if row_items[r].is_empty() {
            if row.capacity < 0.0 {
                return Err(SolveError::RowsInfeasible {
                    rows: vec![row.name.clone()],
                });
            }
        } else if row_items[r].len() <= cfg.local_row_max_items && !alt_use[r] {
            // Only rows used by bases alone stay exact: their groups reduce to choosing
            // bases. A row levels use would need the full model of every level of
            // every member, which is what the decomposition exists to avoid.
            optional.push(r);
        }
    }
    optional.sort_by_key(|&r| row_items[r].len());
    for r in optional {
        let mut roots: Vec<usize> = row_items[r].iter().map(|&i| find(&mut parent, i)).collect();
        roots.sort_unstable();
        roots.dedup();
        let merged: usize = roots.iter().map(|&x| size[x]).sum();
        if merged <= cfg.group_max_items.max(1) || roots.len() == 1 {
            local[r] = true;
            for w in roots.windows(2) {
                union(&mut parent, &mut size, w[0], w[1]);
            }
        }
    }
    let mut groups: std::collections::BTreeMap<usize, Group> = Default::default();
    let mut new_group = || Group {
        items: Vec::new(),
        rows: Vec::new(),
        switches: Vec::new(),
        by_base: true,
    };
    for (r, row) in problem.rows.iter().enumerate() {
        if !local[r] {
            continue;
        }
        let node = match (row.lifted_by, row_items[r].first()) {
            (Some(s), _) => ni + s.0,
            (None, Some(&i)) => i,
            (None, None) => continue,
        };
        let root = find(&mut parent, node);
        let g = groups.entry(root).or_insert_with(&mut new_group);
        g.rows.push(r);
        g.by_base &= !alt_use[r];
    }
    for s in 0..ns {
        let root = find(&mut parent, ni + s);
        if let Some(g) = groups.get_mut(&root) {
            g.switches.push(s);
        }
    }
    let mut units = Vec::new();
    for i in 0..ni {
        let root = find(&mut parent, i);
        match groups.get_mut(&root) {
            Some(g) => g.items.push(i),
            None => units.push(Unit::Item(i)),
        }
    }
    let mut grouped = vec![false; ns];
    for g in groups.values() {
        for &s in &g.switches {
            grouped[s] = true;
        }
    }
    let fixed_cost = (0..ns)
        .filter(|&s| !grouped[s] && problem.switches[s].fixed == Some(true))
        .map(|s| problem.switches[s].cost)
        .sum();
    units.extend(groups.into_values().map(Unit::Group));
    let global: Vec<bool> = (0..nr)
        .map(|r| !local[r] && !row_items[r].is_empty())
        .collect();
    let global_rows = (0..nr).filter(|&r| global[r]).collect();
    Ok(Layout {
        units,
        global,
        global_rows,
        fixed_cost,
    })
}

/// One option of a unit: an assignment of its items and switches.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Column {
    pub choices: Vec<Choice>,
    pub switches: Vec<(usize, bool)>,
    /// True (unpriced) cost.
    pub cost: f64,
    /// Usage of priced rows.
    pub usage: Vec<(u32, f64)>,
}

impl Column {
    pub fn priced(&self, mu: &[f64]) -> f64 {
        self.cost
            + self
                .usage
                .iter()
                .map(|&(r, u)| mu[r as usize] * u)
                .sum::<f64>()
    }
}

/// A unit solved under prices: a lower bound on its priced optimum, its best column and
/// that column's priced cost.
#[derive(Debug, Clone)]
pub(crate) struct UnitResult {
    pub lb: f64,
    pub ub: f64,
    pub col: Column,
    /// Per base of a single item: lower bound and best priced cost (refinement input).
    pub bases: Vec<(f64, f64)>,
}

pub(crate) fn column_for(
    data: &[&ItemData],
    choices: Vec<Choice>,
    switches: Vec<(usize, bool)>,
    problem: &Problem,
    global: &[bool],
) -> Column {
    let mut cost = 0.0;
    let mut usage: Vec<(u32, f64)> = Vec::new();
    for (d, c) in data.iter().zip(&choices) {
        let cb = &d.compact[c.base];
        let path = cb.path_of(&c.levels);
        cost += cb.path_cost(cb.fixed_cost, &cb.cost, &path);
        usage.extend(
            cb.usage_of(&path)
                .into_iter()
                .filter(|&(r, _)| global[r as usize]),
        );
    }
    cost += switches
        .iter()
        .filter(|s| s.1)
        .map(|&(s, _)| problem.switches[s].cost)
        .sum::<f64>();
    if data.len() > 1 {
        usage.sort_by_key(|e| e.0);
        usage.dedup_by(|b, a| {
            let same = a.0 == b.0;
            if same {
                a.1 += b.1;
            }
            same
        });
    }
    Column {
        choices,
        switches,
        cost,
        usage,
    }
}

/// The column of one item's choice.
pub(crate) fn item_column(
    problem: &Problem,
    global: &[bool],
    d: &ItemData,
    choice: Choice,
) -> Column {
    column_for(&[d], vec![choice], Vec::new(), problem, global)
}

/// A single item under prices; `None` when no base is feasible.
pub(crate) fn solve_item_unit(
    problem: &Problem,
    global: &[bool],
    d: &mut ItemData,
    mu: Option<&[f64]>,
    sc: &mut Scratch,
) -> Option<UnitResult> {
    let (o, _) = solve_item(&d.compact, mu, &mut d.states, sc, false);
    let (base, levels, ub) = o.best?;
    let levels = d.compact[base].levels_of(&levels);
    let col = column_for(
        &[&*d],
        vec![Choice { base, levels }],
        Vec::new(),
        problem,
        global,
    );
    Some(UnitResult {
        lb: o.lb,
        ub,
        col,
        bases: o.bases,
    })
}

/// Closes a single item's gap under prices. Returns the bases whose label search gave up
/// (to be closed by a MILP).
pub(crate) fn refine_item_unit(
    problem: &Problem,
    global: &[bool],
    d: &mut ItemData,
    mu: Option<&[f64]>,
    sc: &mut Scratch,
    res: &mut UnitResult,
) -> Vec<usize> {
    let mut order: Vec<usize> = (0..d.compact.len()).collect();
    order.sort_by(|&a, &b| res.bases[a].0.total_cmp(&res.bases[b].0));
    let mut hard = Vec::new();
    for b in order {
        let eps = 1e-9 * (1.0 + res.ub.abs());
        if res.bases[b].0 >= res.ub - eps {
            continue;
        }
        match exact_outcome(&d.compact[b], mu, &mut d.states[b], sc, res.ub, MAX_LABELS) {
            Ok(o) => {
                res.bases[b] = (o.lb, o.ub_cost());
                if let Some((c, levels)) = o.ub
                    && c < res.ub
                {
                    res.ub = c;
                    res.col = column_for(
                        &[&*d],
                        vec![Choice {
                            base: b,
                            levels: d.compact[b].levels_of(&levels),
                        }],
                        Vec::new(),
                        problem,
                        global,
                    );
                }
            }
            Err(()) => hard.push(b),
        }
    }
    res.lb = res.bases.iter().map(|b| b.0).fold(f64::INFINITY, f64::min);
    hard
}

pub(crate) fn milp_error(problem: &Problem, e: MilpError, rows: &[usize]) -> SolveError {
    match e {
        MilpError::Infeasible => SolveError::RowsInfeasible {
            rows: rows.iter().map(|&r| problem.rows[r].name.clone()).collect(),
        },
        MilpError::NoSolution => SolveError::Solver {
            message: "HiGHS found no solution for a sub-problem within its time limit".into(),
        },
        MilpError::Solver(message) => SolveError::Solver { message },
    }
}

/// Solves one base of one item with HiGHS under prices (the label search gave up).
/// Returns a lower bound on the base and its best choice with priced cost, if any.
pub(crate) fn milp_base(
    problem: &Problem,
    item: usize,
    base: usize,
    mu: Option<&[f64]>,
    cfg: &RunConfig,
) -> Result<(f64, Option<(f64, Choice)>), SolveError> {
    let scope = Scope {
        items: &[item],
        only_base: Some(&[base]),
        rows: &[],
        outside: None,
        switches: &[],
        mu,
        relax: false,
        elastic: false,
    };
    match milp::solve_scope(problem, &scope, cfg) {
        Ok(sol) => {
            let choice = sol.choices.into_iter().next();
            Ok((sol.bound, choice.map(|c| (sol.objective, c))))
        }
        Err(MilpError::Infeasible) => Ok((f64::INFINITY, None)),
        // Out of time: nothing learnt, the caller keeps what it had.
        Err(MilpError::NoSolution) => Ok((f64::NEG_INFINITY, None)),
        Err(e) => Err(milp_error(problem, e, &[])),
    }
}

/// Counters the caller reports in its statistics.
#[derive(Debug, Default, Clone)]
pub(crate) struct Counters {
    pub highs: usize,
    pub refined: usize,
}

#[cfg(test)]
#[path = "../tests/layout_tests.rs"]
mod tests;
