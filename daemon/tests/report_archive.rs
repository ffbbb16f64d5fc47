//! The report archive beyond one disk, against moto: `[report.s3]` copies what
//! `adaptd report` archives into a bucket (read back through the AWS SDK), keeps a
//! failed copy locally and puts it at the next report; and the scheduled report's kept
//! telemetry makes a second run ask CloudWatch only for the minutes since the first,
//! and a run after cycles appended theirs ask it for nothing, each with the same
//! report as a collection from scratch.

mod apply_support;
mod service_support;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use adaptd::service::report_telemetry::{DIR, Window};
use adaptd::service::sources::Source;
use adaptd_collectors::cloudwatch::{CloudWatchCollector, Settings};
use adaptd_collectors::shutdown::Shutdown;
use adaptd_config::{CloudWatchSection, Config};
use apply_support::sdk_config;
use serde_json::Value;
use service_support::{AWS_ENV, Proc, Scratch, moto, repo, serial};

const BUCKET: &str = "adaptd-reports";

fn block_on<T>(f: impl Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}

fn s3(m: &Proc) -> aws_sdk_s3::Client {
    let conf = block_on(sdk_config(m));
    aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&conf)
            .force_path_style(true)
            .build(),
    )
}

/// Every key in the bucket under `prefix`, sorted.
fn keys(c: &aws_sdk_s3::Client, prefix: &str) -> Vec<String> {
    let out = block_on(c.list_objects_v2().bucket(BUCKET).prefix(prefix).send()).unwrap();
    let mut k: Vec<String> = out
        .contents()
        .iter()
        .filter_map(|o| o.key().map(str::to_owned))
        .collect();
    k.sort();
    k
}

/// (bytes, content type) of an object.
fn object(c: &aws_sdk_s3::Client, key: &str) -> (Vec<u8>, String) {
    block_on(async {
        let o = c.get_object().bucket(BUCKET).key(key).send().await.unwrap();
        let kind = o.content_type().unwrap_or_default().to_owned();
        (o.body.collect().await.unwrap().into_bytes().to_vec(), kind)
    })
}

/// The example telemetry, and the same without its last day (an earlier period).
fn telemetries(dir: &Scratch) -> (String, String) {
    let out = Command::new("gzip")
        .arg("-dc")
        .arg(repo().join("examples/telemetry.csv.gz"))
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let last = text
        .lines()
        .skip(1)
        .map(|l| &l[..10])
        .max()
        .unwrap()
        .to_owned();
    let early: String = text
        .lines()
        .filter(|l| !l.starts_with(&last))
        .flat_map(|l| [l, "\n"])
        .collect();
    let (full, cut) = (dir.path("full.csv"), dir.path("early.csv"));
    std::fs::write(&full, &text).unwrap();
    std::fs::write(&cut, early).unwrap();
    (
        full.to_string_lossy().into_owned(),
        cut.to_string_lossy().into_owned(),
    )
}

