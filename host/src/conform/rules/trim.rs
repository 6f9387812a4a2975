//! The `trim.*` rules: a trim's bounds and clipping, what it shows at once, what it
//! changes once durable, and that it never lowers the trim point.

use super::requests::{
    digest, loglet_info, payload, record_offsets, records, stored_durably, trim, trim_point_is,
    trimmed_status, unanswered, wait, want,
};
use crate::bindings::logsandbox::node::log_server_protocol::{RecordStatus, TailQuery};
use crate::bindings::{Reply, Status};
use crate::conform::rig::{Broken, PEER, Rig};

/// `trim.bounds`: see [`RULES`](super::RULES).
pub(super) fn bounds(rig: &mut Rig) -> Result<(), Broken> {
    stored_durably(rig, 1, 3)?;
    trimmed_status(rig, 0, Status::Malformed)?;
    trimmed_status(rig, 4, Status::Malformed)?;
    trimmed_status(rig, 9, Status::Malformed)?;
    trim_point_is(rig, 0, "a malformed trim changes nothing")?;
    let sent = rig.send(PEER, trim(2))?;
    unanswered(rig, &sent, "no answer before the trim is durable")?;
    rig.sync(&sent.text)?;
    let reply = rig.reply(&sent, PEER)?;
    want(
        &sent,
        &reply,
        matches!(reply, Reply::Trimmed(h) if h.status == Status::Ok && h.known_global_tail >= 3),
        "Trimmed Ok, with the global tail raised to at least trim point + 1",
    )?;
    trim_point_is(rig, 2, "the trim was answered Ok").map(drop)
}

/// `trim.clipped`: see [`RULES`](super::RULES).
pub(super) fn clipped(rig: &mut Rig) -> Result<(), Broken> {
    stored_durably(rig, 1, 3)?;
    loglet_info(rig, 10)?;
    trimmed_status(rig, 8, Status::Ok)?;
    trim_point_is(rig, 3, "a trim is clipped to local tail - 1").map(drop)
}

/// `trim.reads-gap-at-once`: see [`RULES`](super::RULES).
pub(super) fn reads_gap_at_once(rig: &mut Rig) -> Result<(), Broken> {
    stored_durably(rig, 1, 4)?;
    let trimming = rig.send(PEER, trim(2))?;
    let read = rig.send(PEER, records(1, 4, None))?;
    let reply = rig.reply(&read, PEER)?;
    let expected = vec![(2, None), (3, Some(payload(3))), (4, Some(payload(4)))];
    want(
        &read,
        &reply,
        record_offsets(&reply) == expected,
        "a trim gap up to 2, then records 3, 4: the accepted trim shows at once",
    )?;
    let look = rig.send(PEER, digest(1, 4))?;
    let reply = rig.reply(&look, PEER)?;
    want(
        &look,
        &reply,
        matches!(&reply, Reply::Digest(d) if d.entries.first().is_some_and(|e| e.status == RecordStatus::Trimmed && e.to_offset == 2)),
        "a digest starting with 1..2 trimmed",
    )?;
    rig.sync(&trimming.text)?;
    let reply = rig.reply(&trimming, PEER)?;
    want(
        &trimming,
        &reply,
        matches!(reply, Reply::Trimmed(h) if h.status == Status::Ok),
        "Trimmed Ok once durable",
    )
}

/// `trim.raises-global-tail`: see [`RULES`](super::RULES).
pub(super) fn raises_global_tail(rig: &mut Rig) -> Result<(), Broken> {
    stored_durably(rig, 1, 3)?;
    let waiting = rig.send(PEER, wait(TailQuery::GlobalTail(3)))?;
    unanswered(rig, &waiting, "no answer before the global tail reaches 3")?;
    trimmed_status(rig, 2, Status::Ok)?;
    let reply = rig.reply(&waiting, PEER)?;
    want(
        &waiting,
        &reply,
        matches!(reply, Reply::TailUpdated(h) if h.status == Status::Ok && h.known_global_tail >= 3),
        "TailUpdated Ok with gt 3, once the trim to 2 is durable",
    )
}

/// `trim.never-lowers`: see [`RULES`](super::RULES).
pub(super) fn never_lowers(rig: &mut Rig) -> Result<(), Broken> {
    stored_durably(rig, 1, 3)?;
    trimmed_status(rig, 2, Status::Ok)?;
    let sent = rig.send(PEER, trim(1))?;
    if rig.pending_writes() > 0 {
        return Err(Broken::new(
            &sent.text,
            "a write made",
            "no write: nothing to trim",
        ));
    }
    let reply = rig.reply(&sent, PEER)?;
    want(
        &sent,
        &reply,
        matches!(reply, Reply::Trimmed(h) if h.status == Status::Ok),
        "Trimmed Ok at once",
    )?;
    trim_point_is(rig, 2, "a lower trim changes nothing").map(drop)
}
