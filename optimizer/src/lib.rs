//! The optimiser: picks one option per component, jointly, at least cost, subject to
//! each component's SLO, the org's guardrails and the limits components share.
//!
//! It is pure (no I/O, no async runtime). The solver library (good_lp with HiGHS) stays
//! behind this crate's own [`problem::Problem`] type.

pub mod problem;
