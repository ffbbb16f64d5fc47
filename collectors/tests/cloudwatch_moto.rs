//! The CloudWatch collector against moto (tests/moto/launcher.py), reached by the real
//! AWS SDK through the endpoint override: functions are created, versions and
//! aliases published, provisioned concurrency configured and hours of metrics put
//! with PutMetricData, all through the SDK; then the collector discovers and
//! collects them, and what it returns must be what was put.

mod services;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use adaptd_collectors::cloudwatch::{ApiErrorKind, CloudWatchCollector, Error, Settings};
use adaptd_collectors::shutdown::Shutdown;
use adaptd_collectors::watermarks::Watermarks;
use adaptd_config::{CloudWatchAccount, CloudWatchSection};
use adaptd_engine::telemetry::{Metric, Minute, Stat};
use aws_config::BehaviorVersion;
use aws_sdk_cloudwatch::types::{Dimension, MetricDatum, StandardUnit};
use aws_sdk_lambda::config::{Credentials, ProvideCredentials, Region};
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::{Architecture, FunctionCode, Runtime};
use aws_smithy_types::DateTime;

/// 2026-11-20T06:00Z, the first minute of the metrics put.
const T0: Minute = 29_395_800;
/// Minutes of metrics put.
const HOURS3: i64 = 180;
/// An empty zip archive: moto stores code without running it.
const EMPTY_ZIP: [u8; 22] = [
    0x50, 0x4b, 0x05, 0x06, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
];

fn test_credentials() -> Credentials {
    Credentials::new("AKIAIOSFODNN7EXAMPLE", "secret", None, None, "test")
}

async fn sdk_config(url: &str, creds: Credentials) -> aws_config::SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(url)
        .credentials_provider(creds)
        .load()
        .await
}

/// Creates an IAM role with a raw Query call: the tests need no IAM SDK crate just
/// for moto's check that a function's role exists.
async fn create_role(url: &str, access_key: &str, account: &str) -> String {
    let auth = format!(
        "AWS4-HMAC-SHA256 Credential={access_key}/20261120/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=0"
    );
    let resp = reqwest::Client::new()
        .post(format!("{url}/"))
        .header("Authorization", auth)
        .form(&[
            ("Action", "CreateRole"),
            ("Version", "2010-05-08"),
            ("RoleName", "lambda-role"),
            ("AssumeRolePolicyDocument", "{}"),
        ])
        .send()
        .await
        .expect("IAM CreateRole");
    let status = resp.status();
    let body = resp.text().await.unwrap();
    assert!(
        status.is_success() || body.contains("EntityAlreadyExists"),
        "CreateRole: {status} {body}"
    );
    format!("arn:aws:iam::{account}:role/lambda-role")
}

struct Fn<'a> {
    name: &'a str,
    memory: i32,
    arm: bool,
    tags: &'a [(&'a str, &'a str)],
    insights_layer: Option<&'a str>,
}

async fn create_function(lambda: &aws_sdk_lambda::Client, role: &str, f: &Fn<'_>) {
    let mut req = lambda
        .create_function()
        .function_name(f.name)
        .runtime(Runtime::Python312)
        .role(role)
        .handler("h.handler")
        .memory_size(f.memory)
        .architectures(if f.arm {
            Architecture::Arm64
        } else {
            Architecture::X8664
        })
        .code(
            FunctionCode::builder()
                .zip_file(Blob::new(EMPTY_ZIP.to_vec()))
                .build(),
        );
    for (k, v) in f.tags {
        req = req.tags(*k, *v);
    }
    if let Some(l) = f.insights_layer {
        req = req.layers(l);
    }
    req.send().await.expect("CreateFunction");
}

fn ts(m: Minute) -> DateTime {
    DateTime::from_secs(m * 60)
}

fn dims(pairs: &[(&str, &str)]) -> Vec<Dimension> {
    pairs
        .iter()
        .map(|(n, v)| Dimension::builder().name(*n).value(*v).build())
        .collect()
}

