//! Application Auto Scaling calls, for Lambda provisioned concurrency and ECS task
//! counts alike: the scalable target, adaptd's scheduled actions on it (`adaptd-pc-HH`
//! or `adaptd-tasks-HH`, one per hour at which the level changes, cron in the target's zone) and, for
//! ECS services, adaptd's target-tracking policy.

use aws_sdk_applicationautoscaling::Client;
use aws_sdk_applicationautoscaling::types::{
    MetricType, PolicyType, PredefinedMetricSpecification, ScalableDimension, ScalableTargetAction,
    ScalingPolicy, ScheduledAction, ServiceNamespace, TargetTrackingScalingPolicyConfiguration,
};

use super::{AwsError, i32_of, u32_of};
use adaptd_engine::zone::Zone;

use crate::plan::{Call, Scalable, ScheduledStep, schedule_of};

/// The SDK's names of what `s` scales.
fn sdk(s: Scalable) -> (ServiceNamespace, ScalableDimension) {
    match s {
        Scalable::LambdaProvisionedConcurrency => (
            ServiceNamespace::Lambda,
            ScalableDimension::LambdaFunctionProvisionedConcurrency,
        ),
        Scalable::EcsDesiredCount => (
            ServiceNamespace::Ecs,
            ScalableDimension::EcsServiceDesiredCount,
        ),
    }
}

pub(super) async fn execute(c: &Client, call: &Call) -> Result<(), AwsError> {
    match call {
        Call::RegisterScalableTarget {
            scalable,
            resource_id,
            min_capacity,
            max_capacity,
        } => {
            let (ns, dim) = sdk(*scalable);
            c.register_scalable_target()
                .service_namespace(ns)
                .resource_id(resource_id)
                .scalable_dimension(dim)
                .min_capacity(i32_of(*min_capacity))
                .max_capacity(i32_of(*max_capacity))
                .send()
                .await
                .map(drop)
                .map_err(|e| AwsError::new("application-autoscaling:RegisterScalableTarget", &e))
        }
        Call::PutScheduledAction {
            scalable,
            resource_id,
            scheduled_action_name,
            schedule,
            timezone,
            capacity,
            ..
        } => {
            let (ns, dim) = sdk(*scalable);
            c.put_scheduled_action()
                .service_namespace(ns)
                .resource_id(resource_id)
                .scalable_dimension(dim)
                .scheduled_action_name(scheduled_action_name)
                .schedule(schedule)
                .timezone(timezone.name())
                .scalable_target_action(
                    ScalableTargetAction::builder()
                        .min_capacity(i32_of(*capacity))
                        .max_capacity(i32_of(*capacity))
                        .build(),
                )
                .send()
                .await
                .map(drop)
                .map_err(|e| AwsError::new("application-autoscaling:PutScheduledAction", &e))
        }
        Call::DeleteScheduledAction {
            scalable,
            resource_id,
            scheduled_action_name,
        } => {
            let (ns, dim) = sdk(*scalable);
            c.delete_scheduled_action()
                .service_namespace(ns)
                .resource_id(resource_id)
                .scalable_dimension(dim)
                .scheduled_action_name(scheduled_action_name)
                .send()
                .await
                .map(drop)
                .map_err(|e| AwsError::new("application-autoscaling:DeleteScheduledAction", &e))
        }
        Call::DeregisterScalableTarget {
            scalable,
            resource_id,
        } => {
            let (ns, dim) = sdk(*scalable);
            c.deregister_scalable_target()
                .service_namespace(ns)
                .resource_id(resource_id)
                .scalable_dimension(dim)
                .send()
                .await
                .map(drop)
                .map_err(|e| AwsError::new("application-autoscaling:DeregisterScalableTarget", &e))
        }
        Call::PutScalingPolicy {
            resource_id,
            policy_name,
            metric,
            target_value,
            resource_label,
        } => {
            let (ns, dim) = sdk(Scalable::EcsDesiredCount);
            let op = "application-autoscaling:PutScalingPolicy";
            let spec = PredefinedMetricSpecification::builder()
                .predefined_metric_type(MetricType::from(metric.aws_name()))
                .set_resource_label(resource_label.clone())
                .build()
                .map_err(|e| AwsError::new(op, &e))?;
            let config = TargetTrackingScalingPolicyConfiguration::builder()
                .target_value(*target_value)
                .predefined_metric_specification(spec)
                .build()
                .map_err(|e| AwsError::new(op, &e))?;
            c.put_scaling_policy()
                .service_namespace(ns)
                .resource_id(resource_id)
                .scalable_dimension(dim)
                .policy_name(policy_name)
                .policy_type(PolicyType::TargetTrackingScaling)
                .target_tracking_scaling_policy_configuration(config)
                .send()
                .await
                .map(drop)
                .map_err(|e| AwsError::new(op, &e))
        }
        Call::DeleteScalingPolicy {
            resource_id,
            policy_name,
        } => {
            let (ns, dim) = sdk(Scalable::EcsDesiredCount);
            c.delete_scaling_policy()
                .service_namespace(ns)
                .resource_id(resource_id)
                .scalable_dimension(dim)
                .policy_name(policy_name)
                .send()
                .await
                .map(drop)
                .map_err(|e| AwsError::new("application-autoscaling:DeleteScalingPolicy", &e))
        }
        other => Err(AwsError {
            operation: other.iam_action(),
            message: "not an Application Auto Scaling call".to_owned(),
        }),
    }
}

