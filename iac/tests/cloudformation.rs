//! CloudFormation and SAM templates under tests/iac, patched at value spans: comments
//! stay, and every patched template passes cfn-lint.

mod common;

use adaptd_engine::spec::Architecture::X86_64;
use adaptd_engine::spec::Provisioned;
use adaptd_iac::{Options, Plan, SuggestionKind, plan, summary, unified_diff};
use common::{lambda, rec, set};

/// Patched templates pass cfn-lint; returns them by path.
fn lint(p: &Plan) -> Vec<(String, String)> {
    let files: Vec<(String, String)> = p
        .patched()
        .unwrap()
        .into_iter()
        .filter(|(path, _)| path.ends_with(".yaml") || path.ends_with(".json"))
        .filter_map(|(path, c)| c.after.map(|a| (path, a)))
        .collect();
    assert!(!files.is_empty(), "nothing patched:\n{}", summary(p));
    common::cfn_lint(&files);
    files
}

/// Comment lines of `before` that the plan did not remove are all in `after`.
fn comments_kept(before: &str, after: &str, removed: &[&str]) {
    for line in before.lines().filter(|l| l.contains('#')) {
        if removed.iter().any(|r| line.contains(r)) {
            continue;
        }
        let text = line.split('#').nth(1).unwrap();
        assert!(after.contains(text), "comment `{text}` lost");
    }
}

#[test]
fn the_demo_recommendations_patch_a_sam_template() {
    let repo = common::repo("sam-shop");
    let p = plan(&common::demo(), &repo, &Options::default()).unwrap();
    common::golden("sam-shop.diff", &unified_diff(&p.patched().unwrap()));
    let files = lint(&p);
    comments_kept(
        &repo.files["template.yaml"],
        &files[0].1,
        &["month-end rush"],
    );
    let fields: Vec<(&str, &str)> = p
        .edits
        .iter()
        .map(|e| (e.component.as_str(), e.field.as_str()))
        .collect();
    for want in [
        ("auth-token", "memory_mb"),
        ("checkout-api", "memory_mb"),
        ("email-sender", "memory_mb"),
        ("report-generator", "memory_mb"),
        ("report-generator", "provisioned_concurrency"),
        ("thumbnail-worker", "memory_mb"),
    ] {
        assert!(
            fields.contains(&want),
            "{want:?} not edited:\n{}",
            summary(&p)
        );
    }
    let auth = p
        .edits
        .iter()
        .find(|e| e.component == "auth-token")
        .unwrap();
    assert!(
        auth.description.contains("parameter AuthTokenMemory"),
        "{}",
        auth.description
    );
    let checkout = p
        .edits
        .iter()
        .find(|e| e.component == "checkout-api")
        .unwrap();
    assert!(
        checkout.description.contains("Globals.Function"),
        "{}",
        checkout.description
    );
    // SAM appends Globals lists to a function's: an inherited architecture cannot be
    // overridden for one function (cfn-lint finds two architectures if it is tried).
    assert!(
        p.suggestions
            .iter()
            .any(|s| s.component == "thumbnail-worker"
                && s.field == "architecture"
                && s.reason.contains("SAM appends")),
        "{}",
        summary(&p)
    );
    // Hourly schedules become scalable targets with one action per step.
    let doc = &files[0].1;
    for (c, id) in [
        ("checkout-api", "CheckoutApi"),
        ("thumbnail-worker", "ThumbnailWorker"),
    ] {
        assert!(
            p.edits
                .iter()
                .any(|e| e.component == c && e.field == "provisioned_concurrency"),
            "{c}: {}",
            summary(&p)
        );
        assert!(
            doc.contains(&format!("  {id}ProvisionedSchedule:\n")),
            "{doc}"
        );
        assert!(
            doc.contains(&format!("ResourceId: !Sub \"function:${{{id}}}:live\"")),
            "{doc}"
        );
    }
    // thumbnail-worker had no alias: SAM publishes one once AutoPublishAlias is set.
    assert!(doc.contains("  ThumbnailWorkerProvisionedSchedule:\n    Type: AWS::ApplicationAutoScaling::ScalableTarget\n    DependsOn: ThumbnailWorkerAliaslive\n"), "{doc}");
}

#[test]
fn the_demo_recommendations_patch_a_json_template() {
    let repo = common::repo("cfn-json");
    let p = plan(&common::demo(), &repo, &Options::default()).unwrap();
    common::golden("cfn-json.diff", &unified_diff(&p.patched().unwrap()));
    lint(&p);
    let mut edited: Vec<&str> = p.edits.iter().map(|e| e.component.as_str()).collect();
    edited.sort_unstable();
    edited.dedup();
    assert_eq!(edited, ["image-resize", "pdf-export"]);
    // image-resize's fixed level on its alias gives way to the schedule.
    let json = &p.patched().unwrap()["template.json"].after.clone().unwrap();
    let doc: serde_json::Value = serde_json::from_str(json).unwrap();
    let r = &doc["Resources"];
    assert!(r["ImageResizeAlias"]["Properties"]["ProvisionedConcurrencyConfig"].is_null());
    let target = &r["ImageResizeProvisionedSchedule"];
    assert_eq!(target["DependsOn"], "ImageResizeAlias");
    assert_eq!(
        target["Properties"]["ResourceId"]["Fn::Sub"],
        "function:${ImageResize}:live"
    );
    let actions = target["Properties"]["ScheduledActions"].as_array().unwrap();
    assert!(actions.iter().all(|a| a["Timezone"] == "UTC"));
}

