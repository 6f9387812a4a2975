//! The trace: every event the simulator delivers, folded into a SHA-256 trace hash.
//! Same scenario and seed: the same hash, byte for byte, on every machine. The full text
//! of each event is kept only when asked for (`--out`, the demo), since formatting every
//! event costs more than delivering it.

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::bindings::{
    Body, Event, Message, MetadataValue, Op, Reply, Request, SequencerAnswer, StoreError,
    StoreResponse, TailState,
};

/// One line of the trace.
#[derive(Debug, Clone, Serialize)]
pub struct TraceRecord {
    /// Nanoseconds of virtual time.
    pub t: u64,
    /// The node it happened on (0: the harness or the whole cluster).
    pub node: u32,
    /// What happened, for people.
    pub what: String,
}

/// The running hash of a run, and its text when kept.
pub struct Trace {
    hasher: Sha256,
    records: Option<Vec<TraceRecord>>,
}

impl Trace {
    /// A trace that keeps its text when `keep_records`.
    pub fn new(keep_records: bool) -> Self {
        Trace {
            hasher: Sha256::new(),
            records: keep_records.then(Vec::new),
        }
    }

    /// Folds an event delivered to `node` at `t` into the hash (and the records).
    pub fn event(&mut self, t: u64, node: u32, event: &Event) {
        let mut fp = Fingerprint(&mut self.hasher);
        fp.u64(t);
        fp.u32(node);
        fp.event(event);
        if let Some(records) = &mut self.records {
            records.push(TraceRecord {
                t,
                node,
                what: describe_event(event),
            });
        }
    }

    /// Folds a host-side happening (a crash, a store request, a fault) into the hash.
    pub fn note(&mut self, t: u64, node: u32, what: impl FnOnce() -> String) {
        let text = what();
        let mut fp = Fingerprint(&mut self.hasher);
        fp.u64(t);
        fp.u32(node);
        fp.bytes(text.as_bytes());
        if let Some(records) = &mut self.records {
            records.push(TraceRecord {
                t,
                node,
                what: text,
            });
        }
    }

    /// A line the guest logged: kept in the records only, since it says nothing the
    /// events do not already fix.
    pub fn log(&mut self, t: u64, node: u32, what: impl FnOnce() -> String) {
        if let Some(records) = &mut self.records {
            records.push(TraceRecord {
                t,
                node,
                what: what(),
            });
        }
    }

    /// The SHA-256 of everything so far, in hex.
    pub fn hash_hex(&self) -> String {
        let digest = self.hasher.clone().finalize();
        digest.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// The text kept so far.
    pub fn records(&self) -> &[TraceRecord] {
        self.records.as_deref().unwrap_or(&[])
    }
}

/// Feeds the fields that identify an event into the hash, without formatting.
struct Fingerprint<'a>(&'a mut Sha256);

