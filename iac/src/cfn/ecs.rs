//! ECS services on Fargate in a template: the task size in the service's
//! `AWS::ECS::TaskDefinition` (`Cpu`, `Memory`, `RuntimePlatform.CpuArchitecture`),
//! a constant count in the service's `DesiredCount`, and a count by hour or by target
//! tracking as resources adaptd owns and rewrites on each run: an
//! `AWS::ApplicationAutoScaling::ScalableTarget` (`<LogicalId>Scaling`, with one
//! scheduled action per step, cron in the component's zone, UTC by default) and, for tracking, an
//! `AWS::ApplicationAutoScaling::ScalingPolicy` (`<LogicalId>ScalingPolicy`). Under
//! Application Auto Scaling the service's `DesiredCount` is removed, or every stack
//! update would reset the count the scaling set.

use adaptd_engine::spec::{FargateConfig, FargateTracking, Hourly, TrackingMetric};
use adaptd_engine::zone::Zone;

use super::text::{self, Value};
use super::tree::Node;
use super::{Outcome, Template, scalar_text};
use crate::Options;
use crate::Recommendation;
use crate::model::Plan;
use crate::schedule::schedule_steps;

const SERVICE: &str = "AWS::ECS::Service";
const TASK_DEFINITION: &str = "AWS::ECS::TaskDefinition";
const LISTENER: &str = "AWS::ElasticLoadBalancingV2::Listener";

fn target_id(id: &str) -> String {
    format!("{id}Scaling")
}

fn policy_id(id: &str) -> String {
    format!("{id}ScalingPolicy")
}

