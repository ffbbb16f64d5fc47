//! CloudFormation and SAM templates, YAML or JSON: memory, architecture, reserved and
//! provisioned concurrency of `AWS::Lambda::Function` (with its `AWS::Lambda::Alias`)
//! and `AWS::Serverless::Function` (with `AutoPublishAlias` and SAM `Globals`); task
//! size and count of `AWS::ECS::Service` on Fargate (see [`ecs`]).
//!
//! Values are replaced at their spans in the text, so YAML comments and layout stay; a
//! value given by `!Ref Param` is patched at the parameter's `Default`.

mod ecs;
mod schedule;
mod text;
mod tree;

use std::collections::BTreeMap;

use adaptd_engine::spec::{Deployment, LambdaConfig, Provisioned};
use adaptd_engine::zone::Zone;

use crate::edit::line_of;
use crate::model::{Plan, Suggestion, SuggestionKind};
use crate::{Edit, IacError, Options, Recommendation};
use text::Change;
use tree::{Kind, Node};

const LAMBDA: &str = "AWS::Lambda::Function";
const SAM: &str = "AWS::Serverless::Function";

/// One template.
#[derive(Debug)]
pub(crate) struct Template {
    pub(crate) path: String,
    pub(crate) text: String,
    pub(crate) root: Node,
    pub(crate) json: bool,
}

/// Every template of the repository.
#[derive(Debug)]
pub(crate) struct Templates {
    list: Vec<Template>,
}

/// Whether a YAML or JSON file looks like a template worth parsing.
fn looks_like_template(text: &str) -> bool {
    text.contains("AWSTemplateFormatVersion")
        || text.contains("AWS::Serverless")
        || (text.contains("Resources")
            && (text.contains("AWS::Lambda::") || text.contains("AWS::ECS::Service")))
}

impl Templates {
    pub(crate) fn load(files: &BTreeMap<String, String>) -> Result<Templates, IacError> {
        let mut list = Vec::new();
        for (path, text) in files {
            let lower = path.to_ascii_lowercase();
            let json = lower.ends_with(".json");
            let yaml = [".yaml", ".yml", ".template"]
                .iter()
                .any(|e| lower.ends_with(e));
            if !(json || yaml) || !looks_like_template(text) {
                continue;
            }
            let root = tree::parse(text).map_err(|(at, message)| {
                let (line, col) = line_of(text, at);
                IacError::Parse {
                    file: path.clone(),
                    line,
                    col,
                    what: if json { "JSON" } else { "YAML" },
                    message,
                }
            })?;
            if let Some(root) = root.filter(|r| r.get("Resources").is_some()) {
                list.push(Template {
                    path: path.clone(),
                    text: text.clone(),
                    root,
                    json,
                });
            }
        }
        Ok(Templates { list })
    }

    /// Every `FILE#LogicalId` named by a mapping must exist.
    pub(crate) fn check_mappings(&self, options: &Options) -> Result<(), IacError> {
        for (component, m) in &options.mappings {
            for r in &m.cloudformation {
                let Some((file, id)) = r.split_once('#') else {
                    return Err(IacError::Mapping {
                        component: component.clone(),
                        message: format!("`{r}` is not FILE#LogicalId"),
                    });
                };
                let t =
                    self.list
                        .iter()
                        .find(|t| t.path == file)
                        .ok_or_else(|| IacError::Mapping {
                            component: component.clone(),
                            message: format!(
                                "`{file}` is not a CloudFormation template of the repository"
                            ),
                        })?;
                if t.root.get("Resources").and_then(|r| r.get(id)).is_none() {
                    return Err(IacError::Mapping {
                        component: component.clone(),
                        message: format!("`{file}` has no resource `{id}`"),
                    });
                }
            }
        }
        Ok(())
    }

    /// Plans the template side of one recommendation; returns what it found.
    pub(crate) fn patch(
        &self,
        rec: &Recommendation,
        options: &Options,
        plan: &mut Plan,
    ) -> Vec<String> {
        let mut found = Vec::new();
        for t in &self.list {
            for id in t.functions(&rec.component, options) {
                found.push(format!("{}#{id}", t.path));
                if let (Some(c), Some(n)) = (&rec.current, &rec.recommended)
                    && let (Deployment::Lambda(c), Deployment::Lambda(n)) =
                        (&c.deployment, &n.deployment)
                {
                    t.lambda(rec, &id, c, n, plan);
                }
            }
            for id in t.services(&rec.component, options) {
                found.push(format!("{}#{id}", t.path));
                if let (Some(c), Some(n)) = (&rec.current, &rec.recommended)
                    && let (Deployment::Fargate(c), Deployment::Fargate(n)) =
                        (&c.deployment, &n.deployment)
                {
                    t.fargate(rec, &id, c, n, plan);
                }
            }
        }
        found
    }
}

