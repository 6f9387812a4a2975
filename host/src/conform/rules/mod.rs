//! The rules of the log-server protocol, one function each, as `wit/node.wit` states
//! them. Every rule starts from a fresh node with an empty database (see [`Rig`]) and
//! stops at the first request whose answer breaks it.

use super::describe;
use super::rig::{Broken, LOGLET, PEER, Rig, SEQUENCER, Sent};
use crate::bindings::logsandbox::node::log_server_protocol::{
    GetDigest, GetRecords, RecordBody, RecordStatus, Seal, Store, StoreFlags, TailQuery, Trim,
    WaitForTail,
};
use crate::bindings::{Body, MetadataKind, Reply, ReplyHeader, Request, Status};

/// One rule: its name, what it holds the server to, how to check it, and the settings
/// the node starts with.
pub struct Rule {
    /// `family.rule`, as printed.
    pub name: &'static str,
    /// The rule in a sentence.
    pub says: &'static str,
    /// Settings handed to the node.
    pub settings: &'static [(&'static str, &'static str)],
    pub(crate) check: fn(&mut Rig) -> Result<(), Broken>,
}

const fn rule(
    name: &'static str,
    says: &'static str,
    check: fn(&mut Rig) -> Result<(), Broken>,
) -> Rule {
    Rule {
        name,
        says,
        settings: &[],
        check,
    }
}

