//! Logs, as an operator sees them: the AWS SDK's own events under their targets when
//! `RUST_LOG` asks for them (`adaptd collect` against moto), the service's JSON lines
//! with the span they were logged in (`adaptd serve --log-format json`), and secrets
//! (the AWS secret key, the service's token, a database URL's password) absent from
//! everything logged at `RUST_LOG=trace`.

mod service_support;

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use serde_json::Value;
use service_support::*;

/// Values no log line may contain. Long and unlike anything else a run prints, so
/// that finding one can only mean it leaked.
const AWS_SECRET: &str = "wJalrXUtnFEMI-K7MDENG-bPxRfiCY-LEAKCANARY";
const AWS_SESSION_TOKEN: &str = "FwoGZXIvYXdzE-session-LEAKCANARY-token";
const API_TOKEN: &str = "tok-3f9c2a7e-LEAKCANARY-api";
const PG_PASSWORD: &str = "pgpw-LEAKCANARY-81d3";

fn aws_env() -> Vec<(&'static str, &'static str)> {
    vec![
        ("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE"),
        ("AWS_SECRET_ACCESS_KEY", AWS_SECRET),
        ("AWS_SESSION_TOKEN", AWS_SESSION_TOKEN),
        ("AWS_REGION", "us-east-1"),
        ("AWS_EC2_METADATA_DISABLED", "true"),
    ]
}

/// `adaptd ARGS` in `dir` with `env`, and nothing from this machine's AWS files or
/// log settings.
fn adaptd(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_adaptd"));
    cmd.args(args)
        .current_dir(dir)
        .env("AWS_CONFIG_FILE", dir.join("none"))
        .env("AWS_SHARED_CREDENTIALS_FILE", dir.join("none"))
        .env_remove("RUST_LOG")
        .env_remove("ADAPTD_LOG_FORMAT")
        .stdin(Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

fn assert_no_secrets(what: &str, log: &str, secrets: &[&str]) {
    for s in secrets {
        if let Some(at) = log.find(s) {
            let from = log[..at].rfind('\n').map_or(0, |i| i + 1);
            let to = log[at..].find('\n').map_or(log.len(), |i| at + i);
            panic!("{what}: a secret is logged:\n{}", &log[from..to]);
        }
    }
}

/// A collect config for moto.
fn collect_config(dir: &Scratch, moto: &Proc) {
    std::fs::write(
        dir.path("collect.toml"),
        format!(
            "[collectors.cloudwatch]\nendpoint_url = \"{}\"\nregions = [\"us-east-1\"]\nlookback_days = 1\nsettle_minutes = 0\n",
            moto.url("")
        ),
    )
    .unwrap();
}

#[test]
fn rust_log_shows_the_sdks_credential_resolution_and_no_secret() {
    let _serial = serial();
    let dir = Scratch::new("log-collect");
    let (moto, _) = moto(&dir, 1);
    collect_config(&dir, &moto);
    let args = ["collect", "-c", "collect.toml", "-o", "out.csv"];

    // Without RUST_LOG: adaptd's own lines, none of the SDK's debug events.
    let quiet = adaptd(&dir.0, &args, &aws_env());
    let text = String::from_utf8_lossy(&quiet.stderr);
    assert!(quiet.status.success(), "{text}");
    assert!(!text.contains("aws_config"), "{text}");

    let mut env = aws_env();
    env.push(("RUST_LOG", "aws_config=debug"));
    let out = adaptd(&dir.0, &args, &env);
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{text}");
    // aws-config's default chain says which provider gave the credentials.
    let line = text
        .lines()
        .find(|l| l.contains("aws_config") && l.contains("loaded credentials"))
        .unwrap_or_else(|| panic!("no credential resolution in:\n{text}"));
    assert!(line.contains("Environment"), "{line}");
    assert!(line.contains("DEBUG"), "{line}");
    // The filter named only aws_config: the collector's summary stays (it is the
    // command's output), other crates' debug events do not appear.
    assert!(text.contains("cloudwatch: 1 functions"), "{text}");
    assert!(!text.contains("aws_smithy_runtime"), "{text}");

    // Everything, at trace: the secret key and the session token are never logged.
    let mut env = aws_env();
    env.push(("RUST_LOG", "trace"));
    let out = adaptd(&dir.0, &args, &env);
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("aws_smithy_runtime"), "trace shows the SDK");
    assert!(text.len() > 10_000, "{text}");
    assert_no_secrets("collect", &text, &[AWS_SECRET, AWS_SESSION_TOKEN]);
}

#[test]
fn a_bad_filter_is_refused_with_what_is_wrong() {
    let dir = Scratch::new("log-bad");
    let out = adaptd(&dir.0, &["--log-level", "adaptd=loud", "demo"], &[]);
    let text = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{text}");
    assert!(
        text.contains("`adaptd=loud` is not a valid filter"),
        "{text}"
    );
    let out = adaptd(&dir.0, &["demo", "--log-format", "xml"], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("xml"));
}

/// Each line of `log` as a JSON object; fails naming the first line that is not one.
fn json_lines(log: &str) -> Vec<Value> {
    log.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| match serde_json::from_str::<Value>(l) {
            Ok(v) if v.is_object() => v,
            _ => panic!("not a JSON object: {l}\n\nwhole log:\n{log}"),
        })
        .collect()
}

