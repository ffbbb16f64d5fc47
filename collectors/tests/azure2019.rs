//! The Azure Functions 2019 importer, on the real 500-function sample and on small
//! malformed traces.

mod common;

use std::collections::HashMap;

use adaptd_collectors::azure2019::{self, Error, Options, Reason};
use adaptd_collectors::timestamp::parse_minute;
use adaptd_engine::telemetry::{Metric, Stat};
use common::{TempDir, azure_sample_dir};

#[test]
fn real_sample_has_every_function_and_minute() {
    let set = adaptd_collectors::load(&format!("azure2019:{}", azure_sample_dir().display()))
        .expect("the real sample loads");
    assert_eq!(set.len(), 500);
    assert_eq!(set.sources.len(), 3);

    // Independent row sums straight from the CSV.
    let mut reader =
        csv::Reader::from_path(azure_sample_dir().join("invocations_per_function.csv")).unwrap();
    let headers = reader.headers().unwrap().clone();
    let first_minute = headers.iter().position(|h| h == "480").unwrap();
    let mut totals: HashMap<String, f64> = HashMap::new();
    for r in reader.records() {
        let r = r.unwrap();
        let sum: f64 = r
            .iter()
            .skip(first_minute)
            .map(|v| v.parse::<f64>().unwrap())
            .sum();
        totals.insert(r[2].to_owned(), sum);
    }
    assert_eq!(totals.len(), 500);

    let start = parse_minute("2019-07-15T07:59:00Z").unwrap();
    let end = parse_minute("2019-07-15T15:59:00Z").unwrap();
    for (name, c) in &set.components {
        assert!(name.starts_with("fn-") && name.len() == 15, "{name}");
        let inv = c.invocations().unwrap();
        assert_eq!((inv.start(), inv.end()), (start, end), "{name}");
        assert_eq!(
            inv.observed_minutes(),
            480,
            "{name}: zeros are declared, not gaps"
        );
        assert_eq!(c.window, Some((start, end)));
        let function = &c.attributes["function"];
        assert!(function.starts_with(&name[3..]));
        let total: f64 = inv.observed().map(|(_, v)| v).sum();
        assert_eq!(total, totals[function], "{name}");
        assert!(
            c.duration_ms.is_some() && c.memory_used_mb.is_some(),
            "{name}"
        );
        assert_eq!(c.attributes["source"], "azure2019");
    }
    let grand: f64 = totals.values().sum();
    assert_eq!(grand, 3_037_902.0);
}

#[test]
fn real_sample_spot_checks() {
    let set = azure2019::load_dir(&azure_sample_dir(), &Options::default()).unwrap();
    // The busiest function (line 289 of the invocations file).
    let c = &set.components["fn-1992918c23cc"];
    assert_eq!(c.attributes["trigger"], "event");
    let inv = c.invocations().unwrap();
    assert_eq!(
        inv.get(parse_minute("2019-07-15T07:59:00Z").unwrap()),
        Some(4303.0)
    );
    assert_eq!(
        inv.get(parse_minute("2019-07-15T15:58:00Z").unwrap()),
        Some(4332.0)
    );
    assert_eq!(inv.get(parse_minute("2019-07-15T15:59:00Z").unwrap()), None);
    let total: f64 = inv.observed().map(|(_, v)| v).sum();
    assert_eq!(total, 1_915_521.0);
    let d = c.duration_ms.as_ref().unwrap();
    assert_eq!(d.quantile(0.5), 152.0);
    assert_eq!(d.quantile(0.99), 665.0);
    assert_eq!(d.max(), 2248.0);
    assert_eq!(d.reported_mean(), Some(195.0));
    let m = c.memory_used_mb.as_ref().unwrap();
    assert!((m.quantile(0.5) - 104.333_333).abs() < 1e-3);
    assert_eq!(m.max(), 128.0);
    assert!((m.reported_mean().unwrap() - 98.333_333).abs() < 1e-3);

    // The first row: an http function invoked once, in column 552, the 552nd minute of
    // the day (09:11).
    let c = &set.components["fn-0951ccc96bb7"];
    assert_eq!(c.attributes["trigger"], "http");
    let inv = c.invocations().unwrap();
    assert_eq!(
        inv.get(parse_minute("2019-07-15T09:11:00Z").unwrap()),
        Some(1.0)
    );
    assert_eq!(inv.observed().filter(|&(_, v)| v > 0.0).count(), 1);
    assert_eq!(c.duration_ms.as_ref().unwrap().quantile(0.5), 2638.0);

    // Sub-millisecond functions are kept, as a distribution at 0 ms.
    let c = &set.components["fn-9b4073d8aafe"];
    assert_eq!(c.duration_ms.as_ref().unwrap().max(), 0.0);
}