impl Fingerprint<'_> {
    fn u8(&mut self, v: u8) {
        self.0.update([v]);
    }
    fn u32(&mut self, v: u32) {
        self.0.update(v.to_le_bytes());
    }
    fn u64(&mut self, v: u64) {
        self.0.update(v.to_le_bytes());
    }
    fn bytes(&mut self, b: &[u8]) {
        self.u64(b.len() as u64);
        self.0.update(b);
    }

    fn event(&mut self, event: &Event) {
        match event {
            Event::Message((from, msg)) => {
                self.u8(1);
                self.u32(*from);
                self.message(msg);
            }
            Event::MetadataResponse((id, response)) => {
                self.u8(2);
                self.u64(*id);
                match response {
                    StoreResponse::Value(v) => {
                        self.u8(0);
                        self.u32(v.as_ref().map_or(0, version));
                    }
                    StoreResponse::PutDone => self.u8(1),
                    // The kind of failure changes what a node does next (retry, start
                    // over, give up): it belongs in the hash, not only in the text.
                    StoreResponse::Failed(StoreError::FailedPrecondition(v)) => {
                        self.u8(2);
                        self.u32(*v);
                    }
                    StoreResponse::Failed(StoreError::Unavailable(_)) => self.u8(3),
                    StoreResponse::Failed(StoreError::Terminal(_)) => self.u8(4),
                }
            }
            Event::Timer(id) => {
                self.u8(3);
                self.u64(*id);
            }
            Event::WriteDurable(id) => {
                self.u8(4);
                self.u64(*id);
            }
            Event::ClientRequest((op, request)) => {
                self.u8(5);
                self.u64(*op);
                match request {
                    Op::Append(append) => {
                        self.u32(append.log);
                        self.bytes(&append.payload);
                        // Only when set, so that loglet-level appends hash as they did.
                        if let Some(strategy) = append.strategy {
                            self.u8(20 + strategy as u8);
                        }
                    }
                    Op::Seal(log) | Op::FindTail(log) => self.u32(*log),
                    Op::Read((log, from, to)) => {
                        self.u32(*log);
                        self.u64(*from);
                        self.u64(*to);
                    }
                    Op::Trim((log, point)) => {
                        self.u32(*log);
                        self.u64(*point);
                    }
                    Op::SealAndExtend(s) => {
                        self.u8(30);
                        self.u32(s.log);
                        self.u32(s.min_version.unwrap_or(0));
                        self.u32(s.segment_index.map_or(u32::MAX, |i| i));
                        self.u32(s.sequencer.unwrap_or(0));
                        let nodeset = s.nodeset.as_deref().unwrap_or(&[]);
                        self.u32(nodeset.len() as u32);
                        for node in nodeset {
                            self.u32(*node);
                        }
                        self.u8(s.replication.unwrap_or(0));
                    }
                    Op::WaitForMetadata((_, v)) => self.u32(*v),
                }
            }
        }
    }

    fn message(&mut self, msg: &Message) {
        for v in &msg.versions {
            self.u32(v.version);
        }
        match &msg.body {
            Body::Hello => self.u8(10),
            Body::HelloAck => self.u8(11),
            Body::LogServerRequest((id, request)) => {
                self.u8(12);
                self.u64(*id);
                match request {
                    Request::Store(s) => {
                        self.u8(0);
                        self.u32(s.first_offset);
                        self.u32(s.payloads.len() as u32);
                        self.u32(s.header.known_global_tail);
                    }
                    Request::Seal(s) => {
                        self.u8(1);
                        self.u32(s.header.known_global_tail);
                    }
                    Request::GetLogletInfo(h) => {
                        self.u8(2);
                        self.u32(h.known_global_tail);
                    }
                    Request::GetRecords(g) => {
                        self.u8(3);
                        self.u32(g.from_offset);
                        self.u32(g.to_offset);
                    }
                    Request::Trim(t) => {
                        self.u8(4);
                        self.u32(t.trim_point);
                    }
                    Request::WaitForTail(_) => self.u8(5),
                    Request::GetDigest(g) => {
                        self.u8(6);
                        self.u32(g.from_offset);
                        self.u32(g.to_offset);
                    }
                }
            }
            Body::LogServerReply((id, reply)) => {
                self.u8(13);
                self.u64(*id);
                let header = reply_header(reply);
                self.u32(header.local_tail);
                self.u32(header.known_global_tail);
                self.u8(header.sealed as u8);
                self.u8(header.status as u8);
                if let Reply::Records(r) = reply {
                    self.u32(r.next_offset);
                    self.u32(r.records.len() as u32);
                }
            }
            Body::GetMetadata((id, _, v)) => {
                self.u8(14);
                self.u64(*id);
                self.u32(*v);
            }
            Body::MetadataUpdate((id, v)) => {
                self.u8(15);
                self.u64(*id);
                self.u32(v.as_ref().map_or(0, version));
            }
            Body::GetSequencerState((id, loglet, check)) => {
                self.u8(16);
                self.u64(*id);
                self.u64(*loglet);
                self.u8(*check as u8);
            }
            Body::SequencerState((id, answer)) => {
                self.u8(17);
                self.u64(*id);
                match answer {
                    SequencerAnswer::Unknown => self.u8(0),
                    SequencerAnswer::Tail(TailState::Open(o)) => {
                        self.u8(1);
                        self.u32(*o);
                    }
                    SequencerAnswer::Tail(TailState::Sealed(o)) => {
                        self.u8(2);
                        self.u32(*o);
                    }
                    SequencerAnswer::Sealing => self.u8(3),
                }
            }
        }
    }
}

