//! `[[accounts]]` and `[[databases]]`: the shared resources components reference.

use std::collections::BTreeMap;

use adaptd_engine::spec::{AccountSpec, DatabaseSpec};
use serde::Deserialize;

use crate::check::{Bound, Check};
use crate::spans::{index, join};

/// The account every component belongs to unless told otherwise. It need not be
/// declared: undeclared, it has AWS's default limit of 1,000.
pub const DEFAULT_ACCOUNT: &str = "default";

/// AWS's default concurrent-executions quota.
pub const DEFAULT_CONCURRENCY_LIMIT: u32 = 1_000;

/// An AWS account (per region): its Lambda functions share one concurrency limit.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Account {
    /// Key that components reference with `account = "…"` (required, unique).
    pub name: String,
    /// The account's concurrent-executions quota (>= 100, since AWS keeps 100
    /// unreserved; default 1000).
    pub concurrency_limit: Option<u32>,
}

impl Account {
    /// The engine's view.
    pub fn spec(&self) -> AccountSpec {
        AccountSpec {
            name: self.name.clone(),
            concurrency_limit: self.concurrency_limit.unwrap_or(DEFAULT_CONCURRENCY_LIMIT),
        }
    }
}

/// A relational database that components connect to.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Database {
    /// Key that components reference in `databases = ["…"]` (required, unique).
    pub name: String,
    /// Connections the database accepts (required, >= 1).
    pub max_connections: u32,
    /// vCPUs of the instance; RDS Proxy is billed per vCPU of its target (required,
    /// >= 1).
    pub vcpus: u32,
    /// Whether an RDS Proxy already fronts the database (default false).
    pub has_proxy: bool,
    /// Connections kept for other clients: admin, migrations, other services
    /// (default 0; less than `max_connections`).
    pub reserved_connections: u32,
}

impl Database {
    /// The engine's view.
    pub fn spec(&self) -> DatabaseSpec {
        DatabaseSpec {
            name: self.name.clone(),
            max_connections: self.max_connections,
            vcpus: self.vcpus,
            has_proxy: self.has_proxy,
            reserved_connections: self.reserved_connections,
        }
    }
}

/// Checks that every element of a named list has a unique, non-empty name; returns
/// the names with their paths.
pub(crate) fn unique_names<'a>(
    list: &str,
    what: &str,
    names: impl Iterator<Item = &'a str>,
    ck: &mut Check<'_>,
) -> BTreeMap<String, String> {
    let mut seen: BTreeMap<String, String> = BTreeMap::new();
    for (i, name) in names.enumerate() {
        let path = join(&index(list, i), "name");
        if !ck.name(&path, name) {
            continue;
        }
        if let Some(first) = seen.get(name) {
            let line = ck.line(first);
            ck.err(
                &path,
                format!("duplicate {what} name `{name}` (first defined at line {line})"),
            );
        } else {
            seen.insert(name.to_owned(), path);
        }
    }
    seen
}

pub(crate) fn validate_accounts(accounts: &[Account], ck: &mut Check<'_>) {
    unique_names(
        "accounts",
        "account",
        accounts.iter().map(|a| a.name.as_str()),
        ck,
    );
    for (i, a) in accounts.iter().enumerate() {
        if let Some(limit) = a.concurrency_limit {
            let path = join(&index("accounts", i), "concurrency_limit");
            if limit < AccountSpec::UNRESERVED_MINIMUM {
                ck.err(
                    &path,
                    format!(
                        "must be >= 100, since AWS keeps 100 executions unreserved (got {limit})"
                    ),
                );
            }
        }
    }
}

pub(crate) fn validate_databases(databases: &[Database], ck: &mut Check<'_>) {
    unique_names(
        "databases",
        "database",
        databases.iter().map(|d| d.name.as_str()),
        ck,
    );
    for (i, d) in databases.iter().enumerate() {
        let p = index("databases", i);
        for (key, v) in [("max_connections", d.max_connections), ("vcpus", d.vcpus)] {
            let path = join(&p, key);
            if ck.require(&path, false, "") {
                ck.num(&path, f64::from(v), &[Bound::Ge(1.0)]);
            }
        }
        if d.max_connections > 0 && d.reserved_connections >= d.max_connections {
            ck.err(
                &join(&p, "reserved_connections"),
                format!(
                    "must be less than max_connections (got {}, max_connections {})",
                    d.reserved_connections, d.max_connections
                ),
            );
        }
    }
}
