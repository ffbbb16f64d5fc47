//! The container image as shipped. No container engine runs on the development
//! machines or in CI, so the image is not built; instead its runtime stage is read
//! from the Dockerfile and acted out: the files it copies laid out under a scratch
//! root, the binary run with exactly the `CMD`, the `ENV`, the `USER` (when the tests
//! run as root) and the `WORKDIR` of the image, the image's config file unchanged.
//! `ADAPTD_ROOT` (docs/configuration.md) takes the config's absolute paths under the
//! scratch root, the one difference from the image. The service must answer on the
//! config's address (0.0.0.0 and the `EXPOSE`d port), cycle over CloudWatch (moto),
//! keep its store on the image's volume, leave the read-only config directory alone,
//! and serve a report written into the volume's archive.

use std::collections::BTreeMap;
use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::Value;

use super::first_cycle_recommends;
use super::service_support::*;

/// What the Dockerfile's runtime stage says.
#[derive(Debug, Default)]
struct Runtime {
    /// `COPY SRC DEST` from the build context (not `--from`).
    copies: Vec<(String, String)>,
    user: String,
    workdir: String,
    volumes: Vec<String>,
    env: BTreeMap<String, String>,
    expose: Vec<u16>,
    entrypoint: Vec<String>,
    cmd: Vec<String>,
    /// The `--home-dir` of the `useradd` that makes the image's user.
    home: String,
    text: String,
}

fn json_array(s: &str) -> Vec<String> {
    serde_json::from_str::<Vec<String>>(s.trim())
        .unwrap_or_else(|e| panic!("not an exec-form JSON array: {s} ({e})"))
}

fn runtime() -> (String, Runtime) {
    let text = std::fs::read_to_string(repo().join("deploy/Dockerfile")).unwrap();
    let froms: Vec<&str> = text.lines().filter(|l| l.starts_with("FROM ")).collect();
    assert_eq!(froms.len(), 2, "{froms:?}");
    let (build, run) = text.split_at(text.find(froms[1]).unwrap());
    // Continuation lines joined, so `RUN … \` is one instruction.
    let joined = run.replace("\\\n", " ");
    let mut r = Runtime {
        text: run.to_owned(),
        ..Runtime::default()
    };
    for l in joined.lines().map(str::trim) {
        let (word, rest) = l.split_once(' ').unwrap_or((l, ""));
        match word {
            "COPY" if !rest.starts_with("--from") => {
                let parts: Vec<&str> = rest.split_whitespace().collect();
                assert_eq!(parts.len(), 2, "COPY with one source: {l}");
                r.copies.push((parts[0].to_owned(), parts[1].to_owned()));
            }
            "USER" => r.user = rest.trim().to_owned(),
            "WORKDIR" => r.workdir = rest.trim().to_owned(),
            "VOLUME" => r.volumes.extend(json_array(rest)),
            "ENV" => {
                let (k, v) = rest.split_once('=').expect("ENV KEY=value");
                r.env.insert(k.trim().to_owned(), v.trim().to_owned());
            }
            "EXPOSE" => r.expose.push(rest.trim().parse().expect("EXPOSE port")),
            "ENTRYPOINT" => r.entrypoint = json_array(rest),
            "CMD" => r.cmd = json_array(rest),
            "RUN" if rest.contains("useradd") => {
                let words: Vec<&str> = rest.split_whitespace().collect();
                let i = words.iter().position(|w| *w == "--home-dir").unwrap();
                r.home = words[i + 1].to_owned();
                assert!(words.contains(&"--create-home"), "{rest}");
            }
            _ => {}
        }
    }
    (build.to_owned(), r)
}

/// `path` (absolute, as in the image) under `root`.
fn rooted(root: &Path, path: &str) -> PathBuf {
    assert!(path.starts_with('/'), "not absolute: {path}");
    root.join(path.trim_start_matches('/'))
}

