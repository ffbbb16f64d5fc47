//! PromQL templates: the presets for common sources and their expansion.
//!
//! Each template returns one series per component (grouped by the component label)
//! with the metric in the telemetry's unit per minute: counts per minute, not per
//! second; milliseconds, not seconds. The presets follow the names the usual
//! instrumentation and exporters use.

use std::collections::BTreeMap;

use adaptd_config::{PromPreset, PromSource};
use adaptd_engine::telemetry::{Metric, Stat};

/// The default component label of a preset.
pub(crate) fn default_label(preset: PromPreset) -> Option<&'static str> {
    match preset {
        PromPreset::Service => Some("service"),
        PromPreset::Yace => Some("dimension_FunctionName"),
        PromPreset::CloudwatchExporter => Some("function_name"),
        PromPreset::YaceEcs => Some("dimension_ServiceName"),
        PromPreset::CloudwatchExporterEcs => Some("service_name"),
        PromPreset::Custom => None,
    }
}

/// The `platform` attribute a preset's components get when the source says none.
pub(crate) fn default_platform(preset: PromPreset) -> Option<&'static str> {
    match preset {
        PromPreset::Yace | PromPreset::CloudwatchExporter => Some("lambda"),
        PromPreset::YaceEcs | PromPreset::CloudwatchExporterEcs => Some("fargate"),
        PromPreset::Service | PromPreset::Custom => None,
    }
}

/// A service with `http_requests_total` (label `code`) and the histogram
/// `http_request_duration_seconds`.
fn service() -> Vec<((Metric, Stat), String)> {
    let rate = |m: &str| format!("rate({m}{{{{selector}}}}[{{rate_window}}])");
    let quantile = |q: f64| {
        format!(
            "histogram_quantile({q}, sum by ({{label}}, le) ({})) * 1000",
            rate("http_request_duration_seconds_bucket")
        )
    };
    vec![
        (
            (Metric::Invocations, Stat::Sum),
            format!("sum by ({{label}}) ({}) * 60", rate("http_requests_total")),
        ),
        (
            (Metric::Errors, Stat::Sum),
            "sum by ({label}) (rate(http_requests_total{{selector}, code=~\"5..\"}[{rate_window}])) * 60"
                .to_owned(),
        ),
        (
            (Metric::DurationMs, Stat::Average),
            format!(
                "sum by ({{label}}) ({}) / sum by ({{label}}) ({}) * 1000",
                rate("http_request_duration_seconds_sum"),
                rate("http_request_duration_seconds_count")
            ),
        ),
        ((Metric::DurationMs, Stat::P50), quantile(0.5)),
        ((Metric::DurationMs, Stat::P90), quantile(0.9)),
        ((Metric::DurationMs, Stat::P99), quantile(0.99)),
    ]
}

/// Lambda metrics as CloudWatch exporters name them: `aws_lambda_<metric>_<stat>`,
/// each sample a value per CloudWatch period.
fn lambda_exporter() -> Vec<((Metric, Stat), String)> {
    let sum = |m: &str| {
        format!("sum by ({{label}}) (aws_lambda_{m}_sum{{{{selector}}}}) / {{period_minutes}}")
    };
    let max = |m: &str| format!("max by ({{label}}) (aws_lambda_{m}{{{{selector}}}})");
    vec![
        ((Metric::Invocations, Stat::Sum), sum("invocations")),
        ((Metric::Errors, Stat::Sum), sum("errors")),
        ((Metric::Throttles, Stat::Sum), sum("throttles")),
        ((Metric::DurationMs, Stat::Average), max("duration_average")),
        ((Metric::DurationMs, Stat::Maximum), max("duration_maximum")),
        ((Metric::DurationMs, Stat::P99), max("duration_p99")),
        (
            (Metric::ConcurrentExecutions, Stat::Maximum),
            max("concurrent_executions_maximum"),
        ),
    ]
}