fn version(v: &MetadataValue) -> u32 {
    crate::metadata_store::version_of(v)
}

/// The header every reply carries.
pub fn reply_header(
    reply: &Reply,
) -> crate::bindings::logsandbox::node::log_server_protocol::ReplyHeader {
    match reply {
        Reply::Stored(h) | Reply::Sealed(h) | Reply::Trimmed(h) | Reply::TailUpdated(h) => *h,
        Reply::LogletInfo(i) => i.header,
        Reply::Records(r) => r.header,
        Reply::Digest(d) => d.header,
    }
}

/// The reply's kind, as the WIT names its case: `Stored`, `TailUpdated`...
pub fn reply_kind(reply: &Reply) -> &'static str {
    match reply {
        Reply::Stored(_) => "Stored",
        Reply::Sealed(_) => "Sealed",
        Reply::LogletInfo(_) => "LogletInfo",
        Reply::Records(_) => "Records",
        Reply::Trimmed(_) => "Trimmed",
        Reply::TailUpdated(_) => "TailUpdated",
        Reply::Digest(_) => "Digest",
    }
}

/// One line for people.
pub fn describe_event(event: &Event) -> String {
    match event {
        Event::Message((from, msg)) => format!("<- N{from}: {}", describe_body(&msg.body)),
        Event::MetadataResponse((id, r)) => match r {
            StoreResponse::Value(Some(v)) => {
                format!("metadata store answers #{id:x}: Logs v{}", version(v))
            }
            StoreResponse::Value(None) => format!("metadata store answers #{id:x}: nothing stored"),
            StoreResponse::PutDone => format!("metadata store answers #{id:x}: put done"),
            StoreResponse::Failed(e) => format!(
                "metadata store answers #{id:x}: {}",
                crate::metadata_store::describe_error(e)
            ),
        },
        Event::Timer(id) => format!("timer #{id:x}"),
        Event::WriteDurable(id) => format!("write #{id:x} durable"),
        Event::ClientRequest((op, request)) => {
            format!("client op #{op}: {}", crate::op::Op::from_wit(request))
        }
    }
}

pub fn describe_body(body: &Body) -> String {
    match body {
        Body::Hello => "hello".into(),
        Body::HelloAck => "hello-ack".into(),
        Body::LogServerRequest((id, r)) => match r {
            // The guest chose these values: an empty store at offset 0 must not underflow.
            Request::Store(s) => {
                match (s.first_offset as u64 + s.payloads.len() as u64).checked_sub(1) {
                    Some(last) if !s.payloads.is_empty() => format!(
                        "Store #{id:x} [{}..{last}] gt={}",
                        s.first_offset, s.header.known_global_tail
                    ),
                    _ => format!(
                        "Store #{id:x} [{}, empty] gt={}",
                        s.first_offset, s.header.known_global_tail
                    ),
                }
            }
            Request::Seal(_) => format!("Seal #{id:x}"),
            Request::GetLogletInfo(_) => format!("GetLogletInfo #{id:x}"),
            Request::GetRecords(g) => {
                format!("GetRecords #{id:x} [{}, {}]", g.from_offset, g.to_offset)
            }
            Request::Trim(t) => format!("Trim #{id:x} to {}", t.trim_point),
            Request::WaitForTail(w) => format!("WaitForTail #{id:x} {:?}", w.query),
            Request::GetDigest(g) => {
                format!("GetDigest #{id:x} [{}, {}]", g.from_offset, g.to_offset)
            }
        },
        Body::LogServerReply((id, reply)) => {
            let h = reply_header(reply);
            let kind = reply_kind(reply);
            format!(
                "{kind} #{id:x} {:?} local_tail={} gt={}{}",
                h.status,
                h.local_tail,
                h.known_global_tail,
                if h.sealed { " sealed" } else { "" }
            )
        }
        Body::GetMetadata((id, _, v)) => format!("GetMetadata #{id:x} Logs >= v{v}"),
        Body::MetadataUpdate((id, v)) => match v {
            Some(v) => format!(
                "MetadataUpdate #{id:x}: Logs v{} ({})",
                version(v),
                describe_value(v)
            ),
            None => format!("MetadataUpdate #{id:x}: nothing new enough"),
        },
        Body::GetSequencerState((id, loglet, check)) => format!(
            "GetSequencerState #{id:x} loglet {}{}",
            crate::op::fmt_loglet(*loglet),
            if *check { " (check seal)" } else { "" }
        ),
        Body::SequencerState((id, answer)) => match answer {
            SequencerAnswer::Tail(t) => {
                format!("SequencerState #{id:x}: {}", crate::op::fmt_tail(t))
            }
            SequencerAnswer::Sealing => format!("SequencerState #{id:x}: sealing, ask again"),
            SequencerAnswer::Unknown => format!("SequencerState #{id:x}: not its sequencer"),
        },
    }
}

