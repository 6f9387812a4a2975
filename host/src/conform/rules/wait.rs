//! The `wait-for-tail.*` rules: when a tail waiter is answered, on the local tail, the
//! global tail, and a sealed loglet.

use super::requests::{loglet_info, sealed_durably, store, stored_durably, unanswered, wait, want};
use crate::bindings::logsandbox::node::log_server_protocol::TailQuery;
use crate::bindings::{Reply, Status};
use crate::conform::rig::{Broken, PEER, Rig, SEQUENCER};

/// `wait-for-tail.local`: see [`RULES`](super::RULES).
pub(super) fn local(rig: &mut Rig) -> Result<(), Broken> {
    let now = rig.send(PEER, wait(TailQuery::LocalTail(1)))?;
    let reply = rig.reply(&now, PEER)?;
    want(
        &now,
        &reply,
        matches!(reply, Reply::TailUpdated(h) if h.status == Status::Ok),
        "TailUpdated Ok at once: local tail 1 is reached",
    )?;
    let later = rig.send(PEER, wait(TailQuery::LocalTail(3)))?;
    let writing = rig.send(SEQUENCER, store(1, 2))?;
    unanswered(
        rig,
        &later,
        "no answer before a durable store reaches local tail 3",
    )?;
    rig.sync(&writing.text)?;
    let reply = rig.reply(&later, PEER)?;
    want(
        &later,
        &reply,
        matches!(reply, Reply::TailUpdated(h) if h.status == Status::Ok && h.local_tail >= 3),
        "TailUpdated Ok with local tail 3",
    )
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
        let reply = rig.reply(&sent, PEER)?;
        want(
            &sent,
            &reply,
            matches!(reply, Reply::TailUpdated(h) if h.status == Status::Ok && h.known_global_tail >= 5),
            "TailUpdated Ok with gt 5",
        )?;
    }
    Ok(())
}

/// `wait-for-tail.sealed`: see [`RULES`](super::RULES).
pub(super) fn sealed(rig: &mut Rig) -> Result<(), Broken> {
    stored_durably(rig, 1, 2)?;
    sealed_durably(rig)?;
    let global = rig.send(PEER, wait(TailQuery::GlobalTail(9)))?;
    let reply = rig.reply(&global, PEER)?;
    want(
        &global,
        &reply,
        matches!(reply, Reply::TailUpdated(h) if h.status == Status::Sealed && h.sealed),
        "TailUpdated Sealed at once",
    )?;
    let local = rig.send(PEER, wait(TailQuery::LocalTail(9)))?;
    let reply = rig.reply(&local, PEER)?;
    want(
        &local,
        &reply,
        matches!(reply, Reply::TailUpdated(h) if h.status == Status::Ok && h.sealed),
        "TailUpdated Ok at once, sealed",
    )
}