#[test]
fn date_option_moves_the_day() {
    let opts = Options {
        date: chrono::NaiveDate::from_ymd_opt(2020, 2, 29).unwrap(),
        ..Options::default()
    };
    let set = azure2019::load_dir(&azure_sample_dir(), &opts).unwrap();
    let c = set.components.values().next().unwrap();
    assert_eq!(
        c.window.unwrap().0,
        parse_minute("2020-02-29T07:59:00Z").unwrap()
    );
}

// ---- small traces -------------------------------------------------------------------

const INV: &str = "\
HashOwner,HashApp,HashFunction,Trigger,1,2,3
o1,a1,f1aaaaaaaaaaaaaa,http,0,5,1
o2,a2,f2bbbbbbbbbbbbbb,timer,1,0,0
";
const DUR: &str = "\
HashOwner,HashApp,HashFunction,Average,Count,Minimum,Maximum,percentile_Average_0,percentile_Average_50,percentile_Average_100
o2,a2,f2bbbbbbbbbbbbbb,40,1,30.0,50.0,30,40,50
o1,a1,f1aaaaaaaaaaaaaa,12,6,1.0,90.0,1,10,90
";
const MEM_PER_APP: &str = "\
HashOwner,HashApp,SampleCount,AverageAllocatedMb,AverageAllocatedMb_pct1,AverageAllocatedMb_pct50,AverageAllocatedMb_pct100
o1,a1,10,100.0,90.0,100.0,120.0
o2,a2,10,200.0,150.0,200.0,260.0
";

fn trace(inv: &str, dur: &str, mem: Option<&str>) -> TempDir {
    let dir = TempDir::new();
    dir.write("invocations_per_function_md.anon.d01.csv", inv);
    dir.write("function_durations_percentiles.anon.d01.csv", dur);
    if let Some(mem) = mem {
        dir.write("app_memory_percentiles.anon.d01.csv", mem);
    }
    dir
}

fn load(dir: &TempDir) -> Result<adaptd_engine::telemetry::TelemetrySet, Error> {
    azure2019::load_dir(dir.path(), &Options::default())
}

fn problems(err: Error) -> Vec<(Option<u64>, Reason, String)> {
    match err {
        Error::Invalid(p) => p
            .list
            .into_iter()
            .map(|p| {
                let shown = p.to_string();
                (p.line, p.reason, shown)
            })
            .collect(),
        other => panic!("expected invalid content, got: {other}"),
    }
}

#[test]
fn original_schema_joins_memory_per_app_and_counts_minutes_from_one() {
    let dir = trace(INV, DUR, Some(MEM_PER_APP));
    let set = load(&dir).unwrap();
    assert_eq!(set.len(), 2);
    let c = &set.components["fn-f1aaaaaaaaaa"];
    let day = parse_minute("2019-07-15T00:00:00Z").unwrap();
    assert_eq!(c.window, Some((day, day + 3)));
    let inv = c.invocations().unwrap();
    assert_eq!(
        inv.iter().collect::<Vec<_>>(),
        [(day, Some(0.0)), (day + 1, Some(5.0)), (day + 2, Some(1.0))]
    );
    assert_eq!(c.duration_ms.as_ref().unwrap().quantile(0.5), 10.0);
    assert_eq!(
        c.memory_used_mb.as_ref().unwrap().reported_mean(),
        Some(100.0)
    );
    assert_eq!(
        set.components["fn-f2bbbbbbbbbb"]
            .memory_used_mb
            .as_ref()
            .unwrap()
            .max(),
        260.0
    );
    assert_eq!(c.attributes["owner"], "o1");
    assert_eq!(c.attributes["app"], "a1");
    assert!(c.get(Metric::Invocations, Stat::Sum).is_some());
}

#[test]
fn minute_prefixed_columns_and_gzip_are_read() {
    let dir = TempDir::new();
    let inv = INV.replace(",1,2,3\n", ",minute_600,minute_601,minute_603\n");
    dir.write_gz("invocations_per_function.csv.gz", &inv);
    dir.write_gz("function_durations_percentiles.csv.gz", DUR);
    dir.write("app_memory_percentiles.csv", MEM_PER_APP);
    let set = load(&dir).unwrap();
    let inv = set.components["fn-f1aaaaaaaaaa"].invocations().unwrap();
    let day = parse_minute("2019-07-15T00:00:00Z").unwrap();
    assert_eq!(inv.get(day + 599), Some(0.0));
    assert_eq!(inv.get(day + 600), Some(5.0));
    assert_eq!(inv.get(day + 601), None, "an undeclared minute is missing");
    assert_eq!(inv.get(day + 602), Some(1.0));
}