fn report(config: &Path, telemetry: &str) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_adaptd"))
        .args([
            "report",
            "--config",
            config.to_str().unwrap(),
            "--telemetry",
            telemetry,
        ])
        .args(["--frontier", "0"])
        .envs(AWS_ENV)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn reports_are_copied_to_s3_and_a_failed_copy_is_put_at_the_next_report() {
    let _g = serial();
    let dir = Scratch::new("report-s3");
    let (m, _) = moto(&dir, 1);
    let (full, early) = telemetries(&dir);
    let example = std::fs::read_to_string(repo().join("examples/adaptd.toml")).unwrap();
    let config = dir.path("adaptd.toml");
    std::fs::write(
        &config,
        format!(
            "{example}\n[report]\noutput_dir = \"reports\"\n\n[report.s3]\nbucket = \"{BUCKET}\"\n\
             prefix = \"prod/weekly/\"\nregion = \"us-east-1\"\nendpoint_url = \"{}\"\nmax_attempts = 1\n",
            m.url("")
        ),
    )
    .unwrap();
    let c = s3(&m);

    // No bucket yet: the report is written, the copy fails and says so.
    let (ok, out, err) = report(&config, &early);
    assert!(!ok, "{out}{err}");
    assert!(
        err.contains("could not be copied to s3://adaptd-reports/prod/weekly/"),
        "{err}"
    );
    assert!(err.contains("the next report tries again"), "{err}");
    let archive = dir.path("reports");
    let first: Vec<String> = std::fs::read_dir(&archive)
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| !n.starts_with('.') && !n.ends_with(".html"))
        .collect();
    assert_eq!(first.len(), 1, "{first:?}");
    let p1 = first[0].clone();
    assert!(archive.join(&p1).join("report.html").is_file());

    // With the bucket, the next report puts its own files and the earlier ones.
    block_on(c.create_bucket().bucket(BUCKET).send()).unwrap();
    let (ok, out, err) = report(&config, &full);
    assert!(ok, "{out}{err}");
    let files = [
        "changes.csv",
        "components.csv",
        "manifest.json",
        "recommendations.json",
        "report.html",
        "report.json",
        "report.md",
    ];
    let p2 = std::fs::read_dir(&archive)
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .find(|n| n != &p1 && !n.starts_with('.') && !n.ends_with(".html"))
        .expect("a second period");
    let mut want: Vec<String> = [&p1, &p2]
        .iter()
        .flat_map(|p| files.iter().map(move |f| format!("prod/weekly/{p}/{f}")))
        .chain(["prod/weekly/index.html".to_owned()])
        .collect();
    want.sort();
    assert_eq!(keys(&c, "prod/"), want);
    assert!(
        out.contains(&format!(
            "copied to s3://{BUCKET}/prod/weekly/: 15 file(s) put, 0 unchanged"
        )),
        "{out}"
    );
    for (key, local, kind) in [
        (
            format!("prod/weekly/{p2}/report.html"),
            archive.join(&p2).join("report.html"),
            "text/html; charset=utf-8",
        ),
        (
            format!("prod/weekly/{p1}/report.json"),
            archive.join(&p1).join("report.json"),
            "application/json",
        ),
        (
            "prod/weekly/index.html".to_owned(),
            archive.join("index.html"),
            "text/html; charset=utf-8",
        ),
    ] {
        let (bytes, media) = object(&c, &key);
        assert_eq!(bytes, std::fs::read(&local).unwrap(), "{key}");
        assert_eq!(media, kind, "{key}");
    }

    // Again: the rewritten period and the index are put, the earlier one is not.
    let (ok, out, err) = report(&config, &full);
    assert!(ok, "{out}{err}");
    assert!(out.contains("8 file(s) put, 7 unchanged"), "{out}");
    let record: Value =
        serde_json::from_str(&std::fs::read_to_string(archive.join(".s3-uploaded.json")).unwrap())
            .unwrap();
    assert_eq!(record["location"], "s3://adaptd-reports/prod/weekly/");
    assert_eq!(record["objects"].as_object().unwrap().len(), 15);
}

/// moto's recording: the (StartTime, EndTime) of every GetMetricData call, in seconds.
fn metric_windows(m: &Proc) -> Vec<(i64, i64)> {
    let body = reqwest::blocking::get(m.url("/moto-api/recorder/download-recording"))
        .unwrap()
        .text()
        .unwrap();
    let param = |form: &str, name: &str| -> Option<i64> {
        let v = form
            .split('&')
            .find_map(|kv| kv.strip_prefix(&format!("{name}=")))?
            .replace("%3A", ":");
        chrono::DateTime::parse_from_rfc3339(&v)
            .ok()
            .map(|t| t.timestamp())
    };
    body.lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter_map(|e| {
            let body = e["body"].as_str()?;
            // moto keeps a byte body in base64, with `body_encoded`.
            let form = if e["body_encoded"].as_bool() == Some(true) {
                use base64::Engine as _;
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(body)
                    .ok()?;
                String::from_utf8(bytes).ok()?
            } else {
                body.to_owned()
            };
            form.contains("Action=GetMetricData")
                .then(|| Some((param(&form, "StartTime")?, param(&form, "EndTime")?)))?
        })
        .collect()
}

fn recorder(m: &Proc, what: &str) {
    let r = reqwest::blocking::Client::new()
        .post(m.url(&format!("/moto-api/recorder/{what}")))
        .send()
        .unwrap();
    assert!(
        r.status().is_success(),
        "moto recorder {what}: {}",
        r.status()
    );
}

fn cloudwatch(m: &Proc) -> Vec<Source> {
    let section: CloudWatchSection = toml::from_str(&format!(
        "endpoint_url = \"{}\"\nregions = [\"us-east-1\"]\nlookback_days = 1\nsettle_minutes = 0\ncycle_minutes = 60\nmax_metrics_per_function_per_day = 500\n",
        m.url("")
    ))
    .unwrap();
    let settings = Settings::from_section(&section).unwrap().with_credentials(
        aws_sdk_lambda::config::Credentials::new(
            "AKIAIOSFODNN7EXAMPLE",
            "secret",
            None,
            None,
            "test",
        ),
    );
    vec![Source::CloudWatch(CloudWatchCollector::from_settings(
        settings,
    ))]
}