/// The names of the spans a JSON line was logged in, outermost first.
fn span_names(line: &Value) -> Vec<&str> {
    line["spans"]
        .as_array()
        .map(|s| s.iter().filter_map(|s| s["name"].as_str()).collect())
        .unwrap_or_default()
}

#[test]
fn serve_logs_one_json_object_per_line_with_its_spans() {
    let _serial = serial();
    let dir = Scratch::new("log-json");
    let port = free_port();
    let cfg = config(&dir, port, &StoreKind::Sqlite, None, 3600, 0.5);
    let log = dir.path("adaptd.log");
    let env = [("RUST_LOG", "")];
    let mut p = serve_with(&cfg, port, &["--log-format", "json"], &env, log);
    let cycle = next_cycle(&p, 0);
    assert_eq!(cycle["outcome"], "ok", "{}", p.log_text());
    assert_eq!(p.terminate(Duration::from_secs(30)), Some(0));

    let lines = json_lines(&p.log_text());
    for l in &lines {
        assert!(
            l["timestamp"].is_string() && l["level"].is_string() && l["target"].is_string(),
            "{l}"
        );
    }
    // adaptd's lines are inside the service span naming the replica (a library's
    // event on its own worker thread, such as SQLite's, may not be).
    for l in lines.iter().filter(|l| {
        l["target"]
            .as_str()
            .is_some_and(|t| t.starts_with("adaptd"))
    }) {
        assert_eq!(span_names(l).first(), Some(&"service"), "{l}");
        assert!(l["spans"][0]["instance"].is_string(), "{l}");
    }
    // The cycle's end is logged in its span, with its id and kind.
    let done = lines
        .iter()
        .find(|l| {
            l["fields"]["message"]
                .as_str()
                .is_some_and(|m| m.starts_with(&format!("cycle {} ok", cycle["id"])))
        })
        .unwrap_or_else(|| panic!("no cycle line: {lines:#?}"));
    assert_eq!(done["span"]["name"], "cycle", "{done}");
    assert_eq!(done["span"]["id"], cycle["id"], "{done}");
    assert_eq!(done["span"]["kind"], "scheduled", "{done}");
    assert_eq!(done["fields"]["outcome"], "ok", "{done}");
    assert_eq!(done["level"], "INFO");
    assert!(lines.iter().any(|l| l["fields"]["message"] == "stopped"));
}