fn datum(
    name: &str,
    d: &[(&str, &str)],
    m: Minute,
    values: &[f64],
    unit: StandardUnit,
) -> MetricDatum {
    let b = MetricDatum::builder()
        .metric_name(name)
        .set_dimensions(Some(dims(d)))
        .timestamp(ts(m))
        .unit(unit);
    if let [v] = values {
        b.value(*v).build()
    } else {
        b.set_values(Some(values.to_vec())).build()
    }
}

async fn put(cw: &aws_sdk_cloudwatch::Client, namespace: &str, data: Vec<MetricDatum>) {
    for chunk in data.chunks(500) {
        cw.put_metric_data()
            .namespace(namespace)
            .set_metric_data(Some(chunk.to_vec()))
            .send()
            .await
            .expect("PutMetricData");
    }
}

/// Durations of orders-api in minute `m` (ms): five samples, raw values so that
/// CloudWatch (and the launcher) can compute percentiles.
fn api_durations(m: Minute) -> Vec<f64> {
    let k = (m % 17) as f64;
    vec![
        20.0 + k,
        35.0 + k,
        50.0 + 2.0 * k,
        80.0 + k,
        200.0 + 5.0 * k,
    ]
}
fn api_invocations(m: Minute) -> f64 {
    (10 + m % 7) as f64
}
fn api_spillover(m: Minute) -> f64 {
    (m % 5) as f64
}
fn api_pc_busy(m: Minute) -> f64 {
    (m % 4) as f64
}
/// orders-worker runs every third minute.
fn worker_active(m: Minute) -> bool {
    m % 3 == 0
}

/// Nearest-rank percentile, CloudWatch's definition for raw values.
fn nearest_rank(values: &[f64], p: f64) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let rank = ((p / 100.0) * v.len() as f64).ceil().max(1.0) as usize;
    v[rank - 1]
}

/// Puts the metrics of minutes `[from, to)`.
async fn put_metrics(cw: &aws_sdk_cloudwatch::Client, from: Minute, to: Minute) {
    let ms = StandardUnit::Milliseconds;
    let count = StandardUnit::Count;
    let api = [("FunctionName", "orders-api")];
    let live = [
        ("FunctionName", "orders-api"),
        ("Resource", "orders-api:live"),
    ];
    let worker = [("FunctionName", "orders-worker")];
    let insights = [("function_name", "orders-worker")];
    let mut lambda = Vec::new();
    let mut ins = Vec::new();
    for m in from..to {
        lambda.push(datum(
            "Invocations",
            &api,
            m,
            &[api_invocations(m)],
            count.clone(),
        ));
        if m % 13 == 0 {
            lambda.push(datum("Errors", &api, m, &[1.0], count.clone()));
        }
        lambda.push(datum("Duration", &api, m, &api_durations(m), ms.clone()));
        lambda.push(datum(
            "ConcurrentExecutions",
            &api,
            m,
            &[3.0],
            count.clone(),
        ));
        lambda.push(datum(
            "ProvisionedConcurrencySpilloverInvocations",
            &live,
            m,
            &[api_spillover(m)],
            count.clone(),
        ));
        lambda.push(datum(
            "ProvisionedConcurrentExecutions",
            &live,
            m,
            &[api_pc_busy(m)],
            count.clone(),
        ));
        // A metric of another function with the same name must not leak in.
        lambda.push(datum(
            "Invocations",
            &[("FunctionName", "search-api")],
            m,
            &[1000.0],
            count.clone(),
        ));
        if worker_active(m) {
            lambda.push(datum("Invocations", &worker, m, &[2.0], count.clone()));
            lambda.push(datum("Duration", &worker, m, &[400.0, 600.0], ms.clone()));
            ins.push(datum("init_duration", &insights, m, &[250.0], ms.clone()));
            ins.push(datum(
                "used_memory_max",
                &insights,
                m,
                &[100.0, 140.0],
                StandardUnit::Megabytes,
            ));
        }
    }
    put(cw, "AWS/Lambda", lambda).await;
    put(cw, "LambdaInsights", ins).await;
}

