//! Guarded apply of ECS-on-Fargate changes end to end against moto (cluster `shop`,
//! service `api` behind the ALB `shop-alb`, task definition `shop-api:1` of 512 CPU
//! units, 1024 MB, ARM64, 3 tasks; tests/moto/seed.py --ecs): a dry run that prints
//! the calls and changes nothing, an execution whose new revision, task count and
//! scheduled actions are read back through the AWS SDK, a re-apply that calls
//! nothing, and target tracking on ALBRequestCountPerTarget verified worse and rolled
//! back to the revision, count and scaling that ran before.

use aws_sdk_applicationautoscaling::types::{ScalableDimension, ServiceNamespace};
use serde_json::json;

use super::apply_support::*;
use super::service_support::{Proc, Scratch, moto_seeded, serial};

/// What moto holds for service `api`, read through the AWS SDK.
#[derive(Debug, PartialEq)]
struct Service {
    /// `family:revision` in use.
    task_definition: String,
    /// (cpu, memory, architecture, container names) of that revision.
    size: (String, String, String, Vec<String>),
    desired: i32,
    /// (min, max) of the scalable target.
    target: Option<(i32, i32)>,
    /// (name, schedule, capacity) of the scheduled actions.
    actions: Vec<(String, String, Option<i32>)>,
    /// (name, metric type, target value, resource label) of the scaling policies.
    policies: Vec<(String, String, f64, Option<String>)>,
}

fn service(m: &Proc) -> Service {
    tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(service_async(m))
}

async fn service_async(m: &Proc) -> Service {
    let conf = sdk_config(m).await;
    let ecs = aws_sdk_ecs::Client::new(&conf);
    let s = aws_sdk_applicationautoscaling::Client::new(&conf);
    let svc = ecs
        .describe_services()
        .cluster("shop")
        .services("api")
        .send()
        .await
        .unwrap()
        .services()[0]
        .clone();
    let arn = svc.task_definition().unwrap().to_owned();
    let td = ecs
        .describe_task_definition()
        .task_definition(&arn)
        .send()
        .await
        .unwrap()
        .task_definition()
        .unwrap()
        .clone();
    let rid = "service/shop/api";
    let dim = ScalableDimension::EcsServiceDesiredCount;
    let target = s
        .describe_scalable_targets()
        .service_namespace(ServiceNamespace::Ecs)
        .resource_ids(rid)
        .scalable_dimension(dim.clone())
        .send()
        .await
        .unwrap()
        .scalable_targets()
        .first()
        .map(|t| (t.min_capacity(), t.max_capacity()));
    let mut actions: Vec<_> = s
        .describe_scheduled_actions()
        .service_namespace(ServiceNamespace::Ecs)
        .resource_id(rid)
        .scalable_dimension(dim.clone())
        .send()
        .await
        .unwrap()
        .scheduled_actions()
        .iter()
        .map(|a| {
            (
                a.scheduled_action_name().to_owned(),
                a.schedule().to_owned(),
                a.scalable_target_action().and_then(|t| t.max_capacity()),
            )
        })
        .collect();
    actions.sort();
    let policies = s
        .describe_scaling_policies()
        .service_namespace(ServiceNamespace::Ecs)
        .resource_id(rid)
        .scalable_dimension(dim)
        .send()
        .await
        .unwrap()
        .scaling_policies()
        .iter()
        .map(|p| {
            let t = p.target_tracking_scaling_policy_configuration().unwrap();
            let spec = t.predefined_metric_specification().unwrap();
            (
                p.policy_name().to_owned(),
                spec.predefined_metric_type().as_str().to_owned(),
                t.target_value(),
                spec.resource_label().map(str::to_owned),
            )
        })
        .collect();
    Service {
        task_definition: arn.rsplit_once('/').unwrap().1.to_owned(),
        size: (
            td.cpu().unwrap_or_default().to_owned(),
            td.memory().unwrap_or_default().to_owned(),
            td.runtime_platform()
                .and_then(|r| r.cpu_architecture())
                .map_or(String::new(), |a| a.as_str().to_owned()),
            td.container_definitions()
                .iter()
                .filter_map(|c| c.name().map(str::to_owned))
                .collect(),
        ),
        desired: svc.desired_count(),
        target,
        actions,
        policies,
    }
}

fn seeded_service() -> Service {
    Service {
        task_definition: "shop-api:1".into(),
        size: (
            "512".into(),
            "1024".into(),
            "ARM64".into(),
            vec!["api".into()],
        ),
        desired: 3,
        target: None,
        actions: Vec::new(),
        policies: Vec::new(),
    }
}