#[test]
fn missing_and_ambiguous_files_are_named() {
    let dir = trace(INV, DUR, None);
    let e = load(&dir).unwrap_err();
    assert!(
        matches!(
            e,
            Error::MissingFile {
                prefix: "app_memory_percentiles",
                ..
            }
        ),
        "{e}"
    );
    // allow_missing tolerates a day without memory (the dataset lacks two).
    let opts = Options {
        allow_missing: true,
        ..Options::default()
    };
    let set = azure2019::load_dir(dir.path(), &opts).unwrap();
    assert!(set.components.values().all(|c| c.memory_used_mb.is_none()));

    dir.write("app_memory_percentiles.anon.d01.csv", MEM_PER_APP);
    dir.write("app_memory_percentiles.anon.d02.csv", MEM_PER_APP);
    let e = load(&dir).unwrap_err();
    let text = e.to_string();
    assert!(matches!(e, Error::AmbiguousFile { .. }), "{text}");
    assert!(
        text.contains("d01.csv") && text.contains("d02.csv"),
        "{text}"
    );
}

#[test]
fn functions_missing_from_a_table_are_refused_unless_allowed() {
    let dur = DUR.lines().take(2).collect::<Vec<_>>().join("\n"); // f1 lacks durations
    let dir = trace(INV, &dur, Some(MEM_PER_APP));
    let e = load(&dir).unwrap_err();
    let text = e.to_string();
    let Error::Unmatched(gaps) = e else {
        panic!("{text}")
    };
    assert_eq!(gaps.len(), 1, "{text}");
    assert_eq!(gaps[0].count, 1);
    assert_eq!(gaps[0].examples, ["f1aaaaaaaaaaaaaa"]);
    assert!(text.contains("function_durations_percentiles"), "{text}");

    let opts = Options {
        allow_missing: true,
        ..Options::default()
    };
    let set = azure2019::load_dir(dir.path(), &opts).unwrap();
    assert!(set.components["fn-f1aaaaaaaaaa"].duration_ms.is_none());
    assert!(set.components["fn-f2bbbbbbbbbb"].duration_ms.is_some());

    // The other way round: a durations row for a function never listed.
    let dur = format!("{DUR}o3,a3,f3cccccccccccccc,1,1,1,1,1,1,1\n");
    let mem = format!("{MEM_PER_APP}o3,a3,1,1,1,1,1\n");
    let dir = trace(INV, &dur, Some(&mem));
    let Error::Unmatched(gaps) = load(&dir).unwrap_err() else {
        panic!()
    };
    assert_eq!(gaps.len(), 2);
    assert_eq!((gaps[0].kind, gaps[0].count), ("function", 1));
    assert_eq!((gaps[1].kind, gaps[1].count), ("app", 1));
}

#[test]
fn decreasing_percentiles_name_file_and_line() {
    let dur = DUR.replace("1,10,90", "1,95,90");
    let dir = trace(INV, &dur, Some(MEM_PER_APP));
    let p = problems(load(&dir).unwrap_err());
    assert_eq!(p.len(), 1);
    assert_eq!(p[0].0, Some(3));
    assert!(matches!(p[0].1, Reason::Quantiles(_)));
    assert!(p[0].2.contains("function_durations_percentiles.anon.d01.csv:3: percentiles decrease: p50 = 95 but p100 = 90"), "{}", p[0].2);
}

#[test]
fn bad_cells_are_all_reported_at_once() {
    let inv = INV
        .replace("http,0,5,1", "http,0,-5,1.5")
        .replace("timer,1,0,0", "timer,1,,x");
    let mem = MEM_PER_APP.replace("200.0,150.0", "inf,150.0");
    let dir = trace(&inv, DUR, Some(&mem));
    let p = problems(load(&dir).unwrap_err());
    let lines: Vec<_> = p.iter().map(|x| (x.0, x.2.clone())).collect();
    assert_eq!(p.len(), 3, "{lines:?}");
    assert!(matches!(&p[0].1, Reason::BadCount { column, text } if column == "2" && text == "-5"));
    assert_eq!(p[0].0, Some(2));
    assert!(matches!(&p[1].1, Reason::Empty(c) if c == "2"));
    assert_eq!(p[1].0, Some(3));
    assert!(matches!(&p[2].1, Reason::BadNumber { column, .. } if column == "AverageAllocatedMb"));
    assert!(
        p[2].2.contains("app_memory_percentiles.anon.d01.csv:3:"),
        "{}",
        p[2].2
    );
}

