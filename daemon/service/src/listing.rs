//! The recommendation listing served from memory.
//!
//! `GET /api/v1/recommendations` is what dashboards, scripts and people poll, far more
//! often than recommendations change (once per cycle with new telemetry, or on a
//! decision). Asking the database to count, sort and page the newest versions and
//! then serialising every row again made each request cost milliseconds of CPU; at
//! 1,000 requests/s the queue grew without bound. So the refresher that already
//! reloads the newest versions for the metrics also keeps them here, sorted the way
//! the listing orders them and each rendered to JSON once.
//!
//! A request reads the recommendations' revision (a counter the store bumps in the
//! transaction of every change to them; one primary-key read) and is served from a
//! snapshot at least that new: a reader never sees a listing older than the database
//! (an approval is visible to the next request, on any replica). When the
//! recommendations have changed, the request wakes the refresher and waits for its
//! new snapshot, as do the requests arriving meanwhile: one rebuild serves them all,
//! instead of each going to the database at once, which under load queued requests
//! for hundreds of milliseconds. Cycles that change no recommendation (no new
//! telemetry) cause no rebuild. Should no snapshot come within [`WAIT`] (the store
//! failing, a very large rebuild), the request reads the database as before. Older
//! versions (`all_versions=true`) always come from the database.

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tokio::sync::{Notify, watch};

use adaptd_store::{Lifecycle, RecommendationFilter, RecommendationRow};

/// One newest version, with what the filters look at and its rendered JSON.
#[derive(Debug)]
struct Entry {
    id: i64,
    status: Lifecycle,
    verdict: Box<str>,
    component: Box<str>,
    saving_usd_per_month: f64,
    json: Box<str>,
}

/// A snapshot being gathered a row at a time, so that the rows themselves need not all
/// be held at once (their inputs and gauges weigh several times the rendered entry).
#[derive(Debug, Default)]
pub struct Builder {
    entries: Vec<Entry>,
}

impl Builder {
    /// Adds one newest version.
    pub fn push(&mut self, r: &RecommendationRow) {
        self.entries.push(Entry {
            id: r.id,
            status: r.status,
            verdict: r.verdict.as_str().into(),
            component: r.component.as_str().into(),
            saving_usd_per_month: r.saving_usd_per_month,
            // Through `Value` so that keys are ordered exactly as the database path
            // renders them.
            json: serde_json::to_value(r)
                .map(|v| v.to_string())
                .unwrap_or_else(|_| "null".into())
                .into_boxed_str(),
        });
    }
}

/// The newest versions at one revision of the recommendations
/// ([`Store::recommendations_revision`](adaptd_store::Store::recommendations_revision)),
/// in listing order (saving, descending; then id).
#[derive(Debug, Default)]
struct Snapshot {
    revision: Option<i64>,
    entries: Vec<Entry>,
}

/// How long a request waits for a rebuilt snapshot before it reads the database.
pub const WAIT: Duration = Duration::from_secs(2);

/// The shared snapshot and the bell that asks the refresher to rebuild it.
#[derive(Debug)]
pub struct Listing {
    current: watch::Sender<Arc<Snapshot>>,
    /// Rung when a request found the snapshot behind the store.
    pub stale: Notify,
}

impl Default for Listing {
    fn default() -> Self {
        Self {
            current: watch::Sender::new(Arc::new(Snapshot::default())),
            stale: Notify::new(),
        }
    }
}

impl Listing {
    /// Replaces the snapshot with what `next` gathered of the store's newest versions,
    /// read at `revision`. The revision must have been read *before* the rows, so that
    /// a write in between leaves the snapshot labelled older than its content, never
    /// newer.
    pub fn install(&self, revision: i64, next: Builder) {
        let mut entries = next.entries;
        entries.sort_by(|a, b| {
            // As SQL compares: -0.0 equals 0.0 (savings are finite; the store
            // refuses anything else).
            b.saving_usd_per_month
                .partial_cmp(&a.saving_usd_per_month)
                .unwrap_or(std::cmp::Ordering::Equal)
                .then(a.id.cmp(&b.id))
        });
        entries.shrink_to_fit();
        self.current.send_replace(Arc::new(Snapshot {
            revision: Some(revision),
            entries,
        }));
    }

    /// The page `filter` asks for as the response body, from a snapshot at least as
    /// new as the recommendations' `revision`; `None` when the database must answer.
    pub async fn page(&self, revision: i64, filter: &RecommendationFilter) -> Option<String> {
        if filter.all_versions {
            return None;
        }
        let fresh = |s: &Arc<Snapshot>| s.revision.is_some_and(|r| r >= revision);
        let mut rx = self.current.subscribe();
        let snap = if fresh(&rx.borrow()) {
            rx.borrow().clone()
        } else {
            self.stale.notify_one();
            match tokio::time::timeout(WAIT, rx.wait_for(fresh)).await {
                Ok(Ok(s)) => s.clone(),
                _ => return None,
            }
        };
        Some(render(&snap, filter))
    }
}

