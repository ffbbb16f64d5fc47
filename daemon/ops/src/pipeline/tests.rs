//! The pipeline's grouped runs against the joint problem, on copies of the demo shop
//! and on the shared Azure sample: the same answers, account limits the groups break
//! together solved jointly or shared out, and groups priced at the whole's tier.

use super::*;

/// The pipeline's own grouped I/O, counting what was asked.
struct Memory<'a> {
    inner: Grouped<'a>,
    largest_request: usize,
    restarts: usize,
}

impl ChunkIo for Memory<'_> {
    type Error = std::convert::Infallible;
    fn profiles(
        &mut self,
        specs: &[ComponentSpec],
    ) -> Result<BTreeMap<String, Profile>, Self::Error> {
        self.largest_request = self.largest_request.max(specs.len());
        self.inner.profiles(specs)
    }
    fn take(&mut self, r: Vec<Recommendation>) -> Result<(), Self::Error> {
        self.inner.take(r)
    }
    fn restart(&mut self) {
        self.restarts += 1;
        self.inner.restart();
    }
}

fn shop(edit: impl FnOnce(&mut String)) -> (Resolved, BTreeMap<String, Profile>) {
    let mut text = crate::embedded::CONFIG.to_owned();
    edit(&mut text);
    let config = Config::from_str(&text, "examples/adaptd.toml").expect("the config parses");
    let telemetry = adaptd_collectors::file::read_bytes(
        crate::embedded::TELEMETRY_CSV_GZ,
        "examples/telemetry.csv.gz",
    )
    .expect("the telemetry loads");
    let resolved = config
        .resolve(&discovered(&telemetry))
        .expect("the config resolves");
    let profiles = profiles(&resolved, &telemetry);
    (resolved, profiles)
}

fn both(
    resolved: &Resolved,
    profiles: &BTreeMap<String, Profile>,
    grouping: Grouping,
) -> (
    RecommendationSet,
    Memory<'static>,
    adaptd_optimizer::recommend::chunked::Chunked,
) {
    let joint = recommend(
        &resolved.components,
        profiles,
        &resolved.databases,
        &resolved.accounts,
        &resolved.prices,
        &settings(resolved),
    )
    .expect("the joint run recommends");
    let leaked: &'static BTreeMap<String, Profile> = Box::leak(Box::new(profiles.clone()));
    let mut io = Memory {
        inner: Grouped {
            profiles: leaked,
            taken: Vec::new(),
        },
        largest_request: 0,
        restarts: 0,
    };
    let chunked = recommend_in_chunks(
        &resolved.components,
        &resolved.databases,
        &resolved.accounts,
        &resolved.prices,
        &settings(resolved),
        grouping,
        &mut io,
    )
    .expect("the chunked run recommends");
    io.inner.taken.sort_by(|a, b| a.component.cmp(&b.component));
    (joint, io, chunked)
}

fn assert_same(joint: &RecommendationSet, chunks: &[Recommendation]) {
    assert_eq!(
        joint.components.len(),
        chunks.len(),
        "every component is recommended once"
    );
    for (a, b) in joint.components.iter().zip(chunks) {
        assert_eq!(a.component, b.component);
        assert_eq!(a.status, b.status, "{}", a.component);
        assert_eq!(
            a.recommended.as_ref().map(|p| &p.deployment),
            b.recommended.as_ref().map(|p| &p.deployment),
            "{}",
            a.component
        );
        assert!(
            (a.saving_usd_per_month - b.saving_usd_per_month).abs() < 1e-6,
            "{}: {} vs {}",
            a.component,
            a.saving_usd_per_month,
            b.saving_usd_per_month
        );
    }
}

