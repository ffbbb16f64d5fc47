//! The Kubernetes manifests against the Kubernetes API's own schemas
//! (`kubernetes-validate`, PyPI, installed into .venv by scripts/setup-test-services),
//! and the places the pod writes: the weekly reports must land on a writable
//! PersistentVolumeClaim, never in the read-only ConfigMap mount.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use super::service_support::*;
use super::{configmap_config, manifests};

/// The manifest files of deploy/kubernetes and deploy/kubernetes/monitoring.
fn manifest_files() -> Vec<PathBuf> {
    let base = repo().join("deploy/kubernetes");
    let mut out = Vec::new();
    for dir in [base.clone(), base.join("monitoring")] {
        for e in std::fs::read_dir(&dir).unwrap().flatten() {
            let p = e.path();
            if p.is_file() && p.extension().is_some_and(|x| x == "yaml") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// `kubernetes-validate --strict` on `files`: (success, output).
fn validate(files: &[PathBuf]) -> (bool, String) {
    let out = Command::new(venv_tool("kubernetes-validate"))
        .arg("--strict")
        .args(files)
        .output()
        .expect("kubernetes-validate runs (scripts/setup-test-services installs it into .venv)");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// Kinds that are not the Kubernetes API's own, so no schema of it can check them.
const CUSTOM_KINDS: [&str; 2] = ["Kustomization", "ServiceMonitor"];

#[test]
fn every_manifest_passes_kubernetes_validate_and_a_broken_one_does_not() {
    let files = manifest_files();
    assert!(files.len() >= 7, "{files:?}");
    let (ok, text) = validate(&files);
    assert!(ok, "kubernetes-validate refused the manifests:\n{text}");
    // Each core resource was checked against a schema, not skipped.
    for (kind, d) in manifests() {
        if CUSTOM_KINDS.contains(&kind.as_str()) {
            continue;
        }
        let line = format!("passed for resource {}/adaptd", kind.to_lowercase());
        assert!(text.contains(&line), "{kind} was not validated:\n{text}");
        assert!(d["apiVersion"].is_string());
    }
    for l in text.lines().filter(|l| l.starts_with("WARN")) {
        assert!(
            CUSTOM_KINDS
                .iter()
                .any(|k| l.contains(&format!("kind {k} "))),
            "an unexpected warning: {l}"
        );
    }
    // Not vacuous: a wrongly typed field and a misspelt one are refused.
    let dir = Scratch::new("kubernetes-validate");
    let deployment =
        std::fs::read_to_string(repo().join("deploy/kubernetes/deployment.yaml")).unwrap();
    for (from, to) in [
        ("replicas: 2", "replicas: \"two\""),
        ("mountPath: /var/lib/adaptd", "mountPth: /var/lib/adaptd"),
    ] {
        assert!(deployment.contains(from), "{from}");
        let bad = dir.path("deployment.yaml");
        std::fs::write(&bad, deployment.replace(from, to)).unwrap();
        let (ok, text) = validate(&[bad]);
        assert!(
            !ok && text.contains("did not validate"),
            "{to} passed:\n{text}"
        );
    }
}

/// The mount of the container whose path holds `path`, the deepest one.
fn mount_of<'a>(mounts: &'a [Value], path: &str) -> Option<&'a Value> {
    mounts
        .iter()
        .filter(|m| {
            let at = m["mountPath"].as_str().unwrap().trim_end_matches('/');
            Path::new(path).starts_with(at)
        })
        .max_by_key(|m| m["mountPath"].as_str().unwrap().len())
}

#[test]
fn the_report_archive_is_on_a_writable_claim_shared_by_the_replicas() {
    let m = manifests();
    let cfg: toml::Table = configmap_config(&m).parse().unwrap();
    let output_dir = cfg["report"]["output_dir"]
        .as_str()
        .expect("the ConfigMap's config sets [report] output_dir: the default is beside the read-only config");
    assert!(
        output_dir.starts_with('/'),
        "{output_dir}: relative to the read-only config mount"
    );
    let pod = &m["Deployment"]["spec"]["template"]["spec"];
    let c = &pod["containers"][0];
    assert_eq!(c["securityContext"]["readOnlyRootFilesystem"], true);
    let mounts = c["volumeMounts"].as_array().unwrap();
    let volumes: BTreeMap<&str, &Value> = pod["volumes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| (v["name"].as_str().unwrap(), v))
        .collect();
    let mount = mount_of(mounts, output_dir).unwrap_or_else(|| {
        panic!("{output_dir} is on no volume: the root file system is read-only")
    });
    assert_ne!(
        mount["readOnly"], true,
        "{output_dir} is on a read-only mount"
    );
    let volume = volumes[mount["name"].as_str().unwrap()];
    assert!(
        volume["configMap"].is_null(),
        "{output_dir} is in a ConfigMap mount"
    );
    let claim = volume["persistentVolumeClaim"]["claimName"]
        .as_str()
        .unwrap_or_else(|| panic!("{output_dir} is not on a PersistentVolumeClaim: {volume}"));
    assert_eq!(mount["mountPath"], "/var/lib/adaptd");
    let pvc = &m["PersistentVolumeClaim"];
    assert_eq!(pvc["metadata"]["name"], claim);
    // Every replica mounts it (the leader writes, all serve): ReadWriteMany.
    let replicas = m["Deployment"]["spec"]["replicas"].as_u64().unwrap();
    let modes: Vec<&str> = pvc["spec"]["accessModes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    assert!(
        replicas == 1 || modes.contains(&"ReadWriteMany"),
        "{replicas} replicas on a claim with {modes:?}"
    );
    // The config mount stays read-only, and the store is not SQLite beside it.
    let config_mount = mounts.iter().find(|m| m["name"] == "config").unwrap();
    assert_eq!(config_mount["readOnly"], true);
    assert!(
        cfg["store"].get("postgres_url_env").is_some(),
        "the replicas share PostgreSQL"
    );
}
