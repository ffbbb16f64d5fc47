//! ECS services on Fargate in tests/iac/ecs-shop (Terraform, a YAML and a JSON
//! template): task size, a count by hour and target tracking (CPU, and
//! ALBRequestCountPerTarget with the load balancer's resource label), each checked by
//! the independent tools — HashiCorp's HCL parser and cfn-lint — and read back from
//! their output rather than from adaptd's text.

mod common;

use adaptd_engine::spec::Architecture::{Arm64, X86_64};
use adaptd_engine::spec::{Deployment, FargateTracking, TrackingMetric};
use adaptd_iac::{Options, Plan, Repo, plan, summary, unified_diff};
use common::{fargate, rec, set};

fn tracking(d: Deployment, metric: TrackingMetric, target_value: f64) -> Deployment {
    let Deployment::Fargate(mut f) = d else {
        unreachable!()
    };
    f.target_tracking = Some(FargateTracking {
        metric,
        target_value,
        min_tasks: 2,
        max_tasks: 10,
    });
    Deployment::Fargate(f)
}

fn business_hours() -> [u32; 24] {
    let mut t = [2u32; 24];
    t[8..18].iter_mut().for_each(|v| *v = 5);
    t
}

/// The repository after the plan: patched, generated and deleted files applied.
fn after(repo: &Repo, p: &Plan) -> Repo {
    let mut out = repo.clone();
    for (path, c) in p.patched().unwrap() {
        match c.after {
            Some(text) => out.files.insert(path, text),
            None => out.files.remove(&path),
        };
    }
    out
}

/// Templates of `repo` pass cfn-lint; parsed as JSON-ish trees by cfn-lint's own
/// reader is not needed: the checks below read the text cfn-lint accepted.
fn lint(repo: &Repo) {
    let files: Vec<(String, String)> = repo
        .files
        .iter()
        .filter(|(p, _)| p.ends_with(".yaml") || p.ends_with(".json"))
        .map(|(p, t)| (p.clone(), t.clone()))
        .collect();
    common::cfn_lint(&files);
}

#[test]
fn a_bigger_task_by_hour_patches_terraform_and_both_templates() {
    let repo = common::repo("ecs-shop");
    let recs = set(vec![
        rec(
            "api",
            fargate(0.5, 1024, X86_64, [3; 24]),
            fargate(1.0, 2048, Arm64, business_hours()),
        ),
        rec(
            "worker",
            fargate(0.5, 1024, X86_64, [2; 24]),
            tracking(
                fargate(0.5, 1024, X86_64, [2; 24]),
                TrackingMetric::Cpu,
                70.0,
            ),
        ),
    ]);
    let p = plan(&recs, &repo, &Options::default()).unwrap();
    assert!(p.suggestions.is_empty(), "{}", summary(&p));
    let d = unified_diff(&p.patched().unwrap());
    for line in [
        "+  cpu                      = \"1024\"",
        "+      Cpu: \"1024\"",
        "+      Memory: \"2048\"",
        "+      RuntimePlatform:\n+        CpuArchitecture: ARM64",
        "-      DesiredCount: 3 # three tasks all day",
        "+      ResourceId: !Sub \"service/${Cluster}/${Api.Name}\"",
        "Schedule: cron(0 8 * * ? *)\n",
        "+    \"WorkerScaling\": {",
        "\"ResourceId\": {\"Fn::Sub\": \"service/shop/${Worker.Name}\"}",
        "\"PredefinedMetricType\": \"ECSServiceAverageCPUUtilization\"",
    ] {
        assert!(d.contains(line), "`{line}` not in\n{d}");
    }
    let patched = after(&repo, &p);
    lint(&patched);
    let g = p
        .generated
        .iter()
        .find(|g| g.path == "adaptd_api.tf")
        .expect("the schedule of api");
    let json = &common::hcl2json(&[(g.path.clone(), g.text.clone())])[0].1;
    let target = &json["resource"]["aws_appautoscaling_target"]["adaptd_api"][0];
    assert_eq!(target["min_capacity"], 2);
    assert_eq!(target["max_capacity"], 5);
}

