//! Resolution: rule semantics, defaults, and telemetry against the declared `current`.

use adaptd_config::{Config, Discovered, Resolved};
use adaptd_engine::spec::{
    Architecture, ComponentSpec, Deployment, Guardrails, ModelParams, PlatformKind, Provisioned,
};

fn resolve(text: &str, discovered: &[Discovered]) -> Resolved {
    Config::from_str(text, "adaptd.toml")
        .unwrap_or_else(|e| panic!("{e}"))
        .resolve(discovered)
        .unwrap_or_else(|e| panic!("{e}"))
}

fn get<'a>(r: &'a Resolved, name: &str) -> &'a ComponentSpec {
    r.components.iter().find(|c| c.name == name).unwrap()
}

fn lambda(d: &Deployment) -> &adaptd_engine::spec::LambdaConfig {
    match d {
        Deployment::Lambda(l) => l,
        Deployment::Fargate(_) => panic!("expected lambda, got {d:?}"),
    }
}

#[test]
fn slo_rules_apply_in_order_and_the_component_overrides_them() {
    let text = r#"
[[slo]]
name = "all"
match = {}
p99_ms = 2000
max_cold_start_rate = 0.05

[[slo]]
name = "http"
match = { trigger = "http" }
p99_ms = 800

[[slo]]
name = "api"
match = { name = "*-api" }
p99_ms = 500
max_throttle_rate = 0.0

[[components]]
name = "a-api"
trigger = "http"
slo = { max_cold_start_rate = 0.01 }

[[components]]
name = "worker"
trigger = "queue"
"#;
    let r = resolve(text, &[]);
    let api = &get(&r, "a-api").slo;
    // `api` comes after `http`, so its p99 wins; the cold-start rate of `all` is kept
    // until the component's own `slo` overrides it.
    assert_eq!(api.p99_ms, Some(500.0));
    assert_eq!(api.max_cold_start_rate, Some(0.01));
    assert_eq!(api.max_throttle_rate, Some(0.0));
    let worker = &get(&r, "worker").slo;
    assert_eq!(worker.p99_ms, Some(2000.0));
    assert_eq!(worker.max_cold_start_rate, Some(0.05));
    assert_eq!(worker.max_throttle_rate, None);

    // Reversing the order of `http` and `api` reverses the outcome.
    let swapped = text.replacen("name = \"http\"", "name = \"tmp\"", 1);
    let swapped = swapped
        .replacen(
            "name = \"api\"\nmatch = { name = \"*-api\" }\np99_ms = 500",
            "name = \"http\"\nmatch = { trigger = \"http\" }\np99_ms = 800",
            1,
        )
        .replacen(
            "name = \"tmp\"\nmatch = { trigger = \"http\" }\np99_ms = 800",
            "name = \"api\"\nmatch = { name = \"*-api\" }\np99_ms = 500",
            1,
        );
    assert_ne!(swapped, text);
    assert_eq!(
        get(&resolve(&swapped, &[]), "a-api").slo.p99_ms,
        Some(800.0)
    );
}

#[test]
fn guardrail_rules_combine_by_the_most_restrictive_value() {
    let text = r#"
[[guardrails]]
name = "wide"
allowed_platforms = ["lambda", "fargate"]
memory_mb_min = 256
memory_mb_max = 4096
allow_arm64 = true
max_provisioned_concurrency = 100
max_memory_step_factor = 4.0
max_provisioned_step_relative = 0.5
min_change_saving_usd_per_month = 0.1

[[guardrails]]
name = "narrow"
match = { environment = "prod" }
allowed_platforms = ["lambda"]
memory_mb_min = 512
memory_mb_max = 8192
allow_arm64 = false
allow_schedules = false
max_provisioned_concurrency = 20
max_memory_step_factor = 2.0
max_provisioned_step_absolute = 5
min_change_saving_usd_per_month = 0.5
min_change_saving_share = 0.05

[[guardrails]]
name = "arm"
match = { tags = { arm = "y*" } }
allow_arm64 = true

[[components]]
name = "p"
environment = "prod"
tags = { arm = "yes" }

[[components]]
name = "s"
environment = "staging"
tags = { arm = "yes" }

[[components]]
name = "n"
environment = "staging"
"#;
    let r = resolve(text, &[]);
    let p = &get(&r, "p").guardrails;
    assert_eq!(
        p.allowed_platforms.iter().collect::<Vec<_>>(),
        [&PlatformKind::Lambda]
    );
    assert_eq!((p.memory_mb_min, p.memory_mb_max), (512, 4096));
    assert!(!p.allow_arm64, "one matching rule forbids arm64");
    assert!(!p.allow_schedules);
    assert_eq!(p.max_provisioned_concurrency, 20);
    assert_eq!(p.max_memory_step_factor, Some(2.0));
    assert_eq!(p.max_provisioned_step_relative, Some(0.5));
    assert_eq!(p.max_provisioned_step_absolute, Some(5));
    assert_eq!(p.sources, ["wide", "narrow", "arm"]);
    assert_eq!(
        p.min_change_saving_usd_per_month, 0.5,
        "the largest threshold"
    );
    assert_eq!(p.min_change_saving_share, 0.05);

    let s = &get(&r, "s").guardrails;
    assert!(s.allow_arm64, "allowed and not forbidden");
    assert!(s.allow_schedules);
    assert_eq!(s.allowed_platforms.len(), 2);
    assert_eq!(s.sources, ["wide", "arm"]);
    // One rule lowers the default threshold; the share keeps its default.
    assert_eq!(s.min_change_saving_usd_per_month, 0.1);
    assert_eq!(s.min_change_saving_share, 0.02);

    // `wide` allows arm64 for `n` too; with no rule at all it is off.
    assert!(get(&r, "n").guardrails.allow_arm64);
    let none = resolve("[[components]]\nname = \"x\"\n", &[]);
    assert_eq!(get(&none, "x").guardrails, Guardrails::default());
    assert!(!get(&none, "x").guardrails.allow_arm64);
}