/// Where one change goes, or why it cannot.
type Outcome = Result<Change, String>;

impl Template {
    fn resources(&self) -> &[(Node, Node)] {
        self.root.get("Resources").map_or(&[], Node::entries)
    }

    fn resource(&self, id: &str) -> Option<&Node> {
        self.root.get("Resources")?.get(id)
    }

    fn rtype(node: &Node) -> Option<&str> {
        node.get("Type")?.scalar()
    }

    /// Logical ids of the component's functions: mapped, named or tagged.
    fn functions(&self, component: &str, options: &Options) -> Vec<String> {
        self.of_type(component, options, &[LAMBDA, SAM], "FunctionName")
    }

    /// Logical ids of the component's resources of `types`: mapped, named (`name_key`)
    /// or tagged.
    fn of_type(
        &self,
        component: &str,
        options: &Options,
        types: &[&str],
        name_key: &str,
    ) -> Vec<String> {
        let mapping = options.mappings.get(component);
        let name = mapping
            .and_then(|m| m.function_name.as_deref())
            .unwrap_or(component);
        if let Some(m) = mapping.filter(|m| !m.cloudformation.is_empty()) {
            return m
                .cloudformation
                .iter()
                .filter_map(|r| r.split_once('#'))
                .filter(|(f, _)| *f == self.path)
                .filter(|(_, id)| {
                    self.resource(id)
                        .and_then(Self::rtype)
                        .is_some_and(|t| types.contains(&t))
                })
                .map(|(_, id)| id.to_owned())
                .collect();
        }
        self.resources()
            .iter()
            .filter(|(_, r)| Self::rtype(r).is_some_and(|t| types.contains(&t)))
            .filter(|(_, r)| {
                let props = r.get("Properties");
                let named =
                    props.and_then(|p| p.get(name_key)).and_then(Node::scalar) == Some(name);
                named || props.is_some_and(|p| tagged(p, component, &options.tag_keys))
            })
            .filter_map(|(k, _)| k.scalar().map(str::to_owned))
            .collect()
    }

    fn lambda(
        &self,
        rec: &Recommendation,
        id: &str,
        c: &LambdaConfig,
        n: &LambdaConfig,
        plan: &mut Plan,
    ) {
        let Some(res) = self.resource(id) else { return };
        let sam = Self::rtype(res) == Some(SAM);
        let record = |plan: &mut Plan, field: &str, from: String, to: String, out: Outcome| {
            self.record(rec, id, plan, (field, from, to), out);
        };
        if c.memory_mb != n.memory_mb {
            let out = self.set_property(id, sam, "MemorySize", &n.memory_mb.to_string(), false);
            record(
                plan,
                "memory_mb",
                c.memory_mb.to_string(),
                n.memory_mb.to_string(),
                out,
            );
        }
        if c.architecture != n.architecture {
            let out = self.set_architecture(id, sam, n.architecture.as_str());
            record(
                plan,
                "architecture",
                c.architecture.to_string(),
                n.architecture.to_string(),
                out,
            );
        }
        if c.reserved_concurrency != n.reserved_concurrency {
            let (from, to) = (
                c.reserved_concurrency
                    .map_or("none".into(), |v| v.to_string()),
                n.reserved_concurrency
                    .map_or("none".into(), |v| v.to_string()),
            );
            let out = match n.reserved_concurrency {
                Some(v) => self.set_property(
                    id,
                    sam,
                    "ReservedConcurrentExecutions",
                    &v.to_string(),
                    false,
                ),
                None => self.remove_property(id, "ReservedConcurrentExecutions"),
            };
            record(plan, "reserved_concurrency", from, to, out);
        }
        if c.provisioned != n.provisioned {
            let (from, to) = (describe(&c.provisioned), describe(&n.provisioned));
            for out in self.provisioned(id, sam, &n.provisioned, &rec.component, rec.timezone) {
                record(
                    plan,
                    "provisioned_concurrency",
                    from.clone(),
                    to.clone(),
                    out,
                );
            }
        }
    }

