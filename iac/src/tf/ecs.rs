//! ECS services on Fargate in Terraform: task size and architecture in the task
//! definition, a constant task count in the service.

use adaptd_engine::spec::FargateConfig;

use super::eval::Val;
use super::patch::{TfCtx, Want};
use super::write::NewValue;
use crate::Recommendation;
use crate::plan::{Plan, SuggestionKind};

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
                } else {
                    want.suggest(
                        plan,
                        SuggestionKind::Manual,
                        format!(
                            "{} needs scheduled scaling (aws_appautoscaling_target with \
                             ecs:service:DesiredCount and one scheduled action per step) and \
                             `lifecycle {{ ignore_changes = [desired_count] }}`",
                            s.address
                        ),
                    );
                }
            }
        }
        services.iter().map(|i| i.address.clone()).collect()
    }
}
