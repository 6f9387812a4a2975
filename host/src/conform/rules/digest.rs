//! The `digest.*` rules: the shape of a digest.

use super::answers::{ask_stored, ask_trimmed, from_after_to, stored_durably, want};
use super::requests::{digest, store_of};
use crate::bindings::logsandbox::node::log_server_protocol::{RecordStatus, StoreFlags};
use crate::bindings::{Reply, Status};
use crate::conform::rig::{Broken, PEER, Rig, SEQUENCER};

/// `digest.shape`: see [`RULES`](super::RULES).
pub(super) fn shape(rig: &mut Rig) -> Result<(), Broken> {
    stored_durably(rig, 1, 3)?;
    // With gt 5, records 5..6 follow a hole at 4.
    let after_hole = store_of(5, 2, 5, SEQUENCER, StoreFlags::empty());
    ask_stored(rig, SEQUENCER, after_hole, Status::Ok)?;
    ask_trimmed(rig, 1, Status::Ok)?;
    let (sent, reply) = rig.ask(PEER, digest(1, 8))?;
    let entries: Vec<(u32, u32, RecordStatus)> = match &reply {
        Reply::Digest(d) if d.header.status == Status::Ok => d
            .entries
            .iter()
            .map(|e| (e.from_offset, e.to_offset, e.status))
            .collect(),
        _ => Vec::new(),
    };
    let expected = vec![
        (1, 1, RecordStatus::Trimmed),
        (2, 3, RecordStatus::Exists),
        (5, 6, RecordStatus::Exists),
    ];
    want(
        &sent,
        &reply,
        entries == expected,
        "Digest Ok [1..1 trimmed, 2..3 exists, 5..6 exists]",
    )?;
    from_after_to(rig, digest(6, 2))
}
