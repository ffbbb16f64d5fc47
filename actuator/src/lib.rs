//! The actuator: carries out recommendations through the AWS API, safely.
//!
//! Its job is everything between "adaptd recommends X" and "X is live, or was undone":
//!
//! - [`plan`] turns a recommendation into an ordered list of API calls (pure);
//! - [`guard`] re-checks the apply-time guardrails just before execution (pure);
//! - [`verify`] decides, from what was observed after an apply, whether to keep it or
//!   roll it back (pure);
//! - [`wal`] executes a plan through a write-ahead [`wal::AuditLog`] and reconciles
//!   unfinished plans after a crash, so no call is lost and none is made twice;
//! - [`aws`] makes the calls with the AWS SDK (Lambda, Application Auto Scaling) and
//!   reads the live configuration they are compared with.
//!
//! The caller (the daemon) owns the store behind the audit log, the clock and the
//! telemetry; this crate owns no state.

pub mod aws;
pub mod guard;
pub mod plan;
pub mod verify;
pub mod wal;
