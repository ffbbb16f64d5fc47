//! Valid configurations: the sample, an empty file, Fargate, schedules, price sheets.

use std::path::{Path, PathBuf};

use adaptd_config::{Config, Discovered, OptimizerMethod};
use adaptd_engine::prices::PriceSheet;
use adaptd_engine::spec::{
    Architecture, Deployment, Guardrails, ModelParams, PlatformKind, Provisioned,
};

fn sample_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/adaptd.toml")
}

const DEMO: [&str; 13] = [
    "checkout-api",
    "orders-api",
    "image-resize",
    "report-generator",
    "search-api",
    "nightly-etl",
    "webhook-ingest",
    "auth-token",
    "email-sender",
    "thumbnail-worker",
    "audit-log-writer",
    "pdf-export",
    "inventory-api",
];

#[test]
fn the_sample_config_loads_and_resolves() {
    let config = Config::load(&sample_path()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(config.components.len(), 13);
    // Telemetry that agrees with the config: no warnings. The ECS service's size and
    // load balancer come from telemetry only.
    let discovered: Vec<Discovered> = DEMO
        .iter()
        .map(|n| Discovered::new(*n).with("architecture", "x86_64"))
        .map(|d| match d.name.as_str() {
            "inventory-api" => d
                .with("platform", "fargate")
                .with("vcpu", "1")
                .with("memory_mb", "2048")
                .with("tasks", "2")
                .with("per_task_concurrency", "8")
                .with("load_balancer", "true"),
            _ => d,
        })
        .collect();
    let r = config
        .resolve(&discovered)
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(r.warnings.is_empty(), "{:?}", r.warnings);
    let mut names: Vec<&str> = r.components.iter().map(|c| c.name.as_str()).collect();
    let mut demo = DEMO.to_vec();
    demo.sort_unstable();
    assert_eq!(names, demo, "sorted by name");
    names.dedup();
    assert_eq!(names.len(), 13);
    assert_eq!(r.accounts.len(), 1);
    assert_eq!(r.accounts[0].name, "main");
    assert_eq!(r.accounts[0].concurrency_limit, 1000);
    assert_eq!(r.databases.len(), 2);
    assert_eq!(r.databases[0].reserved_connections, 10);
    assert_eq!(
        (r.databases[1].name.as_str(), r.databases[1].max_connections),
        ("audit-db", 55)
    );
    assert_eq!(r.prices, PriceSheet::us_east_1());
    assert_eq!(r.optimizer.method, OptimizerMethod::Auto);

    let get = |n: &str| r.components.iter().find(|c| c.name == n).unwrap();
    let checkout = get("checkout-api");
    assert_eq!(checkout.slo.p99_ms, Some(600.0));
    assert_eq!(checkout.slo.max_cold_start_rate, Some(0.01));
    assert_eq!(checkout.slo.max_throttle_rate, Some(0.0));
    assert_eq!(checkout.guardrails.memory_mb_max, 4096);
    assert_eq!(checkout.guardrails.max_provisioned_concurrency, 50);
    assert_eq!(checkout.guardrails.max_memory_step_factor, Some(2.0));
    assert!(
        checkout.guardrails.allowed_platforms.is_empty(),
        "no rule restricts a prod HTTP service's platform: {:?}",
        checkout.guardrails.allowed_platforms
    );
    assert!(!checkout.guardrails.allow_arm64);
    assert!(checkout.current_is_known);
    assert_eq!(checkout.account, "main");

    assert_eq!(get("pdf-export").slo.max_cold_start_rate, Some(0.02));
    assert_eq!(get("pdf-export").slo.p99_ms, Some(4000.0));
    let resize = get("image-resize");
    assert_eq!(resize.slo.p99_ms, Some(2500.0));
    assert_eq!(
        resize.slo.max_cold_start_rate, None,
        "event trigger: not http-prod"
    );
    let email = get("email-sender");
    assert_eq!(email.slo.max_throttle_rate, Some(0.0));
    assert_eq!(email.slo.p99_ms, None);

    let report = get("report-generator");
    assert_eq!(report.runtime.as_deref(), Some("java17"));
    let Deployment::Lambda(l) = &report.current else {
        panic!("lambda")
    };
    assert_eq!(
        (l.memory_mb, &l.provisioned),
        (2048, &Provisioned::Constant(20))
    );

    let search = get("search-api");
    assert_eq!(search.environment.as_deref(), Some("internal"));
    assert_eq!(search.guardrails.allowed_platforms.len(), 2);
    assert_eq!(search.guardrails.sources, ["internal"]);
    assert_eq!(
        search.guardrails.memory_mb_max,
        Guardrails::default().memory_mb_max
    );
    assert_eq!(search.slo.p99_ms, None, "http-prod is for prod only");

    let thumb = get("thumbnail-worker");
    assert!(thumb.guardrails.allow_arm64);
    assert_eq!(
        thumb.guardrails.sources,
        ["prod", "prod-queues", "arm64-ready"]
    );
    assert_eq!(
        thumb
            .guardrails
            .allowed_platforms
            .iter()
            .collect::<Vec<_>>(),
        [&PlatformKind::Lambda]
    );
    assert_eq!(get("orders-api").databases, ["orders-db"]);
    let audit = get("audit-log-writer");
    assert_eq!(audit.databases, ["audit-db"]);
    assert_eq!(audit.slo.max_throttle_rate, Some(0.01), "its own SLO wins");
    let inventory = get("inventory-api");
    let Deployment::Fargate(f) = &inventory.current else {
        panic!("fargate: {:?}", inventory.current)
    };
    assert_eq!(
        (f.vcpu, f.memory_mb, f.per_task_concurrency),
        (1.0, 2048, 8)
    );
    assert!(inventory.load_balancer);
    assert!(inventory.guardrails.allowed_platforms.is_empty());
    assert_eq!(
        get("webhook-ingest").runtime.as_deref(),
        Some("provided.al2023")
    );
    assert_eq!(get("nightly-etl").trigger.as_deref(), Some("timer"));
    assert_eq!(checkout.model, ModelParams::default());

    // Without telemetry, the configured components are all kept.
    assert_eq!(config.resolve(&[]).unwrap().components.len(), 13);
}

#[test]
fn an_empty_file_is_valid() {
    for text in ["", "# nothing\n", "\n\n"] {
        let c = Config::from_str(text, "empty.toml").unwrap_or_else(|e| panic!("{e}"));
        let r = c.resolve(&[]).unwrap();
        assert!(r.components.is_empty() && r.accounts.is_empty() && r.warnings.is_empty());
        assert_eq!(r.prices, PriceSheet::us_east_1());
        assert_eq!(r.optimizer.mip_gap, 0.005);
        assert_eq!(r.optimizer.time_limit_seconds, 30.0);
        assert_eq!(r.optimizer.budget_usd_per_month, None);
    }
}

#[test]
fn a_fargate_current_resolves_to_a_fargate_deployment() {
    let text = r#"
[[components]]
name = "svc"
current = { platform = "fargate", vcpu = 0.5, memory_mb = 1024, architecture = "arm64", tasks = 2, per_task_concurrency = 10 }
"#;
    let c = Config::from_str(text, "f.toml").unwrap_or_else(|e| panic!("{e}"));
    let r = c.resolve(&[]).unwrap();
    let Deployment::Fargate(f) = &r.components[0].current else {
        panic!("fargate")
    };
    assert_eq!(f.vcpu, 0.5);
    assert_eq!(f.memory_mb, 1024);
    assert_eq!(f.architecture, Architecture::Arm64);
    assert_eq!(f.tasks, [2; 24]);
    assert_eq!(f.per_task_concurrency, 10);
    assert!(r.components[0].current_is_known);
}

#[test]
fn a_24_value_schedule_resolves_to_an_hourly_setting() {
    let mut hours = [0u32; 24];
    for h in &mut hours[8..18] {
        *h = 5;
    }
    let list: Vec<String> = hours.iter().map(u32::to_string).collect();
    let text = format!(
        "[[components]]\nname = \"fn\"\n[components.current]\nmemory_mb = 512\nprovisioned_concurrency = [{}]\nreserved_concurrency = 10\n",
        list.join(", ")
    );
    let c = Config::from_str(&text, "s.toml").unwrap_or_else(|e| panic!("{e}"));
    let Deployment::Lambda(l) = &c.resolve(&[]).unwrap().components[0].current else {
        panic!("lambda")
    };
    assert_eq!(l.provisioned, Provisioned::Hourly(hours));
    assert_eq!(l.reserved_concurrency, Some(10));
    // Fargate tasks take a schedule too.
    let text = format!(
        "[[components]]\nname = \"svc\"\ncurrent = {{ platform = \"fargate\", vcpu = 1, memory_mb = 2048, per_task_concurrency = 4, tasks = [{}] }}\n",
        list.iter()
            .map(|v| if v == "0" { "1" } else { v })
            .collect::<Vec<_>>()
            .join(", ")
    );
    let c = Config::from_str(&text, "s.toml").unwrap_or_else(|e| panic!("{e}"));
    let Deployment::Fargate(f) = &c.resolve(&[]).unwrap().components[0].current else {
        panic!("fargate")
    };
    assert_eq!((f.tasks[0], f.tasks[9]), (1, 5));
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("prices")).unwrap();
    dir
}

