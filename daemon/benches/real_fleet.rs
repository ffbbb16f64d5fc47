//! The real-fleet benchmark: `adaptd recommend` end to end (load, models, solve,
//! explain, JSON written) on fleets built from real traffic, the Azure Functions 2019
//! sample in `tests/data/azure2019-500`.
//!
//! Synthetic fleets flatter the optimiser: their functions are alike and smooth. Real
//! traffic is bursty, mostly idle and long-tailed, which is what users run adaptd on.
//! So the cuts here are the 500 real functions themselves, and copies of them with new
//! names and each copy's minutes rotated by a different offset (so copies do not peak
//! together): 1,000 (2 copies) and 10,000 (20 copies).
//!
//! Every function gets the SLO of the decision-quality benchmark (≤ 1 % cold starts,
//! no throttles), deployed at 1,024 MB x86_64, Lambda only: the sample's setting in
//! `tests/data/azure2019-500-slo.toml`, which the tests share. Two account settings:
//! `roomy` declares 100,000 concurrent executions (nothing binds), `default` leaves the
//! account at AWS's default of 1,000, where provisioned concurrency competes for the
//! pool.
//!
//! Each run is the release binary as a user runs it, timed from outside (wall time and
//! the child's peak RSS from `wait4`); the stage times and the gap come from the
//! document's `solver` section. Prints one line per run and a table of medians. Run:
//!   `cargo bench -p adaptd --bench real_fleet`
//! Environment: ADAPTD_BENCH_RUNS (3), ADAPTD_BENCH_CUTS (`500,1000,10000`),
//! ADAPTD_BENCH_ACCOUNTS (`roomy,default`).

#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "a benchmark: its output is the point"
)]

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

const SAMPLE_FUNCTIONS: usize = 500;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn env_list(name: &str, default: &str) -> Vec<String> {
    std::env::var(name)
        .unwrap_or_else(|_| default.to_owned())
        .split(',')
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .collect()
}

/// The three tables of the sample, as lines.
struct Sample {
    invocations: Vec<String>,
    durations: Vec<String>,
    memory: Vec<String>,
}

impl Sample {
    fn load() -> Sample {
        let dir = repo().join("tests/data/azure2019-500");
        let read = |name: &str| -> Vec<String> {
            fs::read_to_string(dir.join(name))
                .unwrap_or_else(|e| panic!("{name}: {e}"))
                .lines()
                .map(str::to_owned)
                .collect()
        };
        Sample {
            invocations: read("invocations_per_function.csv"),
            durations: read("function_durations_percentiles.csv"),
            memory: read("app_memory_percentiles.csv"),
        }
    }
}

/// Gives a hash column a copy's own name: the copy number replaces the first hex
/// digits, so names stay hex, unique per copy and as long as the original.
fn rename(hash: &str, copy: usize) -> String {
    if copy == 0 {
        return hash.to_owned();
    }
    format!("{copy:04x}{}", &hash[4.min(hash.len())..])
}