/// The kept window as it would be had the first run happened `back` minutes
/// earlier: marks and windows moved back, the minutes after them forgotten.
fn rewind(kept: &Path, back: i64) -> i64 {
    let meta_path = kept.join("cloudwatch.json");
    let mut meta: Value =
        serde_json::from_str(&std::fs::read_to_string(&meta_path).unwrap()).unwrap();
    let mut state: Value = serde_json::from_str(meta["state"].as_str().unwrap()).unwrap();
    let mut cut = i64::MAX;
    for v in state["marks"].as_object_mut().unwrap().values_mut() {
        let moved = v.as_i64().unwrap() - back;
        cut = cut.min(moved);
        *v = moved.into();
    }
    meta["state"] = state.to_string().into();
    for w in meta["windows"].as_object_mut().unwrap().values_mut() {
        w[1] = cut.into();
    }
    std::fs::write(&meta_path, meta.to_string()).unwrap();
    let data = kept.join("cloudwatch.csv.gz");
    let t = adaptd_collectors::load(&data.to_string_lossy()).unwrap();
    let cut_set = adaptd::report::window::slice(&t, 0, cut);
    let mut csv = Vec::new();
    adaptd_collectors::file::write_long_csv(&cut_set, &mut csv).unwrap();
    // Read back by content: a plain CSV under the .gz name is read as CSV.
    std::fs::write(&data, csv).unwrap();
    cut
}

/// The weekly JSON report 100 minutes after `cut` is the same from `whole` (one full
/// collection) as from `other`, and names the shop's function.
fn assert_same_report(
    dir: &Scratch,
    cut: i64,
    whole: &adaptd_engine::telemetry::TelemetrySet,
    other: &adaptd_engine::telemetry::TelemetrySet,
) {
    let config = Config::from_str(
        "[report]\nperiod_days = 7\nfrontier_components = 0\nformats = [\"json\"]\n",
        "t.toml",
    )
    .unwrap();
    let at = UNIX_EPOCH + Duration::from_secs(60 * cut as u64 + 60 * 100);
    let a = report_json(&config, &dir.path("a"), whole, at);
    let b = report_json(&config, &dir.path("b"), other, at);
    assert!(a.contains("shop-0000"), "{a}");
    assert_eq!(a, b);
}

fn report_json(
    config: &Config,
    dir: &Path,
    t: &adaptd_engine::telemetry::TelemetrySet,
    at: SystemTime,
) -> String {
    let d =
        adaptd::report::scheduled::run_once(config, dir, t, at, Vec::new(), &mut |_| {}).unwrap();
    std::fs::read_to_string(d.dir.join("report.json")).unwrap()
}

#[test]
fn a_second_scheduled_report_collects_only_the_new_minutes_and_reports_the_same() {
    let _g = serial();
    let dir = Scratch::new("report-kept");
    let (m, _) = moto(&dir, 2);
    let sources = cloudwatch(&m);
    let now_minute = (SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
        / 60) as i64;
    let from = now_minute - 7 * 1440;
    let kept = dir.path(&format!("reports/{DIR}"));

    recorder(&m, "start-recording");
    let window = Window::new(kept.clone(), 7);
    let first = block_on(window.gather(&sources, from, Shutdown::never()));
    let calls = metric_windows(&m);
    assert!(
        !calls.is_empty() && first.telemetry.len() == 2,
        "{calls:?} {first:?}"
    );
    assert!(
        calls.iter().all(|(s, e)| e - s >= 1400 * 60),
        "the first run backfills the lookback: {calls:?}"
    );

    let cut = rewind(&kept, 120);
    recorder(&m, "reset-recording");
    recorder(&m, "start-recording");
    let second = block_on(window.gather(&sources, from, Shutdown::never()));
    let calls = metric_windows(&m);
    assert!(!calls.is_empty(), "the new minutes are fetched");
    for (s, e) in &calls {
        assert_eq!(*s, cut * 60, "from where the last run stopped: {calls:?}");
        assert!(e - s <= 125 * 60, "only the new minutes: {calls:?}");
    }

    // The same report as from the first, whole collection.
    assert_same_report(&dir, cut, &first.telemetry, &second.telemetry);
}

