//! Resolution: the configured and discovered components, with their rules applied,
//! turned into the engine's types.

use std::collections::BTreeMap;

use adaptd_engine::prices::PriceSheet;
use adaptd_engine::spec::{AccountSpec, ComponentSpec, DatabaseSpec, ModelParams, Slo};
use adaptd_engine::zone::Zone;

use crate::check::Problem;
use crate::components::Component;
use crate::discovered::{Discovered, merge};
use crate::optimizer::OptimizerSettings;
use crate::resources::{DEFAULT_ACCOUNT, DEFAULT_CONCURRENCY_LIMIT};
use crate::rules::{Facts, GuardrailRule, combine_guardrails};
use crate::{Config, ConfigErrors};

/// Everything the engine and the optimiser need, resolved from the config and
/// telemetry.
#[derive(Clone, Debug, PartialEq)]
pub struct Resolved {
    /// Configured ∪ discovered components, sorted by name.
    pub components: Vec<ComponentSpec>,
    /// Declared databases.
    pub databases: Vec<DatabaseSpec>,
    /// Declared accounts, then the implicit ones components use (limit 1000).
    pub accounts: Vec<AccountSpec>,
    /// The price sheet, overrides applied.
    pub prices: PriceSheet,
    /// Optimiser settings.
    pub optimizer: OptimizerSettings,
    /// Things the user should know: telemetry contradicting the config, assumed
    /// accounts, ignored attributes.
    pub warnings: Vec<String>,
}

