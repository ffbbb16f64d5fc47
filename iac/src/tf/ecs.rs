//! ECS services on Fargate in Terraform: task size and architecture in the task
//! definition, a constant task count in the service, or generated Application Auto
//! Scaling for a count by hour (scheduled actions) or target tracking (a policy).

use adaptd_engine::spec::{FargateConfig, FargateTracking, Hourly, TrackingMetric};

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
                    let cpu = i64::from(n.cpu_units());
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
                        let arch = n.architecture.ecs_name().to_owned();
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
            if c.tasks != n.tasks || c.target_tracking != n.target_tracking {
                let want = Want::new(rec, "tasks", &describe_count(c), &describe_count(n));
                if let Some(t) = &n.target_tracking {
                    self.ecs_tracking(rec, s, t, &want, plan);
                } else if n.tasks.iter().all(|&t| t == n.tasks[0]) {
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
        let Some(resource_id) = self.scaling_prelude(s, want, plan) else {
            return;
        };
        let path = generate::schedule_path(&Tf::root_dir(&s.scope), &rec.component);
        plan.generated
            .push(generate::ecs_schedule(&path, rec, &resource_id, tasks));
    }

    /// Target tracking of a service's task count (a scalable target with the policy's
    /// bounds and an `aws_appautoscaling_policy`), generated beside it in the file a
    /// schedule would take, with `desired_count` left to the policy.
    fn ecs_tracking(
        &self,
        rec: &Recommendation,
        s: &Instance<'a>,
        t: &FargateTracking,
        want: &Want<'_>,
        plan: &mut Plan,
    ) {
        let target_group = match t.metric {
            TrackingMetric::Cpu => None,
            TrackingMetric::AlbRequestCountPerTarget => {
                let tg = s
                    .block
                    .body
                    .get_blocks("load_balancer")
                    .find_map(|b| b.body.get_attribute("target_group_arn"))
                    .map(|a| self.tf.text_of(s.file, &a.value));
                match tg {
                    Some(tg) => Some(tg),
                    None => {
                        return want.suggest(
                            plan,
                            SuggestionKind::Manual,
                            format!(
                                "{} has no load_balancer block with a target_group_arn, which \
                                 ALBRequestCountPerTarget tracking needs",
                                s.address
                            ),
                        );
                    }
                }
            }
        };
        let Some(resource_id) = self.scaling_prelude(s, want, plan) else {
            return;
        };
        let path = generate::schedule_path(&Tf::root_dir(&s.scope), &rec.component);
        plan.generated.push(generate::ecs_tracking(
            &path,
            rec,
            &resource_id,
            t,
            target_group.as_deref(),
        ));
    }

    /// What Application Auto Scaling of a service needs in the service's module: the
    /// service in a root module, a cluster to name, and `desired_count` ignored (or
    /// every apply resets the count the scaling sets). Returns the scalable target's
    /// `resource_id` expression, or `None` with a suggestion saying why not.
    fn scaling_prelude(
        &self,
        s: &Instance<'a>,
        want: &Want<'_>,
        plan: &mut Plan,
    ) -> Option<String> {
        if s.scope.frame.is_some() || s.key().is_some() {
            want.suggest(
                plan,
                SuggestionKind::Manual,
                format!(
                    "{} is in a child module or a for_each; add Application Auto Scaling \
                     (aws_appautoscaling_target on ecs:service:DesiredCount, with one scheduled \
                     action per step, cron in the component's timezone, or a target-tracking aws_appautoscaling_policy) \
                     where the service is defined",
                    s.address
                ),
            );
            return None;
        }
        let Some(cluster) = s.block.body.get_attribute("cluster") else {
            want.suggest(
                plan,
                SuggestionKind::Manual,
                format!(
                    "{} has no cluster attribute to name in the scalable target",
                    s.address
                ),
            );
            return None;
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
                             apply resets the task count Application Auto Scaling sets",
                            s.address
                        ),
                    );
                }
            }
        }
        Some(resource_id)
    }
}

/// How the task count reads in a plan (`2 tasks`, `tasks 2 (08–18 h: 5)`,
/// `target tracking ECSServiceAverageCPUUtilization 70 within 2–10 tasks`).
fn describe_count(f: &FargateConfig) -> String {
    match &f.target_tracking {
        Some(t) => format!(
            "target tracking {} {} within {}–{} tasks",
            t.metric.aws_name(),
            t.target_value,
            t.min_tasks,
            t.max_tasks
        ),
        None => adaptd_engine::spec::describe_schedule(&f.tasks),
    }
}
