//! Why a solve can fail, in terms the caller can act on (which item, which limits).

use std::time::Duration;

/// A solve that produced no assignment.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SolveError {
    /// The problem breaks a structural rule; `what` names the offending element.
    #[error("invalid problem: {what}")]
    InvalidProblem {
        /// Which element, and which rule it breaks.
        what: String,
    },
    /// No base of this item can keep its risk within its budget, whatever the rows allow.
    #[error(
        "item {item} ({name}) cannot meet its risk budget: the smallest achievable risk is {min_risk} but the budget is {budget}"
    )]
    ItemInfeasible {
        /// Index into `Problem::items`.
        item: usize,
        /// The item's name.
        name: String,
        /// Smallest risk (slots plus transitions) any base can reach; infinite when some
        /// slot of every base allows no level.
        min_risk: f64,
        /// The budget of the base that comes closest.
        budget: f64,
    },
    /// Every item can be satisfied alone, but the shared rows cannot all hold at once.
    #[error("the shared limits cannot all be met: {}", rows.join(", "))]
    RowsInfeasible {
        /// Names of the rows that have to be exceeded.
        rows: Vec<String>,
    },
    /// The time limit ran out before any assignment satisfying all constraints was found.
    #[error("no feasible assignment found within the time limit of {limit:?}")]
    TimeLimit {
        /// The limit that was set.
        limit: Duration,
    },
    /// The MILP solver failed for a reason unrelated to the problem's feasibility.
    #[error("solver failure: {message}")]
    Solver {
        /// What HiGHS reported.
        message: String,
    },
}
