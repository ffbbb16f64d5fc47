//! The service benchmark: `adaptd serve` (this build, release) over a store seeded with
//! 10,000 components and 14 days of daily telemetry summaries.
//!
//! Each run seeds a fresh SQLite store with daily summaries made by the engine as a
//! cycle would: by default of 10,000 real-shaped components (the Azure 2019 sample's
//! 500 functions in 20 renamed, rotated copies; `ADAPTD_BENCH_FLEET=shop` seeds the
//! example shop's 12 busy synthetic components instead — see `Fleet`), starts `adaptd serve`, waits for its first cycle (collect, merge 14
//! summaries per component, the joint solve over 10,000 components, 10,000
//! recommendation versions stored), then:
//!
//! 1. reads VmHWM (peak RSS) of the process after the cycle;
//! 2. sends GET /api/v1/recommendations at a fixed 1,000 requests/s for 30 s from
//!    one client thread, each request at its scheduled instant whether or not earlier
//!    ones have answered, and records each latency from the scheduled instant (no
//!    coordinated omission);
//! 3. runs `wrk` (closed loop: a fixed number of connections as fast as they go)
//!    for 30 s on the same URL, when `wrk` is installed, and reads its latency
//!    distribution and achieved rate;
//! 4. reads VmHWM again after the load.
//!
//! Prints one JSON line per run, then the medians. Run:
//!   `cargo bench -p adaptd --bench service`
//! Environment: ADAPTD_BENCH_FLEET (azure | shop), ADAPTD_BENCH_RUNS (3), ADAPTD_BENCH_COMPONENTS (10000),
//! ADAPTD_BENCH_DAYS (14), ADAPTD_BENCH_RATE (1000), ADAPTD_BENCH_SECONDS (30),
//! ADAPTD_BENCH_WRK_CONNECTIONS (8), ADAPTD_BENCH_WRAP (a command to run the server
//! under, such as `heaptrack -o /tmp/adaptd`).

#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "a benchmark: its output is the point"
)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use adaptd::store::{Collection, CycleFinish, NewSummary, SeenComponent, SqlStore, Store};
use adaptd_config::Config;
use adaptd_engine::profile::summarize_with;
use adaptd_engine::telemetry::ComponentTelemetry;
use serde_json::{Value, json};

fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// Which fleet the store is seeded with.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Fleet {
    /// The Azure Functions 2019 sample (`tests/data/azure2019-500`, one real day):
    /// copy `k` of the 500 functions gets new names and its minutes rotated by `k × 37`
    /// (as the real-fleet bench does), so every component is distinct; each of the
    /// days replays the function's one day. The headline.
    Azure,
    /// The 12 components of the example shop (`examples/`, a seeded generator), each
    /// day a day of its week: a busy synthetic shop, every component heavy, and only
    /// 12 distinct shapes. A secondary check.
    Shop,
}

impl Fleet {
    fn from_env() -> Self {
        match std::env::var("ADAPTD_BENCH_FLEET").as_deref() {
            Ok("shop") => Fleet::Shop,
            Ok("azure") | Err(_) => Fleet::Azure,
            Ok(other) => panic!("ADAPTD_BENCH_FLEET: `{other}` is neither azure nor shop"),
        }
    }
    fn name(self) -> &'static str {
        match self {
            Fleet::Azure => "azure2019-real-shaped",
            Fleet::Shop => "example-shop",
        }
    }
    /// (attributes, stored daily profiles) per distinct component; component `i` takes
    /// entry `i % len` and, on day `d`, profile `(d + i / len) % days`.
    fn profiles(self, components: usize) -> Vec<(BTreeMap<String, String>, Vec<String>)> {
        match self {
            Fleet::Azure => azure_profiles(components),
            Fleet::Shop => shop_profiles(),
        }
    }
}

/// The day of `t` that starts at minute `start`, its minutes rotated by `shift`.
fn day_profile(t: &ComponentTelemetry, start: i64, shift: i64) -> adaptd_engine::profile::Profile {
    let mut day = ComponentTelemetry::new(t.name.clone());
    day.attributes = t.attributes.clone();
    day.duration_ms = t.duration_ms.clone();
    day.memory_used_mb = t.memory_used_mb.clone();
    for (key, series) in &t.series {
        for (m, v) in series.observed() {
            if (start..start + 1440).contains(&m) {
                let at = (m - start + shift).rem_euclid(1440);
                day.record(at, key.0, key.1, v).expect("finite");
            }
        }
    }
    day.window = Some((0, 1440));
    let periodic = t.attributes.get("trigger").is_some_and(|v| v == "timer");
    summarize_with(&day, 10, 1.0, periodic)
}

