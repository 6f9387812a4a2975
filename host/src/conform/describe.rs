//! Requests and answers as a conformance failure shows them: every field a rule looks at.

use crate::bindings::logsandbox::node::log_server_protocol::{
    RecordBody, RecordStatus, ReplyHeader, StoreFlags, TailQuery,
};
use crate::bindings::{Reply, Request, Status};

/// `Store 0_0 [1..3] sequencer N2 gt=1`, with its flags and deadline.
pub fn request(request: &Request) -> String {
    let loglet = |id: u64| format!("{}_{}", id >> 32, id & 0xffff_ffff);
    match request {
        Request::Store(s) => {
            let range = match (s.first_offset as u64 + s.payloads.len() as u64).checked_sub(1) {
                Some(last) if !s.payloads.is_empty() => format!("[{}..{last}]", s.first_offset),
                _ => format!("[{}, no records]", s.first_offset),
            };
            let mut text = format!(
                "Store {} {range} sequencer N{} gt={}",
                loglet(s.header.loglet_id),
                s.sequencer,
                s.header.known_global_tail
            );
            if s.flags.contains(StoreFlags::IGNORE_SEAL) {
                text.push_str(" repair");
            }
            if let Some(at) = s.timeout_at {
                text.push_str(&format!(" timeout-at={}", crate::time::fmt_duration(at)));
            }
            text
        }
        Request::Seal(s) => format!(
            "Seal {} sequencer N{} gt={}",
            loglet(s.header.loglet_id),
            s.sequencer,
            s.header.known_global_tail
        ),
        Request::GetLogletInfo(h) => {
            format!(
                "GetLogletInfo {} gt={}",
                loglet(h.loglet_id),
                h.known_global_tail
            )
        }
        Request::GetRecords(g) => format!(
            "GetRecords {} [{}, {}]{} gt={}",
            loglet(g.header.loglet_id),
            g.from_offset,
            g.to_offset,
            g.byte_limit
                .map(|b| format!(" byte-limit={b}"))
                .unwrap_or_default(),
            g.header.known_global_tail
        ),
        Request::Trim(t) => format!(
            "Trim {} to {} gt={}",
            loglet(t.header.loglet_id),
            t.trim_point,
            t.header.known_global_tail
        ),
        Request::WaitForTail(w) => {
            let query = match w.query {
                TailQuery::LocalTail(t) => format!("local tail >= {t}"),
                TailQuery::GlobalTail(t) => format!("global tail >= {t}"),
                TailQuery::LocalOrGlobal(t) => format!("local or global tail >= {t}"),
            };
            format!(
                "WaitForTail {} {query} gt={}",
                loglet(w.header.loglet_id),
                w.header.known_global_tail
            )
        }
        Request::GetDigest(g) => format!(
            "GetDigest {} [{}, {}] gt={}",
            loglet(g.header.loglet_id),
            g.from_offset,
            g.to_offset,
            g.header.known_global_tail
        ),
    }
}

/// `Stored Ok (local tail 4, gt 4)`, with the records or digest entries it carries.
pub fn reply(reply: &Reply) -> String {
    match reply {
        Reply::Stored(h) => format!("Stored {}", header(h)),
        Reply::Sealed(h) => format!("Sealed {}", header(h)),
        Reply::Trimmed(h) => format!("Trimmed {}", header(h)),
        Reply::TailUpdated(h) => format!("TailUpdated {}", header(h)),
        Reply::LogletInfo(i) => format!(
            "LogletInfo {} trim point {}",
            header(&i.header),
            i.trim_point
        ),
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
            format!(
                "Records {} next {} [{}]",
                header(&r.header),
                r.next_offset,
                records.join(", ")
            )
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
            format!("Digest {} [{}]", header(&d.header), entries.join(", "))
        }
    }
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
