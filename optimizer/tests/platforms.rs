//! Lambda against Fargate, and reserved concurrency against an RDS Proxy, decided
//! jointly: each recommendation names the losing side with its figures.

use std::collections::BTreeMap;

use adaptd_engine::prices::PriceSheet;
use adaptd_engine::profile::{Profile, summarize};
use adaptd_engine::quantiles::QuantileSet;
use adaptd_engine::spec::{
    AccountSpec, Architecture, ComponentSpec, DatabaseSpec, Deployment, Guardrails, LambdaConfig,
    ModelParams, PlatformKind, Provisioned, Slo,
};
use adaptd_engine::telemetry::{ComponentTelemetry, Metric, Stat};
use adaptd_optimizer::recommend::{Recommendation, RecommendationSet, Settings, recommend};

/// Two days of telemetry: `per_minute(m)` invocations in minute `m` of each hour, of
/// `duration_ms` each, using 120 MB.
fn telemetry(name: &str, duration_ms: f64, per_minute: impl Fn(i64) -> f64) -> ComponentTelemetry {
    let mut t = ComponentTelemetry::new(name);
    for m in 0..2 * 1440 {
        t.record(m, Metric::Invocations, Stat::Sum, per_minute(m % 60))
            .unwrap();
    }
    t.duration_ms = Some(QuantileSet::constant(duration_ms));
    t.memory_used_mb = Some(QuantileSet::constant(120.0));
    t.window = Some((0, 2 * 1440));
    t
}

fn spec(name: &str, trigger: &str, slo: Slo) -> ComponentSpec {
    ComponentSpec {
        name: name.into(),
        account: "main".into(),
        environment: Some("prod".into()),
        tags: BTreeMap::new(),
        trigger: Some(trigger.into()),
        runtime: Some("java17".into()),
        current: Deployment::Lambda(LambdaConfig {
            memory_mb: 1024,
            architecture: Architecture::X86_64,
            provisioned: Provisioned::None,
            reserved_concurrency: None,
        }),
        current_is_known: true,
        slo,
        guardrails: Guardrails {
            allowed_platforms: [PlatformKind::Lambda, PlatformKind::Fargate].into(),
            ..Guardrails::default()
        },
        databases: Vec::new(),
        model: ModelParams::default(),
        load_balancer: false,
        timezone: Default::default(),
    }
}

fn run(
    specs: &[ComponentSpec],
    telemetry: &[ComponentTelemetry],
    databases: &[DatabaseSpec],
) -> RecommendationSet {
    let profiles: BTreeMap<String, Profile> = telemetry
        .iter()
        .map(|t| (t.name.clone(), summarize(t, 10, 1.0)))
        .collect();
    let accounts = [AccountSpec {
        name: "main".into(),
        concurrency_limit: 1000,
    }];
    recommend(
        specs,
        &profiles,
        databases,
        &accounts,
        &PriceSheet::us_east_1(),
        &Settings::default(),
    )
    .expect("recommends")
}

fn only(set: &RecommendationSet) -> &Recommendation {
    assert_eq!(set.components.len(), 1);
    &set.components[0]
}

#[test]
fn provisioned_concurrency_beats_an_allowed_fargate_service_for_sparse_bursts() {
    // A Java API hit in four bursts an hour, fifteen minutes apart: every burst finds
    // Lambda cold, so the 1 % objective needs provisioned concurrency. Fargate would
    // hold two tasks all day and need a new load balancer.
    let slo = Slo {
        max_cold_start_rate: Some(0.01),
        p99_ms: Some(2_000.0),
        ..Slo::default()
    };
    let s = spec("payments-api", "http", slo);
    let t = telemetry(
        "payments-api",
        200.0,
        |m| if m % 15 == 0 { 40.0 } else { 0.0 },
    );
    let set = run(&[s], &[t], &[]);
    let r = only(&set);
    let rec = r.recommended.as_ref().unwrap();
    let Deployment::Lambda(l) = &rec.deployment else {
        panic!("expected Lambda, got {}", rec.description);
    };
    assert!(l.provisioned.peak() > 0, "{}", rec.description);
    assert!(rec.meets_slo);
    let other = r
        .explanation
        .other_platform
        .as_ref()
        .expect("Fargate named");
    assert_eq!(other.platform, "fargate");
    assert!(other.excluded_by.is_none(), "Fargate is allowed");
    assert!(other.usd_per_month > rec.usd_per_month, "{other:?}");
    assert!(other.why.starts_with("it costs"), "{}", other.why);
    assert!(
        other
            .why
            .contains(&format!("{:.0} ms", other.worst_hour_p99_ms))
    );
    assert_eq!(other.recommended_usd_per_month, rec.usd_per_month);
    let json = serde_json::to_value(r).unwrap();
    assert!(json["explanation"]["other_platform"]["why"].is_string());
}

