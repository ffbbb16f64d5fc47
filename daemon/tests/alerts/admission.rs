//! Alert deduplication and rate limits hold across replicas: two store instances on
//! one database (as two `adaptd serve` replicas have), many tasks submitting at once
//! through `AlertStore::admit_alert`, which the webhooks' intake calls. On
//! PostgreSQL (one database made for the run on the server `ADAPTD_TEST_POSTGRES_URL`
//! names) and on one SQLite file.
//!
//! A check-then-insert without a lock across replicas lets several submissions of
//! the same alert all see none before them and all be recorded as new; these tests
//! count exactly one.

use std::sync::Arc;
use std::time::Duration;

use adaptd::store::alerts::{Admission, Admitted, AlertStore, NewAlert};
use adaptd::store::{SqlStore, Store};
use tokio::sync::Barrier;

use super::service_support::{PgDb, Scratch};

/// Tasks per store instance.
const PER_REPLICA: usize = 24;

async fn replicas(url: &str) -> [Arc<SqlStore>; 2] {
    let section = adaptd_config::StoreSection::default();
    let open =
        |name: &str| SqlStore::connect(url, &section, name.to_owned(), Duration::from_secs(10));
    let (a, b) = (
        open("replica-a").await.unwrap(),
        open("replica-b").await.unwrap(),
    );
    a.migrate().await.unwrap();
    b.migrate().await.unwrap();
    [Arc::new(a), Arc::new(b)]
}

fn alert(identity: &str, now: i64) -> NewAlert {
    NewAlert {
        received_ms: now,
        source: "alertmanager".into(),
        identity: identity.into(),
        dedup_key: format!("alertmanager|{identity}|firing"),
        name: "P99".into(),
        component: Some("checkout-api".into()),
        status: "firing".into(),
        outcome: "pending".into(),
        payload: "{}".into(),
    }
}

/// Submits `make(i)` from `PER_REPLICA` tasks on each replica, all released at once.
async fn at_once(
    stores: &[Arc<SqlStore>; 2],
    rules: Admission,
    make: impl Fn(usize) -> NewAlert,
) -> Vec<Admitted> {
    let barrier = Arc::new(Barrier::new(2 * PER_REPLICA));
    let mut tasks = Vec::new();
    for i in 0..2 * PER_REPLICA {
        let store = stores[i % 2].clone();
        let barrier = barrier.clone();
        let a = make(i);
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            store.admit_alert(&a, &rules).await.unwrap()
        }));
    }
    let mut out = Vec::new();
    for t in tasks {
        out.push(t.await.unwrap());
    }
    out
}

fn concurrent_submissions(url: &str) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let stores = replicas(url).await;
        let now = adaptd::store::now_ms();
        let rules = Admission {
            dedup_since_ms: now - 300_000,
            rate_since_ms: now - 3_600_000,
            max_focused: 2,
        };

        // The same alert, 48 times at once through two replicas: one is new.
        let same = at_once(&stores, rules, |_| alert("fp-same", now)).await;
        let new: Vec<i64> = same
            .iter()
            .filter_map(|a| match a {
                Admitted::Recorded { id } => Some(*id),
                _ => None,
            })
            .collect();
        assert_eq!(new.len(), 1, "{same:?}");
        for a in &same {
            if let Admitted::Duplicate { first, .. } = a {
                assert_eq!(*first, new[0], "{same:?}");
            } else {
                assert!(matches!(a, Admitted::Recorded { .. }), "{same:?}");
            }
        }
        let rows = stores[0].alerts_since(now - 1000).await.unwrap();
        assert_eq!(rows.len(), 2 * PER_REPLICA);
        assert_eq!(rows.iter().filter(|r| r.outcome == "pending").count(), 1);

        // Different alerts of that component at once: the rate limit (2 focused cycles,
        // one already asked for) lets exactly one more through.
        let different = at_once(&stores, rules, |i| alert(&format!("fp-{i}"), now)).await;
        let passed = different
            .iter()
            .filter(|a| matches!(a, Admitted::Recorded { .. }))
            .count();
        let limited: Vec<i64> = different
            .iter()
            .filter_map(|a| match a {
                Admitted::RateLimited { count, .. } => Some(*count),
                _ => None,
            })
            .collect();
        assert_eq!(passed, 1, "{different:?}");
        assert_eq!(limited.len(), 2 * PER_REPLICA - 1, "{different:?}");
        assert!(limited.iter().all(|&n| n == 2), "{limited:?}");
        let rows = stores[0].alerts_since(now - 1000).await.unwrap();
        assert_eq!(rows.iter().filter(|r| r.outcome == "pending").count(), 2);
        for s in &stores {
            s.close().await;
        }
    });
}

#[test]
fn concurrent_alerts_through_two_replicas_on_postgres_are_admitted_once() {
    let db = PgDb::new("admission");
    concurrent_submissions(&db.url());
}

#[test]
fn concurrent_alerts_through_two_replicas_on_one_sqlite_file_are_admitted_once() {
    let dir = Scratch::new("alerts-admission");
    let url = format!("sqlite://{}?mode=rwc", dir.path("adaptd.db").display());
    concurrent_submissions(&url);
}
