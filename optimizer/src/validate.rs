//! Structural checks run before any solver touches a problem, so that solvers can index
//! freely and so that a malformed input is reported against the element that caused it
//! rather than as a solver failure or a panic.

use crate::error::SolveError;
use crate::problem::{Alt, Base, Problem, RowId};

fn invalid(what: String) -> SolveError {
    SolveError::InvalidProblem { what }
}

/// A cost, risk, usage or budget: money and expected counts are never negative, and a
/// NaN would silently poison every comparison in the solvers.
fn check_amount(value: f64, what: impl FnOnce() -> String) -> Result<(), SolveError> {
    if value.is_finite() && value >= 0.0 {
        Ok(())
    } else {
        Err(invalid(format!(
            "{} must be finite and non-negative, got {value}",
            what()
        )))
    }
}

fn check_usage(
    usage: &[(RowId, f64)],
    rows: usize,
    at: &dyn Fn() -> String,
) -> Result<(), SolveError> {
    for &(row, amount) in usage {
        if row.0 >= rows {
            return Err(invalid(format!(
                "{}: row {} out of range ({rows} rows)",
                at(),
                row.0
            )));
        }
        check_amount(amount, || format!("{}: usage of row {}", at(), row.0))?;
    }
    Ok(())
}

impl Problem {
    /// Checks the rules every solver relies on; [`crate::solve`] calls it first.
    ///
    /// # Errors
    /// [`SolveError::InvalidProblem`] naming the first offending element.
    pub fn validate(&self) -> Result<(), SolveError> {
        self.validate_shared()?;
        self.validate_items()
    }

    /// Rows and switches only (the decomposed solver checks each item as it lays it
    /// out, while its data is in cache anyway).
    pub(crate) fn validate_shared(&self) -> Result<(), SolveError> {
        for (r, row) in self.rows.iter().enumerate() {
            if !row.capacity.is_finite() {
                return Err(invalid(format!(
                    "row {r} ({:?}): capacity must be finite, got {}",
                    row.name, row.capacity
                )));
            }
            if let Some(s) = row.lifted_by
                && s.0 >= self.switches.len()
            {
                return Err(invalid(format!(
                    "row {r} ({:?}): lifted by switch {} out of range ({} switches)",
                    row.name,
                    s.0,
                    self.switches.len()
                )));
            }
        }
        for (s, switch) in self.switches.iter().enumerate() {
            check_amount(switch.cost, || {
                format!("switch {s} ({:?}): cost", switch.name)
            })?;
        }
        Ok(())
    }

    fn validate_items(&self) -> Result<(), SolveError> {
        let rows = self.rows.len();
        // Items are independent and most of the input: check them on all cores, and
        // report the first offending item in order whatever thread found it.
        let threads = crate::par::threads();
        let per = self.items.len().div_ceil(threads).max(256);
        let chunks: Vec<(usize, &[crate::problem::Item])> = self
            .items
            .chunks(per)
            .enumerate()
            .map(|(k, c)| (k * per, c))
            .collect();
        let first = std::thread::scope(|s| {
            let handles: Vec<_> = chunks
                .iter()
                .map(|&(offset, chunk)| {
                    s.spawn(move || {
                        chunk
                            .iter()
                            .enumerate()
                            .try_for_each(|(k, item)| validate_item(offset + k, item, rows))
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
                .find_map(Result::err)
        });
        first.map_or(Ok(()), Err)
    }
}

pub(crate) fn validate_item(
    i: usize,
    item: &crate::problem::Item,
    rows: usize,
) -> Result<(), SolveError> {
    if item.bases.is_empty() {
        return Err(invalid(format!("item {i} ({:?}) has no bases", item.name)));
    }
    for (b, base) in item.bases.iter().enumerate() {
        let at = || format!("item {i} ({:?}) base {b} ({:?})", item.name, base.label);
        validate_base(base, rows, &at)?;
    }
    Ok(())
}

fn validate_base(base: &Base, rows: usize, at: &dyn Fn() -> String) -> Result<(), SolveError> {
    check_amount(base.cost, || format!("{}: cost", at()))?;
    check_usage(&base.usage, rows, at)?;
    if let Some(budget) = base.risk_budget {
        check_amount(budget, || format!("{}: risk budget", at()))?;
    }
    if !base.slots.is_empty() && base.levels.is_empty() {
        return Err(invalid(format!("{}: slots but no levels", at())));
    }
    let levels = base.levels.len();
    for (s, slot) in base.slots.iter().enumerate() {
        let at_slot = || format!("{} slot {s}", at());
        if slot.alternatives.len() != levels {
            return Err(invalid(format!(
                "{}: {} alternatives for {levels} levels",
                at_slot(),
                slot.alternatives.len()
            )));
        }
        if !slot.potential.is_empty() {
            if slot.potential.len() != levels {
                return Err(invalid(format!(
                    "{}: potential has {} values for {levels} levels",
                    at_slot(),
                    slot.potential.len()
                )));
            }
            for (l, &g) in slot.potential.iter().enumerate() {
                if !g.is_finite() {
                    return Err(invalid(format!(
                        "{}: potential at level {l} must be finite, got {g}",
                        at_slot()
                    )));
                }
                if l > 0 && g > slot.potential[l - 1] {
                    return Err(invalid(format!(
                        "{}: potential must be non-increasing, but level {l} has {g} > {}",
                        at_slot(),
                        slot.potential[l - 1]
                    )));
                }
            }
        }
        for (l, alt) in slot.alternatives.iter().enumerate() {
            if let Some(alt) = alt {
                validate_alt(alt, rows, &|| format!("{} level {l}", at_slot()))?;
            }
        }
    }
    Ok(())
}

fn validate_alt(alt: &Alt, rows: usize, at: &dyn Fn() -> String) -> Result<(), SolveError> {
    check_amount(alt.cost, || format!("{}: cost", at()))?;
    check_amount(alt.risk, || format!("{}: risk", at()))?;
    check_usage(&alt.usage, rows, at)
}
