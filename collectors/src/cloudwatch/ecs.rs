//! Discovery of ECS services on Fargate: what runs, at what size, behind which
//! target groups.
//!
//! ListClusters and DescribeClusters give the clusters with their Container Insights
//! setting and default capacity provider strategy; ListServices and DescribeServices
//! (ten at a time, with tags) the services; DescribeTaskDefinition the task size and
//! architecture; DescribeTargetGroups the load balancer of each target group, which
//! the ALB metrics need as a dimension. Only services that run on Fargate become
//! components; the others are named in a note with the reason, so that a cluster of
//! EC2 services does not vanish silently.

use std::collections::{BTreeMap, HashMap};

use aws_sdk_ecs::types::{
    CapacityProviderStrategyItem, ClusterField, CpuArchitecture, LaunchType, Service, ServiceField,
    TaskDefinition,
};

use super::client::Clients;
use super::config::EcsSettings;
use super::cost::Meter;
use super::discover::Found;
use super::error::{Error, Scope, api_error};
use super::plan::{Facts, ServiceFacts, TargetGroup};

/// Services DescribeServices accepts per call.
const SERVICES_PER_CALL: usize = 10;
/// Clusters DescribeClusters accepts per call.
const CLUSTERS_PER_CALL: usize = 100;
/// Target groups asked per DescribeTargetGroups call (its page size is larger; this
/// keeps one answer per page).
const TARGET_GROUPS_PER_CALL: usize = 20;
/// The tag that states a service's per-task concurrency, which no API shows.
pub(crate) const PER_TASK_CONCURRENCY_TAG: &str = "adaptd:per_task_concurrency";

/// What ECS discovery found in one account and region.
#[derive(Debug, Default)]
pub(crate) struct EcsFound {
    pub found: Vec<Found>,
    /// Services not collected and why; services whose per-task concurrency was
    /// assumed.
    pub notes: Vec<String>,
    pub errors: Vec<Error>,
}

/// A cluster with what its services inherit.
struct Cluster {
    arn: String,
    name: String,
    insights: bool,
    default_strategy: Vec<CapacityProviderStrategyItem>,
}

/// The last `/`-separated part of an ARN (`…:cluster/shop` → `shop`).
fn last_part(arn: &str) -> &str {
    arn.rsplit('/').next().unwrap_or(arn)
}

/// The resource part of an ELB ARN, which CloudWatch uses as the dimension value:
/// `…:targetgroup/NAME/ID` → `targetgroup/NAME/ID`, `…:loadbalancer/app/NAME/ID` →
/// `app/NAME/ID`.
pub(crate) fn elb_dimension(arn: &str) -> Option<&str> {
    let resource = arn.splitn(6, ':').nth(5)?;
    Some(resource.strip_prefix("loadbalancer/").unwrap_or(resource))
}

/// How a service runs: `Ok(share of Fargate Spot)` when on Fargate, or why it is not.
fn fargate_share(
    service: &Service,
    default_strategy: &[CapacityProviderStrategyItem],
) -> Result<f64, String> {
    match service.launch_type() {
        Some(LaunchType::Fargate) => return Ok(0.0),
        Some(other) => return Err(format!("launch type {}", other.as_str())),
        None => {}
    }
    let strategy = if service.capacity_provider_strategy().is_empty() {
        default_strategy
    } else {
        service.capacity_provider_strategy()
    };
    if strategy.is_empty() {
        return Err("no launch type and no capacity provider strategy".into());
    }
    if let Some(other) = strategy
        .iter()
        .find(|s| !matches!(s.capacity_provider(), "FARGATE" | "FARGATE_SPOT"))
    {
        return Err(format!("capacity provider {}", other.capacity_provider()));
    }
    // Tasks beyond the bases split by weight; the weights are what a steady
    // service's share follows.
    let weight = |name: &str| -> f64 {
        strategy
            .iter()
            .filter(|s| s.capacity_provider() == name)
            .map(|s| f64::from(s.weight().max(0)))
            .sum()
    };
    let (spot, total) = (
        weight("FARGATE_SPOT"),
        weight("FARGATE") + weight("FARGATE_SPOT"),
    );
    Ok(if total > 0.0 { spot / total } else { 0.0 })
}