#[test]
fn alb_tracking_names_the_load_balancer_and_a_fixed_count_removes_the_scaling() {
    let repo = common::repo("ecs-shop");
    let alb = tracking(
        fargate(0.5, 1024, X86_64, [3; 24]),
        TrackingMetric::AlbRequestCountPerTarget,
        600.0,
    );
    let recs = set(vec![rec(
        "api",
        fargate(0.5, 1024, X86_64, [3; 24]),
        alb.clone(),
    )]);
    let p = plan(&recs, &repo, &Options::default()).unwrap();
    assert!(p.suggestions.is_empty(), "{}", summary(&p));
    let patched = after(&repo, &p);
    lint(&patched);
    let yaml = &patched.files["template.yaml"];
    for want in [
        "Type: AWS::ApplicationAutoScaling::ScalingPolicy",
        "ScalingTargetId: !Ref ApiScaling",
        "PredefinedMetricType: ALBRequestCountPerTarget",
        "ResourceLabel: !Sub \"${Alb.LoadBalancerFullName}/${ApiTargets.TargetGroupFullName}\"",
        "MinCapacity: 2\n",
        "MaxCapacity: 10\n",
    ] {
        assert!(yaml.contains(want), "`{want}` not in\n{yaml}");
    }
    // Terraform: the policy reads the label through the target group's load balancer.
    let g = p
        .generated
        .iter()
        .find(|g| g.path == "adaptd_api.tf")
        .unwrap();
    let json = &common::hcl2json(&[(g.path.clone(), g.text.clone())])[0].1;
    let policy = &json["resource"]["aws_appautoscaling_policy"]["adaptd_api"][0];
    assert_eq!(policy["policy_type"], "TargetTrackingScaling");
    let spec = &policy["target_tracking_scaling_policy_configuration"][0];
    assert_eq!(spec["target_value"], 600);
    let metric = &spec["predefined_metric_specification"][0];
    assert_eq!(metric["predefined_metric_type"], "ALBRequestCountPerTarget");
    assert_eq!(
        metric["resource_label"],
        "${data.aws_lb.adaptd_api.arn_suffix}/${data.aws_lb_target_group.adaptd_api.arn_suffix}"
    );
    assert_eq!(
        json["data"]["aws_lb_target_group"]["adaptd_api"][0]["arn"],
        "${aws_lb_target_group.api.arn}"
    );
    let tf = unified_diff(&p.patched().unwrap());
    assert!(
        tf.contains("+  lifecycle {\n+    ignore_changes = [desired_count]\n+  }"),
        "{tf}"
    );

    // Back to a fixed count: the scaling adaptd wrote goes, the count comes back.
    let mut with_generated = patched.clone();
    with_generated.files.insert(g.path.clone(), g.text.clone());
    let back = set(vec![rec("api", alb, fargate(0.5, 1024, X86_64, [4; 24]))]);
    let p2 = plan(&back, &with_generated, &Options::default()).unwrap();
    assert_eq!(p2.deleted, ["adaptd_api.tf"], "{}", summary(&p2));
    let again = after(&with_generated, &p2);
    lint(&again);
    let yaml = &again.files["template.yaml"];
    assert!(!yaml.contains("ApiScaling"), "{yaml}");
    assert!(yaml.contains("DesiredCount: 4"), "{yaml}");
}

#[test]
fn a_service_without_its_task_definition_or_target_group_is_a_suggestion() {
    let mut repo = common::repo("ecs-shop");
    let yaml = repo.files["template.yaml"]
        .replace("TaskDefinition: !Ref ApiTask", "TaskDefinition: arn:aws:ecs:us-east-1:1:task-definition/api:1")
        .replace("          TargetGroupArn: !Ref ApiTargets\n\n", "\n")
        .replace(
            "      LoadBalancers:\n        - ContainerName: api\n          ContainerPort: 80\n          TargetGroupArn: !Ref ApiTargets\n",
            "",
        );
    repo.files.insert("template.yaml".into(), yaml);
    let alb = tracking(
        fargate(1.0, 2048, X86_64, [3; 24]),
        TrackingMetric::AlbRequestCountPerTarget,
        600.0,
    );
    let p = plan(
        &set(vec![rec("api", fargate(0.5, 1024, X86_64, [3; 24]), alb)]),
        &repo,
        &Options::default(),
    )
    .unwrap();
    let reasons: Vec<String> = p
        .suggestions
        .iter()
        .filter(|s| s.reason.starts_with("template.yaml#Api"))
        .map(|s| format!("{}: {}", s.field, s.reason))
        .collect();
    assert_eq!(reasons.len(), 2, "{reasons:#?}");
    assert!(
        reasons[0].starts_with("fargate_size: template.yaml#Api: its TaskDefinition is not a !Ref")
    );
    assert!(reasons[1].contains("no TargetGroupArn"));
}

#[test]
fn a_move_to_lambda_writes_a_migration_module_that_parses() {
    let repo = common::repo("ecs-shop");
    let mut pc = [0u32; 24];
    pc[8..18].iter_mut().for_each(|v| *v = 4);
    let to = common::lambda(1024, Arm64, adaptd_engine::spec::Provisioned::Hourly(pc));
    let p = plan(
        &set(vec![rec("api", fargate(0.5, 1024, X86_64, [3; 24]), to)]),
        &repo,
        &Options::default(),
    )
    .unwrap();
    let module: Vec<(String, String)> = p
        .generated
        .iter()
        .filter(|g| g.path.starts_with("adaptd-migrations/api-lambda/"))
        .map(|g| (g.path.clone(), g.text.clone()))
        .collect();
    assert_eq!(module.len(), 4, "{}", summary(&p));
    let tf: Vec<(String, String)> = module
        .iter()
        .filter(|(path, _)| path.ends_with(".tf"))
        .cloned()
        .collect();
    let parsed = common::hcl2json(&tf);
    let vars = &parsed
        .iter()
        .find(|(path, _)| path.ends_with("variables.tf"))
        .unwrap()
        .1["variable"];
    assert_eq!(vars["memory_size"][0]["default"], 1024);
    assert_eq!(vars["architecture"][0]["default"], "arm64");
    assert_eq!(vars["reserved_concurrent_executions"][0]["default"], -1);
    let hours = vars["provisioned_by_hour"][0]["default"]
        .as_array()
        .unwrap();
    assert_eq!(hours.len(), 24);
    assert_eq!((hours[7].as_u64(), hours[8].as_u64()), (Some(0), Some(4)));
    let main = &parsed
        .iter()
        .find(|(path, _)| path.ends_with("main.tf"))
        .unwrap()
        .1["resource"];
    assert_eq!(
        main["aws_lb_target_group"]["this"][0]["target_type"],
        "lambda"
    );
    assert_eq!(
        main["aws_lambda_permission"]["alb"][0]["principal"],
        "elasticloadbalancing.amazonaws.com"
    );
    let s = p
        .suggestions
        .iter()
        .find(|s| s.component == "api" && s.field == "platform")
        .expect("the migration suggestion");
    assert_eq!(s.kind, adaptd_iac::SuggestionKind::Migration);
    assert!(
        s.reason.contains("adaptd-migrations/api-lambda/"),
        "{}",
        s.reason
    );
}
