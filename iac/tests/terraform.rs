//! Terraform repositories under tests/iac, patched for the demo's recommendations.

mod common;

use adaptd_iac::{Options, plan, summary, unified_diff};

#[test]
fn explore() {
    let repo = common::repo("terraform-shop");
    let p = plan(&common::demo(), &repo, &Options::default()).unwrap();
    println!("{}", summary(&p));
    println!("{}", unified_diff(&p.patched().unwrap()));
}
