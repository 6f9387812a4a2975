//! The `trim.*` rules: a trim's bounds and clipping, what it shows at once, what it
//! changes once durable, and that it never lowers the trim point.

use super::answers::{
    answer_records, answer_trimmed, ask_trimmed, loglet_info, no_write, read_of, stored_durably,
    tail_updated, trim_point_is, unanswered, want,
};
use super::requests::{digest, records, trim, wait};
use crate::bindings::logsandbox::node::log_server_protocol::{RecordStatus, TailQuery};
use crate::bindings::{Reply, Status};
use crate::conform::rig::{Broken, PEER, Rig};

/// `trim.bounds`: see [`RULES`](super::RULES).
pub(super) fn bounds(rig: &mut Rig) -> Result<(), Broken> {
    stored_durably(rig, 1, 3)?;
    ask_trimmed(rig, 0, Status::Malformed)?;
    ask_trimmed(rig, 4, Status::Malformed)?;
    ask_trimmed(rig, 9, Status::Malformed)?;
    trim_point_is(rig, 0, "a malformed trim changes nothing")?;
    let sent = rig.send(PEER, trim(2))?;
    unanswered(rig, &sent, "no answer before the trim is durable")?;
    rig.sync(&sent.text)?;
    answer_trimmed(
        rig,
        &sent,
        |h| h.known_global_tail >= 3,
        "Trimmed Ok, with the global tail raised to at least trim point + 1",
    )?;
    trim_point_is(rig, 2, "the trim was answered Ok")
}

/// `trim.clipped`: see [`RULES`](super::RULES).
pub(super) fn clipped(rig: &mut Rig) -> Result<(), Broken> {
    stored_durably(rig, 1, 3)?;
    loglet_info(rig, 10)?;
    ask_trimmed(rig, 8, Status::Ok)?;
    trim_point_is(rig, 3, "a trim is clipped to local tail - 1")
}

/// `trim.reads-gap-at-once`: see [`RULES`](super::RULES).
pub(super) fn reads_gap_at_once(rig: &mut Rig) -> Result<(), Broken> {
    stored_durably(rig, 1, 4)?;
    let trimming = rig.send(PEER, trim(2))?;
    let read = rig.send(PEER, records(1, 4, None))?;
    answer_records(
        rig,
        &read,
        |_| true,
        &read_of(Some(2), &[3, 4]),
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
    answer_trimmed(rig, &trimming, |_| true, "Trimmed Ok once durable")
}

/// `trim.raises-global-tail`: see [`RULES`](super::RULES).
pub(super) fn raises_global_tail(rig: &mut Rig) -> Result<(), Broken> {
    stored_durably(rig, 1, 3)?;
    let waiting = rig.send(PEER, wait(TailQuery::GlobalTail(3)))?;
    unanswered(rig, &waiting, "no answer before the global tail reaches 3")?;
    ask_trimmed(rig, 2, Status::Ok)?;
    tail_updated(
        rig,
        &waiting,
        Status::Ok,
        |h| h.known_global_tail >= 3,
        "TailUpdated Ok with gt 3, once the trim to 2 is durable",
    )
}

/// `trim.never-lowers`: see [`RULES`](super::RULES).
pub(super) fn never_lowers(rig: &mut Rig) -> Result<(), Broken> {
    stored_durably(rig, 1, 3)?;
    ask_trimmed(rig, 2, Status::Ok)?;
    let sent = rig.send(PEER, trim(1))?;
    no_write(rig, &sent, "a write made", "no write: nothing to trim")?;
    answer_trimmed(rig, &sent, |_| true, "Trimmed Ok at once")?;
    trim_point_is(rig, 2, "a lower trim changes nothing")
}
