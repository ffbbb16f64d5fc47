//! Which metrics to request for a function, within the budget.
//!
//! GetMetricData is billed per metric requested, whatever the window, so the cost of
//! a function is the number of queries per fetch times the fetches per day. The plan
//! keeps the first low (only what the engine uses; provisioned-concurrency and
//! Lambda Insights metrics only for functions that have them) and the budget caps
//! it: queries are ranked by how much the recommendations depend on them and those
//! past the budget are left out, with a note.

use adaptd_engine::telemetry::{Metric, Stat};

/// Namespace of Lambda's own metrics.
pub(crate) const LAMBDA_NAMESPACE: &str = "AWS/Lambda";
/// Namespace of Lambda Insights.
pub(crate) const INSIGHTS_NAMESPACE: &str = "LambdaInsights";

/// How a query's values land in the component's series.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Combine {
    /// Added to the series (several provisioned qualifiers of a function add up).
    Add,
    /// Multiplied by a weight, then added: averages over qualifiers weighted by
    /// their allocation.
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

/// Plan settings, from `[collectors.cloudwatch]`.
#[derive(Clone, Debug)]
pub(crate) struct PlanSettings {
    /// Percentiles of Duration, in tenths of a percent.
    pub percentiles: Vec<u16>,
    pub insights: bool,
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

/// The queries for one function, ranked and cut to the budget.
pub(crate) fn plan(f: &FunctionFacts, s: &PlanSettings) -> Plan {
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
    // The tail percentile matters most (latency SLOs), then the median (cost); the
    // others refine the distribution between them.
    let mut pcts = s.percentiles.clone();
    pcts.sort_unstable();
    pcts.dedup();
    let tail = pcts.last().copied();
    let median = pcts.iter().copied().min_by_key(|&p| p.abs_diff(500));
    for &p in &pcts {
        let rank = if Some(p) == tail {
            1
        } else if Some(p) == median {
            2
        } else {
            11
        };
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
    // Stable: within a rank (several qualifiers), the configuration's order decides.
    all.sort_by_key(|q| q.rank);
    let keep = all.len().min(s.per_fetch_budget);
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

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(budget: usize) -> PlanSettings {
        PlanSettings {
            percentiles: vec![500, 900, 990],
            insights: true,
            full_provisioned: false,
            per_fetch_budget: budget,
        }
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
        let p = plan(&f, &settings(10));
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
        let p = plan(&f, &settings(10));
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
        assert_eq!(plan(&f, &settings(100)).queries.len(), 13);
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
        let p = plan(&f, &s);
        let w: Vec<Combine> = p
            .queries
            .iter()
            .filter(|q| q.stat == "Average")
            .map(|q| q.combine)
            .collect();
        assert_eq!(w, [Combine::Weighted(0.25), Combine::Weighted(0.75)]);
        assert_eq!(percentile_stat(999), "p99.9");
    }
}
