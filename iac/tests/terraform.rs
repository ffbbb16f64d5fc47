//! Terraform repositories under tests/iac, patched for the demo's recommendations and
//! for cases that must be refused. Every patched or generated file is parsed by
//! HashiCorp's own HCL parser (npm @cdktf/hcl2json), and the JSON it reads before and
//! after a patch differs only where the plan says.

mod common;

use std::collections::BTreeSet;

use adaptd_engine::spec::Architecture::{Arm64, X86_64};
use adaptd_engine::spec::Provisioned;
use adaptd_iac::{IacError, Options, Plan, Repo, SuggestionKind, plan, summary, unified_diff};
use common::{fargate, lambda, rec, set};
use serde_json::Value;

/// Leaf paths where two JSON documents differ.
fn json_diff(a: &Value, b: &Value, path: String, out: &mut BTreeSet<String>) {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            for k in x.keys().chain(y.keys()).collect::<BTreeSet<_>>() {
                match (x.get(k), y.get(k)) {
                    (Some(p), Some(q)) => json_diff(p, q, format!("{path}.{k}"), out),
                    _ => {
                        out.insert(format!("{path}.{k}"));
                    }
                }
            }
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
            for (i, (p, q)) in x.iter().zip(y).enumerate() {
                json_diff(p, q, format!("{path}[{i}]"), out);
            }
        }
        _ if a != b => {
            out.insert(path);
        }
        _ => {}
    }
}

/// Checks a plan with the independent parser: every HCL file it writes parses, every
/// line it does not edit is byte-identical, and returns the JSON paths that changed.
fn check_hcl(repo: &Repo, p: &Plan) -> BTreeSet<String> {
    let changes = p.patched().unwrap();
    let hcl: Vec<(String, String, Option<String>)> = changes
        .iter()
        .filter(|(path, c)| {
            (path.ends_with(".tf") || path.ends_with(".tfvars")) && c.after.is_some()
        })
        .map(|(path, c)| (path.clone(), c.after.clone().unwrap(), c.before.clone()))
        .collect();
    let after = common::hcl2json(
        &hcl.iter()
            .map(|(p, a, _)| (p.clone(), a.clone()))
            .collect::<Vec<_>>(),
    );
    let before_files: Vec<(String, String)> = hcl
        .iter()
        .filter_map(|(p, _, b)| b.clone().map(|b| (p.clone(), b)))
        .collect();
    let before = common::hcl2json(&before_files);
    let mut changed = BTreeSet::new();
    for (path, old) in &before {
        let new = &after.iter().find(|(p, _)| p == path).unwrap().1;
        json_diff(old, new, path.clone(), &mut changed);
    }
    // Unchanged parts are byte-identical: every line the diff removes holds an edit.
    for e in &p.edits {
        assert!(
            repo.files.contains_key(&e.file),
            "edit of unknown file {}",
            e.file
        );
    }
    for (path, c) in &changes {
        let (Some(old), Some(new)) = (&c.before, &c.after) else {
            continue;
        };
        let edited: BTreeSet<usize> = p
            .edits
            .iter()
            .filter(|e| e.file == *path)
            .flat_map(|e| {
                let first = old[..e.range.start].matches('\n').count();
                let last = old[..e.range.end].matches('\n').count();
                first..=last
            })
            .collect();
        let diff = similar::TextDiff::from_lines(old.as_str(), new.as_str());
        for op in diff.ops() {
            for i in op.old_range() {
                if op.tag() != similar::DiffTag::Equal {
                    assert!(
                        edited.contains(&i),
                        "{path}: line {} changed without an edit",
                        i + 1
                    );
                }
            }
        }
    }
    changed
}

#[test]
fn the_demo_recommendations_patch_the_shop_repository() {
    let repo = common::repo("terraform-shop");
    let p = plan(&common::demo(), &repo, &Options::default()).unwrap();
    let diff = unified_diff(&p.patched().unwrap());
    common::golden("terraform-shop.diff", &diff);
    common::golden("terraform-shop.summary.txt", &summary(&p));
    let changed = check_hcl(&repo, &p);
    let want: BTreeSet<String> = [
        "lambdas.tf.locals[0].small_functions.auth-token.memory",
        "lambdas.tf.locals[0].small_functions.email-sender.memory",
        "locals.tf.locals[0].report_memory",
        "main.tf.resource.aws_lambda_function.pdf_export[0].memory_size",
        "main.tf.resource.aws_lambda_function.thumbnail_worker[0].memory_size",
        "main.tf.resource.aws_lambda_function.thumbnail_worker[0].architectures[0]",
        "main.tf.resource.aws_lambda_provisioned_concurrency_config",
        "prod.auto.tfvars.image_resize_memory",
        "terraform.tfvars.checkout_memory",
    ]
    .into_iter()
    .map(str::to_owned)
    .collect();
    assert_eq!(changed, want);
    // Every component with a change was found; nothing was silently skipped.
    assert!(
        p.suggestions
            .iter()
            .all(|s| s.kind != SuggestionKind::NotFound),
        "{}",
        summary(&p)
    );
    assert_eq!(p.components.len(), 8);
    assert!(p.notes.iter().any(|n| n.contains("module.vpc")));
}

