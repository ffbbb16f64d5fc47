//! ECS calls: a service's desired count and task definition, a new task definition
//! revision copied from the one in use with a new size; and reading each back, with
//! the service's load balancer for an `ALBRequestCountPerTarget` policy.

use adaptd_engine::spec::Architecture;
use aws_sdk_ecs::Client;
use aws_sdk_ecs::types::{
    CpuArchitecture, RuntimePlatform, Service, TaskDefinition, TaskDefinitionField,
};

use super::{AwsError, i32_of, u32_of};
use crate::plan::ecs::family;
use crate::plan::{Call, ServiceTarget};

pub(super) async fn execute(c: &Client, call: &Call) -> Result<(), AwsError> {
    match call {
        Call::UpdateServiceDesiredCount {
            cluster,
            service,
            desired_count,
        } => c
            .update_service()
            .cluster(cluster)
            .service(service)
            .desired_count(i32_of(*desired_count))
            .send()
            .await
            .map(drop)
            .map_err(|e| AwsError::new("ecs:UpdateService", &e)),
        Call::UpdateServiceTaskDefinition {
            cluster,
            service,
            task_definition,
            ..
        } => c
            .update_service()
            .cluster(cluster)
            .service(service)
            .task_definition(task_definition)
            .send()
            .await
            .map(drop)
            .map_err(|e| AwsError::new("ecs:UpdateService", &e)),
        Call::RegisterTaskDefinition {
            based_on,
            cpu_units,
            memory_mb,
            architecture,
        } => register_copy(c, based_on, *cpu_units, *memory_mb, *architecture).await,
        other => Err(AwsError {
            operation: other.iam_action(),
            message: "not an ECS call".to_owned(),
        }),
    }
}

/// Registers a copy of `based_on` (everything a task needs to run the same: containers,
/// roles, network mode, volumes, placement, compatibilities, tags) with a new size.
async fn register_copy(
    c: &Client,
    based_on: &str,
    cpu_units: u32,
    memory_mb: u32,
    architecture: Architecture,
) -> Result<(), AwsError> {
    let op = "ecs:RegisterTaskDefinition";
    let out = c
        .describe_task_definition()
        .task_definition(based_on)
        .include(TaskDefinitionField::Tags)
        .send()
        .await
        .map_err(|e| AwsError::new("ecs:DescribeTaskDefinition", &e))?;
    let td = out.task_definition().ok_or_else(|| AwsError {
        operation: op,
        message: format!("{based_on}: no task definition in DescribeTaskDefinition's answer"),
    })?;
    let platform = RuntimePlatform::builder()
        .cpu_architecture(CpuArchitecture::from(architecture.ecs_name()))
        .set_operating_system_family(
            td.runtime_platform()
                .and_then(|r| r.operating_system_family().cloned()),
        )
        .build();
    c.register_task_definition()
        .family(family(based_on))
        .set_container_definitions(Some(td.container_definitions().to_vec()))
        .set_task_role_arn(td.task_role_arn().map(str::to_owned))
        .set_execution_role_arn(td.execution_role_arn().map(str::to_owned))
        .set_network_mode(td.network_mode().cloned())
        .set_volumes(nonempty(td.volumes()))
        .set_placement_constraints(nonempty(td.placement_constraints()))
        .set_requires_compatibilities(nonempty(td.requires_compatibilities()))
        .set_pid_mode(td.pid_mode().cloned())
        .set_ipc_mode(td.ipc_mode().cloned())
        .set_proxy_configuration(td.proxy_configuration().cloned())
        .set_ephemeral_storage(td.ephemeral_storage().cloned())
        .set_tags(nonempty(out.tags()))
        .cpu(cpu_units.to_string())
        .memory(memory_mb.to_string())
        .runtime_platform(platform)
        .send()
        .await
        .map(drop)
        .map_err(|e| AwsError::new(op, &e))
}

fn nonempty<T: Clone>(items: &[T]) -> Option<Vec<T>> {
    (!items.is_empty()).then(|| items.to_vec())
}

