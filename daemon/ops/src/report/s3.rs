//! The report archive's copy in S3 (`[report.s3]`).
//!
//! The local archive stays the source of truth: this puts into the bucket every
//! archived file the bucket has not had yet, each period's files first and the index
//! last (so the bucket's index never links to a missing object). What was put, and as
//! which version of the file (its size and modification time; files are replaced by
//! rename, so a rewritten report has a new time), is recorded in
//! `ARCHIVE/.s3-uploaded.json` after each run. A file whose upload fails is logged
//! and left out of the record, so the next run tries it again; nothing local is
//! touched. A different bucket or prefix starts the record afresh.
//!
//! Credentials, region, endpoint, retries and timeouts come from the same SDK loader
//! as the collectors' and the actuator's ([`adaptd_aws::sdk_loader`]).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, UNIX_EPOCH};

use adaptd_config::S3Section;
use aws_sdk_s3::error::DisplayErrorContext;
use aws_sdk_s3::primitives::ByteStream;
use serde::{Deserialize, Serialize};
use tracing::Instrument;

use super::deliver::{WriteError, archived, media_type, write_atomic};
use super::scheduled::RECOMMENDATIONS;
use adaptd_report::MANIFEST;

/// The record of what is in the bucket, in the archive's root.
pub const UPLOADED: &str = ".s3-uploaded.json";

/// What a run put, and what it could not.
#[derive(Debug, Default)]
pub struct Uploaded {
    /// `s3://BUCKET/PREFIX/`.
    pub location: String,
    /// Keys put in this run, in order.
    pub put: Vec<String>,
    /// Files already in the bucket as they are now.
    pub unchanged: usize,
    /// Keys that could not be put, with why; tried again at the next run.
    pub failed: Vec<(String, String)>,
}

/// Why nothing could be uploaded.
#[derive(Debug, thiserror::Error)]
pub enum UploadError {
    /// The archive's directory could not be listed.
    #[error("cannot list the report archive: {0}")]
    Archive(#[from] WriteError),
}

/// The record: the location it is for, and name → (size, modified ns) as put.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Record {
    location: String,
    objects: BTreeMap<String, (u64, u128)>,
}

/// An archived file: its name under the archive (`PERIOD/FILE`, `index.html`), its
/// path, and its version stamp.
struct Local {
    name: String,
    path: PathBuf,
    stamp: Option<(u64, u128)>,
}

fn stamp(path: &Path) -> Option<(u64, u128)> {
    let meta = std::fs::metadata(path).ok()?;
    let modified = meta.modified().ok()?.duration_since(UNIX_EPOCH).ok()?;
    Some((meta.len(), modified.as_nanos()))
}

/// The files of the archive at `root` to keep in the bucket, oldest period first,
/// the index last.
fn files(root: &Path) -> Result<Vec<Local>, WriteError> {
    let mut out = Vec::new();
    let mut periods = archived(root)?;
    periods.reverse();
    for m in periods {
        let id = &m.period.id;
        let names = m
            .files
            .iter()
            .map(String::as_str)
            .chain([MANIFEST, RECOMMENDATIONS]);
        for file in names {
            let path = root.join(id).join(file);
            if path.is_file() {
                out.push(Local {
                    name: format!("{id}/{file}"),
                    stamp: stamp(&path),
                    path,
                });
            }
        }
    }
    let index = root.join("index.html");
    if index.is_file() {
        out.push(Local {
            name: "index.html".to_owned(),
            stamp: stamp(&index),
            path: index,
        });
    }
    Ok(out)
}

fn read_record(root: &Path, location: &str) -> Record {
    let path = root.join(UPLOADED);
    let record = std::fs::read_to_string(&path).ok().and_then(|t| {
        match serde_json::from_str::<Record>(&t) {
            Ok(r) => Some(r),
            Err(e) => {
                tracing::warn!(
                    "{} is unreadable ({e}); uploading everything",
                    path.display()
                );
                None
            }
        }
    });
    match record {
        Some(r) if r.location == location => r,
        _ => Record {
            location: location.to_owned(),
            objects: BTreeMap::new(),
        },
    }
}

/// The S3 client for `s3`: the shared SDK loader; path-style addressing when the
/// endpoint is overridden (a local server has no per-bucket host names).
pub async fn client(s3: &S3Section) -> aws_sdk_s3::Client {
    let sdk = adaptd_aws::sdk_loader(&adaptd_aws::Access {
        endpoint_url: s3.endpoint_url.as_deref(),
        profile: s3.profile.as_deref(),
        region: s3.region.as_deref(),
        credentials: None,
        max_attempts: s3.max_attempts,
        timeout: Duration::from_secs_f64(s3.timeout_seconds),
    })
    .load()
    .await;
    let config = aws_sdk_s3::config::Builder::from(&sdk)
        .force_path_style(s3.endpoint_url.is_some())
        .build();
    aws_sdk_s3::Client::from_conf(config)
}

/// Puts every file of the archive at `root` that the bucket lacks (see the module's
/// documentation). Failures of single files are in the result, each logged.
pub async fn upload_archive(root: &Path, s3: &S3Section) -> Result<Uploaded, UploadError> {
    let location = s3.location();
    let local = files(root)?;
    let mut record = read_record(root, &location);
    let mut out = Uploaded {
        location,
        ..Uploaded::default()
    };
    let client = client(s3).await;
    for f in &local {
        if f.stamp.is_some() && record.objects.get(&f.name) == f.stamp.as_ref() {
            out.unchanged += 1;
            continue;
        }
        let key = s3.key(&f.name);
        // The index links to every period: put it only when they all are there.
        if f.name == "index.html" && !out.failed.is_empty() {
            out.failed.push((
                key,
                "left for the next run: a period's file failed".to_owned(),
            ));
            continue;
        }
        let span = tracing::info_span!("report_upload", key = %key);
        match put(&client, s3, &key, f).instrument(span).await {
            Ok(()) => {
                if let Some(s) = f.stamp {
                    record.objects.insert(f.name.clone(), s);
                }
                tracing::debug!("put s3://{}/{key}", s3.bucket);
                out.put.push(key);
            }
            Err(e) => {
                tracing::warn!(
                    "report upload: cannot put s3://{}/{key} ({e}); it is kept locally and tried again at the next report",
                    s3.bucket
                );
                out.failed.push((key, e));
            }
        }
    }
    if !out.put.is_empty() {
        let text = serde_json::to_string_pretty(&record).unwrap_or_default();
        if let Err(e) = write_atomic(&root.join(UPLOADED), &(text + "\n")) {
            tracing::warn!("report upload: {e}; the next run puts these files again");
        }
    }
    Ok(out)
}

async fn put(
    client: &aws_sdk_s3::Client,
    s3: &S3Section,
    key: &str,
    f: &Local,
) -> Result<(), String> {
    let bytes = std::fs::read(&f.path).map_err(|e| format!("{}: {e}", f.path.display()))?;
    client
        .put_object()
        .bucket(&s3.bucket)
        .key(key)
        .content_type(media_type(&f.name))
        .body(ByteStream::from(bytes))
        .send()
        .await
        .map(drop)
        .map_err(|e| DisplayErrorContext(e).to_string())
}