/// Solved three components at a time, the shop gets the joint run's
/// recommendations, totals and shared limits; the two users of orders-db (no
/// proxy) are asked for together.
#[test]
fn groups_recommend_what_the_joint_problem_does() {
    let (resolved, profiles) = shop(|_| {});
    let (joint, io, chunked) = both(&resolved, &profiles, Grouping::of(3));
    assert!(!chunked.joint, "nothing binds in the shop");
    assert!(chunked.groups >= 4, "{} groups", chunked.groups);
    assert!(io.largest_request <= 4, "{}", io.largest_request);
    assert_same(&joint, &io.inner.taken);
    let (a, b) = (&joint.summary, &chunked.set.summary);
    assert_eq!(a.components, b.components);
    assert_eq!(a.changes, b.changes);
    for (x, y) in [
        (a.current_usd_per_month, b.current_usd_per_month),
        (a.recommended_usd_per_month, b.recommended_usd_per_month),
        (
            a.available_savings_usd_per_month,
            b.available_savings_usd_per_month,
        ),
    ] {
        assert!((x - y).abs() < 1e-6, "{x} vs {y}");
    }
    assert_eq!(joint.companions, chunked.set.companions);
    let limits = |s: &RecommendationSet| {
        s.shared_limits
            .iter()
            .map(|l| (l.kind.clone(), l.name.clone(), l.capacity, l.peak_usage))
            .collect::<Vec<_>>()
    };
    assert_eq!(limits(&joint), limits(&chunked.set));
}

/// Three copies of the shop, and the peak concurrency they provision together
/// with the account's limit left roomy.
fn three_shops(edit: impl FnOnce(&mut String)) -> (Resolved, BTreeMap<String, Profile>, f64) {
    let (shop, shop_profiles) = shop(edit);
    let mut resolved = shop.clone();
    resolved.components.clear();
    let mut profiles = BTreeMap::new();
    for copy in 0..3 {
        for spec in &shop.components {
            let mut spec = spec.clone();
            spec.name = format!("{}-{copy}", spec.name);
            if let Some(p) = shop_profiles.get(&spec.name[..spec.name.len() - 2]) {
                profiles.insert(spec.name.clone(), p.clone());
            }
            resolved.components.push(spec);
        }
    }
    let (unbound, _, _) = both(&resolved, &profiles, Grouping::of(3));
    let peak = account_limit(&unbound).peak_usage;
    assert!(peak >= 6.0, "the copies provision something ({peak})");
    (resolved, profiles, peak)
}

fn account_limit(set: &RecommendationSet) -> &adaptd_optimizer::recommend::SharedLimit {
    set.shared_limits
        .iter()
        .find(|l| l.kind == "account_concurrency")
        .expect("the account is reported")
}

fn limit_account_to(resolved: &mut Resolved, reservable: f64) {
    for a in &mut resolved.accounts {
        a.concurrency_limit =
            adaptd_engine::spec::AccountSpec::UNRESERVED_MINIMUM + reservable as u32;
    }
}

/// An account limit the groups break together: the components are solved
/// jointly after all, and the result is the joint run's.
#[test]
fn groups_that_break_a_shared_limit_fall_back_to_the_joint_problem() {
    // Each copy fits alone; allow one less than all three provision together.
    let (mut resolved, profiles, peak) = three_shops(|_| {});
    limit_account_to(&mut resolved, peak - 1.0);
    let (joint, io, chunked) = both(&resolved, &profiles, Grouping::of(3));
    assert!(chunked.joint, "the groups break the account limit together");
    assert!(!chunked.shared);
    assert_eq!(io.restarts, 1);
    assert_same(&joint, &io.inner.taken);
    let bound = account_limit(&joint).peak_usage;
    assert!(bound < peak, "the limit binds: {bound} < {peak}");
}

/// The first `n` functions of the shared Azure sample, each under a 1 %
/// cold-start SLO, deployed at 1,024 MB x86_64, Lambda only, in an account that
/// may reserve `reservable` concurrent executions.
fn azure_sample(n: usize, reservable: u32) -> (Resolved, BTreeMap<String, Profile>) {
    let text = format!(
        "{}\n[[accounts]]\nname = \"default\"\nconcurrency_limit = {}\n",
        include_str!("../../../../tests/data/azure2019-500-slo.toml"),
        reservable + adaptd_engine::spec::AccountSpec::UNRESERVED_MINIMUM
    );
    let config = Config::from_str(&text, "adaptd.toml").expect("the config parses");
    let dir =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/data/azure2019-500");
    let telemetry = adaptd_collectors::azure2019::load_dir(&dir, &Default::default())
        .expect("the sample loads");
    let mut resolved = config
        .resolve(&discovered(&telemetry))
        .expect("the config resolves");
    resolved.components.truncate(n);
    let profiles = profiles(&resolved, &telemetry);
    (resolved, profiles)
}