    /// Puts one change of resource `id` in the plan, or a suggestion saying why not.
    fn record(
        &self,
        rec: &Recommendation,
        id: &str,
        plan: &mut Plan,
        (field, from, to): (&str, String, String),
        out: Outcome,
    ) {
        match out {
            Ok(change) => {
                let (line, _) = line_of(&self.text, change.range.start);
                plan.edits.push(Edit {
                    file: self.path.clone(),
                    range: change.range,
                    replacement: change.text,
                    component: rec.component.clone(),
                    field: field.to_owned(),
                    description: format!(
                        "{field}: {from} → {to} at {}:{line} ({}#{id}{})",
                        self.path, self.path, change.via
                    ),
                });
            }
            Err(reason) => plan.suggestions.push(Suggestion {
                component: rec.component.clone(),
                field: field.to_owned(),
                kind: SuggestionKind::Manual,
                from,
                to,
                reason: format!("{}#{id}: {reason}", self.path),
            }),
        }
    }

    fn provisioned(
        &self,
        id: &str,
        sam: bool,
        p: &Provisioned,
        component: &str,
        zone: Zone,
    ) -> Vec<Outcome> {
        let n = match p {
            Provisioned::Hourly(h) => return self.hourly(id, sam, h, component, zone),
            Provisioned::Constant(n) => Some(*n),
            Provisioned::None => None,
        };
        // A schedule adaptd wrote earlier would override the fixed level.
        let mut out: Vec<Outcome> = self.remove_target(id).into_iter().collect();
        out.extend(self.fixed(id, sam, n));
        out
    }

    fn fixed(&self, id: &str, sam: bool, n: Option<u32>) -> Vec<Outcome> {
        let (holder, what) = if sam {
            (id.to_owned(), "the function")
        } else {
            match self.alias_of(id) {
                Some(a) => (a, "its alias"),
                None => {
                    return vec![Err(
                        "provisioned concurrency needs an AWS::Lambda::Alias (or a SAM \
                         AutoPublishAlias), and the template has none for this function"
                            .to_owned(),
                    )];
                }
            }
        };
        let Some(n) = n else {
            return vec![self.remove_property(&holder, "ProvisionedConcurrencyConfig")];
        };
        let mut out = Vec::new();
        if sam
            && self.property(id, "AutoPublishAlias").is_none()
            && self.global("AutoPublishAlias").is_none()
        {
            out.push(self.set_property(id, sam, "AutoPublishAlias", "live", true));
        }
        let config = self.property(&holder, "ProvisionedConcurrencyConfig");
        out.push(
            match config.and_then(|c| c.get("ProvisionedConcurrentExecutions")) {
                Some(v) => self.value_change(v, &n.to_string(), false),
                None if config.is_some() => Err(format!(
                    "ProvisionedConcurrencyConfig of {what} has no ProvisionedConcurrentExecutions"
                )),
                None => self.insert_entry(
                    self.resource(&holder).and_then(|r| r.get("Properties")),
                    "ProvisionedConcurrencyConfig",
                    &text::Value::Map(vec![(
                        "ProvisionedConcurrentExecutions".to_owned(),
                        n.to_string(),
                    )]),
                    self.json,
                ),
            },
        );
        out
    }

    /// The `AWS::Lambda::Alias` whose FunctionName refers to `id`.
    fn alias_of(&self, id: &str) -> Option<String> {
        self.resources()
            .iter()
            .filter(|(_, r)| Self::rtype(r) == Some("AWS::Lambda::Alias"))
            .find(|(_, r)| {
                r.get("Properties")
                    .and_then(|p| p.get("FunctionName"))
                    .is_some_and(|f| match f.intrinsic() {
                        Some(("Ref", v)) => scalar_text(v) == Some(id),
                        _ => false,
                    })
            })
            .and_then(|(k, _)| k.scalar().map(str::to_owned))
    }

    fn property(&self, id: &str, key: &str) -> Option<&Node> {
        self.resource(id)?.get("Properties")?.get(key)
    }

    fn global(&self, key: &str) -> Option<&Node> {
        self.root.get("Globals")?.get("Function")?.get(key)
    }

    /// Functions of the template that take `key` from `Globals`.
    fn inheriting(&self, key: &str) -> usize {
        self.resources()
            .iter()
            .filter(|(_, r)| Self::rtype(r) == Some(SAM))
            .filter(|(_, r)| r.get("Properties").and_then(|p| p.get(key)).is_none())
            .count()
    }

    /// Sets a property: where it is written, at `Globals` when only this function takes
    /// it from there, else as a new property of the function.
    fn set_property(&self, id: &str, sam: bool, key: &str, value: &str, quoted: bool) -> Outcome {
        if let Some(v) = self.property(id, key) {
            return self.value_change(v, value, quoted);
        }
        if sam
            && let Some(g) = self.global(key)
            && self.inheriting(key) == 1
        {
            return self.value_change(g, value, quoted).map(|mut c| {
                c.via = format!(
                    "{}, in Globals.Function (no other function inherits it)",
                    c.via
                );
                c
            });
        }
        let v = if quoted {
            text::Value::Str(value.to_owned())
        } else {
            text::Value::Plain(value.to_owned())
        };
        self.insert_entry(
            self.resource(id).and_then(|r| r.get("Properties")),
            key,
            &v,
            self.json,
        )
    }

