//! Real servers for the collectors' tests: moto (through tests/moto/launcher.py) and
//! Prometheus, each started on 127.0.0.1 at a free port and stopped when dropped.
//!
//! A server that cannot start fails the test with its log: these tests never skip.
//! `scripts/setup-test-services` installs both.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

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

/// A free TCP port on 127.0.0.1 (released before the server binds it; a server
/// that loses the race fails to start and is retried with another port).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port on 127.0.0.1")
}

/// A server process; killed when dropped.
#[derive(Debug)]
pub struct Server {
    child: Child,
    pub port: u16,
    pub log: PathBuf,
    pub dir: PathBuf,
}

impl Server {
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A scratch directory unique to this process and `name`.
pub fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "adaptd-test-{}-{name}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// An HTTP GET on 127.0.0.1, returning the status, or None if nothing answers.
pub fn http_get_status(port: u16, path: &str) -> Option<u16> {
    let mut s = TcpStream::connect_timeout(
        &format!("127.0.0.1:{port}").parse().unwrap(),
        Duration::from_millis(300),
    )
    .ok()?;
    s.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut head = [0u8; 12];
    s.read_exact(&mut head).ok()?;
    std::str::from_utf8(&head[9..12]).ok()?.parse().ok()
}

/// Starts `cmd` (with the port appended by `args`) and waits until `ready_path`
/// answers 200; panics with the server's log if it does not within `timeout`.
fn start(
    name: &str,
    timeout: Duration,
    ready_path: &str,
    command: impl Fn(u16, &Path) -> Command,
) -> Server {
    start_when(
        name,
        timeout,
        |port, _| http_get_status(port, ready_path) == Some(200),
        command,
    )
}

/// [`start`] with any readiness check (`ready(port, log text)`).
fn start_when(
    name: &str,
    timeout: Duration,
    ready: impl Fn(u16, &str) -> bool,
    command: impl Fn(u16, &Path) -> Command,
) -> Server {
    let mut last = String::new();
    for _ in 0..3 {
        let port = free_port();
        let dir = scratch(name);
        let log = dir.join("server.log");
        let out = std::fs::File::create(&log).unwrap();
        let mut cmd = command(port, &dir);
        cmd.stdout(out.try_clone().unwrap())
            .stderr(out)
            .stdin(Stdio::null());
        let child = match cmd.spawn() {
            Ok(c) => c,
            Err(e) => {
                panic!("cannot start {name} ({e}); run scripts/setup-test-services to install it")
            }
        };
        let mut server = Server {
            child,
            port,
            log,
            dir,
        };
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = server.child.try_wait() {
                last = format!("{name} exited with {status}:\n{}", server.log_text());
                break;
            }
            if ready(port, &server.log_text()) {
                return server;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        if last.is_empty() {
            last = format!(
                "{name} did not answer on 127.0.0.1:{port} within {timeout:?}:\n{}",
                server.log_text()
            );
        }
    }
    panic!("{last}");
}

/// moto through adaptd's launcher; `env` sets fault injection and the like.
pub fn moto(env: &[(&str, &str)], extra_args: &[&str]) -> Server {
    let launcher = repo().join("tests/moto/launcher.py");
    start("moto", Duration::from_secs(30), "/moto-api/", |port, _| {
        let mut c = Command::new(venv_tool("python3"));
        c.arg(&launcher)
            .args(extra_args)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()]);
        for (k, v) in env {
            c.env(k, v);
        }
        c
    })
}

/// moto itself, without the launcher's additions (to test what users see against
/// an endpoint that lacks an API).
pub fn stock_moto() -> Server {
    start(
        "moto-stock",
        Duration::from_secs(30),
        "/moto-api/",
        |port, _| {
            let mut c = Command::new(venv_tool("moto_server"));
            c.args(["-H", "127.0.0.1", "-p", &port.to_string()]);
            c
        },
    )
}

/// Prometheus over the TSDB blocks in `data` (moved into the server's directory).
pub fn prometheus(data: &Path) -> Server {
    start(
        "prometheus",
        Duration::from_secs(60),
        "/-/ready",
        |port, dir| {
            let config = dir.join("prometheus.yml");
            // No scrape targets: the data is backfilled history only.
            std::fs::write(
                &config,
                "global:\n  scrape_interval: 1m\nscrape_configs: []\n",
            )
            .unwrap();
            let mut c = Command::new("prometheus");
            c.arg(format!("--config.file={}", config.display()))
                .arg(format!("--storage.tsdb.path={}", data.display()))
                .arg("--storage.tsdb.retention.time=3650d")
                .arg(format!("--web.listen-address=127.0.0.1:{port}"))
                .arg(format!("--web.external-url=http://127.0.0.1:{port}/"));
            c
        },
    )
}

/// Prometheus serving HTTPS with the `tls_server_config` of `web_config`; ready when
/// it says so in its log (a plain-HTTP probe cannot ask it).
pub fn prometheus_tls(data: &Path, web_config: &Path) -> Server {
    start_when(
        "prometheus-tls",
        Duration::from_secs(60),
        |_, log| log.contains("Server is ready to receive web requests"),
        |port, dir| {
            let config = dir.join("prometheus.yml");
            std::fs::write(
                &config,
                "global:\n  scrape_interval: 1m\nscrape_configs: []\n",
            )
            .unwrap();
            let mut c = Command::new("prometheus");
            c.arg(format!("--config.file={}", config.display()))
                .arg(format!("--storage.tsdb.path={}", data.display()))
                .arg("--storage.tsdb.retention.time=3650d")
                .arg(format!("--web.config.file={}", web_config.display()))
                .arg(format!("--web.listen-address=127.0.0.1:{port}"));
            c
        },
    )
}
