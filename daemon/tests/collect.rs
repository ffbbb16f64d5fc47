//! `adaptd collect` end to end: a moto server (tests/moto/launcher.py) seeded through
//! boto3 (tests/moto/seed.py), collected by the binary with credentials from the
//! environment, and the file it writes read by `adaptd recommend`.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// `name` from the project's Python virtualenv (`.venv/bin`, which the setup scripts
/// make) when it is there, else `name` as found on PATH.
fn venv_tool(name: &str) -> PathBuf {
    let p = repo().join(".venv/bin").join(name);
    if p.exists() { p } else { PathBuf::from(name) }
}

struct Moto(Child, u16);

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_moto(dir: &Path) -> Moto {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let log = std::fs::File::create(dir.join("moto.log")).unwrap();
    let child = Command::new(venv_tool("python3"))
        .arg(repo().join("tests/moto/launcher.py"))
        // moto's own GetMetricData rescans every datum for every period of every query:
        // a day's lookback over Lambda, ECS and ALB series took it 30-40 s a call on a
        // busy machine, past the collector's timeout. The index gives the same answers.
        .arg("--indexed-metrics")
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .expect("python3 (run scripts/setup-test-services)");
    let moto = Moto(child, port);
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "moto did not start: {}",
            std::fs::read_to_string(dir.join("moto.log")).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    moto
}

fn adaptd(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_adaptd"))
        .args(args)
        .current_dir(dir)
        // Credentials through the standard chain, and nothing from this machine's
        // own AWS files or instance metadata.
        .env("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE")
        .env("AWS_SECRET_ACCESS_KEY", "secret")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONFIG_FILE", dir.join("none"))
        .env("AWS_SHARED_CREDENTIALS_FILE", dir.join("none"))
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

/// Seeds moto through tests/moto/seed.py with 180 minutes of metrics ending 20
/// minutes ago; `args` say what to create.
fn seed(url: &str, args: &[&str]) -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
        / 60;
    let seed = Command::new(venv_tool("python3"))
        .arg(repo().join("tests/moto/seed.py"))
        .arg(url)
        .args([
            "--start-minute",
            &(now - 200).to_string(),
            "--minutes",
            "180",
        ])
        .args(args)
        .output()
        .unwrap();
    assert!(
        seed.status.success(),
        "seed: {}",
        String::from_utf8_lossy(&seed.stderr)
    );
    String::from_utf8_lossy(&seed.stdout).into_owned()
}

