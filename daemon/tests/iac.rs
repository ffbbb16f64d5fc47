//! `adaptd iac` end to end: the diff of the shop's Terraform for the demo (golden, and
//! applied by `git apply` itself), `iac write` on a new branch with a commit citing the
//! recommendations, the demo's own inputs, and input errors with their exit codes.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}

fn adaptd(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_adaptd"))
        .args(args)
        .current_dir(root())
        .output()
        .expect("adaptd runs")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// A fresh folder per call (tests run in parallel threads of one process).
fn scratch(name: &str) -> PathBuf {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir =
        std::env::temp_dir().join(format!("adaptd-iac-cli-{}-{name}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), target).unwrap();
        }
    }
}

fn git(dir: &Path, args: &[&str]) -> String {
    let o = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["-c", "user.name=test", "-c", "user.email=test@localhost"])
        .args(args)
        .output()
        .expect("git runs");
    assert!(o.status.success(), "git {args:?}: {}", text(&o.stderr));
    text(&o.stdout)
}

/// A git repository holding a copy of `tests/iac/NAME`.
fn git_repo(name: &str) -> PathBuf {
    let dir = scratch(name);
    copy_dir(&root().join("tests/iac").join(name), &dir);
    git(&dir, &["init", "--quiet", "--initial-branch=main"]);
    git(&dir, &["add", "."]);
    git(&dir, &["commit", "--quiet", "-m", "infrastructure"]);
    dir
}

const FIXTURE: &str = "tests/iac/fixtures/demo-recommendations.json";