    fn set_architecture(&self, id: &str, sam: bool, arch: &str) -> Outcome {
        let node = self.property(id, "Architectures").or_else(|| {
            if sam {
                self.global("Architectures")
            } else {
                None
            }
        });
        match node.map(|n| &n.kind) {
            Some(Kind::Seq(items)) if items.len() == 1 => {
                let inherited = self.property(id, "Architectures").is_none();
                // SAM appends a function's lists to the Globals lists, so a function
                // cannot override an inherited Architectures.
                if inherited && self.inheriting("Architectures") > 1 {
                    return Err(format!(
                        "Architectures comes from Globals.Function, which {} functions share, \
                         and SAM appends a function's list to the global one instead of \
                         replacing it; move Architectures from Globals into each function, \
                         then run adaptd again",
                        self.inheriting("Architectures")
                    ));
                }
                self.value_change(&items[0], arch, true)
            }
            Some(_) => Err("Architectures is not a one-element list".to_owned()),
            None => {
                let v = text::Value::List(vec![arch.to_owned()]);
                self.insert_entry(
                    self.resource(id).and_then(|r| r.get("Properties")),
                    "Architectures",
                    &v,
                    self.json,
                )
            }
        }
    }

    /// Replaces a scalar, following `!Ref` to a parameter's `Default`.
    fn value_change(&self, v: &Node, value: &str, quoted: bool) -> Outcome {
        match v.intrinsic() {
            None => text::replace_scalar(&self.text, v, value, quoted || v.is_quoted()),
            Some(("Ref", target)) => {
                let name = scalar_text(target).ok_or("a !Ref to something adaptd cannot read")?;
                let param = self.root.get("Parameters").and_then(|p| p.get(name)).ok_or_else(|| {
                    format!("!Ref {name} names no parameter of the template (a resource or pseudo parameter)")
                })?;
                let uses = self.text.matches(&format!("Ref {name}")).count()
                    + self.text.matches(&format!("\"Ref\": \"{name}\"")).count()
                    + self.text.matches(&format!("${{{name}}}")).count();
                if uses > 1 {
                    return Err(format!(
                        "parameter {name} is used {uses} times; changing its default changes them all"
                    ));
                }
                let d = param.get("Default").ok_or_else(|| {
                    format!("parameter {name} has no Default: its value is given at deploy time")
                })?;
                let (line, _) = line_of(&self.text, d.span.start);
                text::replace_scalar(&self.text, d, value, quoted || d.is_quoted()).map(|mut c| {
                    c.via = format!(" via parameter {name} (Default, line {line})");
                    c
                })
            }
            Some((f, _)) => Err(format!("the value is computed by Fn::{f}")),
        }
    }

    fn remove_property(&self, id: &str, key: &str) -> Outcome {
        let props = self
            .resource(id)
            .and_then(|r| r.get("Properties"))
            .ok_or("no Properties")?;
        text::remove_entry(&self.text, props, key, self.json)
    }

    fn insert_entry(&self, map: Option<&Node>, key: &str, v: &text::Value, json: bool) -> Outcome {
        let map = map.ok_or("the resource has no Properties to add to")?;
        text::insert_entry(&self.text, map, key, v, json)
    }
}

fn scalar_text(n: &Node) -> Option<&str> {
    match &n.kind {
        Kind::Scalar { value, .. } => Some(value),
        _ => None,
    }
}

/// Tags as a SAM map or a CloudFormation list of `{Key, Value}`.
fn tagged(props: &Node, component: &str, keys: &[String]) -> bool {
    match props.get("Tags").map(|t| &t.kind) {
        Some(Kind::Map(entries)) => entries.iter().any(|(k, v)| {
            k.scalar().is_some_and(|k| keys.iter().any(|x| x == k)) && v.scalar() == Some(component)
        }),
        Some(Kind::Seq(items)) => items.iter().any(|t| {
            t.get("Key")
                .and_then(Node::scalar)
                .is_some_and(|k| keys.iter().any(|x| x == k))
                && t.get("Value").and_then(Node::scalar) == Some(component)
        }),
        _ => false,
    }
}

fn describe(p: &Provisioned) -> String {
    match p {
        Provisioned::None => "none".to_owned(),
        Provisioned::Constant(n) => n.to_string(),
        Provisioned::Hourly(h) => adaptd_engine::spec::describe_schedule(h),
    }
}
