//! A report's inputs for the tests: the demo's recommendations (a week of the
//! 12-component shop, `report/tests/data/recommendations.json`) with observations,
//! frontiers, applied changes and data-quality findings made up around them so that
//! every section has something to show.

#![allow(dead_code)]

use std::collections::BTreeMap;

use adaptd_engine::spec::{Architecture, Deployment, LambdaConfig, Provisioned};
use adaptd_optimizer::recommend::RecommendationSet;
use adaptd_optimizer::recommend::frontier::FrontierPoint;
use adaptd_report::{
    AppliedChange, ChangeOutcome, ChangeState, DataQualityWarning, Inputs, Observed, Period,
    Realised,
};

/// 2026-11-23T00:00Z.
pub const END: i64 = 29_923_200;

pub fn recommendations() -> RecommendationSet {
    let text = include_str!("../data/recommendations.json");
    serde_json::from_str(text).expect("the fixture is a RecommendationSet")
}

fn lambda(memory_mb: u32, provisioned: Provisioned) -> Deployment {
    Deployment::Lambda(LambdaConfig {
        memory_mb,
        architecture: Architecture::X86_64,
        provisioned,
        reserved_concurrency: None,
    })
}

pub fn inputs() -> Inputs {
    let recs = recommendations();
    let mut previous = recs.clone();
    for c in &mut previous.components {
        c.saving_usd_per_month *= 0.8;
    }
    previous.summary.available_savings_usd_per_month *= 0.8;
    let observed: BTreeMap<String, Observed> = recs
        .components
        .iter()
        .map(|r| {
            let hourly: Vec<Option<f64>> = r
                .hours
                .iter()
                .map(|h| (h.hour % 7 != 3).then_some(h.current_p99_ms * 0.9))
                .collect();
            let obs = Observed {
                invocations: 1000.0,
                p99_ms: r.current.as_ref().map(|p| p.worst_hour_p99_ms * 0.92),
                cold_start_rate: r.current.as_ref().map(|p| p.cold_start_rate * 1.1),
                hourly_p99_ms: hourly,
            };
            (r.component.clone(), obs)
        })
        .collect();
    let top = recs
        .components
        .iter()
        .max_by(|a, b| a.saving_usd_per_month.total_cmp(&b.saving_usd_per_month))
        .expect("components")
        .clone();
    let rec = top.recommended.as_ref().expect("data");
    let frontier: Vec<FrontierPoint> = (0..5)
        .map(|i| {
            let f = i as f64 / 4.0;
            FrontierPoint {
                description: format!("option {i}"),
                usd_per_month: rec.usd_per_month * (1.0 + 3.0 * f * f),
                worst_hour_p99_ms: rec.worst_hour_p99_ms * (1.0 - 0.4 * f),
                cold_start_rate: 0.0,
            }
        })
        .collect();
    let day = 1440;
    let applied = AppliedChange {
        component: "email-sender".into(),
        applied_at_minute: END - 5 * day,
        before: lambda(512, Provisioned::None),
        after: lambda(256, Provisioned::None),
        predicted_saving_usd_per_month: 2.48,
        rolled_back_at_minute: None,
        rollback_reason: None,
    };
    let rolled_back = AppliedChange {
        component: "checkout-api".into(),
        applied_at_minute: END - 4 * day,
        before: lambda(1024, Provisioned::None),
        after: lambda(768, Provisioned::Constant(2)),
        predicted_saving_usd_per_month: -7.01,
        rolled_back_at_minute: Some(END - 3 * day),
        rollback_reason: Some("p99 alarm fired at 09:12".into()),
    };
    let live = AppliedChange {
        component: "auth-token".into(),
        applied_at_minute: END - 20 * day,
        before: lambda(1024, Provisioned::None),
        after: lambda(512, Provisioned::None),
        predicted_saving_usd_per_month: 3.77,
        rolled_back_at_minute: None,
        rollback_reason: None,
    };
    let changes = vec![
        ChangeOutcome {
            change: applied,
            state: ChangeState::Applied,
            realised: Some(Realised {
                from_minute: END - 5 * day,
                to_minute: END,
                invocations: 123_456,
                before_usd_per_month: 10.1,
                after_usd_per_month: 8.2,
                saving_usd_per_month: 1.9,
                error_usd_per_month: 1.9 - 2.48,
                relative_error: Some((1.9 - 2.48) / 2.48),
                after_p99_ms: Some(412.0),
                after_cold_start_rate: 0.004,
            }),
            not_measured: None,
        },
        ChangeOutcome {
            change: rolled_back,
            state: ChangeState::RolledBack,
            realised: None,
            not_measured: Some(
                "only 45 minutes of telemetry after the change (at least 60 needed)".into(),
            ),
        },
        ChangeOutcome {
            change: live,
            state: ChangeState::Live,
            realised: None,
            not_measured: Some("no telemetry for the component in the period".into()),
        },
    ];
    Inputs {
        title: "adaptd weekly report".into(),
        period: Period {
            start_minute: END - 7 * day,
            end_minute: END,
        },
        generated_at_minute: END + 8 * 60,
        recommendations: recs,
        previous: Some(previous),
        observed,
        frontiers: [(top.component.clone(), frontier)].into_iter().collect(),
        changes,
        data_quality: vec![
            DataQualityWarning {
                component: None,
                message: "telemetry covers 6.7 of the period's 7.0 days".into(),
            },
            DataQualityWarning {
                component: Some("nightly-etl".into()),
                message: "1 of 7 days has no invocation count".into(),
            },
        ],
    }
}
