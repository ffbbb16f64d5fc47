//! Which metrics to request for a function or an ECS service, within the budget.
//!
//! GetMetricData is billed per metric requested, whatever the window, so the cost of
//! a component is the number of queries per fetch times the fetches per day. The plan
//! keeps the first low (only what the engine uses; provisioned-concurrency and
//! Lambda Insights metrics only for functions that have them, load-balancer and
//! Container Insights metrics only for services that have them) and the budget caps
//! it: queries are ranked by how much the recommendations depend on them and those
//! past the budget are left out, with a note. A service is planned like a function:
//! its ALB requests are the invocations, the targets' response time the duration.

use adaptd_engine::telemetry::{Metric, Stat};

/// Namespace of Lambda's own metrics.
pub(crate) const LAMBDA_NAMESPACE: &str = "AWS/Lambda";
/// Namespace of Lambda Insights.
pub(crate) const INSIGHTS_NAMESPACE: &str = "LambdaInsights";
/// Namespace of ECS's own service metrics.
pub(crate) const ECS_NAMESPACE: &str = "AWS/ECS";
/// Namespace of Container Insights for ECS.
pub(crate) const CONTAINER_INSIGHTS_NAMESPACE: &str = "ECS/ContainerInsights";
/// Namespace of Application Load Balancers.
pub(crate) const ALB_NAMESPACE: &str = "AWS/ApplicationELB";

/// How a query's values land in the component's series.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Combine {
    /// Added to the series (several provisioned qualifiers of a function add up).
    Add,
    /// Multiplied by a weight, then added: averages over qualifiers weighted by
    /// their allocation, or a unit converted (an ALB's seconds to milliseconds).
    Weighted(f64),
}

/// One MetricStat query of a function.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Query {
    pub namespace: &'static str,
    pub metric_name: &'static str,
    pub dimensions: Vec<(&'static str, String)>,
    /// CloudWatch's statistic (`Sum`, `Maximum`, `p99`).
    pub stat: String,
    /// Where the values go.
    pub target: (Metric, Stat),
    pub combine: Combine,
    /// Lower is more important.
    pub rank: u8,
}

/// A provisioned-concurrency configuration of a function.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Provisioned {
    /// Alias or version.
    pub qualifier: String,
    /// Allocated executions (requested when allocation is still in progress).
    pub executions: u32,
}

/// What the plan needs to know about a function.
#[derive(Clone, Debug, Default)]
pub(crate) struct FunctionFacts {
    pub name: String,
    pub provisioned: Vec<Provisioned>,
    pub insights: bool,
}

/// An ALB target group in front of a service, as CloudWatch's dimensions name it.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct TargetGroup {
    /// `targetgroup/NAME/ID`, the ARN's resource part.
    pub target_group: String,
    /// `app/NAME/ID`, the resource part of the load balancer's ARN.
    pub load_balancer: String,
}

/// What the plan needs to know about an ECS service.
#[derive(Clone, Debug, Default)]
pub(crate) struct ServiceFacts {
    pub cluster: String,
    pub service: String,
    /// ALB target groups the service registers its tasks in.
    pub target_groups: Vec<TargetGroup>,
    /// Whether the cluster has Container Insights enabled.
    pub container_insights: bool,
}

/// A component to plan.
#[derive(Clone, Debug)]
pub(crate) enum Facts {
    Function(FunctionFacts),
    Service(ServiceFacts),
}

impl Facts {
    /// The name in the account (function name, `cluster/service`).
    pub(crate) fn name(&self) -> String {
        match self {
            Facts::Function(f) => f.name.clone(),
            Facts::Service(s) => format!("{}/{}", s.cluster, s.service),
        }
    }

    /// Allocated provisioned executions (0 for a service).
    pub(crate) fn provisioned_total(&self) -> u32 {
        match self {
            Facts::Function(f) => f.provisioned.iter().map(|p| p.executions).sum(),
            Facts::Service(_) => 0,
        }
    }