/// `log 0 -> 0_0 on [1, 2, 3]`, or `empty`.
pub fn describe_value(v: &MetadataValue) -> String {
    let MetadataValue::Logs(logs) = v;
    if logs.chains.is_empty() {
        return "empty".into();
    }
    logs.chains
        .iter()
        .map(describe_chain)
        .collect::<Vec<_>>()
        .join(", ")
}

/// `log 0 -> 0_0 on [1, 2, 3]` for a chain of one segment; every segment with its LSN range
/// for more, `log 0 -> [1..11: 0_0 on [1, 2, 3], 11..: 0_1 on [1, 2, 3]]`, the seal marker
/// as `11..: sealed`.
fn describe_chain(chain: &crate::bindings::Chain) -> String {
    let loglet = |s: &crate::bindings::Segment| match &s.params {
        Some(p) => format!("{} on {:?}", crate::op::fmt_loglet(p.loglet_id), p.nodeset),
        None if s.provider == crate::bindings::ProviderKind::Sealed => "sealed".to_string(),
        None => "no loglet".to_string(),
    };
    match &chain.segments[..] {
        [] => format!("log {}", chain.log_id),
        [only]
            if only.params.is_none() && only.provider != crate::bindings::ProviderKind::Sealed =>
        {
            format!("log {}", chain.log_id)
        }
        [only] if only.base_lsn == 1 => format!("log {} -> {}", chain.log_id, loglet(only)),
        segments => {
            let parts: Vec<String> = segments
                .iter()
                .enumerate()
                .map(|(i, s)| {
                    let end = segments.get(i + 1).map(|n| n.base_lsn.to_string());
                    format!("{}..{}: {}", s.base_lsn, end.unwrap_or_default(), loglet(s))
                })
                .collect();
            format!("log {} -> [{}]", chain.log_id, parts.join(", "))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bindings::logsandbox::node::log_server_protocol::{
        RequestHeader, Store, StoreFlags,
    };

    #[test]
    fn a_store_a_guest_made_empty_at_offset_0_is_described_without_overflow() {
        let store = |first, payloads: Vec<Vec<u8>>| {
            Body::LogServerRequest((
                1,
                Request::Store(Store {
                    header: RequestHeader {
                        loglet_id: 0,
                        known_global_tail: 0,
                    },
                    first_offset: first,
                    sequencer: 5,
                    flags: StoreFlags::empty(),
                    timeout_at: None,
                    payloads,
                }),
            ))
        };
        assert_eq!(describe_body(&store(0, vec![])), "Store #1 [0, empty] gt=0");
        assert_eq!(
            describe_body(&store(u32::MAX, vec![vec![1], vec![2]])),
            format!("Store #1 [{}..{}] gt=0", u32::MAX, u32::MAX as u64 + 1)
        );
    }

    #[test]
    fn a_retryable_and_a_terminal_store_failure_hash_apart() {
        let hash = |error: StoreError| {
            let mut trace = Trace::new(false);
            let event = Event::MetadataResponse((7, StoreResponse::Failed(error)));
            trace.event(1, 1, &event);
            trace.hash_hex()
        };
        let unavailable = hash(StoreError::Unavailable("x".into()));
        assert_ne!(unavailable, hash(StoreError::Terminal("x".into())));
        assert_ne!(unavailable, hash(StoreError::FailedPrecondition(0)));
        assert_ne!(
            hash(StoreError::FailedPrecondition(1)),
            hash(StoreError::FailedPrecondition(2))
        );
        // The text of an error is for people: it does not reach the hash.
        assert_eq!(unavailable, hash(StoreError::Unavailable("y".into())));
    }
}
