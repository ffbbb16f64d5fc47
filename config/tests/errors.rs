//! Invalid configurations: every problem is reported, at its position.

use adaptd_config::{Config, ConfigError, ConfigErrors};

fn errors(text: &str) -> ConfigErrors {
    match Config::from_str(text, "adaptd.toml") {
        Ok(_) => panic!("expected errors for:\n{text}"),
        Err(e) => e,
    }
}

/// The only error, as `LINE:COL: PATH: MESSAGE`.
fn only(text: &str) -> String {
    let e = errors(text);
    assert_eq!(e.len(), 1, "expected one error, got:\n{e}");
    short(&e.errors()[0])
}

fn short(e: &ConfigError) -> String {
    format!("{}:{}: {}: {}", e.line, e.col, e.path, e.message)
}

#[test]
fn several_errors_in_different_components_are_reported_together_with_positions() {
    let text = r#"[[components]]
name = "a"
current = { memory_mb = 64 }

[[components]]
name = "b"
slo = { p99_ms = -5 }

[[components]]
name = "c"
enviroment = "prod"
current = { platform = "lambda", memory_mb = "1 GB" }
"#;
    let e = errors(text);
    let got: Vec<String> = e.iter().map(short).collect();
    assert_eq!(
        got,
        [
            "3:25: components[0].current.memory_mb: must be between 128 and 10240 (got 64)",
            "7:18: components[1].slo.p99_ms: must be > 0 (got -5)",
            "11:1: components[2].enviroment: unknown key, did you mean `environment`? (expected one of: name, account, environment, trigger, runtime, tags, databases, load_balancer, current, slo, model, timezone)",
            "12:46: components[2].current.memory_mb: wrong type (got string \"1 GB\", expected a whole number >= 0)",
        ]
    );
    // The displayed form: FILE:LINE:COL: PATH: MESSAGE, one per line.
    let shown = e.to_string();
    assert_eq!(shown.lines().count(), 4);
    assert!(
        shown.contains("adaptd.toml:7:18: components[1].slo.p99_ms: must be > 0 (got -5)"),
        "{shown}"
    );
}

#[test]
fn unknown_keys_suggest_the_closest_field() {
    assert_eq!(
        only("[optimizer]\nmip_gpa = 0.01\n"),
        "2:1: optimizer.mip_gpa: unknown key, did you mean `mip_gap`? (expected one of: mip_gap, time_limit_seconds, budget_usd_per_month, method)"
    );
    // Sections are added over time: the list is checked up to the first ones.
    let e = only("[modle]\n");
    assert!(
        e.starts_with(
            "1:2: modle: unknown key, did you mean `model`? (expected one of: model, prices, optimizer, defaults, accounts, databases, slo, guardrails, components, "
        ),
        "{e}"
    );
    // Nothing close: no suggestion.
    let e = only("[model]\nwibble = 1\n");
    assert!(
        e.starts_with("2:1: model.wibble: unknown key (expected one of: "),
        "{e}"
    );
    // In a nested inline table.
    assert_eq!(
        only("[[slo]]\nname = \"x\"\nmatch = { enviroment = \"prod\" }\n")
            .split(" (")
            .next(),
        Some("3:11: slo[0].match.enviroment: unknown key, did you mean `environment`?")
    );
}

#[test]
fn wrong_types_and_unknown_values_are_reported() {
    assert_eq!(
        only("[optimizer]\ntime_limit_seconds = \"30s\"\n"),
        "2:22: optimizer.time_limit_seconds: wrong type (got string \"30s\", expected a number)"
    );
    assert_eq!(
        only("[defaults]\narchitecture = \"arm\"\n"),
        "2:16: defaults.architecture: unknown value, did you mean \"arm64\"? (expected one of: x86_64, arm64)"
    );
    assert_eq!(
        only("[[accounts]]\nname = \"a\"\nconcurrency_limit = -1\n"),
        "3:21: accounts[0].concurrency_limit: must be >= 0 (got -1)"
    );
    assert_eq!(
        only("accounts = { name = \"a\" }\n"),
        "1:12: accounts: wrong type (got a table, expected an array: write `[[accounts]]` for each entry)"
    );
    assert_eq!(
        only("[[components]]\nname = \"a\"\ndatabases = { x = 1 }\n"),
        "3:13: components[0].databases: wrong type (got a table, expected an array)"
    );
}

#[test]
fn out_of_range_values_are_reported() {
    let e = errors(
        "[model]\ncpu_bound_fraction = 1.5\nparallelism = 0.5\nfargate_target_cpu_utilization = 0\n\
         [optimizer]\nmip_gap = 1\nbudget_usd_per_month = nan\n",
    );
    let got: Vec<String> = e.iter().map(short).collect();
    assert_eq!(
        got,
        [
            "2:22: model.cpu_bound_fraction: must be between 0 and 1 (got 1.5)",
            "3:15: model.parallelism: must be >= 1 (got 0.5)",
            "4:34: model.fargate_target_cpu_utilization: must be > 0 and <= 1 (got 0)",
            "6:11: optimizer.mip_gap: must be >= 0 and < 1 (got 1)",
            "7:24: optimizer.budget_usd_per_month: must be a finite number (got NaN)",
        ]
    );
    assert_eq!(
        only("[[accounts]]\nname = \"main\"\nconcurrency_limit = 50\n"),
        "3:21: accounts[0].concurrency_limit: must be >= 100, since AWS keeps 100 executions unreserved (got 50)"
    );
}

