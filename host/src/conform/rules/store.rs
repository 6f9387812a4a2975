//! The `store.*` rules: when a store is answered, the checks it goes through and their
//! order, duplicates, stores around a seal, and where its records are kept.

use super::answers::{
    answer_sealed, answer_stored, answer_stored_with_tail, ask_stored, local_tail_is, no_write,
    sealed_durably, stored_durably, stored_where, unanswered,
};
use super::requests::{payload, repair, seal, store, store_of, timed};
use crate::bindings::logsandbox::node::log_server_protocol::StoreFlags;
use crate::bindings::{Request, Status};
use crate::conform::rig::{Broken, LOGLET, PEER, Rig, SEQUENCER};

/// `store.ok-once-durable`: see [`RULES`](super::RULES).
pub(super) fn ok_once_durable(rig: &mut Rig) -> Result<(), Broken> {
    let sent = rig.send(SEQUENCER, store(1, 3))?;
    unanswered(rig, &sent, "no answer before the records are durable")?;
    rig.sync(&sent.text)?;
    answer_stored_with_tail(rig, &sent, 4)
}

/// `store.record-layout`: see [`RULES`](super::RULES).
pub(super) fn record_layout(rig: &mut Rig) -> Result<(), Broken> {
    stored_durably(rig, 1, 3)?;
    for offset in 1..=3u32 {
        let mut key = vec![b'd'];
        key.extend_from_slice(&LOGLET.to_be_bytes());
        key.extend_from_slice(&offset.to_be_bytes());
        let held = rig.durable(&key);
        if held.as_deref() != Some(payload(offset).as_slice()) {
            return Err(Broken::new(
                "N2 -> N1 Store 0_0 [1..3], durable",
                format!("under key {key:?} the database holds {held:?}"),
                &format!(
                    "the payload {:?}",
                    String::from_utf8_lossy(&payload(offset))
                ),
            ));
        }
    }
    Ok(())
}

/// Sends each store from the sequencer it names, makes its writes durable, and holds the
/// answer to `Stored` with the status beside it.
fn each_stored(
    rig: &mut Rig,
    cases: impl IntoIterator<Item = (Request, Status)>,
) -> Result<(), Broken> {
    for (request, status) in cases {
        let from = match &request {
            Request::Store(s) => s.sequencer,
            _ => SEQUENCER,
        };
        ask_stored(rig, from, request, status)?;
    }
    Ok(())
}

/// `store.malformed`: see [`RULES`](super::RULES).
pub(super) fn malformed(rig: &mut Rig) -> Result<(), Broken> {
    each_stored(
        rig,
        [
            store(1, 0),
            store(0, 1),
            store_of(u32::MAX, 1, u32::MAX, SEQUENCER, StoreFlags::empty()),
        ]
        .map(|request| (request, Status::Malformed)),
    )
}

/// `store.sealed`: see [`RULES`](super::RULES).
pub(super) fn sealed(rig: &mut Rig) -> Result<(), Broken> {
    stored_durably(rig, 1, 2)?;
    sealed_durably(rig)?;
    let (sent, reply) = rig.ask(SEQUENCER, store(3, 1))?;
    let expected = "Stored Sealed, with sealed set";
    stored_where(&sent, &reply, Status::Sealed, |h| h.sealed, expected)?;
    let (sent, reply) = rig.ask(SEQUENCER, repair(3, 1))?;
    let expected = "a repair store taken: local tail 4";
    stored_where(&sent, &reply, Status::Ok, |h| h.local_tail == 4, expected).map(drop)
}

/// `store.disabled`: see [`RULES`](super::RULES).
pub(super) fn disabled(rig: &mut Rig) -> Result<(), Broken> {
    ask_stored(rig, SEQUENCER, store(1, 1), Status::Disabled)?;
    // Disabled comes before the bounds.
    ask_stored(rig, SEQUENCER, store(9, 1), Status::Disabled)?;
    sealed_durably(rig)?;
    ask_stored(rig, SEQUENCER, store(1, 1), Status::Sealed).map(drop)
}

/// `store.sequencer-pinned`: see [`RULES`](super::RULES).
pub(super) fn sequencer_pinned(rig: &mut Rig) -> Result<(), Broken> {
    stored_durably(rig, 1, 2)?;
    let other = store_of(3, 1, 1, PEER, StoreFlags::empty());
    ask_stored(rig, PEER, other, Status::SequencerMismatch).map(drop)
}

/// `store.below-tail-only-from-sequencer`: see [`RULES`](super::RULES).
pub(super) fn below_tail(rig: &mut Rig) -> Result<(), Broken> {
    stored_durably(rig, 1, 3)?;
    // N3 forwards a store naming N2 as its sequencer, below the tail.
    ask_stored(rig, PEER, store(2, 1), Status::SequencerMismatch)?;
    ask_stored(rig, PEER, repair(2, 1), Status::Ok).map(drop)
}

