//! adaptd's recommendations as infrastructure-as-code.
//!
//! Teams keep their infrastructure in Terraform or CloudFormation; a change adaptd
//! applies through the API is undone by the next `terraform apply` unless the code says
//! the same. This crate turns a [`RecommendationSet`] and the text of a repository's
//! IaC files into a [`Plan`]: byte-range edits of existing files (each one reviewable on
//! its own), new files (provisioned-concurrency schedules, migration modules), and
//! suggestions for what cannot be patched safely, each with the reason.
//!
//! It does no I/O: the caller reads the repository into a [`Repo`] and writes
//! [`Plan::patched`] back, so every behaviour here is tested on strings.
//!
//! Edits are splices at spans found by real parsers (`hcl-edit` for HCL, `saphyr` for
//! YAML and JSON), never re-serialisations, so every byte outside an edited value is
//! kept: comments, alignment, heredocs, key order.

mod cfn;
mod edit;
mod error;
mod generate;
mod model;
mod plan;
mod render;
mod schedule;
mod tf;

use std::collections::BTreeMap;

pub use adaptd_optimizer::recommend::{Recommendation, RecommendationSet};
pub use edit::{Edit, apply_edits, line_of};
pub use error::IacError;
pub use model::{ComponentSummary, FileChange, GeneratedFile, Plan, Suggestion, SuggestionKind};
pub use render::{summary, unified_diff};
pub use schedule::{ScheduledStep, schedule_steps};

/// The IaC files of a repository: path relative to the repository root (with `/`
/// separators) → text.
#[derive(Clone, Debug, Default)]
pub struct Repo {
    /// The files, by relative path.
    pub files: BTreeMap<String, String>,
}

impl Repo {
    /// Whether adaptd reads a file at `path` (Terraform, tfvars, a template candidate,
    /// or anything in the migrations folder, which it may regenerate); the caller uses
    /// it to decide what to load.
    pub fn wants(path: &str, options: &Options) -> bool {
        let lower = path.to_ascii_lowercase();
        let dir = options.migrations_dir.trim_end_matches('/');
        path.strip_prefix(dir)
            .is_some_and(|rest| rest.starts_with('/'))
            || lower.ends_with(".tf")
            || lower.ends_with(".tfvars")
            || lower.ends_with(".yaml")
            || lower.ends_with(".yml")
            || lower.ends_with(".json")
            || lower.ends_with(".template")
    }
}

/// Where a component lives in the code, when names and tags do not tell.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ComponentMapping {
    /// Terraform resource addresses (`module.search.aws_lambda_function.this`,
    /// `aws_lambda_function.fn["auth-token"]`).
    pub terraform: Vec<String>,
    /// CloudFormation resources as `FILE#LogicalId`.
    pub cloudformation: Vec<String>,
    /// The deployed function or service name, when it differs from the component name.
    pub function_name: Option<String>,
}

/// How to find and write IaC.
#[derive(Clone, Debug)]
pub struct Options {
    /// Explicit mappings by component name.
    pub mappings: BTreeMap<String, ComponentMapping>,
    /// Tag keys whose value names a component (checked after the function name).
    pub tag_keys: Vec<String>,
    /// `.tfvars` files (relative paths) to read and patch besides the ones Terraform
    /// loads by itself (`terraform.tfvars`, `*.auto.tfvars`), in `-var-file` order.
    pub var_files: Vec<String>,
    /// Folder (relative to the repository) for generated migration modules.
    pub migrations_dir: String,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            mappings: BTreeMap::new(),
            tag_keys: vec!["adaptd:component".to_owned(), "Component".to_owned()],
            var_files: Vec::new(),
            migrations_dir: "adaptd-migrations".to_owned(),
        }
    }
}

/// Plans the IaC changes for `recommendations` in `repo`.
///
/// Errors are for input the caller must fix (a file that does not parse, a mapping
/// that names nothing); everything adaptd merely cannot patch is a [`Suggestion`].
pub fn plan(
    recommendations: &RecommendationSet,
    repo: &Repo,
    options: &Options,
) -> Result<Plan, IacError> {
    plan::build(recommendations, repo, options)
}
