//! Application Auto Scaling calls for scheduled provisioned concurrency: the scalable
//! target of an alias and adaptd's scheduled actions on it (`adaptd-pc-HH`, one per
//! hour at which the level changes, cron in UTC).

use aws_sdk_applicationautoscaling::Client;
use aws_sdk_applicationautoscaling::types::{
    ScalableDimension, ScalableTargetAction, ScheduledAction, ServiceNamespace,
};

use super::{AwsError, i32_of, u32_of};
use crate::plan::{ACTION_PREFIX, Call, ScheduledStep, schedule_of};

const DIM: ScalableDimension = ScalableDimension::LambdaFunctionProvisionedConcurrency;

pub(super) async fn execute(c: &Client, call: &Call) -> Result<(), AwsError> {
    match call {
        Call::RegisterScalableTarget {
            resource_id,
            min_capacity,
            max_capacity,
        } => c
            .register_scalable_target()
            .service_namespace(ServiceNamespace::Lambda)
            .resource_id(resource_id)
            .scalable_dimension(DIM)
            .min_capacity(i32_of(*min_capacity))
            .max_capacity(i32_of(*max_capacity))
            .send()
            .await
            .map(drop)
            .map_err(|e| AwsError::new("application-autoscaling:RegisterScalableTarget", &e)),
        Call::PutScheduledAction {
            resource_id,
            scheduled_action_name,
            schedule,
            timezone,
            capacity,
            ..
        } => c
            .put_scheduled_action()
            .service_namespace(ServiceNamespace::Lambda)
            .resource_id(resource_id)
            .scalable_dimension(DIM)
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
            .map_err(|e| AwsError::new("application-autoscaling:PutScheduledAction", &e)),
        Call::DeleteScheduledAction {
            resource_id,
            scheduled_action_name,
        } => c
            .delete_scheduled_action()
            .service_namespace(ServiceNamespace::Lambda)
            .resource_id(resource_id)
            .scalable_dimension(DIM)
            .scheduled_action_name(scheduled_action_name)
            .send()
            .await
            .map(drop)
            .map_err(|e| AwsError::new("application-autoscaling:DeleteScheduledAction", &e)),
        Call::DeregisterScalableTarget { resource_id } => c
            .deregister_scalable_target()
            .service_namespace(ServiceNamespace::Lambda)
            .resource_id(resource_id)
            .scalable_dimension(DIM)
            .send()
            .await
            .map(drop)
            .map_err(|e| AwsError::new("application-autoscaling:DeregisterScalableTarget", &e)),
        other => Err(AwsError {
            operation: other.iam_action(),
            message: "not an Application Auto Scaling call".to_owned(),
        }),
    }
}

pub(super) async fn is_effective(c: &Client, call: &Call) -> Result<bool, AwsError> {
    Ok(match call {
        Call::RegisterScalableTarget {
            resource_id,
            min_capacity,
            max_capacity,
        } => target(c, resource_id).await? == Some((*min_capacity, *max_capacity)),
        Call::PutScheduledAction {
            resource_id,
            scheduled_action_name,
            schedule,
            timezone,
            capacity,
            ..
        } => actions(c, resource_id).await?.iter().any(|a| {
            a.scheduled_action_name() == scheduled_action_name
                && a.schedule() == schedule
                && a.timezone().unwrap_or("UTC") == timezone.name()
                && a.scalable_target_action().is_some_and(|t| {
                    t.min_capacity() == Some(i32_of(*capacity))
                        && t.max_capacity() == Some(i32_of(*capacity))
                })
        }),
        Call::DeleteScheduledAction {
            resource_id,
            scheduled_action_name,
        } => !actions(c, resource_id)
            .await?
            .iter()
            .any(|a| a.scheduled_action_name() == scheduled_action_name),
        Call::DeregisterScalableTarget { resource_id } => target(c, resource_id).await?.is_none(),
        _ => false,
    })
}

/// (min, max) of the alias's scalable target, if registered.
async fn target(c: &Client, resource_id: &str) -> Result<Option<(u32, u32)>, AwsError> {
    let out = c
        .describe_scalable_targets()
        .service_namespace(ServiceNamespace::Lambda)
        .resource_ids(resource_id)
        .scalable_dimension(DIM)
        .send()
        .await
        .map_err(|e| AwsError::new("application-autoscaling:DescribeScalableTargets", &e))?;
    Ok(out
        .scalable_targets()
        .iter()
        .find(|t| t.resource_id() == resource_id)
        .map(|t| (u32_of(t.min_capacity()), u32_of(t.max_capacity()))))
}

/// The scheduled actions on the alias (every page).
async fn actions(c: &Client, resource_id: &str) -> Result<Vec<ScheduledAction>, AwsError> {
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = c
            .describe_scheduled_actions()
            .service_namespace(ServiceNamespace::Lambda)
            .resource_id(resource_id)
            .scalable_dimension(DIM)
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

/// The 24-hour schedule adaptd's actions on the alias produce, if it has any.
pub(super) async fn schedule(c: &Client, resource_id: &str) -> Result<Option<[u32; 24]>, AwsError> {
    let steps: Vec<ScheduledStep> = actions(c, resource_id)
        .await?
        .iter()
        .filter_map(|a| {
            let hour: u32 = a
                .scheduled_action_name()
                .strip_prefix(ACTION_PREFIX)?
                .parse()
                .ok()?;
            let level = a.scalable_target_action()?.max_capacity()?;
            Some(ScheduledStep {
                hour,
                value: u32_of(level),
            })
        })
        .collect();
    Ok(schedule_of(&steps))
}
