//! The layer rules of ARCHITECTURE.md, held against the code: every dependency between
//! workspace crates in a `Cargo.toml` must be an arrow of the document's table, every
//! arrow of the table must exist, and every crate must have its line. The table is
//! read from the document itself, so the two cannot drift apart.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn read_toml(path: &Path) -> toml::Table {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.parse()
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Every workspace member: its package name and its manifest.
fn members() -> Vec<(String, toml::Table)> {
    let root = read_toml(&repo().join("Cargo.toml"));
    let members = root["workspace"]["members"]
        .as_array()
        .expect("workspace.members is a list");
    members
        .iter()
        .map(|m| {
            let dir = m.as_str().expect("a member is a path");
            let manifest = read_toml(&repo().join(dir).join("Cargo.toml"));
            let name = manifest["package"]["name"]
                .as_str()
                .expect("package.name")
                .to_owned();
            (name, manifest)
        })
        .collect()
}

/// The names a manifest depends on, of every kind and target.
fn dependencies(manifest: &toml::Table) -> BTreeSet<String> {
    const KINDS: [&str; 3] = ["dependencies", "dev-dependencies", "build-dependencies"];
    let mut tables: Vec<&toml::Table> = KINDS
        .iter()
        .filter_map(|k| manifest.get(*k)?.as_table())
        .collect();
    if let Some(targets) = manifest.get("target").and_then(|t| t.as_table()) {
        for target in targets.values().filter_map(|t| t.as_table()) {
            tables.extend(KINDS.iter().filter_map(|k| target.get(*k)?.as_table()));
        }
    }
    tables
        .into_iter()
        .flat_map(|t| {
            t.iter().map(|(key, spec)| {
                // A renamed dependency names its package.
                spec.get("package")
                    .and_then(|p| p.as_str())
                    .unwrap_or(key)
                    .to_owned()
            })
        })
        .collect()
}

/// The rows of the markdown table under `heading`, as their cells, backticks removed.
fn table(doc: &str, heading: &str) -> Vec<Vec<String>> {
    let start = doc
        .find(heading)
        .unwrap_or_else(|| panic!("ARCHITECTURE.md has no `{heading}`"));
    doc[start..]
        .lines()
        .skip_while(|l| !l.starts_with('|'))
        .take_while(|l| l.starts_with('|'))
        .skip(2) // the header and its rule
        .map(|l| {
            l.trim_matches('|')
                .split('|')
                .map(|c| c.trim().trim_matches('`').to_owned())
                .collect()
        })
        .collect()
}

#[test]
fn every_dependency_between_crates_is_an_allowed_arrow_and_every_arrow_exists() {
    let doc = std::fs::read_to_string(repo().join("ARCHITECTURE.md")).expect("ARCHITECTURE.md");
    let allowed: BTreeSet<(String, String)> = table(&doc, "## The allowed arrows")
        .into_iter()
        .map(|row| (row[0].clone(), row[1].clone()))
        .collect();
    assert!(!allowed.is_empty(), "the table of arrows is empty");
    let members = members();
    let crates: BTreeSet<&str> = members.iter().map(|(n, _)| n.as_str()).collect();
    let mut actual = BTreeSet::new();
    for (name, manifest) in &members {
        for dep in dependencies(manifest) {
            if crates.contains(dep.as_str()) {
                actual.insert((name.clone(), dep));
            }
        }
    }
    let undrawn: Vec<String> = actual
        .difference(&allowed)
        .map(|(a, b)| format!("{a} -> {b}"))
        .collect();
    assert!(
        undrawn.is_empty(),
        "dependencies that ARCHITECTURE.md does not allow (add the arrow with its reason, or drop the dependency): {undrawn:?}"
    );
    let stale: Vec<String> = allowed
        .difference(&actual)
        .map(|(a, b)| format!("{a} -> {b}"))
        .collect();
    assert!(
        stale.is_empty(),
        "arrows of ARCHITECTURE.md that no Cargo.toml has (remove them): {stale:?}"
    );
}

#[test]
fn every_crate_has_its_line() {
    let doc = std::fs::read_to_string(repo().join("ARCHITECTURE.md")).expect("ARCHITECTURE.md");
    let described: BTreeSet<String> = table(&doc, "## The crates")
        .into_iter()
        .map(|row| row[0].clone())
        .collect();
    let crates: BTreeSet<String> = members().into_iter().map(|(n, _)| n).collect();
    assert_eq!(
        described, crates,
        "ARCHITECTURE.md's crates against the workspace"
    );
}
