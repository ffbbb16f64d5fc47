//! What the apply tests share: the recommendation fixture with the move each test
//! needs, a config against moto, `adaptd` as a child process, the function's live
//! configuration read through the AWS SDK, moto's request recording and the audit log.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use serde_json::{Value, json};

use crate::service_support::{AWS_ENV, Proc, Scratch, repo};

pub const FUNCTION: &str = "shop-0000";

pub fn lambda(memory_mb: u32, provisioned: &Value, reserved: Option<u32>) -> Value {
    json!({"platform": "lambda", "memory_mb": memory_mb, "architecture": "x86_64",
           "provisioned": provisioned, "reserved_concurrency": reserved})
}

/// shop-0000 as tests/moto/seed.py makes it: 128 MB, provisioned 2 on alias `live`.
pub fn seeded() -> Value {
    lambda(128, &json!({"kind": "constant", "value": 2}), None)
}

/// 2 environments at night, 4 from 08 to 18 h UTC.
pub fn business_hours() -> Value {
    let h: Vec<u32> = (0..24)
        .map(|i| if (8..18).contains(&i) { 4 } else { 2 })
        .collect();
    json!({"kind": "hourly", "value": h})
}

pub fn recommendation(dir: &Scratch, current: &Value, recommended: &Value) -> PathBuf {
    let text = std::fs::read_to_string(repo().join("tests/data/apply/recommendation.json"))
        .expect("fixture");
    let mut doc: Value = serde_json::from_str(&text).unwrap();
    doc["components"][0]["current"]["deployment"] = current.clone();
    doc["components"][0]["recommended"]["deployment"] = recommended.clone();
    let path = dir.path("recommendations.json");
    std::fs::write(&path, doc.to_string()).unwrap();
    path
}

/// [`recommendation`] with the component's schedule in `timezone` (an IANA name).
pub fn recommendation_in(
    dir: &Scratch,
    current: &Value,
    recommended: &Value,
    timezone: &str,
) -> PathBuf {
    let path = recommendation(dir, current, recommended);
    let mut doc: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    doc["components"][0]["timezone"] = json!(timezone);
    std::fs::write(&path, doc.to_string()).unwrap();
    path
}

/// The AWS SDK's configuration for moto `m`: its endpoint, a fixed region and test
/// credentials.
pub async fn sdk_config(m: &Proc) -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(m.url(""))
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_lambda::config::Credentials::new(
            "AKIAIOSFODNN7EXAMPLE",
            "secret",
            None,
            None,
            "test",
        ))
        .load()
        .await
}

/// (name, schedule, timezone) of the scheduled actions moto holds on alias `live`,
/// read through the AWS SDK.
pub fn action_zones(m: &Proc) -> Vec<(String, String, Option<String>)> {
    use aws_sdk_applicationautoscaling::types::{ScalableDimension, ServiceNamespace};
    scheduled_action_zones(
        m,
        ServiceNamespace::Lambda,
        &format!("function:{FUNCTION}:live"),
        ScalableDimension::LambdaFunctionProvisionedConcurrency,
    )
}

/// (name, schedule, timezone) of the scheduled actions moto holds on ECS service
/// `shop/api`, read through the AWS SDK.
pub fn ecs_action_zones(m: &Proc) -> Vec<(String, String, Option<String>)> {
    use aws_sdk_applicationautoscaling::types::{ScalableDimension, ServiceNamespace};
    scheduled_action_zones(
        m,
        ServiceNamespace::Ecs,
        "service/shop/api",
        ScalableDimension::EcsServiceDesiredCount,
    )
}

/// (name, schedule, timezone) of one scalable target's scheduled actions, sorted.
fn scheduled_action_zones(
    m: &Proc,
    namespace: aws_sdk_applicationautoscaling::types::ServiceNamespace,
    resource_id: &str,
    dimension: aws_sdk_applicationautoscaling::types::ScalableDimension,
) -> Vec<(String, String, Option<String>)> {
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let conf = sdk_config(m).await;
        let mut out: Vec<_> = aws_sdk_applicationautoscaling::Client::new(&conf)
            .describe_scheduled_actions()
            .service_namespace(namespace)
            .resource_id(resource_id)
            .scalable_dimension(dimension)
            .send()
            .await
            .unwrap()
            .scheduled_actions()
            .iter()
            .map(|a| {
                (
                    a.scheduled_action_name().to_owned(),
                    a.schedule().to_owned(),
                    a.timezone().map(str::to_owned),
                )
            })
            .collect();
        out.sort();
        out
    })
}

