//! Test-only helpers and the property tests that pit both methods against brute force.

mod brute;
mod prop;
mod unit;
