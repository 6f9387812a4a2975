//! The `guest.*` settings the built-in guest reads, with Restate's defaults and the
//! values it takes. A scenario's value out of range is bad input (exit 2, naming the
//! key); a `guest.*` key not listed here passes through untouched, for a component of
//! one's own (the hostile test guest's, a Python log-server's...).

/// What values a guest setting takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GuestKind {
    /// A whole number of milliseconds in a range.
    Millis {
        /// The least.
        min: u64,
        /// The most.
        max: u64,
    },
    /// A whole number in a range.
    Count {
        /// The least.
        min: u64,
        /// The most.
        max: u64,
    },
    /// `true` or `false`.
    Bool,
    /// One of a few words.
    OneOf(&'static [&'static str]),
}

/// A setting of the built-in guest.
#[derive(Debug, Clone, Copy)]
pub struct GuestKey {
    /// Its name under `guest.`.
    pub name: &'static str,
    /// The values it takes.
    pub kind: GuestKind,
    /// Its default, as Restate has it where Restate has one.
    pub default: &'static str,
    /// What it sets.
    pub meaning: &'static str,
}

/// A day: a period past it is a typo.
const DAY_MS: u64 = 86_400_000;

const fn ms(
    name: &'static str,
    min: u64,
    default: &'static str,
    meaning: &'static str,
) -> GuestKey {
    GuestKey {
        name,
        kind: GuestKind::Millis { min, max: DAY_MS },
        default,
        meaning,
    }
}

/// Every setting the built-in guest reads.
pub const GUEST_KEYS: &[GuestKey] = &[
    ms(
        "metadata.tick_interval_ms",
        1,
        "100",
        "period of the metadata update task's tick",
    ),
    ms(
        "metadata.update_interval_ms",
        1,
        "10000",
        "a node reads the store after this long without an update",
    ),
    ms(
        "metadata.fetch_from_peer_timeout_ms",
        1,
        "3000",
        "a newer version not in from peers after this long is read from the store",
    ),
    ms(
        "metadata.store_request_timeout_ms",
        1,
        "10000",
        "a metadata-store request with no answer this long is retried",
    ),
    ms(
        "metadata.fetch_backoff_initial_ms",
        1,
        "100",
        "first retry delay of a failed metadata-store request",
    ),
    ms(
        "metadata.fetch_backoff_max_ms",
        1,
        "1000",
        "cap of that delay",
    ),
    ms(
        "sequencer.store_wave_timeout_ms",
        1,
        "250",
        "a store wave with no write quorum this long is retried",
    ),
    ms(
        "sequencer.store_timeout_ms",
        1,
        "2000",
        "a stored request older than this is dropped by the log-server",
    ),
    ms(
        "sequencer.rpc_retry_ms",
        1,
        "250",
        "a seal or info request with no answer is resent after this long",
    ),
    GuestKey {
        name: "sequencer.max_inflight_records",
        kind: GuestKind::Count {
            min: 1,
            max: u32::MAX as u64,
        },
        default: "1000",
        meaning: "records in flight per sequencer before appends queue",
    },
    ms(
        "sequencer.inactivity_timeout_ms",
        1,
        "15000",
        "period (+ up to 50%) of the sequencer's tail check, a forced seal check (Restate's sequencer_inactivity_timeout)",
    ),
    ms(
        "bifrost.remote_tail_check_ms",
        1,
        "2000",
        "period (+ up to 50%) of the tail check of a loglet a node uses without sequencing it (Restate hard-codes 2 s)",
    ),
    GuestKey {
        name: "sequencer.seal_discovery",
        kind: GuestKind::OneOf(&["lazy", "on-sealed-reply"]),
        default: "lazy",
        meaning: "lazy: a store answered sealed only marks the loglet maybe sealed; the sequencer drains at its next forced seal check (Restate, #4940); on-sealed-reply: it seals and drains at once",
    },
    GuestKey {
        name: "sequencer.publish",
        kind: GuestKind::OneOf(&["own-tail", "repaired"]),
        default: "own-tail",
        meaning: "own-tail: a drained sequencer publishes its known global tail, no repair (Restate's notify_seal); repaired: it finds and repairs the sealed tail on the log-servers first",
    },
    GuestKey {
        name: "log_server.accepting_writes",
        kind: GuestKind::Bool,
        default: "true",
        meaning: "false makes a log-server read-only",
    },
    ms(
        "bifrost.auto_recovery_interval_ms",
        1,
        "15000",
        "an extend-chain-allowed appender seals and extends the chain itself after holding this long",
    ),
    ms(
        "bifrost.append_retry_min_ms",
        1,
        "10",
        "an appender holding for a new segment re-checks the chain after this long, doubling",
    ),
    ms("bifrost.append_retry_max_ms", 1, "1000", "up to this long"),
    GuestKey {
        name: "bifrost.find_tail",
        kind: GuestKind::OneOf(&["seal-chain", "loglet"]),
        default: "seal-chain",
        meaning: "seal-chain: a find-tail that finds the tail loglet sealed on an open chain seals the chain and looks again (Restate's Bifrost::find_tail); loglet: the loglet's sealed tail stands, as Restate's loglet-level tests call it",
    },
    GuestKey {
        name: "bifrost.sealed_chain",
        kind: GuestKind::OneOf(&["trust", "sync"]),
        default: "trust",
        meaning: "trust: a find-tail or read that meets the chain's seal marker answers from it, stale or not (Restate); sync: the node reads the Logs from the store first",
    },
    GuestKey {
        name: "bifrost.trim_clamp",
        kind: GuestKind::OneOf(&["known-tail", "find-tail"]),
        default: "known-tail",
        meaning: "known-tail: a loglet's trim is clamped to this node's known tail of it, nothing sent when that leaves nothing (Restate, #5377); find-tail: the trim finds the log's tail first",
    },
    GuestKey {
        name: "bifrost.trim_ack",
        kind: GuestKind::OneOf(&["write-quorum", "all"]),
        default: "write-quorum",
        meaning: "write-quorum: a loglet's trim is sent each log-server up to three times and done at the first write quorum, the rest going on in the background (Restate, #3890); all: done once every log-server took it, asking until each did",
    },
    ms(
        "bifrost.seal_chain_grace_ms",
        1,
        "5000",
        "a read that finds its tail loglet sealed and the chain open waits this long (+ up to 50%), then seals the chain",
    ),
    ms(
        "bifrost.seal_retry_ms",
        1,
        "2000",
        "a seal-and-extend whose seal found the loglet still open tries again after this long (Restate's seal_retry_interval)",
    ),
    ms(
        "bifrost.read_retry_ms",
        1,
        "2000",
        "a read that asked every log-server of the nodeset in turn without getting its next record asks again after this long (Restate hard-codes 2 s)",
    ),
];