#[test]
fn contradicting_guardrails_are_an_error_at_the_rule() {
    let text = "[[guardrails]]\nname = \"a\"\nallowed_platforms = [\"lambda\"]\n\n\
                [[guardrails]]\nname = \"b\"\nmatch = { name = \"svc\" }\nallowed_platforms = [\"fargate\"]\n";
    let c = Config::from_str(text, "adaptd.toml").unwrap();
    // Only a component both match is a contradiction.
    assert!(c.resolve(&[Discovered::new("other")]).is_ok());
    let e = c
        .resolve(&[Discovered::new("svc")])
        .unwrap_err()
        .to_string();
    assert_eq!(
        e,
        "adaptd.toml:8:21: guardrails[1].allowed_platforms: component `svc`: the matching guardrail rules `a`, `b` allow no platform in common"
    );
}

#[test]
fn discovered_components_take_defaults_where_telemetry_is_silent() {
    let text = r#"
[model]
keep_alive_minutes = 15

[defaults]
account = "main"
environment = "prod"
memory_mb = 512
architecture = "arm64"

[[accounts]]
name = "main"
concurrency_limit = 3000

[[slo]]
name = "prod-http"
match = { environment = "prod", trigger = "http" }
p99_ms = 900
"#;
    let d = [
        Discovered::new("bare"),
        Discovered::new("told")
            .with("trigger", "http")
            .with("runtime", "python3.12")
            .with("memory_mb", "2048")
            .with("architecture", "x86_64")
            .with("environment", "staging")
            .with("provisioned_concurrency", "3")
            .with("reserved_concurrency", "40"),
    ];
    let r = resolve(text, &d);
    let bare = get(&r, "bare");
    assert_eq!(bare.account, "main");
    assert_eq!(bare.environment.as_deref(), Some("prod"));
    assert!(!bare.current_is_known, "memory assumed");
    let l = lambda(&bare.current);
    assert_eq!((l.memory_mb, l.architecture), (512, Architecture::Arm64));
    assert_eq!(
        bare.slo.p99_ms, None,
        "trigger unknown: the http rule does not match"
    );
    assert_eq!(bare.model.keep_alive_minutes, 15);
    assert_eq!(
        bare.model,
        ModelParams {
            keep_alive_minutes: 15,
            ..ModelParams::default()
        }
    );

    let told = get(&r, "told");
    assert!(told.current_is_known);
    assert_eq!(told.environment.as_deref(), Some("staging"));
    assert_eq!(told.runtime.as_deref(), Some("python3.12"));
    let l = lambda(&told.current);
    assert_eq!((l.memory_mb, l.architecture), (2048, Architecture::X86_64));
    assert_eq!(l.provisioned, Provisioned::Constant(3));
    assert_eq!(l.reserved_concurrency, Some(40));
    assert_eq!(told.slo.p99_ms, None, "staging");
    assert!(r.warnings.is_empty(), "{:?}", r.warnings);
    assert_eq!(r.accounts.len(), 1);
}

