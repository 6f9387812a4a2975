//! How virtual time relates to the wall clock: [`Pace`]. One definition for every driver
//! that paces a run for a person to watch (the async sandbox, the CLI's repl): what a
//! speed may be, how it is written, and how long a stretch of virtual time takes.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// How virtual time relates to the wall clock.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Pace {
    /// As fast as the machine goes (the default).
    Virtual,
    /// Paced by the wall clock: one virtual second takes `1 / speed` seconds, so a person
    /// can watch. Pacing never changes the trace.
    RealTime {
        /// Virtual seconds per wall second (1.0: real time; 10.0: ten times faster).
        speed: f64,
    },
}

impl Pace {
    /// The slowest speed a pace may have: a virtual millisecond a wall second.
    pub const MIN_SPEED: f64 = 1e-3;
    /// The fastest speed a pace may have.
    pub const MAX_SPEED: f64 = 1e9;

    /// Paced at `speed` virtual seconds per wall second, from [`Self::MIN_SPEED`] to
    /// [`Self::MAX_SPEED`].
    pub fn real_time(speed: f64) -> Result<Pace, PaceError> {
        if Self::in_range(speed) {
            Ok(Pace::RealTime { speed })
        } else {
            Err(PaceError(speed.to_string()))
        }
    }

    /// The wall time `elapsed` virtual time takes at this pace; `None` when it takes none
    /// (virtual time, or a speed outside the range [`Self::real_time`] checks).
    pub fn wall_time(&self, elapsed: Duration) -> Option<Duration> {
        match *self {
            Pace::Virtual => None,
            Pace::RealTime { speed } if Self::in_range(speed) => Some(
                Duration::try_from_secs_f64(elapsed.as_secs_f64() / speed).unwrap_or(Duration::MAX),
            ),
            Pace::RealTime { .. } => None,
        }
    }

    /// A speed [`Self::real_time`] takes (NaN and the infinities are in no range).
    fn in_range(speed: f64) -> bool {
        (Self::MIN_SPEED..=Self::MAX_SPEED).contains(&speed)
    }

    /// The speed, when paced.
    pub fn speed(&self) -> Option<f64> {
        match *self {
            Pace::Virtual => None,
            Pace::RealTime { speed } => Some(speed),
        }
    }
}

/// `virtual`, or a speed such as `1`, `10`, `10x` or `0.5`.
impl FromStr for Pace {
    type Err = PaceError;

    fn from_str(text: &str) -> Result<Pace, PaceError> {
        let text = text.trim();
        if text == "virtual" {
            return Ok(Pace::Virtual);
        }
        text.trim_end_matches('x')
            .parse::<f64>()
            .ok()
            .and_then(|speed| Pace::real_time(speed).ok())
            .ok_or_else(|| PaceError(text.to_string()))
    }
}

/// `virtual`, or the speed with an `x`: what [`Pace::from_str`] reads back.
impl fmt::Display for Pace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Pace::Virtual => f.write_str("virtual"),
            Pace::RealTime { speed } => write!(f, "{speed}x"),
        }
    }
}

/// A pace that is not one: the text given.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0:?} is not a speed from 0.001 to 1e9, such as 1, 10 or 0.5 (or `virtual`)")]
pub struct PaceError(pub String);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pace_reads_back_what_it_writes_and_refuses_what_is_no_speed() {
        for text in ["virtual", "1x", "10x", "0.5x", "0.001x"] {
            let pace: Pace = text.parse().unwrap();
            assert_eq!(pace.to_string(), text);
        }
        assert_eq!("10".parse(), Ok(Pace::RealTime { speed: 10.0 }));
        for bad in ["0", "-1", "1e10", "NaN", "inf", "fast", ""] {
            let err = bad.parse::<Pace>().unwrap_err();
            assert!(err.to_string().contains("is not a speed"), "{bad}: {err}");
        }
    }

    #[test]
    fn a_stretch_of_virtual_time_takes_its_share_of_wall_time() {
        let second = Duration::from_secs(1);
        assert_eq!(Pace::Virtual.wall_time(second), None);
        assert_eq!(
            Pace::real_time(10.0).unwrap().wall_time(second),
            Some(Duration::from_millis(100))
        );
        assert_eq!(
            Pace::real_time(0.5).unwrap().wall_time(second),
            Some(Duration::from_secs(2))
        );
        // Built by hand past the checks: no pacing rather than a panic or a hang.
        assert_eq!(Pace::RealTime { speed: 0.0 }.wall_time(second), None);
        assert_eq!(Pace::RealTime { speed: f64::NAN }.wall_time(second), None);
    }
}
