//! The basics every request relies on: one answer per request, of its kind
//! (`answer.*`); a hello answered (`peers.*`); a loglet never seen (`loglet.*`); the
//! known global tail a header carries, merged with max() (`header.*`); loglets kept apart
//! (`loglet.independent`: a chain gives a log several, `0_0`, `0_1`...).

use super::answers::{from_after_to, global_tail_is, loglet_info, want};
use super::requests::{digest, info, on_loglet, records, seal, store, store_of, trim, wait};
use crate::bindings::logsandbox::node::log_server_protocol::{GetRecords, StoreFlags, TailQuery};
use crate::bindings::{Body, Reply, Request, Status};
use crate::conform::describe;
use crate::conform::rig::{Broken, PEER, Rig, SEQUENCER};

/// `answer.one-per-request`: see [`RULES`](super::RULES).
pub(super) fn one_answer_per_request(rig: &mut Rig) -> Result<(), Broken> {
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

/// `peers.hello-ack`: see [`RULES`](super::RULES).
pub(super) fn hello_ack(rig: &mut Rig) -> Result<(), Broken> {
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

/// `loglet.fresh`: see [`RULES`](super::RULES).
pub(super) fn fresh_loglet(rig: &mut Rig) -> Result<(), Broken> {
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

/// `loglet.independent`: see [`RULES`](super::RULES).
pub(super) fn loglets_independent(rig: &mut Rig) -> Result<(), Broken> {
    // Loglet 0_0: two records, sealed, trimmed to 1.
    let steps = [
        (SEQUENCER, store(1, 2), "Stored Ok"),
        (SEQUENCER, seal(), "Sealed Ok"),
        (PEER, trim(1), "Trimmed Ok"),
    ];
    for (from, request, expected) in steps {
        let (sent, reply) = rig.ask(from, request)?;
        let status = crate::record::trace::reply_header(&reply).status;
        want(&sent, &reply, status == Status::Ok, expected)?;
    }
    // Loglet 0_1 (the next segment's) is untouched: open, empty, untrimmed.
    const NEXT: u64 = 1;
    let (sent, reply) = rig.ask(PEER, on_loglet(info(1), NEXT))?;
    let fresh = matches!(&reply, Reply::LogletInfo(i)
        if i.header.status == Status::Ok
            && i.header.local_tail == 1
            && !i.header.sealed
            && i.trim_point == 0);
    want(
        &sent,
        &reply,
        fresh,
        "LogletInfo Ok of 0_1 (local tail 1, not sealed) trim point 0",
    )?;
    // Its sequencer is pinned apart: another node may sequence 0_1.
    let other = store_of(1, 1, 1, PEER, StoreFlags::empty());
    let (sent, reply) = rig.ask(PEER, on_loglet(other, NEXT))?;
    let status = crate::record::trace::reply_header(&reply).status;
    want(
        &sent,
        &reply,
        status == Status::Ok,
        "Stored Ok: 0_1 pins its own sequencer",
    )
}

/// `header.global-tail-max`: see [`RULES`](super::RULES).
pub(super) fn global_tail_max(rig: &mut Rig) -> Result<(), Broken> {
    global_tail_is(rig, 7, 7, "gt 7")?;
    global_tail_is(rig, 3, 7, "gt still 7: a lower global tail never lowers it")?;
    // Even a request answered Malformed carries its global tail in.
    let malformed = Request::GetRecords(GetRecords {
        header: Rig::header(9),
        from_offset: 4,
        to_offset: 2,
        byte_limit: None,
    });
    from_after_to(rig, malformed)?;
    global_tail_is(rig, 1, 9, "gt 9, from the malformed request before")
}
