//! `adaptd report` end to end: the demo in four formats (JSON checked against its
//! schema), realised savings from an `--applied` file, input errors, webhook delivery
//! against a local HTTP receiver (retries, backoff, Retry-After, refusal, files kept
//! when delivery fails), and a scheduled run delivering the report.

#[path = "report/applied.rs"]
mod applied;
mod service_support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use adaptd::report::deliver::{DeliveryError, WebhookSettings, post_webhook};
use adaptd::report::schedule::{Clock, run};
use adaptd::report::scheduled::{RunError, run_once};
use adaptd_config::{Config, Cron, WebhookSection};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("adaptd-report-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A local webhook receiver: answers each request with the next scripted
/// `(status, extra header)` and records the bodies. One connection per request.
struct Receiver {
    url: String,
    bodies: Arc<Mutex<Vec<String>>>,
}

fn receiver(script: Vec<(u16, &'static str)>) -> Receiver {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hooks/T000/B000", listener.local_addr().unwrap());
    let bodies = Arc::new(Mutex::new(Vec::new()));
    let seen = bodies.clone();
    std::thread::spawn(move || {
        for (status, header) in script {
            let Ok((stream, _)) = listener.accept() else {
                return;
            };
            stream
                .set_read_timeout(Some(Duration::from_secs(10)))
                .unwrap();
            let mut reader = BufReader::new(stream);
            let mut length = 0;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap();
                }
            }
            let mut body = vec![0; length];
            reader.read_exact(&mut body).unwrap();
            seen.lock().unwrap().push(String::from_utf8(body).unwrap());
            let answer = if status == 200 { "ok" } else { "no_service" };
            let _ = write!(
                reader.get_mut(),
                "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nConnection: close\r\n{header}\r\n{answer}",
                answer.len()
            );
        }
    });
    Receiver { url, bodies }
}

fn settings(url: &str, attempts: u32) -> WebhookSettings {
    WebhookSettings {
        url: url.to_owned(),
        max_attempts: attempts,
        initial_backoff: Duration::from_millis(250),
        max_backoff: Duration::from_millis(600),
        timeout: Duration::from_secs(5),
        top_items: 3,
    }
}

fn payload() -> serde_json::Value {
    serde_json::json!({"text": "adaptd weekly report", "blocks": []})
}

#[test]
fn a_failed_first_attempt_is_retried_after_the_backoff() {
    let r = receiver(vec![(503, ""), (200, "")]);
    let mut waits = Vec::new();
    let attempts = post_webhook(&settings(&r.url, 3), &payload(), &mut |d| waits.push(d)).unwrap();
    assert_eq!(attempts, 2);
    assert_eq!(waits, [Duration::from_millis(250)]);
    let bodies = r.bodies.lock().unwrap();
    assert_eq!(bodies.len(), 2);
    assert_eq!(bodies[0], bodies[1], "the same message is sent again");
}

#[test]
fn backoff_doubles_up_to_its_cap_and_retry_after_is_honoured() {
    let r = receiver(vec![
        (500, ""),
        (429, "Retry-After: 0.5\r\n"),
        (502, ""),
        (500, ""),
    ]);
    let mut waits = Vec::new();
    let err = post_webhook(&settings(&r.url, 4), &payload(), &mut |d| waits.push(d)).unwrap_err();
    // 250 ms, then max(500 ms, Retry-After 0.5 s), then 1 s capped at 600 ms.
    assert_eq!(
        waits,
        [
            Duration::from_millis(250),
            Duration::from_millis(500),
            Duration::from_millis(600)
        ]
    );
    match err {
        DeliveryError::Exhausted { attempts, last } => {
            assert_eq!(attempts, 4);
            assert!(last.starts_with("HTTP 500"), "{last}");
        }
        e => panic!("{e}"),
    }
}

#[test]
fn a_refusal_that_retrying_cannot_fix_stops_at_once() {
    let r = receiver(vec![(404, "")]);
    let mut waits = Vec::new();
    let err = post_webhook(&settings(&r.url, 4), &payload(), &mut |d| waits.push(d)).unwrap_err();
    assert!(waits.is_empty());
    assert_eq!(
        err.to_string(),
        "webhook refused the message after 1 attempt(s): HTTP 404: no_service"
    );
}