pub(super) async fn is_effective(c: &Client, call: &Call) -> Result<bool, AwsError> {
    Ok(match call {
        Call::UpdateServiceDesiredCount {
            cluster,
            service,
            desired_count,
        } => u32_of(describe_service(c, cluster, service).await?.desired_count()) == *desired_count,
        Call::UpdateServiceTaskDefinition {
            cluster,
            service,
            task_definition,
            cpu_units,
            memory_mb,
            architecture,
        } => {
            let svc = describe_service(c, cluster, service).await?;
            let arn = svc.task_definition().unwrap_or_default();
            if task_definition.contains(':') {
                // A pinned revision: exactly it.
                arn.ends_with(&format!("/{task_definition}")) || arn == task_definition
            } else {
                let td = describe_task_definition(c, arn).await?;
                family(arn) == task_definition.as_str()
                    && size(&td) == (*cpu_units, *memory_mb, *architecture)
            }
        }
        Call::RegisterTaskDefinition {
            based_on,
            cpu_units,
            memory_mb,
            architecture,
        } => {
            // Registered already: the family's latest active revision is newer than the
            // one copied and has the size (a crash after the call, before its record).
            let latest = describe_task_definition(c, family(based_on)).await?;
            let base_revision = based_on
                .rsplit_once(':')
                .and_then(|(_, r)| r.parse::<i32>().ok())
                .unwrap_or(i32::MAX);
            latest.revision() > base_revision
                && size(&latest) == (*cpu_units, *memory_mb, *architecture)
        }
        _ => false,
    })
}

async fn describe_service(c: &Client, cluster: &str, service: &str) -> Result<Service, AwsError> {
    let out = c
        .describe_services()
        .cluster(cluster)
        .services(service)
        .send()
        .await
        .map_err(|e| AwsError::new("ecs:DescribeServices", &e))?;
    out.services()
        .iter()
        .find(|s| s.service_name() == Some(service))
        .cloned()
        .ok_or_else(|| AwsError {
            operation: "ecs:DescribeServices",
            message: format!(
                "no service {service} in cluster {cluster}{}",
                out.failures()
                    .first()
                    .and_then(|f| f.reason())
                    .map_or(String::new(), |r| format!(" ({r})"))
            ),
        })
}

async fn describe_task_definition(c: &Client, td: &str) -> Result<TaskDefinition, AwsError> {
    c.describe_task_definition()
        .task_definition(td)
        .send()
        .await
        .map_err(|e| AwsError::new("ecs:DescribeTaskDefinition", &e))?
        .task_definition()
        .cloned()
        .ok_or_else(|| AwsError {
            operation: "ecs:DescribeTaskDefinition",
            message: format!("{td}: no task definition in the answer"),
        })
}

/// A task size as ECS writes it: CPU units (`256`, or `0.25 vCPU`) and memory (`512`,
/// or `1 GB`).
fn units(text: Option<&str>, per_unit: f64) -> u32 {
    let t = text.unwrap_or("0").trim();
    let (num, scaled) = match t.split_once(' ') {
        Some((n, _)) => (n, true),
        None => (t, false),
    };
    let v = num.parse::<f64>().unwrap_or(0.0) * if scaled { per_unit } else { 1.0 };
    if v.is_finite() && v > 0.0 {
        v.round().min(f64::from(u32::MAX)) as u32
    } else {
        0
    }
}

/// (CPU units, memory MB, architecture) of a task definition.
fn size(td: &TaskDefinition) -> (u32, u32, Architecture) {
    let arch = match td.runtime_platform().and_then(|r| r.cpu_architecture()) {
        Some(CpuArchitecture::Arm64) => Architecture::Arm64,
        _ => Architecture::X86_64,
    };
    (units(td.cpu(), 1024.0), units(td.memory(), 1024.0), arch)
}

/// The service's live task definition (`family:revision`), size and desired count.
pub(super) async fn service(
    c: &Client,
    s: &ServiceTarget,
) -> Result<(String, (u32, u32, Architecture), u32), AwsError> {
    let svc = describe_service(c, &s.cluster, &s.service).await?;
    let arn = svc.task_definition().unwrap_or_default().to_owned();
    let td = describe_task_definition(c, &arn).await?;
    let name = arn.rsplit_once('/').map_or(arn.as_str(), |(_, n)| n);
    Ok((name.to_owned(), size(&td), u32_of(svc.desired_count())))
}

/// The target group of the service's first load balancer, if any.
pub(super) async fn target_group(
    c: &Client,
    s: &ServiceTarget,
) -> Result<Option<String>, AwsError> {
    let svc = describe_service(c, &s.cluster, &s.service).await?;
    Ok(svc
        .load_balancers()
        .iter()
        .find_map(|lb| lb.target_group_arn().map(str::to_owned)))
}

/// Application Auto Scaling's `ResourceLabel` of a target group on a load balancer:
/// `app/LB/ID/targetgroup/TG/ID`.
pub(super) fn resource_label(load_balancer_arn: &str, target_group_arn: &str) -> Option<String> {
    let lb = load_balancer_arn.split_once(":loadbalancer/")?.1;
    let tg = target_group_arn.rsplit_once(':')?.1;
    tg.starts_with("targetgroup/").then(|| format!("{lb}/{tg}"))
}