#[test]
fn ecs_dry_run_execute_and_reapply() {
    let _g = serial();
    let dir = Scratch::new("apply-ecs");
    let (m, _) = moto_seeded(&dir, 1, &[], &["--ecs"]);
    assert_eq!(service(&m), seeded_service());
    let recs = recommendation(
        &dir,
        &seeded_api(),
        &fargate(1.0, 2048, &business_hours_tasks(), None),
    );
    let cfg = config(&dir, &m, ECS_TARGET);
    let out = apply(&cfg, &recs, false);
    let t = text(&out);
    assert!(out.status.success(), "{t}");
    for want in [
        "dry run (no --execute); would call:",
        "  ecs:RegisterTaskDefinition (copy of shop-api:1) Cpu=1024 Memory=2048 RuntimePlatform.CpuArchitecture=ARM64\n",
        "  ecs:UpdateService Cluster=shop Service=api TaskDefinition=shop-api\n",
        "  application-autoscaling:RegisterScalableTarget ServiceNamespace=ecs ResourceId=service/shop/api ScalableDimension=ecs:service:DesiredCount MinCapacity=2 MaxCapacity=5\n",
        "  ecs:UpdateService Cluster=shop Service=api DesiredCount=5\n",
        "ScheduledActionName=adaptd-tasks-08 Schedule=\"cron(0 8 * * ? *)\"",
    ] {
        assert!(t.contains(want), "missing `{want}` in:\n{t}");
    }
    assert_eq!(service(&m), seeded_service(), "a dry run changed moto");

    start_recording(&m);
    let out = apply(&cfg, &recs, true);
    let t = text(&out);
    assert!(out.status.success(), "{t}");
    assert!(t.contains(": applied"), "{t}");
    let after = service(&m);
    assert_eq!(
        after,
        Service {
            task_definition: "shop-api:2".into(),
            size: (
                "1024".into(),
                "2048".into(),
                "ARM64".into(),
                vec!["api".into()]
            ),
            // The schedule's peak until the first action fires.
            desired: 5,
            target: Some((2, 5)),
            actions: vec![
                (
                    "adaptd-tasks-08".into(),
                    "cron(0 8 * * ? *)".into(),
                    Some(5)
                ),
                (
                    "adaptd-tasks-18".into(),
                    "cron(0 18 * * ? *)".into(),
                    Some(2)
                ),
            ],
            policies: Vec::new(),
        },
        "{t}"
    );
    let made = writes(&m);
    assert_eq!(made.len(), 6, "{made:?}");
    let (open, calls) = audit(&dir, &cfg);
    assert_eq!(open, 0);
    assert_eq!(calls, ["executed"; 6]);

    // Applied again: the live service is what is recommended.
    assert_eq!(reapply_does_nothing(&m, &cfg, &recs), made);
    assert_eq!(service(&m), after);
}

#[test]
fn ecs_target_tracking_made_worse_is_rolled_back() {
    let _g = serial();
    let dir = Scratch::new("apply-ecs-rollback");
    let (m, seeded) = moto_seeded(&dir, 1, &[], &["--ecs"]);
    let tracking = json!({"metric": "alb_request_count_per_target", "target_value": 600.0,
                          "min_tasks": 2, "max_tasks": 10});
    let recs = recommendation(
        &dir,
        &seeded_api(),
        &fargate(1.0, 2048, &json!(vec![3u32; 24]), Some(tracking)),
    );
    let cfg = config(
        &dir,
        &m,
        &format!("verify_window_minutes = 5\n{ECS_TARGET}"),
    );
    // app/shop-alb/ID/targetgroup/api/ID, from the seeded ARNs.
    let label = format!(
        "{}/{}",
        seeded["ecs"]["load_balancer"]
            .as_str()
            .unwrap()
            .split_once(":loadbalancer/")
            .unwrap()
            .1,
        seeded["ecs"]["target_group"]
            .as_str()
            .unwrap()
            .rsplit_once(':')
            .unwrap()
            .1
    );
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let (config, store, aws) = library(&dir, &cfg).await;
        let execution = execute_as_cycle(&store, &config, &aws, &first_recommendation(&recs)).await;
        // New revision, service on it, scalable target, policy.
        assert_eq!(execution.executed(), 4, "{execution:?}");
        let applied = service_async(&m).await;
        assert_eq!(applied.task_definition, "shop-api:2");
        assert_eq!(applied.target, Some((2, 10)));
        assert_eq!(
            applied.policies,
            [(
                "adaptd-tracking".to_owned(),
                "ALBRequestCountPerTarget".to_owned(),
                600.0,
                Some(label.clone())
            )]
        );
        roll_back_worse(&dir, &store, &config, &aws, &execution).await;
    });
    // Back on revision 1 (pinned, not a new copy), 3 tasks, no scaling left.
    assert_eq!(service(&m), seeded_service());
}
