//! What the service's tests share: real servers on 127.0.0.1 (moto through
//! tests/moto/launcher.py, PostgreSQL databases made for one run, Prometheus),
//! `adaptd serve` as a child process, and a small HTTP client.
//!
//! A server that cannot start fails the test with its log; nothing is skipped.
//! `scripts/setup-test-services` installs what these need (moto in the project's
//! virtualenv `.venv/`, which they use when it is there), and `scripts/test-postgres`
//! starts the PostgreSQL server that `ADAPTD_TEST_POSTGRES_URL` names; `scripts/test`
//! does both.

#![allow(dead_code)]

mod servers;

pub use servers::*;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// The repository root.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// `name` from the project's Python virtualenv (`.venv/bin`, which the setup scripts
/// make) when it is there, else `name` as found on PATH.
pub fn venv_tool(name: &str) -> PathBuf {
    let p = repo().join(".venv/bin").join(name);
    if p.exists() { p } else { PathBuf::from(name) }
}

/// A free port on 127.0.0.1.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// Held by each test of a binary, so heavy service tests run one at a time on a
/// two-core machine instead of starving each other's cycles.
pub fn serial() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A scratch directory, removed when dropped.
#[derive(Debug)]
pub struct Scratch(pub PathBuf);

impl Scratch {
    pub fn new(name: &str) -> Self {
        let n = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let dir =
            std::env::temp_dir().join(format!("adaptd-svc-{}-{name}-{n}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }

    pub fn path(&self, p: &str) -> PathBuf {
        self.0.join(p)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A child process killed when dropped.
#[derive(Debug)]
pub struct Proc {
    pub child: Child,
    pub log: PathBuf,
    pub port: u16,
}

impl Proc {
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Sends SIGTERM and waits up to `within` for the exit; returns its code.
    pub fn terminate(&mut self, within: Duration) -> Option<i32> {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            if let Ok(Some(s)) = self.child.try_wait() {
                return s.code();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// HTTP: (status, body as JSON or a string value).
pub fn http(method: &str, url: &str, token: Option<&str>, body: Option<&str>) -> (u16, Value) {
    let client = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap();
    let mut req = match method {
        "GET" => client.get(url),
        "POST" => client.post(url),
        m => panic!("method {m}"),
    };
    if let Some(t) = token {
        req = req.header("Authorization", format!("Bearer {t}"));
    }
    if let Some(b) = body {
        req = req
            .header("Content-Type", "application/json")
            .body(b.to_owned());
    }
    let r = req.send().unwrap_or_else(|e| panic!("{method} {url}: {e}"));
    let status = r.status().as_u16();
    let text = r.text().unwrap_or_default();
    let v = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (status, v)
}

pub fn get(url: &str) -> (u16, Value) {
    http("GET", url, None, None)
}

/// The names `GET /api/v1/components` lists (it must answer 200).
pub fn component_names(p: &Proc) -> std::collections::BTreeSet<String> {
    let (status, comps) = get(&p.url("/api/v1/components"));
    assert_eq!(status, 200, "{comps:#}");
    comps["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap().to_owned())
        .collect()
}

pub fn get_text(url: &str) -> String {
    reqwest::blocking::get(url).unwrap().text().unwrap()
}

/// Polls `f` every 100 ms until it returns `Some`, or panics with `what` and `log`.
pub fn wait_for<T>(
    what: &str,
    timeout: Duration,
    log: impl Fn() -> String,
    mut f: impl FnMut() -> Option<T>,
) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = f() {
            return v;
        }
        if Instant::now() > deadline {
            panic!("timed out waiting for {what}; log:\n{}", log());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Starts `adaptd serve -c CONFIG` (port from the config) and waits until ready.
pub fn serve(config: &Path, port: u16, env: &[(&str, &str)], log: PathBuf) -> Proc {
    serve_with(config, port, &[], env, log)
}

/// [`serve`] with more arguments (`--log-format json`).
pub fn serve_with(
    config: &Path,
    port: u16,
    args: &[&str],
    env: &[(&str, &str)],
    log: PathBuf,
) -> Proc {
    let out = std::fs::File::create(&log).unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_adaptd"));
    cmd.args(["serve", "-c"])
        .arg(config)
        .args(args)
        .stdout(out.try_clone().unwrap())
        .stderr(out)
        .stdin(Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let child = cmd.spawn().expect("adaptd starts");
    let mut p = Proc { child, log, port };
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(Some(s)) = p.child.try_wait() {
            panic!("adaptd exited with {s}:\n{}", p.log_text());
        }
        if reqwest::blocking::get(p.url("/readyz")).is_ok_and(|r| r.status().as_u16() == 200) {
            return p;
        }
        assert!(
            Instant::now() < deadline,
            "adaptd not ready in 60 s:\n{}",
            p.log_text()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The newest cycle that finished, if any.
pub fn last_finished_cycle(p: &Proc) -> Option<Value> {
    let (_, v) = get(&p.url("/api/v1/cycles?limit=5"));
    v["items"]
        .as_array()?
        .iter()
        .find(|c| !c["finished_ms"].is_null())
        .cloned()
}

/// Waits for a finished cycle with an id above `after` and returns it.
pub fn next_cycle(p: &Proc, after: i64) -> Value {
    wait_for(
        "a cycle to finish",
        Duration::from_secs(300),
        || p.log_text(),
        || last_finished_cycle(p).filter(|c| c["id"].as_i64().unwrap_or(0) > after),
    )
}

/// Milliseconds since the epoch.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// Waits for a finished cycle that started after `ms` (so it saw what changed).
pub fn cycle_started_after(p: &Proc, ms: i64) -> Value {
    wait_for(
        "a cycle to start and finish",
        Duration::from_secs(300),
        || p.log_text(),
        || {
            let (_, v) = get(&p.url("/api/v1/cycles?limit=5"));
            v["items"]
                .as_array()?
                .iter()
                .rev()
                .find(|c| !c["finished_ms"].is_null() && c["started_ms"].as_i64().unwrap_or(0) > ms)
                .cloned()
        },
    )
}

/// A config: the example shop's, the file source, optional CloudWatch on moto.
pub fn config(
    dir: &Scratch,
    port: u16,
    store: &StoreKind,
    moto: Option<&Proc>,
    interval_seconds: u64,
    poll_seconds: f64,
) -> PathBuf {
    let example = std::fs::read_to_string(repo().join("examples/adaptd.toml")).unwrap();
    let mut text = format!(
        "{example}\n[service]\nbind = \"127.0.0.1:{port}\"\ninterval_seconds = {interval_seconds}\njitter_seconds = 0\nlookback_days = 3650\nshutdown_deadline_seconds = 20\ntoken_file = \"token\"\ntelemetry = \"telemetry.csv.gz\"\nleader_poll_seconds = {poll_seconds}\n\n{}",
        store.toml()
    );
    if let Some(m) = moto {
        text.push_str(&format!(
            "\n[collectors.cloudwatch]\nendpoint_url = \"{}\"\nregions = [\"us-east-1\"]\nlookback_days = 1\nsettle_minutes = 0\n",
            m.url("")
        ));
    }
    let path = dir.path(&format!("adaptd-{port}.toml"));
    std::fs::write(&path, text).unwrap();
    std::fs::write(dir.path("token"), "s3cret\n").unwrap();
    if !dir.path("telemetry.csv.gz").exists() {
        std::fs::copy(
            repo().join("examples/telemetry.csv.gz"),
            dir.path("telemetry.csv.gz"),
        )
        .unwrap();
    }
    path
}

/// Environment for the AWS SDK against moto.
pub const AWS_ENV: [(&str, &str); 3] = [
    ("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE"),
    ("AWS_SECRET_ACCESS_KEY", "secret"),
    ("AWS_REGION", "us-east-1"),
];

/// HTTP with extra headers and a raw body: (status, body as JSON or a string value).
pub fn post_with(url: &str, headers: &[(&str, &str)], body: &str) -> (u16, Value) {
    let client = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let mut req = client
        .post(url)
        .header("Content-Type", "application/json")
        .body(body.to_owned());
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let r = req.send().unwrap_or_else(|e| panic!("POST {url}: {e}"));
    let status = r.status().as_u16();
    let text = r.text().unwrap_or_default();
    let v = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (status, v)
}

/// YAML documents as JSON (PyYAML, which moto's server extra installs).
pub fn yaml(path: &Path) -> Vec<Value> {
    let out = Command::new(venv_tool("python3"))
        .args([
            "-c",
            "import json, sys, yaml; print(json.dumps(list(yaml.safe_load_all(open(sys.argv[1])))))",
        ])
        .arg(path)
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "{path:?} is not YAML (or PyYAML is missing: scripts/setup-test-services):\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The example telemetry moved by whole days so that it ends yesterday (UTC): the
/// service reports on the period ending at its run, so the data must be recent.
pub fn recent_example_telemetry(to: &Path) {
    let out = Command::new("gzip")
        .arg("-dc")
        .arg(repo().join("examples/telemetry.csv.gz"))
        .output()
        .expect("gzip runs");
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let date = |s: &str| chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
    let last = text.lines().skip(1).map(|l| &l[..10]).max().unwrap();
    let yesterday = chrono::Utc::now().date_naive() - chrono::TimeDelta::days(1);
    let shift = yesterday - date(last);
    let mut shifted = std::collections::BTreeMap::new();
    let mut w = String::with_capacity(text.len());
    for (i, line) in text.lines().enumerate() {
        if i == 0 {
            w.push_str(line);
        } else {
            let new = shifted
                .entry(&line[..10])
                .or_insert_with(|| (date(&line[..10]) + shift).to_string());
            w.push_str(new);
            w.push_str(&line[10..]);
        }
        w.push('\n');
    }
    std::fs::write(to, w).unwrap();
}
