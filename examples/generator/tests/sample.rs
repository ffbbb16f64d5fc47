//! The generated week: deterministic, matching the committed file, and showing the
//! behaviour each component is there for.

use adaptd_collectors::file::write_long_csv;
use adaptd_engine::telemetry::{ComponentTelemetry, MINUTES_PER_DAY, Metric, Stat, TelemetrySet};
use adaptd_examples::{DEFAULT_SEED, END, START, generate};

fn csv_of(set: &TelemetrySet, name: &str) -> Vec<u8> {
    let mut one = TelemetrySet::default();
    one.components
        .insert(name.to_owned(), set.components[name].clone());
    let mut out = Vec::new();
    write_long_csv(&one, &mut out).unwrap();
    out
}

fn sum(c: &ComponentTelemetry, metric: Metric) -> f64 {
    c.get(metric, Stat::Sum)
        .map_or(0.0, |s| s.observed().map(|(_, v)| v).sum())
}

fn max(c: &ComponentTelemetry, metric: Metric) -> f64 {
    c.get(metric, Stat::Maximum)
        .map_or(0.0, |s| s.observed().map(|(_, v)| v).fold(0.0, f64::max))
}

#[test]
fn same_seed_same_bytes_and_the_committed_file_is_current() {
    let a = generate(DEFAULT_SEED);
    let b = generate(DEFAULT_SEED);
    for name in ["orders-api", "report-generator"] {
        assert_eq!(csv_of(&a, name), csv_of(&b, name), "{name}");
    }
    assert_ne!(csv_of(&a, "orders-api"), csv_of(&generate(1), "orders-api"));

    // `examples/telemetry.csv.gz` must be exactly what the generator makes: rerun
    // `cargo run --release -p adaptd-examples --bin gen-sample` after changing it.
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../telemetry.csv.gz");
    let committed = std::fs::read(path).unwrap();
    let mut text = Vec::new();
    std::io::Read::read_to_end(
        &mut flate2::read::GzDecoder::new(committed.as_slice()),
        &mut text,
    )
    .unwrap();
    let mut fresh = Vec::new();
    write_long_csv(&a, &mut fresh).unwrap();
    assert!(
        text == fresh,
        "examples/telemetry.csv.gz is stale: regenerate it"
    );
}

#[test]
fn weekly_invocations_are_in_the_scenarios_ranges() {
    let set = generate(DEFAULT_SEED);
    assert_eq!(set.len(), 13);
    // Ranges derived from the scenario's rates (requests per second × seconds in the
    // week, business-hour and burst shares), with room for the noise.
    let expected: [(&str, f64, f64); 13] = [
        ("checkout-api", 6.5e3, 9.5e3),
        ("orders-api", 4.5e6, 9.0e6),
        ("image-resize", 1.1e6, 1.33e6),
        ("report-generator", 48e3, 62e3),
        ("search-api", 115e6, 127e6),
        ("nightly-etl", 168.0, 168.0),
        ("webhook-ingest", 310e3, 370e3),
        ("auth-token", 11.5e6, 12.7e6),
        ("email-sender", 560e3, 670e3),
        ("thumbnail-worker", 4.6e6, 5.1e6),
        ("audit-log-writer", 6.8e6, 7.7e6),
        ("pdf-export", 110.0, 210.0),
        ("inventory-api", 0.82e6, 0.96e6),
    ];
    for (name, lo, hi) in expected {
        let c = &set.components[name];
        let inv = c.invocations().unwrap();
        assert_eq!(
            (inv.start(), inv.end()),
            (START, END),
            "{name}: the whole week"
        );
        assert_eq!(
            inv.observed_minutes(),
            10_080,
            "{name}: idle minutes are zeros"
        );
        let total = sum(c, Metric::Invocations);
        assert!(
            (lo..=hi).contains(&total),
            "{name}: {total} not in {lo}..={hi}"
        );
        for attr in ["trigger", "memory_mb", "architecture"] {
            assert!(c.attributes.contains_key(attr), "{name}: {attr}");
        }
        // ECS does not report the image's language: the sample config declares it.
        let fargate = c.attributes.get("platform").is_some_and(|p| p == "fargate");
        assert_eq!(c.attributes.contains_key("runtime"), !fargate, "{name}");
    }
}

