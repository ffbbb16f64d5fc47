//! `[report.s3]`: a copy of the report archive in an S3 bucket, for deployments whose
//! disk is not the place to keep reports (a pod without a volume, several replicas).

use serde::Deserialize;

use crate::check::{Bound, Check};
use crate::spans::join;

/// `[report.s3]`: every report written into the archive (its files, its
/// `manifest.json` and `recommendations.json`, and the archive's `index.html`) is also
/// put into this bucket, under `prefix`, with the AWS SDK's standard credential chain
/// (or `profile`), as the collectors reach AWS. The local archive stays the source: a
/// failed upload is logged and tried again at the next report, and the API serves the
/// local files either way.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct S3Section {
    /// The bucket (required; it must exist: adaptd does not create it).
    pub bucket: String,
    /// Key prefix of every object, such as `"adaptd/reports"`: a period's report is
    /// then `adaptd/reports/2026-11-23/report.html` and the index
    /// `adaptd/reports/index.html` (default `""`: at the bucket's root).
    pub prefix: String,
    /// The bucket's region (default: the standard chain's, `AWS_REGION` or the profile's).
    pub region: Option<String>,
    /// Endpoint override, for a VPC endpoint, an S3-compatible store or a local test
    /// server (`"http://127.0.0.1:5000"`); objects are then addressed by path
    /// (`ENDPOINT/BUCKET/KEY`). Default: AWS's.
    pub endpoint_url: Option<String>,
    /// Named profile of the shared AWS config files (default: the standard chain:
    /// environment, `AWS_PROFILE`, SSO, web identity, instance or pod role).
    pub profile: Option<String>,
    /// Attempts per request, the first included; throttling, 5xx answers and timeouts
    /// are retried with backoff (1–10; default 3).
    pub max_attempts: u32,
    /// Time allowed for one attempt, in seconds (> 0; default 30).
    pub timeout_seconds: f64,
}

impl Default for S3Section {
    fn default() -> Self {
        Self {
            bucket: String::new(),
            prefix: String::new(),
            region: None,
            endpoint_url: None,
            profile: None,
            max_attempts: 3,
            timeout_seconds: 30.0,
        }
    }
}

impl S3Section {
    /// The key of `name` (`PERIOD/FILE` or `index.html`) under the prefix.
    pub fn key(&self, name: &str) -> String {
        let prefix = self.prefix.trim_matches('/');
        if prefix.is_empty() {
            name.to_owned()
        } else {
            format!("{prefix}/{name}")
        }
    }

    /// `s3://BUCKET/PREFIX`, for messages.
    pub fn location(&self) -> String {
        format!("s3://{}/{}", self.bucket, self.key(""))
    }

    pub(crate) fn validate(&self, path: &str, ck: &mut Check<'_>) {
        let p = |k: &str| join(path, k);
        if ck.name(&p("bucket"), &self.bucket) {
            check_bucket(&p("bucket"), &self.bucket, ck);
        }
        if self.prefix.starts_with('/') || self.prefix.contains("//") {
            ck.err(
                &p("prefix"),
                format!(
                    "must not start with `/` or contain `//` (got \"{}\"; S3 keys are not paths)",
                    self.prefix
                ),
            );
        }
        if let Some(r) = &self.region {
            ck.name(&p("region"), r);
        }
        if let Some(u) = &self.endpoint_url {
            super::check_url(&p("endpoint_url"), u, ck);
        }
        if let Some(profile) = &self.profile {
            ck.name(&p("profile"), profile);
        }
        ck.num(
            &p("max_attempts"),
            f64::from(self.max_attempts),
            &[Bound::Ge(1.0), Bound::Le(10.0)],
        );
        ck.num(
            &p("timeout_seconds"),
            self.timeout_seconds,
            &[Bound::Gt(0.0)],
        );
    }
}

/// S3's rules for bucket names: 3–63 characters, lower-case letters, digits, `.` and
/// `-`, beginning and ending with a letter or digit.
fn check_bucket(path: &str, bucket: &str, ck: &mut Check<'_>) {
    let chars_ok = bucket
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-');
    let ends_ok = bucket
        .bytes()
        .next()
        .zip(bucket.bytes().last())
        .is_some_and(|(a, z)| a.is_ascii_alphanumeric() && z.is_ascii_alphanumeric());
    if !(3..=63).contains(&bucket.len()) || !chars_ok || !ends_ok {
        ck.err(
            path,
            format!(
                "not an S3 bucket name (got \"{bucket}\"; 3–63 lower-case letters, digits, `.` \
                 and `-`, beginning and ending with a letter or digit)"
            ),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_join_the_prefix_without_doubled_slashes() {
        let mut s = S3Section {
            bucket: "reports".into(),
            ..S3Section::default()
        };
        assert_eq!(s.key("index.html"), "index.html");
        s.prefix = "adaptd/reports/".into();
        assert_eq!(
            s.key("2026-11-23/report.html"),
            "adaptd/reports/2026-11-23/report.html"
        );
        assert_eq!(s.location(), "s3://reports/adaptd/reports/");
    }
}
