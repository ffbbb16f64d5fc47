//! The HTML report in a real browser: Debian's Chromium, headless, opens the file,
//! takes a screenshot (kept under
//! `target/tmp/report-screenshots/` for people to look at) and must log nothing to the
//! console. The page's own Content-Security-Policy forbids scripts and every network
//! load, and Chromium logs each violation to the console, so a silent console also
//! proves the page is self-contained. A probe page with a deliberate console error first proves that the check
//! sees console output at all.
//!
//! Chromium comes from `scripts/setup-report-tools`; `ADAPTD_CHROMIUM` names another
//! binary. Without one the test fails and says how to get it.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use adaptd_report::{ReportFormat, build, render};

fn chromium() -> PathBuf {
    if let Some(p) = std::env::var_os("ADAPTD_CHROMIUM") {
        return PathBuf::from(p);
    }
    for p in ["/usr/bin/chromium", "/usr/bin/chromium-browser"] {
        if Path::new(p).exists() {
            return PathBuf::from(p);
        }
    }
    panic!("Chromium not found: run scripts/setup-report-tools (or set ADAPTD_CHROMIUM)");
}

fn scratch() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("report-screenshots");
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

/// What one headless run saw.
struct Run {
    console: Vec<String>,
    stderr: String,
}

/// Opens `page`, screenshots it to `png`, and returns the console lines Chromium logged.
fn open(page: &Path, png: &Path, height: u32) -> Run {
    let profile = scratch().join(format!(
        "profile-{}-{}",
        std::process::id(),
        png.file_stem().unwrap().to_string_lossy()
    ));
    let _ = std::fs::remove_dir_all(&profile);
    let _ = std::fs::remove_file(png);
    let mut cmd = Command::new(chromium());
    cmd.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-extensions",
        "--hide-scrollbars",
        "--enable-logging=stderr",
        "--v=0",
    ])
    .arg(format!("--user-data-dir={}", profile.display()))
    .arg(format!("--window-size=1280,{height}"))
    .arg(format!("--screenshot={}", png.display()));
    let stderr_path = profile.with_extension("stderr");
    let stderr_file = std::fs::File::create(&stderr_path).expect("stderr file");
    let mut child = cmd
        .arg(format!("file://{}", page.display()))
        .stdout(Stdio::null())
        .stderr(stderr_file)
        .spawn()
        .expect("chromium starts");
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if child.try_wait().expect("wait").is_some() {
            break;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("chromium did not finish within 120 s");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let stderr = std::fs::read_to_string(&stderr_path).unwrap_or_default();
    let _ = std::fs::remove_dir_all(&profile);
    Run {
        console: stderr
            .lines()
            .filter(|l| l.contains(":CONSOLE"))
            .map(str::to_owned)
            .collect(),
        stderr,
    }
}

#[test]
fn the_html_report_renders_in_chromium_without_console_errors() {
    let dir = scratch();

    // The probe: the check must see a console error when there is one.
    let probe = dir.join("probe.html");
    std::fs::write(
        &probe,
        "<!DOCTYPE html><p>probe</p><script>console.error('adaptd-probe-error')</script>",
    )
    .unwrap();
    let run = open(&probe, &dir.join("probe.png"), 400);
    assert!(
        run.console.iter().any(|l| l.contains("adaptd-probe-error")),
        "the console check is blind: Chromium logged no console line for the probe\n{}",
        run.stderr
    );

    // And it sees the page's policy refuse a network load, as it would in the report.
    let csp = dir.join("probe-csp.html");
    std::fs::write(
        &csp,
        "<!DOCTYPE html><meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'\">\
         <img src=\"http://127.0.0.1:9/x.png\">",
    )
    .unwrap();
    let run = open(&csp, &dir.join("probe-csp.png"), 400);
    assert!(
        run.console
            .iter()
            .any(|l| l.contains("Content Security Policy")),
        "the console check misses policy violations\n{}",
        run.stderr
    );

    let report = build(&common::inputs());
    let page = dir.join("weekly.html");
    std::fs::write(&page, render(&report, ReportFormat::Html).unwrap()).unwrap();
    let png = dir.join("weekly.png");
    let run = open(&page, &png, 4200);
    assert!(
        run.console.is_empty(),
        "console output:\n{}",
        run.console.join("\n")
    );
    let shot = std::fs::read(&png).unwrap_or_else(|e| {
        panic!(
            "no screenshot at {} ({e}); chromium said:\n{}",
            png.display(),
            run.stderr
        )
    });
    assert_eq!(&shot[..8], b"\x89PNG\r\n\x1a\n", "a PNG");
    let width = u32::from_be_bytes(shot[16..20].try_into().unwrap());
    let height = u32::from_be_bytes(shot[20..24].try_into().unwrap());
    assert_eq!((width, height), (1280, 4200));
    // A blank page compresses to a few kilobytes; charts and tables do not.
    assert!(
        shot.len() > 100_000,
        "screenshot is {} bytes: is the page blank?",
        shot.len()
    );
    eprintln!("screenshot: {}", png.display());
}
