//! Provisioned concurrency in Terraform: the function's alias, config and scalable
//! targets, and what a new level needs (a patched value, a generated config or
//! schedule, a removed block).

use adaptd_engine::spec::Provisioned;

use super::Instance;
use super::Tf;
use super::eval::Val;
use super::patch::{TfCtx, Want, describe};
use super::write::NewValue;
use crate::Recommendation;
use crate::generate::{self, PcTarget, Refs};
use crate::model::{Plan, SuggestionKind};

impl<'a> TfCtx<'a> {
    /// Aliases, provisioned-concurrency configs and scalable targets of a function.
    pub(super) fn related(&self, function: &Instance<'a>, rtype: &str) -> Vec<&Instance<'a>> {
        let name = self
            .eval_attr(function, "function_name")
            .and_then(|v| v.as_str().map(str::to_owned));
        let prefix = format!("{}.", function.address);
        self.instances
            .iter()
            .filter(|i| i.rtype == rtype && !self.is_generated(i))
            .filter(|i| {
                let key = if rtype == "aws_appautoscaling_target" {
                    "resource_id"
                } else {
                    "function_name"
                };
                match self.eval_attr(i, key) {
                    Some(Val::Str(s)) => match &name {
                        Some(n) if rtype == "aws_appautoscaling_target" => {
                            s.starts_with(&format!("function:{n}:"))
                        }
                        Some(n) => s == *n,
                        None => false,
                    },
                    Some(Val::Ref(r)) => r.starts_with(&prefix),
                    _ => false,
                }
            })
            .collect()
    }

    pub(super) fn provisioned(
        &self,
        rec: &Recommendation,
        f: &Instance<'a>,
        cur: &Provisioned,
        new: &Provisioned,
        plan: &mut Plan,
    ) {
        let want = Want::new(
            rec,
            "provisioned_concurrency",
            &describe(cur),
            &describe(new),
        );
        let root = Tf::root_dir(&f.scope);
        let path = generate::schedule_path(&root, &rec.component);
        let generated_before = plan_has_file(self.tf, &path);
        let configs = self.related(f, "aws_lambda_provisioned_concurrency_config");
        let targets = self.related(f, "aws_appautoscaling_target");
        if let Some(t) = targets.first() {
            return want.suggest(
                plan,
                SuggestionKind::Manual,
                format!(
                    "{} already schedules this function's provisioned concurrency by hand; \
                     replace its scheduled actions with the recommended schedule",
                    t.address
                ),
            );
        }
        // Constant to constant: the config's value is all that changes.
        if let (Provisioned::Constant(n), false) = (new, configs.is_empty()) {
            let value = NewValue::Num(i64::from(*n));
            for c in &configs {
                let change = self.tf.set_attr(
                    c,
                    c.block,
                    "provisioned_concurrent_executions",
                    &value,
                    self.siblings(c),
                );
                self.record(&want, change, plan);
            }
            return;
        }
        // Otherwise hand-written configs go (a schedule or none replaces them).
        for c in &configs {
            let change = self.tf.remove_block(c, self.siblings(c));
            if change.is_err() {
                return self.record(&want, change, plan);
            }
            self.record(&want, change, plan);
        }
        if *new == Provisioned::None {
            if generated_before {
                plan.deleted.push(path);
            }
            return;
        }
        let aliases = self.related(f, "aws_lambda_alias");
        let Some(alias) = aliases.first() else {
            return want.suggest(
                plan,
                SuggestionKind::Manual,
                format!(
                    "provisioned concurrency needs an alias or a published version, and {} has \
                     no aws_lambda_alias; add one, then run adaptd again",
                    f.address
                ),
            );
        };
        let refs = match self.refs(f, alias) {
            Ok(r) => r,
            Err(reason) => return want.suggest(plan, SuggestionKind::Manual, reason),
        };
        let target = PcTarget {
            component: &rec.component,
            refs,
            provisioned: new,
            rec,
        };
        plan.generated
            .push(generate::lambda_schedule(&path, &target));
    }

    /// How generated Terraform refers to a function and its alias: by reference in the
    /// same root module, else by literal names (with `depends_on` the module call).
    fn refs(&self, f: &Instance<'a>, alias: &Instance<'a>) -> Result<Refs, String> {
        if f.scope.frame.is_none() && alias.scope.frame.is_none() {
            let index = |i: &Instance<'_>| i.key().map_or(String::new(), |k| format!("[\"{k}\"]"));
            return Ok(Refs::Expr {
                function: format!("aws_lambda_function.{}{}.function_name", f.name, index(f)),
                alias: format!("aws_lambda_alias.{}{}.name", alias.name, index(alias)),
            });
        }
        let name = |i: &Instance<'a>, key: &str| match self.eval_attr(i, key) {
            Some(Val::Str(s)) => Ok(s),
            other => Err(format!(
                "{} is in a child module and its {key} cannot be read ({}); add the schedule in \
                 the module, or map its output",
                i.address,
                other.map_or("not set".to_owned(), |v| v.describe())
            )),
        };
        let mut module = f.scope.frame.clone();
        while let Some(m) = module.as_ref().and_then(|m| m.parent.frame.clone()) {
            module = Some(m);
        }
        Ok(Refs::Names {
            function: name(f, "function_name")?,
            alias: name(alias, "name")?,
            depends_on: module.map(|m| format!("module.{}", m.name)),
        })
    }
}

fn plan_has_file(tf: &Tf, path: &str) -> bool {
    tf.files.iter().any(|f| f.path == path)
}