#[test]
fn the_dockerfile_builds_in_one_stage_and_runs_as_non_root_in_another() {
    let (build, run) = runtime();
    for pkg in ["cmake", "libclang-dev"] {
        assert!(build.contains(pkg), "the builder needs {pkg} (HiGHS)");
    }
    assert!(build.contains("cargo build --release --locked -p adaptd"));
    assert!(run.text.contains("COPY --from=builder"));
    // The service logs JSON lines in the container (docs/service.md, "Logs").
    assert_eq!(
        run.env.get("ADAPTD_LOG_FORMAT").map(String::as_str),
        Some("json")
    );
    assert!(
        !run.user.starts_with('0') && !run.user.starts_with("root") && !run.user.is_empty(),
        "{}",
        run.user
    );
    // The user's home is the volume, and the working directory.
    assert_eq!(run.volumes, ["/var/lib/adaptd"]);
    assert_eq!(run.home, "/var/lib/adaptd");
    assert_eq!(run.workdir, "/var/lib/adaptd");
    // What the runtime stage copies from the repository exists.
    for (src, _) in &run.copies {
        assert!(
            repo().join(src).exists(),
            "COPY {src}: not in the repository"
        );
    }
    // The config the CMD names is copied in, and is a valid one.
    let config = config_of(&run);
    let out = Command::new(env!("CARGO_BIN_EXE_adaptd"))
        .arg("check-config")
        .arg(repo().join(config))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The repository file the image's `--config` path is copied from.
fn config_of(run: &Runtime) -> &str {
    let args = &run.cmd;
    let path = &args[args
        .iter()
        .position(|a| a == "--config")
        .expect("CMD names --config")
        + 1];
    run.copies
        .iter()
        .find(|(_, dest)| dest == path)
        .map(|(src, _)| src.as_str())
        .unwrap_or_else(|| panic!("no COPY puts a file at {path}"))
}

/// The image's config: where it binds, where it writes.
fn image_paths(text: &str) -> (String, String, String) {
    let t: toml::Table = text.parse().unwrap();
    let s = |sec: &str, k: &str| {
        t[sec][k]
            .as_str()
            .unwrap_or_else(|| panic!("the image's config sets no {sec}.{k}"))
            .to_owned()
    };
    (
        s("service", "bind"),
        s("store", "sqlite_path"),
        s("report", "output_dir"),
    )
}

/// Every file under `dir`, relative, with its contents.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.insert(
                    p.strip_prefix(dir).unwrap().to_path_buf(),
                    std::fs::read(&p).unwrap(),
                );
            }
        }
    }
    out
}

/// The image's user and group ids, to run as when the tests run as root.
fn ids(user: &str) -> (u32, u32) {
    let (u, g) = user.split_once(':').unwrap_or((user, user));
    (u.parse().unwrap(), g.parse().unwrap())
}

fn running_as_root() -> bool {
    let out = Command::new("id").arg("-u").output().unwrap();
    String::from_utf8_lossy(&out.stdout).trim() == "0"
}