#[test]
fn a_price_sheet_file_is_loaded_relative_to_the_config() {
    let dir = temp_dir("sheet-ok");
    let mut sheet = PriceSheet::us_east_1();
    sheet.region = "eu-west-1".into();
    sheet.lambda.request_usd_per_million = 0.2;
    std::fs::write(
        dir.join("prices/eu-west-1.toml"),
        toml::to_string(&sheet).unwrap(),
    )
    .unwrap();
    std::fs::write(
        dir.join("adaptd.toml"),
        "[prices]\nregion = \"eu-west-1\"\nsheet = \"prices/eu-west-1.toml\"\n\
         [prices.overrides]\n\"fargate.x86_64_vcpu_usd_per_hour\" = 0.05\n",
    )
    .unwrap();
    let c = Config::load(&dir.join("adaptd.toml")).unwrap_or_else(|e| panic!("{e}"));
    let prices = c.resolve(&[]).unwrap().prices;
    assert_eq!(prices.region, "eu-west-1");
    assert_eq!(prices.fargate.x86_64_vcpu_usd_per_hour, 0.05);
    assert_eq!(prices.lambda.request_usd_per_million, 0.2);

    // Parsed without loading, the sheet is missing at resolution.
    let text = std::fs::read_to_string(dir.join("adaptd.toml")).unwrap();
    let c = Config::from_str(&text, "adaptd.toml").unwrap();
    let e = c.resolve(&[]).unwrap_err().to_string();
    assert!(
        e.starts_with("adaptd.toml:3:9: prices.sheet: the sheet file is not loaded"),
        "{e}"
    );
    assert!(c.with_price_sheet(sheet).resolve(&[]).is_ok());
}