/// The setting named `name` (without `guest.`).
pub fn find(name: &str) -> Option<&'static GuestKey> {
    GUEST_KEYS.iter().find(|k| k.name == name)
}

/// Checks `value` for the setting `name` (without `guest.`): Ok for a setting the
/// built-in guest does not read; else why the value is out of its range.
pub fn check(name: &str, value: &str) -> Result<(), String> {
    let Some(key) = find(name) else {
        return Ok(());
    };
    let value = value.trim();
    match key.kind {
        GuestKind::Millis { min, max } | GuestKind::Count { min, max } => {
            let unit = if matches!(key.kind, GuestKind::Millis { .. }) {
                " ms"
            } else {
                ""
            };
            match value.parse::<u64>() {
                Ok(n) if (min..=max).contains(&n) => Ok(()),
                _ => Err(format!(
                    "{value:?} is not a whole number{unit} from {min} to {max}"
                )),
            }
        }
        GuestKind::Bool => match value {
            "true" | "false" => Ok(()),
            _ => Err(format!("{value:?} is not true or false")),
        },
        GuestKind::OneOf(words) => {
            if words.contains(&value) {
                Ok(())
            } else {
                Err(format!("{value:?} is not one of {}", words.join(", ")))
            }
        }
    }
}

/// Checks the settings that depend on each other: the appender's retry delays.
pub fn check_together(settings: &[(String, String)]) -> Result<(), (String, String)> {
    let ms = |name: &str, default: u64| {
        settings
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .and_then(|(_, v)| v.trim().parse::<u64>().ok())
            .unwrap_or(default)
    };
    let (min, max) = (
        ms("bifrost.append_retry_min_ms", 10),
        ms("bifrost.append_retry_max_ms", 1000),
    );
    if min > max {
        return Err((
            "bifrost.append_retry_min_ms".into(),
            format!("{min} ms is above bifrost.append_retry_max_ms ({max} ms)"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_known_setting_out_of_range_is_refused_and_an_unknown_one_passes() {
        assert!(check("metadata.tick_interval_ms", "20").is_ok());
        assert!(check("metadata.tick_interval_ms", "0").is_err());
        assert!(check("bifrost.auto_recovery_interval_ms", "-5").is_err());
        assert!(check("log_server.accepting_writes", "maybe").is_err());
        assert!(check("hostile.kind", "anything").is_ok());
        let set = |a: &str, b: &str| vec![(a.to_string(), b.to_string())];
        assert!(check_together(&set("bifrost.append_retry_min_ms", "5000")).is_err());
        assert!(check_together(&set("bifrost.append_retry_min_ms", "500")).is_ok());
    }
}
