//! A read of one loglet as Restate's replicated read stream runs it (R15): it learns the
//! loglet's trim point once, at the start, from an f-majority of its nodeset (the highest
//! any of them reports: Restate's `GetTrimPointTask`), then reads from **one log-server at
//! a time**, the nodeset shuffled with this node last (so asked first). It passes on that
//! node's trim gaps, keeps records beyond the read pointer for later, and moves to the
//! next node when one errs, times out, or does not hold the record at the read pointer.
//! Once every node was tried it starts a new round after `bifrost.read_retry_ms`.
//!
//! So two log-servers that disagree on the trim point (a trim done at a write quorum, one
//! node still on its way, a lagging node that clipped the point to its local tail) can
//! give a reader records below a trim already answered: #3890.
//!
//! Sans-IO like the tasks: every step returns what to send and arm as [`Out`]; the client
//! gives each request an id and tells the stream with [`ReadStream::sent`], so a reply to
//! a request the stream gave up on is dropped.

use std::collections::BTreeMap;

use crate::bindings::logsandbox::node::log_server_protocol::{
    GetRecords, RecordBody, Records, Reply, Request, RequestHeader,
};
use crate::bindings::logsandbox::node::metadata::ReplicatedParams;
use crate::bindings::logsandbox::node::types::{LogletId, LogletOffset, NodeId, RequestId};
use crate::loglet::{LogletOutcome, fmt_loglet};
use crate::rng::Rng;

use super::trim_point::{Found, TrimPointQuery};

/// Bytes one GetRecords asks for (Restate's `read_batch_size`, 32 KiB).
const READ_BYTE_LIMIT: u64 = 32 * 1024;

/// What the stream asks the client to do.
pub(super) enum Out {
    /// Send a request to a log-server, then tell the stream its id ([`ReadStream::sent`]).
    Request(NodeId, Request),
    /// Arm the stream's timer this far ahead; only the newest one counts.
    Timer(u64),
    /// A line for the node's log.
    Note(String),
    /// The read is over.
    Done(LogletOutcome),
}

/// The delays the stream waits.
#[derive(Debug, Clone, Copy)]
pub(super) struct Timing {
    /// How long one request may take (Restate's `rpc_timeout`).
    pub rpc: u64,
    /// The pause after every node was tried (Restate: 2 s).
    pub retry: u64,
}

enum Phase {
    /// Learning the trim point.
    TrimPoint(TrimPointQuery),
    /// Reading: the nodes this round has left (the last is next), and the one asked now
    /// with the offset its request starts at.
    Reading {
        left: Vec<NodeId>,
        asking: Option<(NodeId, LogletOffset)>,
    },
    /// Every node was tried: a new round starts at the timer.
    Exhausted,
}

/// One read of `[read_pointer, to]` of a loglet.
pub(super) struct ReadStream {
    loglet: LogletId,
    nodeset: Vec<NodeId>,
    me: NodeId,
    timing: Timing,
    /// The next offset the read returns (or skips as trimmed).
    read_pointer: LogletOffset,
    /// The last offset it reads.
    to: LogletOffset,
    /// The tail the client knows, sent in request headers.
    known_tail: LogletOffset,
    records: Vec<(LogletOffset, Vec<u8>)>,
    /// Records a node returned beyond the read pointer (after a record it lacked), kept
    /// until the pointer reaches them (Restate's record cache).
    ahead: BTreeMap<LogletOffset, Vec<u8>>,
    /// The sealed tail the read's find-tail found, if the loglet was sealed.
    sealed_at: Option<LogletOffset>,
    /// Requests whose replies count, to the node asked.
    pending: BTreeMap<RequestId, NodeId>,
    /// The newest timer the client armed for the stream.
    pub(super) timer: Option<u64>,
    phase: Phase,
}

impl ReadStream {
    /// A read of `[from, to)` of the loglet; `from` is at least OLDEST and below `to`.
    pub(super) fn start(
        params: &ReplicatedParams,
        me: NodeId,
        from: LogletOffset,
        to: LogletOffset,
        known_tail: LogletOffset,
        sealed_at: Option<LogletOffset>,
        timing: Timing,
    ) -> (ReadStream, Vec<Out>) {
        let (query, asks) = TrimPointQuery::start(params, known_tail);
        let stream = ReadStream {
            loglet: params.loglet_id,
            nodeset: params.nodeset.clone(),
            me,
            timing,
            read_pointer: from,
            to: to.saturating_sub(1),
            known_tail,
            records: Vec::new(),
            ahead: BTreeMap::new(),
            sealed_at,
            pending: BTreeMap::new(),
            timer: None,
            phase: Phase::TrimPoint(query),
        };
        let mut out: Vec<Out> = asks
            .into_iter()
            .map(|(node, request)| Out::Request(node, request))
            .collect();
        out.push(Out::Timer(stream.timing.rpc));
        (stream, out)
    }

    /// The client sent the stream's last request as `id`.
    pub(super) fn sent(&mut self, id: RequestId, node: NodeId) {
        self.pending.insert(id, node);
    }

    /// A log-server's reply to request `id`.
    pub(super) fn on_reply(&mut self, id: RequestId, reply: Reply, rng: &mut Rng) -> Vec<Out> {
        let Some(node) = self.pending.remove(&id) else {
            return Vec::new();
        };
        match (&mut self.phase, reply) {
            (Phase::TrimPoint(query), Reply::LogletInfo(info)) => match query.on_info(node, info) {
                Some(found) => self.learn_trim_point(found, rng),
                None => Vec::new(),
            },
            (Phase::Reading { asking, .. }, Reply::Records(records)) => {
                // Only the node asked has a request pending.
                let Some((_, asked_from)) = asking.take() else {
                    return Vec::new();
                };
                self.take_records(node, asked_from, records);
                self.next_node()
            }
            _ => Vec::new(),
        }
    }

