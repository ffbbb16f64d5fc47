//! Schedules in a time zone written as code: every scheduled action carries the
//! recommendation's zone (`timezone` in Terraform, `Timezone` in CloudFormation), with
//! the hours as recommended (local), checked by HashiCorp's HCL parser and cfn-lint.

mod common;

use adaptd_engine::spec::{Deployment, Provisioned};
use adaptd_engine::zone::Zone;
use adaptd_iac::{Options, plan, summary};

/// The demo with every recommendation in `zone`.
fn demo_in(zone: &str) -> adaptd_iac::RecommendationSet {
    let mut set = common::demo();
    let zone: Zone = zone.parse().unwrap();
    for r in &mut set.components {
        r.timezone = zone;
    }
    set
}

fn hourly_of(set: &adaptd_iac::RecommendationSet, component: &str) -> [u32; 24] {
    let r = set
        .components
        .iter()
        .find(|r| r.component == component)
        .unwrap();
    let Deployment::Lambda(l) = &r.recommended.as_ref().unwrap().deployment else {
        panic!("not lambda")
    };
    assert!(matches!(l.provisioned, Provisioned::Hourly(_)));
    l.provisioned.hourly()
}

#[test]
fn terraform_actions_carry_the_zone_and_local_hours() {
    for zone in ["Europe/Berlin", "America/New_York"] {
        let set = demo_in(zone);
        let p = plan(&set, &common::repo("terraform-shop"), &Options::default()).unwrap();
        let file = p
            .generated
            .iter()
            .find(|g| g.path == "adaptd_thumbnail_worker.tf")
            .unwrap_or_else(|| panic!("{}", summary(&p)));
        assert!(
            file.text.contains(&format!("by hour of day ({zone})")),
            "{}",
            file.text
        );
        let json = &common::hcl2json(&[(file.path.clone(), file.text.clone())])[0].1;
        let actions = json["resource"]["aws_appautoscaling_scheduled_action"]
            .as_object()
            .unwrap();
        let hourly = hourly_of(&set, "thumbnail-worker");
        assert!(!actions.is_empty());
        for a in actions.values() {
            let a = &a[0];
            assert_eq!(a["timezone"], zone);
            let hour: usize = a["schedule"]
                .as_str()
                .unwrap()
                .split(' ')
                .nth(1)
                .unwrap()
                .parse()
                .unwrap();
            // The action at a local hour sets that local hour's recommended level.
            let level = a["scalable_target_action"][0]["min_capacity"]
                .as_u64()
                .unwrap();
            assert_eq!(level, u64::from(hourly[hour]), "{zone} hour {hour}");
            assert_ne!(hourly[hour], hourly[(hour + 23) % 24], "a step is a change");
        }
    }
}

#[test]
fn cloudformation_actions_carry_the_zone_and_pass_cfn_lint() {
    let zone = "Europe/Berlin";
    for (repo, file) in [("sam-shop", "template.yaml"), ("cfn-json", "template.json")] {
        let p = plan(&demo_in(zone), &common::repo(repo), &Options::default()).unwrap();
        let files: Vec<(String, String)> = p
            .patched()
            .unwrap()
            .into_iter()
            .filter(|(path, _)| path.ends_with(".yaml") || path.ends_with(".json"))
            .filter_map(|(path, c)| c.after.map(|a| (path, a)))
            .collect();
        common::cfn_lint(&files);
        let text = &files.iter().find(|(p, _)| p == file).unwrap().1;
        if file.ends_with(".json") {
            let doc: serde_json::Value = serde_json::from_str(text).unwrap();
            let actions = doc["Resources"]["ImageResizeProvisionedSchedule"]["Properties"]
                ["ScheduledActions"]
                .as_array()
                .unwrap();
            assert!(!actions.is_empty());
            assert!(actions.iter().all(|a| a["Timezone"] == zone), "{text}");
        } else {
            assert!(text.contains("Timezone: Europe/Berlin\n"), "{text}");
            assert!(!text.contains("Timezone: UTC"), "{text}");
            assert!(text.contains("by hour of day (Europe/Berlin)"), "{text}");
        }
    }
}
