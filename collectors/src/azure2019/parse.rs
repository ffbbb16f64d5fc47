//! Reading the three trace tables into typed rows.
//!
//! Columns are located by header name, never by position: the published day files, the
//! In-Vitro samples and users' own slices order and name them differently (minute
//! columns `N` or `minute_N`, memory keyed per app or per function).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use adaptd_engine::quantiles::QuantileSet;

use super::error::{Error, Problem, Reason, short};
use crate::problems::Collector;
use crate::records::Records;

/// The ids every table carries.
#[derive(Debug, Clone)]
pub(super) struct Ids {
    pub owner: String,
    pub app: String,
    pub function: String,
}

/// One row of the invocations table.
#[derive(Debug)]
pub(super) struct InvRow {
    pub line: u64,
    pub ids: Ids,
    pub trigger: String,
    /// Counts in the order of [`Invocations::minutes`].
    pub counts: Vec<u32>,
}

/// The invocations table.
#[derive(Debug)]
pub(super) struct Invocations {
    pub path: PathBuf,
    /// Declared minutes of the day (1-based, as in the dataset), ascending.
    pub minutes: Vec<u16>,
    pub rows: Vec<InvRow>,
}

/// One row of the durations table.
#[derive(Debug)]
pub(super) struct DurRow {
    pub line: u64,
    pub ids: Ids,
    pub duration_ms: QuantileSet,
}

/// One row of the memory table.
#[derive(Debug)]
pub(super) struct MemRow {
    pub line: u64,
    pub owner: String,
    pub app: String,
    /// Present when the table is per function (In-Vitro samples).
    pub function: Option<String>,
    pub memory_mb: QuantileSet,
}

/// A CSV file held as records with their line numbers.
struct Table {
    path: PathBuf,
    header_line: u64,
    columns: Vec<String>,
    rows: Vec<(u64, Vec<String>)>,
}

/// Reads a table; `None` when it has no header. Unreadable records are recorded and
/// left out.
fn read_table(path: &Path, problems: &mut Collector<Problem>) -> Result<Option<Table>, Error> {
    let io = |source| Error::Io {
        path: path.to_owned(),
        source,
    };
    let mut records = Records::new(crate::input::open(path).map_err(io)?, false);
    let problem = |line, reason| Problem {
        path: path.to_owned(),
        line,
        reason,
    };
    let Some(header) = records.next_record().map_err(io)? else {
        problems.push(problem(None, Reason::NoHeader));
        return Ok(None);
    };
    let (header_line, columns) = (header.line, header.to_strings());
    let mut rows = Vec::new();
    while let Some(r) = records.next_record().map_err(io)? {
        match r.malformed {
            Some(why) => {
                if problems.push(problem(Some(r.line), Reason::Syntax(why.to_owned()))) {
                    break;
                }
            }
            None => rows.push((r.line, r.to_strings())),
        }
    }
    Ok(Some(Table {
        path: path.to_owned(),
        header_line,
        columns,
        rows,
    }))
}