    /// The stream's timer fired.
    pub(super) fn on_timer(&mut self, rng: &mut Rng) -> Vec<Out> {
        match &mut self.phase {
            Phase::TrimPoint(query) => {
                let (asks, found) = query.on_timer();
                if let Some(found) = found {
                    return self.learn_trim_point(found, rng);
                }
                let mut out: Vec<Out> = asks
                    .into_iter()
                    .map(|(node, request)| Out::Request(node, request))
                    .collect();
                out.push(Out::Timer(self.timing.rpc));
                out
            }
            // The node asked did not answer in time: on to the next.
            Phase::Reading { asking, .. } => {
                *asking = None;
                self.pending.clear();
                self.next_node()
            }
            Phase::Exhausted => self.new_round(rng),
        }
    }

    fn header(&self) -> RequestHeader {
        RequestHeader {
            loglet_id: self.loglet,
            known_global_tail: self.known_tail,
        }
    }

    /// The trim point is known (or could not be): what lies at or below it is skipped,
    /// and the reading starts.
    fn learn_trim_point(&mut self, found: Found, rng: &mut Rng) -> Vec<Out> {
        let heard = match &self.phase {
            Phase::TrimPoint(query) => query.heard(),
            _ => 0,
        };
        let mut out = Vec::new();
        match found {
            Some(point) => {
                out.push(Out::Note(format!(
                    "read of loglet {}: trim point {point}, the highest of {heard} log-servers",
                    fmt_loglet(self.loglet),
                )));
                if point >= self.read_pointer {
                    self.read_pointer = point.saturating_add(1);
                }
            }
            // Restate reads on: records in memory or nodes back later may still serve it.
            None => out.push(Out::Note(format!(
                "read of loglet {}: could not learn the trim point; reading on",
                fmt_loglet(self.loglet)
            ))),
        }
        self.pending.clear();
        out.append(&mut self.new_round(rng));
        out
    }

    /// A new round over the nodeset: shuffled, this node last, as it is asked first.
    fn new_round(&mut self, rng: &mut Rng) -> Vec<Out> {
        let mut left = self.nodeset.clone();
        rng.shuffle(&mut left);
        if let Some(mine) = left.iter().position(|&n| n == self.me) {
            let last = left.len() - 1;
            left.swap(mine, last);
        }
        self.phase = Phase::Reading { left, asking: None };
        self.next_node()
    }

    /// Serves what is kept ahead, then asks the next node of the round for the rest.
    fn next_node(&mut self) -> Vec<Out> {
        while self.read_pointer <= self.to {
            let Some(payload) = self.ahead.remove(&self.read_pointer) else {
                break;
            };
            self.records.push((self.read_pointer, payload));
            self.read_pointer = self.read_pointer.saturating_add(1);
        }
        if self.read_pointer > self.to {
            return vec![Out::Done(self.outcome())];
        }
        let Phase::Reading { left, asking } = &mut self.phase else {
            return Vec::new();
        };
        let Some(node) = left.pop() else {
            self.phase = Phase::Exhausted;
            return vec![
                Out::Note(format!(
                    "read of loglet {} at {}: no log-server of the nodeset served it; trying again",
                    fmt_loglet(self.loglet),
                    self.read_pointer
                )),
                Out::Timer(self.timing.retry),
            ];
        };
        *asking = Some((node, self.read_pointer));
        let request = Request::GetRecords(GetRecords {
            header: self.header(),
            from_offset: self.read_pointer,
            to_offset: self.to,
            byte_limit: Some(READ_BYTE_LIMIT),
        });
        vec![Out::Request(node, request), Out::Timer(self.timing.rpc)]
    }

    /// What one node returned: the record at the read pointer and those after it in a
    /// row, its trim gaps, and records further on kept for later. The node stays in the
    /// round only if it served up to where the pointer now is.
    fn take_records(&mut self, node: NodeId, asked_from: LogletOffset, reply: Records) {
        self.known_tail = self.known_tail.max(reply.header.known_global_tail);
        for record in reply.records {
            let offset = record.offset;
            if offset > self.read_pointer {
                if let RecordBody::Data(payload) = record.body {
                    self.ahead.insert(offset, payload);
                }
                continue;
            }
            if offset < self.read_pointer {
                continue;
            }
            match record.body {
                RecordBody::Data(payload) => {
                    self.records.push((offset, payload));
                    self.read_pointer = offset.saturating_add(1);
                }
                RecordBody::TrimGap(to) | RecordBody::FilteredGap(to) => {
                    self.read_pointer = to.max(offset).saturating_add(1);
                }
            }
        }
        let served_to_pointer =
            reply.next_offset > asked_from && reply.next_offset == self.read_pointer;
        if served_to_pointer && let Phase::Reading { left, .. } = &mut self.phase {
            left.push(node);
        }
    }

    /// The loglet read.
    pub(super) fn loglet(&self) -> LogletId {
        self.loglet
    }

    /// The tail the stream learnt from the replies' headers.
    pub(super) fn known_tail(&self) -> LogletOffset {
        self.known_tail
    }

    fn outcome(&mut self) -> LogletOutcome {
        LogletOutcome::Records {
            records: std::mem::take(&mut self.records),
            sealed_at: self.sealed_at,
        }
    }
}
