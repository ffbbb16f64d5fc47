//! The Fargate → Lambda migration module: a function from the service's image with the
//! recommended memory, architecture, reserved and provisioned concurrency (by hour in
//! the component's zone, through scheduled actions), behind the load balancer the service used.

use adaptd_engine::spec::LambdaConfig;

use super::{hcl_list, header, module_dir, push_module};
use crate::model::{Plan, Suggestion, SuggestionKind};
use crate::tf::ident;
use crate::{Options, Recommendation};

/// A module folder that runs the component on Lambda beside its ECS service.
pub(crate) fn lambda_migration(
    rec: &Recommendation,
    l: &LambdaConfig,
    options: &Options,
    plan: &mut Plan,
) {
    let dir = module_dir(options, &format!("{}-lambda", rec.component));
    let head = header(
        &rec.component,
        "Fargate → Lambda migration module, for review; adaptd never applies it",
        rec,
    );
    let reserved = l
        .reserved_concurrency
        .map_or_else(|| "-1".to_owned(), |r| r.to_string());
    let variables = format!(
        "{head}\n{}",
        include_str!("lambda_variables.tf")
            .replace("@NAME@", &rec.component)
            .replace("@MEMORY@", &l.memory_mb.to_string())
            .replace("@ARCH@", l.architecture.as_str())
            .replace("@RESERVED@", &reserved)
            .replace("@PC@", &hcl_list(&l.provisioned.hourly()))
            .replace("@TZ@", rec.timezone.name())
    );
    let main = format!("{head}\n{}", include_str!("lambda_main.tf"));
    let outputs = format!("{head}\n{}", include_str!("lambda_outputs.tf"));
    let description = |p: Option<&adaptd_optimizer::recommend::Predicted>| {
        p.map_or(String::new(), |p| p.description.clone())
    };
    let readme = include_str!("lambda_README.md")
        .replace("@NAME@", &rec.component)
        .replace("@DIR@", &dir)
        .replace("@DESC@", &description(rec.recommended.as_ref()))
        .replace("@SAVING@", &format!("{:.2}", rec.saving_usd_per_month))
        .replace("@IDENT@", &ident(&rec.component));
    push_module(
        plan,
        &dir,
        &rec.component,
        "Fargate → Lambda migration module",
        [
            ("variables.tf", variables),
            ("main.tf", main),
            ("outputs.tf", outputs),
            ("README.md", readme),
        ],
    );
    plan.suggestions.push(Suggestion {
        component: rec.component.clone(),
        field: "platform".to_owned(),
        kind: SuggestionKind::Migration,
        from: description(rec.current.as_ref()),
        to: description(rec.recommended.as_ref()),
        reason: format!(
            "a platform move is not a patch: review the module in {dir}/ (README.md: Lambda's \
             15-minute, 10 GB and payload limits), build the service's image for Lambda, add a \
             `module` block for it, move traffic, then remove the service"
        ),
    });
}
