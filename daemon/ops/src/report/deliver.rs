//! Delivery: files first, then the webhook.
//!
//! The order is the guarantee that a report is never lost: every file is on disk
//! (written to a temporary name and renamed, so a reader never sees half a file)
//! before the first webhook attempt, and a webhook that keeps failing is logged and
//! reported without touching them. Webhook attempts back off exponentially; answers
//! that retrying cannot fix (4xx other than 408 and 429) stop at once.

use std::path::{Path, PathBuf};
use std::time::Duration;

use adaptd_config::{ReportFormat, WebhookSection};
use adaptd_report::{MANIFEST, Manifest, Report, render_files, render_index, slack_message};

/// Webhook settings, from `[report.webhook]`.
#[derive(Clone, Debug, PartialEq)]
pub struct WebhookSettings {
    /// The incoming-webhook URL.
    pub url: String,
    /// Attempts, the first included.
    pub max_attempts: u32,
    /// Wait after the first failure; doubled after each further one.
    pub initial_backoff: Duration,
    /// Longest wait.
    pub max_backoff: Duration,
    /// Time allowed for one attempt.
    pub timeout: Duration,
    /// Components listed in the message.
    pub top_items: usize,
}

impl From<&WebhookSection> for WebhookSettings {
    fn from(w: &WebhookSection) -> Self {
        Self {
            url: w.url.clone(),
            max_attempts: w.max_attempts.max(1),
            initial_backoff: Duration::from_secs_f64(w.initial_backoff_seconds),
            max_backoff: Duration::from_secs_f64(w.max_backoff_seconds),
            timeout: Duration::from_secs_f64(w.timeout_seconds),
            top_items: w.top_items as usize,
        }
    }
}

/// Where the files go.
#[derive(Clone, Copy, Debug)]
pub enum Target<'a> {
    /// Straight into this directory (`adaptd report --out DIR`).
    Directory(&'a Path),
    /// Into `ROOT/<period end date>/`, then `ROOT/index.html` is rebuilt (the service,
    /// and `adaptd report` without `--out`).
    Archive(&'a Path),
}

/// Why files could not be written.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// A file or directory could not be written.
    #[error("cannot write {path}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The report could not be rendered.
    #[error(transparent)]
    Render(#[from] adaptd_report::ReportError),
}

/// Why the webhook was not delivered.
#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    /// The receiver refused the message in a way retrying cannot fix.
    #[error("webhook refused the message after {attempts} attempt(s): HTTP {status}: {body}")]
    Rejected {
        /// Attempts made.
        attempts: u32,
        /// The status code.
        status: u16,
        /// The start of the answer.
        body: String,
    },
    /// Every attempt failed.
    #[error("webhook delivery failed after {attempts} attempt(s); last error: {last}")]
    Exhausted {
        /// Attempts made.
        attempts: u32,
        /// The last failure.
        last: String,
    },
    /// The HTTP client could not be built.
    #[error("cannot build the HTTP client: {0}")]
    Client(String),
}

/// What was delivered.
#[derive(Debug)]
pub struct Delivered {
    /// The report's directory.
    pub dir: PathBuf,
    /// Files written, in order.
    pub files: Vec<PathBuf>,
    /// The rebuilt index (archives only).
    pub index: Option<PathBuf>,
    /// What the message links to.
    pub link: String,
    /// The webhook's outcome (attempts made), when one is configured.
    pub webhook: Option<Result<u32, DeliveryError>>,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> WriteError + '_ {
    move |source| WriteError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Writes `contents` to `path` through a temporary file and a rename.
pub(crate) fn write_atomic(path: &Path, contents: &str) -> Result<(), WriteError> {
    let tmp = path.with_extension(format!(
        "{}.tmp",
        path.extension().and_then(|e| e.to_str()).unwrap_or("")
    ));
    std::fs::write(&tmp, contents).map_err(io(&tmp))?;
    std::fs::rename(&tmp, path).map_err(io(path))
}

/// Writes the report's files (and, for an archive, the index).
pub fn write(
    report: &Report,
    formats: &[ReportFormat],
    target: Target<'_>,
) -> Result<(PathBuf, Vec<PathBuf>, Option<PathBuf>), WriteError> {
    let dir = match target {
        Target::Directory(d) => d.to_path_buf(),
        Target::Archive(root) => root.join(&report.period.id),
    };
    std::fs::create_dir_all(&dir).map_err(io(&dir))?;
    let mut written = Vec::new();
    for f in render_files(report, formats)? {
        let path = dir.join(f.name);
        write_atomic(&path, &f.contents)?;
        written.push(path);
    }
    let index = match target {
        Target::Directory(_) => None,
        Target::Archive(root) => Some(write_index(root)?),
    };
    Ok((dir, written, index))
}

/// The reports archived under `root`: the manifest of each period directory, newest
/// period first. A root that does not exist yet holds none. A manifest that cannot be
/// read is skipped with a warning: one damaged week must not hide the others.
pub fn archived(root: &Path) -> Result<Vec<Manifest>, WriteError> {
    let entries = match std::fs::read_dir(root) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io(root)(e)),
    };
    let mut manifests = Vec::new();
    for entry in entries.flatten() {
        let path = entry.path().join(MANIFEST);
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        match serde_json::from_str::<Manifest>(&text) {
            // The directory is the period's id; a manifest copied elsewhere would
            // point readers at files that are not beside it.
            Ok(m) if entry.file_name().to_str() == Some(m.period.id.as_str()) => {
                manifests.push(m);
            }
            Ok(m) => tracing::warn!(
                "skipping {}: its period is {}, not its directory's name",
                path.display(),
                m.period.id
            ),
            Err(e) => tracing::warn!("skipping {} in the report archive: {e}", path.display()),
        }
    }
    manifests.sort_by(|a, b| b.period.id.cmp(&a.period.id));
    Ok(manifests)
}