/// Columns found by name, and those a pattern recognised (with what it read from the
/// name).
type Layout<T> = (HashMap<&'static str, usize>, Vec<(T, usize)>);

impl Table {
    fn problem(&self, problems: &mut Collector<Problem>, line: u64, reason: Reason) {
        problems.push(Problem {
            path: self.path.clone(),
            line: Some(line),
            reason,
        });
    }

    /// Finds `named` columns and those `pattern` recognises; records missing,
    /// unexpected and duplicate columns. `None` when the header is unusable.
    fn layout<T>(
        &self,
        problems: &mut Collector<Problem>,
        required: &[&'static str],
        optional: &[&'static str],
        expected: &'static str,
        pattern: impl Fn(&str) -> Option<Result<T, Reason>>,
    ) -> Option<Layout<T>> {
        let mut named = HashMap::new();
        let mut matched = Vec::new();
        let mut unexpected = Vec::new();
        let mut seen = HashMap::new();
        let mut ok = true;
        for (i, col) in self.columns.iter().enumerate() {
            if seen.insert(col.as_str(), i).is_some() {
                self.problem(
                    problems,
                    self.header_line,
                    Reason::DuplicateColumn(col.clone()),
                );
                ok = false;
            } else if let Some(&name) = required.iter().chain(optional).find(|n| **n == col) {
                named.insert(name, i);
            } else {
                match pattern(col) {
                    Some(Ok(t)) => matched.push((t, i)),
                    Some(Err(reason)) => {
                        self.problem(problems, self.header_line, reason);
                        ok = false;
                    }
                    None => unexpected.push(col.clone()),
                }
            }
        }
        let missing: Vec<String> = required
            .iter()
            .filter(|n| !named.contains_key(*n))
            .map(|n| (*n).to_owned())
            .collect();
        if !missing.is_empty() {
            self.problem(problems, self.header_line, Reason::MissingColumns(missing));
            ok = false;
        }
        if !unexpected.is_empty() {
            let reason = Reason::UnexpectedColumns {
                columns: unexpected,
                expected,
            };
            self.problem(problems, self.header_line, reason);
            ok = false;
        }
        ok.then_some((named, matched))
    }

    /// Calls `f` for each row with the header's field count (others are recorded),
    /// until the problem limit is reached.
    fn each_row(
        &self,
        problems: &mut Collector<Problem>,
        mut f: impl FnMut(u64, &[String], &mut Collector<Problem>),
    ) {
        let width = self.columns.len();
        for (line, r) in &self.rows {
            if problems.is_full() {
                return;
            }
            if r.len() == width {
                f(*line, r, problems);
            } else {
                let reason = Reason::FieldCount {
                    expected: width,
                    found: r.len(),
                };
                self.problem(problems, *line, reason);
            }
        }
    }

    /// A cell as text, non-empty.
    fn text<'r>(&self, r: &'r [String], col: usize) -> Result<&'r str, Reason> {
        let v = &r[col];
        if v.is_empty() {
            Err(Reason::Empty(self.columns[col].clone()))
        } else {
            Ok(v)
        }
    }

    /// A cell as a finite, non-negative number.
    fn number(&self, r: &[String], col: usize) -> Result<f64, Reason> {
        let text = self.text(r, col)?;
        match text.parse::<f64>() {
            Ok(v) if v.is_finite() && v >= 0.0 => Ok(v),
            _ => Err(Reason::BadNumber {
                column: self.columns[col].clone(),
                text: text.to_owned(),
            }),
        }
    }

    /// A cell as an invocation count. Integral floats (`12.0`, as pandas writes a
    /// column that once held a gap) are accepted; fractions are not.
    fn count(&self, r: &[String], col: usize) -> Result<u32, Reason> {
        let text = self.text(r, col)?;
        if let Ok(n) = text.parse::<u32>() {
            return Ok(n);
        }
        match text.parse::<f64>() {
            Ok(v) if v >= 0.0 && v.fract() == 0.0 && v <= f64::from(u32::MAX) => Ok(v as u32),
            _ => Err(Reason::BadCount {
                column: self.columns[col].clone(),
                text: text.to_owned(),
            }),
        }
    }

    fn ids(&self, r: &[String], named: &HashMap<&str, usize>) -> Result<Ids, Reason> {
        Ok(Ids {
            owner: self.text(r, named["HashOwner"])?.to_owned(),
            app: self.text(r, named["HashApp"])?.to_owned(),
            function: self.text(r, named["HashFunction"])?.to_owned(),
        })
    }
}

/// Records a second row for the same function.
fn check_unique(
    seen: &mut HashMap<String, u64>,
    table: &Table,
    problems: &mut Collector<Problem>,
    function: &str,
    line: u64,
) -> bool {
    if let Some(&first_line) = seen.get(function) {
        let reason = Reason::DuplicateFunction {
            hash: short(function),
            first_line,
        };
        table.problem(problems, line, reason);
        return false;
    }
    seen.insert(function.to_owned(), line);
    true
}

/// `N` or `minute_N` with N in 1–1440 (the dataset's 1-based minute of the day).
fn minute_column(name: &str) -> Option<Result<u16, Reason>> {
    let digits = name.strip_prefix("minute_").unwrap_or(name);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(match digits.parse::<u16>() {
        Ok(n) if (1..=1440).contains(&n) => Ok(n),
        _ => Err(Reason::MinuteOutOfRange(name.to_owned())),
    })
}

/// `{prefix}N` with N in 0–100, as a probability.
fn percentile_column(prefix: &'static str) -> impl Fn(&str) -> Option<Result<f64, Reason>> {
    move |name| {
        let digits = name.strip_prefix(prefix)?;
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        Some(match digits.parse::<u8>() {
            Ok(n) if n <= 100 => Ok(f64::from(n) / 100.0),
            _ => Err(Reason::PercentileOutOfRange(name.to_owned())),
        })
    }
}

const IDS: [&str; 3] = ["HashOwner", "HashApp", "HashFunction"];

/// Reads `invocations_per_function*.csv`.
pub(super) fn invocations(
    path: &Path,
    problems: &mut Collector<Problem>,
) -> Result<Option<Invocations>, Error> {
    let Some(table) = read_table(path, problems)? else {
        return Ok(None);
    };
    let required = [IDS[0], IDS[1], IDS[2], "Trigger"];
    let expected = "HashOwner, HashApp, HashFunction, Trigger and minute columns `N` or `minute_N`";
    let Some((named, mut minutes)) =
        table.layout(problems, &required, &[], expected, minute_column)
    else {
        return Ok(None);
    };
    if minutes.is_empty() {
        table.problem(problems, table.header_line, Reason::NoMinuteColumns);
        return Ok(None);
    }
    minutes.sort_unstable();
    if let Some(w) = minutes.windows(2).find(|w| w[0].0 == w[1].0) {
        let name = table.columns[w[1].1].clone();
        table.problem(problems, table.header_line, Reason::DuplicateColumn(name));
        return Ok(None);
    }
    let mut rows = Vec::with_capacity(table.rows.len());
    let mut seen = HashMap::new();
    table.each_row(problems, |line, r, problems| {
        let row = (|| {
            let ids = table.ids(r, &named)?;
            let trigger = table.text(r, named["Trigger"])?.to_owned();
            let counts = minutes
                .iter()
                .map(|&(_, col)| table.count(r, col))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(InvRow {
                line,
                ids,
                trigger,
                counts,
            })
        })();
        match row {
            Ok(row) => {
                if check_unique(&mut seen, &table, problems, &row.ids.function, line) {
                    rows.push(row);
                }
            }
            Err(reason) => table.problem(problems, line, reason),
        }
    });
    Ok(Some(Invocations {
        path: table.path.clone(),
        minutes: minutes.into_iter().map(|(m, _)| m).collect(),
        rows,
    }))
}

/// Reads `function_durations_percentiles*.csv`. The percentiles become the
/// distribution and `Average` its mean; `Minimum` and `Maximum` are true extremes
/// whereas the percentiles are of 30-second averages, so mixing them in would distort
/// the shape: they are read past.
pub(super) fn durations(
    path: &Path,
    problems: &mut Collector<Problem>,
) -> Result<Option<Vec<DurRow>>, Error> {
    let Some(table) = read_table(path, problems)? else {
        return Ok(None);
    };
    let required = [IDS[0], IDS[1], IDS[2], "Average"];
    let optional = ["Count", "Minimum", "Maximum"];
    let expected = "HashOwner, HashApp, HashFunction, Average, Count, Minimum, Maximum and percentile_Average_N";
    let pattern = percentile_column("percentile_Average_");
    let Some((named, pcts)) = table.layout(problems, &required, &optional, expected, pattern)
    else {
        return Ok(None);
    };
    if pcts.is_empty() {
        let reason = Reason::MissingColumns(vec!["percentile_Average_N".to_owned()]);
        table.problem(problems, table.header_line, reason);
        return Ok(None);
    }
    let mut rows = Vec::with_capacity(table.rows.len());
    let mut seen = HashMap::new();
    table.each_row(problems, |line, r, problems| {
        let row = (|| {
            let ids = table.ids(r, &named)?;
            let mean = table.number(r, named["Average"])?;
            let points = pcts
                .iter()
                .map(|&(p, col)| Ok((p, table.number(r, col)?)))
                .collect::<Result<Vec<_>, Reason>>()?;
            let duration_ms = QuantileSet::new(points, Some(mean))?;
            Ok(DurRow {
                line,
                ids,
                duration_ms,
            })
        })();
        match row {
            Ok(row) => {
                if check_unique(&mut seen, &table, problems, &row.ids.function, line) {
                    rows.push(row);
                }
            }
            Err(reason) => table.problem(problems, line, reason),
        }
    });
    Ok(Some(rows))
}

/// Reads `app_memory_percentiles*.csv`, per function when it has a `HashFunction`
/// column, else per app (owner + app). Per-app duplicates are tolerated when they are
/// identical, as the published files repeat some apps.
pub(super) fn memory(
    path: &Path,
    problems: &mut Collector<Problem>,
) -> Result<Option<Vec<MemRow>>, Error> {
    let Some(table) = read_table(path, problems)? else {
        return Ok(None);
    };
    let required = [IDS[0], IDS[1], "AverageAllocatedMb"];
    let optional = [IDS[2], "SampleCount"];
    let expected = "HashOwner, HashApp, optionally HashFunction, SampleCount, AverageAllocatedMb and AverageAllocatedMb_pctN";
    let pattern = percentile_column("AverageAllocatedMb_pct");
    let Some((named, pcts)) = table.layout(problems, &required, &optional, expected, pattern)
    else {
        return Ok(None);
    };
    if pcts.is_empty() {
        let reason = Reason::MissingColumns(vec!["AverageAllocatedMb_pctN".to_owned()]);
        table.problem(problems, table.header_line, reason);
        return Ok(None);
    }
    let per_function = named.get("HashFunction").copied();
    let mut rows: Vec<MemRow> = Vec::with_capacity(table.rows.len());
    let mut seen_functions = HashMap::new();
    let mut seen_apps: HashMap<(String, String), usize> = HashMap::new();
    table.each_row(problems, |line, r, problems| {
        let row = (|| {
            let function = match per_function {
                Some(col) => Some(table.text(r, col)?.to_owned()),
                None => None,
            };
            let mean = table.number(r, named["AverageAllocatedMb"])?;
            let points = pcts
                .iter()
                .map(|&(p, col)| Ok((p, table.number(r, col)?)))
                .collect::<Result<Vec<_>, Reason>>()?;
            Ok(MemRow {
                line,
                owner: table.text(r, named["HashOwner"])?.to_owned(),
                app: table.text(r, named["HashApp"])?.to_owned(),
                function,
                memory_mb: QuantileSet::new(points, Some(mean))?,
            })
        })();
        let row = match row {
            Ok(row) => row,
            Err(reason) => return table.problem(problems, line, reason),
        };
        if let Some(f) = &row.function {
            if check_unique(&mut seen_functions, &table, problems, f, line) {
                rows.push(row);
            }
            return;
        }
        let key = (row.owner.clone(), row.app.clone());
        match seen_apps.get(&key) {
            Some(&i) if rows[i].memory_mb == row.memory_mb => {}
            Some(&i) => {
                let reason = Reason::DuplicateApp {
                    app: short(&row.app),
                    first_line: rows[i].line,
                };
                table.problem(problems, line, reason);
            }
            None => {
                seen_apps.insert(key, rows.len());
                rows.push(row);
            }
        }
    });
    Ok(Some(rows))
}