/// Every rule, in the order they run.
pub static RULES: &[Rule] = &[
    rule(
        "answer.one-per-request",
        "every request is answered once, to its sender, under its request id, with the reply of its kind",
        one_answer_per_request,
    ),
    rule(
        "peers.hello-ack",
        "a hello is answered with a hello-ack",
        hello_ack,
    ),
    rule(
        "loglet.fresh",
        "a loglet never seen is open and empty: local tail 1, global tail 1, trim point 0",
        fresh_loglet,
    ),
    rule(
        "header.global-tail-max",
        "every request's known global tail is merged with max(), a malformed one's too: raised, never lowered",
        global_tail_max,
    ),
    rule(
        "store.ok-once-durable",
        "a store is answered Ok only once its records are durable",
        store_ok_once_durable,
    ),
    rule(
        "store.record-layout",
        "record `o` of loglet `l` is stored under `d`, l (u64 BE), o (u32 BE), the payload its value",
        store_record_layout,
    ),
    rule(
        "store.malformed",
        "a store with no records, at offset 0, or reaching offset u32::MAX is Malformed",
        store_malformed,
    ),
    rule(
        "store.sealed",
        "a sealed loglet refuses a store with Sealed, and takes a repair store",
        store_sealed,
    ),
    Rule {
        name: "store.disabled",
        says: "a read-only server (log_server.accepting_writes = false) answers a store Disabled, after the Sealed check",
        settings: &[("log_server.accepting_writes", "false")],
        check: store_disabled,
    },
    rule(
        "store.sequencer-pinned",
        "the first store pins its sequencer: a store naming another is SequencerMismatch",
        store_sequencer_pinned,
    ),
    rule(
        "store.below-tail-only-from-sequencer",
        "a store below the tail sent by another node than its sequencer is SequencerMismatch, unless a repair",
        store_below_tail,
    ),
    rule(
        "store.no-gaps",
        "a store beyond max(local tail, known global tail) is OutOfBounds: nothing is buffered",
        store_no_gaps,
    ),
    rule(
        "store.expired",
        "a store processed at or after its timeout-at is Dropped, and not written",
        store_expired,
    ),
    rule(
        "store.duplicate-durable",
        "a store of records already durable is answered Ok at once, without a write",
        store_duplicate_durable,
    ),
    rule(
        "store.duplicate-in-flight",
        "a store of records still in flight is answered when they are durable",
        store_duplicate_in_flight,
    ),
    rule(
        "store.check-order",
        "the checks run in order: malformed, sealed, disabled, sequencer, bounds, expiry, duplicates, pending seal",
        store_check_order,
    ),
    rule(
        "store.during-seal",
        "a store while a seal is pending is answered Sealed when the seal lands; a repair store gets Sealing",
        store_during_seal,
    ),
    rule(
        "store.before-seal-counts",
        "stores accepted before a seal become durable first and count in the sealed tail",
        store_before_seal,
    ),
    rule(
        "seal.once-durable",
        "a seal is answered once its marker is durable, sealed; again, at once; concurrent seals all answered",
        seal_once_durable,
    ),
    rule(
        "seal.wakes-waiters",
        "a seal answers every tail waiter: Sealed for a global tail not reached, Ok otherwise",
        seal_wakes_waiters,
    ),
    rule(
        "get-records.range",
        "GetRecords reads [max(from, trim + 1), min(to, local tail - 1)], at least one record over the byte limit",
        get_records_range,
    ),
    rule(
        "get-records.durable-only",
        "GetRecords returns only durable records (below the local tail)",
        get_records_durable_only,
    ),
    rule(
        "get-records.trim-gap",
        "a trimmed prefix is read as one trim gap up to the trim point",
        get_records_trim_gap,
    ),
    rule(
        "trim.bounds",
        "a trim below 1 or at or after max(global tail, local tail) is Malformed; one within is answered once durable",
        trim_bounds,
    ),
    rule(
        "trim.clipped",
        "a trim beyond the last record is clipped to local tail - 1",
        trim_clipped,
    ),
    rule(
        "trim.reads-gap-at-once",
        "reads and digests gap up to a trim as soon as it is accepted, before it is durable",
        trim_reads_gap_at_once,
    ),
    rule(
        "trim.raises-global-tail",
        "a durable trim raises the global tail to trim point + 1, and answers who waits for it",
        trim_raises_global_tail,
    ),
    rule(
        "trim.never-lowers",
        "a trim at or below the trim point is answered Ok and changes nothing",
        trim_never_lowers,
    ),
    rule(
        "wait-for-tail.local",
        "WaitForTail on the local tail is answered once a durable store reaches it, or at once",
        wait_local,
    ),
    rule(
        "wait-for-tail.global",
        "WaitForTail on the global tail is answered once a request's header carries it",
        wait_global,
    ),
    rule(
        "wait-for-tail.sealed",
        "on a sealed loglet WaitForTail is answered at once: Sealed for a global tail not reached",
        wait_sealed,
    ),
    rule(
        "digest.shape",
        "a digest is one Trimmed range, then Exists runs of consecutive offsets, nothing for holes",
        digest_shape,
    ),
    rule(
        "recovery.durable-state",
        "after a crash the records, the seal, the trim point and the pinned sequencer are recovered",
        recovery_durable_state,
    ),
    rule(
        "recovery.lost-writes",
        "after a crash, writes that were not durable are gone: the tail is back and the store can be made again",
        recovery_lost_writes,
    ),
    rule(
        "metadata.serves-peers",
        "the node learns the Logs and answers GetMetadata: the value if it holds one new enough, else none",
        metadata_serves_peers,
    ),
    rule(
        "metadata.learns-newer-version",
        "a newer version in a peer's header is fetched, served, and carried on the node's messages",
        metadata_learns_newer,
    ),
];

// ---- requests -------------------------------------------------------------------------

/// The payload of record `offset`: `r<offset>`.
fn payload(offset: u32) -> Vec<u8> {
    format!("r{offset}").into_bytes()
}

fn store_of(first: u32, count: u32, gt: u32, sequencer: u32, flags: StoreFlags) -> Request {
    Request::Store(Store {
        header: Rig::header(gt),
        first_offset: first,
        sequencer,
        flags,
        timeout_at: None,
        payloads: (0..count).map(|i| payload(first.wrapping_add(i))).collect(),
    })
}

/// A store of `count` records from `first`, by the loglet's sequencer.
fn store(first: u32, count: u32) -> Request {
    store_of(first, count, 1, SEQUENCER, StoreFlags::empty())
}

