//! ECS services on Fargate in Terraform: task size and architecture in the task
//! definition, a constant task count in the service, or a generated schedule for a
//! count by hour.

use adaptd_engine::spec::{FargateConfig, Hourly};

use super::eval::Val;
use super::patch::{TfCtx, Want};
use super::write::NewValue;
use super::{Instance, Tf};
use crate::Recommendation;
use crate::generate;
use crate::model::{Plan, SuggestionKind};

impl<'a> TfCtx<'a> {
    pub(super) fn fargate(
        &self,
        rec: &Recommendation,
        c: &FargateConfig,
        n: &FargateConfig,
        plan: &mut Plan,
    ) -> Vec<String> {
        let services = self.find(&rec.component, &["aws_ecs_service"], "name");
        for s in &services {
            let task = match self.eval_attr(s, "task_definition") {
                Some(Val::Ref(r)) => {
                    let address = r.rsplit_once('.').map_or(r.as_str(), |(a, _)| a).to_owned();
                    self.instances.iter().find(|i| i.address == address)
                }
                _ => None,
            };
            let size_changed =
                c.vcpu != n.vcpu || c.memory_mb != n.memory_mb || c.architecture != n.architecture;
            match task {
                Some(t) if size_changed => {
                    let cpu = (n.vcpu * 1024.0).round() as i64;
                    let want = Want::new(
                        rec,
                        "fargate_size",
                        &format!("{} vCPU {} MB", c.vcpu, c.memory_mb),
                        &format!("{} vCPU {} MB", n.vcpu, n.memory_mb),
                    );
                    for (key, v) in [("cpu", cpu), ("memory", i64::from(n.memory_mb))] {
                        let change = self.tf.set_attr(
                            t,
                            t.block,
                            key,
                            &NewValue::Str(v.to_string()),
                            self.siblings(t),
                        );
                        self.record(&want, change, plan);
                    }
                    if c.architecture != n.architecture {
                        let want = Want::new(rec, "architecture", &c.architecture, &n.architecture);
                        let arch = n.architecture.as_str().to_uppercase();
                        let change = match t.block.body.get_blocks("runtime_platform").next() {
                            Some(b) => self.tf.set_attr(
                                t,
                                b,
                                "cpu_architecture",
                                &NewValue::Str(arch),
                                self.siblings(t),
                            ),
                            None => Err(format!(
                                "{} has no runtime_platform block to set cpu_architecture in",
                                t.address
                            )),
                        };
                        self.record(&want, change, plan);
                    }
                }
                None if size_changed => Want::new(rec, "fargate_size", &c.vcpu, &n.vcpu).suggest(
                    plan,
                    SuggestionKind::Manual,
                    format!(
                        "the task definition of {} is not a resource of this repository",
                        s.address
                    ),
                ),
                _ => {}
            }
            if c.tasks != n.tasks {
                let want = Want::new(
                    rec,
                    "tasks",
                    &adaptd_engine::spec::describe_schedule(&c.tasks),
                    &adaptd_engine::spec::describe_schedule(&n.tasks),
                );
                if n.tasks.iter().all(|&t| t == n.tasks[0]) {
                    let change = self.tf.set_attr(
                        s,
                        s.block,
                        "desired_count",
                        &NewValue::Num(i64::from(n.tasks[0])),
                        self.siblings(s),
                    );
                    self.record(&want, change, plan);
                    let path = generate::schedule_path(&Tf::root_dir(&s.scope), &rec.component);
                    if self.tf.files.iter().any(|f| f.path == path) {
                        plan.deleted.push(path);
                    }
                } else {
                    self.ecs_hourly(rec, s, &n.tasks, &want, plan);
                }
            }
        }
        services.iter().map(|i| i.address.clone()).collect()
    }

    /// Scheduled scaling of a service's task count, generated beside it, with
    /// `desired_count` left to the schedule.
    fn ecs_hourly(
        &self,
        rec: &Recommendation,
        s: &Instance<'a>,
        tasks: &Hourly<u32>,
        want: &Want<'_>,
        plan: &mut Plan,
    ) {
        if s.scope.frame.is_some() || s.key().is_some() {
            return want.suggest(
                plan,
                SuggestionKind::Manual,
                format!(
                    "{} is in a child module or a for_each; add scheduled scaling \
                     (aws_appautoscaling_target on ecs:service:DesiredCount, one action per \
                     step, cron in UTC) where the service is defined",
                    s.address
                ),
            );
        }
        let Some(cluster) = s.block.body.get_attribute("cluster") else {
            return want.suggest(
                plan,
                SuggestionKind::Manual,
                format!(
                    "{} has no cluster attribute to name in the scalable target",
                    s.address
                ),
            );
        };
        let cluster = self.tf.text_of(s.file, &cluster.value);
        // The cluster's name is the last part of its ARN; a bare name stays as it is.
        let resource_id = format!(
            "\"service/${{element(split(\"/\", {cluster}), 1)}}/${{aws_ecs_service.{}.name}}\"",
            s.name
        );
        match s.block.body.get_blocks("lifecycle").next() {
            None => {
                let change = self.tf.append_block(
                    s,
                    &["lifecycle {", "  ignore_changes = [desired_count]", "}"],
                );
                self.record(want, change, plan);
            }
            Some(l) => {
                let ignored = l
                    .body
                    .get_attribute("ignore_changes")
                    .is_some_and(|a| self.tf.text_of(s.file, &a.value).contains("desired_count"));
                if !ignored {
                    want.suggest(
                        plan,
                        SuggestionKind::Manual,
                        format!(
                            "add desired_count to lifecycle.ignore_changes of {}, or every \
                             apply resets the task count the schedule sets",
                            s.address
                        ),
                    );
                }
            }
        }
        let path = generate::schedule_path(&Tf::root_dir(&s.scope), &rec.component);
        plan.generated
            .push(generate::ecs_schedule(&path, rec, &resource_id, tasks));
    }
}