#[test]
fn undefined_references_are_reported() {
    let text = r#"[[accounts]]
name = "main"

[[databases]]
name = "orders-db"
max_connections = 100
vcpus = 2

[[components]]
name = "a"
account = "mian"
databases = ["orders-db", "order-db"]
"#;
    let got: Vec<String> = errors(text).iter().map(short).collect();
    assert_eq!(
        got,
        [
            "11:11: components[0].account: undefined account `mian`, did you mean `main`? (declared: main; `default` is implicit)",
            "12:27: components[0].databases[1]: undefined database `order-db`, did you mean `orders-db`? (declared: orders-db)",
        ]
    );
    assert_eq!(
        only("[defaults]\naccount = \"prod\"\n"),
        "2:11: defaults.account: undefined account `prod` (none are declared in [[accounts]]; only `default` is implicit)"
    );
    // The implicit account needs no declaration.
    assert!(Config::from_str("[[components]]\nname = \"a\"\naccount = \"default\"\n", "x").is_ok());
}

#[test]
fn duplicate_names_point_at_the_first_definition() {
    let text = "[[components]]\nname = \"a\"\n\n[[components]]\nname = \"a\"\n\n\
                [[databases]]\nname = \"d\"\nmax_connections = 10\nvcpus = 1\n\
                [[databases]]\nname = \"d\"\nmax_connections = 10\nvcpus = 1\n";
    let got: Vec<String> = errors(text).iter().map(short).collect();
    assert_eq!(
        got,
        [
            "5:8: components[1].name: duplicate component name `a` (first defined at line 2)",
            "12:8: databases[1].name: duplicate database name `d` (first defined at line 8)",
        ]
    );
    assert_eq!(
        only("[[components]]\nenvironment = \"prod\"\n"),
        "1:1: components[0].name: missing required key"
    );
}

#[test]
fn invalid_fargate_sizes_are_reported() {
    let text = "[[components]]\nname = \"a\"\n\
                current = { platform = \"fargate\", vcpu = 0.5, memory_mb = 512, tasks = 2, per_task_concurrency = 10 }\n";
    assert_eq!(
        only(text),
        "3:59: components[0].current.memory_mb: not a valid Fargate memory size for 0.5 vCPU (got 512, expected 1024–4096 MB in 1024 MB steps)"
    );
    let text = "[[components]]\nname = \"a\"\n\
                current = { platform = \"fargate\", vcpu = 3, memory_mb = 8192, per_task_concurrency = 10, provisioned_concurrency = 2 }\n";
    let got: Vec<String> = errors(text).iter().map(short).collect();
    assert_eq!(
        got,
        [
            "3:11: components[0].current.tasks: missing required key (for platform = \"fargate\")",
            "3:42: components[0].current.vcpu: not a Fargate vCPU size (got 3, expected one of: 0.25, 0.5, 1, 2, 4, 8, 16)",
            "3:116: components[0].current.provisioned_concurrency: only applies to platform = \"lambda\" (got platform = \"fargate\")",
        ]
    );
}

#[test]
fn schedules_need_24_values() {
    let hours: Vec<String> = (0..23).map(|h| (h % 3).to_string()).collect();
    let text = format!(
        "[[components]]\nname = \"a\"\n\n[components.current]\nmemory_mb = 512\nprovisioned_concurrency = [{}]\n",
        hours.join(", ")
    );
    assert_eq!(
        only(&text),
        "6:27: components[0].current.provisioned_concurrency: a schedule needs 24 values, one per hour of the day UTC (got 23)"
    );
    let text = "[[components]]\nname = \"a\"\ncurrent = { memory_mb = 512, provisioned_concurrency = [1, \"x\"] }\n";
    assert_eq!(
        only(text),
        "3:60: components[0].current.provisioned_concurrency[1]: wrong type (got string \"x\", expected a whole number >= 0)"
    );
    let text = "[[components]]\nname = \"a\"\ncurrent = { memory_mb = 512, provisioned_concurrency = 8, reserved_concurrency = 5 }\n";
    assert_eq!(
        only(text),
        "3:56: components[0].current.provisioned_concurrency: exceeds reserved_concurrency (got 8, reserved_concurrency 5)"
    );
}

#[test]
fn invalid_globs_are_reported() {
    let text =
        "[[guardrails]]\nname = \"g\"\nmatch = { name = \"api-[\", tags = { team = \"{a,b\" } }\n";
    let got: Vec<String> = errors(text).iter().map(short).collect();
    assert_eq!(got.len(), 2, "{got:?}");
    assert!(
        got[0].starts_with("3:18: guardrails[0].match.name: invalid glob ("),
        "{got:?}"
    );
    assert!(got[0].ends_with("got \"api-[\")"), "{got:?}");
    assert!(
        got[1].starts_with("3:43: guardrails[0].match.tags.team: invalid glob ("),
        "{got:?}"
    );
}

