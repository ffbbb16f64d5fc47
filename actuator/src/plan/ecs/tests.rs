//! ECS plan examples: the calls for size and count moves, their text, and inverses
//! that restore the revision, the count and the scaling that ran before.

use super::*;
use crate::plan::{Settings, between};

fn target(service: bool, label: Option<&str>) -> Target {
    Target {
        component: "api".into(),
        function_name: "api".into(),
        qualifier: None,
        service: service.then(|| ServiceTarget {
            cluster: "shop".into(),
            service: "api".into(),
            alb_resource_label: label.map(str::to_owned),
        }),
        timezone: Default::default(),
    }
}

fn live(scaling: TaskScaling) -> EcsSettings {
    EcsSettings {
        task_definition: Some("api:3".into()),
        cpu_units: 256,
        memory_mb: 512,
        architecture: Architecture::X86_64,
        scaling,
        schedule_timezone: None,
    }
}

fn wanted(cpu_units: u32, memory_mb: u32, scaling: TaskScaling) -> EcsSettings {
    EcsSettings {
        task_definition: None,
        cpu_units,
        memory_mb,
        architecture: Architecture::Arm64,
        scaling,
        schedule_timezone: None,
    }
}

fn text(calls: &[Call]) -> Vec<String> {
    calls.iter().map(ToString::to_string).collect()
}

fn fixed(tasks: u32) -> TaskScaling {
    TaskScaling::Fixed { tasks }
}

fn cpu_tracking() -> TaskScaling {
    TaskScaling::Tracking {
        metric: TrackingMetric::Cpu,
        target_value: 60.0,
        min_tasks: 2,
        max_tasks: 10,
    }
}

#[test]
fn size_is_a_new_revision_and_rollback_pins_the_old_one() {
    let p = between(
        &target(true, None),
        &live(fixed(2)),
        &wanted(512, 1024, fixed(3)),
    );
    assert_eq!(
        text(&p.calls),
        [
            "ecs:RegisterTaskDefinition (copy of api:3) Cpu=512 Memory=1024 RuntimePlatform.CpuArchitecture=ARM64",
            "ecs:UpdateService Cluster=shop Service=api TaskDefinition=api",
            "ecs:UpdateService Cluster=shop Service=api DesiredCount=3",
        ]
    );
    assert_eq!(
        text(&p.inverse().calls),
        [
            "ecs:UpdateService Cluster=shop Service=api TaskDefinition=api:3",
            "ecs:UpdateService Cluster=shop Service=api DesiredCount=2",
        ]
    );
    // The live service at the new size plans nothing, whatever its revision.
    let after = EcsSettings {
        task_definition: Some("api:4".into()),
        ..wanted(512, 1024, fixed(3))
    };
    assert!(between(&target(true, None), &after, &wanted(512, 1024, fixed(3))).is_empty());
}

#[test]
fn hourly_counts_are_scheduled_actions_on_the_service() {
    let mut h = [2u32; 24];
    for v in &mut h[8..18] {
        *v = 6;
    }
    let p = between(
        &target(true, None),
        &live(fixed(2)),
        &EcsSettings {
            task_definition: None,
            ..live(TaskScaling::from_hourly(h))
        },
    );
    assert_eq!(
        text(&p.calls),
        [
            "application-autoscaling:RegisterScalableTarget ServiceNamespace=ecs ResourceId=service/shop/api ScalableDimension=ecs:service:DesiredCount MinCapacity=2 MaxCapacity=6",
            "ecs:UpdateService Cluster=shop Service=api DesiredCount=6",
            "application-autoscaling:PutScheduledAction ServiceNamespace=ecs ResourceId=service/shop/api ScalableDimension=ecs:service:DesiredCount ScheduledActionName=adaptd-tasks-08 Schedule=\"cron(0 8 * * ? *)\" Timezone=UTC ScalableTargetAction.MinCapacity=6 ScalableTargetAction.MaxCapacity=6",
            "application-autoscaling:PutScheduledAction ServiceNamespace=ecs ResourceId=service/shop/api ScalableDimension=ecs:service:DesiredCount ScheduledActionName=adaptd-tasks-18 Schedule=\"cron(0 18 * * ? *)\" Timezone=UTC ScalableTargetAction.MinCapacity=2 ScalableTargetAction.MaxCapacity=2",
        ]
    );
    let back = p.inverse();
    assert_eq!(back.calls.len(), 4, "{:#?}", back.calls);
    assert!(matches!(
        back.calls[2],
        Call::DeregisterScalableTarget { .. }
    ));
    assert!(matches!(
        back.calls[3],
        Call::UpdateServiceDesiredCount {
            desired_count: 2,
            ..
        }
    ));
}

