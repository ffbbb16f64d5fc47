//! ECS's side of a plan: the task size (a new task definition revision, copied from
//! the one in use with a new CPU, memory and architecture) and the task count — fixed
//! (the service's desired count), by hour (Application Auto Scaling scheduled actions
//! on `ecs:service:DesiredCount`, the encoding Lambda's schedules use) or target
//! tracking (a scalable target with the policy's bounds and one policy).
//!
//! The size moves before the count, so tasks added by the new count start at the new
//! size.

use adaptd_engine::spec::{Architecture, FargateConfig, Hourly, TrackingMetric, describe_schedule};
use adaptd_engine::zone::Zone;
use serde::{Deserialize, Serialize};

use super::call::{Call, Scalable, TRACKING_POLICY};
use super::lambda::action;
use super::{IacOnly, ServiceTarget, Target, change_points};

const TASKS: Scalable = Scalable::EcsDesiredCount;

/// Who sets an ECS service's task count.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TaskScaling {
    /// The service's desired count, all day.
    Fixed {
        /// Tasks.
        tasks: u32,
    },
    /// adaptd's scheduled actions (`adaptd-tasks-HH`), one per change of level.
    Hourly {
        /// Tasks per hour of day (in the target's zone).
        tasks: Hourly<u32>,
    },
    /// adaptd's target-tracking policy (`adaptd-tracking`) within min and max.
    Tracking {
        /// The metric followed.
        metric: TrackingMetric,
        /// Its target value.
        target_value: f64,
        /// The scalable target's minimum capacity.
        min_tasks: u32,
        /// Its maximum capacity.
        max_tasks: u32,
    },
}

impl TaskScaling {
    /// The simplest representation of a 24-value schedule.
    pub fn from_hourly(h: Hourly<u32>) -> Self {
        if h.iter().all(|&v| v == h[0]) {
            TaskScaling::Fixed { tasks: h[0] }
        } else {
            TaskScaling::Hourly { tasks: h }
        }
    }

    /// Tasks by hour, for a fixed or scheduled count; `None` under target tracking
    /// (the metric decides).
    pub fn levels(&self) -> Option<Hourly<u32>> {
        match self {
            TaskScaling::Fixed { tasks } => Some([*tasks; 24]),
            TaskScaling::Hourly { tasks } => Some(*tasks),
            TaskScaling::Tracking { .. } => None,
        }
    }

    /// (min, max) of the scalable target this scaling registers, if any.
    fn bounds(&self) -> Option<(u32, u32)> {
        match self {
            TaskScaling::Fixed { .. } => None,
            TaskScaling::Hourly { tasks } => Some((
                tasks.iter().copied().min().unwrap_or(0),
                tasks.iter().copied().max().unwrap_or(0),
            )),
            TaskScaling::Tracking {
                min_tasks,
                max_tasks,
                ..
            } => Some((*min_tasks, *max_tasks)),
        }
    }

    /// How an operator reads it (`2 tasks`, `target tracking CPU 70 within 2–10`).
    pub fn describe(&self) -> String {
        match self {
            TaskScaling::Fixed { tasks } => format!("{tasks} tasks"),
            TaskScaling::Hourly { tasks } => format!("tasks {}", describe_schedule(tasks)),
            TaskScaling::Tracking {
                metric,
                target_value,
                min_tasks,
                max_tasks,
            } => format!(
                "target tracking {} {target_value} within {min_tasks}–{max_tasks} tasks",
                metric.aws_name()
            ),
        }
    }
}

/// The settings of an ECS service adaptd may change through the API.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EcsSettings {
    /// The task definition in use (`family:revision`), when read from AWS; `None` for
    /// a size the recommendation asks for, which a new revision will carry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_definition: Option<String>,
    /// Task CPU units (1024 = 1 vCPU).
    pub cpu_units: u32,
    /// Task memory (MB).
    pub memory_mb: u32,
    /// CPU architecture.
    pub architecture: Architecture,
    /// The task count.
    pub scaling: TaskScaling,
    /// The zone an hourly schedule is in when it is not the target's: read from the
    /// live scheduled actions when any of them is in another zone (a component whose
    /// `timezone` changed), so the plan puts them again in the target's zone. `None`:
    /// the target's zone (a recommendation; live actions already in it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule_timezone: Option<Zone>,
}