/// An ECS service's size and count as a recommendation states them.
pub fn fargate(vcpu: f64, memory_mb: u32, tasks: &Value, tracking: Option<Value>) -> Value {
    let mut v = json!({"platform": "fargate", "vcpu": vcpu, "memory_mb": memory_mb,
        "architecture": "arm64", "tasks": tasks, "per_task_concurrency": 8});
    if let Some(t) = tracking {
        v["target_tracking"] = t;
    }
    v
}

/// Service `api` as tests/moto/seed.py --ecs makes it.
pub fn seeded_api() -> Value {
    fargate(0.5, 1024, &json!(vec![3u32; 24]), None)
}

/// 2 tasks at night, 5 from 08 to 18 h (in the component's zone).
pub fn business_hours_tasks() -> Value {
    let h: Vec<u32> = (0..24)
        .map(|i| if (8..18).contains(&i) { 5 } else { 2 })
        .collect();
    json!(h)
}

/// The `[[apply.components]]` entry that puts shop-0000 on ECS service `shop/api`.
pub const ECS_TARGET: &str =
    "[[apply.components]]\nname = \"shop-0000\"\ncluster = \"shop\"\nservice = \"api\"\n";

/// What the library's apply needs, opened on the config at `cfg`: the config, its
/// store (migrated) and the AWS clients, given the test credentials explicitly (the
/// CLI tests give the child them through the environment).
pub async fn library(
    dir: &Scratch,
    cfg: &Path,
) -> (
    adaptd_config::Config,
    adaptd::store::SqlStore,
    adaptd_actuator::aws::Aws,
) {
    use adaptd::store::{SqlStore, Store};
    let config = adaptd_config::Config::load(cfg).unwrap();
    let store = SqlStore::open(
        &config.store,
        &dir.0,
        "test".to_owned(),
        Duration::from_secs(30),
    )
    .await
    .unwrap();
    store.migrate().await.unwrap();
    let mut settings = adaptd::apply::aws_settings(&config.apply);
    settings.credentials = Some(aws_sdk_lambda::config::SharedCredentialsProvider::new(
        aws_sdk_lambda::config::Credentials::new(
            "AKIAIOSFODNN7EXAMPLE",
            "secret",
            None,
            None,
            "test",
        ),
    ));
    let aws = adaptd_actuator::aws::Aws::connect(&settings).await;
    (config, store, aws)
}

/// The first component of the recommendations file at `recs`.
pub fn first_recommendation(recs: &Path) -> adaptd_optimizer::recommend::Recommendation {
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(recs).unwrap()).unwrap();
    serde_json::from_value(doc["components"][0].clone()).unwrap()
}

/// Executes `rec` through the library as a cycle does; the run it made.
pub async fn execute_as_cycle(
    store: &adaptd::store::SqlStore,
    config: &adaptd_config::Config,
    aws: &adaptd_actuator::aws::Aws,
    rec: &adaptd_optimizer::recommend::Recommendation,
) -> adaptd_actuator::wal::Execution {
    use adaptd::apply::{ApplyOutcome, Request, Trigger, apply_recommendation};
    let crash = adaptd_actuator::wal::Crashpoint::default();
    let outcome = apply_recommendation(
        store,
        &config.apply,
        aws,
        &Request {
            rec,
            recommendation_id: None,
            approved: false,
            environment: None,
            trigger: Trigger::Cycle,
            execute: true,
            crash: &crash,
        },
    )
    .await
    .unwrap();
    let ApplyOutcome::Executed { execution, .. } = outcome else {
        panic!("not executed: {outcome:?}");
    };
    execution
}

/// Telemetry as the file collector reads it (written to `telemetry.csv` in `dir`):
/// 100 invocations a minute, no errors in the ten minutes before `start_minute`, 20 a
/// minute in the twenty from it.
pub fn worse_after(dir: &Scratch, start_minute: i64) -> adaptd_engine::telemetry::TelemetrySet {
    telemetry_around(dir, start_minute, 20)
}

