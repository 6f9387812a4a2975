//! Latency distributions: `"5ms"` (constant), `"1ms..5ms"` (uniform), `"exp:3ms"`
//! (exponential with that mean). Sampling uses only integer arithmetic and rand_distr's
//! table-driven exponential, so a seed gives the same delays on every machine.

use std::fmt;

use rand::Rng;
use rand_distr::{Distribution, Exp1};

use crate::seeds::SimRng;
use crate::time::{fmt_duration, parse_duration};

/// A distribution of delays, in nanoseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Latency {
    /// Always this long.
    Constant(u64),
    /// Uniform between the two, inclusive.
    Uniform(u64, u64),
    /// Exponential with this mean: mostly short, now and then long.
    Exponential {
        /// The mean.
        mean: u64,
    },
}

/// Why a latency did not parse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LatencyError(pub String);

impl std::error::Error for LatencyError {}

impl fmt::Display for LatencyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "malformed latency {:?}: expected \"5ms\" (constant), \"1ms..5ms\" (uniform) or \
             \"exp:3ms\" (exponential); units us, ms, s",
            self.0
        )
    }
}

impl Latency {
    /// Parses `"5ms"`, `"1ms..5ms"` or `"exp:3ms"`.
    pub fn parse(text: &str) -> Result<Latency, LatencyError> {
        let err = || LatencyError(text.to_string());
        let t = text.trim();
        if let Some(mean) = t.strip_prefix("exp:") {
            let mean = parse_duration(mean).ok_or_else(err)?;
            return Ok(Latency::Exponential { mean });
        }
        if let Some((lo, hi)) = t.split_once("..") {
            let lo = parse_duration(lo).ok_or_else(err)?;
            let hi = parse_duration(hi).ok_or_else(err)?;
            if lo > hi {
                return Err(err());
            }
            return Ok(Latency::Uniform(lo, hi));
        }
        parse_duration(t).map(Latency::Constant).ok_or_else(err)
    }

    /// Draws one delay, in nanoseconds.
    pub fn sample(&self, rng: &mut SimRng) -> u64 {
        match *self {
            Latency::Constant(ns) => ns,
            Latency::Uniform(lo, hi) => rng.random_range(lo..=hi),
            Latency::Exponential { mean } => {
                let x: f64 = Exp1.sample(rng);
                (x * mean as f64).round() as u64
            }
        }
    }

    /// The mean delay, in nanoseconds.
    pub fn mean(&self) -> u64 {
        match *self {
            Latency::Constant(ns) => ns,
            Latency::Uniform(lo, hi) => lo + (hi - lo) / 2,
            Latency::Exponential { mean } => mean,
        }
    }
}

/// Anything a latency can be given as: a [`Latency`], its text (`"5ms"`, `"1ms..3ms"`,
/// `"exp:2ms"`), or a `Duration` (constant).
pub trait IntoLatency {
    /// The latency, or why the text does not parse.
    fn into_latency(self) -> Result<Latency, LatencyError>;
}

impl IntoLatency for Latency {
    fn into_latency(self) -> Result<Latency, LatencyError> {
        Ok(self)
    }
}

impl IntoLatency for &str {
    fn into_latency(self) -> Result<Latency, LatencyError> {
        Latency::parse(self)
    }
}

impl IntoLatency for String {
    fn into_latency(self) -> Result<Latency, LatencyError> {
        Latency::parse(&self)
    }
}

impl IntoLatency for std::time::Duration {
    fn into_latency(self) -> Result<Latency, LatencyError> {
        Ok(Latency::Constant(crate::time::nanos(self)))
    }
}

impl fmt::Display for Latency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Latency::Constant(ns) => write!(f, "{}", fmt_duration(ns)),
            Latency::Uniform(lo, hi) => write!(f, "{}..{}", fmt_duration(lo), fmt_duration(hi)),
            Latency::Exponential { mean } => write!(f, "exp:{}", fmt_duration(mean)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::{MICROS, MILLIS};

    #[test]
    fn the_three_forms_parse() {
        assert_eq!(Latency::parse("5ms"), Ok(Latency::Constant(5 * MILLIS)));
        assert_eq!(
            Latency::parse("1ms..3ms"),
            Ok(Latency::Uniform(MILLIS, 3 * MILLIS))
        );
        assert_eq!(
            Latency::parse("exp:100us"),
            Ok(Latency::Exponential { mean: 100 * MICROS })
        );
        for bad in ["", "fast", "3ms..1ms", "exp:", "5 ms..", "1..2"] {
            assert!(Latency::parse(bad).is_err(), "{bad:?} should not parse");
        }
    }

    #[test]
    fn samples_stay_in_range_and_repeat_per_seed() {
        let uniform = Latency::Uniform(MILLIS, 3 * MILLIS);
        let mut a = crate::seeds::rng(1, "x");
        let mut b = crate::seeds::rng(1, "x");
        for _ in 0..1000 {
            let v = uniform.sample(&mut a);
            assert!((MILLIS..=3 * MILLIS).contains(&v));
            assert_eq!(v, uniform.sample(&mut b));
        }
        let exp = Latency::Exponential { mean: MILLIS };
        let n = 20_000;
        let total: u64 = (0..n).map(|_| exp.sample(&mut a)).sum();
        let mean = total / n;
        assert!(
            (MILLIS * 9 / 10..MILLIS * 11 / 10).contains(&mean),
            "{mean}"
        );
    }
}
