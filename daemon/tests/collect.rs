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

#[test]
fn collect_writes_telemetry_that_recommend_reads() {
    let dir = std::env::temp_dir().join(format!("adaptd-collect-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let moto = start_moto(&dir);
    let url = format!("http://127.0.0.1:{}", moto.1);
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
        / 60;
    let seed = Command::new(venv_tool("python3"))
        .arg(repo().join("tests/moto/seed.py"))
        .arg(&url)
        .args([
            "--functions",
            "3",
            "--start-minute",
            &(now - 200).to_string(),
            "--minutes",
            "180",
        ])
        .output()
        .unwrap();
    assert!(
        seed.status.success(),
        "seed: {}",
        String::from_utf8_lossy(&seed.stderr)
    );

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