/// [`worse_after`] with `errors` a minute from `start_minute` (0: as good as before).
pub fn telemetry_around(
    dir: &Scratch,
    start_minute: i64,
    errors: u32,
) -> adaptd_engine::telemetry::TelemetrySet {
    let mut csv = String::from("timestamp,component,metric,stat,value\n");
    for m in start_minute - 10..start_minute + 20 {
        let errors = if m < start_minute { 0 } else { errors };
        csv.push_str(&format!(
            "{t},{FUNCTION},invocations,sum,100\n{t},{FUNCTION},errors,sum,{errors}\n",
            t = m * 60
        ));
    }
    let path = dir.path("telemetry.csv");
    std::fs::write(&path, csv).unwrap();
    adaptd_collectors::load(path.to_str().unwrap()).unwrap()
}

/// Verifies `execution` ten minutes after it started, its errors having risen
/// ([`worse_after`]), and checks that it was judged worse and rolled back.
pub async fn roll_back_worse(
    dir: &Scratch,
    store: &adaptd::store::SqlStore,
    config: &adaptd_config::Config,
    aws: &adaptd_actuator::aws::Aws,
    execution: &adaptd_actuator::wal::Execution,
) {
    use adaptd::store::Store;
    use adaptd_actuator::verify::Decision;
    let start_minute = execution_started_minute(&execution.run_id);
    let telemetry = worse_after(dir, start_minute);
    let now = start_minute * 60_000 + 600_000;
    let judged = adaptd::apply::verify_due(store, &config.apply, aws, &telemetry, now)
        .await
        .unwrap();
    assert_eq!(judged.len(), 1, "{judged:?}");
    assert!(
        matches!(&judged[0].1, Decision::Rollback(r) if r.starts_with("error rate rose")),
        "{judged:?}"
    );
    let log = store.audit_log(50, None).await.unwrap();
    let rolled = log
        .iter()
        .find(|e| e.action == "apply.finish" && e.payload["trigger"] == "rollback")
        .expect("the rollback's finish entry");
    assert_eq!(rolled.outcome, "applied");
}

pub fn config(dir: &Scratch, m: &Proc, extra: &str) -> PathBuf {
    config_on(dir, m, "[store]\nsqlite_path = \"adaptd.db\"\n", extra)
}

/// [`config`] with the given `[store]` section (e.g. `StoreKind::toml`).
pub fn config_on(dir: &Scratch, m: &Proc, store: &str, extra: &str) -> PathBuf {
    let path = dir.path("adaptd.toml");
    let text = format!(
        "{store}\n[apply]\nmode = \"auto\"\n\
         default_qualifier = \"live\"\nendpoint_url = \"{}\"\nregion = \"us-east-1\"\n\
         max_step_percent = 100\nmax_step_environments = 10\ncooldown_minutes = 0\n\
         max_changes_per_hour = 100\n{extra}",
        m.url("")
    );
    std::fs::write(&path, text).unwrap();
    path
}

pub fn adaptd(args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_adaptd"));
    c.args(args).envs(AWS_ENV).envs(env.iter().copied());
    c
}

pub fn apply(config: &Path, recs: &Path, execute: bool) -> Output {
    let (c, r) = (config.to_str().unwrap(), recs.to_str().unwrap());
    let mut args = vec!["apply", "--config", c, "--recommendations", r];
    if execute {
        args.push("--execute");
    }
    adaptd(&args, &[]).output().expect("adaptd runs")
}

/// Applies `recs` again: the live configuration already matches, so it says so for
/// shop-0000 and makes no write call. Returns the write calls, unchanged.
pub fn reapply_does_nothing(m: &Proc, config: &Path, recs: &Path) -> Vec<String> {
    let before = writes(m);
    let again = apply(config, recs, true);
    let t = text(&again);
    assert!(again.status.success(), "{t}");
    assert!(
        t.contains("shop-0000: nothing to do (live configuration matches)"),
        "{t}"
    );
    let after = writes(m);
    assert_eq!(after, before, "re-apply made calls");
    after
}

