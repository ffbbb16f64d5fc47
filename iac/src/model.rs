//! What a plan is: the edits, the files written whole, and the suggestions left to a
//! person. Its own file, below the builders (`plan`, `tf`, `cfn`, `generate`), so that
//! each of them adds to a plan without reaching back into the others.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::IacError;
use crate::edit::{Edit, apply_edits};

/// A file adaptd writes whole: a schedule it owns or a migration module.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct GeneratedFile {
    /// Relative path.
    pub path: String,
    /// Full text.
    pub text: String,
    /// Component (or database, for an RDS Proxy) it is for.
    pub component: String,
    /// What it is.
    pub description: String,
}

/// What kind of attention a suggestion needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SuggestionKind {
    /// The value could not be patched safely; the reason says why.
    Manual,
    /// No resource of the component was found in the code.
    NotFound,
    /// A generated migration module to review and wire in.
    Migration,
    /// Data (database, storage) is involved: never patched, planned by a person.
    Stateful,
}

/// A change adaptd proposes but does not write.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Suggestion {
    /// Component (or database).
    pub component: String,
    /// Recommendation field, or `rds_proxy`.
    pub field: String,
    /// Why a person is needed.
    pub kind: SuggestionKind,
    /// Old value, as the recommendation says.
    pub from: String,
    /// New value.
    pub to: String,
    /// Why it was not patched, and what to do.
    pub reason: String,
}

/// One component's recommendation, for commit messages and summaries.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ComponentSummary {
    /// Component name (the recommendation's id).
    pub component: String,
    /// The recommended deployment.
    pub recommended: String,
    /// USD per month.
    pub saving_usd_per_month: f64,
    /// Predicted worst-hour p99 now (ms).
    pub current_p99_ms: Option<f64>,
    /// Predicted worst-hour p99 recommended (ms).
    pub recommended_p99_ms: Option<f64>,
    /// Resources found for it (Terraform addresses, `FILE#LogicalId`).
    pub located: Vec<String>,
    /// Edits written for it.
    pub edits: usize,
    /// Suggestions left for it.
    pub suggestions: usize,
}

/// What adaptd would change.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Plan {
    /// Edits of existing files.
    pub edits: Vec<Edit>,
    /// Files written whole.
    pub generated: Vec<GeneratedFile>,
    /// Files adaptd generated earlier that are no longer needed.
    pub deleted: Vec<String>,
    /// What is left to a person.
    pub suggestions: Vec<Suggestion>,
    /// One per component with a change.
    pub components: Vec<ComponentSummary>,
    /// Things the reader should know (modules not searched).
    pub notes: Vec<String>,
    #[serde(skip)]
    pub(crate) originals: BTreeMap<String, String>,
}

/// A file before and after (`None`: absent).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileChange {
    /// Text now.
    pub before: Option<String>,
    /// Text after the plan.
    pub after: Option<String>,
}

impl Plan {
    /// Every file the plan touches, before and after, by path.
    pub fn patched(&self) -> Result<BTreeMap<String, FileChange>, IacError> {
        let mut by_file: BTreeMap<&str, Vec<&Edit>> = BTreeMap::new();
        for e in &self.edits {
            by_file.entry(&e.file).or_default().push(e);
        }
        let mut out = BTreeMap::new();
        for (file, edits) in by_file {
            let before = self.originals.get(file).cloned().unwrap_or_default();
            let after = apply_edits(file, &before, &edits)?;
            out.insert(
                file.to_owned(),
                FileChange {
                    before: Some(before),
                    after: Some(after),
                },
            );
        }
        for g in &self.generated {
            let before = self.originals.get(&g.path).cloned();
            if before.as_deref() != Some(g.text.as_str()) {
                out.insert(
                    g.path.clone(),
                    FileChange {
                        before,
                        after: Some(g.text.clone()),
                    },
                );
            }
        }
        for d in &self.deleted {
            out.insert(
                d.clone(),
                FileChange {
                    before: self.originals.get(d).cloned(),
                    after: None,
                },
            );
        }
        Ok(out)
    }

    /// Whether the plan changes no file.
    pub fn is_empty(&self) -> bool {
        self.edits.is_empty() && self.generated.is_empty() && self.deleted.is_empty()
    }
}