#[test]
fn schedules_follow_the_recommended_hours_in_utc() {
    let repo = common::repo("terraform-shop");
    let demo = common::demo();
    let p = plan(&demo, &repo, &Options::default()).unwrap();
    let file = p
        .generated
        .iter()
        .find(|g| g.path == "adaptd_thumbnail_worker.tf")
        .unwrap();
    let json = &common::hcl2json(&[(file.path.clone(), file.text.clone())])[0].1;
    let actions = json["resource"]["aws_appautoscaling_scheduled_action"]
        .as_object()
        .unwrap();
    let rec = demo
        .components
        .iter()
        .find(|r| r.component == "thumbnail-worker")
        .unwrap();
    let adaptd_engine::spec::Deployment::Lambda(l) = &rec.recommended.as_ref().unwrap().deployment
    else {
        panic!("not lambda")
    };
    let hourly = l.provisioned.hourly();
    // Replaying the actions through a day gives the recommended level at every hour.
    let mut steps: Vec<(usize, u64)> = actions
        .values()
        .map(|a| {
            let a = &a[0];
            let cron = a["schedule"].as_str().unwrap();
            let hour: usize = cron.split(' ').nth(1).unwrap().parse().unwrap();
            assert_eq!(a["timezone"], "UTC");
            let t = &a["scalable_target_action"][0];
            assert_eq!(t["min_capacity"], t["max_capacity"]);
            (hour, t["min_capacity"].as_u64().unwrap())
        })
        .collect();
    steps.sort_unstable();
    for (h, want) in hourly.iter().enumerate() {
        let level = steps
            .iter()
            .rev()
            .find(|s| s.0 <= h)
            .unwrap_or(steps.last().unwrap())
            .1;
        assert_eq!(level, u64::from(*want), "hour {h}");
    }
    let target = &json["resource"]["aws_appautoscaling_target"]["adaptd_thumbnail_worker"][0];
    assert_eq!(
        target["scalable_dimension"],
        "lambda:function:ProvisionedConcurrency"
    );
    assert_eq!(
        target["resource_id"],
        "function:${aws_lambda_function.thumbnail_worker.function_name}:${aws_lambda_alias.thumbnail_worker.name}"
    );
}

#[test]
fn migration_modules_parse_and_carry_the_recommendation() {
    let repo = common::repo("terraform-shop");
    let p = plan(&common::demo(), &repo, &Options::default()).unwrap();
    let tf: Vec<(String, String)> = p
        .generated
        .iter()
        .filter(|g| g.path.starts_with("adaptd-migrations/") && g.path.ends_with(".tf"))
        .map(|g| (g.path.clone(), g.text.clone()))
        .collect();
    assert_eq!(tf.len(), 6, "variables, main and outputs of two modules");
    let parsed = common::hcl2json(&tf);
    let vars = &parsed
        .iter()
        .find(|(p, _)| p == "adaptd-migrations/search-api-fargate/variables.tf")
        .unwrap()
        .1;
    assert_eq!(vars["variable"]["cpu"][0]["default"], 1024);
    assert_eq!(vars["variable"]["memory"][0]["default"], 2048);
    assert_eq!(
        vars["variable"]["tasks_by_hour"][0]["default"]
            .as_array()
            .unwrap()
            .len(),
        24
    );
    let main = &parsed
        .iter()
        .find(|(p, _)| p == "adaptd-migrations/search-api-fargate/main.tf")
        .unwrap()
        .1;
    for r in [
        "aws_ecs_service",
        "aws_ecs_task_definition",
        "aws_lb_target_group",
        "aws_appautoscaling_target",
        "aws_appautoscaling_scheduled_action",
    ] {
        assert!(main["resource"][r].is_object(), "no {r}");
    }
    let proxy = &parsed
        .iter()
        .find(|(p, _)| p == "adaptd-migrations/orders-db-rds-proxy/variables.tf")
        .unwrap()
        .1;
    assert_eq!(
        proxy["variable"]["engine_family"][0]["default"], "POSTGRESQL",
        "from aws_db_instance.orders"
    );
    for dir in ["search-api-fargate", "orders-db-rds-proxy"] {
        assert!(
            p.generated
                .iter()
                .any(|g| g.path == format!("adaptd-migrations/{dir}/README.md"))
        );
    }
    assert!(
        p.suggestions
            .iter()
            .any(|s| s.component == "orders-db" && s.kind == SuggestionKind::Stateful)
    );
}