pub(super) async fn is_effective(c: &Client, call: &Call) -> Result<bool, AwsError> {
    Ok(match call {
        Call::RegisterScalableTarget {
            scalable,
            resource_id,
            min_capacity,
            max_capacity,
        } => target(c, *scalable, resource_id).await? == Some((*min_capacity, *max_capacity)),
        Call::PutScheduledAction {
            scalable,
            resource_id,
            scheduled_action_name,
            schedule,
            timezone,
            capacity,
            ..
        } => actions(c, *scalable, resource_id).await?.iter().any(|a| {
            a.scheduled_action_name() == scheduled_action_name
                && a.schedule() == schedule
                && a.timezone().unwrap_or("UTC") == timezone.name()
                && a.scalable_target_action().is_some_and(|t| {
                    t.min_capacity() == Some(i32_of(*capacity))
                        && t.max_capacity() == Some(i32_of(*capacity))
                })
        }),
        Call::DeleteScheduledAction {
            scalable,
            resource_id,
            scheduled_action_name,
        } => !actions(c, *scalable, resource_id)
            .await?
            .iter()
            .any(|a| a.scheduled_action_name() == scheduled_action_name),
        Call::DeregisterScalableTarget {
            scalable,
            resource_id,
        } => target(c, *scalable, resource_id).await?.is_none(),
        Call::PutScalingPolicy {
            resource_id,
            policy_name,
            metric,
            target_value,
            resource_label,
        } => policy(c, resource_id, policy_name)
            .await?
            .and_then(|p| tracking_of(&p))
            .is_some_and(|(m, v, l)| {
                m == metric.aws_name() && v == *target_value && l == *resource_label
            }),
        Call::DeleteScalingPolicy {
            resource_id,
            policy_name,
        } => policy(c, resource_id, policy_name).await?.is_none(),
        _ => false,
    })
}

/// (min, max) of the scalable target, if registered.
pub(super) async fn target(
    c: &Client,
    scalable: Scalable,
    resource_id: &str,
) -> Result<Option<(u32, u32)>, AwsError> {
    let (ns, dim) = sdk(scalable);
    let out = c
        .describe_scalable_targets()
        .service_namespace(ns)
        .resource_ids(resource_id)
        .scalable_dimension(dim)
        .send()
        .await
        .map_err(|e| AwsError::new("application-autoscaling:DescribeScalableTargets", &e))?;
    Ok(out
        .scalable_targets()
        .iter()
        .find(|t| t.resource_id() == resource_id)
        .map(|t| (u32_of(t.min_capacity()), u32_of(t.max_capacity()))))
}

