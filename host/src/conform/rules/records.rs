//! The `get-records.*` rules: which records a read returns (the range, durable ones only)
//! and how a trimmed prefix reads.

use super::answers::{
    answer_records, ask_records, ask_trimmed, from_after_to, read_of, stored_durably,
};
use super::requests::{records, store};
use crate::bindings::Status;
use crate::bindings::logsandbox::node::log_server_protocol::RecordBody;
use crate::conform::rig::{Broken, PEER, Rig, SEQUENCER};

/// `get-records.range`: see [`RULES`](super::RULES).
pub(super) fn range(rig: &mut Rig) -> Result<(), Broken> {
    stored_durably(rig, 1, 5)?;
    let cases = [
        (
            records(2, 4, None),
            read_of(None, &[2, 3, 4]),
            5,
            "records 2, 3, 4, next offset 5",
        ),
        (
            records(4, 100, None),
            read_of(None, &[4, 5]),
            6,
            "records 4, 5, next offset 6",
        ),
        (
            records(0, 1, None),
            read_of(None, &[1]),
            2,
            "record 1 (offset 0 is not an offset), next 2",
        ),
        (
            records(1, 5, Some(1)),
            read_of(None, &[1]),
            2,
            "one record over the byte limit, next 2",
        ),
        (
            records(1, 5, Some(4)),
            read_of(None, &[1, 2]),
            3,
            "records 1, 2 within 4 bytes, next 3",
        ),
    ];
    for (request, expected, next, says) in cases {
        ask_records(
            rig,
            request,
            |r| r.header.status == Status::Ok && r.next_offset == next,
            &expected,
            &format!("Records Ok: {says}"),
        )?;
    }
    from_after_to(rig, records(4, 2, None))
}

/// `get-records.durable-only`: see [`RULES`](super::RULES).
pub(super) fn durable_only(rig: &mut Rig) -> Result<(), Broken> {
    stored_durably(rig, 1, 3)?;
    let in_flight = rig.send(SEQUENCER, store(4, 2))?;
    let read = rig.send(PEER, records(1, 10, None))?;
    answer_records(
        rig,
        &read,
        |r| r.next_offset == 4,
        &read_of(None, &[1, 2, 3]),
        "records 1..3 and next offset 4: 4..5 are not durable yet",
    )?;
    rig.sync(&in_flight.text)
}

/// `get-records.trim-gap`: see [`RULES`](super::RULES).
pub(super) fn trim_gap(rig: &mut Rig) -> Result<(), Broken> {
    stored_durably(rig, 1, 5)?;
    ask_trimmed(rig, 2, Status::Ok)?;
    ask_records(
        rig,
        records(1, 5, None),
        |r| {
            r.records
                .first()
                .is_some_and(|rec| rec.offset == 1 && rec.body == RecordBody::TrimGap(2))
                && r.next_offset == 6
        },
        &read_of(Some(2), &[3, 4, 5]),
        "a trim gap 1..2, then records 3, 4, 5, next 6",
    )
}
