//! Shared by the integration tests: loading test repositories and fixtures, and
//! running the independent validators (HashiCorp's HCL parser through node, cfn-lint).

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

use adaptd_iac::{RecommendationSet, Repo};

/// `tests/iac` of the workspace.
pub fn iac_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/iac")
}

/// `name` from the project's Python virtualenv (`.venv/bin`, which
/// `scripts/setup-iac-tools` makes) when it is there, else `name` as found on PATH.
pub fn venv_tool(name: &str) -> PathBuf {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../.venv/bin")
        .join(name);
    if p.exists() { p } else { PathBuf::from(name) }
}

/// Reads every file adaptd wants under `tests/iac/NAME`.
pub fn repo(name: &str) -> Repo {
    let root = iac_dir().join(name);
    let mut repo = Repo::default();
    let mut stack = vec![root.clone()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let rel = path
                .strip_prefix(&root)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            if Repo::wants(&rel, &adaptd_iac::Options::default()) {
                repo.files
                    .insert(rel, std::fs::read_to_string(&path).unwrap());
            }
        }
    }
    repo
}

/// The demo's recommendations, as `adaptd demo --output json` printed them.
pub fn demo() -> RecommendationSet {
    let text =
        std::fs::read_to_string(iac_dir().join("fixtures/demo-recommendations.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// Compares `got` with the golden file `tests/iac/golden/NAME`; `UPDATE_GOLDEN=1`
/// rewrites it.
pub fn golden(name: &str, got: &str) {
    let path = iac_dir().join("golden").join(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, got).unwrap();
        return;
    }
    let want = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (run with UPDATE_GOLDEN=1 to create it)",
            path.display()
        )
    });
    if want != got {
        let diff = similar::TextDiff::from_lines(&want, got)
            .unified_diff()
            .header("expected", "got")
            .to_string();
        panic!(
            "{} differs from the output (UPDATE_GOLDEN=1 rewrites it):\n{diff}",
            path.display()
        );
    }
}

/// A fresh folder per call: tests run in parallel threads of one process.
fn scratch(name: &str) -> PathBuf {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("adaptd-iac-{}-{name}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Parses each `(path, text)` with HashiCorp's HCL parser (npm @cdktf/hcl2json, run by
/// node) and returns its JSON by path. Fails loudly when node or the package is
/// missing: `scripts/setup-iac-tools` installs them.
pub fn hcl2json(files: &[(String, String)]) -> Vec<(String, serde_json::Value)> {
    let script = iac_dir().join("hcl2json.js");
    let module = iac_dir().join("node_modules/@cdktf/hcl2json/package.json");
    assert!(
        module.exists(),
        "{} is missing: run scripts/setup-iac-tools (npm install of @cdktf/hcl2json)",
        module.display()
    );
    let dir = scratch("hcl");
    let mut paths = Vec::new();
    for (i, (path, text)) in files.iter().enumerate() {
        let name = path.rsplit('/').next().unwrap();
        let p = dir.join(format!("{i}-{name}"));
        std::fs::write(&p, text).unwrap();
        paths.push(p);
    }
    let out = Command::new("node")
        .arg(&script)
        .args(&paths)
        .output()
        .unwrap_or_else(|e| panic!("cannot run node ({e}): run scripts/setup-iac-tools"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let mut parsed = Vec::new();
    for (line, (path, _)) in stdout.lines().zip(files) {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        assert!(
            v["ok"] == true,
            "{path} does not parse with HashiCorp's HCL parser: {}",
            v["error"]
        );
        parsed.push((path.clone(), v["json"].clone()));
    }
    assert!(
        out.status.success(),
        "hcl2json failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(parsed.len(), files.len(), "hcl2json printed {stdout}");
    let _ = std::fs::remove_dir_all(&dir);
    parsed
}

/// Runs cfn-lint on each template; fails with its findings. Fails loudly when cfn-lint
/// is missing: `scripts/setup-iac-tools` installs it.
pub fn cfn_lint(files: &[(String, String)]) {
    let dir = scratch("cfn");
    for (path, text) in files {
        let name = path.replace('/', "_");
        let p = dir.join(&name);
        std::fs::write(&p, text).unwrap();
        let out = Command::new(venv_tool("cfn-lint"))
            .arg(&p)
            .output()
            .unwrap_or_else(|e| panic!("cannot run cfn-lint ({e}): run scripts/setup-iac-tools"));
        assert!(
            out.status.success(),
            "cfn-lint rejects {path} (rc {:?}):\n{}{}\n--- template ---\n{text}",
            out.status.code(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

use adaptd_engine::spec::{Architecture, Deployment, FargateConfig, LambdaConfig, Provisioned};
use adaptd_iac::Recommendation;

/// A Lambda deployment.
pub fn lambda(memory_mb: u32, arch: Architecture, provisioned: Provisioned) -> Deployment {
    Deployment::Lambda(LambdaConfig {
        memory_mb,
        architecture: arch,
        provisioned,
        reserved_concurrency: None,
    })
}

/// A Fargate deployment with a constant task count.
pub fn fargate(vcpu: f64, memory_mb: u32, arch: Architecture, tasks: [u32; 24]) -> Deployment {
    Deployment::Fargate(FargateConfig {
        vcpu,
        memory_mb,
        architecture: arch,
        tasks,
        per_task_concurrency: 8,
        ..FargateConfig::default()
    })
}

/// A recommendation to move `component` from `from` to `to` (the rest borrowed from
/// the demo, so it is a real document).
pub fn rec(component: &str, from: Deployment, to: Deployment) -> Recommendation {
    let mut r = demo().components[0].clone();
    r.component = component.to_owned();
    let cur = r.current.as_mut().unwrap();
    cur.description = from.describe();
    cur.deployment = from;
    let new = r.recommended.as_mut().unwrap();
    new.description = to.describe();
    new.deployment = to;
    r.saving_usd_per_month = 12.5;
    r
}

/// A document with these recommendations and no companions.
pub fn set(components: Vec<Recommendation>) -> RecommendationSet {
    let mut s = demo();
    s.components = components;
    s.companions.clear();
    s
}
