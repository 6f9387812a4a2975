//! What the rules hold the answers to: the checks the families share, each named for
//! what it checks. `ask_*` sends a request and makes its writes durable before it looks
//! at the answer (as [`Rig::ask`] does); `answer_*` takes the answer to a request sent
//! before; the others look at an answer already taken, or at the loglet's info. A failed
//! check names the request, the answer and what was expected, in the words the rules
//! always used. It uses [`requests`](super::requests), and no family.

use super::requests::{info, payload, seal, store, trim};
use crate::bindings::logsandbox::node::log_server_protocol::{RecordBody, Records};
use crate::bindings::{Reply, ReplyHeader, Request, Status};
use crate::conform::describe;
use crate::conform::rig::{Broken, PEER, Rig, SEQUENCER, Sent};
use crate::record::trace::{reply_header, reply_kind};

/// Holds `reply` to `ok`, or names the request, the answer and `expected`.
pub(super) fn want(sent: &Sent, reply: &Reply, ok: bool, expected: &str) -> Result<(), Broken> {
    if ok {
        Ok(())
    } else {
        Err(Broken::new(&sent.text, describe::reply(reply), expected))
    }
}

/// Takes the answer to `sent`, sent back to `from`, and holds it to `ok`, as [`want`]
/// does.
fn answer_holds(
    rig: &mut Rig,
    sent: &Sent,
    from: u32,
    ok: impl FnOnce(&Reply) -> bool,
    expected: &str,
) -> Result<(), Broken> {
    let reply = rig.reply(sent, from)?;
    want(sent, &reply, ok(&reply), expected)
}