/// ECS services on Fargate as CloudWatch exporters name them: `AWS/ECS` and
/// Container Insights per service (the component label), `AWS/ApplicationELB` per
/// target group, whose series count for the service named like the target group
/// (`targetgroup/NAME/ID` in `target_group_label`). Response times are seconds in
/// CloudWatch, milliseconds here.
fn ecs_exporter(target_group_label: &str) -> Vec<((Metric, Stat), String)> {
    let ecs = |m: &str, agg: &str| format!("{agg} by ({{label}}) (aws_ecs_{m}{{{{selector}}}})");
    // An ALB series renamed into the component label by its target group's name.
    let alb = |m: &str| {
        format!(
            "label_replace(aws_applicationelb_{m}{{{{selector}}}}, \"{{label}}\", \"$1\", \"{target_group_label}\", \"targetgroup/([^/]+)/.+\")"
        )
    };
    let sum = |m: &str| format!("sum by ({{label}}) ({}) / {{period_minutes}}", alb(m));
    let ms = |m: &str| format!("max by ({{label}}) ({}) * 1000", alb(m));
    vec![
        ((Metric::Invocations, Stat::Sum), sum("request_count_sum")),
        (
            (Metric::Errors, Stat::Sum),
            sum("httpcode_target_5_xx_count_sum"),
        ),
        (
            (Metric::DurationMs, Stat::Average),
            ms("target_response_time_average"),
        ),
        (
            (Metric::DurationMs, Stat::P50),
            ms("target_response_time_p50"),
        ),
        (
            (Metric::DurationMs, Stat::P90),
            ms("target_response_time_p90"),
        ),
        (
            (Metric::DurationMs, Stat::P99),
            ms("target_response_time_p99"),
        ),
        (
            (Metric::CpuUtilizationPercent, Stat::Average),
            ecs("cpuutilization_average", "avg"),
        ),
        (
            (Metric::CpuUtilizationPercent, Stat::Maximum),
            ecs("cpuutilization_maximum", "max"),
        ),
        (
            (Metric::MemoryUtilizationPercent, Stat::Average),
            ecs("memory_utilization_average", "avg"),
        ),
        (
            (Metric::MemoryUtilizationPercent, Stat::Maximum),
            ecs("memory_utilization_maximum", "max"),
        ),
        (
            (Metric::RunningTasks, Stat::Average),
            ecs("containerinsights_running_task_count_average", "sum"),
        ),
    ]
}

/// The templates of a source: its preset's, then its own `queries` (an empty one
/// removes the preset's).
pub(crate) fn templates(source: &PromSource) -> BTreeMap<(Metric, Stat), String> {
    let base = match source.preset {
        PromPreset::Service => service(),
        PromPreset::Yace | PromPreset::CloudwatchExporter => lambda_exporter(),
        PromPreset::YaceEcs => ecs_exporter("dimension_TargetGroup"),
        PromPreset::CloudwatchExporterEcs => ecs_exporter("target_group"),
        PromPreset::Custom => Vec::new(),
    };
    let mut out: BTreeMap<(Metric, Stat), String> = base.into_iter().collect();
    for (key, q) in &source.queries {
        // Keys were validated with the config; an invalid one cannot reach here
        // through `Config`, and is ignored if a library caller passes one.
        if let Ok(k) = adaptd_config::parse_series_key(key) {
            if q.trim().is_empty() {
                out.remove(&k);
            } else {
                out.insert(k, q.clone());
            }
        }
    }
    out
}

