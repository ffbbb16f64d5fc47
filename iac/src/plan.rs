//! The plan: what adaptd would change in the repository, and what it leaves to a
//! person, with reasons. Built per component from the recommendation, Terraform first,
//! then CloudFormation, then the migrations (platform moves, companions).

use std::collections::BTreeMap;

use adaptd_engine::spec::Deployment;
use serde::Serialize;

use crate::cfn::Templates;
use crate::edit::{Edit, apply_edits};
use crate::tf::Tf;
use crate::tf::patch::TfCtx;
use crate::{IacError, Options, Recommendation, RecommendationSet, Repo, generate};

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
    originals: BTreeMap<String, String>,
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

/// Whether a recommendation asks for anything.
fn wants_change(r: &Recommendation) -> bool {
    match (&r.current, &r.recommended) {
        (Some(c), Some(n)) => c.deployment != n.deployment,
        _ => false,
    }
}

pub(crate) fn build(
    set: &RecommendationSet,
    repo: &Repo,
    options: &Options,
) -> Result<Plan, IacError> {
    let tf = Tf::load(&repo.files, &options.var_files)?;
    let templates = Templates::load(&repo.files)?;
    let ctx = TfCtx::new(&tf, options);
    ctx.check_mappings(options)?;
    templates.check_mappings(options)?;
    // Migration modules are Terraform: a repository without any gets suggestions.
    let terraform = !tf.modules.is_empty();
    let mut plan = Plan {
        originals: repo.files.clone(),
        notes: tf
            .remote_modules()
            .into_iter()
            .chain(
                repo.files
                    .keys()
                    .filter(|p| p.ends_with(".tf.json") || p.ends_with(".tfvars.json"))
                    .map(|p| format!("{p}: Terraform's JSON syntax is not searched or patched")),
            )
            .collect(),
        ..Plan::default()
    };
    for rec in set.components.iter().filter(|r| wants_change(r)) {
        let (Some(cur), Some(new)) = (&rec.current, &rec.recommended) else {
            continue;
        };
        let before = (plan.edits.len(), plan.suggestions.len());
        let mut located = ctx.locate(rec, &mut plan);
        located.extend(templates.patch(rec, options, &mut plan));
        if located.is_empty() {
            plan.suggestions.push(Suggestion {
                component: rec.component.clone(),
                field: "all".to_owned(),
                kind: SuggestionKind::NotFound,
                from: cur.description.clone(),
                to: new.description.clone(),
                reason: ctx.not_found_reason(rec, options),
            });
        }
        if let (Deployment::Lambda(_), Deployment::Fargate(f)) = (&cur.deployment, &new.deployment)
        {
            if terraform {
                generate::fargate_migration(rec, f, options, &mut plan);
            } else {
                plan.suggestions.push(no_terraform(
                    &rec.component,
                    "platform",
                    &cur.description,
                    &new.description,
                ));
            }
        }
        plan.components.push(ComponentSummary {
            component: rec.component.clone(),
            recommended: new.description.clone(),
            saving_usd_per_month: rec.saving_usd_per_month,
            current_p99_ms: Some(cur.worst_hour_p99_ms),
            recommended_p99_ms: Some(new.worst_hour_p99_ms),
            located,
            edits: plan.edits.len() - before.0,
            suggestions: plan.suggestions.len() - before.1,
        });
    }
    for companion in &set.companions {
        if companion.kind != "rds_proxy" {
            continue;
        }
        if terraform {
            let engine = ctx.database_engine(&companion.database);
            generate::rds_proxy_migration(companion, engine.as_deref(), options, &mut plan);
        } else {
            plan.suggestions.push(no_terraform(
                &companion.database,
                "rds_proxy",
                "no proxy",
                "RDS Proxy",
            ));
        }
    }
    // A value already at its recommended setting (a second run) is no edit.
    let originals = &plan.originals;
    plan.edits.retain(|e| {
        originals.get(&e.file).and_then(|t| t.get(e.range.clone())) != Some(e.replacement.as_str())
    });
    for c in &mut plan.components {
        c.edits = plan
            .edits
            .iter()
            .filter(|e| e.component == c.component)
            .count();
    }
    plan.patched()?;
    Ok(plan)
}

fn no_terraform(component: &str, field: &str, from: &str, to: &str) -> Suggestion {
    Suggestion {
        component: component.to_owned(),
        field: field.to_owned(),
        kind: SuggestionKind::Migration,
        from: from.to_owned(),
        to: to.to_owned(),
        reason: "the repository has no Terraform, and adaptd writes migration modules only as \
                 Terraform: plan this change by hand"
            .to_owned(),
    }
}
