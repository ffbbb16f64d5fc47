//! Guardrail tests: examples of each refusal and property tests over random plans,
//! guardrails and histories — no allowed plan exceeds a guardrail, and the plan's
//! calls, played on a model of the function, reach the plan's target without the
//! reservation ever dropping below provisioned concurrency.

use std::collections::BTreeMap;

use adaptd_engine::spec::Provisioned;
use proptest::prelude::*;

use super::*;
use crate::plan::{Call, LambdaSettings, ScheduledStep, Target, between, schedule_of};

fn target() -> Target {
    Target {
        component: "checkout-api".into(),
        function_name: "checkout-api".into(),
        qualifier: Some("live".into()),
        service: None,
        timezone: Default::default(),
    }
}

fn settings(pc: Provisioned) -> LambdaSettings {
    LambdaSettings {
        schedule_timezone: None,
        memory_mb: 512,
        provisioned: pc,
        reserved_concurrency: None,
    }
}

fn lam(s: &Settings) -> &LambdaSettings {
    s.lambda().expect("a Lambda plan")
}

fn rails() -> Guardrails {
    Guardrails {
        max_step_percent: 50.0,
        max_step_environments: 2,
        cooldown_minutes: 60,
        max_changes_per_hour: 5,
        max_cost_increase_usd_per_month: Some(100.0),
        windows: Vec::new(),
    }
}

/// 2026-11-23 is a Monday; 10:00 UTC.
const MONDAY_10H_MS: i64 = 1_795_428_000_000;

#[test]
fn weekday_and_hour() {
    assert_eq!(weekday_hour(0), (3, 0));
    assert_eq!(weekday_hour(MONDAY_10H_MS), (0, 10));
}

#[test]
fn steps_clamp_and_limits_refuse_with_numbers() {
    let g = rails();
    let p = between(
        &target(),
        &settings(Provisioned::Constant(10)),
        &settings(Provisioned::Constant(40)),
    );
    let h = History {
        now_ms: MONDAY_10H_MS,
        ..History::default()
    };
    let a = g.check(&p, &h).unwrap();
    assert_eq!(lam(&a.plan.to).provisioned, Provisioned::Constant(15));
    assert_eq!(a.clamped.len(), 1, "{:?}", a.clamped);
    assert!(
        a.clamped[0].contains("10 → 40 clamped to 15"),
        "{:?}",
        a.clamped
    );
    assert_ne!(a.plan.id, p.id);

    let cooling = History {
        last_change_ms: Some(MONDAY_10H_MS - 20 * 60_000),
        ..h
    };
    let r = g.check(&p, &cooling).unwrap_err();
    assert_eq!(r.guardrail, "cooldown_minutes");
    assert!(r.detail.contains("20 min ago; cooldown is 60 min"), "{r}");

    let busy = History {
        changes_last_hour: 5,
        ..h
    };
    assert_eq!(
        g.check(&p, &busy).unwrap_err().guardrail,
        "max_changes_per_hour"
    );

    let mut costly = p.clone();
    costly.cost_delta_usd_per_month = 30.0;
    let spent = History {
        cost_increase_this_month_usd: 80.0,
        ..h
    };
    let r = g.check(&costly, &spent).unwrap_err();
    assert!(
        r.to_string()
            .contains("+$30.00/month on top of +$80.00/month"),
        "{r}"
    );

    let mut windowed = g;
    windowed.windows = vec![Window {
        weekdays: vec![1, 2],
        start_hour: 8,
        end_hour: 18,
        timezone: Zone::UTC,
    }];
    let r = windowed.check(&p, &h).unwrap_err();
    assert!(
        r.detail
            .contains("days [1, 2] 08–18 h UTC (now Mon 10:xx there)"),
        "{r}"
    );
    windowed.windows[0].weekdays.push(0);
    assert!(windowed.check(&p, &h).is_ok());
    // In Berlin (UTC+1 in November) Monday 10:xx UTC is 11:xx: a window that ends
    // at 11 local refuses, one that ends at 12 local allows.
    windowed.windows = vec![Window {
        weekdays: vec![0],
        start_hour: 8,
        end_hour: 11,
        timezone: "Europe/Berlin".parse().unwrap(),
    }];
    let r = windowed.check(&p, &h).unwrap_err();
    assert!(
        r.detail
            .contains("08–11 h Europe/Berlin (now Mon 11:xx there)"),
        "{r}"
    );
    windowed.windows[0].end_hour = 12;
    assert!(windowed.check(&p, &h).is_ok());
}

#[test]
fn an_empty_plan_passes_any_guardrail() {
    let p = between(
        &target(),
        &settings(Provisioned::None),
        &settings(Provisioned::None),
    );
    let h = History {
        now_ms: MONDAY_10H_MS,
        last_change_ms: Some(MONDAY_10H_MS),
        changes_last_hour: 99,
        cost_increase_this_month_usd: 1e9,
    };
    assert!(g_with_windows().check(&p, &h).is_ok());
}