#[test]
fn unknown_price_overrides_are_reported_at_their_keys() {
    let text = "[prices]\nregion = \"us-east-1\"\n\n[prices.overrides]\n\
                \"lambda.request_usd_per_milion\" = 0.2\n\"fargate.x86_64_vcpu_usd_per_hour\" = 0.04\n\n\
                [prices.overrides.alb]\nusd_per_hour = -1.0\nusd_per_lcu = 0.008\n";
    let got: Vec<String> = errors(text).iter().map(short).collect();
    assert_eq!(
        got,
        [
            "5:1: prices.overrides.\"lambda.request_usd_per_milion\": unknown price `lambda.request_usd_per_milion`, did you mean `lambda.request_usd_per_million`?",
            "9:16: prices.overrides.alb.usd_per_hour: must be a finite number >= 0 (got -1)",
            "10:1: prices.overrides.alb.usd_per_lcu: unknown price `alb.usd_per_lcu`, did you mean `alb.usd_per_lcu_hour`?",
        ]
    );
    assert_eq!(
        only("[prices]\nregion = \"eu-west-1\"\n"),
        "2:10: prices.region: no built-in price sheet for region `eu-west-1` (built in: us-east-1); give a whole sheet with `[prices] sheet = \"FILE\"`"
    );
}

#[test]
fn guardrail_rules_are_checked() {
    let text = "[[guardrails]]\nname = \"g\"\nallowed_platforms = []\nmemory_mb_min = 2048\nmemory_mb_max = 1024\nmax_memory_step_factor = 1.0\n\
                [[guardrails]]\nname = \"g\"\nallowed_platforms = [\"lamda\"]\n";
    let got: Vec<String> = errors(text).iter().map(short).collect();
    assert_eq!(
        got,
        [
            "3:21: guardrails[0].allowed_platforms: must list at least one platform (expected \"lambda\" and/or \"fargate\")",
            "5:17: guardrails[0].memory_mb_max: must be >= memory_mb_min (got 1024, memory_mb_min 2048)",
            "6:26: guardrails[0].max_memory_step_factor: must be > 1 (got 1)",
            "8:8: guardrails[1].name: duplicate guardrail rule name `g` (first defined at line 2)",
            "9:22: guardrails[1].allowed_platforms[0]: unknown value, did you mean \"lambda\"? (expected one of: lambda, fargate)",
        ]
    );
}

#[test]
fn syntax_errors_stop_before_the_schema() {
    let e = errors("[model]\nkeep_alive_minutes = \n[optimizer\n");
    let got: Vec<String> = e.iter().map(short).collect();
    assert_eq!(got.len(), 2, "{got:?}");
    assert!(got[0].starts_with("2:"), "{got:?}");
    assert!(got[1].starts_with("3:"), "{got:?}");
    assert!(e.errors()[0].path.is_empty());
    assert!(e.to_string().starts_with("adaptd.toml:2:"), "{e}");
}

#[test]
fn a_type_error_does_not_cause_a_second_error_on_the_same_key() {
    // `name = 5` is dropped as a wrong type; "missing name" must not follow.
    assert_eq!(
        only("[[components]]\nname = 5\n"),
        "2:8: components[0].name: wrong type (got integer 5, expected a string)"
    );
    // A broken account list does not make every reference look undefined.
    let text = "[[accounts]]\nname = 1\n\n[[components]]\nname = \"a\"\naccount = \"main\"\n";
    assert_eq!(
        only(text),
        "2:8: accounts[0].name: wrong type (got integer 1, expected a string)"
    );
}

#[test]
fn reserved_concurrency_beyond_the_account_is_reported() {
    let text = "[[accounts]]\nname = \"main\"\nconcurrency_limit = 500\n\
                [[components]]\nname = \"a\"\naccount = \"main\"\ncurrent = { memory_mb = 512, reserved_concurrency = 300 }\n\
                [[components]]\nname = \"b\"\naccount = \"main\"\ncurrent = { memory_mb = 512, provisioned_concurrency = 150 }\n";
    assert_eq!(
        only(text),
        "11:11: components[1].current: reserved and provisioned concurrency in account `main` reach 450, more than it can reserve (expected at most 400: limit 500 minus 100 unreserved)"
    );
}

#[test]
fn wrong_types_in_price_overrides_and_date_times_read_well() {
    assert_eq!(
        only("[prices.overrides]\n\"alb.usd_per_hour\" = \"cheap\"\n"),
        "2:22: prices.overrides.\"alb.usd_per_hour\": invalid price (wrong type (got string \"cheap\", expected a number))"
    );
    assert_eq!(
        only("[defaults]\nenvironment = 1979-05-27\n"),
        "2:15: defaults.environment: wrong type (got a date-time, expected a string)"
    );
}
