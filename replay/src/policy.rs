//! What decides capacity during a replay: a fixed configuration, or target tracking as
//! Application Auto Scaling runs it.
//!
//! **Target tracking.** Application Auto Scaling creates two CloudWatch alarms on the
//! tracked metric (Average statistic, 1-minute datapoints): a high alarm that fires
//! after [`Alarms::high_datapoints`] (3) consecutive datapoints above the target, and a
//! low alarm that fires after [`Alarms::low_datapoints`] (15) consecutive datapoints
//! below [`Alarms::low_ratio`] (90 %) of it. The replay evaluates both at the start of
//! every minute on the datapoints of the minutes before (no publication delay). While
//! an alarm holds, the policy computes `ceil(capacity × latest datapoint / target)`,
//! bounded by [min, max], where `capacity` is the ready capacity the latest datapoint
//! was measured on (so the product is the busy capacity it saw):
//! - high alarm: if that exceeds the capacity already requested, the difference is
//!   requested now and is ready after the allocation delay (Lambda) or task start lag
//!   (Fargate). Capacity still being allocated counts towards the next scale-out,
//!   which is what AWS's scale-out cooldown achieves, so no separate scale-out cooldown
//!   applies, and an alarm held by stale datapoints never scales out twice;
//! - low alarm: if it is below the requested capacity, capacity goes down to it at
//!   once, unless a scale-in happened less than `scale_in_cooldown_minutes` ago or a
//!   scale-out less than `scale_out_cooldown_minutes` ago.
//!
//! Missing datapoints are skipped: a run of consecutive datapoints ignores minutes
//! without one (CloudWatch's "treat missing data as missing" evaluates the most recent
//! datapoints that exist). Lambda publishes ProvisionedConcurrencyUtilization only in
//! minutes with invocations, so an idle function never scales in, which is AWS's
//! documented behaviour; with no provisioned capacity there is no datapoint either, so
//! a minimum of 0 never scales out.
//!
//! Cooldown defaults are AWS's: 0 for Lambda provisioned concurrency and 300 s (5 min)
//! each way for ECS services (Application Auto Scaling user guide, "Define cooldown
//! periods").

use adaptd_engine::spec::{Architecture, Deployment, FargateConfig};
use serde::Serialize;

/// How a replay decides capacity.
#[derive(Debug, Clone, PartialEq)]
pub enum Policy {
    /// A fixed configuration, with its provisioned-concurrency or task schedule.
    Static(Deployment),
    /// Lambda provisioned concurrency under target tracking.
    TargetTracking(TargetTracking),
    /// A Fargate service under target tracking on average CPU.
    FargateTargetTracking(FargateTargetTracking),
}

/// The two alarms of a target-tracking policy and its cooldowns.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Alarms {
    /// Consecutive datapoints above target that fire the scale-out alarm.
    pub high_datapoints: u32,
    /// Consecutive datapoints below `low_ratio × target` that fire the scale-in alarm.
    pub low_datapoints: u32,
    /// Share of the target under which a datapoint counts as low.
    pub low_ratio: f64,
    /// Minutes after a scale-in before another scale-in.
    pub scale_in_cooldown_minutes: u32,
    /// Minutes after a scale-out before a scale-in.
    pub scale_out_cooldown_minutes: u32,
}

impl Alarms {
    /// What Application Auto Scaling configures for Lambda provisioned concurrency.
    pub const LAMBDA: Alarms = Alarms {
        high_datapoints: 3,
        low_datapoints: 15,
        low_ratio: 0.9,
        scale_in_cooldown_minutes: 0,
        scale_out_cooldown_minutes: 0,
    };

    /// What it configures for an ECS service (5-minute default cooldowns).
    pub const ECS: Alarms = Alarms {
        high_datapoints: 3,
        low_datapoints: 15,
        low_ratio: 0.9,
        scale_in_cooldown_minutes: 5,
        scale_out_cooldown_minutes: 5,
    };
}

/// Lambda provisioned concurrency under target tracking on
/// ProvisionedConcurrencyUtilization. Memory and architecture are fixed.
#[derive(Debug, Clone, PartialEq)]
pub struct TargetTracking {
    /// Memory (MB).
    pub memory_mb: u32,
    /// Architecture.
    pub architecture: Architecture,
    /// Reserved concurrency, if set.
    pub reserved_concurrency: Option<u32>,
    /// Target utilisation (0.7 is AWS's documented example and the usual choice).
    pub target: f64,
    /// Smallest capacity (also the capacity ready at the window start).
    pub min_capacity: u32,
    /// Largest capacity.
    pub max_capacity: u32,
    /// Alarms and cooldowns.
    pub alarms: Alarms,
}

impl TargetTracking {
    /// Target 0.7 with AWS's Lambda alarms.
    pub fn new(memory_mb: u32, architecture: Architecture, min: u32, max: u32) -> Self {
        Self {
            memory_mb,
            architecture,
            reserved_concurrency: None,
            target: 0.7,
            min_capacity: min,
            max_capacity: max,
            alarms: Alarms::LAMBDA,
        }
    }
}

