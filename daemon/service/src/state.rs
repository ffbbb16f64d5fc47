//! What the handlers share: one [`AppState`] behind an `Arc`, built by `serve`.

use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use crate::alerts::Alerts;
use crate::auth::Auth;
use crate::metrics::Metrics;

/// What handlers share.
#[derive(Debug)]
pub struct AppState<S> {
    /// The store.
    pub store: Arc<S>,
    /// Metrics.
    pub metrics: Arc<Metrics>,
    /// Token check for mutations.
    pub auth: Auth,
    /// Whether this replica leads.
    pub leader: Arc<AtomicBool>,
    /// This replica's identity.
    pub instance: String,
    /// Alert intake (`[alerts]`).
    pub alerts: Arc<Alerts>,
    /// The newest versions, rendered, for the listing.
    pub listing: Arc<crate::listing::Listing>,
    /// The weekly reports' archive (`[report] output_dir`, resolved).
    pub reports_dir: std::path::PathBuf,
}
