//! The long format: round trips, every error, and a property test.

mod common;

use adaptd_collectors::file::{
    self, Error, read_csv, read_json, write_long_csv, write_long_json, write_long_jsonl,
};
use adaptd_collectors::timestamp::parse_minute;
use adaptd_engine::telemetry::{ComponentTelemetry, Metric, Stat, TelemetrySet};
use common::TempDir;
use proptest::prelude::*;

fn t(text: &str) -> i64 {
    parse_minute(text).unwrap()
}

/// Series and attributes, which is everything the format holds.
fn assert_same(a: &TelemetrySet, b: &TelemetrySet) {
    assert_eq!(
        a.components.keys().collect::<Vec<_>>(),
        b.components.keys().collect::<Vec<_>>()
    );
    for (name, x) in &a.components {
        let y = &b.components[name];
        assert_eq!(x.attributes, y.attributes, "{name}");
        assert_eq!(x.series.len(), y.series.len(), "{name}");
        for (key, s) in &x.series {
            let r = &y.series[key];
            let xs: Vec<_> = s.observed().collect();
            let ys: Vec<_> = r.observed().collect();
            assert_eq!(xs, ys, "{name} {key:?}");
        }
    }
}

fn sample_set() -> TelemetrySet {
    let mut set = TelemetrySet::default();
    let c = set.component_mut("checkout-api");
    c.attributes.insert("runtime".into(), "nodejs20.x".into());
    c.attributes
        .insert("note".into(), "a, \"quoted\" value".into());
    let m = t("2026-11-16T08:00:00Z");
    c.record(m, Metric::Invocations, Stat::Sum, 12.0).unwrap();
    // m+1 is a gap, m+2 an observed zero.
    c.record(m + 2, Metric::Invocations, Stat::Sum, 0.0)
        .unwrap();
    c.record(m, Metric::DurationMs, Stat::Percentile(999), 0.1)
        .unwrap();
    c.record(m, Metric::DurationMs, Stat::Average, 123.456)
        .unwrap();
    let c = set.component_mut("only-attributes");
    c.attributes.insert("trigger".into(), "queue".into());
    set
}

#[test]
fn round_trip_keeps_gaps_attributes_and_exact_values() {
    let set = sample_set();
    let mut csv = Vec::new();
    write_long_csv(&set, &mut csv).unwrap();
    let text = String::from_utf8(csv.clone()).unwrap();
    assert_eq!(
        text,
        "timestamp,component,metric,stat,value
2026-11-16T08:00:00Z,checkout-api,attribute,note,\"a, \"\"quoted\"\" value\"
2026-11-16T08:00:00Z,checkout-api,attribute,runtime,nodejs20.x
2026-11-16T08:00:00Z,checkout-api,invocations,sum,12
2026-11-16T08:02:00Z,checkout-api,invocations,sum,0
2026-11-16T08:00:00Z,checkout-api,duration_ms,avg,123.456
2026-11-16T08:00:00Z,checkout-api,duration_ms,p99.9,0.1
2026-11-16T08:00:00Z,only-attributes,attribute,trigger,queue
"
    );
    let back = read_csv("mem.csv", csv.as_slice()).unwrap();
    assert_same(&set, &back);
    let inv = back.components["checkout-api"].invocations().unwrap();
    assert_eq!(inv.get(t("2026-11-16T08:01:00Z")), None);
    assert_eq!(inv.get(t("2026-11-16T08:02:00Z")), Some(0.0));

    type Writer = fn(&TelemetrySet, &mut Vec<u8>) -> std::io::Result<()>;
    let writers: [Writer; 2] = [|s, w| write_long_json(s, w), |s, w| write_long_jsonl(s, w)];
    for write in writers {
        let mut out = Vec::new();
        write(&set, &mut out).unwrap();
        let back = read_json("mem.json", std::str::from_utf8(&out).unwrap()).unwrap();
        assert_same(&set, &back);
    }
}

