//! `adaptd iac diff` and `adaptd iac write`: the recommendations as a change to the
//! infrastructure code, so that the next `terraform apply` or stack update keeps them.
//!
//! This is the imperative shell around `adaptd-iac`: it reads the repository, runs the
//! pipeline (or reads a recommendation document), prints the diff, writes files and
//! drives the `git` binary. Everything that decides what to change is in the pure
//! crate.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};

use adaptd_config::{Config, IacSection};
use adaptd_iac::{ComponentMapping, FileChange, Options, Plan, RecommendationSet, Repo};
use anyhow::{Context, anyhow, bail};
use clap::Subcommand;

use super::{inputs, invalid, print};
use crate::pipeline::{PipelineError, run};

/// Arguments of `adaptd iac`.
#[derive(Debug, clap::Args)]
pub struct IacArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: IacCommand,
}

/// The `adaptd iac` subcommands.
#[derive(Debug, Subcommand)]
pub enum IacCommand {
    /// Print the change as a unified diff (stdout) and what is left to a person (stderr).
    Diff(SourceArgs),
    /// Write the change into the repository, optionally on a new git branch with a
    /// commit that cites each recommendation.
    Write(WriteArgs),
}

/// Where the recommendations and the code come from.
#[derive(Debug, clap::Args)]
pub struct SourceArgs {
    /// The infrastructure repository (default: `iac.repo` of the config).
    #[arg(long)]
    pub repo: Option<PathBuf>,
    /// Config file (TOML): the `[iac]` section, and the inputs of the recommendation.
    #[arg(long, short)]
    pub config: Option<PathBuf>,
    /// Telemetry to recommend from, as for `recommend`.
    #[arg(long, short, conflicts_with = "recommendations")]
    pub telemetry: Option<String>,
    /// A recommendation document (`adaptd recommend --output json`) to use instead.
    #[arg(long)]
    pub recommendations: Option<PathBuf>,
}

/// Arguments of `adaptd iac write`.
#[derive(Debug, clap::Args)]
pub struct WriteArgs {
    /// Inputs.
    #[command(flatten)]
    pub source: SourceArgs,
    /// Create this branch, write there and commit (without a name: `iac.branch`).
    #[arg(long, num_args = 0..=1, default_missing_value = "")]
    pub branch: Option<String>,
}

