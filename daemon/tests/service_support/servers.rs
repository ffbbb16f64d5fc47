//! The real servers the tests start on 127.0.0.1: moto (seeded through
//! tests/moto/seed.py), PostgreSQL databases made for one run (and the store a test
//! runs against), Prometheus and Alertmanager.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::*;

/// moto with the Lambda additions, seeded with `functions` functions of metrics.
pub fn moto(dir: &Scratch, functions: usize) -> (Proc, Vec<String>) {
    moto_with(dir, functions, &[])
}

/// [`moto`] with launcher options (`--indexed-metrics`: GetMetricData in time linear
/// in the data, for a collector that asks for its full 14-day lookback).
pub fn moto_with(dir: &Scratch, functions: usize, options: &[&str]) -> (Proc, Vec<String>) {
    let (p, seeded) = moto_seeded(dir, functions, options, &[]);
    let names = seeded["functions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap().to_owned())
        .collect();
    (p, names)
}

/// [`moto_with`] with more arguments for tests/moto/seed.py (`--ecs`); returns what
/// the seed printed.
pub fn moto_seeded(
    dir: &Scratch,
    functions: usize,
    options: &[&str],
    seed_args: &[&str],
) -> (Proc, Value) {
    let port = free_port();
    let log = dir.path("moto.log");
    let out = std::fs::File::create(&log).unwrap();
    let child = Command::new(venv_tool("python3"))
        .arg(repo().join("tests/moto/launcher.py"))
        .args(options)
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        // moto writes its request recording (/moto-api/recorder) to its directory.
        .current_dir(&dir.0)
        .stdout(out.try_clone().unwrap())
        .stderr(out)
        .stdin(Stdio::null())
        .spawn()
        .expect("python3 runs (scripts/setup-test-services installs moto)");
    let p = Proc { child, log, port };
    wait_for(
        "moto",
        Duration::from_secs(30),
        || p.log_text(),
        || {
            reqwest::blocking::get(p.url("/moto-api/"))
                .ok()
                .filter(|r| r.status().is_success())
        },
    );
    let now_minute = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        / 60;
    let start = (now_minute - 200).to_string();
    let out = Command::new(venv_tool("python3"))
        .arg(repo().join("tests/moto/seed.py"))
        .arg(p.url(""))
        .args([
            "--functions",
            &functions.to_string(),
            "--start-minute",
            &start,
            "--minutes",
            "180",
        ])
        .args(seed_args)
        .output()
        .expect("seed runs");
    assert!(
        out.status.success(),
        "seed failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).expect("seed prints JSON");
    (p, v)
}

/// The PostgreSQL server the tests make their databases on: the one
/// `ADAPTD_TEST_POSTGRES_URL` names (`postgres://postgres@127.0.0.1:PORT/postgres`; a
/// user that may create databases). `scripts/test` starts a throwaway one
/// (`scripts/test-postgres`) and sets it; run by hand, the test fails saying how.
pub fn postgres_server_url() -> String {
    match std::env::var("ADAPTD_TEST_POSTGRES_URL") {
        Ok(u) if !u.trim().is_empty() => u.trim().to_owned(),
        _ => panic!(
            "ADAPTD_TEST_POSTGRES_URL is not set: this test needs a PostgreSQL server to \
             create its database on. scripts/test starts one; by hand:\n    \
             export ADAPTD_TEST_POSTGRES_URL=\"$(scripts/test-postgres start)\"\n    \
             cargo test …\n    scripts/test-postgres stop"
        ),
    }
}

/// `url` naming database `db` instead of its own (user, host, port, query kept).
pub fn postgres_url_with_database(url: &str, db: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let authority = base.find("://").map_or(0, |i| i + 3);
    let end = base[authority..]
        .find('/')
        .map_or(base.len(), |i| authority + i);
    let mut out = format!("{}/{db}", &base[..end]);
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    out
}

/// A PostgreSQL database made for this run on the server `ADAPTD_TEST_POSTGRES_URL`
/// names, dropped when dropped.
#[derive(Debug)]
pub struct PgDb {
    pub name: String,
    server: String,
}

fn psql(server: &str, sql: &str) -> std::process::Output {
    Command::new("psql")
        .args(["-X", "-v", "ON_ERROR_STOP=1", "-d"])
        .arg(postgres_url_with_database(server, "postgres"))
        .args(["-c", sql])
        .output()
        .expect("psql runs (scripts/test-postgres installs PostgreSQL: apt-get install postgresql)")
}

impl PgDb {
    pub fn new(tag: &str) -> Self {
        let server = postgres_server_url();
        let n = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        let name = format!("adaptd_test_{}_{tag}_{n}", std::process::id());
        let out = psql(&server, &format!("CREATE DATABASE {name}"));
        assert!(
            out.status.success(),
            "cannot create a database on the server ADAPTD_TEST_POSTGRES_URL names: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        PgDb { name, server }
    }

    pub fn url(&self) -> String {
        postgres_url_with_database(&self.server, &self.name)
    }
}

impl Drop for PgDb {
    fn drop(&mut self) {
        let _ = psql(
            &self.server,
            &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name),
        );
    }
}

/// Which store a test runs against.
#[derive(Debug)]
pub enum StoreKind {
    Sqlite,
    Postgres(PgDb),
}

impl StoreKind {
    pub fn toml(&self) -> String {
        match self {
            StoreKind::Sqlite => "[store]\nsqlite_path = \"adaptd.db\"\n".into(),
            StoreKind::Postgres(db) => format!("[store]\npostgres_url = \"{}\"\n", db.url()),
        }
    }
}

/// Starts a server binary with `args` on `port` and waits until `ready` (a path)
/// answers 200; fails the test with its log otherwise.
fn start_server(
    dir: &Scratch,
    name: &str,
    bin: &str,
    args: &[String],
    port: u16,
    ready: &str,
) -> Proc {
    let log = dir.path(&format!("{name}.log"));
    let out = std::fs::File::create(&log).unwrap();
    let child = Command::new(bin)
        .args(args)
        .stdout(out.try_clone().unwrap())
        .stderr(out)
        .stdin(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| {
            panic!("{bin} does not start ({e}); scripts/setup-test-services installs it")
        });
    let mut p = Proc { child, log, port };
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(Some(s)) = p.child.try_wait() {
            panic!("{name} exited with {s}:\n{}", p.log_text());
        }
        if reqwest::blocking::get(p.url(ready)).is_ok_and(|r| r.status().is_success()) {
            return p;
        }
        assert!(
            Instant::now() < deadline,
            "{name} not ready in 60 s:\n{}",
            p.log_text()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The real Alertmanager (Debian `prometheus-alertmanager`) on 127.0.0.1, sending
/// every alert at once (`group_wait: 0s`) to `webhook` with the bearer token in
/// `token_file`, resolved ones too; clustering off.
pub fn alertmanager(dir: &Scratch, webhook: &str, token_file: &Path) -> Proc {
    let port = free_port();
    let config = dir.path("alertmanager.yml");
    std::fs::write(
        &config,
        format!(
            "route:\n  receiver: adaptd\n  group_by: ['...']\n  group_wait: 0s\n  group_interval: 1s\n  repeat_interval: 1h\nreceivers:\n  - name: adaptd\n    webhook_configs:\n      - url: {webhook}\n        send_resolved: true\n        http_config:\n          authorization:\n            type: Bearer\n            credentials_file: {}\n",
            token_file.display()
        ),
    )
    .unwrap();
    let args = vec![
        format!("--config.file={}", config.display()),
        format!("--storage.path={}", dir.path("alertmanager-data").display()),
        format!("--web.listen-address=127.0.0.1:{port}"),
        format!("--web.external-url=http://127.0.0.1:{port}"),
        "--cluster.listen-address=".to_owned(),
    ];
    start_server(
        dir,
        "alertmanager",
        "prometheus-alertmanager",
        &args,
        port,
        "/-/ready",
    )
}

/// The real Prometheus on 127.0.0.1 scraping `target` (`host:port`) and evaluating
/// `rules` (a rules file's YAML) every second, alerting `alertmanager` (`host:port`)
/// with a 1 s resend delay.
pub fn prometheus(dir: &Scratch, target: &str, rules: &str, alertmanager: &str) -> Proc {
    let port = free_port();
    let rules_file = dir.path("rules.yml");
    std::fs::write(&rules_file, rules).unwrap();
    let config = dir.path("prometheus.yml");
    std::fs::write(
        &config,
        format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nrule_files:\n  - {}\nalerting:\n  alertmanagers:\n    - static_configs:\n        - targets: ['{alertmanager}']\nscrape_configs:\n  - job_name: adaptd\n    static_configs:\n      - targets: ['{target}']\n",
            rules_file.display()
        ),
    )
    .unwrap();
    let args = vec![
        format!("--config.file={}", config.display()),
        format!(
            "--storage.tsdb.path={}",
            dir.path("prometheus-data").display()
        ),
        format!("--web.listen-address=127.0.0.1:{port}"),
        format!("--web.external-url=http://127.0.0.1:{port}"),
        "--rules.alert.resend-delay=1s".to_owned(),
    ];
    start_server(dir, "prometheus", "prometheus", &args, port, "/-/ready")
}
