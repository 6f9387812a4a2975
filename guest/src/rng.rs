//! The node's pseudo-random generator. Seeded by the host (from the run's seed), so every
//! jitter and shuffle the node makes replays exactly.

/// SplitMix64: tiny, fast, and good enough for jitter and shuffles.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator for `seed`: the same seed gives the same sequence.
    pub fn new(seed: u64) -> Self {
        Rng(seed ^ 0x9E37_79B9_7F4A_7C15)
    }

    /// The next 64 pseudo-random bits, from which the other draws are made.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A value in `[lo, hi]` (inclusive); `lo` when the range is empty.
    pub fn between(&mut self, lo: u64, hi: u64) -> u64 {
        if hi <= lo {
            return lo;
        }
        lo + self.next_u64() % (hi - lo + 1)
    }

    /// `base` scaled by a factor in `[1 - jitter, 1 + jitter]`, jitter in percent.
    pub fn jitter(&mut self, base: u64, percent: u64) -> u64 {
        let spread = base * percent / 100;
        self.between(base - spread, base + spread)
    }

    /// `base` lengthened by a random amount between 3 ms and `percent` of it, as Restate's
    /// `add_jitter`: jitter that only ever delays (just `base + 3 ms` when that fraction
    /// is not above 3 ms).
    pub fn add_jitter(&mut self, base: u64, percent: u64) -> u64 {
        const MIN_JITTER: u64 = 3 * crate::time::MILLIS;
        let max = base.saturating_mul(percent) / 100;
        if max <= MIN_JITTER {
            return base.saturating_add(MIN_JITTER);
        }
        base.saturating_add(self.between(MIN_JITTER, max - 1))
    }

    /// Puts `items` in a random order (Fisher-Yates), e.g. the nodes of a store wave.
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = (self.next_u64() % (i as u64 + 1)) as usize;
            items.swap(i, j);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_sequence_and_jitter_stays_in_bounds() {
        let (mut a, mut b) = (Rng::new(7), Rng::new(7));
        for _ in 0..100 {
            assert_eq!(a.next_u64(), b.next_u64());
        }
        let mut r = Rng::new(1);
        for _ in 0..1000 {
            let v = r.jitter(100, 50);
            assert!((50..=150).contains(&v), "{v}");
        }
        assert_ne!(Rng::new(1).next_u64(), Rng::new(2).next_u64());
    }
}
