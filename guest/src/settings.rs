//! Tunables handed in by the host as `key = value` text. Unknown keys are ignored so
//! hosts and guests can evolve apart; a malformed value falls back to the default and
//! is reported once through the log.

use crate::time::MILLIS;

/// What a find-tail that finds the tail loglet sealed on an open chain does
/// (`bifrost.find_tail`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FindTailKind {
    /// Restate's `Bifrost::find_tail`: it seals the chain, then looks again (R8).
    SealChain,
    /// The loglet's own find-tail, as Restate's loglet-level tests call it: the loglet's
    /// sealed tail, the chain left alone.
    Loglet,
}

/// What a find-tail or a read does when the cached chain ends with the seal marker
/// (`bifrost.sealed_chain`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SealedChain {
    /// Restate's: the marker answers (a node that has not heard of a newer chain answers
    /// from a stale one).
    Trust,
    /// Read the Logs from the metadata store first (Restate's `Metadata::sync`), and
    /// answer from what it brings.
    Sync,
}

/// How a client bounds a trim (`bifrost.trim_clamp`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrimClamp {
    /// Restate's: each loglet's trim is clamped to this node's known tail of that loglet
    /// minus one; a clamp to nothing sends nothing and succeeds (#5377 on a fresh client).
    KnownTail,
    /// The fix #5377 asks for: the trim finds the log's tail first (a log-level find-tail,
    /// which also brings a stale chain up to date) and clamps to it.
    FindTail,
}

/// When a loglet's trim is done (`bifrost.trim_ack`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrimAck {
    /// Restate's: at the first write quorum of log-servers that took it; the requests to
    /// the others are on their way (#3890: a reader may meet one that has not).
    WriteQuorum,
    /// Once every log-server of the nodeset took it, asking the silent ones again.
    All,
}

/// How a sequencer learns that its loglet was sealed behind its back
/// (`sequencer.seal_discovery`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SealDiscovery {
    /// Restate's: a store answered `sealed` only marks the loglet maybe sealed; the
    /// sequencer drains at its next forced seal check (its periodic tail check, a remote
    /// GetSequencerState that asks for one, or a local find-tail while maybe sealed).
    /// Appends meanwhile retry their waves (#4940).
    Lazy,
    /// The fix #4940 asks for: the first store answered `sealed` makes the sequencer seal
    /// the loglet itself at once, then drain.
    OnSealedReply,
}

/// The sealed tail a sequencer publishes once drained (`sequencer.publish`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Publish {
    /// Restate's `notify_seal`: its own known global tail, with no find-tail and no
    /// repair; a remote find-tail that repairs a record stored beyond it reports a higher
    /// sealed tail of the same loglet (#5054's precondition).
    OwnTail,
    /// Find the sealed tail on the log-servers and repair it to a write quorum first, as a
    /// remote find-tail would: every reader then reports the same sealed tail.
    Repaired,
}

