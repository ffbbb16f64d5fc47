//! The Kubernetes manifests agree with each other and with the service; the
//! ConfigMap's config passes `adaptd check-config` and serves with the Deployment's
//! environment.

use std::collections::BTreeSet;
use std::process::Command;

use super::service_support::*;
use super::{configmap_config, first_cycle_recommends, manifests};

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
    let id = first_cycle_recommends(&p, &functions);
    let approve = p.url(&format!("/api/v1/recommendations/{id}/approve"));
    assert_eq!(http("POST", &approve, Some("wrong"), None).0, 401);
    let (s, v) = http("POST", &approve, Some("deploy-token"), None);
    assert!(s == 200 || s == 409, "{s} {v}");
}
