//! The `seal.*` rules: a seal is answered once its marker is durable, and wakes every
//! tail waiter.

use super::answers::{answer_sealed, sealed_durably, tail_updated, unanswered};
use super::requests::{seal, wait};
use crate::bindings::Status;
use crate::bindings::logsandbox::node::log_server_protocol::TailQuery;
use crate::conform::rig::{Broken, PEER, Rig, SEQUENCER};

/// `seal.once-durable`: see [`RULES`](super::RULES).
pub(super) fn once_durable(rig: &mut Rig) -> Result<(), Broken> {
    let first = rig.send(SEQUENCER, seal())?;
    let second = rig.send(PEER, seal())?;
    unanswered(rig, &first, "no answer before the seal marker is durable")?;
    unanswered(rig, &second, "no answer before the seal marker is durable")?;
    rig.sync(&first.text)?;
    for (sent, from) in [(first, SEQUENCER), (second, PEER)] {
        answer_sealed(rig, &sent, from, |_| true, "Sealed Ok, sealed")?;
    }
    let again = rig.send(SEQUENCER, seal())?;
    let expected = "Sealed Ok at once: a seal is idempotent";
    answer_sealed(rig, &again, SEQUENCER, |_| true, expected)
}

/// `seal.wakes-waiters`: see [`RULES`](super::RULES).
pub(super) fn wakes_waiters(rig: &mut Rig) -> Result<(), Broken> {
    let local = rig.send(PEER, wait(TailQuery::LocalTail(10)))?;
    let global = rig.send(PEER, wait(TailQuery::GlobalTail(10)))?;
    unanswered(rig, &local, "no answer before the tail is reached")?;
    unanswered(rig, &global, "no answer before the tail is reached")?;
    sealed_durably(rig)?;
    tail_updated(
        rig,
        &local,
        Status::Ok,
        |h| h.sealed,
        "TailUpdated Ok, sealed",
    )?;
    let expected = "TailUpdated Sealed: the global tail will never be reached";
    tail_updated(rig, &global, Status::Sealed, |h| h.sealed, expected)
}
