//! The `store.*` rules: when a store is answered, the checks it goes through and their
//! order, duplicates, stores around a seal, and where its records are kept.

use super::requests::{
    loglet_info, payload, repair, seal, sealed_durably, store, store_of, stored, stored_durably,
    timed, unanswered, want,
};
use crate::bindings::logsandbox::node::log_server_protocol::StoreFlags;
use crate::bindings::{Reply, Request, Status};
use crate::conform::rig::{Broken, LOGLET, PEER, Rig, SEQUENCER};

/// `store.ok-once-durable`: see [`RULES`](super::RULES).
pub(super) fn ok_once_durable(rig: &mut Rig) -> Result<(), Broken> {
    let sent = rig.send(SEQUENCER, store(1, 3))?;
    unanswered(rig, &sent, "no answer before the records are durable")?;
    rig.sync(&sent.text)?;
    let reply = rig.reply(&sent, SEQUENCER)?;
    let h = stored(&sent, &reply, Status::Ok)?;
    want(
        &sent,
        &reply,
        h.local_tail == 4,
        "Stored Ok with local tail 4",
    )
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

/// `store.malformed`: see [`RULES`](super::RULES).
pub(super) fn malformed(rig: &mut Rig) -> Result<(), Broken> {
    for request in [
        store(1, 0),
        store(0, 1),
        store_of(u32::MAX, 1, u32::MAX, SEQUENCER, StoreFlags::empty()),
    ] {
        let (sent, reply) = rig.ask(SEQUENCER, request)?;
        stored(&sent, &reply, Status::Malformed)?;
    }
    Ok(())
}

/// `store.sealed`: see [`RULES`](super::RULES).
pub(super) fn sealed(rig: &mut Rig) -> Result<(), Broken> {
    stored_durably(rig, 1, 2)?;
    sealed_durably(rig)?;
    let (sent, reply) = rig.ask(SEQUENCER, store(3, 1))?;
    let h = stored(&sent, &reply, Status::Sealed)?;
    want(&sent, &reply, h.sealed, "Stored Sealed, with sealed set")?;
    let (sent, reply) = rig.ask(SEQUENCER, repair(3, 1))?;
    let h = stored(&sent, &reply, Status::Ok)?;
    want(
        &sent,
        &reply,
        h.local_tail == 4,
        "a repair store taken: local tail 4",
    )
}

/// `store.disabled`: see [`RULES`](super::RULES).
pub(super) fn disabled(rig: &mut Rig) -> Result<(), Broken> {
    let (sent, reply) = rig.ask(SEQUENCER, store(1, 1))?;
    stored(&sent, &reply, Status::Disabled)?;
    // Disabled comes before the bounds.
    let (sent, reply) = rig.ask(SEQUENCER, store(9, 1))?;
    stored(&sent, &reply, Status::Disabled)?;
    sealed_durably(rig)?;
    let (sent, reply) = rig.ask(SEQUENCER, store(1, 1))?;
    stored(&sent, &reply, Status::Sealed).map(drop)
}

/// `store.sequencer-pinned`: see [`RULES`](super::RULES).
pub(super) fn sequencer_pinned(rig: &mut Rig) -> Result<(), Broken> {
    stored_durably(rig, 1, 2)?;
    let other = store_of(3, 1, 1, PEER, StoreFlags::empty());
    let (sent, reply) = rig.ask(PEER, other)?;
    stored(&sent, &reply, Status::SequencerMismatch).map(drop)
}

/// `store.below-tail-only-from-sequencer`: see [`RULES`](super::RULES).
pub(super) fn below_tail(rig: &mut Rig) -> Result<(), Broken> {
    stored_durably(rig, 1, 3)?;
    // N3 forwards a store naming N2 as its sequencer, below the tail.
    let (sent, reply) = rig.ask(PEER, store(2, 1))?;
    stored(&sent, &reply, Status::SequencerMismatch)?;
    let (sent, reply) = rig.ask(PEER, repair(2, 1))?;
    stored(&sent, &reply, Status::Ok).map(drop)
}

/// `store.no-gaps`: see [`RULES`](super::RULES).
pub(super) fn no_gaps(rig: &mut Rig) -> Result<(), Broken> {
    let (sent, reply) = rig.ask(SEQUENCER, store(5, 1))?;
    stored(&sent, &reply, Status::OutOfBounds)?;
    // With a known global tail of 5, offset 5 is next in line.
    let at_global = store_of(5, 1, 5, SEQUENCER, StoreFlags::empty());
    let (sent, reply) = rig.ask(SEQUENCER, at_global)?;
    stored(&sent, &reply, Status::Ok).map(drop)
}

/// `store.expired`: see [`RULES`](super::RULES).
pub(super) fn expired(rig: &mut Rig) -> Result<(), Broken> {
    rig.advance(1_000_000_000, "let 1 s pass")?;
    let now = rig.now();
    let (sent, reply) = rig.ask(SEQUENCER, timed(1, 1, now))?;
    stored(&sent, &reply, Status::Dropped)?;
    let (sent, reply) = rig.ask(SEQUENCER, timed(1, 1, now - 1))?;
    stored(&sent, &reply, Status::Dropped)?;
    let (sent, h, _) = loglet_info(rig, 1)?;
    if h.local_tail != 1 {
        return Err(Broken::new(
            &sent.text,
            format!("local tail {}", h.local_tail),
            "local tail 1: a dropped store is not written",
        ));
    }
    let (sent, reply) = rig.ask(SEQUENCER, timed(1, 1, now + 1_000_000_000))?;
    stored(&sent, &reply, Status::Ok).map(drop)
}

/// `store.duplicate-durable`: see [`RULES`](super::RULES).
pub(super) fn duplicate_durable(rig: &mut Rig) -> Result<(), Broken> {
    stored_durably(rig, 1, 3)?;
    let sent = rig.send(SEQUENCER, store(1, 3))?;
    if rig.pending_writes() > 0 {
        return Err(Broken::new(
            &sent.text,
            format!("{} write(s) made", rig.pending_writes()),
            "no write: the records are durable already",
        ));
    }
    let reply = rig.reply(&sent, SEQUENCER)?;
    stored(&sent, &reply, Status::Ok).map(drop)
}

/// `store.duplicate-in-flight`: see [`RULES`](super::RULES).
pub(super) fn duplicate_in_flight(rig: &mut Rig) -> Result<(), Broken> {
    let first = rig.send(SEQUENCER, store(1, 3))?;
    let again = rig.send(SEQUENCER, store(1, 3))?;
    unanswered(rig, &first, "no answer before the records are durable")?;
    unanswered(rig, &again, "no answer before the first copy is durable")?;
    rig.sync(&again.text)?;
    for sent in [first, again] {
        let reply = rig.reply(&sent, SEQUENCER)?;
        let h = stored(&sent, &reply, Status::Ok)?;
        want(
            &sent,
            &reply,
            h.local_tail == 4,
            "Stored Ok with local tail 4",
        )?;
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
    let open_cases = [
        (by_peer(9), Status::SequencerMismatch),
        (expired(9, 1), Status::OutOfBounds),
        (expired(1, 3), Status::Dropped),
    ];
    for (request, status) in open_cases {
        let from = match &request {
            Request::Store(s) => s.sequencer,
            _ => SEQUENCER,
        };
        let (sent, reply) = rig.ask(from, request)?;
        stored(&sent, &reply, status)?;
    }
    sealed_durably(rig)?;
    // Sealed loglet: malformed first, then sealed before everything else.
    let sealed_cases = [
        (store(4, 0), Status::Malformed),
        (by_peer(4), Status::Sealed),
        (store(9, 1), Status::Sealed),
        (expired(4, 1), Status::Sealed),
        (store(1, 3), Status::Sealed),
    ];
    for (request, status) in sealed_cases {
        let from = match &request {
            Request::Store(s) => s.sequencer,
            _ => SEQUENCER,
        };
        let (sent, reply) = rig.ask(from, request)?;
        stored(&sent, &reply, status)?;
    }
    Ok(())
}

/// `store.during-seal`: see [`RULES`](super::RULES).
pub(super) fn during_seal(rig: &mut Rig) -> Result<(), Broken> {
    stored_durably(rig, 1, 2)?;
    let seal_sent = rig.send(SEQUENCER, seal())?;
    let parked = rig.send(SEQUENCER, store(3, 1))?;
    unanswered(rig, &parked, "no answer while the seal is pending")?;
    let repair_sent = rig.send(SEQUENCER, repair(3, 1))?;
    let reply = rig.reply(&repair_sent, SEQUENCER)?;
    stored(&repair_sent, &reply, Status::Sealing)?;
    // Duplicates come before the pending seal: records already durable are Ok at once.
    let duplicate = rig.send(SEQUENCER, store(1, 2))?;
    let reply = rig.reply(&duplicate, SEQUENCER)?;
    stored(&duplicate, &reply, Status::Ok)?;
    rig.sync(&seal_sent.text)?;
    let reply = rig.reply(&seal_sent, SEQUENCER)?;
    want(
        &seal_sent,
        &reply,
        matches!(reply, Reply::Sealed(h) if h.status == Status::Ok && h.sealed && h.local_tail == 3),
        "Sealed Ok, sealed, local tail 3",
    )?;
    let reply = rig.reply(&parked, SEQUENCER)?;
    stored(&parked, &reply, Status::Sealed).map(drop)
}

/// `store.before-seal-counts`: see [`RULES`](super::RULES).
pub(super) fn before_seal(rig: &mut Rig) -> Result<(), Broken> {
    let store_sent = rig.send(SEQUENCER, store(1, 3))?;
    let seal_sent = rig.send(SEQUENCER, seal())?;
    rig.sync(&seal_sent.text)?;
    let reply = rig.reply(&store_sent, SEQUENCER)?;
    stored(&store_sent, &reply, Status::Ok)?;
    let reply = rig.reply(&seal_sent, SEQUENCER)?;
    want(
        &seal_sent,
        &reply,
        matches!(reply, Reply::Sealed(h) if h.status == Status::Ok && h.sealed && h.local_tail == 4),
        "Sealed Ok with local tail 4: the store accepted before it counts",
    )
}