/// Cycles appended what they collected (a backfill two hours ago, then the two hours
/// since): the scheduled report asks CloudWatch for no minute (less than the
/// collector's `cycle_minutes` is new), and reports the same as from a collection
/// from scratch.
#[test]
fn after_cycles_the_scheduled_report_collects_nothing_of_its_own() {
    let _g = serial();
    let dir = Scratch::new("report-fed");
    let (m, _) = moto(&dir, 2);
    let sources = cloudwatch(&m);
    let source = &sources[0];
    let now_minute = (SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
        / 60) as i64;
    let from = now_minute - 7 * 1440;
    let window = Window::new(dir.path(&format!("reports/{DIR}")), 7);

    // The first cycle, as if two hours ago: its marks and minutes stop then.
    let mut first = block_on(source.collect(None, Shutdown::never()));
    let mut marks: Value = serde_json::from_str(first.state.as_deref().unwrap()).unwrap();
    let mut cut = i64::MAX;
    for v in marks["marks"].as_object_mut().unwrap().values_mut() {
        let moved = v.as_i64().unwrap() - 120;
        cut = cut.min(moved);
        *v = moved.into();
    }
    let state = marks.to_string();
    first.telemetry = adaptd::report::window::slice(&first.telemetry, 0, cut);
    first.state = Some(state.clone());
    block_on(window.append(source, None, &first));
    // The next cycle collects the two hours since, from the first one's marks.
    let second = block_on(source.collect(Some(&state), Shutdown::never()));
    assert!(!second.telemetry.is_empty(), "{second:?}");
    block_on(window.append(source, Some(&state), &second));

    recorder(&m, "start-recording");
    let report = block_on(window.gather(&sources, from, Shutdown::never()));
    assert_eq!(
        metric_windows(&m),
        [],
        "the report asked CloudWatch for minutes"
    );
    recorder(&m, "reset-recording");
    let scratch = Window::new(dir.path("scratch"), 7);
    let full = block_on(scratch.gather(&sources, from, Shutdown::never()));

    assert_same_report(&dir, cut, &full.telemetry, &report.telemetry);
    // The appended minutes are folded into the window by the report.
    let kept: Vec<_> = std::fs::read_dir(window.dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert!(!kept.iter().any(|f| f.contains(".seg-")), "{kept:?}");
}

/// `adaptd serve` copies its scheduled report to the bucket, and the API keeps
/// serving the local archive.
#[test]
fn the_service_copies_its_scheduled_report_to_s3() {
    use service_support::{
        StoreKind, config, free_port, http, recent_example_telemetry, serve, wait_for,
    };
    let _g = serial();
    let dir = Scratch::new("report-s3-serve");
    let (m, _) = moto(&dir, 1);
    let c = s3(&m);
    block_on(c.create_bucket().bucket(BUCKET).send()).unwrap();
    recent_example_telemetry(&dir.path("recent.csv"));
    let port = free_port();
    let path = config(&dir, port, &StoreKind::Sqlite, None, 3600, 1.0);
    let text = std::fs::read_to_string(&path).unwrap().replace(
        "telemetry = \"telemetry.csv.gz\"",
        "telemetry = \"recent.csv\"",
    );
    // Every minute, so the test waits at most one.
    let text = format!(
        "{text}\n[report]\nschedule = \"* * * * *\"\noutput_dir = \"reports\"\nfrontier_components = 0\n\n\
         [report.s3]\nbucket = \"{BUCKET}\"\nendpoint_url = \"{}\"\nregion = \"us-east-1\"\n",
        m.url("")
    );
    std::fs::write(&path, text).unwrap();
    let mut adaptd = serve(&path, port, &AWS_ENV, dir.path("serve.log"));
    let listed = wait_for(
        "the report's index in the bucket",
        Duration::from_secs(180),
        || adaptd.log_text(),
        || {
            let k = keys(&c, "");
            k.contains(&"index.html".to_owned()).then_some(k)
        },
    );
    let url = format!("http://127.0.0.1:{port}/api/v1/reports");
    let (status, body) = http("GET", &url, Some("s3cret"), None);
    assert_eq!(status, 200, "{body}");
    let id = body["items"][0]["id"].as_str().unwrap().to_owned();
    for f in ["report.html", "report.json", "manifest.json"] {
        assert!(
            listed.contains(&format!("{id}/{f}")),
            "{f} of {id} in {listed:?}"
        );
    }
    let (bytes, _) = object(&c, &format!("{id}/report.html"));
    assert_eq!(
        bytes,
        std::fs::read(dir.path(&format!("reports/{id}/report.html"))).unwrap()
    );
    assert!(
        adaptd
            .log_text()
            .contains("report archive copied to s3://adaptd-reports/")
    );
    assert_eq!(adaptd.terminate(Duration::from_secs(25)), Some(0));
}
