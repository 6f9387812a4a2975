//! The metadata store: a versioned key-value service, reached by request and response
//! messages that each pay `latency.metadata_store`.
//!
//! A put carries a precondition: `None` overwrites whatever is there with no version
//! check (how Restate's test wrote its `Logs`), `DoesNotExist`, or `MatchesVersion(v)`.
//! The store never compares content: two different values may carry the same version.
//!
//! As Restate's, the store is a service with a leader, and it fails as one ([`Outage`]):
//! unavailable for a while (requests fail retryable, or hang until it recovers), paused
//! by a leader election, or refusing requests terminally. Reads and writes take their
//! own service time. The test harness writes through a [`Proxy`], and retries a put that
//! failed retryable ([`HarnessPuts`]), as Restate's test does.

use std::collections::BTreeMap;

use crate::bindings::{MetadataValue, Precondition, StoreError, StoreResponse};

/// A request as it reaches the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreRequest {
    /// Read a key.
    Get {
        /// The key, `bifrost_config` for the Logs.
        key: String,
    },
    /// Write a key under a precondition.
    Put {
        /// The key.
        key: String,
        /// The new value.
        value: MetadataValue,
        /// When the write may happen.
        precondition: Precondition,
    },
}

/// The most requests that wait for the store to recover (a hang or an election): past it,
/// a request fails retryable at once, so a guest that floods a hung store cannot grow the
/// host.
pub const MAX_PARKED: usize = 65_536;

/// How the metadata store fails while an outage lasts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outage {
    /// No leader (a partition, a crashed leader): every request fails at once with a
    /// retryable `unavailable` error.
    Unavailable,
    /// Requests hang: they are served when the store recovers, each after its service
    /// time, starting in the order they came.
    Hang,
    /// A leader election: the store pauses. A request in service when it starts fails
    /// retryable (its leader is gone); later ones wait and are served once it is over.
    Election,
    /// The store refuses every request with a terminal error.
    Terminal,
}

impl Outage {
    const ACTIONS: [(Outage, &'static str); 4] = [
        (Outage::Unavailable, "store-unavailable"),
        (Outage::Hang, "store-hang"),
        (Outage::Election, "store-election"),
        (Outage::Terminal, "store-terminal"),
    ];

    /// The scenario's name for it: `store-unavailable`, `store-hang`, ...
    pub fn action(self) -> &'static str {
        Outage::ACTIONS
            .iter()
            .find(|(o, _)| *o == self)
            .map_or("", |(_, a)| a)
    }

    /// The outage a scenario's action names.
    pub fn from_action(action: &str) -> Option<Outage> {
        Outage::ACTIONS
            .iter()
            .find(|(_, a)| *a == action)
            .map(|(o, _)| *o)
    }

    /// The error a request meets when the store fails it at once, if it does (a hang or
    /// an election makes it wait instead).
    pub fn error(self) -> Option<StoreError> {
        match self {
            Outage::Unavailable => Some(StoreError::Unavailable(
                "the metadata store has no leader".into(),
            )),
            Outage::Terminal => Some(StoreError::Terminal(
                "the metadata store refuses requests".into(),
            )),
            Outage::Hang | Outage::Election => None,
        }
    }
}

impl std::fmt::Display for Outage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Outage::Unavailable => "unavailable (requests fail retryable)",
            Outage::Hang => "unavailable (requests hang)",
            Outage::Election => "in a leader election (requests wait)",
            Outage::Terminal => "refusing requests (terminal)",
        })
    }
}

/// The key the Logs live under, as in Restate's metadata store.
pub const LOGS_KEY: &str = "bifrost_config";

/// How the path the harness writes through treats the store's errors: Restate's tests
/// reach the metadata store through a node's metadata proxy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Proxy {
    /// No proxy: the harness sees the store's own errors.
    #[default]
    Direct,
    /// Restate's bug #4523: the proxy turned every error but a failed precondition into
    /// an internal status, which its client took as terminal; a put during a leader
    /// change was never retried.
    RetryableAsTerminal,
    /// The fix (Restate's `e9829cd64`): a retryable error stays retryable across the proxy.
    Faithful,
}

