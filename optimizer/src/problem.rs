//! The optimiser's own problem type: a joint choice over components, independent of
//! AWS, of the engine and of the solver library.
//!
//! Each [`Item`] (a component) picks exactly one [`Base`] (a fixed configuration such as
//! "Lambda 512 MB arm64"), and within that base one level per [`Slot`] (such as the
//! provisioned concurrency of one hour of the day). A base may limit the total *risk*
//! of its choices (expected cold starts per month): the sum over slots of the chosen
//! alternatives' risk, plus *transition* risk, must stay within `risk_budget`.
//!
//! Transition risk models what happens when a slot's level is lower than the previous
//! slot's: capacity that disappears at the boundary has to be rebuilt, which costs risk.
//! Slot `s` carries a potential `g_s(level)`, non-increasing in the level; the transition
//! risk entering slot `s` is `max(0, g_s(level_s) - g_s(level_{s-1}))`. With
//! `cyclic = true` slot 0 follows the last slot (hours of a day wrap around midnight).
//!
//! Items are coupled only through [`Row`]s: shared capacities such as an account's
//! concurrency in one hour, or a database's connections. A row may be lifted by a
//! [`Switch`] (an RDS Proxy in front of the database): when the switch is on, the row no
//! longer binds and the switch's cost is paid.
//!
//! The objective is the total monthly cost: base costs, chosen alternatives' costs and
//! switch costs.

use serde::Serialize;

/// Index of a [`Row`] in [`Problem::rows`].
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct RowId(pub usize);

/// Index of a [`Switch`] in [`Problem::switches`].
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct SwitchId(pub usize);

/// A joint choice problem.
#[derive(Clone, Debug, Default)]
pub struct Problem {
    /// One per component.
    pub items: Vec<Item>,
    /// Shared capacities: the sum of usages of the chosen bases and alternatives must not
    /// exceed `capacity` (unless the row's switch is on).
    pub rows: Vec<Row>,
    /// Optional companions that lift rows.
    pub switches: Vec<Switch>,
}

/// A shared capacity.
#[derive(Clone, Debug)]
pub struct Row {
    /// For diagnostics ("account prod, hour 09").
    pub name: String,
    /// Largest total usage.
    pub capacity: f64,
    /// When this switch is on, the row does not bind.
    pub lifted_by: Option<SwitchId>,
}

/// A binary companion that costs money and lifts rows.
#[derive(Clone, Debug)]
pub struct Switch {
    /// For diagnostics ("RDS Proxy for orders-db").
    pub name: String,
    /// Monthly cost when on.
    pub cost: f64,
    /// Forces the switch on or off (a proxy that exists, or one the org forbids).
    pub fixed: Option<bool>,
}

/// One component's choice.
#[derive(Clone, Debug)]
pub struct Item {
    /// For diagnostics.
    pub name: String,
    /// At least one.
    pub bases: Vec<Base>,
}

/// A fixed configuration with per-slot levels.
#[derive(Clone, Debug)]
pub struct Base {
    /// For diagnostics ("lambda 512 MB x86_64").
    pub label: String,
    /// Monthly cost of choosing this base, besides its slots' alternatives.
    pub cost: f64,
    /// Fixed usage of rows (reserved concurrency, database connections).
    pub usage: Vec<(RowId, f64)>,
    /// The level values shared by all slots (provisioned environments, tasks).
    pub levels: Vec<u32>,
    /// The slots, in order. May be empty (nothing to choose beyond the base).
    pub slots: Vec<Slot>,
    /// Whether slot 0 follows the last slot for transition risk.
    pub cyclic: bool,
    /// Upper bound on total risk (slots plus transitions), if any.
    pub risk_budget: Option<f64>,
}

/// One slot's alternatives, indexed like [`Base::levels`].
#[derive(Clone, Debug)]
pub struct Slot {
    /// `alternatives[l]` is the choice of level `levels[l]`, or `None` when that level is
    /// not allowed in this slot (an SLO or a guardrail rules it out).
    pub alternatives: Vec<Option<Alt>>,
    /// Transition potential `g_s(levels[l])`, non-increasing in `l`; empty means no
    /// transition risk for this slot.
    pub potential: Vec<f64>,
}

/// The consequences of choosing one level in one slot.
#[derive(Clone, Debug)]
pub struct Alt {
    /// Monthly cost.
    pub cost: f64,
    /// Risk (expected cold starts per month), counted against the base's budget.
    pub risk: f64,
    /// Usage of rows.
    pub usage: AltUsage,
}

/// The rows one alternative uses. Almost always one (the account row of its slot's
/// hour) or none; kept inline because a real fleet has hundreds of thousands of
/// alternatives and a heap allocation each was a seventh of the models' memory.
pub type AltUsage = smallvec::SmallVec<[(RowId, f64); 1]>;

