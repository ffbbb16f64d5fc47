//! The scheduled report's applied changes come from the store: versions the apply
//! feature moved to `applied` (and `rolled_back`), with their deployments before and
//! after from the recommendation document and their times from the audit log. A real
//! SQLite store, written through the same calls the service and `adaptd apply` make.

use std::time::Duration;

use adaptd::report::applied::applied_changes;
use adaptd::store::{
    CycleFinish, Lifecycle, NewVersion, SqlStore, Store, Transition, VersionAction,
};
use serde_json::Value;

use super::{repo, scratch};

const MINUTE_MS: i64 = 60_000;

fn version(component: &str, doc: &Value) -> VersionAction {
    VersionAction::Insert {
        new: NewVersion {
            component: component.to_owned(),
            verdict: "change".to_owned(),
            saving_usd_per_month: doc["saving_usd_per_month"].as_f64().unwrap(),
            current_usd_per_month: Some(10.0),
            recommended_usd_per_month: Some(3.0),
            summary: "memory 1024 → 512 MB".to_owned(),
            fingerprint: format!("f-{component}"),
            document: doc.to_string().as_str().into(),
            inputs: "{}".to_owned(),
            gauges: "{}".into(),
        },
        supersede: None,
    }
}

async fn move_to(
    store: &SqlStore,
    id: i64,
    from: Lifecycle,
    to: Lifecycle,
    at_ms: i64,
    note: &str,
) {
    store
        .transition(&Transition {
            id,
            from: vec![from],
            to,
            actor: "apply:test".to_owned(),
            note: Some(note.to_owned()),
            at_ms,
            verdicts: Vec::new(),
        })
        .await
        .unwrap();
}

#[test]
fn applied_and_rolled_back_versions_become_the_reports_applied_changes() {
    let dir = scratch("applied-from-store");
    let fixture: Value = serde_json::from_str(
        &std::fs::read_to_string(repo().join("tests/data/apply/recommendation.json")).unwrap(),
    )
    .unwrap();
    let doc = fixture["components"][0].clone();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let changes = rt.block_on(async {
        let section = adaptd_config::StoreSection::default();
        let store = SqlStore::open(&section, &dir, "test".to_owned(), Duration::from_secs(30))
            .await
            .unwrap();
        store.migrate().await.unwrap();
        assert!(store.lead().await.unwrap());
        let cycle = store.begin_cycle("test", 1).await.unwrap();
        store
            .finish_cycle(&CycleFinish {
                cycle_id: cycle,
                finished_ms: 2,
                outcome: "ok".to_owned(),
                failed_stage: None,
                error: None,
                report: "{}".to_owned(),
                actions: ["kept", "reverted", "reverted-long-ago", "proposed"]
                    .iter()
                    .map(|c| version(c, &doc))
                    .collect(),
                stale: Vec::new(),
                fresh: Vec::new(),
            })
            .await
            .unwrap();
        let ids: std::collections::BTreeMap<String, i64> = store
            .latest_recommendations()
            .await
            .unwrap()
            .into_iter()
            .map(|r| (r.component, r.id))
            .collect();
        // Minutes: the period starts at 10,000.
        for (c, applied, rolled) in [
            ("kept", 10_100, None),
            ("reverted", 9_000, Some(10_200)),
            ("reverted-long-ago", 8_000, Some(8_100)),
        ] {
            let id = ids[c];
            move_to(
                &store,
                id,
                Lifecycle::Proposed,
                Lifecycle::Approved,
                applied * MINUTE_MS - 1,
                "go",
            )
            .await;
            move_to(
                &store,
                id,
                Lifecycle::Approved,
                Lifecycle::Applied,
                applied * MINUTE_MS,
                "run 1",
            )
            .await;
            if let Some(r) = rolled {
                move_to(
                    &store,
                    id,
                    Lifecycle::Applied,
                    Lifecycle::RolledBack,
                    r * MINUTE_MS,
                    "p99 doubled",
                )
                .await;
            }
        }
        let changes = applied_changes(&store, 10_000).await.unwrap();
        store.close().await;
        changes
    });
    let _ = std::fs::remove_dir_all(&dir);

    let names: Vec<&str> = changes.iter().map(|c| c.component.as_str()).collect();
    // Oldest first; a change reverted before the period and a proposal are not there.
    assert_eq!(names, ["reverted", "kept"], "{changes:#?}");
    let (reverted, kept) = (&changes[0], &changes[1]);
    assert_eq!(kept.applied_at_minute, 10_100);
    assert_eq!(
        (kept.rolled_back_at_minute, kept.rollback_reason.as_deref()),
        (None, None)
    );
    assert_eq!(reverted.applied_at_minute, 9_000);
    assert_eq!(reverted.rolled_back_at_minute, Some(10_200));
    assert_eq!(reverted.rollback_reason.as_deref(), Some("p99 doubled"));
    // Deployments and the prediction are the document's, as an --applied file has them.
    let before = serde_json::to_value(&kept.before).unwrap();
    let after = serde_json::to_value(&kept.after).unwrap();
    assert_eq!(
        before["memory_mb"],
        doc["current"]["deployment"]["memory_mb"]
    );
    assert_eq!(
        after["memory_mb"],
        doc["recommended"]["deployment"]["memory_mb"]
    );
    assert_eq!(
        after["provisioned"],
        doc["recommended"]["deployment"]["provisioned"]
    );
    assert_eq!(
        kept.predicted_saving_usd_per_month,
        doc["saving_usd_per_month"].as_f64().unwrap()
    );
}