fn g_with_windows() -> Guardrails {
    Guardrails {
        windows: vec![Window {
            weekdays: vec![6],
            start_hour: 0,
            end_hour: 1,
            timezone: Zone::UTC,
        }],
        ..rails()
    }
}

// ------------------------------------------------------------------ properties

fn provisioned() -> impl Strategy<Value = Provisioned> {
    prop_oneof![
        Just(Provisioned::None),
        (1u32..60).prop_map(Provisioned::Constant),
        proptest::collection::vec(0u32..60, 24).prop_map(|v| {
            let h: [u32; 24] = v.try_into().unwrap();
            Provisioned::from_hourly(h)
        }),
        // Few change points, as real schedules have.
        (0u32..30, 0u32..30, 0usize..24, 1usize..24).prop_map(|(a, b, start, len)| {
            let h: [u32; 24] =
                std::array::from_fn(|i| if (i + 24 - start) % 24 < len { b } else { a });
            Provisioned::from_hourly(h)
        }),
    ]
}

fn lambda() -> impl Strategy<Value = LambdaSettings> {
    (
        prop_oneof![Just(128u32), Just(512), Just(1024), Just(3008)],
        provisioned(),
        proptest::option::of(0u32..40),
    )
        .prop_map(|(memory_mb, provisioned, extra)| LambdaSettings {
            schedule_timezone: None,
            memory_mb,
            reserved_concurrency: extra.map(|e| provisioned.peak() + e),
            provisioned,
        })
}

fn guardrails() -> impl Strategy<Value = Guardrails> {
    (
        0.0f64..300.0,
        0u32..10,
        0u32..180,
        0u32..10,
        proptest::option::of(0.0f64..500.0),
        proptest::collection::vec((0u8..7, 0u8..24, 1u8..25), 0..3),
    )
        .prop_map(|(pct, n, cool, per_hour, budget, windows)| Guardrails {
            max_step_percent: pct,
            max_step_environments: n,
            cooldown_minutes: cool,
            max_changes_per_hour: per_hour,
            max_cost_increase_usd_per_month: budget,
            windows: windows
                .into_iter()
                .map(|(d, s, e)| Window {
                    weekdays: vec![d, (d + 1) % 7],
                    start_hour: s.min(e - 1),
                    end_hour: e,
                    timezone: Zone::UTC,
                })
                .collect(),
        })
}

fn history() -> impl Strategy<Value = History> {
    (
        0i64..14 * 24 * 60,
        proptest::option::of(0i64..600),
        0u32..12,
        0.0f64..600.0,
    )
        .prop_map(|(minute, ago, changes, spent)| {
            let now_ms = MONDAY_10H_MS + minute * 60_000;
            History {
                now_ms,
                last_change_ms: ago.map(|a| now_ms - a * 60_000),
                changes_last_hour: changes,
                cost_increase_this_month_usd: spent,
            }
        })
}

/// A model of one function as the calls change it.
#[derive(Debug, Default)]
struct Model {
    memory_mb: u32,
    config: Option<u32>,
    actions: BTreeMap<String, ScheduledStep>,
    registered: Option<(u32, u32)>,
    reserved: Option<u32>,
}

impl Model {
    fn of(s: &LambdaSettings) -> Model {
        let mut m = Model {
            memory_mb: s.memory_mb,
            reserved: s.reserved_concurrency,
            ..Model::default()
        };
        match &s.provisioned {
            Provisioned::None => {}
            Provisioned::Constant(n) => m.config = Some(*n),
            Provisioned::Hourly(h) => {
                for step in crate::plan::change_points(h) {
                    m.actions.insert(
                        crate::plan::Scalable::LambdaProvisionedConcurrency.action_name(step.hour),
                        step,
                    );
                }
                m.registered = Some((0, 0));
                // The level of some hour; the peak is the worst case for the checks.
                m.config = Some(s.provisioned.peak());
            }
        }
        m
    }

