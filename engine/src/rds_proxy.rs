//! RDS Proxy: the companion that pools database connections for Lambda functions.
//!
//! Each Lambda execution environment holds its own connection, so a burst of
//! concurrency becomes a burst of connections; a proxy multiplexes them onto a bounded
//! pool. It is billed per vCPU-hour of the target instance (minimum two vCPUs).

use crate::prices::PriceSheet;
use crate::spec::DatabaseSpec;

/// Monthly cost of a proxy in front of `db`.
pub fn usd_per_month(db: &DatabaseSpec, prices: &PriceSheet) -> f64 {
    let vcpus = db.vcpus.max(prices.rds_proxy.minimum_vcpus);
    f64::from(vcpus) * prices.rds_proxy.usd_per_vcpu_hour * prices.hours_per_month
}

/// Connections components may open directly (without a proxy).
pub fn usable_connections(db: &DatabaseSpec) -> f64 {
    f64::from(db.max_connections.saturating_sub(db.reserved_connections))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proxy_is_billed_per_vcpu_hour_with_a_two_vcpu_minimum() {
        let p = PriceSheet::us_east_1();
        let db = |vcpus| DatabaseSpec {
            name: "db".into(),
            max_connections: 100,
            vcpus,
            has_proxy: false,
            reserved_connections: 10,
        };
        // 2 vCPU × $0.015 × 730 h = $21.90.
        assert!((usd_per_month(&db(2), &p) - 21.90).abs() < 1e-9);
        assert!((usd_per_month(&db(1), &p) - 21.90).abs() < 1e-9);
        // 8 vCPU: $87.60.
        assert!((usd_per_month(&db(8), &p) - 87.60).abs() < 1e-9);
        assert_eq!(usable_connections(&db(2)), 90.0);
    }
}
