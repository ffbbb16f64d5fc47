//! Where a recommendation's changes go, and the live settings they start from.

use adaptd_actuator::aws::{Aws, AwsError};
use adaptd_actuator::plan::{ServiceTarget, Settings, Target};
use adaptd_config::ApplySection;
use adaptd_engine::spec::{Deployment, PlatformKind, TrackingMetric};
use adaptd_optimizer::recommend::Recommendation;

/// The target of the component `rec` is about, with the zone of its schedules (its
/// ECS service's load balancer is read when applying, see [`live_settings`]).
pub fn target(a: &ApplySection, rec: &Recommendation) -> Target {
    let component = rec.component.as_str();
    let (function_name, qualifier) = a.target_for(component);
    Target {
        component: component.to_owned(),
        function_name,
        qualifier,
        service: a
            .service_for(component)
            .map(|(cluster, service)| ServiceTarget {
                cluster,
                service,
                alb_resource_label: None,
            }),
        timezone: rec.timezone,
    }
}

/// The live settings of the component `rec` is about, read from AWS (`None` for a
/// service whose cluster is not configured: nothing to read, and the plan says so);
/// for a move to ALB request-count tracking, the target's load balancer too.
pub async fn live_settings(
    aws: &Aws,
    rec: &Recommendation,
    target: &mut Target,
) -> Result<Option<Settings>, AwsError> {
    let Some(current) = &rec.current else {
        return Ok(None);
    };
    match current.deployment.platform() {
        PlatformKind::Lambda => Ok(Some(Settings::Lambda(aws.read(target).await?))),
        PlatformKind::Fargate => {
            let Some(svc) = target.service.as_mut() else {
                return Ok(None);
            };
            let alb_tracking = rec.recommended.as_ref().is_some_and(|r| {
                matches!(&r.deployment, Deployment::Fargate(f) if f.target_tracking.as_ref()
                    .is_some_and(|t| t.metric == TrackingMetric::AlbRequestCountPerTarget))
            });
            if alb_tracking {
                svc.alb_resource_label = aws.alb_resource_label(svc).await?;
            }
            Ok(Some(Settings::Ecs(
                aws.read_service(svc, target.timezone).await?,
            )))
        }
    }
}