impl Config {
    /// Resolves the configured components and those `discovered` in telemetry.
    ///
    /// Identity (account, environment, trigger, runtime) comes from the config, else
    /// telemetry, else `[defaults]`. The deployment comes from telemetry where it
    /// reports it (a warning names each contradiction of the declared `current`), else
    /// the config, else `[defaults]` (`current_is_known = false`). Errors are
    /// contradictions between matching guardrail rules and an unloaded price sheet.
    pub fn resolve(&self, discovered: &[Discovered]) -> Result<Resolved, ConfigErrors> {
        let mut errors: Vec<Problem> = Vec::new();
        let mut warnings = Vec::new();
        let prices = self.price_sheet();

        let mut by_name: BTreeMap<&str, (Option<&Component>, Option<&Discovered>)> =
            BTreeMap::new();
        for c in &self.components {
            by_name.entry(&c.name).or_default().0 = Some(c);
        }
        for d in discovered {
            let slot = &mut by_name.entry(&d.name).or_default().1;
            if slot.is_some() {
                warnings.push(format!(
                    "{}: reported twice by telemetry; using the first report",
                    d.name
                ));
            } else {
                *slot = Some(d);
            }
        }

        let mut accounts: Vec<AccountSpec> = self.accounts.iter().map(|a| a.spec()).collect();
        let mut components = Vec::with_capacity(by_name.len());
        for (name, (conf, disc)) in by_name {
            let attr = |k: &str| disc.and_then(|d| d.attr(k)).map(str::to_owned);
            let pick =
                |declared: Option<&String>, key: &str| declared.cloned().or_else(|| attr(key));
            let account = pick(conf.and_then(|c| c.account.as_ref()), "account")
                .unwrap_or_else(|| self.defaults.account().to_owned());
            if !accounts.iter().any(|a| a.name == account) {
                if account != DEFAULT_ACCOUNT {
                    warnings.push(format!(
                        "{name}: account `{account}` is not declared in [[accounts]]; assuming a concurrency limit of {DEFAULT_CONCURRENCY_LIMIT}"
                    ));
                }
                accounts.push(AccountSpec {
                    name: account.clone(),
                    concurrency_limit: DEFAULT_CONCURRENCY_LIMIT,
                });
            }
            let environment = pick(conf.and_then(|c| c.environment.as_ref()), "environment")
                .or_else(|| self.defaults.environment.clone());
            let trigger = pick(conf.and_then(|c| c.trigger.as_ref()), "trigger");
            let runtime = pick(conf.and_then(|c| c.runtime.as_ref()), "runtime");
            let tags = conf.map(|c| c.tags.clone()).unwrap_or_default();

            let observed = disc.map(|d| d.observed(&mut warnings)).unwrap_or_default();
            let declared = conf.and_then(|c| c.current.as_ref());
            let merged = merge(declared, &observed, &self.defaults);
            if !merged.differences.is_empty() {
                warnings.push(format!(
                    "{name}: the deployed configuration differs from the declared `current` ({}); using what is deployed",
                    merged.differences.join(", ")
                ));
            }

            let facts = Facts {
                name,
                environment: environment.as_deref(),
                trigger: trigger.as_deref(),
                account: &account,
                platform: merged.deployment.platform(),
                tags: &tags,
            };
            let mut slo = Slo::default();
            for rule in self.slo.iter().filter(|r| r.selector.matches(&facts)) {
                rule.objectives().apply(&mut slo);
            }
            let matching = self
                .guardrails
                .iter()
                .enumerate()
                .filter(|(_, r)| r.selector.matches(&facts));
            let zone = match self.zone_of(name, conf, matching.clone()) {
                Ok(z) => z,
                Err(problem) => {
                    errors.push(problem);
                    continue;
                }
            };
            let guardrails = match combine_guardrails(name, matching) {
                Ok(g) => g,
                Err(conflicts) => {
                    errors.extend(conflicts.into_iter().map(|(p, m)| Problem::new(p, m)));
                    continue;
                }
            };
            let mut model = ModelParams::default();
            self.model.apply(&mut model);
            // Facts telemetry reports about an ECS service; the config overrides them.
            if let Some(v) = attr("image_size_mb").and_then(|v| v.parse::<f64>().ok())
                && v.is_finite()
                && v > 0.0
            {
                model.fargate_image_size_mb = Some(v);
            }
            let load_balancer = conf
                .and_then(|c| c.load_balancer)
                .or_else(|| attr("load_balancer").map(|v| !matches!(v.as_str(), "false" | "0")))
                .unwrap_or(false);
            if let Some(c) = conf {
                c.slo.apply(&mut slo);
                c.model.apply(&mut model);
            }
            components.push(ComponentSpec {
                name: name.to_owned(),
                account,
                environment,
                tags,
                trigger,
                runtime,
                current: merged.deployment,
                current_is_known: merged.known,
                slo,
                guardrails,
                databases: conf.map(|c| c.databases.clone()).unwrap_or_default(),
                model,
                load_balancer,
                timezone: zone,
            });
        }

        let mut all = match &prices {
            Err(e) => e.errors.clone(),
            Ok(_) => Vec::new(),
        };
        all.extend(self.positioned(errors));
        match prices {
            Ok(prices) if all.is_empty() => Ok(Resolved {
                components,
                databases: self.databases.iter().map(|d| d.spec()).collect(),
                accounts,
                prices,
                optimizer: self.optimizer.clone(),
                warnings,
            }),
            _ => Err(ConfigErrors::new(all)),
        }
    }
}

impl Config {
    /// The zone of a component's schedules: its own, else that of its matching
    /// guardrail rules (which must agree), else `[defaults]`, else UTC. Names were
    /// validated at load; an invalid one here falls back to UTC.
    fn zone_of<'a>(
        &self,
        name: &str,
        conf: Option<&Component>,
        matching: impl Iterator<Item = (usize, &'a GuardrailRule)>,
    ) -> Result<Zone, Problem> {
        let parse = |s: &str| s.parse::<Zone>().unwrap_or_default();
        if let Some(z) = conf.and_then(|c| c.timezone.as_deref()) {
            return Ok(parse(z));
        }
        let mut chosen: Option<(usize, &str)> = None;
        for (i, rule) in matching {
            let Some(z) = rule.timezone.as_deref() else {
                continue;
            };
            match chosen {
                Some((j, other)) if parse(other) != parse(z) => {
                    return Err(Problem::new(
                        format!("guardrails[{i}].timezone"),
                        format!(
                            "component `{name}`: the matching guardrail rules name different time zones (`{z}` here, `{other}` in rule `{}`); set `timezone` on the component or make the rules agree",
                            self.guardrails[j].name
                        ),
                    ));
                }
                Some(_) => {}
                None => chosen = Some((i, z)),
            }
        }
        Ok(chosen
            .map(|(_, z)| z)
            .or(self.defaults.timezone.as_deref())
            .map_or(Zone::UTC, parse))
    }
}
