//! The adaptd binary's library: command-line interface and the long-lived
//! service (`service`, over the `store`). Everything here is the imperative shell around the pure engine and
//! optimiser: it reads files, loads telemetry and prints results.

pub mod apply;
pub mod backtest;
pub mod cli;
pub mod commands;
pub mod embedded;
pub mod output;
pub mod pipeline;
pub mod report;
pub mod service;
pub mod store;
