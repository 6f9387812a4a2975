//! Requests and answers as a conformance failure shows them: every field a rule looks at.

use crate::bindings::logsandbox::node::log_server_protocol::{
    RecordBody, RecordStatus, ReplyHeader, StoreFlags, TailQuery,
};
use crate::bindings::{Reply, Request, Status};

/// `Store 0_0 [1..3] sequencer N2 gt=1`: the kind, the loglet, what the request asks, its
/// known global tail, then a store's flags and deadline.
pub fn request(request: &Request) -> String {
    let (kind, header, asks, after) = match request {
        Request::Store(s) => {
            let range = match (s.first_offset as u64 + s.payloads.len() as u64).checked_sub(1) {
                Some(last) if !s.payloads.is_empty() => format!("[{}..{last}]", s.first_offset),
                _ => format!("[{}, no records]", s.first_offset),
            };
            let mut after = String::new();
            if s.flags.contains(StoreFlags::IGNORE_SEAL) {
                after.push_str(" repair");
            }
            if let Some(at) = s.timeout_at {
                after.push_str(&format!(" timeout-at={}", crate::time::fmt_duration(at)));
            }
            let asks = format!(" {range} sequencer N{}", s.sequencer);
            ("Store", &s.header, asks, after)
        }
        Request::Seal(s) => (
            "Seal",
            &s.header,
            format!(" sequencer N{}", s.sequencer),
            String::new(),
        ),
        Request::GetLogletInfo(h) => ("GetLogletInfo", h, String::new(), String::new()),
        Request::GetRecords(g) => {
            let limit = g
                .byte_limit
                .map(|b| format!(" byte-limit={b}"))
                .unwrap_or_default();
            let asks = format!(" [{}, {}]{limit}", g.from_offset, g.to_offset);
            ("GetRecords", &g.header, asks, String::new())
        }
        Request::Trim(t) => (
            "Trim",
            &t.header,
            format!(" to {}", t.trim_point),
            String::new(),
        ),
        Request::WaitForTail(w) => {
            let asks = match w.query {
                TailQuery::LocalTail(t) => format!(" local tail >= {t}"),
                TailQuery::GlobalTail(t) => format!(" global tail >= {t}"),
                TailQuery::LocalOrGlobal(t) => format!(" local or global tail >= {t}"),
            };
            ("WaitForTail", &w.header, asks, String::new())
        }
        Request::GetDigest(g) => {
            let asks = format!(" [{}, {}]", g.from_offset, g.to_offset);
            ("GetDigest", &g.header, asks, String::new())
        }
    };
    format!(
        "{kind} {}{asks} gt={}{after}",
        crate::op::fmt_loglet(header.loglet_id),
        header.known_global_tail
    )
}

/// `Stored Ok (local tail 4, gt 4)`, with the trim point, records or digest entries it
/// carries.
pub fn reply(reply: &Reply) -> String {
    let carries = match reply {
        Reply::Stored(_) | Reply::Sealed(_) | Reply::Trimmed(_) | Reply::TailUpdated(_) => {
            String::new()
        }
        Reply::LogletInfo(i) => format!(" trim point {}", i.trim_point),
        Reply::Records(r) => {
            let records: Vec<String> = r
                .records
                .iter()
                .map(|rec| match &rec.body {
                    RecordBody::Data(d) => format!("{}:{}", rec.offset, payload(d)),
                    RecordBody::TrimGap(to) => format!("{}:trim-gap..{to}", rec.offset),
                    RecordBody::FilteredGap(to) => format!("{}:filtered-gap..{to}", rec.offset),
                })
                .collect();
            format!(" next {} [{}]", r.next_offset, records.join(", "))
        }
        Reply::Digest(d) => {
            let entries: Vec<String> = d
                .entries
                .iter()
                .map(|e| {
                    let status = match e.status {
                        RecordStatus::Unknown => "unknown",
                        RecordStatus::Trimmed => "trimmed",
                        RecordStatus::Archived => "archived",
                        RecordStatus::Exists => "exists",
                    };
                    format!("{}..{} {status}", e.from_offset, e.to_offset)
                })
                .collect();
            format!(" [{}]", entries.join(", "))
        }
    };
    format!(
        "{} {}{carries}",
        crate::record::trace::reply_kind(reply),
        header(&crate::record::trace::reply_header(reply))
    )
}

/// A status as the WIT names it, capitalised: `Ok`, `SequencerMismatch`.
pub fn status(status: Status) -> &'static str {
    match status {
        Status::Ok => "Ok",
        Status::Disabled => "Disabled",
        Status::Dropped => "Dropped",
        Status::Sealed => "Sealed",
        Status::Sealing => "Sealing",
        Status::SequencerMismatch => "SequencerMismatch",
        Status::OutOfBounds => "OutOfBounds",
        Status::Malformed => "Malformed",
    }
}

fn header(h: &ReplyHeader) -> String {
    format!(
        "{} (local tail {}, gt {}{})",
        status(h.status),
        h.local_tail,
        h.known_global_tail,
        if h.sealed { ", sealed" } else { "" }
    )
}

/// A payload as text when it is printable ASCII, else its length.
fn payload(bytes: &[u8]) -> String {
    if !bytes.is_empty() && bytes.iter().all(|b| b.is_ascii_graphic()) && bytes.len() <= 16 {
        format!("{:?}", String::from_utf8_lossy(bytes))
    } else {
        format!("{} bytes", bytes.len())
    }
}