fn edge(recs: Vec<adaptd_iac::Recommendation>, options: &Options) -> Plan {
    let repo = common::repo("terraform-edge");
    let p = plan(&set(recs), &repo, options).unwrap();
    check_hcl(&repo, &p);
    p
}

fn reasons(p: &Plan, component: &str) -> String {
    p.suggestions
        .iter()
        .filter(|s| s.component == component)
        .map(|s| s.reason.clone())
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn shared_computed_and_unexpandable_values_become_suggestions() {
    let none = Provisioned::None;
    let p = edge(
        vec![
            rec(
                "shared-a",
                lambda(1024, X86_64, none.clone()),
                lambda(512, X86_64, none.clone()),
            ),
            rec(
                "computed",
                lambda(1024, X86_64, none.clone()),
                lambda(512, X86_64, none.clone()),
            ),
            rec(
                "from-var-map",
                lambda(1024, X86_64, none.clone()),
                lambda(512, X86_64, none),
            ),
        ],
        &Options::default(),
    );
    assert!(p.edits.is_empty(), "{}", summary(&p));
    assert!(
        reasons(&p, "shared-a").contains("local.default_memory is read 2 times"),
        "{}",
        summary(&p)
    );
    assert!(
        reasons(&p, "computed").contains("`var.big ? 2048 : 1024` is computed by Terraform"),
        "{}",
        summary(&p)
    );
    let nf = reasons(&p, "from-var-map");
    assert!(
        nf.contains("aws_lambda_function.dynamic") && nf.contains("var.functions has no default"),
        "{nf}"
    );
}

#[test]
fn missing_settings_are_added_where_they_belong() {
    let none = Provisioned::None;
    let p = edge(
        vec![
            rec(
                "bare",
                lambda(128, X86_64, none.clone()),
                lambda(256, Arm64, none.clone()),
            ),
            rec(
                "module-one",
                lambda(128, X86_64, none.clone()),
                lambda(512, X86_64, none.clone()),
            ),
            rec(
                "beta",
                lambda(512, X86_64, none.clone()),
                lambda(1024, X86_64, none),
            ),
        ],
        &Options::default(),
    );
    let d = unified_diff(&p.patched().unwrap());
    assert!(d.contains("+  memory_size   = 256\n"), "{d}");
    assert!(d.contains("+  architectures = [\"arm64\"]\n"), "{d}");
    // The module's default serves module.two too: the value goes into module.one's call.
    assert!(d.contains(" module \"one\" {\n   source        = \"./modules/fn\"\n   function_name = \"module-one\"\n+  memory_size   = 512\n"), "{d}");
    assert!(
        d.contains("-    beta  = { mem = 512 }\n+    beta  = { mem = 1024 }\n"),
        "{d}"
    );
}

#[test]
fn var_files_named_in_the_config_are_patched_instead_of_defaults() {
    let none = Provisioned::None;
    let r = || {
        vec![rec(
            "queue-worker",
            lambda(256, X86_64, none.clone()),
            lambda(384, X86_64, none.clone()),
        )]
    };
    let by_default = edge(r(), &Options::default());
    assert_eq!(
        by_default.edits[0].file,
        "main.tf",
        "{}",
        summary(&by_default)
    );
    let options = Options {
        var_files: vec!["envs/prod.tfvars".to_owned()],
        ..Options::default()
    };
    let p = edge(r(), &options);
    assert_eq!(p.edits.len(), 1);
    assert_eq!(p.edits[0].file, "envs/prod.tfvars");
    assert_eq!(p.edits[0].replacement, "384");
    let missing = Options {
        var_files: vec!["envs/staging.tfvars".to_owned()],
        ..Options::default()
    };
    let e = plan(&set(r()), &common::repo("terraform-edge"), &missing).unwrap_err();
    assert_eq!(
        e.to_string(),
        "iac.var_files: `envs/staging.tfvars` is not a .tfvars file of the repository"
    );
}

#[test]
fn provisioned_concurrency_is_patched_added_or_refused() {
    let p = edge(
        vec![
            rec(
                "cache-warmer",
                lambda(128, X86_64, Provisioned::Constant(2)),
                lambda(128, X86_64, Provisioned::Constant(5)),
            ),
            rec(
                "api",
                lambda(128, X86_64, Provisioned::None),
                lambda(128, X86_64, Provisioned::Constant(3)),
            ),
            rec(
                "bare",
                lambda(128, X86_64, Provisioned::None),
                lambda(128, X86_64, Provisioned::Constant(1)),
            ),
        ],
        &Options::default(),
    );
    let cache = p
        .edits
        .iter()
        .find(|e| e.component == "cache-warmer")
        .unwrap();
    assert_eq!(
        (cache.file.as_str(), cache.replacement.as_str()),
        ("main.tf", "5")
    );
    assert!(
        cache.description.contains("default of var.cache_pc"),
        "{}",
        cache.description
    );
    let api = p.generated.iter().find(|g| g.component == "api").unwrap();
    let json = &common::hcl2json(&[(api.path.clone(), api.text.clone())])[0].1;
    let cfg = &json["resource"]["aws_lambda_provisioned_concurrency_config"]["adaptd_api"][0];
    assert_eq!(cfg["provisioned_concurrent_executions"], 3);
    assert_eq!(cfg["qualifier"], "${aws_lambda_alias.api.name}");
    assert!(
        reasons(&p, "bare").contains("has no aws_lambda_alias"),
        "{}",
        summary(&p)
    );
}

#[test]
fn a_generated_schedule_no_longer_needed_is_deleted() {
    let mut repo = common::repo("terraform-edge");
    let first = plan(
        &set(vec![rec(
            "api",
            lambda(128, X86_64, Provisioned::None),
            lambda(128, X86_64, Provisioned::Constant(3)),
        )]),
        &repo,
        &Options::default(),
    )
    .unwrap();
    let g = first.generated[0].clone();
    repo.files.insert(g.path.clone(), g.text);
    let second = plan(
        &set(vec![rec(
            "api",
            lambda(128, X86_64, Provisioned::Constant(3)),
            lambda(128, X86_64, Provisioned::None),
        )]),
        &repo,
        &Options::default(),
    )
    .unwrap();
    assert_eq!(second.deleted, vec![g.path.clone()]);
    assert!(second.patched().unwrap()[&g.path].after.is_none());
}

#[test]
fn fargate_services_get_their_size_and_count() {
    let p = edge(
        vec![rec(
            "billing",
            fargate(0.5, 1024, X86_64, [3; 24]),
            fargate(1.0, 2048, Arm64, [2; 24]),
        )],
        &Options::default(),
    );
    let d = unified_diff(&p.patched().unwrap());
    for line in [
        "+  cpu                      = \"1024\"",
        "+  memory                   = \"2048\"",
        "+    cpu_architecture        = \"ARM64\"",
        "+  desired_count   = 2",
    ] {
        assert!(d.contains(line), "{line} not in\n{d}");
    }
}

#[test]
fn a_task_count_by_hour_becomes_scheduled_scaling_of_the_service() {
    let mut tasks = [2u32; 24];
    tasks[8..18].iter_mut().for_each(|t| *t = 5);
    let p = edge(
        vec![rec(
            "billing",
            fargate(0.5, 1024, X86_64, [3; 24]),
            fargate(0.5, 1024, X86_64, tasks),
        )],
        &Options::default(),
    );
    let d = unified_diff(&p.patched().unwrap());
    assert!(
        d.contains("   launch_type     = \"FARGATE\"\n+\n+  lifecycle {\n+    ignore_changes = [desired_count]\n+  }\n }\n"),
        "{d}"
    );
    let g = p
        .generated
        .iter()
        .find(|g| g.path == "adaptd_billing.tf")
        .unwrap();
    let json = &common::hcl2json(&[(g.path.clone(), g.text.clone())])[0].1;
    let target = &json["resource"]["aws_appautoscaling_target"]["adaptd_billing"][0];
    assert_eq!(target["scalable_dimension"], "ecs:service:DesiredCount");
    assert_eq!(
        target["resource_id"],
        "service/${element(split(\"/\", \"arn:aws:ecs:us-east-1:123456789012:cluster/main\"), 1)}/${aws_ecs_service.billing.name}"
    );
    let actions = json["resource"]["aws_appautoscaling_scheduled_action"]
        .as_object()
        .unwrap();
    let mut steps: Vec<(String, u64)> = actions
        .values()
        .map(|a| {
            (
                a[0]["schedule"].as_str().unwrap().to_owned(),
                a[0]["scalable_target_action"][0]["max_capacity"]
                    .as_u64()
                    .unwrap(),
            )
        })
        .collect();
    steps.sort();
    assert_eq!(
        steps,
        [
            ("cron(0 18 * * ? *)".to_owned(), 2),
            ("cron(0 8 * * ? *)".to_owned(), 5)
        ]
    );
}

#[test]
fn reserved_concurrency_is_set_or_released() {
    let none = Provisioned::None;
    let reserved = |r: Option<u32>| match lambda(128, X86_64, none.clone()) {
        adaptd_engine::spec::Deployment::Lambda(mut l) => {
            l.reserved_concurrency = r;
            adaptd_engine::spec::Deployment::Lambda(l)
        }
        other => other,
    };
    let p = edge(
        vec![rec("bare", reserved(None), reserved(Some(10)))],
        &Options::default(),
    );
    let d = unified_diff(&p.patched().unwrap());
    assert!(
        d.contains("+  reserved_concurrent_executions = 10\n"),
        "{d}"
    );
    let mut repo = common::repo("sam-shop");
    repo.files.insert(
        "template.yaml".into(),
        repo.files["template.yaml"].replace(
            "      MemorySize: 256\n",
            "      MemorySize: 256\n      ReservedConcurrentExecutions: 5 # partner limit\n",
        ),
    );
    let p = plan(
        &set(vec![rec(
            "webhook-ingest",
            reserved(Some(5)),
            reserved(None),
        )]),
        &repo,
        &Options::default(),
    )
    .unwrap();
    let after = p.patched().unwrap()["template.yaml"].after.clone().unwrap();
    assert!(!after.contains("ReservedConcurrentExecutions"), "{after}");
    assert_eq!(after, common::repo("sam-shop").files["template.yaml"]);
}

#[test]
fn terraform_json_files_are_named_as_not_searched() {
    let mut repo = common::repo("terraform-edge");
    repo.files.insert("extra.tf.json".into(), "{}".into());
    let p = plan(&set(vec![]), &repo, &Options::default()).unwrap();
    assert!(
        p.notes.iter().any(|n| n.starts_with("extra.tf.json: ")),
        "{:?}",
        p.notes
    );
}

#[test]
fn storage_is_never_migrated_by_adaptd() {
    let p = edge(
        vec![rec(
            "uploads",
            lambda(1024, X86_64, Provisioned::None),
            fargate(0.5, 1024, X86_64, [1; 24]),
        )],
        &Options::default(),
    );
    assert!(
        p.suggestions
            .iter()
            .any(|s| s.kind == SuggestionKind::Stateful && s.reason.contains("file_system_config")),
        "{}",
        summary(&p)
    );
    assert!(p.edits.is_empty());
}

#[test]
fn bad_input_is_an_error_that_says_where() {
    let mut repo = common::repo("terraform-edge");
    repo.files.insert(
        "broken.tf".into(),
        "resource \"a\" \"b\" {\n  x = \n}\n".into(),
    );
    let e = plan(&set(vec![]), &repo, &Options::default()).unwrap_err();
    assert!(
        matches!(&e, IacError::Parse { file, line: 2 | 3, .. } if file == "broken.tf"),
        "{e}"
    );
    let repo = common::repo("terraform-edge");
    let mut options = Options::default();
    options.mappings.insert(
        "api".into(),
        adaptd_iac::ComponentMapping {
            terraform: vec!["aws_lambda_function.nope".into()],
            ..Default::default()
        },
    );
    let e = plan(&set(vec![]), &repo, &options).unwrap_err().to_string();
    assert!(
        e.contains("`aws_lambda_function.nope`") && e.contains("aws_lambda_function.api"),
        "{e}"
    );
}

#[test]
fn an_explicit_mapping_finds_what_names_cannot() {
    let repo = common::repo("terraform-shop");
    let mut options = Options::default();
    options.mappings.insert(
        "catalog-search".into(),
        adaptd_iac::ComponentMapping {
            terraform: vec!["aws_lambda_function.search".into()],
            ..Default::default()
        },
    );
    let none = Provisioned::None;
    let p = plan(
        &set(vec![rec(
            "catalog-search",
            lambda(2048, X86_64, none.clone()),
            lambda(1024, X86_64, none),
        )]),
        &repo,
        &options,
    )
    .unwrap();
    assert_eq!(p.edits.len(), 1, "{}", summary(&p));
    assert_eq!(p.edits[0].replacement, "1024");
}
