//! Realised savings: what an applied change actually saved.
//!
//! There is no bill per function and minute to read, so "observed cost" is the traffic
//! observed after the change, invocation by invocation, priced by the replay simulator
//! (`adaptd-replay`, the same instrument as `adaptd backtest`). The traffic is replayed
//! twice with the same seed — under the deployment before the change and the one after
//! — so the difference is the change's effect, not traffic growth, and it is compared
//! with what the recommendation predicted. The error is reported as is.

use adaptd_engine::options::Context;
use adaptd_engine::prices::PriceSheet;
use adaptd_engine::profile::Profile;
use adaptd_engine::spec::{ComponentSpec, Deployment};
use adaptd_engine::telemetry::ComponentTelemetry;
use adaptd_replay::{Params, Policy, ReplayResult, replay};
use adaptd_report::{AppliedChange, ChangeOutcome, Period, Realised};

use crate::backtest::policies::{Job, workload};

/// Less than this after a change is noise, not a measurement.
pub const MIN_MINUTES: i64 = 60;

/// Everything one measurement needs about the component.
#[derive(Debug)]
pub struct Subject<'a> {
    /// Its resolved spec (model parameters, SLO).
    pub spec: Option<&'a ComponentSpec>,
    /// Its telemetry (the whole period or more; cut here).
    pub telemetry: Option<&'a ComponentTelemetry>,
    /// Its profile over the period (duration law, init time).
    pub profile: Option<&'a Profile>,
}

/// The outcome of `change` in `period`, or `None` when the change lies outside it.
pub fn outcome(
    change: &AppliedChange,
    period: &Period,
    subject: &Subject<'_>,
    prices: &PriceSheet,
    params: &Params,
) -> Option<ChangeOutcome> {
    let state = ChangeOutcome::state_in(change, period)?;
    let (realised, not_measured) = match measure(change, period, subject, prices, params) {
        Ok(r) => (Some(r), None),
        Err(why) => (None, Some(why)),
    };
    Some(ChangeOutcome {
        change: change.clone(),
        state,
        realised,
        not_measured,
    })
}

fn measure(
    change: &AppliedChange,
    period: &Period,
    subject: &Subject<'_>,
    prices: &PriceSheet,
    params: &Params,
) -> Result<Realised, String> {
    let (Some(spec), Some(telemetry), Some(profile)) =
        (subject.spec, subject.telemetry, subject.profile)
    else {
        return Err("no telemetry for the component in the period".to_owned());
    };
    let from = change.applied_at_minute.max(period.start_minute);
    let to = change
        .rolled_back_at_minute
        .unwrap_or(period.end_minute)
        .min(period.end_minute);
    if to - from < MIN_MINUTES {
        return Err(format!(
            "only {} minutes of telemetry after the change (at least {MIN_MINUTES} needed)",
            (to - from).max(0)
        ));
    }
    let after_traffic = super::window::component(telemetry, from, to)
        .ok_or_else(|| "no telemetry after the change".to_owned())?;
    // Durations observed after the change were measured under `after`: that is the
    // deployment the workload's duration law starts from.
    let spec_after = ComponentSpec {
        current: change.after.clone(),
        ..spec.clone()
    };
    let ctx = Context::new(&spec_after, profile, prices);
    let job = Job {
        spec: &spec_after,
        telemetry: &after_traffic,
        profile,
        recommendation: None,
    };
    let w = workload(&job, &ctx)?;
    let run = |d: &Deployment| -> Result<ReplayResult, String> {
        replay(&w, &Policy::Static(d.clone()), params, prices)
            .map_err(|e| format!("replay failed: {e}"))
    };
    let before = run(&change.before)?;
    let after = run(&change.after)?;
    let saving = before.usd_per_month() - after.usd_per_month();
    let error = saving - change.predicted_saving_usd_per_month;
    let t = &after.total;
    Ok(Realised {
        from_minute: from,
        to_minute: to,
        invocations: t.invocations,
        before_usd_per_month: before.usd_per_month(),
        after_usd_per_month: after.usd_per_month(),
        saving_usd_per_month: saving,
        error_usd_per_month: error,
        relative_error: (change.predicted_saving_usd_per_month.abs() > 1e-9)
            .then(|| error / change.predicted_saving_usd_per_month.abs()),
        after_p99_ms: t.latency.as_ref().map(|l| l.p99_ms),
        after_cold_start_rate: if t.invocations > 0 {
            t.cold_starts as f64 / t.invocations as f64
        } else {
            0.0
        },
    })
}
