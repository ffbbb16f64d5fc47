//! Benchmark: the CloudWatch collector over 1,000 functions × 7 days from moto.
//!
//! Starts tests/moto/launcher.py with `--indexed-metrics` (moto's own GetMetricData
//! rescans every datum for every period of every query, which is quadratic and
//! would measure moto, not adaptd), creates the functions (every tenth with an
//! alias and provisioned concurrency) and puts a week of metrics through the AWS
//! SDK, then measures:
//! 1. the first collection: a 7-day backfill of every function;
//! 2. the steady-state daily cycle: one more day, collected incrementally;
//!
//! reporting wall time, API calls by operation, metrics requested and metrics
//! requested per function per day.
//!
//! `cargo bench -p adaptd-collectors --bench cloudwatch_moto`
//! Environment: ADAPTD_BENCH_FUNCTIONS (1000), ADAPTD_BENCH_DAYS (7),
//! ADAPTD_BENCH_EVERY_MINUTES (120: minutes between the datapoints put, so that
//! seeding moto stays within minutes; the collector's work does not depend on it).

#![allow(clippy::print_stdout)]

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use adaptd_collectors::cloudwatch::{CloudWatchCollector, CollectReport, Settings};
use adaptd_collectors::shutdown::Shutdown;
use adaptd_collectors::watermarks::Watermarks;
use adaptd_config::CloudWatchSection;
use aws_config::BehaviorVersion;
use aws_sdk_cloudwatch::types::{Dimension, MetricDatum, StandardUnit};
use aws_sdk_lambda::config::{Credentials, Region};
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::FunctionCode;
use aws_smithy_types::DateTime;
use tokio::task::JoinSet;

/// 2026-11-13T00:00Z.
const START: i64 = 29_385_360;
const EMPTY_ZIP: [u8; 22] = [
    0x50, 0x4b, 0x05, 0x06, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
];

fn env(name: &str, default: i64) -> i64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

struct Moto(Child);

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_moto() -> (Moto, String) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let launcher = repo.join("tests/moto/launcher.py");
    // The project's virtualenv (.venv, made by scripts/setup-test-services) when there.
    let venv_python = repo.join(".venv/bin/python3");
    let python = if venv_python.exists() {
        venv_python
    } else {
        "python3".into()
    };
    let child = Command::new(python)
        .arg(launcher)
        .args([
            "--indexed-metrics",
            "-H",
            "127.0.0.1",
            "-p",
            &port.to_string(),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("python3 with moto (scripts/setup-test-services)");
    let moto = Moto(child);
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "moto did not start");
        std::thread::sleep(Duration::from_millis(100));
    }
    (moto, format!("http://127.0.0.1:{port}"))
}

fn credentials() -> Credentials {
    Credentials::new("AKIAIOSFODNN7EXAMPLE", "secret", None, None, "bench")
}

async fn create_role(url: &str) -> String {
    let resp = reqwest::Client::new()
        .post(format!("{url}/"))
        .header(
            "Authorization",
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20261120/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=0",
        )
        .form(&[
            ("Action", "CreateRole"),
            ("Version", "2010-05-08"),
            ("RoleName", "lambda-role"),
            ("AssumeRolePolicyDocument", "{}"),
        ])
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success());
    "arn:aws:iam::123456789012:role/lambda-role".to_owned()
}

async fn seed_functions(lambda: &aws_sdk_lambda::Client, role: &str, n: i64) {
    let mut tasks = JoinSet::new();
    for i in 0..n {
        let (lambda, role) = (lambda.clone(), role.to_owned());
        tasks.spawn(async move {
            let name = format!("fn-{i:04}");
            lambda
                .create_function()
                .function_name(&name)
                .runtime(aws_sdk_lambda::types::Runtime::Python312)
                .role(role)
                .handler("h.handler")
                .memory_size(128 << (i % 4))
                .code(
                    FunctionCode::builder()
                        .zip_file(Blob::new(EMPTY_ZIP.to_vec()))
                        .build(),
                )
                .send()
                .await
                .expect("CreateFunction");
            if i % 10 == 0 {
                let v = lambda
                    .publish_version()
                    .function_name(&name)
                    .send()
                    .await
                    .unwrap();
                lambda
                    .create_alias()
                    .function_name(&name)
                    .name("live")
                    .function_version(v.version().unwrap())
                    .send()
                    .await
                    .unwrap();
                lambda
                    .put_provisioned_concurrency_config()
                    .function_name(&name)
                    .qualifier("live")
                    .provisioned_concurrent_executions(2)
                    .send()
                    .await
                    .unwrap();
            }
        });
        if tasks.len() >= 8 {
            tasks.join_next().await.unwrap().unwrap();
        }
    }
    while let Some(t) = tasks.join_next().await {
        t.unwrap();
    }
}