/// Discovers the Fargate services of one account and region.
pub(crate) async fn discover(
    clients: &Clients,
    ecs: &EcsSettings,
    account: &str,
    meter: &Meter,
) -> EcsFound {
    let scope = Scope {
        account: account.to_owned(),
        region: Some(clients.region.clone()),
        function: None,
        service: None,
    };
    let mut out = EcsFound::default();
    let clusters = match clusters(clients, ecs, &scope, meter).await {
        Ok(c) => c,
        Err(e) => {
            out.errors.push(e);
            return out;
        }
    };
    let mut services = Vec::new();
    for cluster in &clusters {
        match services_of(clients, ecs, cluster, &scope, meter).await {
            Ok(s) => services.extend(s.into_iter().map(|s| (cluster, s))),
            Err(e) => out.errors.push(e),
        }
    }
    let mut skipped: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut fargate = Vec::new();
    for (cluster, s) in services {
        let name = format!("{}/{}", cluster.name, s.service_name().unwrap_or_default());
        match fargate_share(&s, &cluster.default_strategy) {
            Ok(spot) => fargate.push((cluster, s, spot)),
            Err(why) => skipped.entry(why).or_default().push(name),
        }
    }
    for (why, names) in skipped {
        out.notes.push(format!(
            "ECS services not on Fargate, not collected ({why}): {}",
            names.join(", ")
        ));
    }
    let tg_arns: Vec<String> = fargate
        .iter()
        .flat_map(|(_, s, _)| s.load_balancers().iter())
        .filter_map(|lb| lb.target_group_arn().map(str::to_owned))
        .collect();
    let balancers = match load_balancers_of(clients, tg_arns, &scope, meter).await {
        Ok(b) => b,
        Err(e) => {
            out.errors.push(e);
            HashMap::new()
        }
    };
    let mut task_defs: HashMap<String, TaskDefinition> = HashMap::new();
    let mut assumed = Vec::new();
    for (cluster, s, spot) in fargate {
        let service_name = s.service_name().unwrap_or_default().to_owned();
        let scope = Scope {
            service: Some(format!("{}/{service_name}", cluster.name)),
            ..scope.clone()
        };
        let Some(td_arn) = s.task_definition() else {
            out.errors.push(Error::Malformed {
                operation: "DescribeServices",
                scope: Box::new(scope),
                what: "no taskDefinition".into(),
            });
            continue;
        };
        if !task_defs.contains_key(td_arn) {
            match task_definition(clients, td_arn, &scope, meter).await {
                Ok(td) => {
                    task_defs.insert(td_arn.to_owned(), td);
                }
                Err(e) => {
                    out.errors.push(e);
                    continue;
                }
            }
        }
        let described = Described {
            cluster,
            service: &s,
            task_definition: &task_defs[td_arn],
            spot_share: spot,
            balancers: &balancers,
        };
        let (found, from_default) = described.found(ecs, account, &clients.region);
        if from_default {
            assumed.push(found.facts.name());
        }
        for n in described.unmatched_balancers() {
            out.notes.push(format!(
                "{}: target group {n} is not behind an Application Load Balancer; its requests are not collected",
                found.component
            ));
        }
        out.found.push(found);
    }
    if !assumed.is_empty() {
        out.notes.push(format!(
            "per-task concurrency assumed {} (collectors.cloudwatch.ecs.per_task_concurrency) for \
             {} ECS service(s) without a `{PER_TASK_CONCURRENCY_TAG}` tag: {}",
            ecs.per_task_concurrency,
            assumed.len(),
            assumed.join(", ")
        ));
    }
    out
}