#[test]
fn constant_provisioned_concurrency_is_set_on_aliases_and_sam_functions() {
    let pc = |n| Provisioned::Constant(n);
    let recs = vec![
        rec(
            "image-resize",
            lambda(1536, X86_64, pc(2)),
            lambda(1536, X86_64, pc(5)),
        ),
        rec(
            "pdf-export",
            lambda(1024, X86_64, Provisioned::None),
            lambda(1024, X86_64, pc(1)),
        ),
        rec(
            "checkout-api",
            lambda(1024, X86_64, Provisioned::None),
            lambda(1024, X86_64, pc(3)),
        ),
        rec(
            "auth-token",
            lambda(1024, X86_64, Provisioned::None),
            lambda(1024, X86_64, pc(2)),
        ),
    ];
    let mut repo = common::repo("cfn-json");
    repo.files.extend(common::repo("sam-shop").files);
    let p = plan(&set(recs), &repo, &Options::default()).unwrap();
    let files = lint(&p);
    let json = &files.iter().find(|f| f.0 == "template.json").unwrap().1;
    let doc: serde_json::Value = serde_json::from_str(json).unwrap();
    let pce = |alias: &str| {
        doc["Resources"][alias]["Properties"]["ProvisionedConcurrencyConfig"]["ProvisionedConcurrentExecutions"].clone()
    };
    assert_eq!(pce("ImageResizeAlias"), 5);
    assert_eq!(pce("PdfExportAlias"), 1);
    let yaml = &files.iter().find(|f| f.0 == "template.yaml").unwrap().1;
    assert!(yaml.contains("      AutoPublishAlias: live\n      ProvisionedConcurrencyConfig:\n        ProvisionedConcurrentExecutions: 3\n"), "{yaml}");
    // auth-token had no alias: SAM needs AutoPublishAlias for provisioned concurrency.
    let auth = &yaml[yaml.find("  AuthToken:").unwrap()..yaml.find("  EmailSender:").unwrap()];
    assert!(
        auth.contains("AutoPublishAlias: live")
            && auth.contains("ProvisionedConcurrentExecutions: 2"),
        "{auth}"
    );
    assert!(
        p.suggestions
            .iter()
            .all(|s| s.kind != SuggestionKind::Manual || s.field != "provisioned_concurrency"),
        "{}",
        summary(&p)
    );
}

#[test]
fn a_schedule_adaptd_wrote_is_kept_rewritten_or_removed() {
    let demo = common::demo();
    let mut repo = common::repo("sam-shop");
    let first = plan(&demo, &repo, &Options::default()).unwrap();
    let after = first.patched().unwrap()["template.yaml"]
        .after
        .clone()
        .unwrap();
    repo.files.insert("template.yaml".into(), after);
    // Run again: the code already says it all.
    let again = plan(&demo, &repo, &Options::default()).unwrap();
    assert!(again.patched().unwrap().is_empty(), "{}", summary(&again));
    // A fixed level replaces the schedule.
    let checkout = demo
        .components
        .iter()
        .find(|r| r.component == "checkout-api")
        .unwrap();
    let from = checkout.recommended.as_ref().unwrap().deployment.clone();
    let p = plan(
        &set(vec![rec(
            "checkout-api",
            from,
            lambda(512, X86_64, Provisioned::Constant(2)),
        )]),
        &repo,
        &Options::default(),
    )
    .unwrap();
    let files = lint(&p);
    let yaml = &files[0].1;
    assert!(!yaml.contains("CheckoutApiProvisionedSchedule"), "{yaml}");
    assert!(
        yaml.contains("ThumbnailWorkerProvisionedSchedule"),
        "{yaml}"
    );
    assert!(
        yaml.contains(
            "      ProvisionedConcurrencyConfig:\n        ProvisionedConcurrentExecutions: 2\n"
        ),
        "{yaml}"
    );
}

#[test]
fn a_shared_parameter_is_not_patched() {
    let mut repo = common::repo("sam-shop");
    let t = repo.files["template.yaml"].replace(
        "      MemorySize: 1536\n",
        "      MemorySize: !Ref AuthTokenMemory\n",
    );
    repo.files.insert("template.yaml".into(), t);
    let none = Provisioned::None;
    let p = plan(
        &set(vec![rec(
            "auth-token",
            lambda(1024, X86_64, none.clone()),
            lambda(512, X86_64, none),
        )]),
        &repo,
        &Options::default(),
    )
    .unwrap();
    assert!(p.edits.is_empty(), "{}", summary(&p));
    assert!(
        p.suggestions[0]
            .reason
            .contains("parameter AuthTokenMemory is used 2 times"),
        "{}",
        summary(&p)
    );
}

#[test]
fn a_broken_template_is_an_error_with_its_position() {
    let mut repo = common::repo("sam-shop");
    repo.files.insert(
        "bad.yaml".into(),
        "AWSTemplateFormatVersion: x\nResources: [a,\n  b: c\n".into(),
    );
    let e = plan(&set(vec![]), &repo, &Options::default())
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("bad.yaml:") && e.contains("cannot parse YAML"),
        "{e}"
    );
}
