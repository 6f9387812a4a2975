//! What the rules send: the requests, each built as the loglet's sequencer or a peer
//! would send it on loglet `0_0`, and the payload every record carries. It uses no
//! family, and nothing else of the rules.

use crate::bindings::Request;
use crate::bindings::logsandbox::node::log_server_protocol::{
    GetDigest, GetRecords, Seal, Store, StoreFlags, TailQuery, Trim, WaitForTail,
};
use crate::conform::rig::{Rig, SEQUENCER};

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

/// `request`, on loglet `loglet` instead of `0_0`.
pub(super) fn on_loglet(mut request: Request, loglet: u64) -> Request {
    let header = match &mut request {
        Request::Store(r) => &mut r.header,
        Request::GetLogletInfo(h) => h,
        Request::GetRecords(r) => &mut r.header,
        Request::Trim(r) => &mut r.header,
        Request::Seal(r) => &mut r.header,
        Request::WaitForTail(r) => &mut r.header,
        Request::GetDigest(r) => &mut r.header,
    };
    header.loglet_id = loglet;
    request
}

/// A GetDigest of `[from, to]`.
pub(super) fn digest(from: u32, to: u32) -> Request {
    Request::GetDigest(GetDigest {
        header: Rig::header(1),
        from_offset: from,
        to_offset: to,
    })
}