impl From<&FargateConfig> for EcsSettings {
    fn from(f: &FargateConfig) -> Self {
        Self {
            task_definition: None,
            cpu_units: f.cpu_units(),
            memory_mb: f.memory_mb,
            architecture: f.architecture,
            scaling: match &f.target_tracking {
                Some(t) => TaskScaling::Tracking {
                    metric: t.metric,
                    target_value: t.target_value,
                    min_tasks: t.min_tasks,
                    max_tasks: t.max_tasks,
                },
                None => TaskScaling::from_hourly(f.tasks),
            },
            schedule_timezone: None,
        }
    }
}

impl EcsSettings {
    /// Same CPU, memory and architecture (the revision aside).
    pub fn same_size(&self, o: &EcsSettings) -> bool {
        self.cpu_units == o.cpu_units
            && self.memory_mb == o.memory_mb
            && self.architecture == o.architecture
    }

    /// The zone its hourly schedule is in on `target`.
    fn zone(&self, target: &Target) -> Zone {
        self.schedule_timezone.unwrap_or(target.timezone)
    }

    fn describe_size(&self) -> String {
        format!(
            "{} CPU units {} MB {}",
            self.cpu_units, self.memory_mb, self.architecture
        )
    }
}

/// The family of `family:revision` (or of a task definition ARN).
pub fn family(task_definition: &str) -> &str {
    let name = task_definition
        .rsplit_once('/')
        .map_or(task_definition, |(_, n)| n);
    name.split_once(':').map_or(name, |(f, _)| f)
}

fn no_service(field: &str, from: String, to: String) -> IacOnly {
    IacOnly {
        field: field.to_owned(),
        from,
        to,
        reason: "no ECS cluster is configured for the component \
                 (apply.components.cluster or apply.default_cluster)"
            .to_owned(),
    }
}

/// The calls from `from` to `to`, and what is left to IaC.
pub(super) fn calls(
    target: &Target,
    from: &EcsSettings,
    to: &EcsSettings,
) -> (Vec<Call>, Vec<IacOnly>) {
    let mut calls = Vec::new();
    let mut iac_only = Vec::new();
    let Some(svc) = &target.service else {
        if !from.same_size(to) {
            iac_only.push(no_service(
                "task_size",
                from.describe_size(),
                to.describe_size(),
            ));
        }
        if from.scaling != to.scaling {
            iac_only.push(no_service(
                "tasks",
                from.scaling.describe(),
                to.scaling.describe(),
            ));
        }
        return (calls, iac_only);
    };
    if !from.same_size(to) {
        match size_calls(svc, from, to) {
            Ok(c) => calls.extend(c),
            Err(i) => iac_only.push(i),
        }
    }
    // A schedule whose levels stay but whose zone changes has every action put again
    // in the new zone, and nothing else.
    let zone = to.zone(target);
    let rezone = matches!(from.scaling, TaskScaling::Hourly { .. }) && from.zone(target) != zone;
    if from.scaling != to.scaling || rezone {
        match scaling_calls(svc, (zone, rezone), &from.scaling, &to.scaling) {
            Ok(c) => calls.extend(c),
            Err(i) => iac_only.push(i),
        }
    }
    (calls, iac_only)
}

/// A revision to go back to (a rollback: `to` was read live) is used as it is; a new
/// size is a copy of the revision in use.
fn size_calls(
    svc: &ServiceTarget,
    from: &EcsSettings,
    to: &EcsSettings,
) -> Result<Vec<Call>, IacOnly> {
    let update = |task_definition: String| Call::UpdateServiceTaskDefinition {
        cluster: svc.cluster.clone(),
        service: svc.service.clone(),
        task_definition,
        cpu_units: to.cpu_units,
        memory_mb: to.memory_mb,
        architecture: to.architecture,
    };
    if let Some(td) = &to.task_definition {
        return Ok(vec![update(td.clone())]);
    }
    let Some(base) = &from.task_definition else {
        return Err(IacOnly {
            field: "task_size".to_owned(),
            from: from.describe_size(),
            to: to.describe_size(),
            reason: "the service's task definition was not read from AWS".to_owned(),
        });
    };
    Ok(vec![
        Call::RegisterTaskDefinition {
            based_on: base.clone(),
            cpu_units: to.cpu_units,
            memory_mb: to.memory_mb,
            architecture: to.architecture,
        },
        update(family(base).to_owned()),
    ])
}