/// What the scaling resources of a service carry.
enum Count<'a> {
    Hourly(&'a Hourly<u32>),
    /// The policy, and the `ResourceLabel` expression (`!Sub` text) for ALB tracking.
    Tracking(&'a FargateTracking, Option<String>),
}

impl Template {
    /// Logical ids of the component's ECS services: mapped, named or tagged.
    pub(super) fn services(&self, component: &str, options: &Options) -> Vec<String> {
        self.of_type(component, options, &[SERVICE], "ServiceName")
    }

    /// The edits that carry a Fargate → Fargate recommendation to service `id`.
    pub(super) fn fargate(
        &self,
        rec: &Recommendation,
        id: &str,
        c: &FargateConfig,
        n: &FargateConfig,
        plan: &mut Plan,
    ) {
        let record = |plan: &mut Plan, field: &str, from: String, to: String, out: Outcome| {
            self.record(rec, id, plan, (field, from, to), out);
        };
        let size =
            |f: &FargateConfig| format!("{} vCPU {} MB {}", f.vcpu, f.memory_mb, f.architecture);
        if c.cpu_units() != n.cpu_units()
            || c.memory_mb != n.memory_mb
            || c.architecture != n.architecture
        {
            for out in self.task_size(id, c, n) {
                record(plan, "fargate_size", size(c), size(n), out);
            }
        }
        if c.tasks != n.tasks || c.target_tracking != n.target_tracking {
            let count = |f: &FargateConfig| match &f.target_tracking {
                Some(t) => format!(
                    "target tracking {} {} within {}–{} tasks",
                    t.metric.aws_name(),
                    t.target_value,
                    t.min_tasks,
                    t.max_tasks
                ),
                None => adaptd_engine::spec::describe_schedule(&f.tasks),
            };
            for out in self.task_count(id, n, &rec.component, rec.timezone) {
                record(plan, "tasks", count(c), count(n), out);
            }
        }
    }

    /// The service's task definition, when it is a `!Ref` to one in this template.
    fn task_definition_of(&self, id: &str) -> Result<String, String> {
        match self
            .property(id, "TaskDefinition")
            .and_then(Node::intrinsic)
        {
            Some(("Ref", v))
                if scalar_text(v).is_some_and(|t| {
                    self.resource(t).and_then(Self::rtype) == Some(TASK_DEFINITION)
                }) =>
            {
                Ok(scalar_text(v).unwrap_or_default().to_owned())
            }
            _ => Err(
                "its TaskDefinition is not a !Ref to an AWS::ECS::TaskDefinition of this \
                      template; change the size where the task definition is defined"
                    .to_owned(),
            ),
        }
    }

    fn task_size(&self, id: &str, c: &FargateConfig, n: &FargateConfig) -> Vec<Outcome> {
        let td = match self.task_definition_of(id) {
            Ok(td) => td,
            Err(e) => return vec![Err(e)],
        };
        let mut out = Vec::new();
        if c.cpu_units() != n.cpu_units() {
            out.push(self.set_property(&td, false, "Cpu", &n.cpu_units().to_string(), true));
        }
        if c.memory_mb != n.memory_mb {
            out.push(self.set_property(&td, false, "Memory", &n.memory_mb.to_string(), true));
        }
        if c.architecture != n.architecture {
            let arch = n.architecture.ecs_name();
            out.push(match self.property(&td, "RuntimePlatform") {
                Some(p) => match p.get("CpuArchitecture") {
                    Some(v) => self.value_change(v, arch, false),
                    None => text::insert_entry(
                        &self.text,
                        p,
                        "CpuArchitecture",
                        &Value::Plain(arch.to_owned()),
                        self.json,
                    ),
                },
                None => self.insert_entry(
                    self.resource(&td).and_then(|r| r.get("Properties")),
                    "RuntimePlatform",
                    &Value::Map(vec![
                        ("CpuArchitecture".to_owned(), quote(arch, self.json)),
                        (
                            "OperatingSystemFamily".to_owned(),
                            quote("LINUX", self.json),
                        ),
                    ]),
                    self.json,
                ),
            });
        }
        out
    }

    fn task_count(&self, id: &str, n: &FargateConfig, component: &str, zone: Zone) -> Vec<Outcome> {
        let count = match &n.target_tracking {
            Some(t) => {
                let label = match t.metric {
                    TrackingMetric::Cpu => None,
                    TrackingMetric::AlbRequestCountPerTarget => match self.resource_label(id) {
                        Ok(l) => Some(l),
                        Err(e) => return vec![Err(e)],
                    },
                };
                Count::Tracking(t, label)
            }
            None if n.tasks.iter().all(|&t| t == n.tasks[0]) => {
                let mut out = vec![self.set_property(
                    id,
                    false,
                    "DesiredCount",
                    &n.tasks[0].to_string(),
                    false,
                )];
                out.extend(self.remove_owned(id));
                return out;
            }
            None => Count::Hourly(&n.tasks),
        };
        let resource_id = match self.resource_id(id) {
            Ok(r) => r,
            Err(e) => return vec![Err(e)],
        };
        let mut out = Vec::new();
        if self.property(id, "DesiredCount").is_some() {
            out.push(self.remove_property(id, "DesiredCount"));
        }
        let tid = target_id(id);
        let pid = policy_id(id);
        let resources = self.root.get("Resources");
        let old_policy = resources.and_then(|r| r.entry(&pid)).is_some();
        let spec = Spec {
            id,
            component,
            resource_id: &resource_id,
            count: &count,
            zone,
        };
        // A policy written earlier is rewritten in place (or dropped); a new one goes
        // with the target.
        let policy_with_target = !old_policy;
        out.push(
            self.put_owned(&tid, &|i| spec.yaml(i, policy_with_target), &|i| {
                spec.json(i, policy_with_target)
            }),
        );
        if old_policy {
            out.push(match &count {
                Count::Tracking(..) => {
                    self.put_owned(&pid, &|i| spec.yaml_policy(i), &|i| spec.json_policy(i))
                }
                Count::Hourly(_) => {
                    text::remove_entry(&self.text, resources.unwrap_or(&self.root), &pid, self.json)
                }
            });
        }
        out
    }

    /// Removes the scaling resources adaptd wrote earlier.
    fn remove_owned(&self, id: &str) -> Vec<Outcome> {
        let Some(resources) = self.root.get("Resources") else {
            return Vec::new();
        };
        [target_id(id), policy_id(id)]
            .iter()
            .filter(|k| resources.entry(k).is_some())
            .map(|k| text::remove_entry(&self.text, resources, k, self.json))
            .collect()
    }

    /// `service/CLUSTER/NAME` as `!Sub` text: the cluster by `!Ref` or its literal name
    /// (the last part of an ARN), the service's name by `GetAtt`.
    fn resource_id(&self, id: &str) -> Result<String, String> {
        let cluster = match self.property(id, "Cluster") {
            None => "default".to_owned(),
            Some(c) => match c.intrinsic() {
                Some(("Ref", v)) => format!("${{{}}}", scalar_text(v).unwrap_or_default()),
                None => c
                    .scalar()
                    .map(|s| s.rsplit('/').next().unwrap_or(s).to_owned())
                    .ok_or("its Cluster is not a literal or a !Ref")?,
                Some((f, _)) => {
                    return Err(format!(
                        "its Cluster is computed by Fn::{f}; add the scalable target by hand"
                    ));
                }
            },
        };
        Ok(format!("service/{cluster}/${{{id}.Name}}"))
    }

    /// `${LB.LoadBalancerFullName}/${TG.TargetGroupFullName}` of the service's first
    /// target group and the listener's load balancer that forwards to it.
    fn resource_label(&self, id: &str) -> Result<String, String> {
        let tg = self
            .property(id, "LoadBalancers")
            .and_then(|l| match &l.kind {
                super::tree::Kind::Seq(items) => items.first(),
                _ => None,
            })
            .and_then(|lb| lb.get("TargetGroupArn"))
            .and_then(ref_of)
            .ok_or(
                "ALBRequestCountPerTarget needs the service's target group, and its \
                    LoadBalancers has no TargetGroupArn given by !Ref",
            )?;
        let lb = self
            .resources()
            .iter()
            .filter(|(_, r)| Self::rtype(r) == Some(LISTENER))
            .filter_map(|(_, r)| r.get("Properties"))
            .find(|p| {
                p.get("DefaultActions").is_some_and(|a| match &a.kind {
                    super::tree::Kind::Seq(items) => items
                        .iter()
                        .any(|x| x.get("TargetGroupArn").and_then(ref_of) == Some(tg)),
                    _ => false,
                })
            })
            .and_then(|p| p.get("LoadBalancerArn"))
            .and_then(ref_of)
            .ok_or_else(|| {
                format!(
                    "no listener of this template forwards to {tg}, so its load balancer is unknown"
                )
            })?;
        Ok(format!(
            "${{{lb}.LoadBalancerFullName}}/${{{tg}.TargetGroupFullName}}"
        ))
    }
}

/// The logical id a `!Ref` names.
fn ref_of(n: &Node) -> Option<&str> {
    match n.intrinsic() {
        Some(("Ref", v)) => scalar_text(v),
        _ => None,
    }
}

fn quote(s: &str, json: bool) -> String {
    if json {
        format!("\"{s}\"")
    } else {
        s.to_owned()
    }
}

/// The scaling resources to write.
struct Spec<'a> {
    id: &'a str,
    component: &'a str,
    /// `!Sub` text.
    resource_id: &'a str,
    count: &'a Count<'a>,
    /// The zone of an hourly count's actions; AWS keeps them local across DST.
    zone: Zone,
}