#[test]
fn files_and_directories_load_by_extension_and_gzip() {
    let set = sample_set();
    let dir = TempDir::new();
    let mut csv = Vec::new();
    write_long_csv(&set, &mut csv).unwrap();
    dir.write_gz("a.csv.gz", std::str::from_utf8(&csv).unwrap());
    let loaded = adaptd_collectors::load(dir.path().join("a.csv.gz").to_str().unwrap()).unwrap();
    assert_same(&set, &loaded);

    // A directory merges its files; a repeated identical sample is not a conflict.
    let mut jsonl = Vec::new();
    write_long_jsonl(&set, &mut jsonl).unwrap();
    dir.write("b.jsonl", std::str::from_utf8(&jsonl).unwrap());
    dir.write("ignored.txt", "not telemetry");
    let merged = adaptd_collectors::load(dir.path().to_str().unwrap()).unwrap();
    assert_same(&set, &merged);
    assert_eq!(merged.sources.len(), 2);

    let e = file::read_files(&[dir.write("x.parquet", "")]).unwrap_err();
    assert!(matches!(e, Error::UnknownExtension { .. }), "{e}");
    let empty = TempDir::new();
    assert!(matches!(
        file::read_path(empty.path()),
        Err(Error::EmptyDirectory { .. })
    ));
}

fn csv_problems(text: &str) -> Vec<String> {
    match read_csv("t.csv", text.as_bytes()) {
        Err(Error::Invalid(p)) => p.list.iter().map(ToString::to_string).collect(),
        other => panic!("expected problems, got {other:?}"),
    }
}

#[test]
fn csv_columns_by_name_comments_and_unix_seconds() {
    let text = "# exported by hand\nvalue, stat ,metric,component,timestamp\n\n7,sum,invocations,a,1794816000\n# more\n2.5,p50,duration_ms,a,2026-11-16T09:00:00+01:00\n";
    let set = read_csv("t.csv", text.as_bytes()).unwrap();
    let a = &set.components["a"];
    assert_eq!(
        a.invocations().unwrap().get(t("2026-11-16T08:00:00Z")),
        Some(7.0)
    );
    assert_eq!(
        a.get(Metric::DurationMs, Stat::P50)
            .unwrap()
            .get(t("2026-11-16T08:00:00Z")),
        Some(2.5)
    );
}

#[test]
fn csv_header_problems() {
    assert_eq!(
        csv_problems(""),
        ["t.csv: no header row (expected `timestamp,component,metric,stat,value`)"]
    );
    let p = csv_problems("timestamp,component,metric,value,unit,region\n");
    assert_eq!(
        p,
        [
            "t.csv:1: missing column `stat` (the header must name timestamp, component, metric, stat and value)",
            "t.csv:1: unexpected columns `unit`, `region` (the columns are timestamp, component, metric, stat and value)",
        ]
    );
    let p = csv_problems("timestamp,component,metric,stat,value,value\n");
    assert_eq!(p, ["t.csv:1: column `value` appears twice in the header"]);
    let p = csv_problems("HashOwner,HashApp,HashFunction,Trigger,1\n");
    assert!(p[0].contains("azure2019:DIR"), "{p:?}");
}

#[test]
fn csv_row_problems_are_collected_with_lines() {
    let text = "\
timestamp,component,metric,stat,value
2026-11-16T08:00:00Z,a,latency,avg,1
2026-11-16T08:00:30Z,a,invocations,sum,1
2026-11-16T08:00:00Z,a,invocations,total,1
2026-11-16T08:00:00Z,a,invocations,sum,NaN
# a comment does not shift line numbers
2026-11-16T08:00:00Z,a,invocations,sum,1e39
2026-11-16T08:00:00Z,a,invocations,sum,12 ms
2026-11-16T08:00:00Z,,invocations,sum,1
2026-11-16T08:00:00Z,a,invocations,sum
yesterday,a,invocations,sum,1
2026-11-16T08:00:00Z,a,attribute,runtime,
";
    let p = csv_problems(text);
    assert_eq!(p.len(), 10, "{p:#?}");
    assert!(p[0].starts_with("t.csv:2: unknown metric `latency` (expected `attribute` or one of: invocations, errors,"), "{}", p[0]);
    assert_eq!(
        p[1],
        "t.csv:3: timestamp `2026-11-16T08:00:30Z` is not at a whole minute (samples are per minute)"
    );
    assert!(
        p[2].starts_with("t.csv:4: unknown stat `total`"),
        "{}",
        p[2]
    );
    assert_eq!(p[3], "t.csv:5: value `NaN` is not finite");
    assert_eq!(
        p[4],
        "t.csv:7: value `1e39` is too large (the limit is about ±3.4e38)"
    );
    assert_eq!(p[5], "t.csv:8: value `12 ms` is not a number");
    assert_eq!(p[6], "t.csv:9: `component` is empty");
    assert_eq!(p[7], "t.csv:10: expected 5 fields, found 4");
    assert!(
        p[8].starts_with("t.csv:11: bad timestamp `yesterday`"),
        "{}",
        p[8]
    );
    assert_eq!(p[9], "t.csv:12: `value` is empty");
}