/// `components` distinct real-shaped components from the Azure sample (see [`Fleet`]).
fn azure_profiles(components: usize) -> Vec<(BTreeMap<String, String>, Vec<String>)> {
    let dir = repo().join("tests/data/azure2019-500");
    let set = adaptd_collectors::azure2019::load_dir(&dir, &Default::default())
        .expect("the Azure sample loads");
    let sample: Vec<&ComponentTelemetry> = set.components.values().collect();
    (0..components)
        .map(|i| {
            let t = sample[i % sample.len()];
            let copy = (i / sample.len()) as i64;
            let (lo, _) = t.covered().expect("covered");
            let start = lo.div_euclid(1440) * 1440;
            let p = day_profile(t, start, copy * 37);
            (
                t.attributes.clone(),
                vec![adaptd::service::packed::pack(&p)],
            )
        })
        .collect()
}

/// The example shop's telemetry as daily profiles: (attributes, stored profile) per
/// component and day of the week, keyed by the day's offset from the first midnight.
fn shop_profiles() -> Vec<(BTreeMap<String, String>, Vec<String>)> {
    let set = adaptd_collectors::file::read_path(&repo().join("examples/telemetry.csv.gz"))
        .expect("the example telemetry loads");
    let mut out = Vec::new();
    for t in set.components.values() {
        let (lo, hi) = t.covered().expect("covered");
        let first = (lo + 1439).div_euclid(1440) * 1440;
        let mut days = Vec::new();
        let mut json_bytes = Vec::new();
        let mut start = first;
        while start + 1440 <= hi {
            let p = day_profile(t, start, 0);
            json_bytes.push(
                serde_json::to_string(&p)
                    .expect("a profile serialises")
                    .len(),
            );
            days.push(adaptd::service::packed::pack(&p));
            start += 1440;
        }
        assert!(!days.is_empty(), "{}: no whole day", t.name);
        // What a summary weighs, as JSON and as stored.
        eprintln!(
            "{}: daily summary {} to {} bytes of JSON, stored as {} to {} bytes",
            t.name,
            json_bytes.iter().min().unwrap_or(&0),
            json_bytes.iter().max().unwrap_or(&0),
            days.iter().map(String::len).min().unwrap_or(0),
            days.iter().map(String::len).max().unwrap_or(0),
        );
        out.push((t.attributes.clone(), days));
    }
    out
}

/// The service's cycle interval in the bench's config (`interval_seconds`).
const SEED_INTERVAL_MINUTES: i64 = 1;

const CONFIG: &str = r#"
[service]
bind = "127.0.0.1:PORT"
interval_seconds = 60
jitter_seconds = 0
lookback_days = DAYS
token_file = "token"
leader_poll_seconds = 1
shutdown_deadline_seconds = 20

[store]
sqlite_path = "adaptd.db"

[defaults]
account = "main"
environment = "prod"
memory_mb = 1024

[[accounts]]
name = "main"
concurrency_limit = 100000
"#;

/// Seeds `dir/adaptd.db` through the store's own interface, as cycles would have.
fn seed(dir: &Path, config: &Config, fleet: Fleet, components: usize, days: i64) -> (usize, f64) {
    let t = Instant::now();
    let profiles = fleet.profiles(components);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let summaries = rt.block_on(async {
        let store = SqlStore::open(
            &config.store,
            dir,
            "bench-seed".into(),
            Duration::from_secs(30),
        )
        .await
        .expect("the store opens");
        store.migrate().await.expect("migrations run");
        assert!(store.lead().await.expect("lead"), "the seeder leads");
        let now_ms = adaptd::store::now_ms();
        let midnight = now_ms / 60_000 / 1440 * 1440;
        let first_day = midnight - days * 1440;
        // Begun an interval ago, so the service's first cycle is due at once, as on a
        // fresh store, rather than an interval after the seed.
        let cycle = store
            .begin_cycle("bench-seed", now_ms - 60_000 * SEED_INTERVAL_MINUTES)
            .await
            .unwrap();
        let mut written = 0;
        for chunk_start in (0..components).step_by(500) {
            let mut c = Collection {
                cycle_id: cycle,
                at_ms: now_ms,
                prune_before_minute: first_day,
                ..Collection::default()
            };
            for i in chunk_start..(chunk_start + 500).min(components) {
                let (attributes, fleet_days) = &profiles[i % profiles.len()];
                let name = format!("fn-{i:05}");
                c.seen.push(SeenComponent {
                    name: name.clone(),
                    attributes: json!(attributes),
                    sources: vec!["file".into()],
                    data_until_minute: Some(midnight),
                });
                for d in 0..days {
                    let start = first_day + d * 1440;
                    c.summaries.push(NewSummary {
                        component: name.clone(),
                        start_minute: start,
                        end_minute: start + 1440,
                        profile: fleet_days[(d as usize + i / profiles.len()) % fleet_days.len()]
                            .clone(),
                    });
                }
            }
            written += c.summaries.len();
            store.commit_collection(&c).await.expect("the seed commits");
        }
        store
            .finish_cycle(&CycleFinish {
                cycle_id: cycle,
                finished_ms: adaptd::store::now_ms(),
                outcome: "ok".into(),
                failed_stage: None,
                error: None,
                report: "{\"seed\": true}".into(),
                actions: Vec::new(),
                stale: Vec::new(),
                fresh: Vec::new(),
            })
            .await
            .expect("the seed cycle finishes");
        store.resign().await.expect("resign");
        written
    });
    (summaries, t.elapsed().as_secs_f64())
}