/// Creates the fleet: two selected functions, one filtered out by tag, one by name.
async fn seed(url: &str) {
    let config = sdk_config(url, test_credentials()).await;
    let lambda = aws_sdk_lambda::Client::new(&config);
    let role = create_role(url, "AKIAIOSFODNN7EXAMPLE", "123456789012").await;
    let layer = lambda
        .publish_layer_version()
        .layer_name("LambdaInsightsExtension")
        .content(
            aws_sdk_lambda::types::LayerVersionContentInput::builder()
                .zip_file(Blob::new(EMPTY_ZIP.to_vec()))
                .build(),
        )
        .send()
        .await
        .expect("PublishLayerVersion");
    let layer_arn = layer.layer_version_arn().unwrap().to_owned();
    let pay = [("team", "payments")];
    for f in [
        Fn {
            name: "orders-api",
            memory: 1024,
            arm: true,
            tags: &pay,
            insights_layer: None,
        },
        Fn {
            name: "orders-worker",
            memory: 512,
            arm: false,
            tags: &pay,
            insights_layer: Some(&layer_arn),
        },
        Fn {
            name: "search-api",
            memory: 256,
            arm: false,
            tags: &[("team", "search")],
            insights_layer: None,
        },
        Fn {
            name: "orders-test",
            memory: 128,
            arm: false,
            tags: &pay,
            insights_layer: None,
        },
    ] {
        create_function(&lambda, &role, &f).await;
    }
    let v = lambda
        .publish_version()
        .function_name("orders-api")
        .send()
        .await
        .expect("PublishVersion");
    lambda
        .create_alias()
        .function_name("orders-api")
        .name("live")
        .function_version(v.version().unwrap())
        .send()
        .await
        .expect("CreateAlias");
    lambda
        .put_function_concurrency()
        .function_name("orders-api")
        .reserved_concurrent_executions(50)
        .send()
        .await
        .expect("PutFunctionConcurrency");
    lambda
        .put_provisioned_concurrency_config()
        .function_name("orders-api")
        .qualifier("live")
        .provisioned_concurrent_executions(5)
        .send()
        .await
        .expect("PutProvisionedConcurrencyConfig");
    let cw = aws_sdk_cloudwatch::Client::new(&config);
    put_metrics(&cw, T0, T0 + HOURS3).await;
}

fn section(url: &str) -> CloudWatchSection {
    CloudWatchSection {
        endpoint_url: Some(url.to_owned()),
        regions: vec!["us-east-1".into()],
        functions: vec!["orders-*".into()],
        exclude_functions: vec!["*-test".into()],
        tags: [("team".to_owned(), "pay*".to_owned())].into(),
        lookback_days: 1,
        // Hourly cycles, with the budget scaled so each fetch may still request 10.
        cycle_minutes: 60,
        max_metrics_per_function_per_day: 240,
        ..CloudWatchSection::default()
    }
}

fn collector(s: &CloudWatchSection) -> CloudWatchCollector {
    CloudWatchCollector::from_settings(
        Settings::from_section(s)
            .unwrap()
            .with_credentials(test_credentials()),
    )
}

