//! Gathering rows from any number of files into a [`TelemetrySet`].
//!
//! Samples are buffered per series and only turned into [`MinuteSeries`] at the end:
//! that makes input order irrelevant (no quadratic re-growing when rows go backwards in
//! time) and lets a conflict name *both* rows, which is what a user needs to find which
//! of two exports is wrong.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use adaptd_engine::telemetry::{
    ComponentTelemetry, Metric, Minute, MinuteSeries, Stat, TelemetrySet,
};

use super::error::{Conflict, Error, Problem, Reason};
use super::row::ATTRIBUTE;
use crate::problems::Collector;
use crate::timestamp::format_minute;

/// Where a row came from.
#[derive(Debug, Clone, Copy)]
pub(super) struct Loc {
    /// Index into the accumulator's files.
    pub file: u32,
    /// 1-based line.
    pub line: u64,
    /// Index of the element in a JSON array, for pointers.
    pub element: Option<u32>,
}

#[derive(Debug, Clone, Copy)]
struct Sample {
    minute: Minute,
    value: f32,
    at: Loc,
}

#[derive(Debug)]
struct SeriesBuf {
    component: u32,
    metric: Metric,
    stat: Stat,
    samples: Vec<Sample>,
    sorted: bool,
}

#[derive(Debug)]
struct AttrSample {
    component: u32,
    name: String,
    value: String,
    minute: Minute,
    at: Loc,
}

/// Rows read so far, plus the problems met.
#[derive(Debug, Default)]
pub(super) struct Accumulator {
    files: Vec<PathBuf>,
    names: Vec<String>,
    ids: HashMap<String, u32>,
    series_ids: HashMap<(u32, Metric, Stat), u32>,
    series: Vec<SeriesBuf>,
    attributes: Vec<AttrSample>,
    problems: Collector<Problem>,
    last_component: Option<u32>,
    last_series: Option<u32>,
}

impl Accumulator {
    /// Registers an input file; rows from it carry the returned index.
    pub(super) fn add_file(&mut self, path: &Path) -> u32 {
        self.files.push(path.to_owned());
        (self.files.len() - 1) as u32
    }

    pub(super) fn path(&self, file: u32) -> &Path {
        &self.files[file as usize]
    }

    /// Records a problem; `true` means the limit is reached and reading should stop.
    pub(super) fn problem(&mut self, at: Loc, pointer: Option<String>, reason: Reason) -> bool {
        let problem = Problem {
            path: self.path(at.file).to_owned(),
            line: (at.line > 0).then_some(at.line),
            pointer,
            reason,
        };
        self.problems.push(problem)
    }

    pub(super) fn is_full(&self) -> bool {
        self.problems.is_full()
    }

    fn component_id(&mut self, name: &str) -> u32 {
        if let Some(id) = self.last_component
            && self.names[id as usize] == name
        {
            return id;
        }
        let id = match self.ids.get(name) {
            Some(&id) => id,
            None => {
                let id = self.names.len() as u32;
                self.names.push(name.to_owned());
                self.ids.insert(name.to_owned(), id);
                id
            }
        };
        self.last_component = Some(id);
        id
    }

    /// Records one metric sample.
    pub(super) fn sample(
        &mut self,
        component: &str,
        metric: Metric,
        stat: Stat,
        minute: Minute,
        value: f32,
        at: Loc,
    ) {
        let component = self.component_id(component);
        let idx = match self.last_series {
            Some(i)
                if {
                    let s = &self.series[i as usize];
                    s.component == component && s.metric == metric && s.stat == stat
                } =>
            {
                i
            }
            _ => {
                let next = self.series.len() as u32;
                let i = *self
                    .series_ids
                    .entry((component, metric, stat))
                    .or_insert(next);
                if i == next {
                    self.series.push(SeriesBuf {
                        component,
                        metric,
                        stat,
                        samples: Vec::new(),
                        sorted: true,
                    });
                }
                self.last_series = Some(i);
                i
            }
        };
        let s = &mut self.series[idx as usize];
        if s.samples.last().is_some_and(|last| last.minute > minute) {
            s.sorted = false;
        }
        s.samples.push(Sample { minute, value, at });
    }