/// The binary as the image runs it: under `root`, with the image's user (if we may
/// switch to it), environment and working directory, plus AWS on moto.
fn as_in_image(run: &Runtime, root: &Path, moto: &Proc, args: &[String]) -> Command {
    assert_eq!(
        run.entrypoint,
        ["/usr/local/bin/adaptd"],
        "the entrypoint is the binary"
    );
    // The binary where the image has it: the image's user may not reach the build's
    // (a checkout under root's home, mode 700, when the tests run as root).
    let entrypoint = rooted(root, &run.entrypoint[0]);
    if !entrypoint.exists() {
        std::fs::create_dir_all(entrypoint.parent().unwrap()).unwrap();
        std::fs::copy(env!("CARGO_BIN_EXE_adaptd"), &entrypoint).unwrap();
        std::fs::set_permissions(&entrypoint, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let mut cmd = Command::new(&entrypoint);
    cmd.args(args)
        .current_dir(rooted(root, &run.workdir))
        .env("ADAPTD_ROOT", root)
        // Docker sets HOME from the USER's passwd entry.
        .env("HOME", rooted(root, &run.home))
        .envs(&run.env)
        .envs(AWS_ENV)
        .env("AWS_ENDPOINT_URL", moto.url(""))
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .stdin(Stdio::null());
    if running_as_root() {
        use std::os::unix::process::CommandExt;
        let (uid, gid) = ids(&run.user);
        cmd.uid(uid).gid(gid);
    }
    cmd
}

#[test]
fn the_image_serves_its_own_config_with_its_store_and_reports_on_the_volume() {
    let _serial = serial();
    let (_, run) = runtime();
    let config_src = config_of(&run);
    let text = std::fs::read_to_string(repo().join(config_src)).unwrap();
    let (bind, sqlite_path, output_dir) = image_paths(&text);
    let port = run.expose[0];
    assert_eq!(
        bind,
        format!("0.0.0.0:{port}"),
        "the image's config binds every interface on the EXPOSEd port"
    );
    for p in [&sqlite_path, &output_dir] {
        assert!(
            run.volumes.iter().any(|v| p.starts_with(&format!("{v}/"))),
            "{p} is not on the image's volume {:?}",
            run.volumes
        );
    }
    if let Err(e) = TcpListener::bind(("0.0.0.0", port)) {
        panic!(
            "port {port} is taken on this machine ({e}): the image's config binds it; stop what listens there"
        );
    }

    // The image's file system: the copied files, the user's home as the volume.
    let dir = Scratch::new("image");
    let root = dir.path("root");
    for (src, dest) in &run.copies {
        let to = rooted(&root, dest);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(repo().join(src), &to).unwrap();
    }
    let etc = rooted(&root, "/etc/adaptd");
    std::fs::set_permissions(&etc, std::fs::Permissions::from_mode(0o555)).unwrap();
    let volume = rooted(&root, &run.volumes[0]);
    std::fs::create_dir_all(&volume).unwrap();
    std::fs::set_permissions(&dir.0, std::fs::Permissions::from_mode(0o755)).unwrap();
    if running_as_root() {
        let (uid, gid) = ids(&run.user);
        let status = Command::new("chown")
            .arg(format!("{uid}:{gid}"))
            .arg(&volume)
            .status()
            .unwrap();
        assert!(status.success());
    }
    let etc_before = snapshot(&etc);

    // The image's config backfills CloudWatch's full 14 days on the first cycle:
    // moto's own GetMetricData rescans every datum for each of those 20,160 minutes.
    let (moto, functions) = moto_with(&dir, 2, &["--indexed-metrics"]);
    let log = dir.path("serve.log");
    let out = std::fs::File::create(&log).unwrap();
    let child = as_in_image(&run, &root, &moto, &run.cmd)
        .stdout(out.try_clone().unwrap())
        .stderr(out)
        .spawn()
        .expect("adaptd starts");
    let mut p = Proc { child, log, port };
    wait_for(
        "the image's adaptd to be ready",
        Duration::from_secs(60),
        || p.log_text(),
        || {
            reqwest::blocking::get(p.url("/readyz"))
                .ok()
                .filter(|r| r.status().as_u16() == 200)
        },
    );
    assert_eq!(get(&p.url("/healthz")).1["status"], "ok");
    // JSON lines, as the image's ENV asks.
    let first_line = p.log_text().lines().next().unwrap_or("").to_owned();
    assert!(
        serde_json::from_str::<Value>(&first_line).is_ok(),
        "not a JSON log line: {first_line}"
    );

    let id = first_cycle_recommends(&p, &functions);
    // No token in the image's config: it advises, approving is refused.
    let approve = p.url(&format!("/api/v1/recommendations/{id}/approve"));
    assert_eq!(http("POST", &approve, Some("any"), None).0, 403);

    // The store is on the volume; the config directory is as it was.
    let store = rooted(&root, &sqlite_path);
    assert!(
        store.metadata().is_ok_and(|m| m.len() > 0),
        "no store at {}: {:?}",
        store.display(),
        snapshot(&root).keys().collect::<Vec<_>>()
    );
    if running_as_root() {
        use std::os::unix::fs::MetadataExt;
        let owner = store.metadata().unwrap().uid();
        assert_eq!(
            owner,
            ids(&run.user).0,
            "the store was not written by the image's user"
        );
    }
    assert_eq!(
        snapshot(&etc),
        etc_before,
        "something was written into /etc/adaptd"
    );

    // No report yet.
    let (s, v) = get(&p.url("/api/v1/reports"));
    assert_eq!((s, &v["total"]), (200, &Value::from(0)), "{v}");
    let (s, v) = get(&p.url("/api/v1/reports/latest"));
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (404, Some("no_report")),
        "{v}"
    );

    // A report with the image's config, as `docker exec … adaptd report` runs it:
    // into the archive on the volume, served by the API at once.
    std::fs::copy(
        repo().join("examples/telemetry.csv.gz"),
        dir.path("telemetry.csv.gz"),
    )
    .unwrap();
    let config_path = &run.cmd[run.cmd.iter().position(|a| a == "--config").unwrap() + 1];
    let telemetry = dir.path("telemetry.csv.gz").display().to_string();
    let args: Vec<String> = [
        "report",
        "--config",
        config_path.as_str(),
        "--telemetry",
        telemetry.as_str(),
    ]
    .map(String::from)
    .to_vec();
    let out = as_in_image(&run, &root, &moto, &args).output().unwrap();
    assert!(
        out.status.success(),
        "adaptd report: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let archive = rooted(&root, &output_dir);
    let periods: Vec<String> = std::fs::read_dir(&archive)
        .unwrap_or_else(|e| panic!("{}: {e}", archive.display()))
        .flatten()
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        // `.telemetry`: the scheduled report's window, which the cycles fill.
        .filter(|name| !name.starts_with('.'))
        .collect();
    assert_eq!(periods.len(), 1, "{periods:?}");
    let period = &periods[0];
    let html = std::fs::read_to_string(archive.join(period).join("report.html")).unwrap();

    let (s, v) = get(&p.url("/api/v1/reports"));
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["total"], 1, "{v}");
    let item = &v["items"][0];
    assert_eq!(item["id"].as_str(), Some(period.as_str()));
    assert!(
        item["available_savings_usd_per_month"]
            .as_f64()
            .is_some_and(f64::is_finite)
    );
    let json_url = item["urls"]["report.json"]
        .as_str()
        .expect("a JSON file URL");
    let (s, report) = get(&p.url(json_url));
    assert_eq!(s, 200);
    assert_eq!(report["period"]["id"].as_str(), Some(period.as_str()));

    let r = reqwest::blocking::get(p.url("/api/v1/reports/latest")).unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let headers = r.headers().clone();
    assert_eq!(
        headers[reqwest::header::CONTENT_TYPE],
        "text/html; charset=utf-8"
    );
    assert!(
        headers[reqwest::header::CONTENT_SECURITY_POLICY]
            .to_str()
            .unwrap()
            .starts_with("default-src 'none'")
    );
    assert_eq!(
        r.text().unwrap(),
        html,
        "latest is not the archived report.html"
    );
    // Only files of a manifest are served.
    for bad in [
        format!("/api/v1/reports/{period}/index.html"),
        format!("/api/v1/reports/{period}/..%2F..%2Fadaptd.db"),
        "/api/v1/reports/1999-01-01/report.html".to_owned(),
    ] {
        assert_eq!(get(&p.url(&bad)).0, 404, "{bad}");
    }

    assert_eq!(
        p.terminate(Duration::from_secs(30)),
        Some(0),
        "{}",
        p.log_text()
    );
}
