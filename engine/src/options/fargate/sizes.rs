//! The task sizes Fargate accepts (Linux): each vCPU size allows a memory range.

/// (vCPU, smallest MB, largest MB, step MB) for each Fargate CPU size.
pub const SIZES: [(f64, u32, u32, u32); 7] = [
    (0.25, 512, 2048, 512),
    (0.5, 1024, 4096, 1024),
    (1.0, 2048, 8192, 1024),
    (2.0, 4096, 16384, 1024),
    (4.0, 8192, 30720, 1024),
    (8.0, 16384, 61440, 4096),
    (16.0, 32768, 122880, 8192),
];

/// Whether `vcpu` with `memory_mb` is a valid Fargate size. (0.25 vCPU allows 512 MB,
/// 1 GB and 2 GB, which the 512 MB step covers.)
pub fn is_valid(vcpu: f64, memory_mb: u32) -> bool {
    SIZES.iter().any(|&(c, lo, hi, step)| {
        (c - vcpu).abs() < 1e-9
            && (lo..=hi).contains(&memory_mb)
            && (memory_mb - lo).is_multiple_of(step)
            && !(c == 0.25 && memory_mb == 1536)
    })
}

/// The smallest valid memory for `vcpu` that holds `need_mb`, if any.
pub fn smallest_memory(vcpu: f64, need_mb: f64) -> Option<u32> {
    let &(_, lo, hi, step) = SIZES.iter().find(|s| (s.0 - vcpu).abs() < 1e-9)?;
    let mut m = lo;
    while m <= hi {
        if f64::from(m) >= need_mb && is_valid(vcpu, m) {
            return Some(m);
        }
        m += step;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_sizes_follow_the_aws_table() {
        assert!(
            is_valid(0.25, 512)
                && is_valid(0.25, 2048)
                && !is_valid(0.25, 1536)
                && !is_valid(0.25, 4096)
        );
        assert!(is_valid(0.5, 1024) && is_valid(0.5, 4096) && !is_valid(0.5, 512));
        assert!(is_valid(4.0, 30720) && !is_valid(4.0, 31744));
        assert!(is_valid(8.0, 20480) && !is_valid(8.0, 17408));
        assert!(!is_valid(3.0, 8192));
        assert_eq!(smallest_memory(0.5, 1500.0), Some(2048));
        assert_eq!(smallest_memory(0.25, 3000.0), None);
    }
}