pub fn text(o: &Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// What moto holds for shop-0000, read through the AWS SDK.
#[derive(Debug, PartialEq)]
pub struct Live {
    pub memory_mb: i32,
    pub reserved: Option<i32>,
    pub provisioned: Option<i32>,
    /// (name, schedule, min, max) of the scheduled actions on alias `live`.
    pub actions: Vec<(String, String, Option<i32>, Option<i32>)>,
    /// (min, max) of the scalable target.
    pub target: Option<(i32, i32)>,
}

pub fn live(m: &Proc) -> Live {
    tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(live_async(m))
}

pub async fn live_async(m: &Proc) -> Live {
    {
        let conf = sdk_config(m).await;
        let l = aws_sdk_lambda::Client::new(&conf);
        let s = aws_sdk_applicationautoscaling::Client::new(&conf);
        use aws_sdk_applicationautoscaling::types::{ScalableDimension, ServiceNamespace};
        let dim = ScalableDimension::LambdaFunctionProvisionedConcurrency;
        let rid = format!("function:{FUNCTION}:live");
        let memory_mb = l
            .get_function_configuration()
            .function_name(FUNCTION)
            .send()
            .await
            .unwrap()
            .memory_size()
            .unwrap();
        let reserved = l
            .get_function_concurrency()
            .function_name(FUNCTION)
            .send()
            .await
            .unwrap()
            .reserved_concurrent_executions();
        let provisioned = l
            .get_provisioned_concurrency_config()
            .function_name(FUNCTION)
            .qualifier("live")
            .send()
            .await
            .ok()
            .and_then(|o| o.requested_provisioned_concurrent_executions());
        let mut actions: Vec<_> = s
            .describe_scheduled_actions()
            .service_namespace(ServiceNamespace::Lambda)
            .resource_id(&rid)
            .scalable_dimension(dim.clone())
            .send()
            .await
            .unwrap()
            .scheduled_actions()
            .iter()
            .map(|a| {
                let t = a.scalable_target_action();
                (
                    a.scheduled_action_name().to_owned(),
                    a.schedule().to_owned(),
                    t.and_then(|t| t.min_capacity()),
                    t.and_then(|t| t.max_capacity()),
                )
            })
            .collect();
        actions.sort();
        let target = s
            .describe_scalable_targets()
            .service_namespace(ServiceNamespace::Lambda)
            .resource_ids(&rid)
            .scalable_dimension(dim)
            .send()
            .await
            .unwrap()
            .scalable_targets()
            .first()
            .map(|t| (t.min_capacity(), t.max_capacity()));
        Live {
            memory_mb,
            reserved,
            provisioned,
            actions,
            target,
        }
    }
}

pub fn start_recording(m: &Proc) {
    let r = reqwest::blocking::Client::new()
        .post(m.url("/moto-api/recorder/start-recording"))
        .send()
        .unwrap();
    assert!(r.status().is_success(), "moto recorder: {}", r.status());
}

/// The write calls moto received since recording started, as `METHOD path` (Lambda)
/// or the `X-Amz-Target` operation (Application Auto Scaling), reads left out.
pub fn writes(m: &Proc) -> Vec<String> {
    let body = reqwest::blocking::get(m.url("/moto-api/recorder/download-recording"))
        .unwrap()
        .text()
        .unwrap();
    body.lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter_map(|e| {
            let method = e["method"].as_str()?.to_owned();
            let url = e["url"].as_str()?;
            let path = url.split("://").nth(1)?.split_once('/')?.1;
            if let Some(t) = e["headers"]["X-Amz-Target"].as_str() {
                let op = t.rsplit('.').next()?;
                return (!op.starts_with("Describe")).then(|| op.to_owned());
            }
            (method != "GET").then(|| format!("{method} /{path}"))
        })
        .collect()
}

/// The minute a run started, from its id (`PLAN_ID@STARTED_MS`).
pub fn execution_started_minute(run_id: &str) -> i64 {
    run_id.rsplit_once('@').unwrap().1.parse::<i64>().unwrap() / 60_000
}

/// (unfinished runs, call outcomes in order) in the audit log of the config's store.
pub fn audit(dir: &Scratch, cfg: &Path) -> (usize, Vec<String>) {
    use adaptd::store::{SqlStore, Store};
    let config = adaptd_config::Config::load(cfg).unwrap();
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let store = SqlStore::open(
            &config.store,
            &dir.0,
            "test".to_owned(),
            Duration::from_secs(30),
        )
        .await
        .unwrap();
        let open = store
            .audit_open("apply.plan", "apply.finish")
            .await
            .unwrap();
        let calls = store
            .audit_since("apply.call", 0)
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.outcome)
            .collect();
        store.close().await;
        (open.len(), calls)
    })
}