#[test]
fn conflicting_duplicates_name_both_rows() {
    let text = "\
timestamp,component,metric,stat,value
2026-11-16T08:00:00Z,a,invocations,sum,5
2026-11-16T08:01:00Z,a,invocations,sum,6
2026-11-16T08:00:00Z,a,invocations,sum,5
2026-11-16T08:00:00Z,a,invocations,sum,7
2026-11-16T08:00:00Z,a,attribute,runtime,java17
2026-11-16T08:00:00Z,a,attribute,runtime,java21
";
    let p = csv_problems(text);
    assert_eq!(
        p,
        [
            "t.csv:5: conflicting samples for `a` invocations sum at 2026-11-16T08:00:00Z: 7 here but 5 at line 4",
            "t.csv:7: conflicting samples for `a` attribute runtime at 2026-11-16T08:00:00Z: `java21` here but `java17` at line 6",
        ]
    );
}

#[test]
fn a_later_attribute_wins() {
    let text = "\
timestamp,component,metric,stat,value
2026-11-19T00:00:00Z,a,attribute,memory_mb,1536
2026-11-16T00:00:00Z,a,attribute,memory_mb,1024
";
    let set = read_csv("t.csv", text.as_bytes()).unwrap();
    assert_eq!(set.components["a"].attributes["memory_mb"], "1536");
}

#[test]
fn conflicts_across_files_name_the_other_file() {
    let dir = TempDir::new();
    let head = "timestamp,component,metric,stat,value\n";
    dir.write(
        "1.csv",
        &format!("{head}2026-11-16T08:00:00Z,a,errors,sum,1\n"),
    );
    dir.write(
        "2.csv",
        &format!("{head}2026-11-16T08:00:00Z,a,errors,sum,2\n"),
    );
    let Err(Error::Invalid(p)) = file::read_path(dir.path()) else {
        panic!()
    };
    let text = p.list[0].to_string();
    assert!(
        text.contains("2.csv:2: conflicting samples") && text.contains("1.csv:2"),
        "{text}"
    );
}

#[test]
fn problems_stop_at_twenty() {
    let mut text = String::from("timestamp,component,metric,stat,value\n");
    for _ in 0..50 {
        text.push_str("2026-11-16T08:00:00Z,a,bogus,sum,1\n");
    }
    let Err(Error::Invalid(p)) = read_csv("t.csv", text.as_bytes()) else {
        panic!()
    };
    assert_eq!(p.list.len(), 20);
    assert!(p.stopped_early);
    assert!(
        Error::Invalid(p)
            .to_string()
            .starts_with("invalid telemetry: 20 problems (stopped there")
    );
}

fn json_problems(text: &str) -> Vec<String> {
    match read_json("t.json", text) {
        Err(Error::Invalid(p)) => p.list.iter().map(ToString::to_string).collect(),
        other => panic!("expected problems, got {other:?}"),
    }
}

#[test]
fn json_array_problems_carry_line_and_pointer() {
    let text = r#"[
{"timestamp":"2026-11-16T08:00:00Z","component":"a","metric":"invocations","stat":"sum","value":1},
{"timestamp":"2026-11-16T08:00:00Z","component":"a","metric":"invocations","stat":"sum",
 "value":"1"},
{"timestamp":1794816000,"component":"a","metric":"invocations","stat":"sum","value":1,"unit":"count"},
{"timestamp":true,"component":"a","metric":"invocations","stat":"sum","value":1},
{"timestamp":"2026-11-16T08:00:00Z","component":"a","metric":"attribute","stat":"memory_mb","value":1024},
{"component":"a","metric":"invocations","stat":"sum","value":1},
{"timestamp":"2026-11-16T08:00:00Z","component":"a","metric":"duration_ms","stat":"p1000","value":1},
{"timestamp":"2026-11-16T08:00:00Z","component":"a","metric":"invocations","stat":"sum","value":2},
[1,2]
]"#;
    let p = json_problems(text);
    assert_eq!(
        p,
        [
            "t.json:3 (/1/value): `value` must be a number",
            "t.json:5 (/2): unexpected key `unit` (the keys are timestamp, component, metric, stat and value)",
            "t.json:6 (/3/timestamp): `timestamp` must be a string or integer Unix seconds",
            "t.json:8 (/5): missing key `timestamp`",
            "t.json:9 (/6/stat): unknown stat `p1000` (expected sum, avg, min, max, count or a percentile such as p50, p99, p99.9)",
            "t.json:11 (/8): syntax error: invalid type: sequence, expected an object with keys timestamp, component, metric, stat, value at line 1 column 0",
            "t.json:10 (/7): conflicting samples for `a` invocations sum at 2026-11-16T08:00:00Z: 2 here but 1 at line 2 (/0)",
        ]
    );
}