/// Whether `reply` is of `kind` (`Sealed`, `Trimmed`..., as [`reply_kind`] names it), with
/// `status`, and with a header that `holds`.
fn is(reply: &Reply, kind: &str, status: Status, holds: impl FnOnce(&ReplyHeader) -> bool) -> bool {
    let h = reply_header(reply);
    reply_kind(reply) == kind && h.status == status && holds(&h)
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

/// A `Stored` with `status` whose header `holds` too (`expected` says what it must hold);
/// its header.
pub(super) fn stored_where(
    sent: &Sent,
    reply: &Reply,
    status: Status,
    holds: impl FnOnce(&ReplyHeader) -> bool,
    expected: &str,
) -> Result<ReplyHeader, Broken> {
    let h = stored(sent, reply, status)?;
    want(sent, reply, holds(&h), expected)?;
    Ok(h)
}

/// Sends `request` from `from`, makes its writes durable, and holds the answer to
/// `Stored <status>`; its header.
pub(super) fn ask_stored(
    rig: &mut Rig,
    from: u32,
    request: Request,
    status: Status,
) -> Result<ReplyHeader, Broken> {
    let (sent, reply) = rig.ask(from, request)?;
    stored(&sent, &reply, status)
}

/// Takes the answer to `sent`, sent back to `from`, and holds it to `Stored <status>`; its
/// header.
pub(super) fn answer_stored(
    rig: &mut Rig,
    sent: &Sent,
    from: u32,
    status: Status,
) -> Result<ReplyHeader, Broken> {
    let reply = rig.reply(sent, from)?;
    stored(sent, &reply, status)
}

/// Takes the answer to the store `sent` by the sequencer and holds it to `Stored Ok` with
/// local tail `tail`.
pub(super) fn answer_stored_with_tail(rig: &mut Rig, sent: &Sent, tail: u32) -> Result<(), Broken> {
    let reply = rig.reply(sent, SEQUENCER)?;
    let expected = format!("Stored Ok with local tail {tail}");
    stored_where(
        sent,
        &reply,
        Status::Ok,
        |h| h.local_tail == tail,
        &expected,
    )
    .map(drop)
}

/// Stores `count` records from `first` and makes them durable.
pub(super) fn stored_durably(rig: &mut Rig, first: u32, count: u32) -> Result<ReplyHeader, Broken> {
    ask_stored(rig, SEQUENCER, store(first, count), Status::Ok)
}

/// Takes the answer to the seal `sent`, sent back to `from`, and holds it to `Sealed Ok`,
/// sealed, with a header that `holds`.
pub(super) fn answer_sealed(
    rig: &mut Rig,
    sent: &Sent,
    from: u32,
    holds: impl FnOnce(&ReplyHeader) -> bool,
    expected: &str,
) -> Result<(), Broken> {
    let ok = |r: &Reply| is(r, "Sealed", Status::Ok, |h| h.sealed && holds(h));
    answer_holds(rig, sent, from, ok, expected)
}

/// Seals the loglet (as the sequencer), makes the marker durable, and holds the answer to
/// `Sealed Ok`, sealed.
pub(super) fn sealed_durably(rig: &mut Rig) -> Result<(), Broken> {
    let sent = rig.send(SEQUENCER, seal())?;
    rig.sync(&sent.text)?;
    answer_sealed(rig, &sent, SEQUENCER, |_| true, "Sealed Ok, sealed")
}

/// Trims to `point`, as the peer, makes the trim durable, and holds the answer to
/// `Trimmed <status>`.
pub(super) fn ask_trimmed(rig: &mut Rig, point: u32, status: Status) -> Result<(), Broken> {
    let (sent, reply) = rig.ask(PEER, trim(point))?;
    let expected = format!("Trimmed {}", describe::status(status));
    want(
        &sent,
        &reply,
        is(&reply, "Trimmed", status, |_| true),
        &expected,
    )
}

/// Takes the answer to the trim `sent` by the peer and holds it to `Trimmed Ok` with a
/// header that `holds`.
pub(super) fn answer_trimmed(
    rig: &mut Rig,
    sent: &Sent,
    holds: impl FnOnce(&ReplyHeader) -> bool,
    expected: &str,
) -> Result<(), Broken> {
    let ok = |r: &Reply| is(r, "Trimmed", Status::Ok, holds);
    answer_holds(rig, sent, PEER, ok, expected)
}

/// Takes the answer to the wait `sent` by the peer and holds it to `TailUpdated <status>`
/// with a header that `holds`.
pub(super) fn tail_updated(
    rig: &mut Rig,
    sent: &Sent,
    status: Status,
    holds: impl FnOnce(&ReplyHeader) -> bool,
    expected: &str,
) -> Result<(), Broken> {
    let ok = |r: &Reply| is(r, "TailUpdated", status, holds);
    answer_holds(rig, sent, PEER, ok, expected)
}

/// What a read returns, as [`record_offsets`] lists it: a trim gap up to `gap` if any,
/// then the records `offsets` with their payloads.
pub(super) fn read_of(gap: Option<u32>, offsets: &[u32]) -> Vec<(u32, Option<Vec<u8>>)> {
    let data = offsets.iter().map(|&o| (o, Some(payload(o))));
    gap.map(|to| (to, None)).into_iter().chain(data).collect()
}

/// Whether `reply` is a `Records` that `holds` and returns `expected` (as
/// [`record_offsets`] lists it, see [`read_of`]).
fn read_is(
    reply: &Reply,
    holds: impl FnOnce(&Records) -> bool,
    expected: &[(u32, Option<Vec<u8>>)],
) -> bool {
    matches!(reply, Reply::Records(r) if holds(r)) && record_offsets(reply) == expected
}

/// Reads with `request`, as the peer, after making every write durable, and holds the
/// answer to be a `Records` that `holds` and returns `expected`; `says` what it must be.
pub(super) fn ask_records(
    rig: &mut Rig,
    request: Request,
    holds: impl FnOnce(&Records) -> bool,
    expected: &[(u32, Option<Vec<u8>>)],
    says: &str,
) -> Result<(), Broken> {
    let (sent, reply) = rig.ask(PEER, request)?;
    want(&sent, &reply, read_is(&reply, holds, expected), says)
}

/// Takes the answer to the read `sent` by the peer and holds it to be a `Records` that
/// `holds` and returns `expected`; `says` what it must be.
pub(super) fn answer_records(
    rig: &mut Rig,
    sent: &Sent,
    holds: impl FnOnce(&Records) -> bool,
    expected: &[(u32, Option<Vec<u8>>)],
    says: &str,
) -> Result<(), Broken> {
    let ok = |r: &Reply| read_is(r, holds, expected);
    answer_holds(rig, sent, PEER, ok, says)
}

/// Asks `request`, a GetRecords or a GetDigest from an offset after the one it reads to,
/// as the peer, and holds the answer to `Records Malformed` or `Digest Malformed`.
pub(super) fn from_after_to(rig: &mut Rig, request: Request) -> Result<(), Broken> {
    let kind = match request {
        Request::GetDigest(_) => "Digest",
        _ => "Records",
    };
    let (sent, reply) = rig.ask(PEER, request)?;
    let ok = is(&reply, kind, Status::Malformed, |_| true);
    want(&sent, &reply, ok, &format!("{kind} Malformed: from > to"))
}

/// The loglet's info, asked by the peer with known global tail `gt`: the request, its
/// header and trim point.
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

/// The loglet's info, asked with known global tail `gt`, shows `value` as its `what`
/// (read from the header and the trim point), or names what it shows and `expected`.
fn info_shows(
    rig: &mut Rig,
    gt: u32,
    what: &str,
    read: impl FnOnce(&ReplyHeader, u32) -> u32,
    value: u32,
    expected: &str,
) -> Result<(), Broken> {
    let (sent, h, trim_point) = loglet_info(rig, gt)?;
    let shown = read(&h, trim_point);
    if shown == value {
        Ok(())
    } else {
        Err(Broken::new(&sent.text, format!("{what} {shown}"), expected))
    }
}

/// The loglet's info, asked with known global tail `gt`, shows global tail `value`.
pub(super) fn global_tail_is(
    rig: &mut Rig,
    gt: u32,
    value: u32,
    expected: &str,
) -> Result<(), Broken> {
    info_shows(rig, gt, "gt", |h, _| h.known_global_tail, value, expected)
}

/// The loglet's info shows local tail `value`.
pub(super) fn local_tail_is(rig: &mut Rig, value: u32, expected: &str) -> Result<(), Broken> {
    info_shows(rig, 1, "local tail", |h, _| h.local_tail, value, expected)
}

/// The loglet's trim point is `point` (`why` says why it must be).
pub(super) fn trim_point_is(rig: &mut Rig, point: u32, why: &str) -> Result<(), Broken> {
    let expected = format!("trim point {point}: {why}");
    info_shows(
        rig,
        1,
        "trim point",
        |_, trim_point| trim_point,
        point,
        &expected,
    )
}

/// Nothing answered `sent` yet (it waits for a write, a seal or a tail).
pub(super) fn unanswered(rig: &Rig, sent: &Sent, why: &str) -> Result<(), Broken> {
    match rig.answered(sent) {
        None => Ok(()),
        Some(reply) => Err(Broken::new(&sent.text, describe::reply(reply), why)),
    }
}

/// No write is waiting to become durable: `sent` made none. Else names `sent`, `answer`
/// (the writes made) and `expected`.
pub(super) fn no_write(rig: &Rig, sent: &Sent, answer: &str, expected: &str) -> Result<(), Broken> {
    if rig.pending_writes() > 0 {
        Err(Broken::new(&sent.text, answer, expected))
    } else {
        Ok(())
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
