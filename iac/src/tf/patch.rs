//! From a recommendation to Terraform edits: find the component's resources, then
//! write each changed setting where its value comes from, or say why not.

use adaptd_engine::spec::{Deployment, LambdaConfig, Provisioned};

use super::eval::{Origin, Site, Val};
use super::write::{NewValue, TextChange};
use super::{Instance, Tf};
use crate::model::{Plan, Suggestion, SuggestionKind};
use crate::{Edit, IacError, Options, Recommendation};

/// Terraform of the repository with its instances, ready to be searched.
#[derive(Debug)]
pub(crate) struct TfCtx<'a> {
    pub(super) tf: &'a Tf,
    pub(super) instances: Vec<Instance<'a>>,
    tag_keys: &'a [String],
    options: &'a Options,
}

/// One setting to write, for messages and the plan.
pub(super) struct Want<'r> {
    rec: &'r Recommendation,
    field: &'static str,
    from: String,
    to: String,
}

impl<'r> Want<'r> {
    pub(super) fn new(
        rec: &'r Recommendation,
        field: &'static str,
        from: &dyn std::fmt::Display,
        to: &dyn std::fmt::Display,
    ) -> Self {
        Self {
            rec,
            field,
            from: from.to_string(),
            to: to.to_string(),
        }
    }

    pub(super) fn suggest(&self, plan: &mut Plan, kind: SuggestionKind, reason: String) {
        plan.suggestions.push(Suggestion {
            component: self.rec.component.clone(),
            field: self.field.to_owned(),
            kind,
            from: self.from.clone(),
            to: self.to.clone(),
            reason,
        });
    }
}

impl<'a> TfCtx<'a> {
    pub(crate) fn new(tf: &'a Tf, options: &'a Options) -> Self {
        Self {
            tf,
            instances: tf.instances(),
            tag_keys: &options.tag_keys,
            options,
        }
    }

    /// Every Terraform address named by a mapping must exist.
    pub(crate) fn check_mappings(&self, options: &Options) -> Result<(), IacError> {
        for (component, m) in &options.mappings {
            for address in &m.terraform {
                if !self.instances.iter().any(|i| i.address == *address) {
                    let known: Vec<&str> = self
                        .instances
                        .iter()
                        .filter(|i| {
                            matches!(i.rtype.as_str(), "aws_lambda_function" | "aws_ecs_service")
                        })
                        .map(|i| i.address.as_str())
                        .collect();
                    return Err(IacError::Mapping {
                        component: component.clone(),
                        message: format!(
                            "no Terraform resource has the address `{address}` (functions and \
                             services found: {})",
                            if known.is_empty() {
                                "none".to_owned()
                            } else {
                                known.join(", ")
                            }
                        ),
                    });
                }
            }
        }
        Ok(())
    }

    pub(super) fn eval_attr(&self, inst: &Instance<'a>, key: &str) -> Option<Val<'a>> {
        let a = inst.block.body.get_attribute(key)?;
        Some(
            self.tf
                .eval(&Site {
                    file: inst.file,
                    expr: &a.value,
                    scope: inst.scope.clone(),
                })
                .val,
        )
    }

    pub(super) fn is_generated(&self, inst: &Instance<'_>) -> bool {
        crate::generate::generated_for(&self.tf.files[inst.file].text).is_some()
    }

    /// Instances that share `inst`'s block (for_each keys, several module calls).
    pub(super) fn siblings(&self, inst: &Instance<'_>) -> usize {
        self.instances
            .iter()
            .filter(|i| i.file == inst.file && std::ptr::eq(i.block, inst.block))
            .count()
    }

    fn tagged(&self, inst: &Instance<'a>, component: &str) -> bool {
        let Some(Val::Obj(tags)) = self.eval_attr(inst, "tags") else {
            return false;
        };
        tags.iter().any(|(k, site)| {
            self.tag_keys.contains(k) && self.tf.eval(site).val.as_str() == Some(component)
        })
    }

    /// Instances of `rtypes` that belong to the component: mapped, named or tagged.
    pub(super) fn find(
        &self,
        component: &str,
        rtypes: &[&str],
        name_attr: &str,
    ) -> Vec<&Instance<'a>> {
        let mapping = self.options.mappings.get(component);
        let name = mapping
            .and_then(|m| m.function_name.as_deref())
            .unwrap_or(component);
        let of_type =
            |i: &&Instance<'a>| rtypes.contains(&i.rtype.as_str()) && !self.is_generated(i);
        if let Some(m) = mapping.filter(|m| !m.terraform.is_empty()) {
            return self
                .instances
                .iter()
                .filter(of_type)
                .filter(|i| m.terraform.contains(&i.address))
                .collect();
        }
        self.instances
            .iter()
            .filter(of_type)
            .filter(|i| {
                self.eval_attr(i, name_attr)
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .as_deref()
                    == Some(name)
                    || self.tagged(i, component)
            })
            .collect()
    }