fn matches(e: &Entry, f: &RecommendationFilter) -> bool {
    let status = if f.statuses.is_empty() {
        e.status != Lifecycle::Superseded
    } else {
        f.statuses.contains(&e.status)
    };
    status
        && (f.verdicts.is_empty() || f.verdicts.iter().any(|v| **v == *e.verdict))
        && f.component.as_deref().is_none_or(|c| c == &*e.component)
        && f.min_saving_usd_per_month
            .is_none_or(|m| e.saving_usd_per_month >= m)
}

/// The body, shaped as the database path's `{"items", "limit", "offset", "total"}`.
fn render(snap: &Snapshot, f: &RecommendationFilter) -> String {
    let offset = usize::try_from(f.offset.max(0)).unwrap_or(usize::MAX);
    let limit = usize::try_from(f.limit.max(0)).unwrap_or(usize::MAX);
    let mut body = String::with_capacity(64 + limit.min(snap.entries.len()) * 700);
    body.push_str("{\"items\":[");
    let mut total = 0usize;
    for e in snap.entries.iter().filter(|e| matches(e, f)) {
        if total >= offset && total - offset < limit {
            if total > offset {
                body.push(',');
            }
            body.push_str(&e.json);
        }
        total += 1;
    }
    body.push_str("],\"limit\":");
    body.push_str(&Value::from(f.limit).to_string());
    body.push_str(",\"offset\":");
    body.push_str(&Value::from(f.offset).to_string());
    body.push_str(",\"total\":");
    body.push_str(&total.to_string());
    body.push('}');
    body
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use serde_json::json;

    use super::*;
    use adaptd_store::{
        CycleFinish, NewVersion, SqlStore, Store, Transition, VersionAction, now_ms,
    };

    fn version(component: &str, verdict: &str, saving: f64) -> NewVersion {
        NewVersion {
            component: component.into(),
            verdict: verdict.into(),
            saving_usd_per_month: saving,
            current_usd_per_month: Some(100.0),
            recommended_usd_per_month: Some(100.0 - saving),
            summary: format!("{component}: {verdict}"),
            fingerprint: format!("{component}-{saving}"),
            document: "{}".into(),
            inputs: json!({"cycle_id": 1, "component": component}).to_string(),
            gauges: "{}".into(),
        }
    }

    async fn cycle(store: &SqlStore, actions: Vec<VersionAction>) {
        let id = store.begin_cycle("test", now_ms()).await.unwrap();
        store
            .finish_cycle(&CycleFinish {
                cycle_id: id,
                finished_ms: now_ms(),
                outcome: "ok".into(),
                failed_stage: None,
                error: None,
                report: "{}".into(),
                actions,
                stale: Vec::new(),
                fresh: Vec::new(),
            })
            .await
            .unwrap();
    }

    /// A person's decision on a proposal.
    async fn decide(store: &SqlStore, id: i64, to: Lifecycle) {
        store
            .transition(&Transition {
                id,
                from: vec![Lifecycle::Proposed],
                to,
                actor: "test".into(),
                note: None,
                at_ms: now_ms(),
                verdicts: Vec::new(),
            })
            .await
            .unwrap();
    }

    /// As the refresher rebuilds: the newest versions streamed into a builder. They are
    /// the rows `latest_recommendations` reads at once.
    async fn rebuild(listing: &Listing, store: &SqlStore, revision: i64) {
        let mut next = Builder::default();
        let mut streamed = Vec::new();
        store
            .for_each_latest_recommendation(|r| {
                next.push(&r);
                streamed.push(r);
            })
            .await
            .unwrap();
        assert_eq!(streamed, store.latest_recommendations().await.unwrap());
        listing.install(revision, next);
    }

    /// What the database path answers, rendered as the handler renders it.
    async fn from_database(store: &SqlStore, f: &RecommendationFilter) -> Value {
        let (rows, total) = store.list_recommendations(f).await.unwrap();
        json!({"items": rows, "total": total, "limit": f.limit, "offset": f.offset})
    }

    fn filter(edit: impl FnOnce(&mut RecommendationFilter)) -> RecommendationFilter {
        let mut f = RecommendationFilter {
            limit: 100,
            ..RecommendationFilter::default()
        };
        edit(&mut f);
        f
    }

    /// The snapshot answers every filter exactly as the database does: same rows, same
    /// order (ties on saving broken by id, negative savings last), same totals and
    /// pages; and it refuses to answer once the store has moved on.
    #[test]
    fn the_snapshot_answers_as_the_database_does() {
        let dir = std::env::temp_dir().join(format!(
            "adaptd-listing-{}-{}",
            std::process::id(),
            now_ms()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let section = adaptd_config::StoreSection::default();
            let store = SqlStore::open(&section, &dir, "test".into(), Duration::from_secs(30))
                .await
                .unwrap();
            store.migrate().await.unwrap();
            assert!(store.lead().await.unwrap());
            let savings = [12.5, 0.0, 40.0, 12.5, -3.0, 7.0, 12.5, 0.0, 99.0, 1.0];
            let verdicts = ["change", "keep", "change", "slo_infeasible", "change"];
            cycle(
                &store,
                savings
                    .iter()
                    .enumerate()
                    .map(|(i, &s)| VersionAction::Insert {
                        new: version(&format!("fn-{i}"), verdicts[i % verdicts.len()], s),
                        supersede: None,
                    })
                    .collect(),
            )
            .await;
            // A second version for fn-2 supersedes the first; fn-3 is approved and
            // fn-4 rejected, so statuses differ.
            let first = store.latest_recommendations().await.unwrap();
            let id_of = |c: &str| first.iter().find(|r| r.component == c).unwrap().id;
            cycle(
                &store,
                vec![VersionAction::Insert {
                    new: version("fn-2", "change", 55.0),
                    supersede: Some(id_of("fn-2")),
                }],
            )
            .await;
            for (c, to) in [("fn-3", Lifecycle::Approved), ("fn-4", Lifecycle::Rejected)] {
                decide(&store, id_of(c), to).await;
            }

            let listing = Listing::default();
            let revision = store.recommendations_revision().await.unwrap();
            rebuild(&listing, &store, revision).await;
            let filters = [
                filter(|_| {}),
                filter(|f| f.limit = 3),
                filter(|f| {
                    f.limit = 4;
                    f.offset = 3;
                }),
                filter(|f| f.offset = 50),
                filter(|f| f.statuses = vec![Lifecycle::Approved, Lifecycle::Rejected]),
                filter(|f| f.statuses = vec![Lifecycle::Superseded]),
                filter(|f| f.verdicts = vec!["change".into()]),
                filter(|f| f.component = Some("fn-2".into())),
                filter(|f| f.component = Some("nobody".into())),
                filter(|f| f.min_saving_usd_per_month = Some(12.5)),
                filter(|f| {
                    f.verdicts = vec!["change".into(), "keep".into()];
                    f.min_saving_usd_per_month = Some(0.0);
                    f.limit = 2;
                    f.offset = 1;
                }),
            ];
            for f in &filters {
                let body = listing
                    .page(revision, f)
                    .await
                    .unwrap_or_else(|| panic!("the snapshot answers {f:?}"));
                let mine: Value = serde_json::from_str(&body).unwrap();
                assert_eq!(mine, from_database(&store, f).await, "{f:?}");
                assert_eq!(body, from_database(&store, f).await.to_string(), "{f:?}");
            }
            assert!(
                listing
                    .page(revision, &filter(|f| f.all_versions = true))
                    .await
                    .is_none(),
                "older versions come from the database"
            );

            // A change in the store: the old snapshot no longer answers.
            decide(&store, id_of("fn-5"), Lifecycle::Approved).await;
            let moved = store.recommendations_revision().await.unwrap();
            assert_ne!(moved, revision);
            // Nobody rebuilds: after the wait, the database must answer.
            let t = std::time::Instant::now();
            assert!(listing.page(moved, &filter(|_| {})).await.is_none());
            assert!(t.elapsed() >= WAIT);
            // A rebuild while requests wait: they are answered from it, with the
            // approval.
            let fn5 = filter(|f| f.component = Some("fn-5".into()));
            let waiting = listing.page(moved, &fn5);
            let rebuild = async {
                tokio::time::sleep(Duration::from_millis(50)).await;
                rebuild(&listing, &store, moved).await;
            };
            let (body, ()) = tokio::join!(waiting, rebuild);
            let body: Value =
                serde_json::from_str(&body.expect("the rebuilt snapshot answers")).unwrap();
            assert_eq!(body["items"][0]["status"], "approved");
            // An older revision is answered by a newer snapshot.
            assert!(listing.page(revision, &filter(|_| {})).await.is_some());
            // A cycle that changes no recommendation leaves the revision (and so the
            // snapshot) as it was.
            cycle(&store, Vec::new()).await;
            assert_eq!(store.recommendations_revision().await.unwrap(), moved);
        });
        let _ = std::fs::remove_dir_all(&dir);
    }
}
