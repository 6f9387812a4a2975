//! The `digest.*` rules: the shape of a digest.

use super::requests::{digest, store_of, stored, stored_durably, trimmed_status, want};
use crate::bindings::logsandbox::node::log_server_protocol::{RecordStatus, StoreFlags};
use crate::bindings::{Reply, Status};
use crate::conform::rig::{Broken, PEER, Rig, SEQUENCER};

/// `digest.shape`: see [`RULES`](super::RULES).
pub(super) fn shape(rig: &mut Rig) -> Result<(), Broken> {
    stored_durably(rig, 1, 3)?;
    // With gt 5, records 5..6 follow a hole at 4.
    let (sent, reply) = rig.ask(SEQUENCER, store_of(5, 2, 5, SEQUENCER, StoreFlags::empty()))?;
    stored(&sent, &reply, Status::Ok)?;
    trimmed_status(rig, 1, Status::Ok)?;
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
    let (sent, reply) = rig.ask(PEER, digest(6, 2))?;
    want(
        &sent,
        &reply,
        matches!(&reply, Reply::Digest(d) if d.header.status == Status::Malformed),
        "Digest Malformed: from > to",
    )
}