impl Proxy {
    /// Parses `direct`, `retryable-as-terminal` or `faithful`.
    pub fn parse(text: &str) -> Option<Proxy> {
        match text {
            "direct" => Some(Proxy::Direct),
            "retryable-as-terminal" => Some(Proxy::RetryableAsTerminal),
            "faithful" => Some(Proxy::Faithful),
            _ => None,
        }
    }

    /// Its name in a scenario file: the text [`Proxy::parse`] reads.
    pub fn name(self) -> &'static str {
        match self {
            Proxy::Direct => "direct",
            Proxy::RetryableAsTerminal => "retryable-as-terminal",
            Proxy::Faithful => "faithful",
        }
    }

    /// What the harness sees of the store's answer.
    pub fn map(self, response: StoreResponse) -> StoreResponse {
        match (self, response) {
            (Proxy::RetryableAsTerminal, StoreResponse::Failed(StoreError::Unavailable(why))) => {
                StoreResponse::Failed(StoreError::Terminal(format!("internal: {why}")))
            }
            (_, response) => response,
        }
    }
}

/// How the harness retries its puts: as Restate's test, a put that fails retryable is
/// tried again every 500 ms, 20 tries in all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HarnessPuts {
    /// Tries in all (1: no retry).
    pub tries: u32,
    /// Between two tries, in nanoseconds.
    pub interval: u64,
}

impl Default for HarnessPuts {
    fn default() -> Self {
        HarnessPuts {
            tries: 20,
            interval: 500 * crate::time::MILLIS,
        }
    }
}

/// The forms a precondition is written in.
pub(crate) const PRECONDITION_FORMS: &str =
    "expected \"none\", \"does-not-exist\" or \"matches-version:N\"";

/// Parses `none`, `does-not-exist` or `matches-version:N`.
pub(crate) fn parse_precondition(text: &str) -> Option<Precondition> {
    match text.trim() {
        "none" => Some(Precondition::None),
        "does-not-exist" => Some(Precondition::DoesNotExist),
        other => other
            .strip_prefix("matches-version:")
            .and_then(|v| v.trim().parse().ok())
            .map(Precondition::MatchesVersion),
    }
}

/// A precondition as a scenario writes it: `none`, `does-not-exist`, `matches-version:N`.
pub(crate) fn describe_precondition(precondition: &Precondition) -> String {
    match precondition {
        Precondition::None => "none".into(),
        Precondition::DoesNotExist => "does-not-exist".into(),
        Precondition::MatchesVersion(v) => format!("matches-version:{v}"),
    }
}

/// What a store error is, in a message.
pub(crate) fn describe_error(error: &StoreError) -> String {
    match error {
        StoreError::FailedPrecondition(v) => format!("failed precondition (stored version {v})"),
        StoreError::Unavailable(why) => format!("unavailable (retryable): {why}"),
        StoreError::Terminal(why) => format!("terminal: {why}"),
    }
}

/// The version a value carries.
pub(crate) fn version_of(value: &MetadataValue) -> u32 {
    match value {
        MetadataValue::Logs(l) => l.version,
    }
}

/// The store's contents: one value per key.
#[derive(Debug, Default)]
pub(crate) struct MetadataStore {
    values: BTreeMap<String, MetadataValue>,
    /// Every accepted put of the Logs judged against the value it replaced.
    pub chain_audit: crate::check::chain::ChainAudit,
    /// Roughly what the values and keys hold, against [`MAX_STORE_BYTES`].
    bytes: usize,
}

/// The most the store holds, keys and values together: guests choose keys and values, and
/// a guest that puts under ever new keys would otherwise grow the host without bound. A put
/// past it fails as `unavailable`, naming the limit.
pub const MAX_STORE_BYTES: usize = 64 << 20;

fn entry_bytes(key: &str, value: &MetadataValue) -> usize {
    key.len() + crate::runtime::effects::value_bytes(value)
}