    /// Why a component was not found, naming instances that might have been it.
    pub(crate) fn not_found_reason(&self, rec: &Recommendation, options: &Options) -> String {
        let unresolved: Vec<String> = self
            .instances
            .iter()
            .filter_map(|i| {
                i.unresolved
                    .as_ref()
                    .map(|w| format!("{} ({w})", i.address))
            })
            .collect();
        let mut s = format!(
            "no Terraform resource or CloudFormation template was found for `{}` by function \
             name, tags ({}) or an [[iac.components]] mapping",
            rec.component,
            options.tag_keys.join(", ")
        );
        if !unresolved.is_empty() {
            s.push_str(&format!(
                "; these could not be expanded: {}",
                unresolved.join("; ")
            ));
        }
        s
    }

    /// The engine of an `aws_db_instance` or `aws_rds_cluster` with this identifier.
    pub(crate) fn database_engine(&self, database: &str) -> Option<String> {
        self.instances
            .iter()
            .filter(|i| matches!(i.rtype.as_str(), "aws_db_instance" | "aws_rds_cluster"))
            .find(|i| {
                ["identifier", "cluster_identifier"].iter().any(|k| {
                    self.eval_attr(i, k)
                        .and_then(|v| v.as_str().map(str::to_owned))
                        .as_deref()
                        == Some(database)
                })
            })
            .and_then(|i| self.eval_attr(i, "engine")?.as_str().map(str::to_owned))
    }

    /// Plans the Terraform side of one recommendation; returns the addresses found.
    pub(crate) fn locate(&self, rec: &Recommendation, plan: &mut Plan) -> Vec<String> {
        let (Some(cur), Some(new)) = (&rec.current, &rec.recommended) else {
            return Vec::new();
        };
        match (&cur.deployment, &new.deployment) {
            (Deployment::Lambda(c), Deployment::Lambda(n)) => self.lambda(rec, c, n, plan),
            (Deployment::Fargate(c), Deployment::Fargate(n)) => self.fargate(rec, c, n, plan),
            (Deployment::Lambda(_), Deployment::Fargate(_)) => {
                let found = self.find(&rec.component, &["aws_lambda_function"], "function_name");
                for f in &found {
                    for key in ["file_system_config", "ephemeral_storage"] {
                        if f.block.body.get_blocks(key).next().is_some() {
                            Want::new(rec, "platform", &"lambda", &"fargate").suggest(
                                plan,
                                SuggestionKind::Stateful,
                                format!(
                                    "{} has {key}: data on it must move to the ECS task (an EFS \
                                     volume or ephemeral storage) before traffic moves; adaptd \
                                     does not migrate storage",
                                    f.address
                                ),
                            );
                        }
                    }
                }
                found.iter().map(|i| i.address.clone()).collect()
            }
            // The migration module and its suggestion come with the plan's migrations.
            (Deployment::Fargate(_), Deployment::Lambda(_)) => self
                .find(&rec.component, &["aws_ecs_service"], "name")
                .iter()
                .map(|i| i.address.clone())
                .collect(),
        }
    }

    /// Records a change as an edit, or the reason as a suggestion.
    pub(super) fn record(
        &self,
        want: &Want<'_>,
        change: Result<TextChange, String>,
        plan: &mut Plan,
    ) {
        match change {
            Ok(c) => {
                let file = &self.tf.files[c.file];
                let (line, _) = crate::edit::line_of(&file.text, c.range.start);
                let via = if c.via.is_empty() {
                    String::new()
                } else {
                    format!(" via {}", c.via.join(", "))
                };
                plan.edits.push(Edit {
                    file: file.path.clone(),
                    range: c.range,
                    replacement: c.text,
                    component: want.rec.component.clone(),
                    field: want.field.to_owned(),
                    description: format!(
                        "{}: {} → {} at {}:{line}{via} (code had {})",
                        want.field, want.from, want.to, file.path, c.was
                    ),
                });
            }
            Err(reason) => want.suggest(plan, SuggestionKind::Manual, reason),
        }
    }

