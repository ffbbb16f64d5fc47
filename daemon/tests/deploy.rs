//! What `deploy/` ships: the IAM policy lists exactly the AWS actions adaptd's code
//! calls (found in the sources, named as the SDKs name their operations), the
//! Kubernetes manifests parse and agree with each other and with the service
//! (probe paths, ports, environment the config names), the ConfigMap's config passes
//! `adaptd check-config` and serves with the Deployment's environment.
//! The container image is acted out in `deploy/image.rs` (its config, user, paths and
//! volume), the manifests are validated against Kubernetes' schemas and their volumes
//! checked in `deploy/kubernetes.rs`, the Grafana dashboards in `deploy/dashboards.rs`.

#[path = "deploy/dashboards.rs"]
mod dashboards;
#[path = "deploy/image.rs"]
mod image;
#[path = "deploy/kubernetes.rs"]
mod kubernetes;
mod service_support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use service_support::*;

// ---------------------------------------------------------------------------
// The IAM policy

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

// ---------------------------------------------------------------------------
// Kubernetes manifests

/// The documents of a kustomization folder's resources, by kind; every YAML file of
/// the folder (the kustomization aside) must be one of its resources.
fn kustomized(dir: &Path, out: &mut BTreeMap<String, Value>) {
    let kustomization = yaml(&dir.join("kustomization.yaml"));
    let resources: BTreeSet<&str> = kustomization[0]["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap())
        .collect();
    for r in &resources {
        for d in yaml(&dir.join(r)) {
            let kind = d["kind"].as_str().unwrap().to_owned();
            assert!(d["apiVersion"].is_string(), "{kind}: apiVersion");
            assert_eq!(d["metadata"]["name"], "adaptd", "{kind}: name");
            assert!(out.insert(kind.clone(), d).is_none(), "{kind} twice");
        }
    }
    let files: BTreeSet<String> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .filter(|e| e.path().is_file() && e.file_name() != "kustomization.yaml")
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    let listed: BTreeSet<String> = resources.iter().map(|r| (*r).to_owned()).collect();
    assert_eq!(
        listed,
        files,
        "{}: the kustomization's resources are not the folder's manifests",
        dir.display()
    );
}

/// The manifests of deploy/kubernetes and of its optional monitoring/ folder (the
/// Prometheus Operator's ServiceMonitor), by kind.
fn manifests() -> BTreeMap<String, Value> {
    let dir = repo().join("deploy/kubernetes");
    let mut out = BTreeMap::new();
    kustomized(&dir, &mut out);
    assert!(
        !out.contains_key("ServiceMonitor"),
        "the ServiceMonitor needs the Prometheus Operator's CRD: keep it out of the base kustomization"
    );
    kustomized(&dir.join("monitoring"), &mut out);
    out
}

/// The config embedded in the ConfigMap.
fn configmap_config(m: &BTreeMap<String, Value>) -> String {
    m["ConfigMap"]["data"]["adaptd.toml"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[test]
fn kubernetes_manifests_parse_and_agree_with_each_other_and_the_service() {
    let m = manifests();
    for kind in [
        "ServiceAccount",
        "ConfigMap",
        "PersistentVolumeClaim",
        "Deployment",
        "Service",
        "ServiceMonitor",
    ] {
        assert!(m.contains_key(kind), "no {kind} in deploy/kubernetes");
    }
    let role = m["ServiceAccount"]["metadata"]["annotations"]["eks.amazonaws.com/role-arn"]
        .as_str()
        .expect("the ServiceAccount has an IRSA role annotation");
    assert!(
        role.starts_with("arn:aws:iam::") && role.contains(":role/"),
        "{role}"
    );

    let dep = &m["Deployment"];
    let pod = &dep["spec"]["template"];
    let labels = &pod["metadata"]["labels"];
    for (k, v) in dep["spec"]["selector"]["matchLabels"].as_object().unwrap() {
        assert_eq!(
            &labels[k], v,
            "Deployment selector {k} does not match its pods"
        );
    }
    for (k, v) in m["Service"]["spec"]["selector"].as_object().unwrap() {
        assert_eq!(
            &labels[k], v,
            "Service selector {k} does not match the pods"
        );
    }
    assert_eq!(pod["spec"]["serviceAccountName"], "adaptd");
    let c = &pod["spec"]["containers"][0];
    let port = c["ports"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "http")
        .expect("a port named http");
    assert_eq!(m["Service"]["spec"]["ports"][0]["targetPort"], "http");
    let monitored = &m["ServiceMonitor"]["spec"]["endpoints"][0];
    assert_eq!(
        monitored["port"], m["Service"]["spec"]["ports"][0]["name"],
        "the ServiceMonitor scrapes the Service's port"
    );
    assert_eq!(monitored["path"], "/metrics");
    for (k, v) in m["ServiceMonitor"]["spec"]["selector"]["matchLabels"]
        .as_object()
        .unwrap()
    {
        assert_eq!(
            &m["Service"]["metadata"]["labels"][k], v,
            "ServiceMonitor selector {k}"
        );
    }
    // Probes on the service's routes.
    let routes = std::fs::read_to_string(repo().join("daemon/service/src/api.rs")).unwrap();
    assert_eq!(c["livenessProbe"]["httpGet"]["path"], "/healthz");
    assert_eq!(c["readinessProbe"]["httpGet"]["path"], "/readyz");
    for probe in ["livenessProbe", "readinessProbe", "startupProbe"] {
        let path = c[probe]["httpGet"]["path"].as_str().unwrap();
        assert!(
            routes.contains(&format!(".route(\"{path}\"")),
            "{probe}: {path} is not a route"
        );
        assert_eq!(c[probe]["httpGet"]["port"], "http", "{probe}");
    }
    // Non-root, as the image's user.
    assert_eq!(pod["spec"]["securityContext"]["runAsNonRoot"], true);
    assert_eq!(pod["spec"]["securityContext"]["runAsUser"], 10001);

    // The config: where the container reads it, what it binds, what it needs.
    let args: Vec<&str> = c["args"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    let config_path = args[args.iter().position(|a| *a == "--config").unwrap() + 1];
    let mount = c["volumeMounts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == "config")
        .unwrap();
    assert_eq!(
        format!("{}/adaptd.toml", mount["mountPath"].as_str().unwrap()),
        config_path
    );
    let cfg = configmap_config(&m);
    assert!(
        cfg.contains(&format!(
            "bind = \"0.0.0.0:{}\"",
            port["containerPort"].as_u64().unwrap()
        )),
        "the config must listen on the container port on every interface"
    );
    let env: BTreeSet<&str> = c["env"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    for key in ["token_env", "postgres_url_env"] {
        let var = cfg
            .lines()
            .find_map(|l| l.trim().strip_prefix(&format!("{key} = \"")))
            .and_then(|v| v.split('"').next())
            .unwrap_or_else(|| panic!("the config sets no {key}"));
        assert!(
            env.contains(var),
            "{key} names {var}, which the Deployment does not set"
        );
    }
    // Shutdown fits in the grace period.
    let deadline: f64 = cfg
        .lines()
        .find_map(|l| l.trim().strip_prefix("shutdown_deadline_seconds = "))
        .and_then(|v| v.split_whitespace().next())
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        deadline
            < pod["spec"]["terminationGracePeriodSeconds"]
                .as_f64()
                .unwrap()
    );
}

#[test]
fn the_configmap_config_passes_check_config_and_a_broken_one_does_not() {
    let dir = Scratch::new("deploy");
    let cfg = configmap_config(&manifests());
    let path = dir.path("adaptd.toml");
    std::fs::write(&path, &cfg).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_adaptd"))
        .arg("check-config")
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "the ConfigMap's config fails check-config:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::write(
        &path,
        cfg.replace("lookback_days = 14", "lookback_days = 0"),
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_adaptd"))
        .arg("check-config")
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(2),
        "a broken config passed check-config"
    );
}

/// The ConfigMap's config as the Deployment runs it: the Secret's variables set
/// (a PostgreSQL database of this run, a token), AWS reached through the SDK's
/// `AWS_ENDPOINT_URL` (moto) as IRSA credentials would be. The probes answer, a
/// cycle over CloudWatch completes, and the token guards mutations.
#[test]
fn the_configmap_config_serves_with_the_deployments_environment() {
    let _serial = serial();
    let m = manifests();
    let dir = Scratch::new("deploy-serve");
    let (moto, functions) = moto(&dir, 2);
    let db = PgDb::new("deploy");
    let port = free_port();
    // Two changes for a test machine: a loopback port, and one day of history from
    // moto (whose GetMetricData scans every datapoint) instead of the first
    // collection's full lookback.
    let cfg = configmap_config(&m);
    let cloudwatch = "[collectors.cloudwatch]\n";
    assert!(cfg.contains("0.0.0.0:8080") && cfg.contains(cloudwatch));
    let cfg = cfg
        .replace("0.0.0.0:8080", &format!("127.0.0.1:{port}"))
        .replace(
            cloudwatch,
            &format!("{cloudwatch}lookback_days = 1\nsettle_minutes = 0\n"),
        );
    let path = dir.path("adaptd.toml");
    std::fs::write(&path, cfg).unwrap();
    let c = &m["Deployment"]["spec"]["template"]["spec"]["containers"][0];
    let mut env: Vec<(String, String)> = Vec::new();
    for e in c["env"].as_array().unwrap() {
        let name = e["name"].as_str().unwrap().to_owned();
        let value = match (
            e["value"].as_str(),
            e["valueFrom"]["secretKeyRef"]["key"].as_str(),
        ) {
            (Some(v), _) => v.to_owned(),
            (None, Some("token")) => "deploy-token".to_owned(),
            (None, Some("postgres-url")) => db.url(),
            other => panic!("{name}: no value for {other:?} in this test"),
        };
        env.push((name, value));
    }
    env.push(("AWS_ENDPOINT_URL".into(), moto.url("")));
    for (k, v) in AWS_ENV {
        env.push((k.into(), v.into()));
    }
    env.push(("AWS_EC2_METADATA_DISABLED".into(), "true".into()));
    let env_refs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let p = serve(&path, port, &env_refs, dir.path("serve.log"));
    for probe in ["livenessProbe", "readinessProbe", "startupProbe"] {
        let path = c[probe]["httpGet"]["path"].as_str().unwrap();
        assert_eq!(get(&p.url(path)).0, 200, "{probe} {path}");
    }
    let cycle = next_cycle(&p, 0);
    assert_eq!(cycle["outcome"], "ok", "{cycle:#}\n{}", p.log_text());
    let (_, comps) = get(&p.url("/api/v1/components"));
    let names: Vec<&str> = comps["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    for f in &functions {
        assert!(names.contains(&f.as_str()), "{f} not in {names:?}");
    }
    let (_, list) = get(&p.url("/api/v1/recommendations"));
    let id = list["items"][0]["id"].as_i64().expect("a recommendation");
    let approve = p.url(&format!("/api/v1/recommendations/{id}/approve"));
    assert_eq!(http("POST", &approve, Some("wrong"), None).0, 401);
    let (s, v) = http("POST", &approve, Some("deploy-token"), None);
    assert!(s == 200 || s == 409, "{s} {v}");
}