/// Every tunable of the node, with Restate's defaults.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Period of the metadata update task's tick, before its jitter (up to +50%, drawn
    /// once per start). Restate hard-codes 100 ms.
    pub metadata_tick_interval: u64,
    /// A node reads the store after this long without an update or a store read (Restate's
    /// `metadata_update_interval`, jittered up to +30%, drawn again at every tick).
    pub metadata_update_interval: u64,
    /// A newer version observed this long ago and still not in from peers is read from the
    /// store (Restate's `metadata_fetch_from_peer_timeout`, jittered up to +30%, drawn
    /// again at every tick, so the fallback comes soon after the first 3 s).
    pub metadata_fetch_from_peer_timeout: u64,
    /// A metadata-store request with no answer this long is given up as a retryable failure
    /// (Restate's metadata client notices a dead connection within its keep-alive interval
    /// and timeout, 5 s each).
    pub metadata_store_request_timeout: u64,
    /// First retry delay of a failed metadata-store request.
    pub metadata_fetch_backoff_initial: u64,
    /// Cap of that retry delay (it grows x1.5).
    pub metadata_fetch_backoff_max: u64,
    /// Records in flight per sequencer before appends queue.
    pub max_inflight_records: u32,
    /// Timeout of one store wave before the sequencer backs off and retries.
    pub store_wave_timeout: u64,
    /// Timeout after which a stored request is dropped by the server.
    pub store_timeout: u64,
    /// Delay before resending a seal or info request that got no answer.
    pub rpc_retry: u64,
    /// False puts the log-server in read-only mode: every store gets `Disabled`.
    pub accepting_writes: bool,
    /// An `extend-chain-allowed` appender seals and extends the chain itself after holding
    /// this long (Restate's `auto_recovery_interval`, 15 s).
    pub auto_recovery_interval: u64,
    /// An appender holding for a new segment re-checks the chain after this long, doubling
    /// up to [`Settings::append_retry_max`] (Restate: 10 ms to 1 s).
    pub append_retry_min: u64,
    /// The longest pause between those checks.
    pub append_retry_max: u64,
    /// A read that found its tail loglet sealed and the chain open waits this long (plus
    /// up to 50%) for the chain to go on, then seals the chain itself (Restate's read
    /// stream: 5 s, hard-coded).
    pub seal_chain_grace: u64,
    /// A read stream that tried every node of the nodeset without getting the record at
    /// its read pointer tries again after this long (Restate hard-codes 2 s).
    pub read_retry: u64,
    /// A seal-and-extend whose seal found the loglet still open tries again after this
    /// long (Restate's `seal_retry_interval`, 2 s).
    pub seal_retry: u64,
    /// What a find-tail does on a sealed tail loglet of an open chain.
    pub find_tail: FindTailKind,
    /// What a find-tail or a read does at the chain's seal marker.
    pub sealed_chain: SealedChain,
    /// How a trim is bounded.
    pub trim_clamp: TrimClamp,
    /// When a loglet's trim is done.
    pub trim_ack: TrimAck,
    /// The period of the sequencer's tail check, a forced seal check (plus up to 50%;
    /// Restate's `sequencer_inactivity_timeout`, 15 s).
    pub sequencer_tail_check: u64,
    /// The period of the tail checker of a loglet this node uses without sequencing it (plus
    /// up to 50%; Restate hard-codes 2 s).
    pub remote_tail_check: u64,
    /// How a sequencer learns of a seal made behind its back.
    pub seal_discovery: SealDiscovery,
    /// What sealed tail a drained sequencer publishes.
    pub publish: Publish,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            metadata_tick_interval: 100 * MILLIS,
            metadata_update_interval: 10_000 * MILLIS,
            metadata_fetch_from_peer_timeout: 3_000 * MILLIS,
            metadata_store_request_timeout: 10_000 * MILLIS,
            metadata_fetch_backoff_initial: 100 * MILLIS,
            metadata_fetch_backoff_max: 1_000 * MILLIS,
            max_inflight_records: 1_000,
            store_wave_timeout: 250 * MILLIS,
            store_timeout: 2_000 * MILLIS,
            rpc_retry: 250 * MILLIS,
            accepting_writes: true,
            auto_recovery_interval: 15_000 * MILLIS,
            append_retry_min: 10 * MILLIS,
            append_retry_max: 1_000 * MILLIS,
            seal_chain_grace: 5_000 * MILLIS,
            read_retry: 2_000 * MILLIS,
            seal_retry: 2_000 * MILLIS,
            find_tail: FindTailKind::SealChain,
            sealed_chain: SealedChain::Trust,
            trim_clamp: TrimClamp::KnownTail,
            trim_ack: TrimAck::WriteQuorum,
            sequencer_tail_check: 15_000 * MILLIS,
            remote_tail_check: 2_000 * MILLIS,
            seal_discovery: SealDiscovery::Lazy,
            publish: Publish::OwnTail,
        }
    }
}