/// Real traffic whose SLOs need five times the concurrency the account may
/// reserve, in a fleet above `joint_up_to`: each group is solved at its share, the
/// plan fits the limit, about as few SLOs give way as jointly, and they are told
/// the account's quota request (the joint problem's, within its headroom), not
/// their group's; one warning gives the request, one says the limit was shared.
#[test]
fn groups_that_break_an_account_limit_above_joint_up_to_share_it_out() {
    let (roomy, profiles) = azure_sample(200, 100_000);
    let free = recommend(
        &roomy.components,
        &profiles,
        &roomy.databases,
        &roomy.accounts,
        &roomy.prices,
        &settings(&roomy),
    )
    .expect("the roomy run recommends");
    let needed = account_limit(&free).peak_usage;
    assert!(
        needed >= 10.0,
        "the SLOs need provisioned concurrency ({needed})"
    );
    let reservable = (needed / 5.0).floor();
    let (resolved, profiles) = azure_sample(200, reservable as u32);
    let grouping = Grouping {
        size: 50,
        joint_up_to: 0,
    };
    let (joint, io, chunked) = both(&resolved, &profiles, grouping);
    assert!(chunked.shared && !chunked.joint, "{chunked:?}");
    assert_eq!(io.restarts, 1, "the first pass is dropped once");
    let taken = &io.inner.taken;
    let names: Vec<&str> = taken.iter().map(|r| r.component.as_str()).collect();
    let mut expected: Vec<&str> = resolved
        .components
        .iter()
        .map(|s| s.name.as_str())
        .collect();
    expected.sort_unstable();
    assert_eq!(names, expected, "every component is recommended once");

    let set = &chunked.set;
    let limit = account_limit(set);
    assert!(
        limit.peak_usage <= reservable + 1e-9,
        "the plan fits the account: {} > {reservable}",
        limit.peak_usage
    );
    let (whole, jointly) = (
        limit.shortfall.as_ref().expect("SLOs give way when shared"),
        account_limit(&joint)
            .shortfall
            .as_ref()
            .expect("and jointly"),
    );
    // Both are how far everyone's least SLO-holding usage exceeds the limit; the
    // joint one also carries the headroom its restored plan needed.
    assert!(
        (whole.raise_by - jointly.raise_by).abs() <= 0.1 * jointly.raise_by,
        "{whole:?} vs {jointly:?}"
    );
    assert!(
        whole.request_limit <= needed + 100.0 + 1.0,
        "no more than the SLOs need: {whole:?}"
    );
    assert_eq!(set.summary.slo_infeasible, whole.components.len());
    // Whose SLO gives way is chosen across the fleet, as the joint problem does
    // (groups left to choose alone gave way on 21 here, against the joint's 3).
    assert!(
        set.summary.slo_infeasible <= 2 * joint.summary.slo_infeasible + 1,
        "{} SLOs give way, jointly {}",
        set.summary.slo_infeasible,
        joint.summary.slo_infeasible
    );
    let told = format!(
        "a concurrency quota of {:.0}, {:.0} more, restores it",
        whole.request_limit, whole.raise_by
    );
    for r in taken
        .iter()
        .filter(|r| whole.components.contains(&r.component))
    {
        assert_eq!(r.status, adaptd_optimizer::recommend::Status::SloInfeasible);
        assert!(
            r.explanation.binding.iter().any(|b| b.contains(&told)),
            "{told}: {:?}",
            r.explanation.binding
        );
    }
    let warned = |start: &str| set.warnings.iter().filter(|w| w.starts_with(start)).count();
    assert_eq!(
        warned("account default concurrency cannot hold every SLO"),
        1,
        "{:?}",
        set.warnings
    );
    assert_eq!(
        warned("account default: the fleet's 4 groups together"),
        1,
        "{:?}",
        set.warnings
    );
    assert_unbound_is_the_roomy_plan(set, &free, needed, reservable);
    assert_unbound_is_the_roomy_plan(&joint, &free, needed, reservable);
}

