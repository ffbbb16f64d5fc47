//! [`Tally`]: what the suggestion gauges keep of the newest versions while the store
//! streams them, so that the refresher never holds every row at once.

use std::cmp::{Ordering, Reverse};
use std::collections::{BTreeMap, BinaryHeap};

use adaptd_store::{Lifecycle, RecommendationRow};

/// What the suggestion gauges need of the newest versions, gathered a row at a time
/// (see [`Store::for_each_latest_recommendation`](adaptd_store::Store)): counts and
/// the available saving over all of them, the figures of only the
/// `metrics_max_components` largest by current cost.
#[derive(Debug)]
pub struct Tally {
    max_components: usize,
    pub(super) counts: BTreeMap<(&'static str, String), i64>,
    pub(super) available_usd_per_month: f64,
    /// The largest so far; the smallest of them on top, to be dropped first.
    pub(super) top: BinaryHeap<Reverse<Ranked>>,
}

/// A component's place in the by-cost order of the gauges, with its figures.
#[derive(Debug)]
pub(super) struct Ranked {
    current_usd_per_month: f64,
    pub(super) component: String,
    pub(super) saving_usd_per_month: f64,
    pub(super) gauges: String,
}

impl Ord for Ranked {
    /// Greater is listed first: larger current cost, then the smaller name.
    fn cmp(&self, other: &Self) -> Ordering {
        self.current_usd_per_month
            .total_cmp(&other.current_usd_per_month)
            .then_with(|| other.component.cmp(&self.component))
    }
}

impl PartialOrd for Ranked {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Ranked {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Ranked {}

impl Tally {
    /// Keeps the figures of at most `max_components` components.
    pub fn new(max_components: usize) -> Self {
        Self {
            max_components,
            counts: BTreeMap::new(),
            available_usd_per_month: 0.0,
            top: BinaryHeap::new(),
        }
    }

    /// Counts `r`, keeping its gauges if it is among the largest so far.
    pub fn add(&mut self, r: RecommendationRow) {
        *self
            .counts
            .entry((r.status.as_str(), r.verdict))
            .or_default() += 1;
        if matches!(r.status, Lifecycle::Proposed | Lifecycle::Approved)
            && r.saving_usd_per_month > 0.0
        {
            self.available_usd_per_month += r.saving_usd_per_month;
        }
        if self.max_components == 0 {
            return;
        }
        let ranked = Ranked {
            current_usd_per_month: r.current_usd_per_month.unwrap_or(0.0),
            component: r.component,
            saving_usd_per_month: r.saving_usd_per_month,
            gauges: r.gauges,
        };
        if self.top.len() < self.max_components {
            self.top.push(Reverse(ranked));
        } else if self
            .top
            .peek()
            .is_some_and(|Reverse(least)| ranked > *least)
        {
            self.top.pop();
            self.top.push(Reverse(ranked));
        }
    }
}
