//! The IAM policy (deploy/iam-policy.json) against the code: every AWS operation the
//! sources call is allowed, and nothing else is.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use super::service_support::*;
/// IAM service prefix of each AWS SDK crate adaptd may depend on.
const IAM_PREFIX: [(&str, &str); 7] = [
    ("aws-sdk-lambda", "lambda"),
    ("aws-sdk-cloudwatch", "cloudwatch"),
    ("aws-sdk-ecs", "ecs"),
    ("aws-sdk-elasticloadbalancingv2", "elasticloadbalancing"),
    ("aws-sdk-applicationautoscaling", "application-autoscaling"),
    ("aws-sdk-sts", "sts"),
    ("aws-sdk-s3", "s3"),
];

fn cargo_metadata() -> Value {
    let out = Command::new(env!("CARGO"))
        .args(["metadata", "--format-version", "1"])
        .current_dir(repo())
        .output()
        .expect("cargo runs");
    assert!(
        out.status.success(),
        "cargo metadata: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// `getMetricData`-style operation name in IAM form: `get_metric_data` → `GetMetricData`.
fn pascal(snake: &str) -> String {
    snake
        .split('_')
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect()
}

/// Every `.rs` file under `dir`.
fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// Source text without comments and without the unit tests at the end of a file.
fn code_of(text: &str) -> String {
    let text = text.split("#[cfg(test)]").next().unwrap_or("");
    text.lines()
        .map(|l| l.split("//").next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Names called as methods: `.name(` (whitespace allowed before the dot).
fn method_calls(code: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let b = code.as_bytes();
    for (i, &c) in b.iter().enumerate() {
        if c != b'.' {
            continue;
        }
        let name: String = code[i + 1..]
            .chars()
            .take_while(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_')
            .collect();
        if !name.is_empty() && code[i + 1 + name.len()..].starts_with('(') {
            out.insert(name);
        }
    }
    out
}

/// The IAM actions the code calls: (observe, apply, report). Observe: the collectors
/// crate; report: S3 (the report archive's copy); apply: every other call (the
/// actuator, the daemon). Each SDK operation called in a crate that depends on that
/// SDK becomes `prefix:Operation`.
fn actions_in_code() -> (
    BTreeSet<String>,
    BTreeSet<String>,
    BTreeSet<String>,
    Vec<String>,
) {
    let meta = cargo_metadata();
    let packages = meta["packages"].as_array().unwrap();
    let members: BTreeSet<&str> = meta["workspace_members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m.as_str().unwrap())
        .collect();
    // Operations of each SDK crate: its src/operation/<op>/ folders.
    let mut ops: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for p in packages {
        let name = p["name"].as_str().unwrap();
        if !IAM_PREFIX.iter().any(|(c, _)| *c == name) {
            continue;
        }
        let dir = Path::new(p["manifest_path"].as_str().unwrap())
            .parent()
            .unwrap()
            .join("src/operation");
        let set: BTreeSet<String> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{dir:?}: {e}"))
            .flatten()
            .filter(|e| e.path().is_dir())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        assert!(set.len() > 5, "{name}: operations not found in {dir:?}");
        ops.entry(name.to_owned()).or_default().extend(set);
    }
    let (mut observe, mut apply, mut seen) = (BTreeSet::new(), BTreeSet::new(), Vec::new());
    // The report archive's copy in S3: the operations crate's only SDK.
    let mut report = BTreeSet::new();
    for p in packages
        .iter()
        .filter(|p| members.contains(p["id"].as_str().unwrap()))
    {
        let sdks: Vec<&str> = p["dependencies"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|d| d["kind"].is_null())
            .map(|d| d["name"].as_str().unwrap())
            .filter(|n| n.starts_with("aws-sdk-"))
            .collect();
        if sdks.is_empty() {
            continue;
        }
        for s in &sdks {
            assert!(
                IAM_PREFIX.iter().any(|(c, _)| c == s),
                "{} depends on {s}: add its IAM prefix to IAM_PREFIX and its actions to deploy/iam-policy.json",
                p["name"]
            );
        }
        let observing = p["name"] == "adaptd-collectors";
        let crate_dir = Path::new(p["manifest_path"].as_str().unwrap())
            .parent()
            .unwrap()
            .to_owned();
        let mut files = Vec::new();
        rust_files(&crate_dir.join("src"), &mut files);
        for f in files {
            let text = std::fs::read_to_string(&f).unwrap();
            let code = code_of(&text);
            for call in method_calls(&code) {
                let mut owners: Vec<&str> = sdks
                    .iter()
                    .copied()
                    .filter(|s| ops.get(*s).is_some_and(|o| o.contains(&call)))
                    .collect();
                if owners.len() > 1 {
                    // An operation of several SDKs: the one the file names.
                    owners.retain(|s| code.contains(&s.replace('-', "_")));
                }
                assert!(
                    owners.len() <= 1,
                    "{f:?}: .{call}() is an operation of {owners:?}; name the SDK in the file"
                );
                let Some(sdk) = owners.first() else { continue };
                let prefix = IAM_PREFIX.iter().find(|(c, _)| c == sdk).unwrap().1;
                let action = format!("{prefix}:{}", pascal(&call));
                seen.push(format!(
                    "{action} ({})",
                    f.strip_prefix(repo()).unwrap_or(&f).display()
                ));
                if observing {
                    observe.insert(action);
                } else if *sdk == "aws-sdk-s3" {
                    report.insert(action);
                } else {
                    apply.insert(action);
                }
            }
            // Actions the SDK calls for the code: a role assumed for another account
            // (aws-config's AssumeRoleProvider calls sts:AssumeRole).
            if code.contains("AssumeRoleProvider") {
                let set = if observing { &mut observe } else { &mut apply };
                set.insert("sts:AssumeRole".to_owned());
            }
        }
    }
    // Registering the first scalable target of a service (Lambda, ECS) creates
    // Application Auto Scaling's service-linked role for it in the account.
    if apply.contains("application-autoscaling:RegisterScalableTarget") {
        apply.insert("iam:CreateServiceLinkedRole".to_owned());
    }
    // A task definition revision names its task and execution roles, which ECS
    // checks the caller may pass.
    if apply.contains("ecs:RegisterTaskDefinition") {
        apply.insert("iam:PassRole".to_owned());
    }
    (observe, apply, report, seen)
}

fn policy() -> Value {
    let text = std::fs::read_to_string(repo().join("deploy/iam-policy.json")).unwrap();
    serde_json::from_str(&text).expect("deploy/iam-policy.json is JSON")
}

/// Actions of the statements whose Sid starts with `prefix`.
fn policy_actions(p: &Value, prefix: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for s in p["Statement"].as_array().unwrap() {
        if !s["Sid"].as_str().unwrap().starts_with(prefix) {
            continue;
        }
        for a in s["Action"].as_array().unwrap() {
            let a = a.as_str().unwrap();
            assert!(out.insert(a.to_owned()), "{a} twice under {prefix}*");
        }
    }
    out
}

fn diff(what: &str, policy: &BTreeSet<String>, code: &BTreeSet<String>) -> Vec<String> {
    let mut out = Vec::new();
    for a in code.difference(policy) {
        out.push(format!(
            "{what}: the code calls {a}, deploy/iam-policy.json does not allow it"
        ));
    }
    for a in policy.difference(code) {
        out.push(format!(
            "{what}: deploy/iam-policy.json allows {a}, which no code calls"
        ));
    }
    out
}

#[test]
fn the_iam_policy_allows_exactly_the_actions_the_code_calls() {
    let p = policy();
    assert_eq!(p["Version"], "2012-10-17");
    for s in p["Statement"].as_array().unwrap() {
        let sid = s["Sid"].as_str().unwrap_or("");
        assert!(
            sid.starts_with("Observe") || sid.starts_with("Apply") || sid.starts_with("Report"),
            "statement {sid:?}: Sid must start with Observe, Apply or Report"
        );
        assert_eq!(s["Effect"], "Allow", "{sid}");
        assert!(s["Resource"].is_string(), "{sid}: Resource");
        for a in s["Action"].as_array().unwrap() {
            assert!(
                !a.as_str().unwrap().contains('*'),
                "{sid}: wildcard action {a}"
            );
        }
    }
    let (observe, apply, report, seen) = actions_in_code();
    assert!(
        report.contains("s3:PutObject"),
        "the report archive's upload not found: {seen:#?}"
    );
    // Not vacuous: the calls we know are found.
    for a in [
        "lambda:ListFunctions",
        "cloudwatch:GetMetricData",
        "sts:AssumeRole",
    ] {
        assert!(
            observe.contains(a),
            "{a} not found in the collectors: {seen:#?}"
        );
    }
    assert!(
        apply.contains("lambda:PutProvisionedConcurrencyConfig")
            && apply.contains("application-autoscaling:PutScheduledAction"),
        "apply calls not found: {seen:#?}"
    );
    let mut problems = diff(
        "observe (Sid Observe*)",
        &policy_actions(&p, "Observe"),
        &observe,
    );
    problems.extend(diff(
        "apply (Sid Apply*)",
        &policy_actions(&p, "Apply"),
        &apply,
    ));
    problems.extend(diff(
        "report archive (Sid Report*)",
        &policy_actions(&p, "Report"),
        &report,
    ));
    assert!(
        problems.is_empty(),
        "{}\n\ncalls found:\n{}",
        problems.join("\n"),
        seen.join("\n")
    );
}

#[test]
fn the_call_finder_sees_calls_split_over_lines_and_skips_comments_and_tests() {
    let code = code_of(
        "let r = client\n    .list_functions()\n    .send();\n// .get_function() in a comment\nc.get_metric_data().send();\n#[cfg(test)]\nmod tests { fn t() { c.put_function_concurrency(); } }\n",
    );
    let calls = method_calls(&code);
    assert!(calls.contains("list_functions") && calls.contains("get_metric_data"));
    assert!(calls.contains("send"));
    assert!(!calls.contains("get_function"), "{calls:?}");
    assert!(!calls.contains("put_function_concurrency"), "{calls:?}");
    assert_eq!(
        pascal("list_provisioned_concurrency_configs"),
        "ListProvisionedConcurrencyConfigs"
    );
}
