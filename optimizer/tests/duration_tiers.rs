//! Lambda's duration tiers: a component in an account past the first 6 billion
//! GB-seconds a month is priced, deployed and recommended alike, at the marginal tier.

use std::collections::BTreeMap;

use adaptd_engine::options::{Context, Platform, lambda::Lambda};
use adaptd_engine::prices::PriceSheet;
use adaptd_engine::profile::{Profile, summarize};
use adaptd_engine::quantiles::QuantileSet;
use adaptd_engine::spec::{
    AccountSpec, Architecture, ComponentSpec, Deployment, Guardrails, LambdaConfig, ModelParams,
    Provisioned, Slo,
};
use adaptd_engine::telemetry::{ComponentTelemetry, Metric, Stat};
use adaptd_optimizer::recommend::{Settings, recommend};

#[test]
fn an_account_past_the_first_tier_is_priced_at_its_marginal_tier() {
    // 1,000 invocations a minute of 15 s at 10,240 MB: 250 in flight, 10 GB each,
    // about 6.6 billion GB-s a month — past the first tier's 6 billion.
    let mut t = ComponentTelemetry::new("render");
    for m in 0..2 * 1440 {
        t.record(m, Metric::Invocations, Stat::Sum, 1000.0).unwrap();
    }
    t.duration_ms = Some(QuantileSet::constant(15_000.0));
    t.memory_used_mb = Some(QuantileSet::constant(9_000.0));
    t.window = Some((0, 2 * 1440));
    let spec = ComponentSpec {
        name: "render".into(),
        account: "main".into(),
        current: Deployment::Lambda(LambdaConfig {
            memory_mb: 10_240,
            architecture: Architecture::X86_64,
            provisioned: Provisioned::None,
            reserved_concurrency: None,
        }),
        current_is_known: true,
        environment: None,
        tags: BTreeMap::new(),
        trigger: Some("queue".into()),
        runtime: None,
        slo: Slo::default(),
        guardrails: Guardrails::default(),
        databases: Vec::new(),
        model: ModelParams::default(),
        load_balancer: false,
        timezone: Default::default(),
    };
    let profile = summarize(&t, 10, 1.0);
    let profiles: BTreeMap<String, Profile> = [("render".to_string(), profile.clone())].into();
    let prices = PriceSheet::us_east_1();
    let accounts = [AccountSpec {
        name: "main".into(),
        concurrency_limit: 10_000,
    }];
    let set = recommend(
        std::slice::from_ref(&spec),
        &profiles,
        &[],
        &accounts,
        &prices,
        &Settings::default(),
    )
    .expect("recommends");
    assert!(
        set.warnings.iter().any(|w| w.contains("marginal tier")),
        "{:?}",
        set.warnings
    );

    // The deployed configuration as the engine prices it at each tier.
    let tiers = prices.lambda.duration_tiers(Architecture::X86_64);
    let at = |usd_per_gb_second: f64| {
        let mut ctx = Context::new(&spec, &profile, &prices);
        ctx.lambda_duration_usd_per_gb_second[0] = usd_per_gb_second;
        Lambda.evaluate(&ctx, &spec.current).unwrap().usd_per_month
    };
    let first = at(tiers[0].usd_per_gb_second);
    let second = at(tiers[1].usd_per_gb_second);
    assert!(second < 0.95 * first, "{second} vs {first}");
    let current = set.components[0].current.as_ref().unwrap().usd_per_month;
    assert!(
        (current - second).abs() < 1e-6 * second,
        "deployed at ${current:.2}/month; the second tier says ${second:.2}, the first ${first:.2}"
    );
    // What is recommended is priced at the same tier: staying put saves nothing.
    let r = set.components[0].recommended.as_ref().unwrap();
    if r.deployment == spec.current {
        assert!((r.usd_per_month - current).abs() < 1e-6 * current);
    } else {
        assert!(r.usd_per_month < current);
    }
}
