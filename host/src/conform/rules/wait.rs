//! The `wait-for-tail.*` rules: when a tail waiter is answered, on the local tail, the
//! global tail, and a sealed loglet.

use super::answers::{loglet_info, sealed_durably, stored_durably, tail_updated, unanswered};
use super::requests::{store, wait};
use crate::bindings::Status;
use crate::bindings::logsandbox::node::log_server_protocol::TailQuery;
use crate::conform::rig::{Broken, PEER, Rig, SEQUENCER};

/// `wait-for-tail.local`: see [`RULES`](super::RULES).
pub(super) fn local(rig: &mut Rig) -> Result<(), Broken> {
    let now = rig.send(PEER, wait(TailQuery::LocalTail(1)))?;
    let expected = "TailUpdated Ok at once: local tail 1 is reached";
    tail_updated(rig, &now, Status::Ok, |_| true, expected)?;
    let later = rig.send(PEER, wait(TailQuery::LocalTail(3)))?;
    let writing = rig.send(SEQUENCER, store(1, 2))?;
    unanswered(
        rig,
        &later,
        "no answer before a durable store reaches local tail 3",
    )?;
    rig.sync(&writing.text)?;
    let expected = "TailUpdated Ok with local tail 3";
    tail_updated(rig, &later, Status::Ok, |h| h.local_tail >= 3, expected)
}

/// `wait-for-tail.global`: see [`RULES`](super::RULES).
pub(super) fn global(rig: &mut Rig) -> Result<(), Broken> {
    let waiting = rig.send(PEER, wait(TailQuery::GlobalTail(5)))?;
    let either = rig.send(PEER, wait(TailQuery::LocalOrGlobal(5)))?;
    loglet_info(rig, 4)?;
    unanswered(rig, &waiting, "no answer before the global tail reaches 5")?;
    unanswered(
        rig,
        &either,
        "no answer before the local or the global tail reaches 5",
    )?;
    loglet_info(rig, 5)?;
    for sent in [waiting, either] {
        let expected = "TailUpdated Ok with gt 5";
        tail_updated(
            rig,
            &sent,
            Status::Ok,
            |h| h.known_global_tail >= 5,
            expected,
        )?;
    }
    Ok(())
}

/// `wait-for-tail.sealed`: see [`RULES`](super::RULES).
pub(super) fn sealed(rig: &mut Rig) -> Result<(), Broken> {
    stored_durably(rig, 1, 2)?;
    sealed_durably(rig)?;
    let global = rig.send(PEER, wait(TailQuery::GlobalTail(9)))?;
    let expected = "TailUpdated Sealed at once";
    tail_updated(rig, &global, Status::Sealed, |h| h.sealed, expected)?;
    let local = rig.send(PEER, wait(TailQuery::LocalTail(9)))?;
    let expected = "TailUpdated Ok at once, sealed";
    tail_updated(rig, &local, Status::Ok, |h| h.sealed, expected)
}