#[test]
fn an_unreachable_receiver_is_retried_then_reported() {
    let url = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}/hook", l.local_addr().unwrap())
    };
    let mut waits = Vec::new();
    let err = post_webhook(&settings(&url, 2), &payload(), &mut |d| waits.push(d)).unwrap_err();
    assert_eq!(waits.len(), 1);
    let text = err.to_string();
    assert!(
        text.starts_with("webhook delivery failed after 2 attempt(s)"),
        "{text}"
    );
    assert!(text.to_lowercase().contains("connect"), "{text}");
}

fn demo_config() -> Config {
    Config::load(&repo().join("examples/adaptd.toml")).unwrap()
}

fn demo_telemetry() -> adaptd_engine::telemetry::TelemetrySet {
    adaptd_collectors::load(repo().join("examples/telemetry.csv.gz").to_str().unwrap()).unwrap()
}

/// A clock that jumps to wherever it is asked to sleep until.
struct Jumping(Mutex<SystemTime>);

impl Clock for Jumping {
    fn now(&self) -> SystemTime {
        *self.0.lock().unwrap()
    }
    fn sleep_until(&self, t: SystemTime) {
        let mut now = self.0.lock().unwrap();
        *now = t.max(*now);
    }
}

#[test]
fn the_schedule_delivers_the_report_to_files_and_the_webhook() {
    let mut config = demo_config();
    let telemetry = demo_telemetry();
    let root = scratch("scheduled");
    // Two daily runs; the first run's webhook fails once, and its retry lands.
    let r = receiver(vec![(500, ""), (200, ""), (200, "")]);
    config.report.output_dir = root.display().to_string();
    config.report.frontier_components = 1;
    config.report.link_base_url = Some("https://reports.example/adaptd".into());
    config.report.webhook = Some(WebhookSection {
        url: r.url.clone(),
        max_attempts: 3,
        ..Default::default()
    });
    let cron: Cron = "0 8 * * *".parse().unwrap();
    // Saturday 2026-11-21T21:30Z: runs on Sunday 22 and Monday 23 at 08:00Z.
    let clock = Jumping(Mutex::new(UNIX_EPOCH + Duration::from_secs(1_795_296_600)));
    let mut runs = Vec::new();
    let mut waits = Vec::new();
    run(&cron, &clock, Some(2), |at| -> Result<(), RunError> {
        let delivered = run_once(&config, &repo(), &telemetry, at, Vec::new(), &mut |d| {
            waits.push(d);
        })?;
        runs.push((at, delivered));
        Ok(())
    })
    .unwrap();
    assert_eq!(runs.len(), 2);
    let (at, delivered) = &runs[1];
    assert_eq!(*at, UNIX_EPOCH + Duration::from_secs(1_795_420_800));
    assert_eq!(delivered.dir, root.join("2026-11-23"));
    for f in [
        "report.html",
        "report.md",
        "report.json",
        "components.csv",
        "changes.csv",
        "manifest.json",
        "recommendations.json",
    ] {
        assert!(root.join("2026-11-23").join(f).is_file(), "{f}");
    }
    let index = std::fs::read_to_string(root.join("index.html")).unwrap();
    let newer = index
        .find("href=\"2026-11-23/report.html\"")
        .expect("links Monday");
    let older = index
        .find("href=\"2026-11-22/report.html\"")
        .expect("links Sunday");
    assert!(newer < older, "newest first");
    assert!(
        matches!(runs[0].1.webhook, Some(Ok(2))),
        "{:?}",
        runs[0].1.webhook
    );
    assert!(
        matches!(delivered.webhook, Some(Ok(1))),
        "{:?}",
        delivered.webhook
    );
    assert_eq!(
        waits,
        [Duration::from_secs(2)],
        "the default initial backoff, once"
    );
    let bodies = r.bodies.lock().unwrap();
    assert_eq!(bodies.len(), 3);
    let message: serde_json::Value = serde_json::from_str(&bodies[2]).unwrap();
    let text = message["text"].as_str().unwrap();
    assert!(
        text.contains(
            "<https://reports.example/adaptd/2026-11-23/report.html|Open the full report>"
        ),
        "{text}"
    );
    let report: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root.join("2026-11-23/report.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(report["period"]["end"], "2026-11-23T08:00:00Z");
    // Monday's report compares with Sunday's, found in the archive.
    assert!(
        report["summary"]["previous_available_savings_usd_per_month"].is_number(),
        "{}",
        report["summary"]
    );
    // The period ends at the run; the telemetry stopped 8 hours before.
    assert!(
        report["data_quality"].as_array().unwrap().iter().any(|w| {
            w["component"].is_null()
                && w["message"]
                    .as_str()
                    .unwrap()
                    .contains("telemetry covers 6.7 of the period's 7.0 days")
        }),
        "{}",
        report["data_quality"]
    );
}

fn adaptd(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_adaptd"))
        .args(args)
        .current_dir(repo())
        .output()
        .unwrap()
}

#[test]
fn the_cli_writes_four_formats_with_realised_savings_and_a_valid_schema() {
    let out = scratch("cli");
    // 2026-11-20T00:00Z, three days before the demo's telemetry ends.
    let applied = out.join("applied.json");
    std::fs::write(
        &applied,
        r#"{"changes": [{"component": "email-sender", "applied_at_minute": 29918880,
            "before": {"platform": "lambda", "memory_mb": 512, "architecture": "x86_64"},
            "after": {"platform": "lambda", "memory_mb": 256, "architecture": "x86_64"},
            "predicted_saving_usd_per_month": 2.48}]}"#,
    )
    .unwrap();
    let dir = out.join("r");
    let o = adaptd(&[
        "report",
        "--config",
        "examples/adaptd.toml",
        "--telemetry",
        "examples/telemetry.csv.gz",
        "--format",
        "html,markdown,json,csv",
        "--out",
        dir.to_str().unwrap(),
        "--applied",
        applied.to_str().unwrap(),
        "--frontier",
        "1",
    ]);
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    for f in [
        "report.html",
        "report.md",
        "report.json",
        "components.csv",
        "changes.csv",
        "manifest.json",
        "recommendations.json",
    ] {
        assert!(dir.join(f).is_file(), "{f}: {stdout}");
        assert!(
            stdout.contains(&format!("wrote {}", dir.join(f).display())),
            "{stdout}"
        );
    }
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(repo().join("docs/report.schema.json")).unwrap(),
    )
    .unwrap();
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("report.json")).unwrap()).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(&report)
        .map(|e| e.to_string())
        .collect();
    assert!(errors.is_empty(), "{}", errors.join("\n"));
    assert_eq!(report["components"].as_array().unwrap().len(), 13);
    let change = &report["changes"][0];
    assert_eq!(change["state"], "applied");
    let realised = &change["realised"];
    assert!(realised.is_object(), "{change}");
    // Measured over the three days after the change, both sides replayed.
    assert_eq!(realised["from_minute"], 29_918_880);
    assert_eq!(realised["to_minute"], 29_923_200);
    assert!(realised["invocations"].as_u64().unwrap() > 0);
    let saving = realised["saving_usd_per_month"].as_f64().unwrap();
    let before = realised["before_usd_per_month"].as_f64().unwrap();
    let after = realised["after_usd_per_month"].as_f64().unwrap();
    assert!((saving - (before - after)).abs() < 1e-9);
    let error = realised["error_usd_per_month"].as_f64().unwrap();
    assert!(
        (error - (saving - 2.48)).abs() < 1e-9,
        "the error is reported as is"
    );
    assert_eq!(report["summary"]["changes_applied"], 1);
    // The previous week's recommendations feed the next report.
    let again = adaptd(&[
        "report",
        "--config",
        "examples/adaptd.toml",
        "--telemetry",
        "examples/telemetry.csv.gz",
        "--format",
        "json",
        "--out",
        out.join("r2").to_str().unwrap(),
        "--frontier",
        "0",
        "--previous",
        dir.join("recommendations.json").to_str().unwrap(),
    ]);
    assert!(
        again.status.success(),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    let r2: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("r2/report.json")).unwrap())
            .unwrap();
    assert!(r2["summary"]["previous_available_savings_usd_per_month"].is_number());
}