/// Where the limit binds, `unbound` is the plan the roomy account got: the quota
/// its peak needs, and what it costs beside the plan made (both within the
/// solver's gap: another optimum may peak elsewhere).
fn assert_unbound_is_the_roomy_plan(
    set: &RecommendationSet,
    roomy: &RecommendationSet,
    peak: f64,
    reservable: f64,
) {
    let unreserved = f64::from(adaptd_engine::spec::AccountSpec::UNRESERVED_MINIMUM);
    let limit = account_limit(set);
    let u = limit
        .unbound
        .as_ref()
        .expect("the limit binds: unbound is told");
    assert!(
        (u.request_limit - (peak + unreserved)).abs() <= 0.1 * peak,
        "{u:?}, the roomy plan peaks at {peak}"
    );
    assert_eq!(
        u.request_limit - u.raise_by,
        reservable + unreserved,
        "{u:?}"
    );
    let change = roomy.solver.objective_usd_per_month - set.solver.objective_usd_per_month;
    assert!(
        (u.change_usd_per_month - change).abs() <= 0.01 * roomy.solver.objective_usd_per_month,
        "{u:?}: the roomy plan costs {change:+.2} USD/month more"
    );
    let told = format!("at {:.0} the limit would not bind", u.request_limit);
    assert!(
        set.warnings.iter().any(|w| w.contains(&told)),
        "{:?}",
        set.warnings
    );
}

/// Usage that only the whole shop has puts duration in a cheaper tier: the groups
/// are priced at the whole's tier, as the joint run prices them.
#[test]
fn groups_are_priced_at_the_whole_accounts_duration_tier() {
    let (mut resolved, profiles) = shop(|_| {});
    for tiers in [
        &mut resolved.prices.lambda.x86_64_duration_tiers,
        &mut resolved.prices.lambda.arm64_duration_tiers,
    ] {
        // Past a single GB-second, every further one is a third cheaper.
        let first = tiers[0].usd_per_gb_second;
        tiers.truncate(1);
        tiers[0].up_to_gb_seconds = Some(1.0);
        tiers.push(adaptd_engine::prices::DurationTier {
            up_to_gb_seconds: None,
            usd_per_gb_second: first * 2.0 / 3.0,
        });
    }
    let (joint, io, chunked) = both(&resolved, &profiles, Grouping::of(3));
    assert!(!chunked.joint);
    // The whole's tier is known before the first pass: no group is solved twice.
    assert_eq!((chunked.passes, io.restarts), (1, 0));
    assert_same(&joint, &io.inner.taken);
    assert!(
        (joint.summary.current_usd_per_month - chunked.set.summary.current_usd_per_month).abs()
            < 1e-6
    );
}

/// A fleet over the threshold is solved in groups by the pipeline itself, with the
/// joint run's recommendations, in name order.
#[test]
fn the_pipeline_groups_a_large_fleet_with_the_same_answer() {
    let config = Config::from_str(crate::embedded::CONFIG, "examples/adaptd.toml")
        .expect("the config parses");
    let telemetry = adaptd_collectors::file::read_bytes(
        crate::embedded::TELEMETRY_CSV_GZ,
        "examples/telemetry.csv.gz",
    )
    .expect("the telemetry loads");
    let joint = run_grouped(&config, &telemetry, usize::MAX, 3).expect("joint");
    let grouped = run_grouped(&config, &telemetry, 0, 3).expect("grouped");
    assert!(
        grouped.recommendations.solver.items >= joint.recommendations.solver.items,
        "every group's items are counted"
    );
    assert_same(&joint.recommendations, &grouped.recommendations.components);
    let names: Vec<&str> = grouped
        .recommendations
        .components
        .iter()
        .map(|r| r.component.as_str())
        .collect();
    assert!(names.is_sorted(), "{names:?}");
    assert_eq!(
        joint.recommendations.warnings,
        grouped.recommendations.warnings
    );
}