#[test]
fn a_missing_or_mismatched_price_sheet_is_an_error_at_its_key() {
    let dir = temp_dir("sheet-bad");
    std::fs::write(
        dir.join("adaptd.toml"),
        "[prices]\nsheet = \"prices/nope.toml\"\n",
    )
    .unwrap();
    let e = Config::load(&dir.join("adaptd.toml")).unwrap_err();
    assert_eq!(e.len(), 1);
    assert_eq!((e.errors()[0].line, e.errors()[0].col), (2, 9));
    assert!(
        e.errors()[0].message.starts_with("cannot read price sheet"),
        "{e}"
    );

    std::fs::write(
        dir.join("prices/us.toml"),
        toml::to_string(&PriceSheet::us_east_1()).unwrap(),
    )
    .unwrap();
    std::fs::write(
        dir.join("adaptd.toml"),
        "[prices]\nregion = \"eu-west-1\"\nsheet = \"prices/us.toml\"\n",
    )
    .unwrap();
    let e = Config::load(&dir.join("adaptd.toml"))
        .unwrap_err()
        .to_string();
    assert!(e.ends_with("2:10: prices.region: does not match the sheet's region (got \"eu-west-1\", sheet has \"us-east-1\")"), "{e}");

    let e = Config::load(&dir.join("missing.toml"))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("missing.toml: cannot read the configuration"),
        "{e}"
    );
}