async fn seed_metrics(
    cw: &aws_sdk_cloudwatch::Client,
    n: i64,
    from: i64,
    to: i64,
    every: i64,
) -> usize {
    let mut data = Vec::new();
    for i in 0..n {
        let dims = vec![
            Dimension::builder()
                .name("FunctionName")
                .value(format!("fn-{i:04}"))
                .build(),
        ];
        let mut m = from + i % every;
        while m < to {
            let ts = DateTime::from_secs(m * 60);
            let d = |name: &str, v: f64, unit: StandardUnit| {
                MetricDatum::builder()
                    .metric_name(name)
                    .set_dimensions(Some(dims.clone()))
                    .timestamp(ts)
                    .value(v)
                    .unit(unit)
                    .build()
            };
            data.push(d(
                "Invocations",
                (1 + (i + m) % 9) as f64,
                StandardUnit::Count,
            ));
            data.push(d(
                "Duration",
                (40 + (i * m) % 300) as f64,
                StandardUnit::Milliseconds,
            ));
            data.push(d("ConcurrentExecutions", 1.0, StandardUnit::Count));
            m += every;
        }
    }
    let total = data.len();
    let mut tasks = JoinSet::new();
    for chunk in data.chunks(1000) {
        let (cw, chunk) = (cw.clone(), chunk.to_vec());
        tasks.spawn(async move {
            cw.put_metric_data()
                .namespace("AWS/Lambda")
                .set_metric_data(Some(chunk))
                .send()
                .await
                .expect("PutMetricData");
        });
        if tasks.len() >= 4 {
            tasks.join_next().await.unwrap().unwrap();
        }
    }
    while let Some(t) = tasks.join_next().await {
        t.unwrap();
    }
    total
}

fn print(label: &str, r: &CollectReport, wall: Duration, functions: i64, days: f64) {
    let c = &r.cost;
    println!("{label}");
    println!(
        "  wall time                     {:.1} s",
        wall.as_secs_f64()
    );
    println!(
        "  functions fetched             {} of {}",
        r.functions_fetched, r.functions_discovered
    );
    println!("  errors                        {}", r.errors.len());
    println!("  API calls                     {}", c.total_calls());
    for (op, n) in &c.api_calls {
        println!("    {op:<32}{n}");
    }
    println!(
        "  metrics requested             {} (${:.4})",
        c.metrics_requested,
        c.usd()
    );
    println!("  datapoints returned           {}", c.datapoints);
    println!(
        "  metrics requested / function  {:.2} per cycle, {:.2} per day of history",
        c.metrics_requested as f64 / functions as f64,
        c.metrics_requested as f64 / functions as f64 / days
    );
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    // `cargo bench` passes `--bench`; nothing else is accepted.
    let functions = env("ADAPTD_BENCH_FUNCTIONS", 1000);
    let days = env("ADAPTD_BENCH_DAYS", 7);
    let every = env("ADAPTD_BENCH_EVERY_MINUTES", 120).max(1);
    let (_moto, url) = start_moto();
    let config = aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(&url)
        .credentials_provider(credentials())
        .load()
        .await;
    let lambda = aws_sdk_lambda::Client::new(&config);
    let cw = aws_sdk_cloudwatch::Client::new(&config);
    let t = Instant::now();
    let role = create_role(&url).await;
    seed_functions(&lambda, &role, functions).await;
    let end = START + days * 1440;
    let datums = seed_metrics(&cw, functions, START, end, every).await;
    println!(
        "seeded {functions} functions, {datums} datums over {days} days in {:.1} s (not measured)",
        t.elapsed().as_secs_f64()
    );

    let section = CloudWatchSection {
        endpoint_url: Some(url.clone()),
        regions: vec!["us-east-1".into()],
        lookback_days: u32::try_from(days).unwrap(),
        ..CloudWatchSection::default()
    };
    let collector = CloudWatchCollector::from_settings(
        Settings::from_section(&section)
            .unwrap()
            .with_credentials(credentials()),
    );
    let settle = i64::from(section.settle_minutes);
    let mut state = Watermarks::new();
    let t = Instant::now();
    let r = collector
        .collect_at(&mut state, end + settle, Shutdown::never())
        .await;
    print(
        &format!("first collection: {days}-day backfill, defaults"),
        &r,
        t.elapsed(),
        functions,
        days as f64,
    );
    assert!(
        r.errors.is_empty(),
        "{:?}",
        r.errors
            .iter()
            .take(3)
            .map(ToString::to_string)
            .collect::<Vec<_>>()
    );

    seed_metrics(&cw, functions, end, end + 1440, every).await;
    let t = Instant::now();
    let r = collector
        .collect_at(&mut state, end + 1440 + settle, Shutdown::never())
        .await;
    print(
        "steady state: the next daily cycle, defaults",
        &r,
        t.elapsed(),
        functions,
        1.0,
    );
    assert!(r.errors.is_empty());
    let per_function_day = r.cost.metrics_requested as f64 / functions as f64;
    println!(
        "target: <= 10 metrics requested per function per day at defaults: {}",
        if per_function_day <= 10.0 {
            "met"
        } else {
            "MISSED"
        }
    );
    let t = Instant::now();
    let r = collector
        .collect_at(&mut state, end + 1440 + settle + 60, Shutdown::never())
        .await;
    print(
        "an hour later (not due: configuration only)",
        &r,
        t.elapsed(),
        functions,
        1.0,
    );
}