/// A Fargate service under target tracking on ECSServiceAverageCPUUtilization.
#[derive(Debug, Clone, PartialEq)]
pub struct FargateTargetTracking {
    /// Task size, architecture and per-task concurrency; `tasks` at the window start's
    /// hour is the initial task count (bounded by min and max).
    pub config: FargateConfig,
    /// Target average CPU utilisation (0–1).
    pub target: f64,
    /// Fewest tasks.
    pub min_tasks: u32,
    /// Most tasks.
    pub max_tasks: u32,
    /// Alarms and cooldowns.
    pub alarms: Alarms,
}

/// A scaling decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Action {
    None,
    /// Request this many more units.
    Out(u32),
    /// Release this many units.
    In(u32),
}

/// The mutable part of a target-tracking policy.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Tracker {
    /// Latest datapoints with the ready capacity each was measured on, oldest first
    /// (at most the longer alarm's length).
    recent: Vec<(f64, u32)>,
    last_in: Option<i64>,
    last_out: Option<i64>,
}

/// The fixed part, shared by the Lambda and Fargate policies.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct TrackingRule {
    pub target: f64,
    pub min: u32,
    pub max: u32,
    pub alarms: Alarms,
}

impl Tracker {
    /// Records the datapoint of a minute, if the metric was published, measured on
    /// `capacity` ready units.
    pub fn observe(&mut self, rule: &TrackingRule, datapoint: Option<f64>, capacity: u32) {
        let Some(v) = datapoint else { return };
        let keep = rule.alarms.high_datapoints.max(rule.alarms.low_datapoints) as usize;
        if self.recent.len() == keep {
            self.recent.remove(0);
        }
        self.recent.push((v, capacity));
    }

    /// The decision at the start of minute `now`, with `requested` units asked for.
    pub fn decide(&mut self, rule: &TrackingRule, now: i64, requested: u32) -> Action {
        let Some(&(latest, measured_on)) = self.recent.last() else {
            return Action::None;
        };
        let last = |n: u32| -> Option<&[(f64, u32)]> {
            let n = n as usize;
            (n > 0 && self.recent.len() >= n).then(|| &self.recent[self.recent.len() - n..])
        };
        let wanted = || -> u32 {
            let x = f64::from(measured_on) * latest / rule.target;
            ((x - 1e-9).ceil().max(0.0) as u32).clamp(rule.min, rule.max.max(rule.min))
        };
        if last(rule.alarms.high_datapoints)
            .is_some_and(|w| w.iter().all(|&(v, _)| v > rule.target))
        {
            let n = wanted();
            if n > requested {
                self.last_out = Some(now);
                return Action::Out(n - requested);
            }
            return Action::None;
        }
        let low = rule.target * rule.alarms.low_ratio;
        if last(rule.alarms.low_datapoints).is_some_and(|w| w.iter().all(|&(v, _)| v < low)) {
            let cooled = |at: Option<i64>, cd: u32| at.is_none_or(|t| now - t >= i64::from(cd));
            if !cooled(self.last_in, rule.alarms.scale_in_cooldown_minutes)
                || !cooled(self.last_out, rule.alarms.scale_out_cooldown_minutes)
            {
                return Action::None;
            }
            let n = wanted();
            if n < requested {
                self.last_in = Some(now);
                return Action::In(requested - n);
            }
        }
        Action::None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule() -> TrackingRule {
        TrackingRule {
            target: 0.7,
            min: 1,
            max: 100,
            alarms: Alarms::LAMBDA,
        }
    }

    #[test]
    fn scale_out_needs_three_high_datapoints_in_a_row() {
        let r = rule();
        let mut t = Tracker::default();
        t.observe(&r, Some(1.0), 10);
        t.observe(&r, Some(1.0), 10);
        assert_eq!(t.decide(&r, 2, 10), Action::None);
        t.observe(&r, None, 10); // no invocations: skipped, the run goes on
        t.observe(&r, Some(0.8), 10);
        // ceil(10 × 0.8 / 0.7) = 12.
        assert_eq!(t.decide(&r, 4, 10), Action::Out(2));
        // Capacity already requested counts; a stale alarm does not scale again.
        assert_eq!(t.decide(&r, 5, 12), Action::None);
        assert_eq!(t.decide(&r, 6, 12), Action::None);
        t.observe(&r, Some(0.5), 12);
        assert_eq!(t.decide(&r, 7, 12), Action::None);
    }

    #[test]
    fn scale_in_needs_fifteen_low_datapoints_and_respects_cooldowns() {
        let mut r = rule();
        let mut t = Tracker::default();
        for _ in 0..14 {
            t.observe(&r, Some(0.1), 20);
        }
        assert_eq!(t.decide(&r, 14, 20), Action::None);
        t.observe(&r, Some(0.62), 20); // below 0.63
        // ceil(20 × 0.62 / 0.7) = 18.
        assert_eq!(t.decide(&r, 15, 20), Action::In(2));
        r.alarms.scale_in_cooldown_minutes = 5;
        t.observe(&r, Some(0.6), 18);
        assert_eq!(t.decide(&r, 17, 18), Action::None);
        // ceil(18 × 0.6 / 0.7) = 16.
        assert_eq!(t.decide(&r, 20, 18), Action::In(2));
        // Bounded by the minimum.
        let mut t = Tracker::default();
        for _ in 0..15 {
            t.observe(&r, Some(0.0), 20);
        }
        assert_eq!(t.decide(&r, 15, 20), Action::In(19));
    }
}
