//! The adaptd binary's library: the command line (`cli`), one thin function per
//! subcommand (`commands`), how results are printed (`output`) and where logs go
//! (`logging`). The work is done below: `adaptd-service` (the long-lived service),
//! `adaptd-ops` (what the CLI and the service both run), `adaptd-store` (persistence).
//! They are named here again, under their old module names, so that the commands,
//! tests and benches address the daemon as one (`adaptd::store`, `adaptd::apply`).

pub mod cli;
pub mod commands;
pub mod duration;
pub mod logging;
pub mod output;

pub use adaptd_ops::{apply, backtest, embedded, pipeline, report};
pub use adaptd_service as service;
pub use adaptd_store as store;
