//! Discovery: the functions of an account and region, and what is deployed for each.
//!
//! ListFunctions gives names, memory, architecture, runtime and layers; tags and the
//! reserved concurrency need GetFunction; aliases and provisioned concurrency need
//! their own list calls. All of it becomes component attributes, so that "current"
//! in every recommendation is what runs in the account, not what a config file says.
//! Event source mappings (listed once per region) tell queue and stream triggers.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use aws_sdk_lambda::types::{Architecture, FunctionConfiguration};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use super::client::Clients;
use super::config::Settings;
use super::cost::Meter;
use super::error::{Error, Scope, api_error};
use super::plan::{Facts, FunctionFacts, Provisioned};

/// A function or ECS service found, with its deployment.
#[derive(Clone, Debug)]
pub(crate) struct Found {
    /// Unqualified function ARN, or service ARN: the watermark key.
    pub arn: String,
    pub component: String,
    pub attributes: BTreeMap<String, String>,
    pub facts: Facts,
}

impl Found {
    /// Whether this is an ECS service (else a function).
    pub(crate) fn is_service(&self) -> bool {
        matches!(self.facts, Facts::Service(_))
    }

    /// Where failures about it are reported.
    pub(crate) fn scope(&self, account: &str, region: &str) -> Scope {
        let name = Some(self.facts.name());
        let (function, service) = if self.is_service() {
            (None, name)
        } else {
            (name, None)
        };
        Scope {
            account: account.to_owned(),
            region: Some(region.to_owned()),
            function,
            service,
        }
    }
}

/// Lambda Insights is an extension layer whose ARN names it.
fn has_insights(c: &FunctionConfiguration) -> bool {
    c.layers().iter().any(|l| {
        l.arn()
            .is_some_and(|a| a.contains("LambdaInsightsExtension"))
    })
}

/// The trigger kind of an event source, from its ARN's service.
fn trigger_of(event_source_arn: &str) -> Option<&'static str> {
    let service = event_source_arn.split(':').nth(2)?;
    match service {
        "sqs" | "mq" => Some("queue"),
        "kinesis" | "dynamodb" | "kafka" => Some("stream"),
        _ => None,
    }
}

/// Function ARN (unqualified) → trigger, from the region's event source mappings.
pub(crate) async fn triggers(
    clients: &Clients,
    scope: &Scope,
    meter: &Meter,
) -> Result<HashMap<String, &'static str>, Error> {
    let mut out = HashMap::new();
    let mut pages = clients
        .lambda
        .list_event_source_mappings()
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| api_error("ListEventSourceMappings", scope, &e, None))?;
        meter.call("ListEventSourceMappings");
        for m in page.event_source_mappings() {
            if let (Some(f), Some(src)) = (m.function_arn(), m.event_source_arn())
                && let Some(t) = trigger_of(src)
            {
                out.insert(unqualified(f).to_owned(), t);
            }
        }
    }
    Ok(out)
}

/// `arn:aws:lambda:r:a:function:name[:qualifier]` without the qualifier.
fn unqualified(arn: &str) -> &str {
    match arn.match_indices(':').nth(6) {
        Some((i, _)) => &arn[..i],
        None => arn,
    }
}

/// The names of the region's functions that the name filters select, with their
/// configuration from ListFunctions.
pub(crate) async fn list(
    clients: &Clients,
    settings: &Settings,
    scope: &Scope,
    meter: &Meter,
) -> Result<Vec<FunctionConfiguration>, Error> {
    let mut out = Vec::new();
    let mut pages = clients.lambda.list_functions().into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| api_error("ListFunctions", scope, &e, None))?;
        meter.call("ListFunctions");
        for f in page.functions() {
            if f.function_name().is_some_and(|n| settings.selects_name(n)) {
                out.push(f.clone());
            }
        }
    }
    Ok(out)
}

/// Reads each function's deployment, at most `max_concurrent_requests` at a time.
/// A function that fails is reported and left out; the others proceed.
pub(crate) async fn describe_all(
    clients: &Clients,
    settings: &Arc<Settings>,
    account: &str,
    functions: Vec<FunctionConfiguration>,
    triggers: &HashMap<String, &'static str>,
    meter: &Arc<Meter>,
) -> (Vec<Found>, Vec<Error>) {
    let limit = Arc::new(Semaphore::new(settings.max_concurrent_requests));
    let mut tasks = JoinSet::new();
    for (i, f) in functions.into_iter().enumerate() {
        let (clients, settings, meter, limit) = (
            clients.clone(),
            settings.clone(),
            meter.clone(),
            limit.clone(),
        );
        let account = account.to_owned();
        let trigger = f
            .function_arn()
            .and_then(|a| triggers.get(unqualified(a)).copied());
        tasks.spawn(async move {
            let _permit = limit.acquire_owned().await;
            (
                i,
                describe(&clients, &settings, &account, &f, trigger, &meter).await,
            )
        });
    }
    let mut found = Vec::new();
    let mut errors = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok((i, Ok(Some(f)))) => found.push((i, f)),
            Ok((_, Ok(None))) => {}
            Ok((_, Err(e))) => errors.push(e),
            Err(e) => errors.push(Error::Settings(format!("discovery task failed: {e}"))),
        }
    }
    // Keep ListFunctions' order so that runs are reproducible.
    found.sort_by_key(|(i, _)| *i);
    (found.into_iter().map(|(_, f)| f).collect(), errors)
}