/// Expands the placeholders. An empty selector also removes the comma that joined
/// it to further matchers, so `{{selector}, code="500"}` stays valid PromQL.
pub(crate) fn expand(
    template: &str,
    selector: &str,
    label: &str,
    rate_window_seconds: u32,
    period_minutes: u32,
) -> String {
    let mut t = template.to_owned();
    if selector.trim().is_empty() {
        t = t.replace("{selector}, ", "").replace("{selector},", "");
    }
    t.replace("{selector}", selector.trim())
        .replace("{label}", label)
        .replace("{rate_window}", &format!("{rate_window_seconds}s"))
        .replace("{period_minutes}", &period_minutes.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_expand_to_promql() {
        let t = templates(&PromSource::default());
        let inv = expand(&t[&(Metric::Invocations, Stat::Sum)], "", "service", 120, 1);
        assert_eq!(
            inv,
            "sum by (service) (rate(http_requests_total{}[120s])) * 60"
        );
        let err = expand(&t[&(Metric::Errors, Stat::Sum)], "", "service", 120, 1);
        assert_eq!(
            err,
            "sum by (service) (rate(http_requests_total{code=~\"5..\"}[120s])) * 60"
        );
        let err = expand(
            &t[&(Metric::Errors, Stat::Sum)],
            "job=\"api\"",
            "svc",
            60,
            1,
        );
        assert_eq!(
            err,
            "sum by (svc) (rate(http_requests_total{job=\"api\", code=~\"5..\"}[60s])) * 60"
        );
        let p99 = expand(&t[&(Metric::DurationMs, Stat::P99)], "", "service", 120, 1);
        assert!(p99.starts_with("histogram_quantile(0.99, sum by (service, le) (rate(http_request_duration_seconds_bucket{}[120s])))"), "{p99}");
        let yace = PromSource {
            preset: PromPreset::Yace,
            ..Default::default()
        };
        let t = templates(&yace);
        let inv = expand(
            &t[&(Metric::Invocations, Stat::Sum)],
            "",
            "dimension_FunctionName",
            120,
            5,
        );
        assert_eq!(
            inv,
            "sum by (dimension_FunctionName) (aws_lambda_invocations_sum{}) / 5"
        );
    }

    #[test]
    fn ecs_presets_join_target_groups_to_services_by_name() {
        let yace = PromSource {
            preset: PromPreset::YaceEcs,
            ..Default::default()
        };
        let t = templates(&yace);
        let label = default_label(PromPreset::YaceEcs).unwrap();
        let inv = expand(&t[&(Metric::Invocations, Stat::Sum)], "", label, 120, 1);
        assert_eq!(
            inv,
            "sum by (dimension_ServiceName) (label_replace(aws_applicationelb_request_count_sum{}, \
             \"dimension_ServiceName\", \"$1\", \"dimension_TargetGroup\", \"targetgroup/([^/]+)/.+\")) / 1"
        );
        let cpu = expand(
            &t[&(Metric::CpuUtilizationPercent, Stat::Average)],
            "job=\"yace\"",
            label,
            120,
            1,
        );
        assert_eq!(
            cpu,
            "avg by (dimension_ServiceName) (aws_ecs_cpuutilization_average{job=\"yace\"})"
        );
        let p99 = expand(&t[&(Metric::DurationMs, Stat::P99)], "", label, 120, 1);
        assert!(p99.ends_with(") * 1000"), "{p99}");
        let cwe = templates(&PromSource {
            preset: PromPreset::CloudwatchExporterEcs,
            ..Default::default()
        });
        assert!(cwe[&(Metric::Errors, Stat::Sum)].contains("\"target_group\""));
        assert_eq!(default_platform(PromPreset::YaceEcs), Some("fargate"));
    }

    #[test]
    fn queries_add_replace_and_remove_templates() {
        let s = PromSource {
            queries: [
                (
                    "duration_ms.p99".to_owned(),
                    "my_p99{{selector}}".to_owned(),
                ),
                ("errors.sum".to_owned(), String::new()),
                ("cold_starts.sum".to_owned(), "x".to_owned()),
            ]
            .into(),
            ..Default::default()
        };
        let t = templates(&s);
        assert_eq!(t[&(Metric::DurationMs, Stat::P99)], "my_p99{{selector}}");
        assert!(!t.contains_key(&(Metric::Errors, Stat::Sum)));
        assert!(t.contains_key(&(Metric::ColdStarts, Stat::Sum)));
    }
}