impl Spec<'_> {
    fn bounds(&self) -> (u32, u32) {
        match self.count {
            Count::Hourly(h) => (
                h.iter().min().copied().unwrap_or(0),
                h.iter().max().copied().unwrap_or(0),
            ),
            Count::Tracking(t, _) => (t.min_tasks, t.max_tasks),
        }
    }

    fn what(&self) -> String {
        match self.count {
            Count::Hourly(_) => format!("task count by hour of day ({})", self.zone),
            Count::Tracking(..) => "task count by target tracking".to_owned(),
        }
    }

    fn yaml(&self, i: &str, with_policy: bool) -> String {
        let (lo, hi) = self.bounds();
        let mut s = format!(
            "{i}# Generated by adaptd for component `{c}`: {what}.\n\
             {i}{tid}:\n\
             {i}  Type: AWS::ApplicationAutoScaling::ScalableTarget\n\
             {i}  Properties:\n\
             {i}    ServiceNamespace: ecs\n\
             {i}    ScalableDimension: ecs:service:DesiredCount\n\
             {i}    ResourceId: !Sub \"{rid}\"\n\
             {i}    MinCapacity: {lo}\n\
             {i}    MaxCapacity: {hi}\n",
            c = self.component,
            what = self.what(),
            tid = target_id(self.id),
            rid = self.resource_id,
        );
        match self.count {
            Count::Hourly(h) => {
                s.push_str(&format!("{i}    ScheduledActions:\n"));
                for step in schedule_steps(h) {
                    s.push_str(&format!(
                        "{i}      - ScheduledActionName: {c}-tasks-{h:02}00\n\
                         {i}        Schedule: {cron}\n\
                         {i}        Timezone: {zone}\n\
                         {i}        ScalableTargetAction:\n\
                         {i}          MinCapacity: {v}\n\
                         {i}          MaxCapacity: {v}\n",
                        c = self.component,
                        h = step.hour,
                        cron = step.cron(),
                        v = step.value,
                        zone = self.zone,
                    ));
                }
            }
            Count::Tracking(..) if with_policy => s.push_str(&self.yaml_policy(i)),
            Count::Tracking(..) => {}
        }
        s
    }

    fn yaml_policy(&self, i: &str) -> String {
        let Count::Tracking(t, label) = self.count else {
            return String::new();
        };
        let label = label.as_ref().map_or(String::new(), |l| {
            format!("{i}        ResourceLabel: !Sub \"{l}\"\n")
        });
        format!(
            "{i}{pid}:\n\
             {i}  Type: AWS::ApplicationAutoScaling::ScalingPolicy\n\
             {i}  Properties:\n\
             {i}    PolicyName: {c}-tracking\n\
             {i}    PolicyType: TargetTrackingScaling\n\
             {i}    ScalingTargetId: !Ref {tid}\n\
             {i}    TargetTrackingScalingPolicyConfiguration:\n\
             {i}      TargetValue: {v}\n\
             {i}      PredefinedMetricSpecification:\n\
             {i}        PredefinedMetricType: {m}\n{label}",
            pid = policy_id(self.id),
            tid = target_id(self.id),
            c = self.component,
            v = t.target_value,
            m = t.metric.aws_name(),
        )
    }

    fn json(&self, i: &str, with_policy: bool) -> String {
        let (lo, hi) = self.bounds();
        let actions = match self.count {
            Count::Hourly(h) => {
                let items: Vec<String> = schedule_steps(h)
                    .iter()
                    .map(|step| {
                        format!(
                            "{i}      {{\"ScheduledActionName\": \"{c}-tasks-{h:02}00\", \"Schedule\": \"{cron}\", \
                             \"Timezone\": \"{zone}\", \"ScalableTargetAction\": {{\"MinCapacity\": {v}, \"MaxCapacity\": {v}}}}}",
                            c = self.component,
                            h = step.hour,
                            cron = step.cron(),
                            v = step.value,
                            zone = self.zone,
                        )
                    })
                    .collect();
                format!(
                    ",\n{i}    \"ScheduledActions\": [\n{}\n{i}    ]",
                    items.join(",\n")
                )
            }
            Count::Tracking(..) => String::new(),
        };
        let mut s = format!(
            "\"{tid}\": {{\n\
             {i}  \"Type\": \"AWS::ApplicationAutoScaling::ScalableTarget\",\n\
             {i}  \"Metadata\": {{\"GeneratedBy\": \"adaptd for component {c}: {what}\"}},\n\
             {i}  \"Properties\": {{\n\
             {i}    \"ServiceNamespace\": \"ecs\",\n\
             {i}    \"ScalableDimension\": \"ecs:service:DesiredCount\",\n\
             {i}    \"ResourceId\": {{\"Fn::Sub\": \"{rid}\"}},\n\
             {i}    \"MinCapacity\": {lo},\n\
             {i}    \"MaxCapacity\": {hi}{actions}\n\
             {i}  }}\n\
             {i}}}",
            tid = target_id(self.id),
            c = self.component,
            what = self.what(),
            rid = self.resource_id,
        );
        if with_policy && matches!(self.count, Count::Tracking(..)) {
            s.push_str(&format!(",\n{i}{}", self.json_policy(i)));
        }
        s
    }

    fn json_policy(&self, i: &str) -> String {
        let Count::Tracking(t, label) = self.count else {
            return String::new();
        };
        let label = label.as_ref().map_or(String::new(), |l| {
            format!(", \"ResourceLabel\": {{\"Fn::Sub\": \"{l}\"}}")
        });
        format!(
            "\"{pid}\": {{\n\
             {i}  \"Type\": \"AWS::ApplicationAutoScaling::ScalingPolicy\",\n\
             {i}  \"Properties\": {{\n\
             {i}    \"PolicyName\": \"{c}-tracking\",\n\
             {i}    \"PolicyType\": \"TargetTrackingScaling\",\n\
             {i}    \"ScalingTargetId\": {{\"Ref\": \"{tid}\"}},\n\
             {i}    \"TargetTrackingScalingPolicyConfiguration\": {{\n\
             {i}      \"TargetValue\": {v},\n\
             {i}      \"PredefinedMetricSpecification\": {{\"PredefinedMetricType\": \"{m}\"{label}}}\n\
             {i}    }}\n\
             {i}  }}\n\
             {i}}}",
            pid = policy_id(self.id),
            tid = target_id(self.id),
            c = self.component,
            v = t.target_value,
            m = t.metric.aws_name(),
        )
    }
}
