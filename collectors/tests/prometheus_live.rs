//! The Prometheus collector against Debian's `prometheus`, holding two days of
//! history backfilled with `promtool tsdb create-blocks-from openmetrics`.
//!
//! The history is generated here: two services with a request counter (rates that
//! change every hour) and a latency histogram with fixed bucket shares, and a Lambda
//! function as YACE exports it. Tolerance: rates and histogram quantiles within
//! 0.5 % in every minute at least 3 minutes after an hourly rate change (rate()
//! over 2 minutes averages across a change); exporter gauges exactly.

mod services;

use std::fmt::Write as _;
use std::io::{Read, Write};
use std::path::Path;
use std::process::Command;

use adaptd_collectors::prometheus::{Error, PrometheusCollector};
use adaptd_collectors::shutdown::Shutdown;
use adaptd_collectors::watermarks::Watermarks;
use adaptd_config::{PromPreset, PromSource, PrometheusSection};
use adaptd_engine::telemetry::{Metric, Minute, Stat};

/// 2026-11-20T00:00Z: the end of the generated history.
const END: Minute = 29_395_440;
const DAYS: i64 = 2;
const SCRAPE_S: i64 = 30;
/// Histogram upper bounds (s) and the cumulative share of requests under each.
const BUCKETS: [(f64, f64); 6] = [
    (0.025, 0.1),
    (0.05, 0.4),
    (0.1, 0.8),
    (0.25, 0.95),
    (0.5, 0.99),
    (1.0, 1.0),
];
const MEAN_S: f64 = 0.07;

/// Requests per second of a service in the hour containing unix second `t`.
fn rate(service: &str, t: i64) -> f64 {
    let h = (t.div_euclid(3600) % 24) as f64;
    let base = if service == "checkout" { 2.0 } else { 0.5 };
    base * (1.0 + h / 24.0)
}

/// Invocations of the Lambda function in minute `m`, as the exporter reports them.
fn lambda_invocations(m: Minute) -> f64 {
    ((m * 7) % 11) as f64
}

/// The OpenMetrics text of the history.
fn openmetrics() -> String {
    let start = (END - DAYS * 1440) * 60;
    let end = END * 60;
    let services = ["checkout", "search"];
    let mut out = String::new();
    let mut counts = [0.0f64; 2];
    let mut t = start;
    let mut requests = String::from("# TYPE http_requests counter\n");
    let mut hist = String::from("# TYPE http_request_duration_seconds histogram\n");
    while t <= end {
        for (i, s) in services.iter().enumerate() {
            if t > start {
                counts[i] += rate(s, t - SCRAPE_S) * SCRAPE_S as f64;
            }
            let n = counts[i];
            let ok = if *s == "checkout" { 0.99 * n } else { n };
            writeln!(
                requests,
                "http_requests_total{{service=\"{s}\",code=\"200\"}} {ok} {t}"
            )
            .unwrap();
            if *s == "checkout" {
                writeln!(
                    requests,
                    "http_requests_total{{service=\"{s}\",code=\"500\"}} {} {t}",
                    0.01 * n
                )
                .unwrap();
            }
            for (le, share) in BUCKETS {
                writeln!(
                    hist,
                    "http_request_duration_seconds_bucket{{service=\"{s}\",le=\"{le}\"}} {} {t}",
                    share * n
                )
                .unwrap();
            }
            writeln!(
                hist,
                "http_request_duration_seconds_bucket{{service=\"{s}\",le=\"+Inf\"}} {n} {t}"
            )
            .unwrap();
            writeln!(
                hist,
                "http_request_duration_seconds_sum{{service=\"{s}\"}} {} {t}",
                MEAN_S * n
            )
            .unwrap();
            writeln!(
                hist,
                "http_request_duration_seconds_count{{service=\"{s}\"}} {n} {t}"
            )
            .unwrap();
        }
        t += SCRAPE_S;
    }
    out.push_str(&requests);
    out.push_str(&hist);
    // YACE: a gauge holding the last complete minute's sum.
    out.push_str("# TYPE aws_lambda_invocations_sum gauge\n");
    let mut t = start;
    while t <= end {
        let m = t.div_euclid(60) - 1;
        writeln!(
            out,
            "aws_lambda_invocations_sum{{dimension_FunctionName=\"orders\"}} {} {t}",
            lambda_invocations(m)
        )
        .unwrap();
        t += SCRAPE_S;
    }
    out.push_str("# EOF\n");
    out
}

/// Backfills the history into TSDB blocks under `dir`.
fn backfill(dir: &Path) -> std::path::PathBuf {
    backfill_text(dir, &openmetrics())
}

