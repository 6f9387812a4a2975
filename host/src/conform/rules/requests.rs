//! What the rules send, and what they hold the answers to: the request builders, and the
//! checks on answers that several families share. It uses no family.

use crate::bindings::logsandbox::node::log_server_protocol::{
    GetDigest, GetRecords, RecordBody, Seal, Store, StoreFlags, TailQuery, Trim, WaitForTail,
};
use crate::bindings::{Reply, ReplyHeader, Request, Status};
use crate::conform::describe;
use crate::conform::rig::{Broken, PEER, Rig, SEQUENCER, Sent};

/// The payload of record `offset`: `r<offset>`.
pub(super) fn payload(offset: u32) -> Vec<u8> {
    format!("r{offset}").into_bytes()
}

/// A store of `count` records from `first` (payloads [`payload`]), with known global
/// tail `gt`, naming `sequencer`, with `flags` and no deadline.
pub(super) fn store_of(
    first: u32,
    count: u32,
    gt: u32,
    sequencer: u32,
    flags: StoreFlags,
) -> Request {
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
pub(super) fn store(first: u32, count: u32) -> Request {
    store_of(first, count, 1, SEQUENCER, StoreFlags::empty())
}

/// A repair store (it ignores the seal) of `count` records from `first`, by the loglet's
/// sequencer.
pub(super) fn repair(first: u32, count: u32) -> Request {
    store_of(first, count, 1, SEQUENCER, StoreFlags::IGNORE_SEAL)
}

/// A [`store`] of `count` records from `first` that expires at `timeout_at`.
pub(super) fn timed(first: u32, count: u32, timeout_at: u64) -> Request {
    let mut request = store(first, count);
    if let Request::Store(s) = &mut request {
        s.timeout_at = Some(timeout_at);
    }
    request
}

/// A seal, naming the loglet's sequencer.
pub(super) fn seal() -> Request {
    Request::Seal(Seal {
        header: Rig::header(1),
        sequencer: SEQUENCER,
    })
}

/// A GetLogletInfo carrying known global tail `gt`.
pub(super) fn info(gt: u32) -> Request {
    Request::GetLogletInfo(Rig::header(gt))
}

/// A GetRecords of `[from, to]`, under `byte_limit` if any.
pub(super) fn records(from: u32, to: u32, byte_limit: Option<u64>) -> Request {
    Request::GetRecords(GetRecords {
        header: Rig::header(1),
        from_offset: from,
        to_offset: to,
        byte_limit,
    })
}

/// A trim to `point`.
pub(super) fn trim(point: u32) -> Request {
    Request::Trim(Trim {
        header: Rig::header(1),
        trim_point: point,
    })
}

/// A WaitForTail on `query`.
pub(super) fn wait(query: TailQuery) -> Request {
    Request::WaitForTail(WaitForTail {
        header: Rig::header(1),
        query,
    })
}

/// A GetDigest of `[from, to]`.
pub(super) fn digest(from: u32, to: u32) -> Request {
    Request::GetDigest(GetDigest {
        header: Rig::header(1),
        from_offset: from,
        to_offset: to,
    })
}

/// Holds `reply` to `ok`, or names the request, the answer and `expected`.
pub(super) fn want(sent: &Sent, reply: &Reply, ok: bool, expected: &str) -> Result<(), Broken> {
    if ok {
        Ok(())
    } else {
        Err(Broken::new(&sent.text, describe::reply(reply), expected))
    }
}

/// A `Stored` with `status`; its header.
pub(super) fn stored(sent: &Sent, reply: &Reply, status: Status) -> Result<ReplyHeader, Broken> {
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
pub(super) fn stored_durably(rig: &mut Rig, first: u32, count: u32) -> Result<ReplyHeader, Broken> {
    let (sent, reply) = rig.ask(SEQUENCER, store(first, count))?;
    stored(&sent, &reply, Status::Ok)
}

/// Seals the loglet and makes the marker durable.
pub(super) fn sealed_durably(rig: &mut Rig) -> Result<(), Broken> {
    let (sent, reply) = rig.ask(SEQUENCER, seal())?;
    want(
        &sent,
        &reply,
        matches!(reply, Reply::Sealed(h) if h.status == Status::Ok && h.sealed),
        "Sealed Ok, sealed",
    )
}

/// The loglet's info: its header and trim point.
pub(super) fn loglet_info(rig: &mut Rig, gt: u32) -> Result<(Sent, ReplyHeader, u32), Broken> {
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
pub(super) fn unanswered(rig: &Rig, sent: &Sent, why: &str) -> Result<(), Broken> {
    match rig.answered(sent) {
        None => Ok(()),
        Some(reply) => Err(Broken::new(&sent.text, describe::reply(reply), why)),
    }
}

/// The data offsets and gaps of a Records reply, as `(offset, Some(payload))` or
/// `(offset, None)` for a gap ending at the payload's place.
pub(super) fn record_offsets(reply: &Reply) -> Vec<(u32, Option<Vec<u8>>)> {
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

/// Trims to `point`, as the peer, and holds the answer to `Trimmed <status>`.
pub(super) fn trimmed_status(rig: &mut Rig, point: u32, status: Status) -> Result<(), Broken> {
    let (sent, reply) = rig.ask(PEER, trim(point))?;
    want(
        &sent,
        &reply,
        matches!(reply, Reply::Trimmed(h) if h.status == status),
        &format!("Trimmed {}", describe::status(status)),
    )
}

/// The loglet's trim point is `point` (`why` says why it must be); its header.
pub(super) fn trim_point_is(rig: &mut Rig, point: u32, why: &str) -> Result<ReplyHeader, Broken> {
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