/// The scheduled actions on the scalable target (every page).
async fn actions(
    c: &Client,
    scalable: Scalable,
    resource_id: &str,
) -> Result<Vec<ScheduledAction>, AwsError> {
    let (ns, dim) = sdk(scalable);
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = c
            .describe_scheduled_actions()
            .service_namespace(ns.clone())
            .resource_id(resource_id)
            .scalable_dimension(dim.clone())
            .set_next_token(token.take())
            .send()
            .await
            .map_err(|e| AwsError::new("application-autoscaling:DescribeScheduledActions", &e))?;
        out.extend(
            page.scheduled_actions()
                .iter()
                .filter(|a| a.resource_id() == resource_id)
                .cloned(),
        );
        match page.next_token() {
            Some(t) if !t.is_empty() => token = Some(t.to_owned()),
            _ => return Ok(out),
        }
    }
}

/// The 24-hour schedule adaptd's actions on the target produce, if it has any, and
/// the zone to record for it: `None` when every action is in `zone` (the target's),
/// else the first other zone found (AWS reads an action without one in UTC), so that
/// a plan puts them all again in `zone`.
pub(super) async fn schedule(
    c: &Client,
    scalable: Scalable,
    resource_id: &str,
    zone: Zone,
) -> Result<Option<([u32; 24], Option<Zone>)>, AwsError> {
    let all = actions(c, scalable, resource_id).await?;
    let mut ours: Vec<(ScheduledStep, &str)> = Vec::new();
    for a in &all {
        let Some(hour) = a
            .scheduled_action_name()
            .strip_prefix(scalable.action_prefix())
            .and_then(|h| h.parse::<u32>().ok())
        else {
            continue;
        };
        let Some(level) = a.scalable_target_action().and_then(|t| t.max_capacity()) else {
            continue;
        };
        let step = ScheduledStep {
            hour,
            value: u32_of(level),
        };
        ours.push((step, a.timezone().unwrap_or("UTC")));
    }
    let steps: Vec<ScheduledStep> = ours.iter().map(|(s, _)| *s).collect();
    let other = ours
        .iter()
        .find(|(_, z)| *z != zone.name())
        // A zone AWS accepted but this build does not know reads as UTC: still other.
        .map(|(_, z)| {
            z.parse::<Zone>()
                .ok()
                .filter(|p| *p != zone)
                .unwrap_or(Zone::UTC)
        });
    Ok(schedule_of(&steps).map(|h| (h, other)))
}

/// The ECS service's scaling policy named `policy_name`, if any.
pub(super) async fn policy(
    c: &Client,
    resource_id: &str,
    policy_name: &str,
) -> Result<Option<ScalingPolicy>, AwsError> {
    let (ns, dim) = sdk(Scalable::EcsDesiredCount);
    let out = c
        .describe_scaling_policies()
        .service_namespace(ns)
        .resource_id(resource_id)
        .scalable_dimension(dim)
        .policy_names(policy_name)
        .send()
        .await
        .map_err(|e| AwsError::new("application-autoscaling:DescribeScalingPolicies", &e))?;
    Ok(out
        .scaling_policies()
        .iter()
        .find(|p| p.resource_id() == resource_id && p.policy_name() == policy_name)
        .cloned())
}

/// (metric type, target value, resource label) of a target-tracking policy on a
/// predefined metric.
pub(super) fn tracking_of(p: &ScalingPolicy) -> Option<(String, f64, Option<String>)> {
    let t = p.target_tracking_scaling_policy_configuration()?;
    let spec = t.predefined_metric_specification()?;
    Some((
        spec.predefined_metric_type().as_str().to_owned(),
        t.target_value(),
        spec.resource_label().map(str::to_owned),
    ))
}