    /// Records one configuration fact.
    pub(super) fn attribute(
        &mut self,
        component: &str,
        name: &str,
        value: &str,
        minute: Minute,
        at: Loc,
    ) {
        let component = self.component_id(component);
        self.attributes.push(AttrSample {
            component,
            name: name.to_owned(),
            value: value.to_owned(),
            minute,
            at,
        });
    }

    /// How to point at an earlier row from a problem on a later one.
    fn describe(&self, earlier: Loc, later: Loc) -> String {
        let element = earlier
            .element
            .map(|e| format!(" (/{e})"))
            .unwrap_or_default();
        if earlier.file == later.file {
            format!("line {}{element}", earlier.line)
        } else {
            format!(
                "{}:{}{element}",
                self.path(earlier.file).display(),
                earlier.line
            )
        }
    }

    fn conflict(&mut self, later: Loc, reason: Reason) -> bool {
        let pointer = later.element.map(|e| format!("/{e}"));
        self.problem(later, pointer, reason)
    }

    /// Checks for conflicting duplicates and builds the set; nothing is returned when
    /// any problem was found.
    pub(super) fn finish(mut self) -> Result<TelemetrySet, Error> {
        let mut series = std::mem::take(&mut self.series);
        for s in &mut series {
            if !s.sorted {
                s.samples.sort_by_key(|x| x.minute);
            }
            for w in s.samples.windows(2) {
                let (a, b) = (w[0], w[1]);
                if a.minute == b.minute && !same_value(a.value, b.value) && !self.is_full() {
                    let reason = Reason::Conflict(Box::new(Conflict {
                        component: self.names[s.component as usize].clone(),
                        metric: s.metric.to_string(),
                        stat: s.stat.to_string(),
                        at: format_minute(a.minute),
                        here: b.value.to_string(),
                        before: a.value.to_string(),
                        before_at: self.describe(a.at, b.at),
                    }));
                    self.conflict(b.at, reason);
                }
            }
        }
        let mut attributes = std::mem::take(&mut self.attributes);
        attributes.sort_by(|a, b| {
            (a.component, &a.name, a.minute).cmp(&(b.component, &b.name, b.minute))
        });
        for w in attributes.windows(2) {
            let (a, b) = (&w[0], &w[1]);
            if a.component == b.component
                && a.name == b.name
                && a.minute == b.minute
                && a.value != b.value
                && !self.is_full()
            {
                let reason = Reason::Conflict(Box::new(Conflict {
                    component: self.names[a.component as usize].clone(),
                    metric: ATTRIBUTE.to_owned(),
                    stat: a.name.clone(),
                    at: format_minute(a.minute),
                    here: format!("`{}`", b.value),
                    before: format!("`{}`", a.value),
                    before_at: self.describe(a.at, b.at),
                }));
                self.conflict(b.at, reason);
            }
        }
        let Accumulator {
            files,
            names,
            problems,
            ..
        } = self;
        problems.into_result().map_err(Error::Invalid)?;

        let mut components: Vec<ComponentTelemetry> =
            names.into_iter().map(ComponentTelemetry::new).collect();
        for s in series {
            let mut out = MinuteSeries::new();
            for x in &s.samples {
                // Finite by construction: the readers refuse anything else.
                out.set(x.minute, f64::from(x.value))
                    .expect("readers only accept finite values");
            }
            components[s.component as usize]
                .series
                .insert((s.metric, s.stat), out);
        }
        // Sorted by minute within a name: the latest statement of a fact wins.
        for a in attributes {
            components[a.component as usize]
                .attributes
                .insert(a.name, a.value);
        }
        Ok(TelemetrySet {
            components: components
                .into_iter()
                .map(|c| (c.name.clone(), c))
                .collect(),
            sources: files.iter().map(|f| f.display().to_string()).collect(),
        })
    }
}

/// Equality of stored values; `0.0` and `-0.0` are the same observation.
fn same_value(a: f32, b: f32) -> bool {
    a.to_bits() == b.to_bits() || (a == 0.0 && b == 0.0)
}
