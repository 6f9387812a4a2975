//! The `seal.*` rules: a seal is answered once its marker is durable, and wakes every
//! tail waiter.

use super::requests::{seal, sealed_durably, unanswered, wait, want};
use crate::bindings::logsandbox::node::log_server_protocol::TailQuery;
use crate::bindings::{Reply, Status};
use crate::conform::rig::{Broken, PEER, Rig, SEQUENCER};

/// `seal.once-durable`: see [`RULES`](super::RULES).
pub(super) fn once_durable(rig: &mut Rig) -> Result<(), Broken> {
    let first = rig.send(SEQUENCER, seal())?;
    let second = rig.send(PEER, seal())?;
    unanswered(rig, &first, "no answer before the seal marker is durable")?;
    unanswered(rig, &second, "no answer before the seal marker is durable")?;
    rig.sync(&first.text)?;
    for (sent, from) in [(first, SEQUENCER), (second, PEER)] {
        let reply = rig.reply(&sent, from)?;
        want(
            &sent,
            &reply,
            matches!(reply, Reply::Sealed(h) if h.status == Status::Ok && h.sealed),
            "Sealed Ok, sealed",
        )?;
    }
    let again = rig.send(SEQUENCER, seal())?;
    let reply = rig.reply(&again, SEQUENCER)?;
    want(
        &again,
        &reply,
        matches!(reply, Reply::Sealed(h) if h.status == Status::Ok && h.sealed),
        "Sealed Ok at once: a seal is idempotent",
    )
}

/// `seal.wakes-waiters`: see [`RULES`](super::RULES).
pub(super) fn wakes_waiters(rig: &mut Rig) -> Result<(), Broken> {
    let local = rig.send(PEER, wait(TailQuery::LocalTail(10)))?;
    let global = rig.send(PEER, wait(TailQuery::GlobalTail(10)))?;
    unanswered(rig, &local, "no answer before the tail is reached")?;
    unanswered(rig, &global, "no answer before the tail is reached")?;
    sealed_durably(rig)?;
    let reply = rig.reply(&local, PEER)?;
    want(
        &local,
        &reply,
        matches!(reply, Reply::TailUpdated(h) if h.status == Status::Ok && h.sealed),
        "TailUpdated Ok, sealed",
    )?;
    let reply = rig.reply(&global, PEER)?;
    want(
        &global,
        &reply,
        matches!(reply, Reply::TailUpdated(h) if h.status == Status::Sealed && h.sealed),
        "TailUpdated Sealed: the global tail will never be reached",
    )
}