#[test]
fn collect_writes_telemetry_that_recommend_reads() {
    let dir = std::env::temp_dir().join(format!("adaptd-collect-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let moto = start_moto(&dir);
    let url = format!("http://127.0.0.1:{}", moto.1);
    seed(&url, &["--functions", "3"]);

    std::fs::write(
        dir.join("adaptd.toml"),
        format!(
            "[collectors.cloudwatch]\nendpoint_url = \"{url}\"\nregions = [\"us-east-1\"]\nlookback_days = 1\n"
        ),
    )
    .unwrap();
    let args = [
        "collect",
        "--config",
        "adaptd.toml",
        "--out",
        "live.csv",
        "--state",
        "state.json",
    ];
    let out = adaptd(&dir, &args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("cloudwatch: 3 functions, 3 fetched, 0 not due"),
        "{stderr}"
    );
    assert!(
        stderr.contains("wrote 3 components to live.csv"),
        "{stderr}"
    );
    let csv = std::fs::read_to_string(dir.join("live.csv")).unwrap();
    assert!(
        csv.contains("shop-0000,attribute,provisioned_concurrency,2"),
        "{}",
        &csv[..csv.len().min(2000)]
    );
    assert!(csv.contains("shop-0001,attribute,architecture,arm64"));
    let state = std::fs::read_to_string(dir.join("state.json")).unwrap();
    assert!(state.contains("function:shop-0002"), "{state}");

    let rec = adaptd(
        &dir,
        &[
            "recommend",
            "--config",
            "adaptd.toml",
            "--telemetry",
            "live.csv",
            "--output",
            "json",
        ],
    );
    let stdout = String::from_utf8_lossy(&rec.stdout);
    assert!(
        rec.status.success(),
        "{}",
        String::from_utf8_lossy(&rec.stderr)
    );
    for f in ["shop-0000", "shop-0001", "shop-0002"] {
        assert!(stdout.contains(f), "{f} missing from the recommendations");
    }

    // The state makes the next run incremental: nothing new is due yet.
    let again = adaptd(&dir, &args);
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert!(again.status.success(), "{stderr}");
    assert!(
        stderr.contains("3 functions, 0 fetched, 3 not due; 0 metrics requested"),
        "{stderr}"
    );

    // Configuration errors are reported with their position, before any call.
    std::fs::write(
        dir.join("bad.toml"),
        "[collectors.cloudwatch]\nlookback_days = 30\n",
    )
    .unwrap();
    let bad = adaptd(&dir, &["collect", "--config", "bad.toml", "--out", "x.csv"]);
    assert_eq!(bad.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&bad.stderr);
    assert!(
        stderr.contains(
            "bad.toml:2:17: collectors.cloudwatch.lookback_days: must be between 1 and 15 (got 30)"
        ),
        "{stderr}"
    );
    std::fs::remove_dir_all(&dir).ok();
}

/// The rows of `component` in a long CSV: `(metric, stat, value)`; a value with a
/// comma is quoted, and comes back unquoted (none here holds a quote).
fn rows<'a>(csv: &'a str, component: &str) -> Vec<(&'a str, &'a str, &'a str)> {
    csv.lines()
        .filter_map(|l| {
            let mut f = l.splitn(5, ',');
            let (_, c, m, s, v) = (f.next()?, f.next()?, f.next()?, f.next()?, f.next()?);
            (c == component).then_some((m, s, v.trim_matches('"')))
        })
        .collect()
}

#[test]
fn collect_discovers_and_measures_ecs_services_on_fargate() {
    let dir = std::env::temp_dir().join(format!("adaptd-collect-ecs-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let moto = start_moto(&dir);
    let url = format!("http://127.0.0.1:{}", moto.1);
    let seeded = seed(&url, &["--functions", "1", "--ecs"]);
    assert!(
        seeded.contains("\"skipped\": [\"shop/legacy\"]"),
        "{seeded}"
    );

    std::fs::write(
        dir.join("adaptd.toml"),
        format!(
            "[collectors.cloudwatch]\nendpoint_url = \"{url}\"\nregions = [\"us-east-1\"]\nlookback_days = 1\n\n\
             [collectors.cloudwatch.ecs]\nclusters = [\"shop\"]\nper_task_concurrency = 4\n"
        ),
    )
    .unwrap();
    let args = [
        "collect",
        "--config",
        "adaptd.toml",
        "--out",
        "live.csv",
        "--state",
        "state.json",
    ];
    let out = adaptd(&dir, &args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    // api: 4 utilisation + running tasks + requests, 5xx, p50/p90/p99 and the
    // maximum of the response time = 11, cut to the budget of 10 (p90 goes);
    // worker: 4 utilisation + running tasks; the function (with provisioned
    // concurrency): 10.
    assert!(
        stderr.contains(
            "cloudwatch: 1 functions, 1 fetched, 0 not due; 2 ECS services, 2 fetched, 0 not due; \
             25 metrics requested"
        ),
        "{stderr}"
    );
    assert!(
        stderr.contains(
            "note: ECS services not on Fargate, not collected (launch type EC2): shop/legacy"
        ),
        "{stderr}"
    );
    assert!(
        stderr.contains("note: TargetResponseTime p90 left out for 1 function(s) or service(s)"),
        "{stderr}"
    );
    assert!(
        stderr.contains("per-task concurrency assumed 4 (collectors.cloudwatch.ecs.per_task_concurrency) for 1 ECS service(s) without a `adaptd:per_task_concurrency` tag: shop/worker"),
        "{stderr}"
    );
    assert!(
        stderr.contains("wrote 3 components to live.csv"),
        "{stderr}"
    );

    let csv = std::fs::read_to_string(dir.join("live.csv")).unwrap();
    let api = rows(&csv, "api");
    let attr = |rows: &[(&str, &str, &str)], key: &str| {
        rows.iter()
            .find(|r| r.0 == "attribute" && r.1 == key)
            .map(|r| r.2.to_owned())
    };
    for (key, want) in [
        ("platform", "fargate"),
        ("vcpu", "0.5"),
        ("memory_mb", "1024"),
        ("architecture", "arm64"),
        ("tasks", "3"),
        ("running_tasks", "3"),
        ("per_task_concurrency", "8"),
        ("launch_type", "FARGATE"),
        ("trigger", "http"),
        ("container_insights", "true"),
        ("cluster", "shop"),
    ] {
        assert_eq!(attr(&api, key).as_deref(), Some(want), "api {key}");
    }
    assert!(attr(&api, "target_groups").is_some_and(|t| t.starts_with("targetgroup/api/")));
    let worker = rows(&csv, "worker");
    assert_eq!(
        attr(&worker, "fargate_spot_share").as_deref(),
        Some("0.750")
    );
    assert_eq!(
        attr(&worker, "capacity_providers").as_deref(),
        Some("FARGATE:1,FARGATE_SPOT:3")
    );
    assert_eq!(attr(&worker, "per_task_concurrency").as_deref(), Some("4"));
    assert!(
        rows(&csv, "legacy").is_empty(),
        "an EC2 service is not a component"
    );

    let series = |rows: &[(&str, &str, &str)], metric: &str, stat: &str| -> Vec<f64> {
        rows.iter()
            .filter(|r| r.0 == metric && r.1 == stat)
            .map(|r| r.2.parse().unwrap())
            .collect()
    };
    // 180 minutes of requests, 100–109 a minute, none every thirtieth minute, in a
    // day's window: the minutes without a datapoint are zeros, not gaps.
    let inv = series(&api, "invocations", "sum");
    assert_eq!(inv.len(), 1440, "every minute of the window");
    assert_eq!(inv.iter().filter(|&&v| v != 0.0).count(), 174);
    assert!(inv.iter().all(|&v| v == 0.0 || (100.0..110.0).contains(&v)));
    // TargetResponseTime 0.05–0.4 s as milliseconds, nearest rank over 5 values.
    let p99 = series(&api, "duration_ms", "p99");
    assert_eq!(p99.len(), 174);
    assert!(
        p99.iter().all(|&v| (v - 400.0).abs() < 1e-3),
        "{:?}",
        &p99[..3]
    );
    let p50 = series(&api, "duration_ms", "p50");
    assert!(p50.iter().all(|&v| (v - 120.0).abs() < 1e-3));
    assert_eq!(series(&api, "errors", "sum").iter().sum::<f64>(), 18.0);
    let cpu = series(&api, "cpu_utilization_percent", "avg");
    assert_eq!(cpu.len(), 180);
    assert!(
        cpu.iter().all(|&v| (30.0..=31.4).contains(&v)),
        "{:?}",
        &cpu[..5]
    );
    assert!(
        series(&api, "cpu_utilization_percent", "max")
            .iter()
            .all(|&v| (40.0..=44.0).contains(&v))
    );
    assert!(
        series(&api, "memory_utilization_percent", "max")
            .iter()
            .all(|&v| v == 60.0)
    );
    assert!(
        series(&api, "running_tasks", "avg")
            .iter()
            .all(|&v| v == 3.0)
    );
    // No load balancer: no request count, so no invocations rather than zeros.
    assert!(series(&worker, "invocations", "sum").is_empty());
    assert_eq!(
        series(&worker, "memory_utilization_percent", "avg").len(),
        180
    );

    let state = std::fs::read_to_string(dir.join("state.json")).unwrap();
    assert!(state.contains("service/shop/api"), "{state}");

    // The deployed Fargate configuration is what `recommend` starts from.
    let rec = adaptd(
        &dir,
        &[
            "recommend",
            "--config",
            "adaptd.toml",
            "--telemetry",
            "live.csv",
            "--output",
            "json",
        ],
    );
    let stdout = String::from_utf8_lossy(&rec.stdout);
    assert!(
        rec.status.success(),
        "{}",
        String::from_utf8_lossy(&rec.stderr)
    );
    assert!(
        stdout.contains("fargate 0.5 vCPU 1024 MB arm64 × 3 tasks, 8 per task"),
        "{}",
        &stdout[..stdout.len().min(3000)]
    );

    // Incremental: nothing is due again yet, for services as for functions.
    let again = adaptd(&dir, &args);
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert!(again.status.success(), "{stderr}");
    assert!(
        stderr.contains("1 functions, 0 fetched, 1 not due; 2 ECS services, 0 fetched, 2 not due; 0 metrics requested"),
        "{stderr}"
    );
    std::fs::remove_dir_all(&dir).ok();
}