/// Writes `functions` functions (whole copies of the sample, then a cut of the last)
/// into `dir`: copy `k` has every hash renamed and its minute columns rotated by
/// `k × 37` minutes.
fn write_fleet(sample: &Sample, functions: usize, dir: &Path) {
    fs::create_dir_all(dir).expect("fleet dir");
    let copies = functions.div_ceil(SAMPLE_FUNCTIONS);
    let mut inv = String::new();
    let mut dur = String::new();
    let mut mem = String::new();
    for out in [&mut inv, &mut dur, &mut mem] {
        out.reserve(1 << 20);
    }
    inv.push_str(&sample.invocations[0]);
    dur.push_str(&sample.durations[0]);
    mem.push_str(&sample.memory[0]);
    for s in [&mut inv, &mut dur, &mut mem] {
        s.push('\n');
    }
    let mut written = 0;
    'copies: for copy in 0..copies {
        // Keep the durations and memory rows of exactly the functions written.
        let mut kept = std::collections::BTreeSet::new();
        for line in &sample.invocations[1..] {
            if written == functions {
                break 'copies;
            }
            let cells: Vec<&str> = line.split(',').collect();
            let (ids, minutes) = cells.split_at(4);
            let mut row = format!(
                "{},{},{},{}",
                rename(ids[0], copy),
                rename(ids[1], copy),
                rename(ids[2], copy),
                ids[3]
            );
            let shift = (copy * 37) % minutes.len();
            for i in 0..minutes.len() {
                row.push(',');
                row.push_str(minutes[(i + shift) % minutes.len()]);
            }
            inv.push_str(&row);
            inv.push('\n');
            kept.insert(ids[2].to_owned());
            written += 1;
        }
        for (table, out, function_column) in [
            (&sample.durations, &mut dur, 2),
            (&sample.memory, &mut mem, 0),
        ] {
            for line in &table[1..] {
                let cells: Vec<&str> = line.split(',').collect();
                if !kept.contains(cells[function_column]) {
                    continue;
                }
                let renamed: Vec<String> = cells
                    .iter()
                    .enumerate()
                    .map(|(i, c)| {
                        if i <= 2 {
                            rename(c, copy)
                        } else {
                            (*c).to_owned()
                        }
                    })
                    .collect();
                out.push_str(&renamed.join(","));
                out.push('\n');
            }
        }
    }
    fs::write(dir.join("invocations_per_function.csv"), inv).expect("write");
    fs::write(dir.join("function_durations_percentiles.csv"), dur).expect("write");
    fs::write(dir.join("app_memory_percentiles.csv"), mem).expect("write");
}

fn config(account: &str) -> String {
    let mut text = String::from(include_str!("../../tests/data/azure2019-500-slo.toml"));
    if account == "roomy" {
        text.push_str("\n[[accounts]]\nname = \"default\"\nconcurrency_limit = 100000\n");
    }
    text
}

/// One timed run of the binary.
struct Run {
    wall_s: f64,
    peak_rss_mb: f64,
    json_mb: f64,
    solver: Value,
    warnings: usize,
}

/// Runs `cmd` to completion; returns its wall time and peak RSS (kB) from `wait4`.
fn timed(cmd: &mut Command) -> (Duration, i64, std::process::ExitStatus) {
    use std::os::unix::process::ExitStatusExt as _;
    let start = Instant::now();
    let child = cmd.spawn().expect("adaptd starts");
    let pid = i32::try_from(child.id()).expect("pid fits");
    let mut status = 0;
    // SAFETY: a zeroed rusage is a valid value for wait4 to fill in.
    #[allow(
        unsafe_code,
        reason = "wait4 is the only way to read a child's peak RSS"
    )]
    let (rc, usage) = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        // SAFETY: `pid` is our own unreaped child; `status` and `usage` outlive the call.
        let rc = libc::wait4(pid, &raw mut status, 0, &raw mut usage);
        (rc, usage)
    };
    assert_eq!(rc, pid, "wait4 failed");
    // The child is reaped: std must not wait for it again.
    std::mem::forget(child);
    (
        start.elapsed(),
        usage.ru_maxrss,
        std::process::ExitStatus::from_raw(status),
    )
}

fn run_once(bin: &Path, config: &Path, fleet: &Path, out: &Path) -> Run {
    let file = fs::File::create(out).expect("output file");
    let stderr = out.with_extension("stderr");
    let mut cmd = Command::new(bin);
    cmd.args(["recommend", "--output", "json", "-c"])
        .arg(config)
        .arg("-t")
        .arg(format!("azure2019:{}", fleet.display()))
        .stdin(Stdio::null())
        .stdout(file)
        .stderr(fs::File::create(&stderr).expect("stderr file"));
    let (wall, rss_kb, status) = timed(&mut cmd);
    assert!(
        status.success(),
        "adaptd recommend failed ({status}): {}",
        fs::read_to_string(&stderr).unwrap_or_default()
    );
    let json_bytes = fs::metadata(out).expect("the document").len();
    let reader = std::io::BufReader::new(fs::File::open(out).expect("the document"));
    let doc: Figures = serde_json::from_reader(reader).expect("the document is JSON");
    Run {
        wall_s: wall.as_secs_f64(),
        peak_rss_mb: rss_kb as f64 / 1024.0,
        json_mb: json_bytes as f64 / 1e6,
        solver: doc.solver,
        warnings: doc.warnings.len(),
    }
}

