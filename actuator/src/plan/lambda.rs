//! Lambda's side of a plan: memory, provisioned concurrency (constant, or by hour
//! through Application Auto Scaling) and reserved concurrency, and the order that
//! keeps every step valid.

use adaptd_engine::spec::{LambdaConfig, Provisioned};
use adaptd_engine::zone::Zone;
use serde::{Deserialize, Serialize};

use super::call::{Call, Scalable};
use super::{IacOnly, ScheduledStep, Target, change_points};

const PC: Scalable = Scalable::LambdaProvisionedConcurrency;

/// The settings of a function adaptd may change through the API.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LambdaSettings {
    /// Memory (MB).
    pub memory_mb: u32,
    /// Provisioned concurrency: none, constant or by hour of day (in the target's zone).
    pub provisioned: Provisioned,
    /// Reserved concurrency, if any.
    pub reserved_concurrency: Option<u32>,
    /// The zone an hourly schedule is in when it is not the target's: read from the
    /// live scheduled actions when any of them is in another zone (a component whose
    /// `timezone` changed), so the plan puts them again in the target's zone. `None`:
    /// the target's zone (a recommendation; live actions already in it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule_timezone: Option<Zone>,
}

impl From<&LambdaConfig> for LambdaSettings {
    fn from(l: &LambdaConfig) -> Self {
        Self {
            memory_mb: l.memory_mb,
            provisioned: Provisioned::from_hourly(l.provisioned.hourly()),
            reserved_concurrency: l.reserved_concurrency,
            schedule_timezone: None,
        }
    }
}

/// A scheduled action of `scalable` at `step` (a local hour of `timezone`): one
/// encoding for Lambda and ECS.
pub(super) fn action(
    scalable: Scalable,
    resource_id: &str,
    step: ScheduledStep,
    timezone: Zone,
) -> Call {
    Call::PutScheduledAction {
        scalable,
        resource_id: resource_id.to_owned(),
        scheduled_action_name: scalable.action_name(step.hour),
        schedule: step.cron(),
        hour: step.hour,
        timezone,
        capacity: step.value,
    }
}

/// Reserved concurrency `b` allows at least what `a` allows (none = unlimited).
fn looser(a: Option<u32>, b: Option<u32>) -> bool {
    match (a, b) {
        (_, None) => true,
        (None, Some(_)) => false,
        (Some(x), Some(y)) => y >= x,
    }
}

fn reserved_call(t: &Target, r: Option<u32>) -> Call {
    match r {
        Some(n) => Call::PutFunctionConcurrency {
            function_name: t.function_name.clone(),
            reserved_concurrent_executions: n,
        },
        None => Call::DeleteFunctionConcurrency {
            function_name: t.function_name.clone(),
        },
    }
}

