//! Virtual time: [`SimTime`] is nanoseconds since the run started. Never an `Instant`,
//! so traces hash the same on every machine.
//!
//! Durations in the public API are `std::time::Duration`s; [`ms`], [`us`] and [`secs`]
//! write them briefly. Inside the simulator a duration is a plain `u64` of nanoseconds.

use std::fmt;
use std::ops::Add;
use std::time::Duration;

/// An instant of virtual time: nanoseconds since the run started.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct SimTime(pub u64);

/// Nanoseconds in a microsecond.
pub const MICROS: u64 = 1_000;
/// Nanoseconds in a millisecond.
pub const MILLIS: u64 = 1_000_000;
/// Nanoseconds in a second.
pub const SECONDS: u64 = 1_000_000_000;

/// `n` milliseconds, as a `Duration`.
pub const fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// `n` microseconds, as a `Duration`.
pub const fn us(n: u64) -> Duration {
    Duration::from_micros(n)
}

/// `n` seconds, as a `Duration`.
pub const fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

/// A `Duration` in nanoseconds, saturating at `u64::MAX` (about 584 years).
pub fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

impl SimTime {
    /// The start of the run.
    pub const ZERO: SimTime = SimTime(0);

    /// `n` milliseconds after the start of the run.
    pub const fn from_millis(n: u64) -> SimTime {
        SimTime(n.saturating_mul(MILLIS))
    }

    /// Nanoseconds since the start of the run.
    pub fn as_nanos(self) -> u64 {
        self.0
    }

    /// Milliseconds since the start of the run, with a fraction.
    pub fn as_millis_f64(self) -> f64 {
        self.0 as f64 / MILLIS as f64
    }

    /// `nanos` later, saturating at the end of time.
    pub fn plus(self, nanos: u64) -> SimTime {
        SimTime(self.0.saturating_add(nanos))
    }

    /// The time from `earlier` to `self` (zero if `earlier` is later).
    pub fn since(self, earlier: SimTime) -> Duration {
        Duration::from_nanos(self.0.saturating_sub(earlier.0))
    }
}

impl Add<Duration> for SimTime {
    type Output = SimTime;
    fn add(self, d: Duration) -> SimTime {
        self.plus(nanos(d))
    }
}

impl fmt::Display for SimTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&fmt_duration(self.0))
    }
}

/// `1.5ms`, `2s`, `15.741s`, `250us`: at most three decimals, no trailing zeros.
pub fn fmt_duration(ns: u64) -> String {
    let (value, unit) = if ns >= SECONDS {
        (ns as f64 / SECONDS as f64, "s")
    } else if ns >= MILLIS {
        (ns as f64 / MILLIS as f64, "ms")
    } else if ns >= MICROS {
        (ns as f64 / MICROS as f64, "us")
    } else {
        return format!("{ns}ns");
    };
    let text = format!("{value:.3}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    format!("{text}{unit}")
}

/// Parses `250us`, `5ms`, `1.5s` (or a bare `0`) into nanoseconds.
pub fn parse_duration(text: &str) -> Option<u64> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let scale = match unit.trim() {
        "ns" => 1,
        "us" | "µs" => MICROS,
        "ms" => MILLIS,
        "s" => SECONDS,
        "" if number == "0" => 1,
        _ => return None,
    };
    if number.is_empty() {
        return None;
    }
    if let Ok(whole) = number.parse::<u64>() {
        return whole.checked_mul(scale);
    }
    let value: f64 = number.parse().ok()?;
    let nanos = value * scale as f64;
    (nanos.is_finite() && nanos >= 0.0 && nanos < u64::MAX as f64).then(|| nanos.round() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_with_units() {
        assert_eq!(parse_duration("250us"), Some(250 * MICROS));
        assert_eq!(parse_duration("5ms"), Some(5 * MILLIS));
        assert_eq!(parse_duration("1.5s"), Some(1_500 * MILLIS));
        assert_eq!(parse_duration("0"), Some(0));
        assert_eq!(parse_duration("5"), None);
        assert_eq!(parse_duration("ms"), None);
        assert_eq!(parse_duration("5 parsecs"), None);
        assert_eq!(fmt_duration(1_500 * MILLIS), "1.5s");
        assert_eq!(fmt_duration(3 * MILLIS), "3ms");
        assert_eq!(fmt_duration(15_741 * MILLIS), "15.741s");
        assert_eq!(fmt_duration(250 * MICROS), "250us");
    }

    #[test]
    fn instants_add_durations_and_saturate() {
        assert_eq!(SimTime::ZERO + ms(3), SimTime(3 * MILLIS));
        assert_eq!(SimTime(u64::MAX - 1) + secs(5), SimTime(u64::MAX));
        assert_eq!(
            SimTime::from_millis(5).since(SimTime::from_millis(2)),
            ms(3)
        );
        assert_eq!(
            SimTime::from_millis(2).since(SimTime::from_millis(5)),
            ms(0)
        );
    }
}