fn repair(first: u32, count: u32) -> Request {
    store_of(first, count, 1, SEQUENCER, StoreFlags::IGNORE_SEAL)
}

fn seal() -> Request {
    Request::Seal(Seal {
        header: Rig::header(1),
        sequencer: SEQUENCER,
    })
}

fn info(gt: u32) -> Request {
    Request::GetLogletInfo(Rig::header(gt))
}

fn records(from: u32, to: u32, byte_limit: Option<u64>) -> Request {
    Request::GetRecords(GetRecords {
        header: Rig::header(1),
        from_offset: from,
        to_offset: to,
        byte_limit,
    })
}

fn trim(point: u32) -> Request {
    Request::Trim(Trim {
        header: Rig::header(1),
        trim_point: point,
    })
}

fn wait(query: TailQuery) -> Request {
    Request::WaitForTail(WaitForTail {
        header: Rig::header(1),
        query,
    })
}

fn digest(from: u32, to: u32) -> Request {
    Request::GetDigest(GetDigest {
        header: Rig::header(1),
        from_offset: from,
        to_offset: to,
    })
}

// ---- expectations ---------------------------------------------------------------------

/// Holds `reply` to `ok`, or names the request, the answer and `expected`.
fn want(sent: &Sent, reply: &Reply, ok: bool, expected: &str) -> Result<(), Broken> {
    if ok {
        Ok(())
    } else {
        Err(Broken::new(&sent.text, describe::reply(reply), expected))
    }
}

/// A `Stored` with `status`; its header.
fn stored(sent: &Sent, reply: &Reply, status: Status) -> Result<ReplyHeader, Broken> {
    match reply {
        Reply::Stored(h) if h.status == status => Ok(*h),
        _ => Err(Broken::new(
            &sent.text,
            describe::reply(reply),
            &format!("Stored {}", describe::status(status)),
        )),
    }
}

/// Stores `count` records from `first` and makes them durable.
fn stored_durably(rig: &mut Rig, first: u32, count: u32) -> Result<ReplyHeader, Broken> {
    let (sent, reply) = rig.ask(SEQUENCER, store(first, count))?;
    stored(&sent, &reply, Status::Ok)
}

/// Seals the loglet and makes the marker durable.
fn sealed_durably(rig: &mut Rig) -> Result<(), Broken> {
    let (sent, reply) = rig.ask(SEQUENCER, seal())?;
    want(
        &sent,
        &reply,
        matches!(reply, Reply::Sealed(h) if h.status == Status::Ok && h.sealed),
        "Sealed Ok, sealed",
    )
}

/// The loglet's info: its header and trim point.
fn loglet_info(rig: &mut Rig, gt: u32) -> Result<(Sent, ReplyHeader, u32), Broken> {
    let (sent, reply) = rig.ask(PEER, info(gt))?;
    match reply {
        Reply::LogletInfo(i) => Ok((sent, i.header, i.trim_point)),
        other => Err(Broken::new(
            &sent.text,
            describe::reply(&other),
            "LogletInfo",
        )),
    }
}

/// Nothing answered `sent` yet (it waits for a write, a seal or a tail).
fn unanswered(rig: &Rig, sent: &Sent, why: &str) -> Result<(), Broken> {
    match rig.answered(sent) {
        None => Ok(()),
        Some(reply) => Err(Broken::new(&sent.text, describe::reply(reply), why)),
    }
}

/// The data offsets and gaps of a Records reply, as `(offset, Some(payload))` or
/// `(offset, None)` for a gap ending at the payload's place.
fn record_offsets(reply: &Reply) -> Vec<(u32, Option<Vec<u8>>)> {
    match reply {
        Reply::Records(r) => r
            .records
            .iter()
            .map(|rec| match &rec.body {
                RecordBody::Data(d) => (rec.offset, Some(d.clone())),
                RecordBody::TrimGap(to) | RecordBody::FilteredGap(to) => (*to, None),
            })
            .collect(),
        _ => Vec::new(),
    }
}

// ---- the rules ------------------------------------------------------------------------