    /// Whether the component's invocations are counted where they happen, so that a
    /// minute without a datapoint had none (Lambda's Invocations, an ALB's
    /// RequestCount); a service without a target group has no request count.
    pub(crate) fn counts_requests(&self) -> bool {
        match self {
            Facts::Function(_) => true,
            Facts::Service(s) => !s.target_groups.is_empty(),
        }
    }
}

/// Plan settings, from `[collectors.cloudwatch]`.
#[derive(Clone, Debug)]
pub(crate) struct PlanSettings {
    /// Percentiles of Duration (and of a service's target response time), in
    /// tenths of a percent.
    pub percentiles: Vec<u16>,
    pub insights: bool,
    /// Request Container Insights' RunningTaskCount where it is enabled.
    pub container_insights: bool,
    pub full_provisioned: bool,
    /// Queries a function may get per fetch.
    pub per_fetch_budget: usize,
}

/// A function's queries and what the budget left out.
#[derive(Clone, Debug, Default)]
pub(crate) struct Plan {
    pub queries: Vec<Query>,
    /// `Metric stat` of each query left out.
    pub dropped: Vec<String>,
}

/// CloudWatch's name of a percentile in tenths (`990` → `p99`, `999` → `p99.9`).
pub(crate) fn percentile_stat(tenths: u16) -> String {
    if tenths.is_multiple_of(10) {
        format!("p{}", tenths / 10)
    } else {
        format!("p{}.{}", tenths / 10, tenths % 10)
    }
}

