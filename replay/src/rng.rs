//! The replay's own pseudo-random numbers: SplitMix64 to derive seeds, xoshiro256++ to
//! draw.
//!
//! Both are a dozen lines and fully specified by their authors (Vigna, Blackman), so a
//! replay's arrivals never change with a dependency's version, and anyone can
//! re-implement them from `docs/replay.md` and get the same instants bit for bit.
//!
//! Every minute of a workload has its own stream, derived from the seed and the
//! minute. Draws therefore never depend on what the policy did before, which makes two
//! replays of one workload under different policies see exactly the same invocations
//! (common random numbers: differences between policies are never sampling noise), and
//! lets the oracle re-simulate a few hours without replaying the ones before.

/// SplitMix64: one 64-bit state, used to spread a seed over xoshiro's 256 bits.
#[derive(Debug, Clone)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    /// A generator starting at `seed`.
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// The next 64 bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

/// xoshiro256++ (Blackman & Vigna, 2019).
#[derive(Debug, Clone)]
pub struct Xoshiro256pp([u64; 4]);

impl Xoshiro256pp {
    /// Seeds the state with four SplitMix64 outputs, as the authors recommend.
    pub fn from_seed(seed: u64) -> Self {
        let mut sm = SplitMix64::new(seed);
        Self([sm.next_u64(), sm.next_u64(), sm.next_u64(), sm.next_u64()])
    }

    /// The stream of one minute: seed and minute mixed through SplitMix64 so that
    /// neighbouring minutes (and seeds) get unrelated streams.
    pub fn for_minute(seed: u64, minute: i64) -> Self {
        let mut sm = SplitMix64::new(seed);
        let a = sm.next_u64();
        let mut sm = SplitMix64::new(a ^ (minute as u64).wrapping_mul(0xD605_BBB5_8C8A_BBD5));
        Self::from_seed(sm.next_u64())
    }

    /// The next 64 bits.
    pub fn next_u64(&mut self) -> u64 {
        let s = &mut self.0;
        let result = s[0].wrapping_add(s[3]).rotate_left(23).wrapping_add(s[0]);
        let t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(45);
        result
    }

    /// A uniform draw in `[0, 1)` with 53 random bits.
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitmix_matches_the_reference_sequence() {
        // Reference values of SplitMix64 seeded with 1234567 (from the C reference).
        let mut sm = SplitMix64::new(1_234_567);
        assert_eq!(sm.next_u64(), 6_457_827_717_110_365_317);
        assert_eq!(sm.next_u64(), 3_203_168_211_198_807_973);
        assert_eq!(sm.next_u64(), 9_817_491_932_198_370_423);
    }

    #[test]
    fn xoshiro_matches_the_reference_step() {
        // State {1, 2, 3, 4}: the C reference's first outputs.
        let mut x = Xoshiro256pp([1, 2, 3, 4]);
        assert_eq!(x.next_u64(), 41_943_041);
        assert_eq!(x.next_u64(), 58_720_359);
        assert_eq!(x.next_u64(), 3_588_806_011_781_223);
    }

    #[test]
    fn minute_streams_are_distinct_and_uniform() {
        let a: Vec<u64> = {
            let mut r = Xoshiro256pp::for_minute(7, 100);
            (0..4).map(|_| r.next_u64()).collect()
        };
        let b: Vec<u64> = {
            let mut r = Xoshiro256pp::for_minute(7, 101);
            (0..4).map(|_| r.next_u64()).collect()
        };
        let c: Vec<u64> = {
            let mut r = Xoshiro256pp::for_minute(8, 100);
            (0..4).map(|_| r.next_u64()).collect()
        };
        assert_ne!(a, b);
        assert_ne!(a, c);
        let mut r = Xoshiro256pp::for_minute(1, 0);
        let n = 200_000;
        let mean = (0..n).map(|_| r.next_f64()).sum::<f64>() / f64::from(n);
        assert!((mean - 0.5).abs() < 0.005, "{mean}");
    }
}
