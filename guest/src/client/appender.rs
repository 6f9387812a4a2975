//! Appenders that recover (Restate's `Appender`, R6): an append with a recovery strategy
//! that finds its segment sealed does not fail. It holds until the chain has a new, open
//! tail segment with a higher index, re-checking at each new Logs version and otherwise
//! after a backoff from `bifrost.append_retry_min_ms` to `bifrost.append_retry_max_ms`;
//! meanwhile, by its strategy, it waits (`wait`), seals and extends the chain itself after
//! `bifrost.auto_recovery_interval_ms` (`extend-chain-allowed`), or at once
//! (`extend-chain-preferred`).

use crate::bindings::logsandbox::node::client::{OpId, RecoveryStrategy};
use crate::bindings::logsandbox::node::types::{LogId, SegmentIndex, SimTime};

/// An append waiting for a new tail segment.
#[derive(Debug, Clone)]
pub(super) struct Holding {
    pub op: OpId,
    pub log: LogId,
    pub payload: Vec<u8>,
    pub strategy: RecoveryStrategy,
    /// The segment it found sealed: a tail with a higher index is the one to append to.
    pub sealed_index: SegmentIndex,
    /// When it began to hold: `extend-chain-allowed` extends once it held long enough.
    pub since: SimTime,
    /// The pause before the next check, doubling.
    pub backoff: u64,
    /// The timer of the next check (only the current one counts).
    pub timer: Option<u64>,
    /// It asked for the chain to be extended already (once per segment).
    pub extend_asked: bool,
}

impl Holding {
    /// Whether the appender seals and extends the chain itself now.
    pub fn should_extend(&self, now: SimTime, auto_recovery_interval: u64) -> bool {
        if self.extend_asked {
            return false;
        }
        match self.strategy {
            RecoveryStrategy::Wait => false,
            RecoveryStrategy::ExtendChainPreferred => true,
            RecoveryStrategy::ExtendChainAllowed => {
                now >= self.since.saturating_add(auto_recovery_interval)
            }
        }
    }

    /// The pause before the next check, and the one after it (doubled, capped).
    pub fn next_pause(&mut self, max: u64) -> u64 {
        let pause = self.backoff;
        self.backoff = self.backoff.saturating_mul(2).min(max);
        pause
    }
}

/// Its name, as Restate's `ErrorRecoveryStrategy` prints in the guest's words.
pub(super) fn strategy_name(strategy: RecoveryStrategy) -> &'static str {
    match strategy {
        RecoveryStrategy::Wait => "wait",
        RecoveryStrategy::ExtendChainAllowed => "extend-chain-allowed",
        RecoveryStrategy::ExtendChainPreferred => "extend-chain-preferred",
    }
}