struct Server {
    child: Child,
    port: u16,
    log: PathBuf,
}

impl Server {
    fn url(&self, p: &str) -> String {
        format!("http://127.0.0.1:{}{p}", self.port)
    }
    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
    /// (VmHWM, VmRSS) in MB.
    fn memory_mb(&self) -> (f64, f64) {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .expect("/proc/PID/status");
        let kb = |key: &str| -> f64 {
            status
                .lines()
                .find_map(|l| l.strip_prefix(key))
                .and_then(|v| v.split_whitespace().next())
                .and_then(|v| v.parse::<f64>().ok())
                .unwrap_or(f64::NAN)
        };
        (kb("VmHWM:") / 1024.0, kb("VmRSS:") / 1024.0)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(25);
        while Instant::now() < deadline {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn get_json(url: &str) -> Option<Value> {
    reqwest::blocking::get(url).ok()?.json().ok()
}

fn start(dir: &Path, port: u16) -> Server {
    let log = dir.join("serve.log");
    let out = std::fs::File::create(&log).unwrap();
    // ADAPTD_BENCH_WRAP runs the server under a profiler (`heaptrack -o FILE`, say);
    // the memory figures are then the wrapper's, not the server's.
    let wrap = std::env::var("ADAPTD_BENCH_WRAP").unwrap_or_default();
    let mut words = wrap.split_whitespace();
    let mut cmd = match words.next() {
        Some(w) => {
            let mut c = Command::new(w);
            c.args(words).arg(env!("CARGO_BIN_EXE_adaptd"));
            c
        }
        None => Command::new(env!("CARGO_BIN_EXE_adaptd")),
    };
    let child = cmd
        .args(["serve", "-c"])
        .arg(dir.join("adaptd.toml"))
        .stdout(out.try_clone().unwrap())
        .stderr(out)
        .stdin(Stdio::null())
        .spawn()
        .expect("adaptd starts");
    let s = Server { child, port, log };
    let deadline = Instant::now() + Duration::from_secs(60);
    while get_json(&s.url("/readyz")).is_none() {
        assert!(
            Instant::now() < deadline,
            "not ready in 60 s:\n{}",
            s.log_text()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    s
}

/// Waits for the first cycle after the seed; returns it.
fn first_cycle(s: &Server) -> Value {
    let deadline = Instant::now() + Duration::from_secs(3600);
    loop {
        if let Some(v) = get_json(&s.url("/api/v1/cycles?limit=5"))
            && let Some(c) = v["items"].as_array().and_then(|items| {
                items
                    .iter()
                    .find(|c| c["id"].as_i64() > Some(1) && !c["finished_ms"].is_null())
                    .cloned()
            })
        {
            return c;
        }
        assert!(
            Instant::now() < deadline,
            "no cycle in 60 min:\n{}",
            s.log_text()
        );
        std::thread::sleep(Duration::from_millis(250));
    }
}

fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * q).round() as usize;
    sorted[i]
}

/// Fixed-rate load: latencies in ms from each request's scheduled instant, errors,
/// the achieved rate of answers and the bytes of one answer.
fn fixed_rate(url: &str, rate: u64, seconds: u64) -> Value {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(256)
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap();
        let n = rate * seconds;
        let period = Duration::from_secs_f64(1.0 / rate as f64);
        let results = Arc::new(std::sync::Mutex::new(Vec::with_capacity(n as usize)));
        let start = tokio::time::Instant::now() + Duration::from_millis(100);
        let mut tasks = Vec::with_capacity(n as usize);
        for i in 0..n {
            let at = start + period * u32::try_from(i).unwrap();
            tokio::time::sleep_until(at).await;
            let (client, url, results) = (client.clone(), url.to_owned(), results.clone());
            tasks.push(tokio::spawn(async move {
                let r = client.get(&url).send().await;
                let ok = match r {
                    Ok(r) if r.status().is_success() => r.bytes().await.map(|b| b.len()).ok(),
                    _ => None,
                };
                let done = tokio::time::Instant::now();
                results
                    .lock()
                    .unwrap()
                    .push(((done - at).as_secs_f64() * 1000.0, ok, done));
            }));
        }
        for t in tasks {
            let _ = t.await;
        }
        let results = results.lock().unwrap();
        let mut lat: Vec<f64> = results
            .iter()
            .filter(|r| r.1.is_some())
            .map(|r| r.0)
            .collect();
        lat.sort_by(f64::total_cmp);
        let errors = results.iter().filter(|r| r.1.is_none()).count();
        let last = results.iter().map(|r| r.2).max().unwrap_or(start);
        let bytes = results.iter().find_map(|r| r.1).unwrap_or(0);
        json!({
            "requests": n,
            "errors": errors,
            "achieved_rps": lat.len() as f64 / (last - start).as_secs_f64(),
            "p50_ms": percentile(&lat, 0.5),
            "p90_ms": percentile(&lat, 0.9),
            "p99_ms": percentile(&lat, 0.99),
            "p999_ms": percentile(&lat, 0.999),
            "max_ms": lat.last().copied().unwrap_or(f64::NAN),
            "response_bytes": bytes,
        })
    })
}

/// `wrk` for `seconds` with `connections`; its latency percentiles (ms) and rate.
fn wrk(url: &str, connections: u64, seconds: u64) -> Value {
    let out = match Command::new("wrk")
        .args([
            "-t1",
            &format!("-c{connections}"),
            &format!("-d{seconds}s"),
            "--latency",
            url,
        ])
        .output()
    {
        Ok(o) => o,
        Err(e) => return json!({"error": format!("wrk: {e} (apt-get install wrk)")}),
    };
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let ms = |v: &str| -> f64 {
        let (num, unit) = v.split_at(v.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(v.len()));
        let x: f64 = num.parse().unwrap_or(f64::NAN);
        match unit {
            "us" => x / 1000.0,
            "ms" => x,
            "s" => x * 1000.0,
            "m" => x * 60_000.0,
            _ => f64::NAN,
        }
    };
    let mut r = json!({"connections": connections, "seconds": seconds});
    for l in text.lines() {
        let w: Vec<&str> = l.split_whitespace().collect();
        match w.as_slice() {
            [q @ ("50%" | "75%" | "90%" | "99%"), v] => {
                r[format!("p{}_ms", q.trim_end_matches('%'))] = json!(ms(v));
            }
            ["Requests/sec:", v] => r["rps"] = json!(v.parse::<f64>().unwrap_or(f64::NAN)),
            ["Non-2xx", "or", "3xx", "responses:", v] => r["non_2xx"] = json!(v),
            _ => {}
        }
    }
    if r.get("rps").is_none() {
        r["error"] = json!(text + &String::from_utf8_lossy(&out.stderr));
    }
    r
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    if v.is_empty() {
        f64::NAN
    } else {
        v[v.len() / 2]
    }
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let runs = env_num("ADAPTD_BENCH_RUNS", 3);
    let components = usize::try_from(env_num("ADAPTD_BENCH_COMPONENTS", 10_000)).unwrap();
    let days = i64::try_from(env_num("ADAPTD_BENCH_DAYS", 14)).unwrap();
    let rate = env_num("ADAPTD_BENCH_RATE", 1000);
    let seconds = env_num("ADAPTD_BENCH_SECONDS", 30);
    let connections = env_num("ADAPTD_BENCH_WRK_CONNECTIONS", 8);
    let fleet = Fleet::from_env();
    let mut all = Vec::new();
    for run in 0..runs {
        let dir =
            std::env::temp_dir().join(format!("adaptd-bench-service-{}-{run}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let port = free_port();
        let text = CONFIG
            .replace("PORT", &port.to_string())
            .replace("DAYS", &days.to_string());
        std::fs::write(dir.join("adaptd.toml"), text).unwrap();
        std::fs::write(dir.join("token"), "bench\n").unwrap();
        let config = Config::load(&dir.join("adaptd.toml")).expect("the bench config loads");
        let (summaries, seed_s) = seed(&dir, &config, fleet, components, days);
        let db_mb = std::fs::metadata(dir.join("adaptd.db"))
            .map(|m| m.len() as f64 / 1e6)
            .unwrap_or(f64::NAN);
        eprintln!(
            "run {run}: seeded {components} components, {summaries} summaries ({db_mb:.0} MB) in {seed_s:.1} s"
        );
        let t = Instant::now();
        let s = start(&dir, port);
        let cycle = first_cycle(&s);
        let cycle_s = t.elapsed().as_secs_f64();
        // The cycle's own run, from its start to its end: the seconds from the
        // server's start also hold the wait for the schedule the seed cycle set.
        let cycle_run_s = (cycle["finished_ms"].as_f64().unwrap_or(f64::NAN)
            - cycle["started_ms"].as_f64().unwrap_or(f64::NAN))
            / 1000.0;
        let (hwm_cycle, rss_cycle) = s.memory_mb();
        let total = get_json(&s.url("/api/v1/recommendations?limit=1")).unwrap()["total"].clone();
        eprintln!(
            "run {run}: cycle {} {} ran {cycle_run_s:.1} s (done {cycle_s:.1} s after the start), {total} recommendations; VmHWM {hwm_cycle:.1} MB",
            cycle["id"], cycle["outcome"]
        );
        let url = s.url("/api/v1/recommendations");
        let fixed = fixed_rate(&url, rate, seconds);
        let (hwm_fixed, _) = s.memory_mb();
        eprintln!("run {run}: fixed rate {fixed}");
        let w = wrk(&url, connections, seconds);
        let (hwm_load, rss_load) = s.memory_mb();
        eprintln!("run {run}: wrk {w}");
        let r = json!({
            "run": run,
            "fleet": fleet.name(),
            "components": components,
            "days": days,
            "summaries": summaries,
            "store_mb": db_mb,
            "seed_seconds": seed_s,
            "cycle": {"id": cycle["id"], "outcome": cycle["outcome"], "report_stages": cycle["report"]["stages"], "seconds": cycle_run_s, "seconds_from_start": cycle_s},
            "recommendations": total,
            "vmhwm_mb_after_cycle": hwm_cycle,
            "vmrss_mb_after_cycle": rss_cycle,
            "fixed_rate": fixed,
            "vmhwm_mb_after_fixed_rate": hwm_fixed,
            "wrk": w,
            "vmhwm_mb_after_load": hwm_load,
            "vmrss_mb_after_load": rss_load,
        });
        println!("{r}");
        all.push(r);
        drop(s);
        let _ = std::fs::remove_dir_all(&dir);
    }
    let med = |f: &dyn Fn(&Value) -> f64| -> f64 {
        let mut v: Vec<f64> = all.iter().map(f).collect();
        median(&mut v)
    };
    let num = |v: &Value| v.as_f64().unwrap_or(f64::NAN);
    println!(
        "{}",
        json!({
            "medians_of_runs": runs,
            "fixed_rate_target_rps": rate,
            "fixed_rate_achieved_rps": med(&|r| num(&r["fixed_rate"]["achieved_rps"])),
            "fixed_rate_p50_ms": med(&|r| num(&r["fixed_rate"]["p50_ms"])),
            "fixed_rate_p99_ms": med(&|r| num(&r["fixed_rate"]["p99_ms"])),
            "fixed_rate_p999_ms": med(&|r| num(&r["fixed_rate"]["p999_ms"])),
            "fixed_rate_errors": med(&|r| num(&r["fixed_rate"]["errors"])),
            "wrk_rps": med(&|r| num(&r["wrk"]["rps"])),
            "wrk_p50_ms": med(&|r| num(&r["wrk"]["p50_ms"])),
            "wrk_p99_ms": med(&|r| num(&r["wrk"]["p99_ms"])),
            "vmhwm_mb_after_cycle": med(&|r| num(&r["vmhwm_mb_after_cycle"])),
            "vmhwm_mb_after_load": med(&|r| num(&r["vmhwm_mb_after_load"])),
            "cycle_seconds": med(&|r| num(&r["cycle"]["seconds"])),
            "cycle_seconds_from_start": med(&|r| num(&r["cycle"]["seconds_from_start"])),
        })
    );
}
