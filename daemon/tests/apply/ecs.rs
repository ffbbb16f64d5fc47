//! Guarded apply of ECS-on-Fargate changes end to end against moto (cluster `shop`,
//! service `api` behind the ALB `shop-alb`, task definition `shop-api:1` of 512 CPU
//! units, 1024 MB, ARM64, 3 tasks; tests/moto/seed.py --ecs): a dry run that prints
//! the calls and changes nothing, an execution whose new revision, task count and
//! scheduled actions are read back through the AWS SDK, a re-apply that calls
//! nothing, and target tracking on ALBRequestCountPerTarget verified worse and rolled
//! back to the revision, count and scaling that ran before.

use std::time::Duration;

use aws_sdk_applicationautoscaling::types::{ScalableDimension, ServiceNamespace};
use serde_json::{Value, json};

use super::apply_support::*;
use super::service_support::{Proc, Scratch, moto_seeded, serial};

/// The service's size and count as the recommendation states them.
fn fargate(vcpu: f64, memory_mb: u32, tasks: &Value, tracking: Option<Value>) -> Value {
    let mut v = json!({"platform": "fargate", "vcpu": vcpu, "memory_mb": memory_mb,
        "architecture": "arm64", "tasks": tasks, "per_task_concurrency": 8});
    if let Some(t) = tracking {
        v["target_tracking"] = t;
    }
    v
}

/// `api` as the seed makes it.
fn seeded_api() -> Value {
    fargate(0.5, 1024, &json!(vec![3u32; 24]), None)
}

/// 2 tasks at night, 5 from 08 to 18 h UTC.
fn business_hours_tasks() -> Value {
    let h: Vec<u32> = (0..24)
        .map(|i| if (8..18).contains(&i) { 5 } else { 2 })
        .collect();
    json!(h)
}

const TARGET: &str =
    "[[apply.components]]\nname = \"shop-0000\"\ncluster = \"shop\"\nservice = \"api\"\n";

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
    let cfg = config(&dir, &m, TARGET);
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
    let out = apply(&cfg, &recs, true);
    let t = text(&out);
    assert!(out.status.success(), "{t}");
    assert!(
        t.contains("shop-0000: nothing to do (live configuration matches)"),
        "{t}"
    );
    assert_eq!(writes(&m), made, "re-apply made calls");
    assert_eq!(service(&m), after);
}

#[test]
fn ecs_target_tracking_made_worse_is_rolled_back() {
    use adaptd::apply::{ApplyOutcome, Request, Trigger, apply_recommendation, verify_due};
    use adaptd::store::{SqlStore, Store};
    use adaptd_actuator::verify::Decision;
    use adaptd_actuator::wal::Crashpoint;

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
    let cfg_path = config(&dir, &m, &format!("verify_window_minutes = 5\n{TARGET}"));
    let config = adaptd_config::Config::load(&cfg_path).unwrap();
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(&recs).unwrap()).unwrap();
    let rec: adaptd_optimizer::recommend::Recommendation =
        serde_json::from_value(doc["components"][0].clone()).unwrap();
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
        let store = SqlStore::open(
            &config.store,
            &dir.0,
            "test".to_owned(),
            Duration::from_secs(30),
        )
        .await
        .unwrap();
        store.migrate().await.unwrap();
        let mut settings = adaptd::apply::aws_settings(&config.apply);
        settings.credentials = Some(aws_sdk_lambda::config::SharedCredentialsProvider::new(
            aws_sdk_lambda::config::Credentials::new(
                "AKIAIOSFODNN7EXAMPLE",
                "secret",
                None,
                None,
                "test",
            ),
        ));
        let aws = adaptd_actuator::aws::Aws::connect(&settings).await;
        let crash = Crashpoint::default();
        let outcome = apply_recommendation(
            &store,
            &config.apply,
            &aws,
            &Request {
                rec: &rec,
                recommendation_id: None,
                approved: false,
                environment: None,
                trigger: Trigger::Cycle,
                execute: true,
                crash: &crash,
            },
        )
        .await
        .unwrap();
        let ApplyOutcome::Executed { execution, .. } = outcome else {
            panic!("not executed: {outcome:?}");
        };
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

        // 100 requests a minute, no errors before the run, 20 a minute after it.
        let start_minute = execution_started_minute(&execution.run_id);
        let mut csv = String::from("timestamp,component,metric,stat,value\n");
        for m in start_minute - 10..start_minute + 20 {
            let errors = if m < start_minute { 0 } else { 20 };
            csv.push_str(&format!(
                "{t},{FUNCTION},invocations,sum,100\n{t},{FUNCTION},errors,sum,{errors}\n",
                t = m * 60
            ));
        }
        let path = dir.path("telemetry.csv");
        std::fs::write(&path, csv).unwrap();
        let telemetry = adaptd_collectors::load(path.to_str().unwrap()).unwrap();
        let now = start_minute * 60_000;
        let judged = verify_due(&store, &config.apply, &aws, &telemetry, now + 600_000)
            .await
            .unwrap();
        assert_eq!(judged.len(), 1, "{judged:?}");
        assert!(
            matches!(&judged[0].1, Decision::Rollback(r) if r.starts_with("error rate rose")),
            "{judged:?}"
        );
        let log = store.audit_log(50, None).await.unwrap();
        let rolled = log
            .iter()
            .find(|e| e.action == "apply.finish" && e.payload["trigger"] == "rollback")
            .expect("the rollback's finish entry");
        assert_eq!(rolled.outcome, "applied");
    });
    // Back on revision 1 (pinned, not a new copy), 3 tasks, no scaling left.
    assert_eq!(service(&m), seeded_service());
}