#[test]
fn fargate_wins_for_steady_io_bound_traffic_with_lambdas_figures_beside_it() {
    // 100 requests a second all day, each a second of waiting on other services:
    // Lambda bills every second of it, a task serves dozens at once.
    let mut s = spec(
        "search-api",
        "http",
        Slo {
            p99_ms: Some(3_000.0),
            ..Slo::default()
        },
    );
    s.model.cpu_bound_fraction = Some(0.05);
    let t = telemetry("search-api", 1_000.0, |_| 6_000.0);
    let set = run(&[s], &[t], &[]);
    let r = only(&set);
    let rec = r.recommended.as_ref().unwrap();
    assert_eq!(
        rec.deployment.platform(),
        PlatformKind::Fargate,
        "{}",
        rec.description
    );
    assert!(r.changes.iter().any(|c| c.field == "platform"));
    let other = r.explanation.other_platform.as_ref().expect("Lambda named");
    assert_eq!(other.platform, "lambda");
    assert!(other.usd_per_month > 2.0 * rec.usd_per_month, "{other:?}");
    assert!(other.why.contains("/month"), "{}", other.why);
    // The move pays for a new load balancer, and says so.
    assert!(
        rec.cost.load_balancer_usd_per_month > 16.0,
        "{:?}",
        rec.cost
    );
}

#[test]
fn a_reserved_concurrency_cap_protects_a_database_more_cheaply_than_a_proxy() {
    // A queue worker, 10 messages a second of 3 s each: about 30 in flight, bursts to
    // over 50 — more than the 50 connections the database has for it. A cap that
    // throttles under 1 % (the queue retries them) holds it; a proxy costs $43.80
    // (4 vCPUs × $0.015 × 730 h).
    let mut s = spec(
        "orders-worker",
        "queue",
        Slo {
            max_throttle_rate: Some(0.01),
            ..Slo::default()
        },
    );
    s.guardrails.allowed_platforms = [PlatformKind::Lambda].into();
    s.databases = vec!["orders-db".into()];
    // It waits on the database: memory does not change its duration.
    s.model.cpu_bound_fraction = Some(0.0);
    let db = DatabaseSpec {
        name: "orders-db".into(),
        max_connections: 60,
        vcpus: 4,
        has_proxy: false,
        reserved_connections: 10,
    };
    let t = telemetry("orders-worker", 3_000.0, |_| 600.0);
    let set = run(&[s], &[t], &[db]);
    let r = only(&set);
    let rec = r.recommended.as_ref().unwrap();
    let Deployment::Lambda(l) = &rec.deployment else {
        panic!("{}", rec.description)
    };
    let cap = l.reserved_concurrency.expect("a reserved-concurrency cap");
    assert!(cap <= 50, "{cap}");
    assert!(set.companions.is_empty(), "no proxy: {:?}", set.companions);
    assert!(
        rec.throttle_rate <= 0.01 + 1e-9 && rec.throttle_rate > 0.0,
        "{}",
        rec.throttle_rate
    );
    let line = r
        .explanation
        .binding
        .iter()
        .find(|b| b.contains("RDS Proxy"))
        .unwrap_or_else(|| panic!("{:?}", r.explanation.binding));
    assert!(
        line.contains(&format!("reserved concurrency {cap}")),
        "{line}"
    );
    assert!(line.contains("$43.80/month"), "{line}");
    assert!(line.contains("uncapped it would open"), "{line}");
    assert!(r.changes.iter().any(|c| c.field == "reserved_concurrency"));
}
