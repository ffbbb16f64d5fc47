//! Provisioned concurrency by hour of day in a template: an
//! `AWS::ApplicationAutoScaling::ScalableTarget` on the function's alias with one
//! scheduled action per step (cron in the component's zone, UTC by default), written
//! as a resource adaptd owns (`<LogicalId>ProvisionedSchedule`) and rewrites on each
//! run.

use adaptd_engine::spec::Hourly;
use adaptd_engine::zone::Zone;

use super::text::{self, Change};
use super::tree::Node;
use super::{Outcome, Template};
use crate::edit::{indent_at, line_end, line_start};
use crate::schedule::schedule_steps;

/// The logical id of the schedule adaptd writes for function `id`.
pub(super) fn target_id(id: &str) -> String {
    format!("{id}ProvisionedSchedule")
}

/// What the schedule targets: the function and its alias.
struct Alias {
    /// Alias name (`live`).
    name: String,
    /// Logical id of the alias resource, which the target must wait for.
    resource: String,
}

impl Template {
    /// The edits that put `hourly` on function `id`: an alias if SAM needs one, no
    /// fixed `ProvisionedConcurrencyConfig` (it would fight the schedule), the target.
    pub(super) fn hourly(
        &self,
        id: &str,
        sam: bool,
        hourly: &Hourly<u32>,
        component: &str,
        zone: Zone,
    ) -> Vec<Outcome> {
        let mut out = Vec::new();
        let alias = if sam {
            let set = self
                .property(id, "AutoPublishAlias")
                .or_else(|| self.global("AutoPublishAlias"))
                .and_then(Node::scalar)
                .map(str::to_owned);
            let name = match set {
                Some(n) => n,
                None => {
                    out.push(self.set_property(id, sam, "AutoPublishAlias", "live", true));
                    "live".to_owned()
                }
            };
            // SAM names the alias it publishes <LogicalId>Alias<Name>.
            Alias {
                resource: format!("{id}Alias{name}"),
                name,
            }
        } else {
            let Some(resource) = self.alias_of(id) else {
                return vec![Err(
                    "provisioned concurrency needs an AWS::Lambda::Alias, and the template \
                     has none for this function"
                        .to_owned(),
                )];
            };
            let Some(name) = self.property(&resource, "Name").and_then(Node::scalar) else {
                return vec![Err(format!(
                    "the Name of alias {resource} is not a literal"
                ))];
            };
            Alias {
                name: name.to_owned(),
                resource,
            }
        };
        let holder = if sam { id } else { alias.resource.as_str() };
        if self
            .property(holder, "ProvisionedConcurrencyConfig")
            .is_some()
        {
            out.push(self.remove_property(holder, "ProvisionedConcurrencyConfig"));
        }
        out.push(self.put_target(id, &alias, hourly, component, zone));
        out
    }

    /// Writes (or rewrites) the target resource in `Resources`.
    fn put_target(
        &self,
        id: &str,
        alias: &Alias,
        hourly: &Hourly<u32>,
        component: &str,
        zone: Zone,
    ) -> Outcome {
        let tid = target_id(id);
        let spec = Spec {
            id,
            alias,
            hourly,
            component,
            zone,
        };
        self.put_owned(&tid, &|indent| spec.yaml(&tid, indent), &|indent| {
            format!("\"{tid}\": {}", spec.json(indent))
        })
    }

    /// Writes (or rewrites) resources adaptd owns, the first at logical id `tid`, in
    /// `Resources`: `yaml` renders their block at an indent (comment lines included),
    /// `json` their `"Id": {…}` entries.
    pub(super) fn put_owned(
        &self,
        tid: &str,
        yaml: &dyn Fn(&str) -> String,
        json: &dyn Fn(&str) -> String,
    ) -> Outcome {
        let resources = self
            .root
            .get("Resources")
            .ok_or("the template has no Resources")?;
        let (first, _) = resources.entries().first().ok_or("Resources is empty")?;
        let indent = indent_at(&self.text, first.span.start).to_owned();
        if self.json {
            let body = json(&indent);
            return Ok(match resources.entry(tid) {
                Some((k, v)) => Change {
                    range: k.span.start..v.span.end,
                    text: body,
                    via: String::new(),
                },
                None => Change {
                    range: first.span.start..first.span.start,
                    text: format!("{body},\n{indent}"),
                    via: String::new(),
                },
            });
        }
        let block = yaml(&indent);
        match resources.entry(tid) {
            Some((k, v)) => {
                // The comment line adaptd wrote above the entry goes with it.
                let mut start = line_start(&self.text, k.span.start);
                let prev = line_start(&self.text, start.saturating_sub(1));
                if start > 0
                    && self.text[prev..start]
                        .trim_start()
                        .starts_with("# Generated by adaptd")
                {
                    start = prev;
                }
                Ok(Change {
                    range: start..line_end(&self.text, v.span.end.saturating_sub(1)),
                    text: block,
                    via: String::new(),
                })
            }
            None => {
                let (_, last) = resources.entries().last().ok_or("Resources is empty")?;
                let at = line_end(&self.text, last.span.end.saturating_sub(1));
                let lead = if at == self.text.len() && !self.text.ends_with('\n') {
                    "\n\n"
                } else {
                    "\n"
                };
                Ok(Change {
                    range: at..at,
                    text: format!("{lead}{block}"),
                    via: String::new(),
                })
            }
        }
    }