/// The selected clusters, with their settings.
async fn clusters(
    clients: &Clients,
    ecs: &EcsSettings,
    scope: &Scope,
    meter: &Meter,
) -> Result<Vec<Cluster>, Error> {
    let mut arns = Vec::new();
    let mut pages = clients.ecs.list_clusters().into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| api_error("ListClusters", scope, &e, None))?;
        meter.call("ListClusters");
        arns.extend(
            page.cluster_arns()
                .iter()
                .filter(|a| ecs.selects_cluster(last_part(a)))
                .cloned(),
        );
    }
    let mut out = Vec::new();
    for chunk in arns.chunks(CLUSTERS_PER_CALL) {
        let got = clients
            .ecs
            .describe_clusters()
            .set_clusters(Some(chunk.to_vec()))
            .include(ClusterField::Settings)
            .send()
            .await
            .map_err(|e| api_error("DescribeClusters", scope, &e, None))?;
        meter.call("DescribeClusters");
        for c in got.clusters() {
            let Some(arn) = c.cluster_arn() else { continue };
            // `enhanced` is Container Insights with more metrics; both publish
            // RunningTaskCount per service.
            let insights = c.settings().iter().any(|s| {
                s.name().is_some_and(|n| n.as_str() == "containerInsights")
                    && s.value().is_some_and(|v| v == "enabled" || v == "enhanced")
            });
            out.push(Cluster {
                arn: arn.to_owned(),
                name: c.cluster_name().unwrap_or(last_part(arn)).to_owned(),
                insights,
                default_strategy: c.default_capacity_provider_strategy().to_vec(),
            });
        }
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

/// The selected services of a cluster, described with their tags.
async fn services_of(
    clients: &Clients,
    ecs: &EcsSettings,
    cluster: &Cluster,
    scope: &Scope,
    meter: &Meter,
) -> Result<Vec<Service>, Error> {
    let mut arns = Vec::new();
    let mut pages = clients
        .ecs
        .list_services()
        .cluster(&cluster.arn)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| api_error("ListServices", scope, &e, None))?;
        meter.call("ListServices");
        arns.extend(
            page.service_arns()
                .iter()
                .filter(|a| ecs.selects_service(last_part(a)))
                .cloned(),
        );
    }
    let mut out = Vec::new();
    for chunk in arns.chunks(SERVICES_PER_CALL) {
        let got = clients
            .ecs
            .describe_services()
            .cluster(&cluster.arn)
            .set_services(Some(chunk.to_vec()))
            .include(ServiceField::Tags)
            .send()
            .await
            .map_err(|e| api_error("DescribeServices", scope, &e, None))?;
        meter.call("DescribeServices");
        out.extend(
            got.services()
                .iter()
                .filter(|s| s.status().is_none_or(|st| st == "ACTIVE"))
                .cloned(),
        );
    }
    out.sort_by(|a, b| a.service_name().cmp(&b.service_name()));
    Ok(out)
}

async fn task_definition(
    clients: &Clients,
    arn: &str,
    scope: &Scope,
    meter: &Meter,
) -> Result<TaskDefinition, Error> {
    let got = clients
        .ecs
        .describe_task_definition()
        .task_definition(arn)
        .send()
        .await
        .map_err(|e| api_error("DescribeTaskDefinition", scope, &e, None))?;
    meter.call("DescribeTaskDefinition");
    got.task_definition.ok_or_else(|| Error::Malformed {
        operation: "DescribeTaskDefinition",
        scope: Box::new(scope.clone()),
        what: format!("no taskDefinition for {arn}"),
    })
}