#[test]
fn serve_at_trace_logs_no_secret() {
    let _serial = serial();
    let dir = Scratch::new("log-secrets");
    let (moto, _) = moto(&dir, 2);
    let port = free_port();
    let cfg = config(&dir, port, &StoreKind::Sqlite, Some(&moto), 3600, 0.5);
    std::fs::write(dir.path("token"), format!("{API_TOKEN}\n")).unwrap();
    let log = dir.path("adaptd.log");
    let mut env = aws_env();
    // The environment variable, not the flag: the container's way.
    env.extend([("RUST_LOG", "trace"), ("ADAPTD_LOG_FORMAT", "json")]);
    let mut p = serve(&cfg, port, &env, log);
    let cycle = next_cycle(&p, 0);
    assert_eq!(cycle["outcome"], "ok", "{}", p.log_text());
    // Authenticated requests: the token goes through the server's HTTP stack.
    let (status, body) = http(
        "POST",
        &p.url("/api/v1/recommendations/999999/approve"),
        Some(API_TOKEN),
        Some("{}"),
    );
    assert_eq!(status, 404, "{body}");
    let (status, _) = http("GET", &p.url("/api/v1/cycles"), Some(API_TOKEN), None);
    assert_eq!(status, 200);
    assert_eq!(p.terminate(Duration::from_secs(30)), Some(0));
    let text = p.log_text();
    json_lines(&text);
    assert!(text.contains("\"target\":\"sqlx::query\""), "sqlx's events");
    assert!(text.contains("aws_smithy_runtime"), "the SDK's events");
    assert_no_secrets("serve", &text, &[AWS_SECRET, AWS_SESSION_TOKEN, API_TOKEN]);

    // A PostgreSQL URL with a password, on a port nothing listens on: the failure
    // is logged and says where, the password is not.
    let closed = free_port();
    let url = format!("postgres://adaptd:{PG_PASSWORD}@127.0.0.1:{closed}/adaptd");
    let example = std::fs::read_to_string(repo().join("examples/adaptd.toml")).unwrap();
    std::fs::write(
        dir.path("pg.toml"),
        format!(
            "{example}\n[service]\nbind = \"127.0.0.1:{}\"\n\n[store]\npostgres_url_env = \"ADAPTD_POSTGRES_URL\"\ntimeout_seconds = 2\n",
            free_port()
        ),
    )
    .unwrap();
    let mut env = aws_env();
    env.extend([("RUST_LOG", "trace"), ("ADAPTD_POSTGRES_URL", url.as_str())]);
    let out = adaptd(&dir.0, &["serve", "-c", "pg.toml"], &env);
    let text = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("store"), "{text}");
    assert_no_secrets("serve on PostgreSQL", &text, &[PG_PASSWORD]);
}

#[test]
fn a_postgres_password_is_redacted_where_the_url_is_logged() {
    let _serial = serial();
    let dir = Scratch::new("log-pg");
    let db = PgDb::new("logging");
    // The test server trusts 127.0.0.1, so a password in the URL is never asked for:
    // it is only there to be kept out of the logs.
    let url = db
        .url()
        .replacen("://postgres@", &format!("://postgres:{PG_PASSWORD}@"), 1);
    assert!(url.contains(PG_PASSWORD), "{url}: not a postgres@ URL");
    let port = free_port();
    let cfg = config(&dir, port, &StoreKind::Sqlite, None, 3600, 0.5);
    let text = std::fs::read_to_string(&cfg).unwrap().replace(
        "[store]\nsqlite_path = \"adaptd.db\"\n",
        "[store]\npostgres_url_env = \"ADAPTD_POSTGRES_URL\"\n",
    );
    std::fs::write(&cfg, text).unwrap();
    let env = [("RUST_LOG", "trace"), ("ADAPTD_POSTGRES_URL", url.as_str())];
    let mut p = serve(&cfg, port, &env, dir.path("adaptd.log"));
    next_cycle(&p, 0);
    assert_eq!(p.terminate(Duration::from_secs(30)), Some(0));
    let log = p.log_text();
    assert!(
        log.contains("store PostgreSQL postgres://postgres:***@127.0.0.1:"),
        "{log}"
    );
    assert!(log.contains("sqlx::query"), "sqlx's events at trace");
    assert_no_secrets("serve on PostgreSQL", &log, &[PG_PASSWORD]);
}
