//! Everything that goes through HiGHS: the monolithic model of a set of items (the whole
//! problem, a group sharing local rows, or one base to close its gap), and the selection
//! model that picks one precomputed column per unit subject to rows (the restricted
//! master, and group base selection).
//!
//! Models are built with good_lp, then driven through the `highs` crate directly because
//! good_lp does not expose the MIP dual bound, and the lower bound we report must be a
//! real one, not `cost * (1 - gap)`.
//!
//! `model` drives HiGHS; `scope` and `select` each build one kind of model on it.

mod model;
mod scope;
mod select;

pub(crate) use model::{MilpError, RunConfig};
pub(crate) use scope::{Scope, solve_scope};
pub(crate) use select::{SelectCol, SelectRow, SelectSwitch, select};