/// One function's deployment; `None` when its tags do not match.
async fn describe(
    clients: &Clients,
    settings: &Settings,
    account: &str,
    listed: &FunctionConfiguration,
    trigger: Option<&'static str>,
    meter: &Meter,
) -> Result<Option<Found>, Error> {
    let name = listed.function_name().unwrap_or_default().to_owned();
    let scope = Scope {
        account: account.to_owned(),
        region: Some(clients.region.clone()),
        function: Some(name.clone()),
        service: None,
    };
    let got = clients
        .lambda
        .get_function()
        .function_name(&name)
        .send()
        .await
        .map_err(|e| api_error("GetFunction", &scope, &e, None))?;
    meter.call("GetFunction");
    let tags: BTreeMap<String, String> = got
        .tags()
        .map(|t| t.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default();
    if settings.filters_tags() && !settings.selects_tags(&tags) {
        return Ok(None);
    }
    let config = got.configuration().unwrap_or(listed);
    let arn = config
        .function_arn()
        .map(|a| unqualified(a).to_owned())
        .ok_or_else(|| Error::Malformed {
            operation: "GetFunction",
            scope: Box::new(scope.clone()),
            what: "no FunctionArn".into(),
        })?;

    let mut aliases = Vec::new();
    let mut pages = clients
        .lambda
        .list_aliases()
        .function_name(&name)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| api_error("ListAliases", &scope, &e, None))?;
        meter.call("ListAliases");
        for a in page.aliases() {
            if let (Some(n), Some(v)) = (a.name(), a.function_version()) {
                aliases.push(format!("{n}={v}"));
            }
        }
    }

    let mut provisioned = Vec::new();
    let mut pages = clients
        .lambda
        .list_provisioned_concurrency_configs()
        .function_name(&name)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page =
            page.map_err(|e| api_error("ListProvisionedConcurrencyConfigs", &scope, &e, None))?;
        meter.call("ListProvisionedConcurrencyConfigs");
        for c in page.provisioned_concurrency_configs() {
            let Some(q) = c
                .function_arn()
                .and_then(|a| a.match_indices(':').nth(6).map(|(i, _)| &a[i + 1..]))
            else {
                continue;
            };
            // What is configured: the requested count (allocation may lag behind it
            // while a change is in progress).
            let n = c
                .requested_provisioned_concurrent_executions()
                .or(c.allocated_provisioned_concurrent_executions())
                .unwrap_or(0);
            provisioned.push(Provisioned {
                qualifier: q.to_owned(),
                executions: u32::try_from(n).unwrap_or(0),
            });
        }
    }

    let mut attributes = BTreeMap::new();
    let mut put = |k: &str, v: String| {
        attributes.insert(k.to_owned(), v);
    };
    put("platform", "lambda".into());
    put("account", account.to_owned());
    put("region", clients.region.clone());
    put("function_arn", arn.clone());
    if let Some(id) = arn.split(':').nth(4) {
        put("aws_account_id", id.to_owned());
    }
    if let Some(m) = config.memory_size() {
        put("memory_mb", m.to_string());
    }
    let arch = match config.architectures().first() {
        Some(Architecture::Arm64) => "arm64",
        _ => "x86_64",
    };
    put("architecture", arch.into());
    if let Some(r) = config.runtime() {
        put("runtime", r.as_str().to_owned());
    }
    if let Some(t) = config.timeout() {
        put("timeout_seconds", t.to_string());
    }
    if let Some(r) = got
        .concurrency()
        .and_then(|c| c.reserved_concurrent_executions())
    {
        put("reserved_concurrency", r.to_string());
    }
    let total_pc: u32 = provisioned.iter().map(|p| p.executions).sum();
    if !provisioned.is_empty() {
        put("provisioned_concurrency", total_pc.to_string());
        let list: Vec<String> = provisioned
            .iter()
            .map(|p| format!("{}={}", p.qualifier, p.executions))
            .collect();
        put("provisioned_concurrency_by_qualifier", list.join(","));
    }
    if !aliases.is_empty() {
        put("aliases", aliases.join(","));
    }
    if let Some(t) = trigger {
        put("trigger", t.into());
    }
    for (k, v) in &tags {
        put(&format!("tag.{k}"), v.clone());
    }
    let insights = has_insights(config);
    if insights {
        put("lambda_insights", "true".into());
    }
    let component = settings.component(&name, account, &clients.region);
    Ok(Some(Found {
        arn,
        component,
        attributes,
        facts: Facts::Function(FunctionFacts {
            name,
            provisioned,
            insights,
        }),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arns_and_event_sources() {
        assert_eq!(
            unqualified("arn:aws:lambda:us-east-1:123456789012:function:f:live"),
            "arn:aws:lambda:us-east-1:123456789012:function:f"
        );
        assert_eq!(
            unqualified("arn:aws:lambda:us-east-1:123456789012:function:f"),
            "arn:aws:lambda:us-east-1:123456789012:function:f"
        );
        assert_eq!(trigger_of("arn:aws:sqs:us-east-1:1:q"), Some("queue"));
        assert_eq!(
            trigger_of("arn:aws:kinesis:us-east-1:1:stream/s"),
            Some("stream")
        );
        assert_eq!(trigger_of("arn:aws:s3:::b"), None);
    }
}