/// `adaptd iac`.
pub fn iac(args: &IacArgs) -> anyhow::Result<ExitCode> {
    let source = match &args.command {
        IacCommand::Diff(s) => s,
        IacCommand::Write(w) => &w.source,
    };
    let Some((config, set)) = load(source)? else {
        return Ok(ExitCode::from(super::EXIT_INVALID_INPUT));
    };
    let section = &config.iac;
    let Some(repo_dir) = source
        .repo
        .clone()
        .or_else(|| section.repo.as_ref().map(PathBuf::from))
    else {
        return Ok(invalid(
            &"adaptd iac: no repository: give --repo DIR or set iac.repo in the config",
        ));
    };
    let options = options(section);
    let repo = read_repo(&repo_dir, &section.paths, &options)?;
    let plan = match adaptd_iac::plan(&set, &repo, &options) {
        Ok(p) => p,
        Err(e) => return Ok(invalid(&format!("{}: {e}", repo_dir.display()))),
    };
    let changes = plan.patched()?;
    eprint!("{}", adaptd_iac::summary(&plan));
    match &args.command {
        IacCommand::Diff(_) => {
            print(&adaptd_iac::unified_diff(&changes))?;
        }
        IacCommand::Write(w) => {
            let branch = w.branch.as_ref().map(|b| {
                if b.is_empty() {
                    section.branch.clone()
                } else {
                    b.clone()
                }
            });
            if changes.is_empty() {
                eprintln!("adaptd iac: nothing to write");
                return Ok(ExitCode::SUCCESS);
            }
            match branch {
                None => write_files(&repo_dir, &changes)?,
                Some(b) => {
                    let message = commit_message(&section.commit_prefix, &plan);
                    commit(&repo_dir, &b, &changes, &message)?;
                    eprintln!("adaptd iac: committed on branch {b}");
                }
            }
            eprintln!(
                "adaptd iac: wrote {} file(s) in {}",
                changes.len(),
                repo_dir.display()
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The config and the recommendations; `None` when the user must fix an input (the
/// error is printed).
fn load(source: &SourceArgs) -> anyhow::Result<Option<(Config, RecommendationSet)>> {
    if let Some(path) = &source.recommendations {
        let config = match &source.config {
            Some(p) => match Config::load(p) {
                Ok(c) => c,
                Err(e) => {
                    eprintln!("{e}");
                    return Ok(None);
                }
            },
            None => Config::from_str("", "<defaults>").map_err(|e| anyhow!("{e}"))?,
        };
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let set: RecommendationSet = match serde_json::from_str(&text) {
            Ok(s) => s,
            Err(e) => {
                eprintln!("{}: not a recommendation document: {e}", path.display());
                return Ok(None);
            }
        };
        if set.schema_version != adaptd_optimizer::recommend::SCHEMA_VERSION {
            eprintln!(
                "{}: schema_version {} (this adaptd reads {})",
                path.display(),
                set.schema_version,
                adaptd_optimizer::recommend::SCHEMA_VERSION
            );
            return Ok(None);
        }
        return Ok(Some((config, set)));
    }
    let Some(telemetry) = &source.telemetry else {
        eprintln!("adaptd iac: give --telemetry (with --config) or --recommendations FILE");
        return Ok(None);
    };
    let (config, telemetry) = match inputs(source.config.as_deref(), telemetry)? {
        Ok(x) => x,
        Err(_) => return Ok(None),
    };
    match run(&config, &telemetry) {
        Ok(planned) => Ok(Some((config, planned.recommendations))),
        Err(PipelineError::Config(e)) => {
            eprintln!("{e}");
            Ok(None)
        }
        Err(PipelineError::Telemetry(e)) => {
            eprintln!("{e}");
            Ok(None)
        }
        Err(e) => Err(e.into()),
    }
}

/// The crate's options from the `[iac]` section.
pub fn options(section: &IacSection) -> Options {
    Options {
        mappings: section
            .components
            .iter()
            .map(|c| {
                (
                    c.name.clone(),
                    ComponentMapping {
                        terraform: c.terraform.clone(),
                        cloudformation: c.cloudformation.clone(),
                        function_name: c.function_name.clone(),
                    },
                )
            })
            .collect(),
        tag_keys: section.tag_keys.clone(),
        var_files: section.var_files.clone(),
        migrations_dir: section.migrations_dir.clone(),
    }
}

/// Folders never read: version control, tool caches, dependencies.
const SKIP_DIRS: &[&str] = &[".git", ".terraform", "node_modules", ".aws-sam", "cdk.out"];

/// Files larger than this are not infrastructure code (lock files, data).
const MAX_FILE_BYTES: u64 = 4 << 20;

/// Reads the files adaptd wants under `paths` of `dir`, by path relative to `dir`.
pub fn read_repo(dir: &Path, paths: &[String], options: &Options) -> anyhow::Result<Repo> {
    if !dir.is_dir() {
        bail!("{}: not a directory", dir.display());
    }
    let mut repo = Repo::default();
    for p in paths {
        let start = if p == "." {
            dir.to_path_buf()
        } else {
            dir.join(p)
        };
        if !start.is_dir() {
            bail!(
                "{}: iac.paths names `{p}`, which is not a folder of the repository",
                dir.display()
            );
        }
        let mut stack = vec![start];
        while let Some(d) = stack.pop() {
            let entries =
                std::fs::read_dir(&d).with_context(|| format!("reading {}", d.display()))?;
            for entry in entries {
                let entry = entry.with_context(|| format!("reading {}", d.display()))?;
                let path = entry.path();
                let name = entry.file_name().to_string_lossy().into_owned();
                let kind = entry.file_type()?;
                if kind.is_dir() {
                    if !SKIP_DIRS.contains(&name.as_str()) {
                        stack.push(path);
                    }
                    continue;
                }
                let rel = path
                    .strip_prefix(dir)
                    .expect("walked from dir")
                    .to_string_lossy()
                    .replace('\\', "/");
                if !kind.is_file()
                    || !Repo::wants(&rel, options)
                    || entry.metadata()?.len() > MAX_FILE_BYTES
                {
                    continue;
                }
                let bytes =
                    std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
                match String::from_utf8(bytes) {
                    Ok(text) => {
                        repo.files.insert(rel, text);
                    }
                    Err(_) => tracing::warn!("{rel} is not UTF-8; skipped"),
                }
            }
        }
    }
    Ok(repo)
}

/// Writes (or removes) every changed file under `dir`.
pub fn write_files(dir: &Path, changes: &BTreeMap<String, FileChange>) -> anyhow::Result<()> {
    for (rel, c) in changes {
        let path = dir.join(rel);
        match &c.after {
            Some(text) => {
                if let Some(parent) = path.parent() {
                    std::fs::create_dir_all(parent)
                        .with_context(|| format!("creating {}", parent.display()))?;
                }
                std::fs::write(&path, text)
                    .with_context(|| format!("writing {}", path.display()))?;
            }
            None => std::fs::remove_file(&path)
                .with_context(|| format!("removing {}", path.display()))?,
        }
    }
    Ok(())
}

/// The commit message: one line per component with its saving and predicted latency,
/// then what was left to a person.
pub fn commit_message(prefix: &str, plan: &Plan) -> String {
    let saving: f64 = plan.components.iter().map(|c| c.saving_usd_per_month).sum();
    let mut s = format!(
        "{prefix} apply {} recommendation(s) (saves {saving:.2} USD/month)\n\n",
        plan.components.len()
    );
    for c in &plan.components {
        let p99 = match (c.current_p99_ms, c.recommended_p99_ms) {
            (Some(a), Some(b)) => format!("; predicted worst-hour p99 {a:.0} → {b:.0} ms"),
            _ => String::new(),
        };
        s.push_str(&format!(
            "- {}: {}; saves {:.2} USD/month{p99}\n",
            c.component, c.recommended, c.saving_usd_per_month
        ));
    }
    if !plan.suggestions.is_empty() {
        s.push_str("\nLeft to a person (see `adaptd iac diff`):\n");
        for x in &plan.suggestions {
            s.push_str(&format!("- {} {}: {}\n", x.component, x.field, x.reason));
        }
    }
    s.push_str("\nWritten by `adaptd iac write`.\n");
    s
}

fn git(dir: &Path, args: &[&str]) -> anyhow::Result<String> {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .with_context(|| "running git (is it installed?)")?;
    if !out.status.success() {
        bail!(
            "git {} failed in {}: {}",
            args.join(" "),
            dir.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Creates `branch`, writes the files and commits them, refusing a work tree with
/// uncommitted changes (they would end up in adaptd's commit).
pub fn commit(
    dir: &Path,
    branch: &str,
    changes: &BTreeMap<String, FileChange>,
    message: &str,
) -> anyhow::Result<()> {
    let top = git(dir, &["rev-parse", "--show-toplevel"])
        .map_err(|e| anyhow!("{}: not in a git repository ({e})", dir.display()))?;
    let status = git(dir, &["status", "--porcelain", "--untracked-files=no"])?;
    if !status.trim().is_empty() {
        bail!(
            "{}: the work tree has uncommitted changes; commit or stash them first:\n{status}",
            top.trim()
        );
    }
    git(dir, &["check-ref-format", "--branch", branch])
        .map_err(|_| anyhow!("`{branch}` is not a valid branch name"))?;
    git(dir, &["switch", "-c", branch])?;
    write_files(dir, changes)?;
    let mut add = vec!["add", "--all", "--"];
    add.extend(changes.keys().map(String::as_str));
    git(dir, &add)?;
    let mut cmd = Command::new("git");
    cmd.arg("-C").arg(dir);
    // A machine without a git identity still gets a commit, signed as adaptd.
    if git(dir, &["config", "user.email"]).is_err() {
        cmd.args([
            "-c",
            "user.name=adaptd",
            "-c",
            "user.email=adaptd@localhost",
        ]);
    }
    let mut child = cmd
        .args(["commit", "--quiet", "-F", "-"])
        .stdin(Stdio::piped())
        .spawn()
        .context("running git commit")?;
    child
        .stdin
        .take()
        .expect("piped")
        .write_all(message.as_bytes())
        .context("writing the commit message")?;
    let status = child.wait().context("running git commit")?;
    if !status.success() {
        bail!("git commit failed in {}", dir.display());
    }
    Ok(())
}
