//! The `get-records.*` rules: which records a read returns (the range, durable ones only)
//! and how a trimmed prefix reads.

use super::requests::{payload, record_offsets, records, store, stored_durably, trim, want};
use crate::bindings::logsandbox::node::log_server_protocol::RecordBody;
use crate::bindings::{Reply, Status};
use crate::conform::rig::{Broken, PEER, Rig, SEQUENCER};

/// `get-records.range`: see [`RULES`](super::RULES).
pub(super) fn range(rig: &mut Rig) -> Result<(), Broken> {
    stored_durably(rig, 1, 5)?;
    let data = |offsets: &[u32]| -> Vec<(u32, Option<Vec<u8>>)> {
        offsets.iter().map(|&o| (o, Some(payload(o)))).collect()
    };
    let cases = [
        (
            records(2, 4, None),
            data(&[2, 3, 4]),
            5,
            "records 2, 3, 4, next offset 5",
        ),
        (
            records(4, 100, None),
            data(&[4, 5]),
            6,
            "records 4, 5, next offset 6",
        ),
        (
            records(0, 1, None),
            data(&[1]),
            2,
            "record 1 (offset 0 is not an offset), next 2",
        ),
        (
            records(1, 5, Some(1)),
            data(&[1]),
            2,
            "one record over the byte limit, next 2",
        ),
        (
            records(1, 5, Some(4)),
            data(&[1, 2]),
            3,
            "records 1, 2 within 4 bytes, next 3",
        ),
    ];
    for (request, expected, next, says) in cases {
        let (sent, reply) = rig.ask(PEER, request)?;
        let ok = matches!(&reply, Reply::Records(r) if r.header.status == Status::Ok && r.next_offset == next)
            && record_offsets(&reply) == expected;
        want(&sent, &reply, ok, &format!("Records Ok: {says}"))?;
    }
    let (sent, reply) = rig.ask(PEER, records(4, 2, None))?;
    want(
        &sent,
        &reply,
        matches!(&reply, Reply::Records(r) if r.header.status == Status::Malformed),
        "Records Malformed: from > to",
    )
}

/// `get-records.durable-only`: see [`RULES`](super::RULES).
pub(super) fn durable_only(rig: &mut Rig) -> Result<(), Broken> {
    stored_durably(rig, 1, 3)?;
    let in_flight = rig.send(SEQUENCER, store(4, 2))?;
    let read = rig.send(PEER, records(1, 10, None))?;
    let reply = rig.reply(&read, PEER)?;
    let expected: Vec<_> = (1..=3).map(|o| (o, Some(payload(o)))).collect();
    let ok = matches!(&reply, Reply::Records(r) if r.next_offset == 4)
        && record_offsets(&reply) == expected;
    want(
        &read,
        &reply,
        ok,
        "records 1..3 and next offset 4: 4..5 are not durable yet",
    )?;
    rig.sync(&in_flight.text)
}

/// `get-records.trim-gap`: see [`RULES`](super::RULES).
pub(super) fn trim_gap(rig: &mut Rig) -> Result<(), Broken> {
    stored_durably(rig, 1, 5)?;
    let (sent, reply) = rig.ask(PEER, trim(2))?;
    want(
        &sent,
        &reply,
        matches!(reply, Reply::Trimmed(h) if h.status == Status::Ok),
        "Trimmed Ok",
    )?;
    let (sent, reply) = rig.ask(PEER, records(1, 5, None))?;
    let ok = matches!(&reply, Reply::Records(r)
        if r.records.first().is_some_and(|rec| rec.offset == 1 && rec.body == RecordBody::TrimGap(2))
            && r.next_offset == 6)
        && record_offsets(&reply)
            == vec![
                (2, None),
                (3, Some(payload(3))),
                (4, Some(payload(4))),
                (5, Some(payload(5))),
            ];
    want(
        &sent,
        &reply,
        ok,
        "a trim gap 1..2, then records 3, 4, 5, next 6",
    )
}