    /// Sets `key` on every instance, refusing values that other instances share.
    pub(super) fn set_each(
        &self,
        want: &Want<'_>,
        found: &[&Instance<'a>],
        key: &str,
        value: &NewValue,
        plan: &mut Plan,
    ) {
        for inst in found {
            let change = self
                .tf
                .set_attr(inst, inst.block, key, value, self.siblings(inst));
            let change = change.and_then(|c| self.exclusive(inst, key, c));
            self.record(want, change, plan);
        }
    }

    /// Refuses a change whose literal other instances also read for `key`.
    fn exclusive(
        &self,
        inst: &Instance<'a>,
        key: &str,
        c: TextChange,
    ) -> Result<TextChange, String> {
        let others: Vec<&str> = self
            .instances
            .iter()
            .filter(|o| o.address != inst.address && o.rtype == inst.rtype)
            .filter(|o| {
                o.block.body.get_attribute(key).is_some_and(|a| {
                    let e = self.tf.eval(&Site {
                        file: o.file,
                        expr: &a.value,
                        scope: o.scope.clone(),
                    });
                    matches!(e.origin, Origin::Literal { file, ref span } if file == c.file && *span == c.range)
                })
            })
            .map(|o| o.address.as_str())
            .collect();
        if others.is_empty() {
            Ok(c)
        } else {
            Err(format!(
                "{key} of {} is written at {} together with {}; changing it would change them too",
                inst.address,
                self.tf.at(c.file, c.range.start),
                others.join(", ")
            ))
        }
    }

    fn lambda(
        &self,
        rec: &Recommendation,
        c: &LambdaConfig,
        n: &LambdaConfig,
        plan: &mut Plan,
    ) -> Vec<String> {
        let found = self.find(&rec.component, &["aws_lambda_function"], "function_name");
        if found.is_empty() {
            return Vec::new();
        }
        if c.memory_mb != n.memory_mb {
            let want = Want::new(rec, "memory_mb", &c.memory_mb, &n.memory_mb);
            self.set_each(
                &want,
                &found,
                "memory_size",
                &NewValue::Num(i64::from(n.memory_mb)),
                plan,
            );
        }
        if c.architecture != n.architecture {
            let want = Want::new(rec, "architecture", &c.architecture, &n.architecture);
            for inst in &found {
                let change = self.architectures(inst, n.architecture.as_str());
                self.record(&want, change, plan);
            }
            want.suggest(
                plan,
                SuggestionKind::Manual,
                format!(
                    "the function's package, layers and native dependencies must be built for \
                     {} before this change is applied",
                    n.architecture
                ),
            );
        }
        if c.reserved_concurrency != n.reserved_concurrency {
            let to = n.reserved_concurrency.map_or(-1, i64::from);
            let want = Want::new(
                rec,
                "reserved_concurrency",
                &c.reserved_concurrency
                    .map_or("none".into(), |v| v.to_string()),
                &n.reserved_concurrency
                    .map_or("none".into(), |v| v.to_string()),
            );
            self.set_each(
                &want,
                &found,
                "reserved_concurrent_executions",
                &NewValue::Num(to),
                plan,
            );
        }
        if c.provisioned != n.provisioned {
            for inst in &found {
                self.provisioned(rec, inst, &c.provisioned, &n.provisioned, plan);
            }
        }
        found.iter().map(|i| i.address.clone()).collect()
    }

    /// `architectures = ["x86_64"]`: the string inside the list, wherever it is written.
    fn architectures(&self, inst: &Instance<'a>, to: &str) -> Result<TextChange, String> {
        let value = NewValue::Str(to.to_owned());
        let Some(attr) = inst.block.body.get_attribute("architectures") else {
            return self
                .tf
                .set_attr(
                    inst,
                    inst.block,
                    "architectures",
                    &NewValue::Str(to.to_owned()),
                    self.siblings(inst),
                )
                .map(|mut c| {
                    c.text = c.text.replace(&format!("\"{to}\""), &format!("[\"{to}\"]"));
                    c
                });
        };
        let list = self.tf.eval(&Site {
            file: inst.file,
            expr: &attr.value,
            scope: inst.scope.clone(),
        });
        let what = format!("architectures of {}", inst.address);
        match &list.val {
            Val::Tuple(items) if items.len() == 1 => {
                let mut e = self.tf.eval(&items[0]);
                e.via.splice(0..0, list.via.iter().cloned());
                if e.shared.is_none() {
                    e.shared = list.shared.clone();
                }
                self.tf.change_at(&e, &value, &what)
            }
            _ => self.tf.change_at(&list, &value, &what),
        }
    }
}

pub(super) fn describe(p: &Provisioned) -> String {
    match p {
        Provisioned::None => "none".to_owned(),
        Provisioned::Constant(n) => n.to_string(),
        Provisioned::Hourly(h) => adaptd_engine::spec::describe_schedule(h),
    }
}