    fn play(&mut self, c: &Call) {
        match c {
            Call::UpdateFunctionConfiguration { memory_mb, .. } => self.memory_mb = *memory_mb,
            Call::PutProvisionedConcurrencyConfig {
                provisioned_concurrent_executions: n,
                ..
            } => self.config = Some(*n),
            Call::DeleteProvisionedConcurrencyConfig { .. } => self.config = None,
            Call::RegisterScalableTarget {
                min_capacity,
                max_capacity,
                ..
            } => self.registered = Some((*min_capacity, *max_capacity)),
            Call::PutScheduledAction {
                scheduled_action_name,
                hour,
                capacity,
                ..
            } => {
                assert!(self.registered.is_some(), "action before the target");
                let step = ScheduledStep {
                    hour: *hour,
                    value: *capacity,
                };
                self.actions.insert(scheduled_action_name.clone(), step);
            }
            Call::DeleteScheduledAction {
                scheduled_action_name,
                ..
            } => {
                assert!(self.actions.remove(scheduled_action_name).is_some());
            }
            Call::DeregisterScalableTarget { .. } => {
                assert!(self.actions.is_empty(), "deregistered with actions left");
                self.registered = None;
            }
            Call::PutFunctionConcurrency {
                reserved_concurrent_executions: n,
                ..
            } => self.reserved = Some(*n),
            Call::DeleteFunctionConcurrency { .. } => self.reserved = None,
            other => panic!("not a Lambda call: {other}"),
        }
        if let (Some(r), Some(n)) = (self.reserved, self.config) {
            assert!(n <= r, "provisioned {n} above reservation {r} after {c}");
        }
    }

    fn provisioned(&self) -> Provisioned {
        let steps: Vec<ScheduledStep> = self.actions.values().copied().collect();
        match schedule_of(&steps) {
            Some(h) => Provisioned::from_hourly(h),
            None => self.config.map_or(Provisioned::None, Provisioned::Constant),
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn no_allowed_plan_exceeds_a_guardrail(
        from in lambda(),
        to in lambda(),
        g in guardrails(),
        h in history(),
        delta in -50.0f64..200.0,
    ) {
        let mut p = between(&target(), &from, &to);
        p.cost_delta_usd_per_month = delta;
        match g.check(&p, &h) {
            Err(r) => {
                prop_assert!(!p.is_empty());
                prop_assert!(["windows", "cooldown_minutes", "max_changes_per_hour",
                    "max_cost_increase_usd_per_month"].contains(&r.guardrail.as_str()));
                prop_assert!(!r.detail.is_empty());
            }
            Ok(a) if a.plan.is_empty() => {}
            Ok(a) => {
                let old = lam(&a.plan.from).provisioned.hourly();
                let new = lam(&a.plan.to).provisioned.hourly();
                for hour in 0..24 {
                    prop_assert!(new[hour] <= g.max_level(old[hour]),
                        "hour {hour}: {} → {} beyond the step", old[hour], new[hour]);
                    prop_assert!(new[hour] <= to.provisioned.hourly()[hour]);
                }
                prop_assert!(g.windows.is_empty() || g.windows.iter().any(|w| w.contains(h.now_ms)));
                if let Some(last) = h.last_change_ms {
                    prop_assert!(h.now_ms - last >= i64::from(g.cooldown_minutes) * 60_000);
                }
                prop_assert!(h.changes_last_hour < g.max_changes_per_hour);
                if let Some(b) = g.max_cost_increase_usd_per_month {
                    prop_assert!(delta <= 0.0 || h.cost_increase_this_month_usd + delta <= b);
                }
                // Clamping is a fixed point: the clamped plan passes unchanged.
                let again = g.check(&a.plan, &h).unwrap();
                prop_assert!(again.clamped.is_empty());
                prop_assert_eq!(&again.plan.id, &a.plan.id);
                // Played on a model, the calls reach the plan's target.
                let mut m = Model::of(lam(&a.plan.from));
                for c in &a.plan.calls {
                    m.play(c);
                }
                prop_assert_eq!(m.memory_mb, lam(&a.plan.to).memory_mb);
                prop_assert_eq!(m.reserved, lam(&a.plan.to).reserved_concurrency);
                prop_assert_eq!(m.provisioned(), lam(&a.plan.to).provisioned.clone());
            }
        }
    }

    #[test]
    fn without_time_limits_nothing_is_refused(from in lambda(), to in lambda(), pct in 0.0f64..100.0) {
        let g = Guardrails {
            max_step_percent: pct,
            max_step_environments: 1,
            cooldown_minutes: 0,
            max_changes_per_hour: 1,
            max_cost_increase_usd_per_month: None,
            windows: Vec::new(),
        };
        let p = between(&target(), &from, &to);
        let h = History { now_ms: MONDAY_10H_MS, ..History::default() };
        prop_assert!(g.check(&p, &h).is_ok());
    }

    #[test]
    fn the_inverse_returns(from in lambda(), to in lambda()) {
        let p = between(&target(), &from, &to);
        let mut m = Model::of(&from);
        for c in p.calls.iter().chain(&p.inverse().calls) {
            m.play(c);
        }
        prop_assert_eq!(m.memory_mb, from.memory_mb);
        prop_assert_eq!(m.reserved, from.reserved_concurrency);
        prop_assert_eq!(m.provisioned(), from.provisioned);
    }
}