/// Calls for provisioned concurrency, or an [`IacOnly`] item when there is no alias.
/// A schedule whose levels stay but whose zone changes has every action put again in
/// the new zone, and nothing else.
fn provisioned_calls(
    t: &Target,
    from_settings: &LambdaSettings,
    to_settings: &LambdaSettings,
) -> Result<Vec<Call>, IacOnly> {
    let (from, to) = (&from_settings.provisioned, &to_settings.provisioned);
    let zone = to_settings.schedule_timezone.unwrap_or(t.timezone);
    let rezone = matches!(from, Provisioned::Hourly(_))
        && from_settings.schedule_timezone.unwrap_or(t.timezone) != zone;
    if from == to && !rezone {
        return Ok(Vec::new());
    }
    let (Some(qualifier), Some(rid)) = (t.qualifier.clone(), t.resource_id()) else {
        return Err(IacOnly {
            field: "provisioned_concurrency".to_owned(),
            from: format!("{from:?}"),
            to: format!("{to:?}"),
            reason: "no alias or version is configured for the function \
                     (apply.components.qualifier); AWS refuses provisioned concurrency on $LATEST"
                .to_owned(),
        });
    };
    let fname = t.function_name.clone();
    let mut calls = Vec::new();
    let old_points = match from {
        Provisioned::Hourly(h) => change_points(h),
        _ => Vec::new(),
    };
    match to {
        Provisioned::Hourly(h) if from == to => {
            for step in change_points(h) {
                calls.push(action(PC, &rid, step, zone));
            }
        }
        Provisioned::Hourly(h) => {
            let points = change_points(h);
            let lo = h.iter().copied().min().unwrap_or(0);
            let hi = h.iter().copied().max().unwrap_or(0);
            // Until the first scheduled action fires, the alias holds the schedule's
            // peak: never less than the schedule wants, and never more than the new
            // reservation allows (a level left from before could be).
            if from.peak() != hi || !matches!(from, Provisioned::Constant(_)) {
                calls.push(Call::PutProvisionedConcurrencyConfig {
                    function_name: fname,
                    qualifier,
                    provisioned_concurrent_executions: hi,
                });
            }
            let same_bounds = matches!(from, Provisioned::Hourly(o)
                if o.iter().min() == h.iter().min() && o.iter().max() == h.iter().max());
            if !same_bounds {
                calls.push(Call::RegisterScalableTarget {
                    scalable: PC,
                    resource_id: rid.clone(),
                    min_capacity: lo,
                    max_capacity: hi,
                });
            }
            for old in &old_points {
                if !points.iter().any(|p| p.hour == old.hour) {
                    calls.push(Call::DeleteScheduledAction {
                        scalable: PC,
                        resource_id: rid.clone(),
                        scheduled_action_name: PC.action_name(old.hour),
                    });
                }
            }
            for step in points {
                if rezone || !old_points.contains(&step) {
                    calls.push(action(PC, &rid, step, zone));
                }
            }
        }
        Provisioned::Constant(_) | Provisioned::None => {
            for old in &old_points {
                calls.push(Call::DeleteScheduledAction {
                    scalable: PC,
                    resource_id: rid.clone(),
                    scheduled_action_name: PC.action_name(old.hour),
                });
            }
            if !old_points.is_empty() {
                calls.push(Call::DeregisterScalableTarget {
                    scalable: PC,
                    resource_id: rid,
                });
            }
            calls.push(match to {
                Provisioned::Constant(n) => Call::PutProvisionedConcurrencyConfig {
                    function_name: fname,
                    qualifier,
                    provisioned_concurrent_executions: *n,
                },
                _ => Call::DeleteProvisionedConcurrencyConfig {
                    function_name: fname,
                    qualifier,
                },
            });
        }
    }
    Ok(calls)
}

/// The calls from `from` to `to`, and what is left to IaC.
///
/// Order: a reservation that loosens goes first and one that tightens last, so the
/// reservation never drops below provisioned concurrency between two calls (AWS
/// refuses that); memory next; provisioned concurrency after.
pub(super) fn calls(
    target: &Target,
    from: &LambdaSettings,
    to: &LambdaSettings,
) -> (Vec<Call>, Vec<IacOnly>) {
    let mut calls = Vec::new();
    let mut iac_only = Vec::new();
    let reserved_changes = from.reserved_concurrency != to.reserved_concurrency;
    let loosen = looser(from.reserved_concurrency, to.reserved_concurrency);
    if reserved_changes && loosen {
        calls.push(reserved_call(target, to.reserved_concurrency));
    }
    if from.memory_mb != to.memory_mb {
        calls.push(Call::UpdateFunctionConfiguration {
            function_name: target.function_name.clone(),
            memory_mb: to.memory_mb,
        });
    }
    match provisioned_calls(target, from, to) {
        Ok(c) => calls.extend(c),
        Err(i) => iac_only.push(i),
    }
    if reserved_changes && !loosen {
        calls.push(reserved_call(target, to.reserved_concurrency));
    }
    (calls, iac_only)
}

/// Settings the recommendation keeps (current = recommended) that the live
/// configuration no longer has: someone changed the function since the recommendation
/// was made. Applying would revert their change without anyone having asked for it, so
/// the caller skips such a recommendation; settings the recommendation changes are not
/// drift (a clamped step leaves them between current and recommended).
pub(super) fn drift(
    current: &LambdaSettings,
    recommended: &LambdaSettings,
    live: &LambdaSettings,
) -> Vec<String> {
    let mut out = Vec::new();
    if current.memory_mb == recommended.memory_mb && live.memory_mb != current.memory_mb {
        out.push(format!(
            "memory {} → {} MB",
            current.memory_mb, live.memory_mb
        ));
    }
    if current.provisioned == recommended.provisioned && live.provisioned != current.provisioned {
        out.push(format!(
            "provisioned concurrency {} → {}",
            adaptd_engine::spec::describe_schedule(&current.provisioned.hourly()),
            adaptd_engine::spec::describe_schedule(&live.provisioned.hourly())
        ));
    }
    if current.reserved_concurrency == recommended.reserved_concurrency
        && live.reserved_concurrency != current.reserved_concurrency
    {
        let show = |r: Option<u32>| r.map_or_else(|| "none".to_owned(), |n| n.to_string());
        out.push(format!(
            "reserved concurrency {} → {}",
            show(current.reserved_concurrency),
            show(live.reserved_concurrency)
        ));
    }
    out
}