#[test]
fn each_component_shows_its_behaviour() {
    let set = generate(DEFAULT_SEED);
    let c = |name: &str| &set.components[name];

    // orders-api bursts past a 100-connection database.
    assert!(max(c("orders-api"), Metric::ConcurrentExecutions) >= 100.0);

    // report-generator: PC 20, never more than a handful busy, no cold start, no
    // spillover.
    let r = c("report-generator");
    assert_eq!(r.attributes["provisioned_concurrency"], "20");
    let peak = max(r, Metric::ConcurrentExecutions);
    assert!((2.0..=10.0).contains(&peak), "{peak}");
    assert_eq!(sum(r, Metric::ColdStarts), 0.0);
    assert_eq!(
        sum(r, Metric::ProvisionedConcurrencySpilloverInvocations),
        0.0
    );
    assert_eq!(
        sum(r, Metric::ProvisionedConcurrencyInvocations),
        sum(r, Metric::Invocations)
    );
    assert!(max(r, Metric::ProvisionedConcurrencyUtilization) <= 0.5);

    // nightly-etl: one run at :05 of every hour, each one cold.
    let etl = c("nightly-etl");
    let runs: Vec<i64> = etl
        .invocations()
        .unwrap()
        .observed()
        .filter(|&(_, v)| v > 0.0)
        .map(|(m, _)| m)
        .collect();
    assert!(runs.len() == 168 && runs.iter().all(|m| m % 60 == 5));
    assert_eq!(sum(etl, Metric::ColdStarts), 168.0);

    // image-resize: 1024 MB for three days, then 1536 MB and faster.
    let img = c("image-resize");
    let mem = img.get(Metric::ConfiguredMemoryMb, Stat::Average).unwrap();
    let switch = START + 3 * MINUTES_PER_DAY;
    assert_eq!(mem.get(switch - 1), Some(1024.0));
    assert_eq!(mem.get(switch), Some(1536.0));
    let p50 = img.get(Metric::DurationMs, Stat::P50).unwrap();
    let median_over = |from: i64, to: i64| {
        let mut v: Vec<f64> = (from..to).filter_map(|m| p50.get(m)).collect();
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let before = median_over(START, switch);
    let after = median_over(switch, END);
    assert!(
        (850.0..950.0).contains(&before) && (590.0..670.0).contains(&after),
        "{before} {after}"
    );

    // auth-token uses a fraction of its 1024 MB.
    assert!(max(c("auth-token"), Metric::MaxMemoryUsedMb) < 120.0);

    // pdf-export: mostly in weekday business hours, often cold.
    let pdf = c("pdf-export");
    let inv = pdf.invocations().unwrap();
    let business: f64 = inv
        .observed()
        .filter(|&(m, _)| {
            let day = (m - START) / MINUTES_PER_DAY;
            let hour = (m % MINUTES_PER_DAY) / 60;
            day < 5 && (7..19).contains(&hour)
        })
        .map(|(_, v)| v)
        .sum();
    assert!(business / sum(pdf, Metric::Invocations) > 0.9);
    assert!(sum(pdf, Metric::ColdStarts) / sum(pdf, Metric::Invocations) > 0.3);

    // audit-log-writer's busiest minutes open more connections than the 50 audit-db
    // has for it.
    let audit = c("audit-log-writer");
    assert!(max(audit, Metric::ConcurrentExecutions) > 50.0);

    // inventory-api is an ECS service on Fargate: two tasks of 1 vCPU and 2 GB behind a
    // load balancer, mostly idle; what ECS shows, none of Lambda's series.
    let inv = c("inventory-api");
    for (k, v) in [
        ("platform", "fargate"),
        ("vcpu", "1"),
        ("memory_mb", "2048"),
        ("tasks", "2"),
        ("load_balancer", "true"),
    ] {
        assert_eq!(inv.attributes[k], v, "{k}");
    }
    for m in [
        Metric::ColdStarts,
        Metric::ConcurrentExecutions,
        Metric::MaxMemoryUsedMb,
    ] {
        assert!(inv.get(m, Stat::Sum).is_none() && inv.get(m, Stat::Maximum).is_none());
    }
    let cpu = inv
        .get(Metric::CpuUtilizationPercent, Stat::Average)
        .unwrap();
    assert_eq!(cpu.observed_minutes(), 10_080, "reported idle or not");
    let busiest = cpu.observed().map(|(_, v)| v).fold(0.0, f64::max);
    assert!((0.5..10.0).contains(&busiest), "{busiest} %");
    assert!(
        inv.get(Metric::RunningTasks, Stat::Average)
            .unwrap()
            .observed()
            .all(|(_, v)| v == 2.0)
    );

    // checkout-api pays cold starts without provisioned concurrency.
    assert!(sum(c("checkout-api"), Metric::ColdStarts) > 100.0);

    // Statistics are consistent wherever they exist.
    for comp in set.components.values() {
        let d = |s| comp.get(Metric::DurationMs, s);
        let (p50, p99, mx) = (d(Stat::P50), d(Stat::P99), d(Stat::Maximum));
        if let (Some(p50), Some(p99), Some(mx)) = (p50, p99, mx) {
            for (m, v) in p50.observed() {
                let (a, b) = (p99.get(m).unwrap(), mx.get(m).unwrap());
                assert!(v <= a && a <= b, "{} at {m}", comp.name);
            }
        }
        let inv = comp.invocations().unwrap();
        if let Some(cold) = comp.get(Metric::ColdStarts, Stat::Sum) {
            for (m, v) in cold.observed() {
                assert!(
                    v <= inv.get(m).unwrap(),
                    "{}: cold starts ≤ invocations",
                    comp.name
                );
            }
        }
    }
}
