//! The task sizes Fargate accepts.

/// vCPU sizes Fargate accepts, with each one's memory range and step: (vCPU, smallest
/// MB, largest MB, step MB). 0.25 vCPU is the exception: 512, 1024 or 2048 MB only.
pub const FARGATE_SIZES: [(f64, u32, u32, u32); 7] = [
    (0.25, 512, 2048, 512),
    (0.5, 1024, 4096, 1024),
    (1.0, 2048, 8192, 1024),
    (2.0, 4096, 16384, 1024),
    (4.0, 8192, 30720, 1024),
    (8.0, 16384, 61440, 4096),
    (16.0, 32768, 122_880, 8192),
];

/// Memory sizes (MB) Fargate accepts with `vcpu`, or `None` if `vcpu` is not a size.
pub fn fargate_memory_options(vcpu: f64) -> Option<Vec<u32>> {
    let &(_, lo, hi, step) = FARGATE_SIZES.iter().find(|s| s.0 == vcpu)?;
    if vcpu == 0.25 {
        // 0.25 vCPU takes 512 MB, 1 GB or 2 GB only.
        return Some(vec![512, 1024, 2048]);
    }
    Some((lo..=hi).step_by(step as usize).collect())
}

/// Whether Fargate accepts `vcpu` with `memory_mb`.
pub fn is_valid_fargate_size(vcpu: f64, memory_mb: u32) -> bool {
    fargate_memory_options(vcpu).is_some_and(|m| m.contains(&memory_mb))
}

/// The smallest vCPU size that accepts `memory_mb`, if any.
pub fn smallest_fargate_vcpu_for(memory_mb: u32) -> Option<f64> {
    FARGATE_SIZES
        .iter()
        .map(|s| s.0)
        .find(|&v| is_valid_fargate_size(v, memory_mb))
}

/// Text describing the memory `vcpu` accepts ("1024–4096 MB in 1024 MB steps").
pub(crate) fn describe_memory_options(vcpu: f64) -> String {
    match FARGATE_SIZES.iter().find(|s| s.0 == vcpu) {
        Some(_) if vcpu == 0.25 => "512, 1024 or 2048 MB".to_owned(),
        Some(&(_, lo, hi, step)) => format!("{lo}–{hi} MB in {step} MB steps"),
        None => "none".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fargate_sizes_follow_the_aws_table() {
        assert!(is_valid_fargate_size(0.25, 512));
        assert!(!is_valid_fargate_size(0.25, 1536));
        assert!(is_valid_fargate_size(0.5, 3072));
        assert!(!is_valid_fargate_size(0.5, 512));
        assert!(is_valid_fargate_size(4.0, 30720));
        assert!(!is_valid_fargate_size(4.0, 31744));
        assert!(is_valid_fargate_size(8.0, 20480));
        assert!(!is_valid_fargate_size(8.0, 18432));
        assert!(is_valid_fargate_size(16.0, 122_880));
        assert!(!is_valid_fargate_size(16.0, 36864));
        assert!(!is_valid_fargate_size(3.0, 8192));
        assert_eq!(smallest_fargate_vcpu_for(2048), Some(0.25));
        assert_eq!(smallest_fargate_vcpu_for(3072), Some(0.5));
        assert_eq!(smallest_fargate_vcpu_for(100), None);
        assert_eq!(
            describe_memory_options(1.0),
            "2048–8192 MB in 1024 MB steps"
        );
    }
}