/// `store.no-gaps`: see [`RULES`](super::RULES).
pub(super) fn no_gaps(rig: &mut Rig) -> Result<(), Broken> {
    ask_stored(rig, SEQUENCER, store(5, 1), Status::OutOfBounds)?;
    // With a known global tail of 5, offset 5 is next in line.
    let at_global = store_of(5, 1, 5, SEQUENCER, StoreFlags::empty());
    ask_stored(rig, SEQUENCER, at_global, Status::Ok).map(drop)
}

/// `store.expired`: see [`RULES`](super::RULES).
pub(super) fn expired(rig: &mut Rig) -> Result<(), Broken> {
    rig.advance(1_000_000_000, "let 1 s pass")?;
    let now = rig.now();
    ask_stored(rig, SEQUENCER, timed(1, 1, now), Status::Dropped)?;
    ask_stored(rig, SEQUENCER, timed(1, 1, now - 1), Status::Dropped)?;
    local_tail_is(rig, 1, "local tail 1: a dropped store is not written")?;
    let later = timed(1, 1, now + 1_000_000_000);
    ask_stored(rig, SEQUENCER, later, Status::Ok).map(drop)
}

/// `store.duplicate-durable`: see [`RULES`](super::RULES).
pub(super) fn duplicate_durable(rig: &mut Rig) -> Result<(), Broken> {
    stored_durably(rig, 1, 3)?;
    let sent = rig.send(SEQUENCER, store(1, 3))?;
    let made = format!("{} write(s) made", rig.pending_writes());
    no_write(
        rig,
        &sent,
        &made,
        "no write: the records are durable already",
    )?;
    answer_stored(rig, &sent, SEQUENCER, Status::Ok).map(drop)
}

/// `store.duplicate-in-flight`: see [`RULES`](super::RULES).
pub(super) fn duplicate_in_flight(rig: &mut Rig) -> Result<(), Broken> {
    let first = rig.send(SEQUENCER, store(1, 3))?;
    let again = rig.send(SEQUENCER, store(1, 3))?;
    unanswered(rig, &first, "no answer before the records are durable")?;
    unanswered(rig, &again, "no answer before the first copy is durable")?;
    rig.sync(&again.text)?;
    for sent in [first, again] {
        answer_stored_with_tail(rig, &sent, 4)?;
    }
    Ok(())
}

/// `store.check-order`: see [`RULES`](super::RULES).
pub(super) fn check_order(rig: &mut Rig) -> Result<(), Broken> {
    // Pin N2 with records 1..3, then let 1 s pass so a deadline can lie in the past.
    stored_durably(rig, 1, 3)?;
    rig.advance(1_000_000_000, "let 1 s pass")?;
    let past = rig.now() - 1;
    let expired = |first, count| timed(first, count, past);
    let by_peer = |first| store_of(first, 1, 1, PEER, StoreFlags::empty());
    // Open loglet: mismatch before bounds, bounds before expiry, expiry before duplicates.
    each_stored(
        rig,
        [
            (by_peer(9), Status::SequencerMismatch),
            (expired(9, 1), Status::OutOfBounds),
            (expired(1, 3), Status::Dropped),
        ],
    )?;
    sealed_durably(rig)?;
    // Sealed loglet: malformed first, then sealed before everything else.
    each_stored(
        rig,
        [
            (store(4, 0), Status::Malformed),
            (by_peer(4), Status::Sealed),
            (store(9, 1), Status::Sealed),
            (expired(4, 1), Status::Sealed),
            (store(1, 3), Status::Sealed),
        ],
    )
}

/// `store.during-seal`: see [`RULES`](super::RULES).
pub(super) fn during_seal(rig: &mut Rig) -> Result<(), Broken> {
    stored_durably(rig, 1, 2)?;
    let seal_sent = rig.send(SEQUENCER, seal())?;
    let parked = rig.send(SEQUENCER, store(3, 1))?;
    unanswered(rig, &parked, "no answer while the seal is pending")?;
    let repair_sent = rig.send(SEQUENCER, repair(3, 1))?;
    answer_stored(rig, &repair_sent, SEQUENCER, Status::Sealing)?;
    // Duplicates come before the pending seal: records already durable are Ok at once.
    let duplicate = rig.send(SEQUENCER, store(1, 2))?;
    answer_stored(rig, &duplicate, SEQUENCER, Status::Ok)?;
    rig.sync(&seal_sent.text)?;
    let expected = "Sealed Ok, sealed, local tail 3";
    answer_sealed(rig, &seal_sent, SEQUENCER, |h| h.local_tail == 3, expected)?;
    answer_stored(rig, &parked, SEQUENCER, Status::Sealed).map(drop)
}

/// `store.before-seal-counts`: see [`RULES`](super::RULES).
pub(super) fn before_seal(rig: &mut Rig) -> Result<(), Broken> {
    let store_sent = rig.send(SEQUENCER, store(1, 3))?;
    let seal_sent = rig.send(SEQUENCER, seal())?;
    rig.sync(&seal_sent.text)?;
    answer_stored(rig, &store_sent, SEQUENCER, Status::Ok)?;
    let expected = "Sealed Ok with local tail 4: the store accepted before it counts";
    answer_sealed(rig, &seal_sent, SEQUENCER, |h| h.local_tail == 4, expected)
}