fn one_answer_per_request(rig: &mut Rig) -> Result<(), Broken> {
    let requests = [
        store(1, 2),
        info(1),
        records(1, 2, None),
        digest(1, 2),
        wait(TailQuery::LocalTail(1)),
        trim(1),
        seal(),
    ];
    for request in requests {
        let from = if matches!(request, Request::Store(_) | Request::Seal(_)) {
            SEQUENCER
        } else {
            PEER
        };
        let (sent, reply) = rig.ask(from, request.clone())?;
        let kind_ok = matches!(
            (&request, &reply),
            (Request::Store(_), Reply::Stored(_))
                | (Request::Seal(_), Reply::Sealed(_))
                | (Request::GetLogletInfo(_), Reply::LogletInfo(_))
                | (Request::GetRecords(_), Reply::Records(_))
                | (Request::Trim(_), Reply::Trimmed(_))
                | (Request::WaitForTail(_), Reply::TailUpdated(_))
                | (Request::GetDigest(_), Reply::Digest(_))
        );
        want(&sent, &reply, kind_ok, "the reply of the request's kind")?;
        let status = crate::record::trace::reply_header(&reply).status;
        want(&sent, &reply, status == Status::Ok, "status Ok")?;
    }
    Ok(())
}

fn hello_ack(rig: &mut Rig) -> Result<(), Broken> {
    rig.hello_acks.clear();
    rig.send_body(PEER, Body::Hello, "N3 -> N1 hello")?;
    if rig.hello_acks.contains(&PEER) {
        Ok(())
    } else {
        Err(Broken::new(
            "N3 -> N1 hello",
            "no hello-ack to N3",
            "a hello-ack to N3",
        ))
    }
}

fn fresh_loglet(rig: &mut Rig) -> Result<(), Broken> {
    let (sent, h, trim_point) = loglet_info(rig, 1)?;
    let ok = h.status == Status::Ok
        && h.local_tail == 1
        && h.known_global_tail == 1
        && !h.sealed
        && trim_point == 0;
    if ok {
        Ok(())
    } else {
        Err(Broken::new(
            &sent.text,
            format!(
                "{} (local tail {}, gt {}, sealed {}) trim point {trim_point}",
                describe::status(h.status),
                h.local_tail,
                h.known_global_tail,
                h.sealed
            ),
            "LogletInfo Ok (local tail 1, gt 1) trim point 0",
        ))
    }
}

fn global_tail_max(rig: &mut Rig) -> Result<(), Broken> {
    let (sent, h, _) = loglet_info(rig, 7)?;
    if h.known_global_tail != 7 {
        return Err(Broken::new(
            &sent.text,
            format!("gt {}", h.known_global_tail),
            "gt 7",
        ));
    }
    let (sent, h, _) = loglet_info(rig, 3)?;
    if h.known_global_tail != 7 {
        return Err(Broken::new(
            &sent.text,
            format!("gt {}", h.known_global_tail),
            "gt still 7: a lower global tail never lowers it",
        ));
    }
    // Even a request answered Malformed carries its global tail in.
    let malformed = Request::GetRecords(GetRecords {
        header: Rig::header(9),
        from_offset: 4,
        to_offset: 2,
        byte_limit: None,
    });
    let (sent, reply) = rig.ask(PEER, malformed)?;
    want(
        &sent,
        &reply,
        matches!(&reply, Reply::Records(r) if r.header.status == Status::Malformed),
        "Records Malformed: from > to",
    )?;
    let (sent, h, _) = loglet_info(rig, 1)?;
    if h.known_global_tail != 9 {
        return Err(Broken::new(
            &sent.text,
            format!("gt {}", h.known_global_tail),
            "gt 9, from the malformed request before",
        ));
    }
    Ok(())
}