/// What the bench reads of a document, streamed past the rest. A child's peak RSS as
/// `wait4` reports it is never below the bench's own peak when it spawned the child
/// (Linux carries the spawning process's high-water mark into the child's across the
/// exec), so the bench must stay small: parsing the 10,000's 144 MB document whole
/// made it 580 MB and every later run's figure with it.
#[derive(serde::Deserialize)]
struct Figures {
    solver: Value,
    #[serde(default)]
    warnings: Vec<serde::de::IgnoredAny>,
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n == 0 {
        return f64::NAN;
    }
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

fn main() {
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_adaptd"));
    let runs: usize = std::env::var("ADAPTD_BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3);
    let cuts: Vec<usize> = env_list("ADAPTD_BENCH_CUTS", "500,1000,10000")
        .iter()
        .map(|c| c.parse().expect("ADAPTD_BENCH_CUTS: numbers"))
        .collect();
    let accounts = env_list("ADAPTD_BENCH_ACCOUNTS", "roomy,default");
    let work = repo().join("target/bench-real-fleet");
    fs::create_dir_all(&work).expect("work dir");
    let sample = Sample::load();
    let mut table = String::from(
        "| fleet | account | total s | models s | solve s | explain s | explain share | gap | peak RSS MB | JSON MB |\n|---|---|---|---|---|---|---|---|---|---|\n",
    );
    for &n in &cuts {
        let fleet = work.join(format!("fleet-{n}"));
        write_fleet(&sample, n, &fleet);
        for account in &accounts {
            let cfg = work.join(format!("{account}.toml"));
            fs::write(&cfg, config(account)).expect("config");
            let mut done = Vec::new();
            for run in 1..=runs {
                let out = work.join(format!("out-{n}-{account}.json"));
                let r = run_once(&bin, &cfg, &fleet, &out);
                let ms = |k: &str| r.solver[k].as_f64().unwrap_or(f64::NAN) / 1e3;
                eprintln!(
                    "{n} functions, account {account}, run {run}: total {:.2} s (models {:.2}, solve {:.2}, explain {:.2}), gap {:.3} %, peak RSS {:.0} MB, JSON {:.1} MB, {} warnings",
                    r.wall_s,
                    ms("models_ms"),
                    ms("solve_ms"),
                    ms("explain_ms"),
                    100.0 * r.solver["gap"].as_f64().unwrap_or(f64::NAN),
                    r.peak_rss_mb,
                    r.json_mb,
                    r.warnings,
                );
                done.push(r);
            }
            let med = |f: &dyn Fn(&Run) -> f64| median(done.iter().map(f).collect());
            let stage =
                |k: &'static str| move |r: &Run| r.solver[k].as_f64().unwrap_or(f64::NAN) / 1e3;
            let total = med(&|r| r.wall_s);
            let explain = med(&stage("explain_ms"));
            let _ = writeln!(
                table,
                "| {n} | {account} | {total:.2} | {:.2} | {:.2} | {explain:.2} | {:.0} % | {:.3} % | {:.0} | {:.1} |",
                med(&stage("models_ms")),
                med(&stage("solve_ms")),
                100.0 * explain / total,
                100.0 * med(&|r| r.solver["gap"].as_f64().unwrap_or(f64::NAN)),
                med(&|r| r.peak_rss_mb),
                med(&|r| r.json_mb),
            );
        }
    }
    println!("medians of {runs} runs:\n{table}");
}
