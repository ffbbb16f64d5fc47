//! What the command line and the long-lived service both run on recommendations:
//! config + telemetry → recommendations ([`pipeline`]), applying a recommendation
//! within guardrails and verifying it ([`apply`]), the weekly report's preparation and
//! delivery ([`report`]) and the backtest ([`backtest`]). Each is an imperative shell
//! over the pure crates (engine, optimizer, replay, report, actuator's plan); the
//! audit and lifecycle they record go through `adaptd-store`.

pub mod apply;
pub mod backtest;
pub mod embedded;
pub mod pipeline;
pub mod report;