fn store_ok_once_durable(rig: &mut Rig) -> Result<(), Broken> {
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

fn store_record_layout(rig: &mut Rig) -> Result<(), Broken> {
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

fn store_malformed(rig: &mut Rig) -> Result<(), Broken> {
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

fn store_sealed(rig: &mut Rig) -> Result<(), Broken> {
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

fn store_disabled(rig: &mut Rig) -> Result<(), Broken> {
    let (sent, reply) = rig.ask(SEQUENCER, store(1, 1))?;
    stored(&sent, &reply, Status::Disabled)?;
    // Disabled comes before the bounds.
    let (sent, reply) = rig.ask(SEQUENCER, store(9, 1))?;
    stored(&sent, &reply, Status::Disabled)?;
    sealed_durably(rig)?;
    let (sent, reply) = rig.ask(SEQUENCER, store(1, 1))?;
    stored(&sent, &reply, Status::Sealed).map(drop)
}

fn store_sequencer_pinned(rig: &mut Rig) -> Result<(), Broken> {
    stored_durably(rig, 1, 2)?;
    let other = store_of(3, 1, 1, PEER, StoreFlags::empty());
    let (sent, reply) = rig.ask(PEER, other)?;
    stored(&sent, &reply, Status::SequencerMismatch).map(drop)
}

fn store_below_tail(rig: &mut Rig) -> Result<(), Broken> {
    stored_durably(rig, 1, 3)?;
    // N3 forwards a store naming N2 as its sequencer, below the tail.
    let (sent, reply) = rig.ask(PEER, store(2, 1))?;
    stored(&sent, &reply, Status::SequencerMismatch)?;
    let (sent, reply) = rig.ask(PEER, repair(2, 1))?;
    stored(&sent, &reply, Status::Ok).map(drop)
}

fn store_no_gaps(rig: &mut Rig) -> Result<(), Broken> {
    let (sent, reply) = rig.ask(SEQUENCER, store(5, 1))?;
    stored(&sent, &reply, Status::OutOfBounds)?;
    // With a known global tail of 5, offset 5 is next in line.
    let at_global = store_of(5, 1, 5, SEQUENCER, StoreFlags::empty());
    let (sent, reply) = rig.ask(SEQUENCER, at_global)?;
    stored(&sent, &reply, Status::Ok).map(drop)
}

fn timed(first: u32, count: u32, timeout_at: u64) -> Request {
    let mut request = store(first, count);
    if let Request::Store(s) = &mut request {
        s.timeout_at = Some(timeout_at);
    }
    request
}

fn store_expired(rig: &mut Rig) -> Result<(), Broken> {
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

fn store_duplicate_durable(rig: &mut Rig) -> Result<(), Broken> {
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

fn store_duplicate_in_flight(rig: &mut Rig) -> Result<(), Broken> {
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

fn store_check_order(rig: &mut Rig) -> Result<(), Broken> {
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

fn store_during_seal(rig: &mut Rig) -> Result<(), Broken> {
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

fn store_before_seal(rig: &mut Rig) -> Result<(), Broken> {
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

fn seal_once_durable(rig: &mut Rig) -> Result<(), Broken> {
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

fn seal_wakes_waiters(rig: &mut Rig) -> Result<(), Broken> {
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

fn get_records_range(rig: &mut Rig) -> Result<(), Broken> {
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

fn get_records_durable_only(rig: &mut Rig) -> Result<(), Broken> {
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

fn get_records_trim_gap(rig: &mut Rig) -> Result<(), Broken> {
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

fn trimmed_status(rig: &mut Rig, point: u32, status: Status) -> Result<(), Broken> {
    let (sent, reply) = rig.ask(PEER, trim(point))?;
    want(
        &sent,
        &reply,
        matches!(reply, Reply::Trimmed(h) if h.status == status),
        &format!("Trimmed {}", describe::status(status)),
    )
}

fn trim_point_is(rig: &mut Rig, point: u32, why: &str) -> Result<ReplyHeader, Broken> {
    let (sent, h, trim_point) = loglet_info(rig, 1)?;
    if trim_point != point {
        return Err(Broken::new(
            &sent.text,
            format!("trim point {trim_point}"),
            &format!("trim point {point}: {why}"),
        ));
    }
    Ok(h)
}

fn trim_bounds(rig: &mut Rig) -> Result<(), Broken> {
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

fn trim_clipped(rig: &mut Rig) -> Result<(), Broken> {
    stored_durably(rig, 1, 3)?;
    loglet_info(rig, 10)?;
    trimmed_status(rig, 8, Status::Ok)?;
    trim_point_is(rig, 3, "a trim is clipped to local tail - 1").map(drop)
}

fn trim_reads_gap_at_once(rig: &mut Rig) -> Result<(), Broken> {
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

fn trim_raises_global_tail(rig: &mut Rig) -> Result<(), Broken> {
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

fn trim_never_lowers(rig: &mut Rig) -> Result<(), Broken> {
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

fn wait_local(rig: &mut Rig) -> Result<(), Broken> {
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

fn wait_global(rig: &mut Rig) -> Result<(), Broken> {
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

fn wait_sealed(rig: &mut Rig) -> Result<(), Broken> {
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

fn digest_shape(rig: &mut Rig) -> Result<(), Broken> {
    stored_durably(rig, 1, 3)?;
    // With gt 5, records 5..6 follow a hole at 4.
    let (sent, reply) = rig.ask(SEQUENCER, store_of(5, 2, 5, SEQUENCER, StoreFlags::empty()))?;
    stored(&sent, &reply, Status::Ok)?;
    trimmed_status(rig, 1, Status::Ok)?;
    let (sent, reply) = rig.ask(PEER, digest(1, 8))?;
    let entries: Vec<(u32, u32, RecordStatus)> = match &reply {
        Reply::Digest(d) if d.header.status == Status::Ok => d
            .entries
            .iter()
            .map(|e| (e.from_offset, e.to_offset, e.status))
            .collect(),
        _ => Vec::new(),
    };
    let expected = vec![
        (1, 1, RecordStatus::Trimmed),
        (2, 3, RecordStatus::Exists),
        (5, 6, RecordStatus::Exists),
    ];
    want(
        &sent,
        &reply,
        entries == expected,
        "Digest Ok [1..1 trimmed, 2..3 exists, 5..6 exists]",
    )?;
    let (sent, reply) = rig.ask(PEER, digest(6, 2))?;
    want(
        &sent,
        &reply,
        matches!(&reply, Reply::Digest(d) if d.header.status == Status::Malformed),
        "Digest Malformed: from > to",
    )
}

fn recovery_durable_state(rig: &mut Rig) -> Result<(), Broken> {
    stored_durably(rig, 1, 3)?;
    trimmed_status(rig, 1, Status::Ok)?;
    sealed_durably(rig)?;
    rig.crash();
    rig.restart()?;
    let (sent, h, trim_point) = loglet_info(rig, 1)?;
    let ok = h.local_tail == 4 && h.sealed && trim_point == 1 && h.known_global_tail >= 2;
    if !ok {
        return Err(Broken::new(
            &sent.text,
            format!(
                "local tail {}, gt {}, sealed {}, trim point {trim_point}",
                h.local_tail, h.known_global_tail, h.sealed
            ),
            "local tail 4, gt >= 2, sealed, trim point 1, as before the crash",
        ));
    }
    let (sent, reply) = rig.ask(SEQUENCER, store(4, 1))?;
    stored(&sent, &reply, Status::Sealed)?;
    let (sent, reply) = rig.ask(PEER, records(1, 3, None))?;
    let expected = vec![(1, None), (2, Some(payload(2))), (3, Some(payload(3)))];
    want(
        &sent,
        &reply,
        record_offsets(&reply) == expected,
        "a trim gap at 1, then records 2, 3",
    )?;
    // The pinned sequencer survives too (a repair store naming another is refused).
    let other = store_of(4, 1, 1, PEER, StoreFlags::IGNORE_SEAL);
    let (sent, reply) = rig.ask(PEER, other)?;
    stored(&sent, &reply, Status::SequencerMismatch).map(drop)
}

fn recovery_lost_writes(rig: &mut Rig) -> Result<(), Broken> {
    stored_durably(rig, 1, 2)?;
    rig.send(SEQUENCER, store(3, 2))?;
    rig.crash();
    rig.restart()?;
    let (sent, h, _) = loglet_info(rig, 1)?;
    if h.local_tail != 3 {
        return Err(Broken::new(
            &sent.text,
            format!("local tail {}", h.local_tail),
            "local tail 3: records 3..4 were not durable when N1 crashed",
        ));
    }
    let (sent, reply) = rig.ask(PEER, records(1, 10, None))?;
    let expected = vec![(1, Some(payload(1))), (2, Some(payload(2)))];
    want(
        &sent,
        &reply,
        record_offsets(&reply) == expected,
        "records 1, 2 only",
    )?;
    let h = stored_durably(rig, 3, 2)?;
    if h.local_tail != 5 {
        return Err(Broken::new(
            "N2 -> N1 Store 0_0 [3..4] again",
            format!("local tail {}", h.local_tail),
            "local tail 5",
        ));
    }
    Ok(())
}

/// Asks the node for the Logs at `min` or newer, as peer N3; the version it answers (0
/// for none).
fn get_metadata(rig: &mut Rig, min: u32) -> Result<u32, Broken> {
    let id = rig.next_id();
    let text = format!("N3 -> N1 GetMetadata Logs >= v{min}");
    let before = rig.metadata_answers.len();
    rig.send_body(
        PEER,
        Body::GetMetadata((id, MetadataKind::Logs, min)),
        &text,
    )?;
    let answers: Vec<_> = rig.metadata_answers[before..]
        .iter()
        .filter(|(answer, _)| *answer == id)
        .collect();
    match answers.as_slice() {
        [(_, version)] => Ok(*version),
        [] => Err(Broken::new(
            &text,
            "no MetadataUpdate",
            "a MetadataUpdate with the same id",
        )),
        more => Err(Broken::new(
            &text,
            format!("{} MetadataUpdates", more.len()),
            "exactly one MetadataUpdate",
        )),
    }
}

fn metadata_serves_peers(rig: &mut Rig) -> Result<(), Broken> {
    rig.advance(
        15_000_000_000,
        "let 15 s pass, for the node to read the Logs",
    )?;
    let held = get_metadata(rig, 2)?;
    if held != 2 {
        return Err(Broken::new(
            "N3 -> N1 GetMetadata Logs >= v2, 15 s after start",
            format!("answered v{held} (0: none)"),
            "Logs v2, which the store has held since the start",
        ));
    }
    let newer = get_metadata(rig, 3)?;
    if newer != 0 {
        return Err(Broken::new(
            "N3 -> N1 GetMetadata Logs >= v3",
            format!("answered v{newer}"),
            "none: N1 holds no v3",
        ));
    }
    Ok(())
}

fn metadata_learns_newer(rig: &mut Rig) -> Result<(), Broken> {
    rig.advance(
        15_000_000_000,
        "let 15 s pass, for the node to read the Logs",
    )?;
    rig.publish_logs(3);
    // A request whose header carries Logs v3.
    loglet_info(rig, 1)?;
    rig.advance(
        15_000_000_000,
        "let 15 s pass after N1 saw Logs v3 in a header",
    )?;
    let held = get_metadata(rig, 3)?;
    if held != 3 {
        return Err(Broken::new(
            "N3 -> N1 GetLogletInfo carrying Logs v3; 15 s; GetMetadata Logs >= v3",
            format!("answered v{held} (0: none)"),
            "Logs v3: a newer version seen in a header is fetched",
        ));
    }
    let (sent, _, _) = loglet_info(rig, 1)?;
    let carried = rig
        .last_versions
        .iter()
        .find(|v| v.kind == MetadataKind::Logs)
        .map(|v| v.version);
    if carried != Some(3) {
        return Err(Broken::new(
            &sent.text,
            format!("the reply carried Logs {carried:?}"),
            "the reply carrying Logs v3 in its versions",
        ));
    }
    Ok(())
}