/// Backfills OpenMetrics `text` into TSDB blocks under `dir`.
fn backfill_text(dir: &Path, text: &str) -> std::path::PathBuf {
    let file = dir.join("history.om");
    std::fs::write(&file, text).unwrap();
    let data = dir.join("data");
    let out = Command::new("promtool")
        .args([
            "tsdb",
            "create-blocks-from",
            "openmetrics",
            "--max-block-duration=24h",
        ])
        .arg(&file)
        .arg(&data)
        .output()
        .expect("promtool (run scripts/setup-test-services)");
    assert!(
        out.status.success(),
        "promtool failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    data
}

fn section(url: String, sources: Vec<PromSource>) -> PrometheusSection {
    PrometheusSection {
        url,
        lookback_days: DAYS as u32,
        settle_minutes: 0,
        // 1,000 points per query: two days need three queries per template.
        max_points_per_query: 1000,
        sources,
        ..PrometheusSection::default()
    }
}

fn within(got: f64, want: f64, tol: f64) -> bool {
    (got - want).abs() <= tol * want.abs().max(1e-9)
}

/// Minutes whose 2-minute rate window lies within one hour of constant traffic.
fn steady(m: Minute) -> bool {
    m.rem_euclid(60) >= 3
}

/// ECS series as YACE exports them, one day: `(metric, labels, value of minute m)`.
/// Service `api` sits behind target group `api`; `worker` has no load balancer.
type EcsSeries = (&'static str, &'static str, fn(Minute) -> f64);

const ECS_API: &str = "dimension_ClusterName=\"shop\",dimension_ServiceName=\"api\"";
const ECS_WORKER: &str = "dimension_ClusterName=\"shop\",dimension_ServiceName=\"worker\"";
const ALB_API: &str = "dimension_LoadBalancer=\"app/shop-alb/fedcba9876543210\",dimension_TargetGroup=\"targetgroup/api/0123456789abcdef\"";

fn ecs_series() -> Vec<EcsSeries> {
    vec![
        ("aws_ecs_cpuutilization_average", ECS_API, |m| {
            20.0 + (m % 7) as f64
        }),
        ("aws_ecs_cpuutilization_maximum", ECS_API, |m| {
            40.0 + (m % 7) as f64
        }),
        ("aws_ecs_memory_utilization_average", ECS_API, |_| 55.0),
        ("aws_ecs_memory_utilization_maximum", ECS_API, |_| 61.0),
        (
            "aws_ecs_containerinsights_running_task_count_average",
            ECS_API,
            |m| {
                if m % 60 < 30 { 3.0 } else { 4.0 }
            },
        ),
        ("aws_ecs_cpuutilization_average", ECS_WORKER, |_| 9.0),
        ("aws_ecs_memory_utilization_average", ECS_WORKER, |_| 25.0),
        ("aws_applicationelb_request_count_sum", ALB_API, |m| {
            100.0 + (m % 10) as f64
        }),
        (
            "aws_applicationelb_httpcode_target_5_xx_count_sum",
            ALB_API,
            |m| (m % 2) as f64,
        ),
        (
            "aws_applicationelb_target_response_time_average",
            ALB_API,
            |_| 0.09,
        ),
        (
            "aws_applicationelb_target_response_time_p50",
            ALB_API,
            |_| 0.08,
        ),
        (
            "aws_applicationelb_target_response_time_p90",
            ALB_API,
            |_| 0.2,
        ),
        (
            "aws_applicationelb_target_response_time_p99",
            ALB_API,
            |m| 0.4 + (m % 3) as f64 / 100.0,
        ),
    ]
}

/// The OpenMetrics text of one day of ECS series: each a gauge holding the last
/// complete minute's value, as YACE serves it.
fn ecs_openmetrics() -> String {
    let (start, end) = ((END - 1440) * 60, END * 60);
    let mut by_name: std::collections::BTreeMap<&str, Vec<EcsSeries>> = Default::default();
    for s in ecs_series() {
        by_name.entry(s.0).or_default().push(s);
    }
    let mut out = String::new();
    for (name, series) in by_name {
        writeln!(out, "# TYPE {name} gauge").unwrap();
        for (_, labels, f) in series {
            let mut t = start;
            while t <= end {
                writeln!(out, "{name}{{{labels}}} {} {t}", f(t.div_euclid(60) - 1)).unwrap();
                t += SCRAPE_S;
            }
        }
    }
    out.push_str("# EOF\n");
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ecs_preset_measures_fargate_services_and_their_target_groups() {
    let dir = services::scratch("prom-ecs");
    let data = backfill_text(&dir, &ecs_openmetrics());
    let prom = services::prometheus(&data);
    let mut s = section(
        prom.url(),
        vec![PromSource {
            preset: PromPreset::YaceEcs,
            ..Default::default()
        }],
    );
    s.lookback_days = 1;
    let r = PrometheusCollector::new(&s)
        .unwrap()
        .collect_at(&mut Watermarks::new(), END, Shutdown::never())
        .await;
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    // 11 templates, 2 chunks of 1,000 points each.
    assert_eq!(r.queries, 11 * 2);
    let names: Vec<&String> = r.telemetry.components.keys().collect();
    assert_eq!(
        names,
        ["api", "worker"],
        "target group api joins service api"
    );
    let api = &r.telemetry.components["api"];
    assert_eq!(
        api.attributes.get("platform").map(String::as_str),
        Some("fargate")
    );
    let exact = |metric: Metric, stat: Stat, want: fn(Minute) -> f64| {
        let s = api
            .get(metric, stat)
            .unwrap_or_else(|| panic!("no {metric} {stat}"));
        for m in END - 1439..END {
            let got = s
                .get(m)
                .unwrap_or_else(|| panic!("{metric} {stat}: none at {m}"));
            assert!(
                (got - want(m)).abs() < 1e-6,
                "{metric} {stat} at {m}: {got} vs {}",
                want(m)
            );
        }
    };
    exact(Metric::Invocations, Stat::Sum, |m| 100.0 + (m % 10) as f64);
    exact(Metric::Errors, Stat::Sum, |m| (m % 2) as f64);
    exact(Metric::DurationMs, Stat::Average, |_| 90.0);
    exact(Metric::DurationMs, Stat::P50, |_| 80.0);
    exact(Metric::DurationMs, Stat::P90, |_| 200.0);
    exact(Metric::DurationMs, Stat::P99, |m| {
        400.0 + (m % 3) as f64 * 10.0
    });
    exact(Metric::CpuUtilizationPercent, Stat::Average, |m| {
        20.0 + (m % 7) as f64
    });
    exact(Metric::CpuUtilizationPercent, Stat::Maximum, |m| {
        40.0 + (m % 7) as f64
    });
    exact(Metric::MemoryUtilizationPercent, Stat::Average, |_| 55.0);
    exact(Metric::MemoryUtilizationPercent, Stat::Maximum, |_| 61.0);
    exact(Metric::RunningTasks, Stat::Average, |m| {
        if m % 60 < 30 { 3.0 } else { 4.0 }
    });
    let worker = &r.telemetry.components["worker"];
    assert!(
        worker.invocations().is_none(),
        "no load balancer, no requests"
    );
    let cpu = worker
        .get(Metric::CpuUtilizationPercent, Stat::Average)
        .unwrap();
    assert!(cpu.observed_minutes() >= 1439, "{}", cpu.observed_minutes());
    assert!(cpu.observed().all(|(_, v)| v == 9.0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn collects_the_backfilled_history_within_tolerance() {
    let dir = services::scratch("prom-history");
    let data = backfill(&dir);
    let prom = services::prometheus(&data);
    let sources = vec![
        PromSource {
            preset: PromPreset::Service,
            platform: Some("fargate".into()),
            ..Default::default()
        },
        PromSource {
            preset: PromPreset::Yace,
            ..Default::default()
        },
    ];
    let collector = PrometheusCollector::new(&section(prom.url(), sources)).unwrap();
    let mut state = Watermarks::new();
    let r = collector
        .collect_at(&mut state, END, Shutdown::never())
        .await;
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    // 6 service templates + 7 exporter templates, 3 chunks each.
    assert_eq!(r.queries, 13 * 3);
    let names: Vec<&String> = r.telemetry.components.keys().collect();
    assert_eq!(names, ["checkout", "orders", "search"]);

    let start = END - DAYS * 1440;
    for svc in ["checkout", "search"] {
        let c = &r.telemetry.components[svc];
        assert_eq!(
            c.attributes.get("platform").map(String::as_str),
            Some("fargate")
        );
        let inv = c.get(Metric::Invocations, Stat::Sum).unwrap();
        let mut checked = 0;
        for m in start + 3..END {
            if !steady(m) {
                continue;
            }
            let want = rate(svc, m * 60) * 60.0;
            let got = inv
                .get(m)
                .unwrap_or_else(|| panic!("{svc}: no invocations at {m}"));
            assert!(
                within(got, want, 0.005),
                "{svc} invocations at {m}: {got} vs {want}"
            );
            let avg = c
                .get(Metric::DurationMs, Stat::Average)
                .unwrap()
                .get(m)
                .unwrap();
            assert!(
                within(avg, MEAN_S * 1000.0, 0.005),
                "{svc} mean at {m}: {avg}"
            );
            for (stat, want) in [(Stat::P50, 62.5), (Stat::P90, 200.0), (Stat::P99, 500.0)] {
                let got = c.get(Metric::DurationMs, stat).unwrap().get(m).unwrap();
                assert!(
                    within(got, want, 0.005),
                    "{svc} {stat} at {m}: {got} vs {want}"
                );
            }
            checked += 1;
        }
        assert!(checked > 2700, "{svc}: only {checked} minutes checked");
    }
    let errors = r.telemetry.components["checkout"]
        .get(Metric::Errors, Stat::Sum)
        .unwrap();
    let m = END - 30;
    assert!(within(
        errors.get(m).unwrap(),
        0.01 * rate("checkout", m * 60) * 60.0,
        0.005
    ));
    assert!(
        r.telemetry.components["search"]
            .get(Metric::Errors, Stat::Sum)
            .is_none_or(|s| s.observed().all(|(_, v)| v == 0.0))
    );

    let orders = &r.telemetry.components["orders"];
    assert_eq!(
        orders.attributes.get("platform").map(String::as_str),
        Some("lambda")
    );
    let inv = orders.get(Metric::Invocations, Stat::Sum).unwrap();
    for m in start + 1..END {
        assert_eq!(inv.get(m), Some(lambda_invocations(m)), "orders at {m}");
    }

    // Nothing new: nothing is queried. Then a bad query fails alone, with its text.
    let again = collector
        .collect_at(&mut state, END, Shutdown::never())
        .await;
    assert_eq!((again.queries, again.sources_not_due), (0, 2));
    let bad = PromSource {
        preset: PromPreset::Custom,
        component_label: Some("service".into()),
        queries: [(
            "invocations.sum".to_owned(),
            "sum by (service) (rate(http_requests_total[2m])".to_owned(),
        )]
        .into(),
        ..Default::default()
    };
    let good = PromSource {
        preset: PromPreset::Yace,
        ..Default::default()
    };
    let mut s = section(prom.url(), vec![bad, good]);
    s.lookback_days = 1;
    let r = PrometheusCollector::new(&s)
        .unwrap()
        .collect_at(&mut Watermarks::new(), END, Shutdown::never())
        .await;
    assert!(!r.errors.is_empty());
    for e in &r.errors {
        let text = e.to_string();
        assert!(
            matches!(e, Error::Query { error_type: Some(t), .. } if t == "bad_data"),
            "{text}"
        );
        assert!(
            text.contains(
                "query `sum by (service) (rate(http_requests_total[2m])` failed: bad_data"
            ),
            "{text}"
        );
    }
    assert!(
        !r.telemetry.components.contains_key("checkout"),
        "the failed source wrote nothing"
    );
    assert!(
        r.telemetry.components.contains_key("orders"),
        "the other source proceeded"
    );
}

/// A one-shot HTTP server that records the request head and answers `body`.
fn capture_server(body: &'static str) -> (u16, std::thread::JoinHandle<String>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let handle = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        let mut head = Vec::new();
        let mut buf = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            if s.read(&mut buf).unwrap() == 0 {
                break;
            }
            head.push(buf[0]);
        }
        write!(s, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len()).unwrap();
        String::from_utf8_lossy(&head).into_owned()
    });
    (port, handle)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sends_credentials_and_tenant_headers() {
    let answer = r#"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"service":"a"},"values":[[1763596860,"6"]]}]}}"#;
    let dir = services::scratch("prom-auth");
    let token = dir.join("token");
    std::fs::write(&token, "s3cret\n").unwrap();
    for bearer in [true, false] {
        let (port, seen) = capture_server(answer);
        let mut s = section(
            format!("http://127.0.0.1:{port}"),
            vec![PromSource {
                preset: PromPreset::Custom,
                component_label: Some("service".into()),
                queries: [(
                    "invocations.sum".to_owned(),
                    "sum by (service) (x{{selector}})".to_owned(),
                )]
                .into(),
                selector: "job=\"api\"".into(),
                ..Default::default()
            }],
        );
        s.headers = [("X-Scope-OrgID".to_owned(), "team-a".to_owned())].into();
        if bearer {
            s.bearer_token_file = Some(token.display().to_string());
        } else {
            s.username = Some("adaptd".into());
        }
        s.lookback_days = 1;
        s.max_points_per_query = 11_000;
        let r = PrometheusCollector::new(&s)
            .unwrap()
            .collect_at(&mut Watermarks::new(), 29_393_990, Shutdown::never())
            .await;
        assert!(r.errors.is_empty(), "{:?}", r.errors);
        let head = seen.join().unwrap().to_lowercase();
        assert!(head.contains("x-scope-orgid: team-a"), "{head}");
        if bearer {
            assert!(head.contains("authorization: bearer s3cret"), "{head}");
        } else {
            // "adaptd:" in base64.
            assert!(head.contains("authorization: basic ywrhchrkog=="), "{head}");
        }
        assert!(
            head.contains("query=sum+by+%28service%29+%28x%7bjob%3d%22api%22%7d%29"),
            "{head}"
        );
        // The sample at 1763596860 s closes minute 29393280.
        let inv = r.telemetry.components["a"]
            .get(Metric::Invocations, Stat::Sum)
            .unwrap();
        assert_eq!(inv.get(29_393_280), Some(6.0));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_query_that_outlasts_the_timeout_names_itself() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let held: Vec<_> = listener.incoming().take(4).flatten().collect();
        std::thread::sleep(std::time::Duration::from_secs(10));
        drop(held);
    });
    let mut s = section(
        format!("http://127.0.0.1:{port}"),
        vec![PromSource {
            preset: PromPreset::Yace,
            ..Default::default()
        }],
    );
    s.timeout_seconds = 0.5;
    s.max_concurrent_queries = 1;
    s.lookback_days = 1;
    s.max_points_per_query = 11_000;
    s.sources[0].queries = [("invocations.sum".to_owned(), "slow_query".to_owned())]
        .into_iter()
        .chain(
            [
                "errors.sum",
                "throttles.sum",
                "duration_ms.avg",
                "duration_ms.max",
                "duration_ms.p99",
                "concurrent_executions.max",
            ]
            .map(|k| (k.to_owned(), String::new())),
        )
        .collect();
    let started = std::time::Instant::now();
    let r = PrometheusCollector::new(&s)
        .unwrap()
        .collect_at(&mut Watermarks::new(), END, Shutdown::never())
        .await;
    assert!(started.elapsed().as_secs_f64() < 5.0);
    assert_eq!(r.errors.len(), 1, "{:?}", r.errors);
    assert_eq!(
        r.errors[0].to_string(),
        "query `slow_query` timed out after 0.5 s (collectors.prometheus.timeout_seconds)"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_with_a_custom_ca() {
    let dir = services::scratch("prom-tls");
    let sh = |args: &[&str]| {
        let out = Command::new("openssl")
            .args(args)
            .current_dir(&dir)
            .output()
            .expect("openssl");
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    sh(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "2",
        "-subj",
        "/CN=adaptd test CA",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
    ]);
    sh(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-subj",
        "/CN=127.0.0.1",
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
    ]);
    std::fs::write(dir.join("ext.cnf"), "subjectAltName=IP:127.0.0.1\n").unwrap();
    sh(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        "2",
        "-extfile",
        "ext.cnf",
        "-out",
        "server.pem",
    ]);
    std::fs::write(
        dir.join("web.yml"),
        format!(
            "tls_server_config:\n  cert_file: {0}/server.pem\n  key_file: {0}/server.key\n",
            dir.display()
        ),
    )
    .unwrap();
    let data = backfill(&dir);
    let prom = services::prometheus_tls(&data, &dir.join("web.yml"));
    let mut s = section(
        format!("https://127.0.0.1:{}", prom.port),
        vec![PromSource {
            preset: PromPreset::Yace,
            ..Default::default()
        }],
    );
    s.lookback_days = 1;
    // Without the CA the server's certificate is refused.
    let r = PrometheusCollector::new(&s)
        .unwrap()
        .collect_at(&mut Watermarks::new(), END, Shutdown::never())
        .await;
    assert!(!r.errors.is_empty() && r.telemetry.is_empty());
    s.ca_file = Some(dir.join("ca.pem").display().to_string());
    let r = PrometheusCollector::new(&s)
        .unwrap()
        .collect_at(&mut Watermarks::new(), END, Shutdown::never())
        .await;
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    let inv = r.telemetry.components["orders"]
        .get(Metric::Invocations, Stat::Sum)
        .unwrap();
    assert_eq!(inv.get(END - 10), Some(lambda_invocations(END - 10)));
}