#[test]
fn telemetry_overrides_the_declared_current_with_a_warning() {
    let text = r#"
[[components]]
name = "api"
environment = "prod"
current = { memory_mb = 1024, architecture = "x86_64", provisioned_concurrency = 4, reserved_concurrency = 50 }
model = { cpu_bound_fraction = 0.8 }
"#;
    let mut hours = vec!["0"; 24];
    hours[12] = "6";
    let d = [Discovered::new("api")
        .with("memory_mb", "2048")
        .with("architecture", "arm64")
        .with("provisioned_concurrency", hours.join(","))
        .with("environment", "staging")];
    let r = resolve(text, &d);
    let api = get(&r, "api");
    let l = lambda(&api.current);
    assert_eq!((l.memory_mb, l.architecture), (2048, Architecture::Arm64));
    assert_eq!(l.provisioned.peak(), 6);
    assert!(matches!(l.provisioned, Provisioned::Hourly(_)));
    assert_eq!(
        l.reserved_concurrency,
        Some(50),
        "not reported: the declared value stays"
    );
    assert_eq!(
        api.environment.as_deref(),
        Some("prod"),
        "identity: config first"
    );
    assert_eq!(api.model.cpu_bound_fraction, Some(0.8));
    assert_eq!(r.warnings.len(), 1, "{:?}", r.warnings);
    let w = &r.warnings[0];
    assert!(
        w.starts_with("api: the deployed configuration differs"),
        "{w}"
    );
    assert!(w.contains("memory_mb 1024 → 2048"), "{w}");
    assert!(w.contains("architecture x86_64 → arm64"), "{w}");
    assert!(
        w.contains("provisioned_concurrency 4 → 6 in 12–13 h; 0 otherwise"),
        "{w}"
    );
    assert!(!w.contains("reserved"), "{w}");

    // Agreeing telemetry: no warning.
    let same = [Discovered::new("api").with("memory_mb", "1024")];
    assert!(resolve(text, &same).warnings.is_empty());
}

#[test]
fn telemetry_can_move_a_component_to_another_platform() {
    let text = "[[components]]\nname = \"svc\"\ncurrent = { memory_mb = 1024 }\n";
    let d = [Discovered::new("svc")
        .with("platform", "fargate")
        .with("memory_mb", "2048")
        .with("vcpu", "1")
        .with("tasks", "3")
        .with("per_task_concurrency", "8")];
    let r = resolve(text, &d);
    let Deployment::Fargate(f) = &get(&r, "svc").current else {
        panic!("fargate")
    };
    assert_eq!(
        (f.vcpu, f.memory_mb, f.tasks[5], f.per_task_concurrency),
        (1.0, 2048, 3, 8)
    );
    assert!(get(&r, "svc").current_is_known);
    assert!(
        r.warnings[0].contains("platform lambda → fargate"),
        "{:?}",
        r.warnings
    );

    // A Fargate service reported without its size gets assumed values.
    let r = resolve(
        "",
        &[Discovered::new("svc")
            .with("platform", "fargate")
            .with("memory_mb", "3072")],
    );
    let Deployment::Fargate(f) = &get(&r, "svc").current else {
        panic!("fargate")
    };
    assert_eq!((f.vcpu, f.memory_mb), (0.5, 3072));
    assert!(!get(&r, "svc").current_is_known);
}

#[test]
fn undeclared_accounts_and_bad_attributes_are_warnings() {
    let d = [
        Discovered::new("f").with("account", "123456789012"),
        Discovered::new("g")
            .with("memory_mb", "lots")
            .with("architecture", "sparc"),
        Discovered::new("g"),
    ];
    let r = resolve("", &d);
    assert_eq!(r.accounts.len(), 2);
    assert_eq!(r.accounts[0].name, "123456789012");
    assert_eq!(r.accounts[0].concurrency_limit, 1000);
    assert_eq!(r.accounts[1].name, "default");
    let all = r.warnings.join("\n");
    assert!(
        all.contains("f: account `123456789012` is not declared"),
        "{all}"
    );
    assert!(
        all.contains("g: ignoring telemetry attribute memory_mb = \"lots\""),
        "{all}"
    );
    assert!(
        all.contains("g: ignoring telemetry attribute architecture = \"sparc\""),
        "{all}"
    );
    assert!(all.contains("g: reported twice"), "{all}");
    assert_eq!(r.warnings.len(), 4, "{all}");
    assert!(!get(&r, "g").current_is_known);
}

#[test]
fn rules_match_on_platform_account_and_tags() {
    let text = r#"
[[accounts]]
name = "batch"

[[guardrails]]
name = "fargate-only"
match = { platform = "fargate" }
memory_mb_max = 8192

[[guardrails]]
name = "batch"
match = { account = "batch", tags = { team = "data*" } }
max_provisioned_concurrency = 0

[[components]]
name = "svc"
current = { platform = "fargate", vcpu = 1, memory_mb = 2048, tasks = 1, per_task_concurrency = 1 }

[[components]]
name = "job"
account = "batch"
tags = { team = "data-eng" }

[[components]]
name = "other"
account = "batch"
tags = { team = "web" }
"#;
    let r = resolve(text, &[]);
    assert_eq!(get(&r, "svc").guardrails.sources, ["fargate-only"]);
    assert_eq!(get(&r, "job").guardrails.sources, ["batch"]);
    assert_eq!(get(&r, "job").guardrails.max_provisioned_concurrency, 0);
    assert!(get(&r, "other").guardrails.sources.is_empty());
}