/// What the solver chose for one item.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Choice {
    /// Index into [`Item::bases`].
    pub base: usize,
    /// Per slot, the index into [`Base::levels`].
    pub levels: Vec<usize>,
}

impl Problem {
    /// Each row's usage under `choices` (a full assignment, as a solve returns it).
    pub fn usage(&self, choices: &[Choice]) -> Vec<f64> {
        let mut usage = vec![0.0; self.rows.len()];
        for (item, choice) in self.items.iter().zip(choices) {
            let base = &item.bases[choice.base];
            let alts = base.slots.iter().zip(&choice.levels);
            let chosen = alts.filter_map(|(slot, &l)| slot.alternatives[l].as_ref());
            let used = base.usage.iter().chain(chosen.flat_map(|a| &a.usage));
            for &(r, u) in used {
                usage[r.0] += u;
            }
        }
        usage
    }

    /// Per row, the most any assignment can use of it (each item at its heaviest base
    /// and levels for that row): a capacity at which the row cannot bind, and which,
    /// unlike an infinite one, keeps [`crate::feasibility_tol`] in scale.
    pub fn most_usage(&self) -> Vec<f64> {
        let mut most = vec![0.0; self.rows.len()];
        let mut heaviest = vec![0.0f64; self.rows.len()];
        let mut in_base = vec![0.0f64; self.rows.len()];
        for item in &self.items {
            heaviest.fill(0.0);
            for base in &item.bases {
                in_base.fill(0.0);
                for &(r, u) in &base.usage {
                    in_base[r.0] += u;
                }
                for slot in &base.slots {
                    let alts = slot.alternatives.iter().flatten();
                    let mut slot_most: smallvec::SmallVec<[(RowId, f64); 2]> = Default::default();
                    for &(r, u) in alts.flat_map(|a| &a.usage) {
                        match slot_most.iter_mut().find(|(s, _)| *s == r) {
                            Some((_, m)) => *m = m.max(u),
                            None => slot_most.push((r, u)),
                        }
                    }
                    for (r, u) in slot_most {
                        in_base[r.0] += u;
                    }
                }
                for (h, b) in heaviest.iter_mut().zip(&in_base) {
                    *h = h.max(*b);
                }
            }
            for (m, h) in most.iter_mut().zip(&heaviest) {
                *m += h;
            }
        }
        most
    }

    /// Cost of a full assignment, or `None` if it breaks a constraint (by more than
    /// `tol`, absolute). The reference every solver is checked against.
    pub fn evaluate(&self, choices: &[Choice], switches: &[bool], tol: f64) -> Option<f64> {
        if choices.len() != self.items.len() || switches.len() != self.switches.len() {
            return None;
        }
        let mut usage = vec![0.0; self.rows.len()];
        let mut cost = 0.0;
        for (item, choice) in self.items.iter().zip(choices) {
            let base = item.bases.get(choice.base)?;
            if choice.levels.len() != base.slots.len() {
                return None;
            }
            cost += base.cost;
            for &(r, u) in &base.usage {
                usage[r.0] += u;
            }
            let mut risk = 0.0;
            for (s, (slot, &l)) in base.slots.iter().zip(&choice.levels).enumerate() {
                let alt = slot.alternatives.get(l)?.as_ref()?;
                cost += alt.cost;
                risk += alt.risk;
                for &(r, u) in &alt.usage {
                    usage[r.0] += u;
                }
                risk += base.transition_risk(s, &choice.levels);
            }
            if let Some(b) = base.risk_budget
                && risk > b + tol
            {
                return None;
            }
        }
        for (s, on) in self.switches.iter().zip(switches) {
            if let Some(f) = s.fixed
                && f != *on
            {
                return None;
            }
            if *on {
                cost += s.cost;
            }
        }
        for (row, u) in self.rows.iter().zip(&usage) {
            let lifted = row.lifted_by.is_some_and(|s| switches[s.0]);
            if !lifted && *u > row.capacity + tol {
                return None;
            }
        }
        Some(cost)
    }
}

impl Base {
    /// Transition risk entering slot `s` given the level index of every slot.
    pub fn transition_risk(&self, s: usize, levels: &[usize]) -> f64 {
        let slot = &self.slots[s];
        if slot.potential.is_empty() {
            return 0.0;
        }
        let prev = if s > 0 {
            levels[s - 1]
        } else if self.cyclic {
            levels[levels.len() - 1]
        } else {
            return 0.0;
        };
        (slot.potential[levels[s]] - slot.potential[prev]).max(0.0)
    }
}