impl MetadataStore {
    /// The value stored under `key`.
    pub fn get(&self, key: &str) -> Option<&MetadataValue> {
        self.values.get(key)
    }

    /// Applies one request and returns the response the requester gets.
    pub fn apply(&mut self, request: StoreRequest) -> StoreResponse {
        match request {
            StoreRequest::Get { key } => StoreResponse::Value(self.values.get(&key).cloned()),
            StoreRequest::Put {
                key,
                value,
                precondition,
            } => {
                let current = self.values.get(&key).map(version_of);
                let ok = match precondition {
                    Precondition::None => true,
                    Precondition::DoesNotExist => current.is_none(),
                    Precondition::MatchesVersion(v) => current == Some(v),
                };
                if !ok {
                    return StoreResponse::Failed(StoreError::FailedPrecondition(
                        current.unwrap_or(0),
                    ));
                }
                let freed = self
                    .values
                    .get(&key)
                    .map_or(0, |old| entry_bytes(&key, old));
                let bytes = (self.bytes - freed).saturating_add(entry_bytes(&key, &value));
                if bytes > MAX_STORE_BYTES {
                    return StoreResponse::Failed(StoreError::Unavailable(format!(
                        "the metadata store is full: this put would make it hold {} MiB, more than {} MiB",
                        bytes >> 20,
                        MAX_STORE_BYTES >> 20
                    )));
                }
                self.bytes = bytes;
                if key == LOGS_KEY {
                    self.chain_audit.accepted(self.values.get(&key), &value);
                }
                self.values.insert(key, value);
                StoreResponse::PutDone
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bindings::Logs;

    fn logs(version: u32) -> MetadataValue {
        MetadataValue::Logs(Logs {
            version,
            chains: vec![],
        })
    }

    fn put(value: MetadataValue, precondition: Precondition) -> StoreRequest {
        StoreRequest::Put {
            key: "k".into(),
            value,
            precondition,
        }
    }

    #[test]
    fn preconditions_hold_and_none_overwrites_blindly() {
        let mut s = MetadataStore::default();
        assert!(matches!(
            s.apply(put(logs(1), Precondition::DoesNotExist)),
            StoreResponse::PutDone
        ));
        assert!(matches!(
            s.apply(put(logs(1), Precondition::DoesNotExist)),
            StoreResponse::Failed(StoreError::FailedPrecondition(1))
        ));
        assert!(matches!(
            s.apply(put(logs(2), Precondition::MatchesVersion(7))),
            StoreResponse::Failed(StoreError::FailedPrecondition(1))
        ));
        assert!(matches!(
            s.apply(put(logs(2), Precondition::MatchesVersion(1))),
            StoreResponse::PutDone
        ));
        // None: no version check at all, even going backwards.
        assert!(matches!(
            s.apply(put(logs(1), Precondition::None)),
            StoreResponse::PutDone
        ));
        assert_eq!(s.get("k").map(version_of), Some(1));
        assert!(matches!(
            s.apply(StoreRequest::Get {
                key: "other".into()
            }),
            StoreResponse::Value(None)
        ));
    }

    #[test]
    fn puts_under_ever_new_keys_stop_at_the_store_limit() {
        let mut s = MetadataStore::default();
        let key = "k".repeat(1 << 20);
        let mut done = 0;
        for i in 0..100 {
            let request = StoreRequest::Put {
                key: format!("{key}{i}"),
                value: logs(1),
                precondition: Precondition::None,
            };
            match s.apply(request) {
                StoreResponse::PutDone => done += 1,
                StoreResponse::Failed(StoreError::Unavailable(why)) => {
                    assert!(why.contains("full"), "{why}");
                    break;
                }
                other => panic!("{other:?}"),
            }
        }
        assert!((60..=64).contains(&done), "{done} puts of 1 MiB");
        // Overwriting a key in place still works.
        assert!(matches!(
            s.apply(put(logs(2), Precondition::None)),
            StoreResponse::PutDone
        ));
    }
}
