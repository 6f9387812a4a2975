//! The metadata store: a versioned key-value service, reached by request and response
//! messages that each pay `latency.metadata_store`.
//!
//! A put carries a precondition: `None` overwrites whatever is there with no version
//! check (how Restate's test wrote its `Logs`), `DoesNotExist`, or `MatchesVersion(v)`.
//! The store never compares content: two different values may carry the same version.

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

/// The version a value carries.
pub fn version_of(value: &MetadataValue) -> u32 {
    match value {
        MetadataValue::Logs(l) => l.version,
    }
}

/// The store's contents: one value per key.
#[derive(Debug, Default)]
pub struct MetadataStore {
    values: BTreeMap<String, MetadataValue>,
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