/// The media type of an archived file, by its extension: what the API serves it as,
/// and the `Content-Type` of its copy in S3.
pub fn media_type(name: &str) -> &'static str {
    match name.rsplit('.').next() {
        Some("html") => "text/html; charset=utf-8",
        Some("md") => "text/markdown; charset=utf-8",
        Some("json") => "application/json",
        Some("csv") => "text/csv; charset=utf-8",
        _ => "application/octet-stream",
    }
}

/// Rebuilds `root/index.html` from the manifests of its subdirectories.
pub fn write_index(root: &Path) -> Result<PathBuf, WriteError> {
    let manifests = archived(root)?;
    let index = root.join("index.html");
    write_atomic(&index, &render_index(&manifests))?;
    Ok(index)
}

/// Writes the files, then posts the webhook message (when `webhook` is set). `sleep`
/// waits between attempts (tests pass a recorder instead of sleeping).
pub fn deliver(
    report: &Report,
    formats: &[ReportFormat],
    target: Target<'_>,
    link_base_url: Option<&str>,
    webhook: Option<&WebhookSettings>,
    sleep: &mut dyn FnMut(Duration),
) -> Result<Delivered, WriteError> {
    let (dir, files, index) = write(report, formats, target)?;
    let main = files
        .iter()
        .find(|p| p.ends_with("report.html"))
        .or(files.first())
        .and_then(|p| p.file_name())
        .map_or_else(
            || "report.html".to_owned(),
            |n| n.to_string_lossy().into_owned(),
        );
    let link = match (link_base_url, target) {
        (Some(base), Target::Archive(_)) => {
            format!("{}/{}/{main}", base.trim_end_matches('/'), report.period.id)
        }
        (Some(base), Target::Directory(_)) => format!("{}/{main}", base.trim_end_matches('/')),
        (None, _) => {
            let p = dir.join(&main);
            std::path::absolute(&p).unwrap_or(p).display().to_string()
        }
    };
    let webhook = webhook.map(|w| {
        let payload = slack_message(report, &link, w.top_items);
        post_webhook(w, &payload, sleep)
    });
    Ok(Delivered {
        dir,
        files,
        index,
        link,
        webhook,
    })
}

/// Posts `payload` as JSON, retrying with exponential backoff; returns the attempts
/// made. Blocking: an async caller runs it on a blocking thread.
pub fn post_webhook(
    settings: &WebhookSettings,
    payload: &serde_json::Value,
    sleep: &mut dyn FnMut(Duration),
) -> Result<u32, DeliveryError> {
    let client = reqwest::blocking::Client::builder()
        .timeout(settings.timeout)
        .connect_timeout(settings.timeout)
        .user_agent(concat!("adaptd/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| DeliveryError::Client(e.to_string()))?;
    let body = serde_json::to_vec(payload).map_err(|e| DeliveryError::Client(e.to_string()))?;
    let max = settings.max_attempts.max(1);
    let mut backoff = settings.initial_backoff;
    let mut last = String::new();
    for attempt in 1..=max {
        let sent = client
            .post(&settings.url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body.clone())
            .send();
        let mut wait = backoff;
        match sent {
            Ok(resp) if resp.status().is_success() => return Ok(attempt),
            Ok(resp) => {
                let status = resp.status().as_u16();
                let retry_after = resp
                    .headers()
                    .get(reqwest::header::RETRY_AFTER)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.trim().parse::<f64>().ok())
                    .filter(|s| s.is_finite() && *s >= 0.0)
                    .map(Duration::from_secs_f64);
                let text: String = resp.text().unwrap_or_default().chars().take(200).collect();
                if (400..500).contains(&status) && status != 408 && status != 429 {
                    return Err(DeliveryError::Rejected {
                        attempts: attempt,
                        status,
                        body: text,
                    });
                }
                if let Some(r) = retry_after {
                    wait = wait.max(r);
                }
                last = format!("HTTP {status}: {text}");
            }
            // The URL may itself be the secret (a Slack or Teams webhook): left out.
            Err(e) => last = error_chain(&e.without_url()),
        }
        if attempt == max {
            break;
        }
        let wait = wait.min(settings.max_backoff);
        tracing::warn!(
            "report webhook attempt {attempt}/{max} failed ({last}); retrying in {:.1} s",
            wait.as_secs_f64()
        );
        sleep(wait);
        backoff = (backoff * 2).min(settings.max_backoff);
    }
    tracing::warn!("report webhook attempt {max}/{max} failed ({last}); giving up");
    Err(DeliveryError::Exhausted {
        attempts: max,
        last,
    })
}

/// reqwest's message and its causes, which hold the useful part ("connection refused").
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cause = c.source();
    }
    s
}