#[test]
fn hourly_counts_are_scheduled_in_the_targets_zone() {
    let mut h = [2u32; 24];
    for v in &mut h[8..18] {
        *v = 6;
    }
    let zoned = Target {
        timezone: "Europe/Berlin".parse().unwrap(),
        ..target(true, None)
    };
    let p = between(
        &zoned,
        &live(fixed(2)),
        &EcsSettings {
            task_definition: None,
            ..live(TaskScaling::from_hourly(h))
        },
    );
    // The hours stay local (08 and 18), the zone goes with each action.
    let actions: Vec<_> = p
        .calls
        .iter()
        .filter_map(|c| match c {
            Call::PutScheduledAction {
                scalable,
                hour,
                timezone,
                ..
            } => Some((*scalable, *hour, timezone.name())),
            _ => None,
        })
        .collect();
    assert_eq!(
        actions,
        [
            (Scalable::EcsDesiredCount, 8, "Europe/Berlin"),
            (Scalable::EcsDesiredCount, 18, "Europe/Berlin"),
        ]
    );
    assert!(
        text(&p.calls)[2].contains(
            "ScheduledActionName=adaptd-tasks-08 Schedule=\"cron(0 8 * * ? *)\" Timezone=Europe/Berlin "
        ),
        "{:#?}",
        text(&p.calls)
    );
    // The plan back removes them; the zone is part of the plan's identity.
    assert!(
        !p.inverse()
            .calls
            .iter()
            .any(|c| matches!(c, Call::PutScheduledAction { .. }))
    );
    let utc = between(
        &target(true, None),
        &live(fixed(2)),
        &EcsSettings {
            task_definition: None,
            ..live(TaskScaling::from_hourly(h))
        },
    );
    assert_ne!(p.id, utc.id);
}

#[test]
fn a_new_zone_alone_puts_the_task_actions_again_and_back() {
    let mut h = [2u32; 24];
    for v in &mut h[8..18] {
        *v = 6;
    }
    let berlin = Target {
        timezone: "Europe/Berlin".parse().unwrap(),
        ..target(true, None)
    };
    let hourly = TaskScaling::from_hourly(h);
    let live_utc = EcsSettings {
        schedule_timezone: Some(Zone::UTC),
        ..live(hourly.clone())
    };
    let want = EcsSettings {
        task_definition: None,
        ..live(hourly.clone())
    };
    let p = between(&berlin, &live_utc, &want);
    let calls = text(&p.calls);
    assert_eq!(calls.len(), 2, "{calls:#?}");
    assert!(
        calls[0].contains("ScheduledActionName=adaptd-tasks-08 Schedule=\"cron(0 8 * * ? *)\" Timezone=Europe/Berlin ScalableTargetAction.MinCapacity=6 ")
            && calls[1].contains("ScheduledActionName=adaptd-tasks-18 Schedule=\"cron(0 18 * * ? *)\" Timezone=Europe/Berlin "),
        "{calls:#?}"
    );
    // The plan back puts them in UTC again, and nothing else.
    let back = text(&p.inverse().calls);
    assert_eq!(back.len(), 2, "{back:#?}");
    assert!(
        back.iter()
            .all(|c| c.contains("PutScheduledAction") && c.contains("Timezone=UTC ")),
        "{back:#?}"
    );
    // Already in the target's zone, or not a schedule: nothing.
    assert!(between(&berlin, &live(hourly), &want).is_empty());
    let fixed_utc = EcsSettings {
        schedule_timezone: Some(Zone::UTC),
        ..live(fixed(2))
    };
    assert!(between(&berlin, &fixed_utc, &live(fixed(2))).is_empty());
    // A re-zone with new levels puts every new action in the new zone.
    let mut h2 = h;
    h2[20] = 4;
    let moved = between(&berlin, &live_utc, &live(TaskScaling::from_hourly(h2)));
    let puts: Vec<_> = moved
        .calls
        .iter()
        .filter_map(|c| match c {
            Call::PutScheduledAction { hour, timezone, .. } => Some((*hour, timezone.name())),
            _ => None,
        })
        .collect();
    assert_eq!(
        puts,
        [
            (8, "Europe/Berlin"),
            (18, "Europe/Berlin"),
            (20, "Europe/Berlin"),
            (21, "Europe/Berlin")
        ]
    );
}

