//! `ADAPTD_ROOT`: a config's files under another directory, as if it were `/`.
//!
//! The container image's config names the image's layout: it is read from
//! `/etc/adaptd/adaptd.toml` and keeps its store and reports under `/var/lib/adaptd`.
//! To run that very file outside the image — the deployment test does, and so can a
//! person trying the image's config on a laptop — `ADAPTD_ROOT=DIR` takes every
//! absolute path of it (and the `--config` path itself) under `DIR`:
//! `/var/lib/adaptd/adaptd.db` becomes `DIR/var/lib/adaptd/adaptd.db`. Nothing else of
//! the file changes, so what runs is what the image runs.
//!
//! Relative paths keep their meaning (relative to the config file's directory); once
//! rooted they are made absolute, so code that joins them to the un-rooted directory
//! of `--config` still lands under the root. Paths given on the command line other
//! than `--config` (`--telemetry`, `--out`) are the caller's and are taken as given.

use std::path::{Component, Path, PathBuf};

use crate::Config;

/// The environment variable naming the root.
pub const ROOT_ENV: &str = "ADAPTD_ROOT";

/// The root `ADAPTD_ROOT` names, when it is set and not empty.
pub fn root_from_env() -> Option<PathBuf> {
    std::env::var_os(ROOT_ENV)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

/// `path` under `root` when it is absolute (`/etc/x` → `ROOT/etc/x`); a relative path
/// is returned as it is.
pub fn under_root(root: &Path, path: &Path) -> PathBuf {
    if !path.is_absolute() {
        return path.to_path_buf();
    }
    let mut out = root.to_path_buf();
    for c in path.components() {
        match c {
            Component::RootDir | Component::Prefix(_) => {}
            other => out.push(other.as_os_str()),
        }
    }
    out
}

/// One path value of the config: absolute ones under `root`, relative ones joined to
/// `dir` (the rooted config file's directory).
fn reroot(value: &mut String, root: &Path, dir: &Path) {
    let p = Path::new(value.as_str());
    let rooted = if p.is_absolute() {
        under_root(root, p)
    } else {
        dir.join(p)
    };
    *value = rooted.to_string_lossy().into_owned();
}

fn reroot_opt(value: &mut Option<String>, root: &Path, dir: &Path) {
    if let Some(v) = value.as_mut() {
        reroot(v, root, dir);
    }
}

impl Config {
    /// Takes every file path of the config under `root` ([module docs](self)); `dir` is
    /// the directory of the config file as read (already under `root`). The paths are
    /// those the service and `adaptd report` open: the store, the report archive,
    /// local telemetry, token and secret files, the Prometheus collector's files and
    /// the price sheet. `[iac]` paths belong to a repository checkout and are left.
    pub fn reroot(&mut self, root: &Path, dir: &Path) {
        reroot(&mut self.store.sqlite_path, root, dir);
        reroot(&mut self.report.output_dir, root, dir);
        if let Some(t) = self.service.telemetry.as_mut() {
            match t.strip_prefix("azure2019:") {
                Some(rest) => {
                    let mut rest = rest.to_owned();
                    reroot(&mut rest, root, dir);
                    *t = format!("azure2019:{rest}");
                }
                None => reroot(t, root, dir),
            }
        }
        reroot_opt(&mut self.service.token_file, root, dir);
        for t in &mut self.service.tokens {
            reroot_opt(&mut t.token_file, root, dir);
        }
        reroot_opt(&mut self.alerts.hmac_secret_file, root, dir);
        if let Some(p) = self.collectors.prometheus.as_mut() {
            reroot_opt(&mut p.bearer_token_file, root, dir);
            reroot_opt(&mut p.ca_file, root, dir);
        }
        reroot_opt(&mut self.prices.sheet, root, dir);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absolute_paths_go_under_the_root_and_relative_ones_follow_the_file() {
        let text = "[store]\nsqlite_path = \"/var/lib/adaptd/adaptd.db\"\n[report]\noutput_dir = \"reports\"\n[service]\ntelemetry = \"azure2019:/data/azure\"\ntoken_file = \"/run/secrets/token\"\n";
        let mut c = Config::from_str(text, "t.toml").unwrap();
        c.reroot(Path::new("/tmp/r"), Path::new("/tmp/r/etc/adaptd"));
        assert_eq!(c.store.sqlite_path, "/tmp/r/var/lib/adaptd/adaptd.db");
        assert_eq!(c.report.output_dir, "/tmp/r/etc/adaptd/reports");
        assert_eq!(
            c.service.telemetry.as_deref(),
            Some("azure2019:/tmp/r/data/azure")
        );
        assert_eq!(
            c.service.token_file.as_deref(),
            Some("/tmp/r/run/secrets/token")
        );
        assert_eq!(
            under_root(Path::new("/r"), Path::new("rel/x")),
            Path::new("rel/x")
        );
    }

    #[test]
    fn load_reads_the_config_under_the_root() {
        let root = std::env::temp_dir().join(format!("adaptd-root-{}", std::process::id()));
        std::fs::create_dir_all(root.join("etc/adaptd")).unwrap();
        std::fs::write(
            root.join("etc/adaptd/adaptd.toml"),
            "[store]\nsqlite_path = \"/var/lib/adaptd/adaptd.db\"\n",
        )
        .unwrap();
        let c =
            Config::load_under(Some(root.as_path()), Path::new("/etc/adaptd/adaptd.toml")).unwrap();
        assert_eq!(
            Path::new(&c.store.sqlite_path),
            root.join("var/lib/adaptd/adaptd.db")
        );
        let _ = std::fs::remove_dir_all(&root);
    }
}