#[test]
fn header_problems() {
    let cases = [
        (INV.replace("Trigger,", ""), "missing column Trigger"),
        (
            INV.replace(",3\n", ",3,Region\n")
                .replace(",1\n", ",1,eu\n")
                .replace(",0\n", ",0,us\n"),
            "unexpected column Region",
        ),
        (
            INV.replace(",3\n", ",1441\n"),
            "minute column `1441` is outside 1–1440",
        ),
        (
            INV.replace(",2,3\n", ",2,minute_2\n"),
            "column `minute_2` appears twice",
        ),
        (
            INV.replace(",1,2,3\n", "\n")
                .replace(",0,5,1", "")
                .replace(",1,0,0", ""),
            "no minute columns",
        ),
    ];
    for (inv, expected) in cases {
        let dir = trace(&inv, DUR, Some(MEM_PER_APP));
        let p = problems(load(&dir).unwrap_err());
        assert!(p[0].2.contains(expected), "{expected}: {:?}", p[0].2);
        assert_eq!(p[0].0, Some(1));
    }
}

#[test]
fn duplicates_and_field_counts() {
    let inv = format!("{INV}o1,a1,f1aaaaaaaaaaaaaa,http,0,0,0\no9,a9,f9,http,1,2\n");
    let dir = trace(&inv, DUR, Some(MEM_PER_APP));
    let p = problems(load(&dir).unwrap_err());
    assert_eq!(p.len(), 2);
    assert_eq!(
        p[0].1,
        Reason::DuplicateFunction {
            hash: "f1aaaaaaaaaaaaaa".into(),
            first_line: 2
        }
    );
    assert_eq!(p[0].0, Some(4));
    assert_eq!(
        p[1].1,
        Reason::FieldCount {
            expected: 7,
            found: 6
        }
    );

    // Per-app memory may repeat an app identically, not differently.
    let same = format!("{MEM_PER_APP}o1,a1,10,100.0,90.0,100.0,120.0\n");
    assert!(load(&trace(INV, DUR, Some(&same))).is_ok());
    let differs = format!("{MEM_PER_APP}o1,a1,10,100.0,90.0,101.0,120.0\n");
    let p = problems(load(&trace(INV, DUR, Some(&differs))).unwrap_err());
    assert_eq!(
        p[0].1,
        Reason::DuplicateApp {
            app: "a1".into(),
            first_line: 2
        }
    );
}

#[test]
fn a_function_under_another_app_is_refused() {
    let dur = DUR.replace("o2,a2,f2", "o2,a7,f2");
    let dir = trace(INV, &dur, Some(MEM_PER_APP));
    let p = problems(load(&dir).unwrap_err());
    assert_eq!(p.len(), 1);
    assert_eq!(p[0].0, Some(2));
    assert!(
        p[0].2
            .contains("belongs to owner o2 / app a7 here but to owner o2 / app a2 in the invocations table (line 3)"),
        "{}",
        p[0].2
    );
}

#[test]
fn per_function_memory_is_joined_by_function() {
    let mem = "\
HashFunction,HashOwner,HashApp,SampleCount,AverageAllocatedMb,AverageAllocatedMb_pct1,AverageAllocatedMb_pct100
f2bbbbbbbbbbbbbb,o2,a2,5,20.0,10.0,30.0
f1aaaaaaaaaaaaaa,o1,a1,5,50.0,40.0,60.0
";
    let set = load(&trace(INV, DUR, Some(mem))).unwrap();
    assert_eq!(
        set.components["fn-f1aaaaaaaaaa"]
            .memory_used_mb
            .as_ref()
            .unwrap()
            .reported_mean(),
        Some(50.0)
    );
    assert_eq!(
        set.components["fn-f2bbbbbbbbbb"]
            .memory_used_mb
            .as_ref()
            .unwrap()
            .max(),
        30.0
    );
}

#[test]
fn names_lengthen_when_prefixes_collide() {
    let inv = INV.replace("f2bbbbbbbbbbbbbb", "f1aaaaaaaaaaaaab");
    let dur = DUR.replace("f2bbbbbbbbbbbbbb", "f1aaaaaaaaaaaaab");
    let set = load(&trace(&inv, &dur, Some(MEM_PER_APP))).unwrap();
    let names: Vec<_> = set.components.keys().cloned().collect();
    assert_eq!(names, ["fn-f1aaaaaaaaaaaaaa", "fn-f1aaaaaaaaaaaaab"]);
}

#[test]
fn load_dispatches_on_the_spec() {
    let e = adaptd_collectors::load("cloudwatch:eu-west-1").unwrap_err();
    assert!(
        e.to_string()
            .contains("unknown telemetry source `cloudwatch:`"),
        "{e}"
    );
    let e = adaptd_collectors::load("/nonexistent/telemetry.csv").unwrap_err();
    assert!(e.to_string().contains("no such file"), "{e}");
    let e = adaptd_collectors::load(azure_sample_dir().to_str().unwrap()).unwrap_err();
    assert!(e.to_string().contains("azure2019:DIR"), "{e}");
}