#[test]
fn tracking_registers_bounds_and_one_policy_and_rolls_back_to_the_count() {
    let p = between(
        &target(true, None),
        &live(fixed(4)),
        &EcsSettings {
            task_definition: None,
            ..live(cpu_tracking())
        },
    );
    assert_eq!(
        text(&p.calls),
        [
            "application-autoscaling:RegisterScalableTarget ServiceNamespace=ecs ResourceId=service/shop/api ScalableDimension=ecs:service:DesiredCount MinCapacity=2 MaxCapacity=10",
            "application-autoscaling:PutScalingPolicy ServiceNamespace=ecs ResourceId=service/shop/api ScalableDimension=ecs:service:DesiredCount PolicyName=adaptd-tracking PolicyType=TargetTrackingScaling TargetValue=60 PredefinedMetricType=ECSServiceAverageCPUUtilization",
        ]
    );
    assert_eq!(
        text(&p.inverse().calls),
        [
            "application-autoscaling:DeleteScalingPolicy ServiceNamespace=ecs ResourceId=service/shop/api ScalableDimension=ecs:service:DesiredCount PolicyName=adaptd-tracking",
            "application-autoscaling:DeregisterScalableTarget ServiceNamespace=ecs ResourceId=service/shop/api ScalableDimension=ecs:service:DesiredCount",
            "ecs:UpdateService Cluster=shop Service=api DesiredCount=4",
        ]
    );
    // A new target value only replaces the policy.
    let mut higher = live(cpu_tracking());
    if let TaskScaling::Tracking { target_value, .. } = &mut higher.scaling {
        *target_value = 75.0;
    }
    let p = between(&target(true, None), &live(cpu_tracking()), &higher);
    assert_eq!(p.calls.len(), 1);
    assert!(p.calls[0].to_string().contains("TargetValue=75"));
}

#[test]
fn alb_tracking_needs_the_target_group() {
    let alb = TaskScaling::Tracking {
        metric: TrackingMetric::AlbRequestCountPerTarget,
        target_value: 600.0,
        min_tasks: 1,
        max_tasks: 8,
    };
    let p = between(&target(true, None), &live(fixed(2)), &live(alb.clone()));
    assert_eq!(p.iac_only.len(), 1, "{p:#?}");
    assert!(p.iac_only[0].reason.contains("no load balancer"));
    let label = "app/shop/50dc6c495c0c9188/targetgroup/api/943f017f100becff";
    let p = between(&target(true, Some(label)), &live(fixed(2)), &live(alb));
    assert!(p.iac_only.is_empty());
    assert!(p.calls[1].to_string().ends_with(&format!(
        "PredefinedMetricType=ALBRequestCountPerTarget ResourceLabel={label}"
    )));
}

#[test]
fn without_a_cluster_everything_is_iac_only() {
    let p = between(
        &target(false, None),
        &live(fixed(2)),
        &wanted(512, 1024, fixed(3)),
    );
    assert!(p.is_empty());
    let fields: Vec<&str> = p.iac_only.iter().map(|i| i.field.as_str()).collect();
    assert_eq!(fields, ["task_size", "tasks"]);
    assert!(p.iac_only[0].reason.contains("apply.default_cluster"));
}

#[test]
fn settings_read_back_as_their_platform() {
    let ecs: Settings = live(cpu_tracking()).into();
    let back: Settings = serde_json::from_str(&serde_json::to_string(&ecs).unwrap()).unwrap();
    assert_eq!(back, ecs);
    // An audit log written before ECS existed.
    let old = r#"{"memory_mb":512,"provisioned":{"kind":"constant","value":2},"reserved_concurrency":null}"#;
    let lambda: Settings = serde_json::from_str(old).unwrap();
    assert_eq!(lambda.lambda().map(|l| l.memory_mb), Some(512));
    assert_eq!(
        family("arn:aws:ecs:us-east-1:1:task-definition/api:7"),
        "api"
    );
}

#[test]
fn drift_is_a_kept_setting_changed_live() {
    let cur = wanted(256, 512, fixed(2));
    let rec = wanted(512, 1024, fixed(2));
    let changed = live(fixed(5));
    assert_eq!(drift(&cur, &rec, &changed), ["2 tasks → 5 tasks"]);
    assert!(drift(&cur, &cur, &changed)[0].starts_with("task size"));
}