impl Settings {
    /// Applies the host's settings; returns one message per value it could not use.
    pub fn apply(&mut self, pairs: &[(String, String)]) -> Vec<String> {
        let mut problems = Vec::new();
        for (key, value) in pairs {
            let slot = match key.as_str() {
                "metadata.tick_interval_ms" => &mut self.metadata_tick_interval,
                "metadata.update_interval_ms" => &mut self.metadata_update_interval,
                "metadata.fetch_from_peer_timeout_ms" => &mut self.metadata_fetch_from_peer_timeout,
                "metadata.store_request_timeout_ms" => &mut self.metadata_store_request_timeout,
                "metadata.fetch_backoff_initial_ms" => &mut self.metadata_fetch_backoff_initial,
                "metadata.fetch_backoff_max_ms" => &mut self.metadata_fetch_backoff_max,
                "metadata.refresh_idle_ms" => {
                    problems.push(format!(
                        "setting {key} is now metadata.update_interval_ms (Restate's name); \
                         metadata.tick_interval_ms is the update task's tick"
                    ));
                    continue;
                }
                "sequencer.store_wave_timeout_ms" => &mut self.store_wave_timeout,
                "sequencer.store_timeout_ms" => &mut self.store_timeout,
                "sequencer.rpc_retry_ms" => &mut self.rpc_retry,
                "bifrost.auto_recovery_interval_ms" => &mut self.auto_recovery_interval,
                "bifrost.append_retry_min_ms" => &mut self.append_retry_min,
                "bifrost.append_retry_max_ms" => &mut self.append_retry_max,
                "bifrost.seal_chain_grace_ms" => &mut self.seal_chain_grace,
                "bifrost.read_retry_ms" => &mut self.read_retry,
                "bifrost.seal_retry_ms" => &mut self.seal_retry,
                "sequencer.inactivity_timeout_ms" => &mut self.sequencer_tail_check,
                "bifrost.remote_tail_check_ms" => &mut self.remote_tail_check,
                "log_server.accepting_writes" => {
                    match value.trim() {
                        "true" => self.accepting_writes = true,
                        "false" => self.accepting_writes = false,
                        _ => problems.push(format!("setting {key}: not true or false: {value:?}")),
                    }
                    continue;
                }
                "bifrost.find_tail" => {
                    let words = [
                        ("seal-chain", FindTailKind::SealChain),
                        ("loglet", FindTailKind::Loglet),
                    ];
                    choose(key, value, &words, &mut self.find_tail, &mut problems);
                    continue;
                }
                "bifrost.sealed_chain" => {
                    let words = [("trust", SealedChain::Trust), ("sync", SealedChain::Sync)];
                    choose(key, value, &words, &mut self.sealed_chain, &mut problems);
                    continue;
                }
                "bifrost.trim_clamp" => {
                    let words = [
                        ("known-tail", TrimClamp::KnownTail),
                        ("find-tail", TrimClamp::FindTail),
                    ];
                    choose(key, value, &words, &mut self.trim_clamp, &mut problems);
                    continue;
                }
                "bifrost.trim_ack" => {
                    let words = [
                        ("write-quorum", TrimAck::WriteQuorum),
                        ("all", TrimAck::All),
                    ];
                    choose(key, value, &words, &mut self.trim_ack, &mut problems);
                    continue;
                }
                "sequencer.seal_discovery" => {
                    let words = [
                        ("lazy", SealDiscovery::Lazy),
                        ("on-sealed-reply", SealDiscovery::OnSealedReply),
                    ];
                    choose(key, value, &words, &mut self.seal_discovery, &mut problems);
                    continue;
                }
                "sequencer.publish" => {
                    let words = [
                        ("own-tail", Publish::OwnTail),
                        ("repaired", Publish::Repaired),
                    ];
                    choose(key, value, &words, &mut self.publish, &mut problems);
                    continue;
                }
                "sequencer.max_inflight_records" => {
                    match value.trim().parse::<u32>() {
                        Ok(v) if v > 0 => self.max_inflight_records = v,
                        _ => problems
                            .push(format!("setting {key}: not a positive integer: {value:?}")),
                    }
                    continue;
                }
                _ => continue,
            };
            if key == "metadata.update_interval_ms"
                && value.trim().parse::<u64>().is_ok_and(|ms| ms < 1_000)
            {
                problems.push(format!(
                    "setting {key} = {value} ms: this is Restate's idle refresh (10 s by \
                     default), not the update task's tick (metadata.tick_interval_ms)"
                ));
            }
            match value.trim().parse::<u64>() {
                // A day at most: a period past that is a typo, and ms x MILLIS stays in range.
                Ok(ms) if ms > 0 && ms <= 86_400_000 => *slot = ms * MILLIS,
                _ => problems.push(format!(
                    "setting {key}: not a number of ms from 1 to 86400000: {value:?}"
                )),
            }
        }
        problems
    }
}

/// Sets `slot` to the choice `value` names among `words`, or reports the value.
fn choose<T: Copy>(
    key: &str,
    value: &str,
    words: &[(&str, T)],
    slot: &mut T,
    problems: &mut Vec<String>,
) {
    match words.iter().find(|(word, _)| *word == value.trim()) {
        Some((_, choice)) => *slot = *choice,
        None => {
            let names: Vec<&str> = words.iter().map(|(word, _)| *word).collect();
            problems.push(format!(
                "setting {key}: not {}: {value:?}",
                names.join(" or ")
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_keys_apply_and_bad_values_are_reported() {
        let mut s = Settings::default();
        let problems = s.apply(&[
            ("metadata.tick_interval_ms".into(), "20".into()),
            ("sequencer.max_inflight_records".into(), "x".into()),
            ("someone.else".into(), "1".into()),
        ]);
        assert_eq!(s.metadata_tick_interval, 20 * MILLIS);
        assert_eq!(s.max_inflight_records, 1_000);
        assert_eq!(problems.len(), 1);
    }

    #[test]
    fn a_choice_takes_one_of_its_words_and_reports_any_other() {
        let mut s = Settings::default();
        let problems = s.apply(&[
            ("bifrost.trim_ack".into(), " all ".into()),
            ("bifrost.trim_clamp".into(), "bogus".into()),
        ]);
        assert_eq!(s.trim_ack, TrimAck::All);
        assert_eq!(s.trim_clamp, TrimClamp::KnownTail);
        assert_eq!(
            problems,
            vec![r#"setting bifrost.trim_clamp: not known-tail or find-tail: "bogus""#]
        );
    }
}