/// The task count's calls; `(zone, rezone)`: the zone of the new schedule's actions,
/// and whether the live ones are in another (every action is then put again).
fn scaling_calls(
    svc: &ServiceTarget,
    (zone, rezone): (Zone, bool),
    from: &TaskScaling,
    to: &TaskScaling,
) -> Result<Vec<Call>, IacOnly> {
    let rid = svc.resource_id();
    let mut calls = Vec::new();
    let old_points = match from {
        TaskScaling::Hourly { tasks } => change_points(tasks),
        _ => Vec::new(),
    };
    let new_points = match to {
        TaskScaling::Hourly { tasks } => change_points(tasks),
        _ => Vec::new(),
    };
    let delete_policy = Call::DeleteScalingPolicy {
        resource_id: rid.clone(),
        policy_name: TRACKING_POLICY.to_owned(),
    };
    if matches!(from, TaskScaling::Tracking { .. }) && !matches!(to, TaskScaling::Tracking { .. }) {
        calls.push(delete_policy);
    }
    for old in &old_points {
        if !new_points.iter().any(|p| p.hour == old.hour) {
            calls.push(Call::DeleteScheduledAction {
                scalable: TASKS,
                resource_id: rid.clone(),
                scheduled_action_name: TASKS.action_name(old.hour),
            });
        }
    }
    match (to.bounds(), from.bounds()) {
        (None, Some(_)) => calls.push(Call::DeregisterScalableTarget {
            scalable: TASKS,
            resource_id: rid.clone(),
        }),
        (Some((lo, hi)), old) if old != Some((lo, hi)) => {
            calls.push(Call::RegisterScalableTarget {
                scalable: TASKS,
                resource_id: rid.clone(),
                min_capacity: lo,
                max_capacity: hi,
            });
        }
        _ => {}
    }
    match to {
        TaskScaling::Fixed { tasks } => calls.push(desired(svc, *tasks)),
        TaskScaling::Hourly { tasks } => {
            // Until the first action fires the service runs the schedule's peak, as an
            // alias holds a schedule's peak: never fewer tasks than the schedule wants.
            if !matches!(from, TaskScaling::Hourly { .. }) {
                calls.push(desired(svc, tasks.iter().copied().max().unwrap_or(0)));
            }
            for step in new_points {
                if rezone || !old_points.contains(&step) {
                    calls.push(action(TASKS, &rid, step, zone));
                }
            }
        }
        TaskScaling::Tracking {
            metric,
            target_value,
            ..
        } => {
            let same_policy = matches!(from, TaskScaling::Tracking { metric: m, target_value: v, .. }
                if m == metric && v == target_value);
            if !same_policy {
                let resource_label = match metric {
                    TrackingMetric::Cpu => None,
                    TrackingMetric::AlbRequestCountPerTarget => match &svc.alb_resource_label {
                        Some(l) => Some(l.clone()),
                        None => {
                            return Err(IacOnly {
                                field: "tasks".to_owned(),
                                from: from.describe(),
                                to: to.describe(),
                                reason: "ALBRequestCountPerTarget needs the service's target \
                                         group, and no load balancer was found on the service"
                                    .to_owned(),
                            });
                        }
                    },
                };
                calls.push(Call::PutScalingPolicy {
                    resource_id: rid,
                    policy_name: TRACKING_POLICY.to_owned(),
                    metric: *metric,
                    target_value: *target_value,
                    resource_label,
                });
            }
        }
    }
    Ok(calls)
}

fn desired(svc: &ServiceTarget, tasks: u32) -> Call {
    Call::UpdateServiceDesiredCount {
        cluster: svc.cluster.clone(),
        service: svc.service.clone(),
        desired_count: tasks,
    }
}

/// Settings the recommendation keeps that the live service no longer has (see the
/// Lambda side's `drift`).
pub(super) fn drift(
    current: &EcsSettings,
    recommended: &EcsSettings,
    live: &EcsSettings,
) -> Vec<String> {
    let mut out = Vec::new();
    if current.same_size(recommended) && !live.same_size(current) {
        out.push(format!(
            "task size {} → {}",
            current.describe_size(),
            live.describe_size()
        ));
    }
    if current.scaling == recommended.scaling && live.scaling != current.scaling {
        out.push(format!(
            "{} → {}",
            current.scaling.describe(),
            live.scaling.describe()
        ));
    }
    out
}

#[cfg(test)]
mod tests;
