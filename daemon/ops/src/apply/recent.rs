//! The service's verification of applies, from the recent telemetry its cycles
//! collected: a cycle collects only the minutes not collected before, while judging a
//! run needs the window before it and the window after it, several cycles apart.
//!
//! The minutes live in the store (`store::recent`, table `recent_telemetry`), written
//! by each cycle with its collection for the components the service may apply to. So
//! a restart, or another replica taking over leadership, still has the window before
//! an older run, and its verdict is made from it rather than found inconclusive. The
//! verifier reads only the components and minutes of runs that are due, and prunes the
//! table to what a verdict can still need.

use std::collections::BTreeSet;

use adaptd_actuator::aws::Aws;
use adaptd_actuator::verify::Decision;
use adaptd_config::ApplySection;
use adaptd_store::{Store, now_ms};

use super::{ApplyError, awaiting_verification, aws_settings, verify_due};

/// Minutes kept beyond what known runs need: a run started but not yet finished (so
/// not in the audit log as finished) needs the window before its start.
const SLACK_MINUTES: i64 = 10;

/// The service's verification: after each scheduled cycle, judges the runs whose
/// verification window has passed (when `[apply] execute` is on; otherwise nothing
/// was applied) and prunes the recent telemetry.
#[derive(Debug, Default)]
pub struct Verifier {
    aws: Option<Aws>,
}

impl Verifier {
    /// After a cycle: the verdicts (run, decision) made now, for the log and the
    /// metrics. The cycle's own telemetry is already in the store (written with its
    /// collection).
    pub async fn after_cycle<S: Store>(
        &mut self,
        store: &S,
        config: &ApplySection,
        interval_seconds: u64,
    ) -> Result<Vec<(String, Decision)>, ApplyError> {
        if !config.execute {
            return Ok(Vec::new());
        }
        self.verify(store, config, interval_seconds, now_ms()).await
    }

    /// Judges the runs due at `now`, from the store's recent telemetry, then forgets
    /// the minutes no verdict can need any more: those before the window of every run
    /// still awaiting one, and before the window a run starting now would need (one
    /// window, one cycle interval and some slack back).
    pub async fn verify<S: Store>(
        &mut self,
        store: &S,
        config: &ApplySection,
        interval_seconds: u64,
        now: i64,
    ) -> Result<Vec<(String, Decision)>, ApplyError> {
        let window = i64::from(config.verify_window_minutes);
        let interval = i64::try_from(interval_seconds / 60).unwrap_or(i64::MAX / 4);
        let awaiting = awaiting_verification(store, config, now).await?;
        let mut keep_from = now.div_euclid(60_000) - window - interval - SLACK_MINUTES;
        for run in &awaiting {
            keep_from = keep_from.min(run.windows(window).0.0);
        }
        let due: Vec<_> = awaiting.iter().filter(|r| r.due(window, now)).collect();
        let mut judged = Vec::new();
        if !due.is_empty() {
            let components: BTreeSet<String> = due
                .iter()
                .map(|r| r.intent.plan.target.component.clone())
                .collect();
            let components: Vec<String> = components.into_iter().collect();
            let from = due
                .iter()
                .map(|r| r.windows(window).0.0)
                .min()
                .unwrap_or(keep_from);
            let telemetry = store.recent_telemetry(&components, from).await?;
            let aws = match &self.aws {
                Some(a) => a.clone(),
                None => {
                    let a = Aws::connect(&aws_settings(config)).await;
                    self.aws = Some(a.clone());
                    a
                }
            };
            judged = verify_due(store, config, &aws, &telemetry, now).await?;
        }
        store.prune_recent(keep_from).await?;
        Ok(judged)
    }
}
