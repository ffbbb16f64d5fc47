//! What `deploy/` ships: the IAM policy lists exactly the AWS actions adaptd's code
//! calls (found in the sources, named as the SDKs name their operations; in
//! `deploy/iam.rs`), the Kubernetes manifests parse and agree with each other and with
//! the service (probe paths, ports, environment the config names), the ConfigMap's
//! config passes `adaptd check-config` and serves with the Deployment's environment
//! (`deploy/manifests.rs`; the manifests are read here, for every test of them).
//! The container image is acted out in `deploy/image.rs` (its config, user, paths and
//! volume), the manifests are validated against Kubernetes' schemas and their volumes
//! checked in `deploy/kubernetes.rs`, the Grafana dashboards in `deploy/dashboards.rs`.

#[path = "deploy/dashboards.rs"]
mod dashboards;
#[path = "deploy/iam.rs"]
mod iam;
#[path = "deploy/image.rs"]
mod image;
#[path = "deploy/kubernetes.rs"]
mod kubernetes;
#[path = "deploy/manifests.rs"]
mod manifests;
mod service_support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde_json::Value;
use service_support::*;

/// Waits for the server's first cycle, checks it ran and listed every function, and
/// returns the first recommendation's id.
fn first_cycle_recommends(p: &Proc, functions: &[String]) -> i64 {
    let cycle = next_cycle(p, 0);
    assert_eq!(cycle["outcome"], "ok", "{cycle:#}\n{}", p.log_text());
    let names = component_names(p);
    for f in functions {
        assert!(names.contains(f), "{f} not in {names:?}");
    }
    let (_, list) = get(&p.url("/api/v1/recommendations"));
    list["items"][0]["id"].as_i64().expect("a recommendation")
}

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
pub(crate) fn manifests() -> BTreeMap<String, Value> {
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
pub(crate) fn configmap_config(m: &BTreeMap<String, Value>) -> String {
    m["ConfigMap"]["data"]["adaptd.toml"]
        .as_str()
        .unwrap()
        .to_owned()
}