/// Target group ARN → the ARNs of its load balancers.
async fn load_balancers_of(
    clients: &Clients,
    mut target_groups: Vec<String>,
    scope: &Scope,
    meter: &Meter,
) -> Result<HashMap<String, Vec<String>>, Error> {
    target_groups.sort();
    target_groups.dedup();
    let mut out = HashMap::new();
    for chunk in target_groups.chunks(TARGET_GROUPS_PER_CALL) {
        let got = clients
            .elb
            .describe_target_groups()
            .set_target_group_arns(Some(chunk.to_vec()))
            .send()
            .await
            .map_err(|e| api_error("DescribeTargetGroups", scope, &e, None))?;
        meter.call("DescribeTargetGroups");
        for tg in got.target_groups() {
            if let Some(arn) = tg.target_group_arn() {
                out.insert(arn.to_owned(), tg.load_balancer_arns().to_vec());
            }
        }
    }
    Ok(out)
}

/// One Fargate service with everything discovery learnt about it.
struct Described<'a> {
    cluster: &'a Cluster,
    service: &'a Service,
    task_definition: &'a TaskDefinition,
    spot_share: f64,
    balancers: &'a HashMap<String, Vec<String>>,
}

impl Described<'_> {
    /// Target groups with their Application Load Balancer, as metric dimensions.
    fn target_groups(&self) -> Vec<TargetGroup> {
        let mut out = Vec::new();
        for lb in self.service.load_balancers() {
            let Some(tg) = lb.target_group_arn() else {
                continue;
            };
            let Some(alb) = self
                .balancers
                .get(tg)
                .and_then(|lbs| lbs.iter().find(|a| a.contains(":loadbalancer/app/")))
            else {
                continue;
            };
            if let (Some(t), Some(l)) = (elb_dimension(tg), elb_dimension(alb)) {
                let t = TargetGroup {
                    target_group: t.to_owned(),
                    load_balancer: l.to_owned(),
                };
                if !out.contains(&t) {
                    out.push(t);
                }
            }
        }
        out
    }

    /// Target groups (ARNs) without an Application Load Balancer: a Network Load
    /// Balancer's, or one not attached to any.
    fn unmatched_balancers(&self) -> Vec<&str> {
        self.service
            .load_balancers()
            .iter()
            .filter_map(|lb| lb.target_group_arn())
            .filter(|tg| {
                !self
                    .balancers
                    .get(*tg)
                    .is_some_and(|lbs| lbs.iter().any(|a| a.contains(":loadbalancer/app/")))
            })
            .collect()
    }

    /// The component, and whether its per-task concurrency is the configured default.
    fn found(&self, ecs: &EcsSettings, account: &str, region: &str) -> (Found, bool) {
        let s = self.service;
        let td = self.task_definition;
        let name = s.service_name().unwrap_or_default().to_owned();
        let arn = s.service_arn().unwrap_or_default().to_owned();
        let tags: BTreeMap<String, String> = s
            .tags()
            .iter()
            .filter_map(|t| {
                Some((
                    t.key()?.to_owned(),
                    t.value().unwrap_or_default().to_owned(),
                ))
            })
            .collect();
        let target_groups = self.target_groups();
        let mut attributes = BTreeMap::new();
        let mut put = |k: &str, v: String| {
            attributes.insert(k.to_owned(), v);
        };
        put("platform", "fargate".into());
        put("account", account.to_owned());
        put("region", region.to_owned());
        put("cluster", self.cluster.name.clone());
        put("service_arn", arn.clone());
        if let Some(id) = arn.split(':').nth(4) {
            put("aws_account_id", id.to_owned());
        }
        // Fargate's CPU is in units of 1/1024 vCPU; both are strings in the API.
        if let Some(cpu) = td.cpu().and_then(|c| c.trim().parse::<f64>().ok()) {
            put("vcpu", (cpu / 1024.0).to_string());
        }
        if let Some(m) = td.memory().and_then(|m| m.trim().parse::<u32>().ok()) {
            put("memory_mb", m.to_string());
        }
        let arch = match td.runtime_platform().and_then(|r| r.cpu_architecture()) {
            Some(CpuArchitecture::Arm64) => "arm64",
            _ => "x86_64",
        };
        put("architecture", arch.into());
        if let Some(t) = td.task_definition_arn() {
            put("task_definition", t.to_owned());
        }
        // The desired count is what ECS keeps running; without scheduled scaling it
        // holds every hour.
        put("tasks", s.desired_count().max(0).to_string());
        put("running_tasks", s.running_count().max(0).to_string());
        let strategy: Vec<String> = s
            .capacity_provider_strategy()
            .iter()
            .map(|c| format!("{}:{}", c.capacity_provider(), c.weight()))
            .collect();
        match s.launch_type() {
            Some(l) => put("launch_type", l.as_str().to_owned()),
            None if !strategy.is_empty() => put("capacity_providers", strategy.join(",")),
            None => put("capacity_providers", "cluster default".into()),
        }
        put("fargate_spot_share", format!("{:.3}", self.spot_share));
        let tagged = tags
            .get(PER_TASK_CONCURRENCY_TAG)
            .and_then(|v| v.trim().parse::<u32>().ok())
            .filter(|&v| v >= 1);
        put(
            "per_task_concurrency",
            tagged.unwrap_or(ecs.per_task_concurrency).to_string(),
        );
        if !target_groups.is_empty() {
            put("trigger", "http".into());
            let list: Vec<&str> = target_groups
                .iter()
                .map(|t| t.target_group.as_str())
                .collect();
            put("target_groups", list.join(","));
        }
        if self.cluster.insights {
            put("container_insights", "true".into());
        }
        for (k, v) in &tags {
            put(&format!("tag.{k}"), v.clone());
        }
        let component = ecs.component(&name, &self.cluster.name, account, region);
        let found = Found {
            arn,
            component,
            attributes,
            facts: Facts::Service(ServiceFacts {
                cluster: self.cluster.name.clone(),
                service: name,
                target_groups,
                container_insights: self.cluster.insights,
            }),
        };
        (found, tagged.is_none())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_ecs::types::CapacityProviderStrategyItem as Item;

    fn item(name: &str, weight: i32) -> Item {
        Item::builder()
            .capacity_provider(name)
            .weight(weight)
            .build()
            .unwrap()
    }

    #[test]
    fn arns_become_dimensions() {
        assert_eq!(
            elb_dimension(
                "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/api/0123456789abcdef"
            ),
            Some("targetgroup/api/0123456789abcdef")
        );
        assert_eq!(
            elb_dimension(
                "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/shop/fedcba9876543210"
            ),
            Some("app/shop/fedcba9876543210")
        );
        assert_eq!(elb_dimension("nonsense"), None);
        assert_eq!(last_part("arn:aws:ecs:us-east-1:1:service/shop/api"), "api");
    }

    #[test]
    fn only_fargate_services_qualify() {
        let svc = |launch: Option<LaunchType>, strategy: Vec<Item>| {
            Service::builder()
                .set_launch_type(launch)
                .set_capacity_provider_strategy(Some(strategy))
                .build()
        };
        assert_eq!(
            fargate_share(&svc(Some(LaunchType::Fargate), vec![]), &[]),
            Ok(0.0)
        );
        assert_eq!(
            fargate_share(&svc(Some(LaunchType::Ec2), vec![]), &[]),
            Err("launch type EC2".into())
        );
        let mixed = vec![item("FARGATE", 1), item("FARGATE_SPOT", 3)];
        assert_eq!(fargate_share(&svc(None, mixed.clone()), &[]), Ok(0.75));
        // No strategy of its own: the cluster's default decides.
        assert_eq!(fargate_share(&svc(None, vec![]), &mixed), Ok(0.75));
        assert_eq!(
            fargate_share(&svc(None, vec![item("my-asg", 1)]), &[]),
            Err("capacity provider my-asg".into())
        );
        assert!(fargate_share(&svc(None, vec![]), &[]).is_err());
    }
}