    /// Removes a schedule adaptd wrote earlier, if there is one.
    pub(super) fn remove_target(&self, id: &str) -> Option<Outcome> {
        let resources = self.root.get("Resources")?;
        let tid = target_id(id);
        resources.entry(&tid)?;
        Some(text::remove_entry(&self.text, resources, &tid, self.json))
    }
}

/// The target to write.
struct Spec<'a> {
    id: &'a str,
    alias: &'a Alias,
    hourly: &'a Hourly<u32>,
    component: &'a str,
    /// The zone the actions' hours are in; AWS keeps them local across DST.
    zone: Zone,
}

impl Spec<'_> {
    fn bounds(&self) -> (u32, u32) {
        let lo = self.hourly.iter().min().copied().unwrap_or(0);
        let hi = self.hourly.iter().max().copied().unwrap_or(0);
        (lo, hi)
    }

    fn yaml(&self, tid: &str, i: &str) -> String {
        let (lo, hi) = self.bounds();
        let mut s = format!(
            "{i}# Generated by adaptd for component `{c}`: provisioned concurrency by hour of day ({zone}).\n\
             {i}{tid}:\n\
             {i}  Type: AWS::ApplicationAutoScaling::ScalableTarget\n\
             {i}  DependsOn: {dep}\n\
             {i}  Properties:\n\
             {i}    ServiceNamespace: lambda\n\
             {i}    ScalableDimension: lambda:function:ProvisionedConcurrency\n\
             {i}    ResourceId: !Sub \"function:${{{id}}}:{alias}\"\n\
             {i}    MinCapacity: {lo}\n\
             {i}    MaxCapacity: {hi}\n\
             {i}    ScheduledActions:\n",
            c = self.component,
            dep = self.alias.resource,
            id = self.id,
            alias = self.alias.name,
            zone = self.zone,
        );
        for step in schedule_steps(self.hourly) {
            s.push_str(&format!(
                "{i}      - ScheduledActionName: {c}-pc-{h:02}00\n\
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
        s
    }

    fn json(&self, i: &str) -> String {
        let (lo, hi) = self.bounds();
        let actions: Vec<String> = schedule_steps(self.hourly)
            .iter()
            .map(|step| {
                format!(
                    "{i}      {{\"ScheduledActionName\": \"{c}-pc-{h:02}00\", \"Schedule\": \"{cron}\", \
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
            "{{\n\
             {i}  \"Type\": \"AWS::ApplicationAutoScaling::ScalableTarget\",\n\
             {i}  \"DependsOn\": \"{dep}\",\n\
             {i}  \"Metadata\": {{\"GeneratedBy\": \"adaptd for component {c}: provisioned concurrency by hour of day ({zone})\"}},\n\
             {i}  \"Properties\": {{\n\
             {i}    \"ServiceNamespace\": \"lambda\",\n\
             {i}    \"ScalableDimension\": \"lambda:function:ProvisionedConcurrency\",\n\
             {i}    \"ResourceId\": {{\"Fn::Sub\": \"function:${{{id}}}:{alias}\"}},\n\
             {i}    \"MinCapacity\": {lo},\n\
             {i}    \"MaxCapacity\": {hi},\n\
             {i}    \"ScheduledActions\": [\n{actions}\n\
             {i}    ]\n\
             {i}  }}\n\
             {i}}}",
            dep = self.alias.resource,
            c = self.component,
            id = self.id,
            alias = self.alias.name,
            actions = actions.join(",\n"),
            zone = self.zone,
        )
    }
}
