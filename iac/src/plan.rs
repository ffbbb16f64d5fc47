//! The plan: what adaptd would change in the repository, and what it leaves to a
//! person, with reasons. Built per component from the recommendation, Terraform first,
//! then CloudFormation, then the migrations (platform moves, companions).

use adaptd_engine::spec::Deployment;

use crate::cfn::Templates;
use crate::model::{ComponentSummary, Plan, Suggestion, SuggestionKind};
use crate::tf::Tf;
use crate::tf::patch::TfCtx;
use crate::{IacError, Options, Recommendation, RecommendationSet, Repo, generate};

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
        if cur.deployment.platform() != new.deployment.platform() {
            if terraform {
                match &new.deployment {
                    Deployment::Fargate(f) => {
                        generate::fargate_migration(rec, f, options, &mut plan);
                    }
                    Deployment::Lambda(l) => generate::lambda_migration(rec, l, options, &mut plan),
                }
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