fn series(
    t: &adaptd_engine::telemetry::ComponentTelemetry,
    m: Metric,
    s: Stat,
) -> BTreeMap<Minute, f64> {
    t.get(m, s)
        .map(|s| s.observed().collect())
        .unwrap_or_default()
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-3 * b.abs().max(1.0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discovers_and_collects_what_was_put_then_only_new_minutes() {
    let moto = services::moto(&[], &[]);
    seed(&moto.url()).await;
    let s = section(&moto.url());
    let mut state = Watermarks::new();
    // Ten minutes after the data ends: the settle time leaves exactly the data's end.
    let now = T0 + HOURS3 + 10;
    let r = collector(&s)
        .collect_at(&mut state, now, Shutdown::never())
        .await;
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    assert_eq!((r.functions_discovered, r.functions_fetched), (2, 2));
    let names: Vec<&String> = r.telemetry.components.keys().collect();
    assert_eq!(names, ["orders-api", "orders-worker"]);

    let api = &r.telemetry.components["orders-api"];
    let a = |k: &str| api.attributes.get(k).map(String::as_str);
    assert_eq!(a("memory_mb"), Some("1024"));
    assert_eq!(a("architecture"), Some("arm64"));
    assert_eq!(a("runtime"), Some("python3.12"));
    assert_eq!(a("reserved_concurrency"), Some("50"));
    assert_eq!(a("provisioned_concurrency"), Some("5"));
    assert_eq!(a("provisioned_concurrency_by_qualifier"), Some("live=5"));
    assert_eq!(a("aliases"), Some("live=1"));
    assert_eq!(a("platform"), Some("lambda"));
    assert_eq!(a("account"), Some("default"));
    assert_eq!(a("tag.team"), Some("payments"));
    assert_eq!(a("lambda_insights"), None);
    let worker = &r.telemetry.components["orders-worker"];
    assert_eq!(
        worker.attributes.get("lambda_insights").map(String::as_str),
        Some("true")
    );
    assert_eq!(
        worker.attributes.get("architecture").map(String::as_str),
        Some("x86_64")
    );

    // The window is the lookback (1 day) up to the settled end; idle minutes are 0.
    let end = T0 + HOURS3;
    assert_eq!(api.window, Some((end - 1440, end)));
    let inv = series(api, Metric::Invocations, Stat::Sum);
    assert_eq!(inv.len(), 1440);
    for m in end - 1440..end {
        let want = if m >= T0 { api_invocations(m) } else { 0.0 };
        assert_eq!(inv[&m], want, "invocations at {m}");
    }
    let errors = series(api, Metric::Errors, Stat::Sum);
    assert_eq!(errors.len(), (T0..end).filter(|m| m % 13 == 0).count());
    for (stat, p) in [
        (Stat::P50, 50.0),
        (Stat::P90, 90.0),
        (Stat::P99, 99.0),
        (Stat::Maximum, 100.0),
    ] {
        let got = series(api, Metric::DurationMs, stat);
        assert_eq!(got.len(), HOURS3 as usize, "{stat}");
        for (&m, &v) in &got {
            assert!(
                close(v, nearest_rank(&api_durations(m), p)),
                "{stat} at {m}: {v}"
            );
        }
    }
    let spill = series(
        api,
        Metric::ProvisionedConcurrencySpilloverInvocations,
        Stat::Sum,
    );
    let util = series(
        api,
        Metric::ProvisionedConcurrencyUtilization,
        Stat::Maximum,
    );
    for m in T0..end {
        assert_eq!(spill[&m], api_spillover(m));
        assert!(close(util[&m], api_pc_busy(m) / 5.0), "utilisation at {m}");
    }
    assert_eq!(
        series(api, Metric::ConcurrentExecutions, Stat::Maximum).len(),
        HOURS3 as usize
    );

    let winv = series(worker, Metric::Invocations, Stat::Sum);
    assert_eq!(
        winv.values().sum::<f64>(),
        2.0 * (T0..end).filter(|&m| worker_active(m)).count() as f64
    );
    assert_eq!(winv[&(T0 + 1)], 0.0, "an idle minute of the window is zero");
    let init = series(worker, Metric::InitDurationMs, Stat::Average);
    assert!(!init.is_empty() && init.values().all(|&v| close(v, 250.0)));
    let mem = series(worker, Metric::MaxMemoryUsedMb, Stat::Maximum);
    assert!(!mem.is_empty() && mem.values().all(|&v| close(v, 140.0)));
    // Budget: 8 base + 3 Insights = 11 > 10; the cold-start count is left out.
    assert!(series(worker, Metric::ColdStarts, Stat::Sum).is_empty());
    assert!(
        r.notes
            .iter()
            .any(|n| n.contains("init_duration SampleCount left out for 1")),
        "{:?}",
        r.notes
    );

    // Cost: 10 metrics per function, in one call (a day's window fits 70 queries).
    assert_eq!(r.cost.metrics_requested, 20);
    assert_eq!(r.cost.api_calls["GetMetricData"], 1);
    assert!((r.cost.usd() - 20.0 * 0.00001).abs() < 1e-12);
    assert_eq!(r.cost.metrics_per_function_day(), Some(10.0));
    let api_arn = api.attributes["function_arn"].clone();
    assert_eq!(state.get(&api_arn), Some(end));
    assert_eq!(state.len(), 2);
    assert!(!r.accounts.is_empty(), "GetAccountSettings answered");
    assert_eq!(r.accounts[0].concurrency_limit, 1000);

    // The report round-trips through the telemetry file format.
    let mut csv = Vec::new();
    adaptd_collectors::file::write_long_csv(&r.telemetry, &mut csv).unwrap();
    let back = adaptd_collectors::file::read_csv("collected.csv", csv.as_slice()).unwrap();
    for (name, c) in &r.telemetry.components {
        let b = &back.components[name];
        assert_eq!(b.attributes, c.attributes, "{name}");
        assert_eq!(b.series.len(), c.series.len(), "{name}");
        for (key, sc) in &c.series {
            // Gaps are NaN inside a series, so compare what was observed.
            let got: Vec<(Minute, f64)> = b.series[key].observed().collect();
            assert_eq!(got, sc.observed().collect::<Vec<_>>(), "{name} {key:?}");
        }
    }

    // Collecting again at once: nothing new is due, nothing is requested.
    let again = collector(&s)
        .collect_at(&mut state, now, Shutdown::never())
        .await;
    assert!(again.errors.is_empty(), "{:?}", again.errors);
    assert_eq!((again.functions_fetched, again.functions_not_due), (0, 2));
    assert_eq!(again.cost.metrics_requested, 0);
    assert_eq!(
        again.telemetry.components["orders-api"].attributes["memory_mb"], "1024",
        "configuration is refreshed every cycle"
    );

    // An hour later, only that hour is fetched.
    let cw = aws_sdk_cloudwatch::Client::new(&sdk_config(&moto.url(), test_credentials()).await);
    put_metrics(&cw, end, end + 60).await;
    let next = collector(&s)
        .collect_at(&mut state, now + 60, Shutdown::never())
        .await;
    assert!(next.errors.is_empty(), "{:?}", next.errors);
    assert_eq!(next.functions_fetched, 2);
    let api = &next.telemetry.components["orders-api"];
    assert_eq!(api.window, Some((end, end + 60)));
    let inv = series(api, Metric::Invocations, Stat::Sum);
    assert_eq!(
        inv.keys().copied().collect::<Vec<_>>(),
        (end..end + 60).collect::<Vec<_>>()
    );
    assert!(inv.iter().all(|(&m, &v)| v == api_invocations(m)));
    assert_eq!(next.cost.metrics_requested, 20);
    assert_eq!(state.get(&api_arn), Some(end + 60));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_stay_in_their_scope_and_throttling_is_retried() {
    let denied = "arn:aws:iam::222222222222:role/adaptd-read";
    let partner_role = "arn:aws:iam::111111111111:role/adaptd-read";
    let moto = services::moto(
        &[
            ("ADAPTD_MOTO_DENY_ROLES", denied),
            ("ADAPTD_MOTO_FAIL_FUNCTIONS", "orders-broken"),
            ("ADAPTD_MOTO_THROTTLE_METRIC_DATA", "2"),
        ],
        &[],
    );
    let url = moto.url();
    seed(&url).await;
    let main = sdk_config(&url, test_credentials()).await;
    let lambda = aws_sdk_lambda::Client::new(&main);
    let role = "arn:aws:iam::123456789012:role/lambda-role".to_owned();
    let pay = [("team", "payments")];
    create_function(
        &lambda,
        &role,
        &Fn {
            name: "orders-broken",
            memory: 128,
            arm: false,
            tags: &pay,
            insights_layer: None,
        },
    )
    .await;

    // A function in the partner account, created with the role's own credentials.
    let provider = aws_config::sts::AssumeRoleProvider::builder(partner_role)
        .session_name("seed")
        .configure(&main)
        .build()
        .await;
    let creds = provider.provide_credentials().await.expect("AssumeRole");
    let partner_role_for_lambda = create_role(&url, creds.access_key_id(), "111111111111").await;
    let partner = aws_sdk_lambda::Client::new(&sdk_config(&url, creds).await);
    create_function(
        &partner,
        &partner_role_for_lambda,
        &Fn {
            name: "orders-api",
            memory: 2048,
            arm: false,
            tags: &pay,
            insights_layer: None,
        },
    )
    .await;

    let mut s = section(&url);
    s.component_name = "{account}-{function}".into();
    s.accounts = vec![
        CloudWatchAccount {
            name: "main".into(),
            regions: vec!["us-east-1".into()],
            ..Default::default()
        },
        CloudWatchAccount {
            name: "partner".into(),
            role_arn: Some(partner_role.into()),
            regions: vec!["us-east-1".into()],
            ..Default::default()
        },
        CloudWatchAccount {
            name: "denied".into(),
            role_arn: Some(denied.into()),
            regions: vec!["us-east-1".into()],
            ..Default::default()
        },
    ];
    let mut state = Watermarks::new();
    let r = collector(&s)
        .collect_at(&mut state, T0 + HOURS3 + 10, Shutdown::never())
        .await;
    let messages: Vec<String> = r.errors.iter().map(ToString::to_string).collect();
    // The denied account fails as a whole, with the cause.
    let denied_errors: Vec<&Error> = r
        .errors
        .iter()
        .filter(|e| e.scope().is_some_and(|s| s.account == "denied"))
        .collect();
    assert!(!denied_errors.is_empty(), "{messages:?}");
    assert!(
        denied_errors.iter().all(|e| matches!(
            e,
            Error::Api {
                kind: ApiErrorKind::Permission | ApiErrorKind::Service,
                ..
            }
        )),
        "{messages:?}"
    );
    assert!(
        messages
            .iter()
            .any(|m| m.contains("account denied") && m.contains("AccessDenied")),
        "{messages:?}"
    );
    // The broken function fails alone.
    let broken: Vec<&String> = messages
        .iter()
        .filter(|m| m.contains("orders-broken"))
        .collect();
    assert_eq!(broken.len(), 1, "{messages:?}");
    assert!(
        broken[0].contains(
            "GetFunction failed for account main, region us-east-1, function orders-broken"
        ),
        "{}",
        broken[0]
    );
    assert!(broken[0].contains("HTTP 500"), "{}", broken[0]);
    assert_eq!(r.errors.len(), 1 + denied_errors.len(), "{messages:?}");
    // Everything else is collected, in both reachable accounts, despite throttling.
    let names: Vec<&String> = r.telemetry.components.keys().collect();
    assert_eq!(
        names,
        [
            "main-orders-api",
            "main-orders-worker",
            "partner-orders-api"
        ]
    );
    assert_eq!(
        r.telemetry.components["partner-orders-api"].attributes["memory_mb"],
        "2048"
    );
    assert_eq!(
        r.telemetry.components["partner-orders-api"].attributes["aws_account_id"],
        "111111111111"
    );
    let inv = series(
        &r.telemetry.components["main-orders-api"],
        Metric::Invocations,
        Stat::Sum,
    );
    assert_eq!(inv[&T0], api_invocations(T0));
    assert_eq!(state.len(), 3);
    assert!(state.iter().all(|(k, _)| !k.contains("orders-broken")));

    // Shutdown requested: the collection returns at once and moves no watermark.
    let (trigger, shutdown) = Shutdown::new();
    trigger.trigger();
    let before = state.clone();
    let r = collector(&s)
        .collect_at(&mut state, T0 + HOURS3 + 2000, shutdown)
        .await;
    assert!(r.stopped);
    assert!(r.telemetry.components.values().all(|c| c.series.is_empty()));
    assert_eq!(state, before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_an_endpoint_cannot_answer_is_an_error_a_user_understands() {
    // moto without the launcher has no provisioned-concurrency API.
    let moto = services::stock_moto();
    let url = moto.url();
    let config = sdk_config(&url, test_credentials()).await;
    let role = create_role(&url, "AKIAIOSFODNN7EXAMPLE", "123456789012").await;
    let lambda = aws_sdk_lambda::Client::new(&config);
    create_function(
        &lambda,
        &role,
        &Fn {
            name: "orders-api",
            memory: 128,
            arm: false,
            tags: &[("team", "payments")],
            insights_layer: None,
        },
    )
    .await;
    let r = collector(&section(&url))
        .collect_at(&mut Watermarks::new(), T0, Shutdown::never())
        .await;
    let messages: Vec<String> = r.errors.iter().map(ToString::to_string).collect();
    let unsupported = |op: &str| {
        r.errors.iter().any(|e| {
            matches!(e, Error::Api { operation, kind: ApiErrorKind::Unsupported, .. } if *operation == op)
                && e.to_string().contains("does not implement this operation")
        })
    };
    assert!(unsupported("GetAccountSettings"), "{messages:?}");
    assert!(
        unsupported("ListProvisionedConcurrencyConfigs"),
        "{messages:?}"
    );
    assert_eq!(r.functions_fetched, 0);

    // moto's own GetMetricData cannot compute percentiles: HTTP 500 after retries.
    let patched = services::moto(&[("ADAPTD_MOTO_STOCK_PERCENTILES", "1")], &[]);
    seed(&patched.url()).await;
    let mut s = section(&patched.url());
    s.max_attempts = 2;
    let r = collector(&s)
        .collect_at(&mut Watermarks::new(), T0 + HOURS3 + 10, Shutdown::never())
        .await;
    let messages: Vec<String> = r.errors.iter().map(ToString::to_string).collect();
    assert!(
        messages.iter().any(|m| m
            .starts_with("GetMetricData failed for account default, region us-east-1")
            && m.contains("HTTP 500")
            && m.contains("percentile statistics")),
        "{messages:?}"
    );
    assert_eq!(r.functions_fetched, 0, "nothing half-written");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_never_answers_times_out_after_the_retries() {
    // Accepts connections and reads requests, but never answers.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for s in listener.incoming().flatten() {
            held.push(s);
            if held.len() > 64 {
                break;
            }
        }
    });
    let mut s = section(&format!("http://127.0.0.1:{port}"));
    s.timeout_seconds = 0.5;
    s.max_attempts = 2;
    let started = Instant::now();
    let r = collector(&s)
        .collect_at(&mut Watermarks::new(), T0, Shutdown::never())
        .await;
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "{:?}",
        started.elapsed()
    );
    assert!(
        r.errors.iter().any(|e| matches!(
            e,
            Error::Api {
                operation: "ListFunctions",
                kind: ApiErrorKind::Timeout,
                ..
            }
        )),
        "{:?}",
        r.errors
    );
    assert!(r.telemetry.is_empty());
}