fn q(
    namespace: &'static str,
    metric_name: &'static str,
    dimensions: Vec<(&'static str, String)>,
    stat: &str,
    target: (Metric, Stat),
    rank: u8,
) -> Query {
    Query {
        namespace,
        metric_name,
        dimensions,
        stat: stat.to_owned(),
        target,
        combine: Combine::Add,
        rank,
    }
}

/// The queries for one component, ranked and cut to the budget.
pub(crate) fn plan(facts: &Facts, s: &PlanSettings) -> Plan {
    let all = match facts {
        Facts::Function(f) => function_queries(f, s),
        Facts::Service(svc) => service_queries(svc, s),
    };
    cut(all, s.per_fetch_budget)
}

/// Ranks of the percentiles: the tail matters most (latency SLOs), then the median
/// (cost); the others refine the distribution between them.
fn percentile_ranks(percentiles: &[u16]) -> Vec<(u16, u8)> {
    let mut pcts = percentiles.to_vec();
    pcts.sort_unstable();
    pcts.dedup();
    let tail = pcts.last().copied();
    let median = pcts.iter().copied().min_by_key(|&p| p.abs_diff(500));
    pcts.into_iter()
        .map(|p| {
            let rank = if Some(p) == tail {
                1
            } else if Some(p) == median {
                2
            } else {
                11
            };
            (p, rank)
        })
        .collect()
}

/// Stable: within a rank (several qualifiers or target groups), the configuration's
/// order decides.
fn cut(mut all: Vec<Query>, budget: usize) -> Plan {
    all.sort_by_key(|q| q.rank);
    let keep = all.len().min(budget);
    let dropped = all[keep..]
        .iter()
        .map(|q| format!("{} {}", q.metric_name, q.stat))
        .collect();
    all.truncate(keep);
    Plan {
        queries: all,
        dropped,
    }
}

/// An ECS service's queries: `AWS/ECS` utilisation per service, Container Insights'
/// running tasks where enabled, and per ALB target group the requests, 5xx answers
/// and response time. Requests and errors add up over target groups; the response
/// time comes from the first (a mean of percentiles is not a percentile), converted
/// from CloudWatch's seconds to milliseconds.
fn service_queries(f: &ServiceFacts, s: &PlanSettings) -> Vec<Query> {
    use Metric as M;
    let by_service = || {
        vec![
            ("ClusterName", f.cluster.clone()),
            ("ServiceName", f.service.clone()),
        ]
    };
    let mut all = vec![
        q(
            ECS_NAMESPACE,
            "CPUUtilization",
            by_service(),
            "Average",
            (M::CpuUtilizationPercent, Stat::Average),
            3,
        ),
        q(
            ECS_NAMESPACE,
            "MemoryUtilization",
            by_service(),
            "Maximum",
            (M::MemoryUtilizationPercent, Stat::Maximum),
            5,
        ),
        q(
            ECS_NAMESPACE,
            "MemoryUtilization",
            by_service(),
            "Average",
            (M::MemoryUtilizationPercent, Stat::Average),
            7,
        ),
        q(
            ECS_NAMESPACE,
            "CPUUtilization",
            by_service(),
            "Maximum",
            (M::CpuUtilizationPercent, Stat::Maximum),
            8,
        ),
    ];
    if s.container_insights && f.container_insights {
        all.push(q(
            CONTAINER_INSIGHTS_NAMESPACE,
            "RunningTaskCount",
            by_service(),
            "Average",
            (M::RunningTasks, Stat::Average),
            6,
        ));
    }
    for (i, tg) in f.target_groups.iter().enumerate() {
        let dims = || {
            vec![
                ("TargetGroup", tg.target_group.clone()),
                ("LoadBalancer", tg.load_balancer.clone()),
            ]
        };
        all.push(q(
            ALB_NAMESPACE,
            "RequestCount",
            dims(),
            "Sum",
            (M::Invocations, Stat::Sum),
            0,
        ));
        all.push(q(
            ALB_NAMESPACE,
            "HTTPCode_Target_5XX_Count",
            dims(),
            "Sum",
            (M::Errors, Stat::Sum),
            4,
        ));
        if i > 0 {
            continue;
        }
        let ms = |stat: &str, target: (Metric, Stat), rank: u8| {
            let mut t = q(
                ALB_NAMESPACE,
                "TargetResponseTime",
                dims(),
                stat,
                target,
                rank,
            );
            t.combine = Combine::Weighted(1000.0);
            t
        };
        all.push(ms("Maximum", (M::DurationMs, Stat::Maximum), 10));
        for (p, rank) in percentile_ranks(&s.percentiles) {
            all.push(ms(
                &percentile_stat(p),
                (M::DurationMs, Stat::Percentile(p)),
                rank,
            ));
        }
    }
    all
}

/// A function's queries.
fn function_queries(f: &FunctionFacts, s: &PlanSettings) -> Vec<Query> {
    use Metric as M;
    let by_name = || vec![("FunctionName", f.name.clone())];
    let mut all = vec![
        q(
            LAMBDA_NAMESPACE,
            "Invocations",
            by_name(),
            "Sum",
            (M::Invocations, Stat::Sum),
            0,
        ),
        q(
            LAMBDA_NAMESPACE,
            "ConcurrentExecutions",
            by_name(),
            "Maximum",
            (M::ConcurrentExecutions, Stat::Maximum),
            3,
        ),
        q(
            LAMBDA_NAMESPACE,
            "Errors",
            by_name(),
            "Sum",
            (M::Errors, Stat::Sum),
            4,
        ),
        q(
            LAMBDA_NAMESPACE,
            "Throttles",
            by_name(),
            "Sum",
            (M::Throttles, Stat::Sum),
            5,
        ),
        q(
            LAMBDA_NAMESPACE,
            "Duration",
            by_name(),
            "Maximum",
            (M::DurationMs, Stat::Maximum),
            10,
        ),
    ];
    for (p, rank) in percentile_ranks(&s.percentiles) {
        all.push(q(
            LAMBDA_NAMESPACE,
            "Duration",
            by_name(),
            &percentile_stat(p),
            (M::DurationMs, Stat::Percentile(p)),
            rank,
        ));
    }
    let total_pc: u32 = f.provisioned.iter().map(|p| p.executions).sum();
    for pc in &f.provisioned {
        let dims = || {
            vec![
                ("FunctionName", f.name.clone()),
                ("Resource", format!("{}:{}", f.name, pc.qualifier)),
            ]
        };
        all.push(q(
            LAMBDA_NAMESPACE,
            "ProvisionedConcurrencySpilloverInvocations",
            dims(),
            "Sum",
            (M::ProvisionedConcurrencySpilloverInvocations, Stat::Sum),
            6,
        ));
        all.push(q(
            LAMBDA_NAMESPACE,
            "ProvisionedConcurrentExecutions",
            dims(),
            "Maximum",
            (M::ProvisionedConcurrentExecutions, Stat::Maximum),
            7,
        ));
        if s.full_provisioned {
            all.push(q(
                LAMBDA_NAMESPACE,
                "ProvisionedConcurrencyInvocations",
                dims(),
                "Sum",
                (M::ProvisionedConcurrencyInvocations, Stat::Sum),
                13,
            ));
            let mut avg = q(
                LAMBDA_NAMESPACE,
                "ProvisionedConcurrencyUtilization",
                dims(),
                "Average",
                (M::ProvisionedConcurrencyUtilization, Stat::Average),
                14,
            );
            if total_pc > 0 {
                avg.combine = Combine::Weighted(f64::from(pc.executions) / f64::from(total_pc));
            }
            all.push(avg);
        }
    }
    if s.insights && f.insights {
        let dims = || vec![("function_name", f.name.clone())];
        all.push(q(
            INSIGHTS_NAMESPACE,
            "init_duration",
            dims(),
            "Average",
            (M::InitDurationMs, Stat::Average),
            8,
        ));
        all.push(q(
            INSIGHTS_NAMESPACE,
            "used_memory_max",
            dims(),
            "Maximum",
            (M::MaxMemoryUsedMb, Stat::Maximum),
            9,
        ));
        // Each cold start reports one init_duration sample.
        all.push(q(
            INSIGHTS_NAMESPACE,
            "init_duration",
            dims(),
            "SampleCount",
            (M::ColdStarts, Stat::Sum),
            12,
        ));
    }
    all
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(budget: usize) -> PlanSettings {
        PlanSettings {
            percentiles: vec![500, 900, 990],
            insights: true,
            container_insights: true,
            full_provisioned: false,
            per_fetch_budget: budget,
        }
    }

    fn function(f: FunctionFacts) -> Facts {
        Facts::Function(f)
    }

    fn stats(p: &Plan) -> Vec<String> {
        p.queries
            .iter()
            .map(|q| format!("{} {}", q.metric_name, q.stat))
            .collect()
    }

    #[test]
    fn a_plain_function_costs_eight_metrics() {
        let f = FunctionFacts {
            name: "f".into(),
            ..Default::default()
        };
        let p = plan(&function(f), &settings(10));
        assert_eq!(p.queries.len(), 8, "{:?}", stats(&p));
        assert!(p.dropped.is_empty());
        assert_eq!(stats(&p)[0], "Invocations Sum");
        assert_eq!(stats(&p)[1], "Duration p99");
    }

    #[test]
    fn the_budget_drops_the_least_useful_metrics_first() {
        let f = FunctionFacts {
            name: "f".into(),
            provisioned: vec![Provisioned {
                qualifier: "live".into(),
                executions: 5,
            }],
            insights: true,
        };
        let p = plan(&function(f.clone()), &settings(10));
        assert_eq!(p.queries.len(), 10);
        // 8 base + 2 provisioned + 3 insights = 13: cold starts, p90 and Maximum go.
        assert_eq!(
            p.dropped,
            [
                "Duration Maximum",
                "Duration p90",
                "init_duration SampleCount"
            ]
        );
        let pc = p
            .queries
            .iter()
            .find(|q| q.metric_name == "ProvisionedConcurrentExecutions")
            .unwrap();
        assert_eq!(pc.dimensions[1], ("Resource", "f:live".to_owned()));
        assert_eq!(plan(&function(f), &settings(100)).queries.len(), 13);
    }

    #[test]
    fn full_provisioned_metrics_weight_utilisation_by_allocation() {
        let f = FunctionFacts {
            name: "f".into(),
            provisioned: vec![
                Provisioned {
                    qualifier: "a".into(),
                    executions: 1,
                },
                Provisioned {
                    qualifier: "b".into(),
                    executions: 3,
                },
            ],
            insights: false,
        };
        let mut s = settings(100);
        s.full_provisioned = true;
        let p = plan(&function(f), &s);
        let w: Vec<Combine> = p
            .queries
            .iter()
            .filter(|q| q.stat == "Average")
            .map(|q| q.combine)
            .collect();
        assert_eq!(w, [Combine::Weighted(0.25), Combine::Weighted(0.75)]);
        assert_eq!(percentile_stat(999), "p99.9");
    }

    fn service(target_groups: usize, insights: bool) -> Facts {
        Facts::Service(ServiceFacts {
            cluster: "shop".into(),
            service: "api".into(),
            target_groups: (0..target_groups)
                .map(|i| TargetGroup {
                    target_group: format!("targetgroup/tg{i}/0123456789abcdef"),
                    load_balancer: "app/alb/fedcba9876543210".into(),
                })
                .collect(),
            container_insights: insights,
        })
    }

    #[test]
    fn a_service_behind_a_load_balancer_is_planned_like_a_function() {
        let p = plan(&service(1, true), &settings(10));
        // 4 utilisation + running tasks + requests, 5xx, 3 percentiles and the
        // maximum of the response time = 11: p90 goes, as for a function.
        assert_eq!(p.dropped, ["TargetResponseTime p90"]);
        assert_eq!(
            stats(&p)[..4],
            [
                "RequestCount Sum",
                "TargetResponseTime p99",
                "TargetResponseTime p50",
                "CPUUtilization Average"
            ]
        );
        let req = &p.queries[0];
        assert_eq!(req.namespace, ALB_NAMESPACE);
        assert_eq!(
            req.dimensions,
            [
                ("TargetGroup", "targetgroup/tg0/0123456789abcdef".to_owned()),
                ("LoadBalancer", "app/alb/fedcba9876543210".to_owned())
            ]
        );
        assert_eq!(p.queries[1].combine, Combine::Weighted(1000.0), "s → ms");
        let cpu = &p.queries[3];
        assert_eq!(
            cpu.dimensions,
            [
                ("ClusterName", "shop".to_owned()),
                ("ServiceName", "api".to_owned())
            ]
        );
        assert!(
            p.queries
                .iter()
                .any(|q| q.namespace == CONTAINER_INSIGHTS_NAMESPACE)
        );
    }

    #[test]
    fn a_service_gets_only_the_metrics_it_has() {
        let bare = plan(&service(0, false), &settings(10));
        assert_eq!(
            stats(&bare),
            [
                "CPUUtilization Average",
                "MemoryUtilization Maximum",
                "MemoryUtilization Average",
                "CPUUtilization Maximum"
            ]
        );
        assert!(!service(0, false).counts_requests());
        // Requests and errors of every target group add up; the latency is the
        // first's only.
        let two = plan(&service(2, false), &settings(100));
        let count = |m: &str| two.queries.iter().filter(|q| q.metric_name == m).count();
        assert_eq!(count("RequestCount"), 2);
        assert_eq!(count("HTTPCode_Target_5XX_Count"), 2);
        assert_eq!(count("TargetResponseTime"), 4);
        let mut off = settings(100);
        off.container_insights = false;
        assert!(
            plan(&service(0, true), &off)
                .queries
                .iter()
                .all(|q| q.namespace != CONTAINER_INSIGHTS_NAMESPACE)
        );
    }
}