#[test]
fn json_lines_and_syntax_errors() {
    let text = "\
{\"timestamp\":\"2026-11-16T08:00:00Z\",\"component\":\"a\",\"metric\":\"attribute\",\"stat\":\"memory_mb\",\"value\":1024}

{\"timestamp\":\"2026-11-16T08:00:00Z\",\"component\":\"a\",\"metric\":\"errors\",\"stat\":\"sum\",\"value\":1e400}
{\"timestamp\":\"2026-11-16T08:00:00Z\",\"component\":\"a\",
";
    let p = json_problems(text);
    assert_eq!(p.len(), 2, "{p:?}");
    assert_eq!(
        p[0],
        "t.json:3 (/value): value `1e400` is too large (the limit is about ±3.4e38)"
    );
    assert!(
        p[1].starts_with("t.json:4: syntax error: EOF while parsing"),
        "{}",
        p[1]
    );

    let ok = read_json("t.jsonl", text.lines().next().unwrap()).unwrap();
    assert_eq!(ok.components["a"].attributes["memory_mb"], "1024");

    let p = json_problems("[{\"timestamp\": 1,}\n]");
    assert_eq!(p.len(), 1);
    assert!(p[0].starts_with("t.json:1: syntax error"), "{}", p[0]);
}

fn arb_set() -> impl Strategy<Value = TelemetrySet> {
    let name = "[a-z][a-z0-9-]{0,8}";
    let value = prop_oneof![
        Just(0.0f32),
        any::<f32>().prop_filter("finite", |v| v.is_finite()),
        (0u32..100_000).prop_map(|v| v as f32),
    ];
    let series = proptest::collection::vec(proptest::option::of(value), 1..30);
    let key = (
        0..Metric::ALL.len(),
        prop_oneof![
            Just(Stat::Sum),
            Just(Stat::Average),
            Just(Stat::Maximum),
            (0u16..=1000).prop_map(Stat::Percentile),
        ],
    );
    let attrs = proptest::collection::btree_map("[a-z_]{1,10}", "[\\s\\S]{1,12}", 0..3);
    let component = (
        attrs,
        proptest::collection::btree_map(key, (-100_000i64..100_000_000, series), 0..4),
    );
    proptest::collection::btree_map(name, component, 1..4).prop_map(|comps| {
        let mut set = TelemetrySet::default();
        for (name, (attrs, series)) in comps {
            let mut c = ComponentTelemetry::new(name.clone());
            c.attributes = attrs;
            for ((m, stat), (start, values)) in series {
                for (i, v) in values.into_iter().enumerate() {
                    if let Some(v) = v {
                        c.record(start + i as i64, Metric::ALL[m], stat, f64::from(v))
                            .unwrap();
                    }
                }
            }
            // A component with neither has no row and cannot come back.
            if !c.attributes.is_empty() || !c.series.is_empty() {
                set.components.insert(name, c);
            }
        }
        set
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn any_set_round_trips(set in arb_set()) {
        let mut csv = Vec::new();
        write_long_csv(&set, &mut csv).unwrap();
        let back = read_csv("p.csv", csv.as_slice()).unwrap();
        assert_same(&set, &back);

        let mut json = Vec::new();
        write_long_json(&set, &mut json).unwrap();
        let back = read_json("p.json", std::str::from_utf8(&json).unwrap()).unwrap();
        assert_same(&set, &back);

        // Writing what was read gives the same bytes: the order is canonical.
        let mut again = Vec::new();
        write_long_csv(&back, &mut again).unwrap();
        prop_assert_eq!(csv, again);
    }
}

#[test]
fn bytes_in_memory_read_like_files() {
    let set = sample_set();
    let mut csv = Vec::new();
    write_long_csv(&set, &mut csv).unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut gz, &csv).unwrap();
    let gz = gz.finish().unwrap();
    assert_same(
        &set,
        &file::read_bytes(&gz, "embedded/telemetry.csv.gz").unwrap(),
    );
    let mut jsonl = Vec::new();
    write_long_jsonl(&set, &mut jsonl).unwrap();
    assert_same(&set, &file::read_bytes(&jsonl, "t.jsonl").unwrap());
    assert!(matches!(
        file::read_bytes(&csv, "telemetry"),
        Err(Error::UnknownExtension { .. })
    ));
}