/// Every file of a tree (no .git), by relative path.
fn tree(dir: &Path) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.file_name().is_some_and(|n| n == ".git") {
                continue;
            }
            if p.is_dir() {
                stack.push(p);
            } else {
                let rel = p.strip_prefix(dir).unwrap().to_string_lossy().into_owned();
                out.push((rel, std::fs::read_to_string(&p).unwrap()));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn diff_shows_the_expected_change_and_git_applies_it() {
    let repo = git_repo("terraform-shop");
    let o = adaptd(&[
        "iac",
        "diff",
        "--repo",
        repo.to_str().unwrap(),
        "--recommendations",
        FIXTURE,
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let diff = text(&o.stdout);
    let golden =
        std::fs::read_to_string(root().join("tests/iac/golden/terraform-shop.diff")).unwrap();
    assert_eq!(diff, golden, "the CLI prints the crate's golden diff");
    assert!(text(&o.stderr).contains("suggest (stateful) orders-db rds_proxy"));
    // git itself reads the diff and applies it.
    let patch = repo.join("adaptd.patch");
    std::fs::write(&patch, &diff).unwrap();
    git(&repo, &["apply", "--check", patch.to_str().unwrap()]);
    git(&repo, &["apply", patch.to_str().unwrap()]);
    std::fs::remove_file(&patch).unwrap();
    // iac write gives the same tree as the applied diff.
    let written = git_repo("terraform-shop");
    let o = adaptd(&[
        "iac",
        "write",
        "--repo",
        written.to_str().unwrap(),
        "--recommendations",
        FIXTURE,
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert_eq!(tree(&repo), tree(&written));
    // A second run finds nothing more to do: the code already says what was recommended.
    let o = adaptd(&[
        "iac",
        "diff",
        "--repo",
        written.to_str().unwrap(),
        "--recommendations",
        FIXTURE,
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert_eq!(text(&o.stdout), "", "a second run changes nothing");
}

#[test]
fn write_commits_on_a_new_branch_citing_each_recommendation() {
    let repo = git_repo("terraform-shop");
    let o = adaptd(&[
        "iac",
        "write",
        "--repo",
        repo.to_str().unwrap(),
        "--recommendations",
        FIXTURE,
        "--branch",
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert_eq!(
        git(&repo, &["rev-parse", "--abbrev-ref", "HEAD"]).trim(),
        "adaptd/iac"
    );
    assert_eq!(
        git(&repo, &["status", "--porcelain"]),
        "",
        "everything is committed"
    );
    let message = git(&repo, &["log", "-1", "--format=%B"]);
    assert!(
        message.starts_with("adaptd: apply 8 recommendation(s) (saves "),
        "{message}"
    );
    for line in [
        "- report-generator: lambda 1024 MB x86_64; saves 436.25 USD/month; predicted worst-hour p99",
        "- checkout-api: lambda 512 MB x86_64, provisioned",
        "Left to a person",
    ] {
        assert!(message.contains(line), "{line} not in:\n{message}");
    }
    let files = git(&repo, &["show", "--name-status", "--format=", "HEAD"]);
    for f in [
        "M\tterraform.tfvars",
        "A\tadaptd_checkout_api.tf",
        "A\tadaptd-migrations/search-api-fargate/main.tf",
    ] {
        assert!(files.contains(f), "{f} not in\n{files}");
    }
}

#[test]
fn write_refuses_a_dirty_work_tree_and_an_existing_branch() {
    let repo = git_repo("terraform-shop");
    std::fs::write(repo.join("main.tf"), "# edited by hand\n").unwrap();
    let o = adaptd(&[
        "iac",
        "write",
        "--repo",
        repo.to_str().unwrap(),
        "--recommendations",
        FIXTURE,
        "--branch",
        "x",
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        text(&o.stderr).contains("uncommitted changes"),
        "{}",
        text(&o.stderr)
    );
    let repo = git_repo("terraform-shop");
    git(&repo, &["branch", "taken"]);
    let o = adaptd(&[
        "iac",
        "write",
        "--repo",
        repo.to_str().unwrap(),
        "--recommendations",
        FIXTURE,
        "--branch",
        "taken",
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o.stderr).contains("taken"), "{}", text(&o.stderr));
    assert_eq!(
        git(&repo, &["status", "--porcelain"]),
        "",
        "nothing written"
    );
}

#[test]
fn the_demo_inputs_reach_every_changed_component() {
    let o = adaptd(&[
        "iac",
        "diff",
        "--config",
        "examples/adaptd.toml",
        "--telemetry",
        "examples/telemetry.csv.gz",
        "--repo",
        "tests/iac/terraform-shop",
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let summary = text(&o.stderr);
    // Every component with a change is found, the ECS service (inventory-api, in
    // ecs.tf with its Application Auto Scaling) as much as the functions.
    assert!(!summary.contains("(not found)"), "{summary}");
    assert!(
        summary.contains("found: aws_ecs_service.inventory"),
        "{summary}"
    );
    assert!(
        summary.contains("write adaptd-migrations/inventory-api-lambda/main.tf"),
        "{summary}"
    );
    let diff = text(&o.stdout);
    assert!(diff.starts_with("diff --git "), "{diff}");
    // The shop with the diff applied, migration modules included, parses with
    // HashiCorp's HCL parser.
    let repo = git_repo("terraform-shop");
    let patch = repo.join("adaptd.patch");
    std::fs::write(&patch, &diff).unwrap();
    git(&repo, &["apply", patch.to_str().unwrap()]);
    std::fs::remove_file(&patch).unwrap();
    hcl_parses(&repo);
}

/// Every `.tf` and `.tfvars` file of `dir` parses with HashiCorp's HCL parser (npm
/// `@cdktf/hcl2json`, run by node; `scripts/setup-iac-tools` installs it).
fn hcl_parses(dir: &Path) {
    let iac = root().join("tests/iac");
    assert!(
        iac.join("node_modules/@cdktf/hcl2json/package.json")
            .exists(),
        "@cdktf/hcl2json is missing: run scripts/setup-iac-tools"
    );
    let files: Vec<PathBuf> = tree(dir)
        .into_iter()
        .filter(|(p, _)| p.ends_with(".tf") || p.ends_with(".tfvars"))
        .map(|(p, _)| dir.join(p))
        .collect();
    assert!(files.len() > 10, "{files:?}");
    let o = Command::new("node")
        .arg(iac.join("hcl2json.js"))
        .args(&files)
        .output()
        .unwrap_or_else(|e| panic!("cannot run node ({e}): run scripts/setup-iac-tools"));
    let out = text(&o.stdout);
    assert!(o.status.success(), "{out}{}", text(&o.stderr));
    assert_eq!(out.lines().count(), files.len(), "{out}");
}

#[test]
fn input_errors_name_what_to_fix() {
    let o = adaptd(&["iac", "diff", "--recommendations", FIXTURE]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("--repo"), "{}", text(&o.stderr));
    let o = adaptd(&["iac", "diff", "--repo", "tests/iac/terraform-shop"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o.stderr).contains("--recommendations"),
        "{}",
        text(&o.stderr)
    );
    let dir = scratch("config");
    let config = dir.join("adaptd.toml");
    std::fs::write(
        &config,
        "[iac]\nrepo = \"tests/iac/terraform-shop\"\n\n[[iac.components]]\nname = \"search-api\"\nterraform = [\"aws_lambda_function.missing\"]\n",
    )
    .unwrap();
    let o = adaptd(&[
        "iac",
        "diff",
        "--config",
        config.to_str().unwrap(),
        "--recommendations",
        FIXTURE,
    ]);
    assert_eq!(o.status.code(), Some(2));
    let err = text(&o.stderr);
    assert!(
        err.contains("search-api") && err.contains("aws_lambda_function.missing"),
        "{err}"
    );
    std::fs::write(&config, "[iac]\nbranch = \"no spaces allowed\"\n").unwrap();
    let o = adaptd(&[
        "iac",
        "diff",
        "--config",
        config.to_str().unwrap(),
        "--recommendations",
        FIXTURE,
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o.stderr).contains(":2:10: iac.branch: is not a valid git branch name"),
        "{}",
        text(&o.stderr)
    );
}
