//! The engine: adaptd's pure models of a cloud component.
//!
//! It knows what a component *could* be (its interchangeable options), what each option
//! costs (AWS list prices) and how fast it would be (cold starts, queueing), given a
//! summary of the component's telemetry. It does no I/O, talks to no cloud and runs no
//! async runtime, so every figure it produces can be tested and benchmarked alone.

pub mod calendar;
pub mod cpu_share;
pub mod options;
pub mod poisson;
pub mod prices;
pub mod profile;
pub mod quantiles;
pub mod rds_proxy;
pub mod schedule;
pub mod spec;
pub mod telemetry;
pub mod zone;
