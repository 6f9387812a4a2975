//! How a log-server lays its durable state out in the node's ordered key space.
//!
//! Every key starts with a kind byte and the big-endian loglet id, so one loglet's keys
//! are contiguous and data records sort by offset:
//! - `d | loglet | offset` -> payload
//! - `s | loglet` -> pinned sequencer (u32 BE)
//! - `t | loglet` -> trim point (u32 BE)
//! - `g | loglet` -> last known global tail (u32 BE)
//! - `x | loglet` -> seal marker (empty value)
//! - `p | loglet` -> the sealed tail a sequencer published (u32 BE), on the sequencer's node

use crate::bindings::logsandbox::node::types::{LogletId, LogletOffset};

/// Kind of a data record's key; its layout is part of the host's contract.
pub const DATA: u8 = b'd';
/// Kind of the pinned sequencer's key.
pub const SEQUENCER: u8 = b's';
/// Kind of the trim point's key.
pub const TRIM: u8 = b't';
/// Kind of the last written global tail's key.
pub const GLOBAL_TAIL: u8 = b'g';
/// Kind of the seal marker's key.
pub const SEAL: u8 = b'x';
/// Kind of the key of the sealed tail a sequencer published, on the sequencer's node.
pub const PUBLISHED_SEAL: u8 = b'p';

/// The key of a per-loglet value of `kind`.
pub fn meta(kind: u8, loglet: LogletId) -> Vec<u8> {
    let mut k = Vec::with_capacity(9);
    k.push(kind);
    k.extend_from_slice(&loglet.to_be_bytes());
    k
}

/// The key of a data record.
pub fn data(loglet: LogletId, offset: LogletOffset) -> Vec<u8> {
    let mut k = meta(DATA, loglet);
    k.extend_from_slice(&offset.to_be_bytes());
    k
}

/// Decodes the loglet id of any key laid out by this module.
pub fn loglet_of(key: &[u8]) -> Option<LogletId> {
    Some(u64::from_be_bytes(key.get(1..9)?.try_into().ok()?))
}

/// Decodes the offset of a data key.
pub fn offset_of(key: &[u8]) -> Option<LogletOffset> {
    Some(u32::from_be_bytes(key.get(9..13)?.try_into().ok()?))
}

/// The first key after every key of `kind` (for scans).
pub fn kind_end(kind: u8) -> Vec<u8> {
    vec![kind + 1]
}

/// Encodes a stored number (sequencer, trim point, tail) as its value: u32 big-endian.
pub fn encode_u32(v: u32) -> Vec<u8> {
    v.to_be_bytes().to_vec()
}

/// Decodes a value written by [`encode_u32`]; None unless it is exactly four bytes.
pub fn decode_u32(v: &[u8]) -> Option<u32> {
    Some(u32::from_be_bytes(v.try_into().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_keys_sort_by_loglet_then_offset() {
        let a = data(1, 300);
        let b = data(1, 2_000);
        let c = data(2, 1);
        assert!(a < b && b < c);
        assert_eq!(loglet_of(&b), Some(1));
        assert_eq!(offset_of(&b), Some(2_000));
        assert!(meta(DATA, u64::MAX) < kind_end(DATA));
    }
}