#[test]
fn bad_inputs_exit_2_and_say_what_and_where() {
    let out = scratch("bad");
    let applied = out.join("applied.json");
    std::fs::write(&applied, "{\"changes\": [{\"component\": \"x\"}]}").unwrap();
    let base = [
        "report",
        "--config",
        "examples/adaptd.toml",
        "--telemetry",
        "examples/telemetry.csv.gz",
    ];
    let run = |extra: &[&str]| {
        let args: Vec<&str> = base.iter().chain(extra).copied().collect();
        let o = adaptd(&args);
        (
            o.status.code(),
            String::from_utf8_lossy(&o.stderr).into_owned(),
        )
    };
    let (code, err) = run(&[
        "--applied",
        applied.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code, Some(2));
    assert!(
        err.contains("applied.json:1:") && err.contains("missing field"),
        "{err}"
    );
    let (code, err) = run(&["--notify", "--out", out.to_str().unwrap()]);
    assert_eq!(code, Some(2));
    assert!(
        err.contains("--notify needs a [report.webhook] section"),
        "{err}"
    );
    let (code, err) = run(&["--period", "7x"]);
    assert_eq!(code, Some(2));
    assert!(err.contains("unknown unit `x` in `7x`"), "{err}");
    let (code, err) = run(&["--format", "pdf"]);
    assert_eq!(code, Some(2));
    assert!(err.contains("unknown report format `pdf`"), "{err}");
}

/// `adaptd serve` runs the report on its schedule: the files, the index and the
/// webhook message appear without any command, from the service's own sources.
#[test]
fn the_service_delivers_the_scheduled_report() {
    use service_support::{
        Scratch, StoreKind, config, free_port, recent_example_telemetry, serve, wait_for,
    };
    let dir = Scratch::new("scheduled-report");
    recent_example_telemetry(&dir.path("recent.csv"));
    let hook = receiver(vec![(200, "")]);
    let port = free_port();
    let path = config(&dir, port, &StoreKind::Sqlite, None, 3600, 1.0);
    let text = std::fs::read_to_string(&path).unwrap().replace(
        "telemetry = \"telemetry.csv.gz\"",
        "telemetry = \"recent.csv\"",
    );
    // Every minute, so the test waits at most one.
    let text = format!(
        "{text}\n[report]\nschedule = \"* * * * *\"\nperiod_days = 7\noutput_dir = \"reports\"\nfrontier_components = 1\n\n[report.webhook]\nurl = \"{}\"\nmax_attempts = 1\n",
        hook.url
    );
    std::fs::write(&path, text).unwrap();
    let mut adaptd = serve(&path, port, &[], dir.path("serve.log"));
    let body = wait_for(
        "the scheduled report's webhook message",
        Duration::from_secs(180),
        || adaptd.log_text(),
        || hook.bodies.lock().unwrap().first().cloned(),
    );
    let message: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert!(
        message["text"].as_str().unwrap().contains("report.html"),
        "{message:#}"
    );
    let today = chrono::Utc::now().date_naive();
    let reports = dir.path("reports");
    let period = std::fs::read_dir(&reports)
        .unwrap()
        .filter_map(Result::ok)
        .find(|e| e.path().is_dir())
        .expect("a period directory")
        .path();
    let name = period.file_name().unwrap().to_str().unwrap().to_owned();
    assert!(
        name == today.to_string() || name == (today - chrono::TimeDelta::days(1)).to_string(),
        "{name}"
    );
    for f in ["report.html", "report.md", "report.json", "components.csv"] {
        assert!(period.join(f).is_file(), "{f} in {}", period.display());
    }
    assert!(reports.join("index.html").is_file());
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(period.join("report.json")).unwrap())
            .unwrap();
    assert!(
        json.to_string().contains("checkout-api"),
        "the report covers the service's components"
    );
    assert!(adaptd.log_text().contains("scheduled report written to"));
    assert_eq!(adaptd.terminate(Duration::from_secs(25)), Some(0));
}
