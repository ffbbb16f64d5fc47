//! What a recommendation changes, field by field, and how each field is applied.

use adaptd_engine::spec::{Deployment, describe_schedule};

use super::model::Change;

/// Field-by-field differences between two deployments.
pub fn changes(from: &Deployment, to: &Deployment) -> Vec<Change> {
    let mut out = Vec::new();
    let mut push = |field: &str, a: String, b: String, via: &str| {
        if a != b {
            out.push(Change {
                field: field.into(),
                from: a,
                to: b,
                applies_via: via.into(),
            });
        }
    };
    match (from, to) {
        (Deployment::Lambda(a), Deployment::Lambda(b)) => {
            push(
                "memory_mb",
                a.memory_mb.to_string(),
                b.memory_mb.to_string(),
                "api",
            );
            push(
                "architecture",
                a.architecture.to_string(),
                b.architecture.to_string(),
                "iac",
            );
            push(
                "provisioned_concurrency",
                describe_schedule(&a.provisioned.hourly()),
                describe_schedule(&b.provisioned.hourly()),
                "api",
            );
            let r = |x: Option<u32>| x.map_or("none".to_owned(), |v| v.to_string());
            push(
                "reserved_concurrency",
                r(a.reserved_concurrency),
                r(b.reserved_concurrency),
                "api",
            );
        }
        (Deployment::Fargate(a), Deployment::Fargate(b)) => {
            push(
                "fargate_size",
                format!("{} vCPU {} MB", a.vcpu, a.memory_mb),
                format!("{} vCPU {} MB", b.vcpu, b.memory_mb),
                "iac",
            );
            push(
                "architecture",
                a.architecture.to_string(),
                b.architecture.to_string(),
                "iac",
            );
            push(
                "tasks",
                describe_schedule(&a.tasks),
                describe_schedule(&b.tasks),
                "api",
            );
            push(
                "per_task_concurrency",
                a.per_task_concurrency.to_string(),
                b.per_task_concurrency.to_string(),
                "iac",
            );
            let scaling = |f: &adaptd_engine::spec::FargateConfig| match &f.target_tracking {
                None => "schedule".to_owned(),
                Some(t) => format!(
                    "target tracking {} {} ({}–{} tasks)",
                    t.metric.aws_name(),
                    t.target_value,
                    t.min_tasks,
                    t.max_tasks
                ),
            };
            push("scaling", scaling(a), scaling(b), "api");
            push(
                "spot_share",
                format!("{}", a.spot_share),
                format!("{}", b.spot_share),
                "api",
            );
        }
        _ => push("platform", from.describe(), to.describe(), "iac"),
    }
    out
}
