//! The log-server: one worker per loglet, serving the seven requests of the protocol.
//!
//! Rules it keeps (Restate's `LogletWorker`):
//! - every request's `known_global_tail` is merged with max();
//! - stores are checked in a fixed order (see `LogServer::store`) and the server never
//!   buffers or reorders: a store beyond `max(staging tail, global tail)` is OutOfBounds;
//! - one FIFO writer: the host makes writes durable in the order they were made, so
//!   stores queued before a seal count in the sealed tail;
//! - a store is answered Ok only once durable; a seal once its marker is durable, and
//!   then every parked store and tail waiter is answered.
//!
//! All durable state lives in the node's storage (layout in [`crate::keys`]) and is
//! recovered by [`LogServer::recover`]. The first offset and the printed form of a loglet
//! id are [`crate::loglet`]'s, shared with the sequencer and the client's tasks.

use std::collections::BTreeMap;

use crate::bindings::logsandbox::node::host::Level;
use crate::bindings::logsandbox::node::log_server_protocol::{
    Digest, DigestEntry, GetDigest, GetRecords, LogRecord, LogletInfo, RecordBody, RecordStatus,
    Records, Reply, ReplyHeader, Request, RequestHeader, Seal, Store, StoreFlags, TailQuery, Trim,
    WaitForTail,
};
use crate::bindings::logsandbox::node::messages::Body;
use crate::bindings::logsandbox::node::storage::WriteOp;
use crate::bindings::logsandbox::node::types::{LogletId, LogletOffset, NodeId, RequestId, Status};
use crate::ctx::{Ctx, Part};
use crate::keys;
use crate::loglet::{OLDEST, fmt_loglet};
use crate::mutants;

/// Records read per storage scan.
const SCAN_CHUNK: u32 = 256;

/// Someone waiting for an answer: the peer and its request id.
#[derive(Debug, Clone, Copy)]
struct ReplyTo {
    peer: NodeId,
    id: RequestId,
}

/// A request parked until a tail is reached (or the loglet is sealed).
#[derive(Debug)]
enum TailWaiter {
    /// A store latched onto an in-flight duplicate, or parked behind a pending seal:
    /// answered Stored{Ok} once the local or global tail reaches `target`, Sealed on seal.
    Store { to: ReplyTo, target: LogletOffset },
    /// A WaitForTail request.
    Query { to: ReplyTo, query: TailQuery },
}

/// A write made but not yet durable.
#[derive(Debug)]
enum PendingWrite {
    Store {
        loglet: LogletId,
        last: LogletOffset,
        to: ReplyTo,
    },
    Seal {
        loglet: LogletId,
    },
    Trim {
        loglet: LogletId,
        trim_point: LogletOffset,
        to: ReplyTo,
    },
}

/// The state of one loglet on this server.
#[derive(Debug)]
struct Loglet {
    id: LogletId,
    /// Next offset after the last durable record.
    local_tail: LogletOffset,
    /// Next offset after the last accepted (maybe not yet durable) record.
    staging_local_tail: LogletOffset,
    known_global_tail: LogletOffset,
    /// The global tail last written to storage.
    persisted_global_tail: Option<LogletOffset>,
    trim_point: LogletOffset,
    /// The trim point of the trims accepted, durable or not. A trim's deletions are visible
    /// to reads at once (reads see every write made), so reads must gap up to it too, or a
    /// read during a trim returns records on both sides of a hole.
    staging_trim_point: LogletOffset,
    /// Durable seal marker.
    sealed: bool,
    seal_enqueued: bool,
    sequencer: Option<NodeId>,
    seal_waiters: Vec<ReplyTo>,
    tail_waiters: Vec<TailWaiter>,
}

impl Loglet {
    fn new(id: LogletId) -> Self {
        Loglet {
            id,
            local_tail: OLDEST,
            staging_local_tail: OLDEST,
            known_global_tail: OLDEST,
            persisted_global_tail: None,
            trim_point: 0,
            staging_trim_point: 0,
            sealed: false,
            seal_enqueued: false,
            sequencer: None,
            seal_waiters: Vec::new(),
            tail_waiters: Vec::new(),
        }
    }

    fn header(&self, status: Status) -> ReplyHeader {
        ReplyHeader {
            local_tail: self.local_tail,
            known_global_tail: self.known_global_tail,
            sealed: self.sealed,
            status,
        }
    }

    fn merge_global_tail(&mut self, tail: LogletOffset) {
        self.known_global_tail = self.known_global_tail.max(tail);
    }

    /// Adds the global tail to a write batch when it moved since it was last persisted.
    fn persist_global_tail(&mut self, ops: &mut Vec<WriteOp>) {
        if self.persisted_global_tail != Some(self.known_global_tail) {
            self.persisted_global_tail = Some(self.known_global_tail);
            ops.push(WriteOp {
                key: keys::meta(keys::GLOBAL_TAIL, self.id),
                value: Some(keys::encode_u32(self.known_global_tail)),
            });
        }
    }
}

/// The log-server role of a node.
pub struct LogServer {
    loglets: BTreeMap<LogletId, Loglet>,
    writes: BTreeMap<u64, PendingWrite>,
    #[cfg(feature = "trap-on-store")]
    stores_seen: u32,
    /// Read-only mode (the `log_server.accepting_writes` setting).
    accepting_writes: bool,
}

impl Default for LogServer {
    fn default() -> Self {
        LogServer {
            loglets: BTreeMap::new(),
            writes: BTreeMap::new(),
            #[cfg(feature = "trap-on-store")]
            stores_seen: 0,
            accepting_writes: true,
        }
    }
}

impl LogServer {
    /// Rebuilds every loglet from storage: local tail = last record + 1 (or OLDEST),
    /// raised to trim + 1; global tail = max(stored global tail, trim + 1).
    pub fn recover(&mut self, ctx: &mut Ctx) -> Result<(), String> {
        self.accepting_writes = ctx.shared.settings.accepting_writes;
        for kind in [keys::SEQUENCER, keys::TRIM, keys::GLOBAL_TAIL, keys::SEAL] {
            let start = vec![kind];
            for entry in ctx.env.scan(&start, &keys::kind_end(kind), u32::MAX, false) {
                let id = keys::loglet_of(&entry.key)
                    .ok_or_else(|| format!("corrupt storage key {:?}", entry.key))?;
                let loglet = self.loglets.entry(id).or_insert_with(|| Loglet::new(id));
                let value = || {
                    keys::decode_u32(&entry.value).ok_or_else(|| {
                        format!("corrupt value under key {:?}: {:?}", entry.key, entry.value)
                    })
                };
                match kind {
                    keys::SEQUENCER => loglet.sequencer = Some(value()?),
                    keys::TRIM => loglet.trim_point = value()?,
                    keys::GLOBAL_TAIL => {
                        loglet.known_global_tail = value()?;
                        loglet.persisted_global_tail = Some(loglet.known_global_tail);
                    }
                    _ => {
                        if !mutants::FORGET_SEAL_ON_RECOVERY {
                            loglet.sealed = true;
                            loglet.seal_enqueued = true;
                        }
                    }
                }
            }
        }
        for loglet in self.loglets.values_mut() {
            let start = keys::data(loglet.id, 0);
            let end = keys::data(loglet.id, u32::MAX);
            let last = ctx.env.scan(&start, &end, 1, true);
            let mut tail = match last.first() {
                Some(e) => keys::offset_of(&e.key).map_or(OLDEST, |o| o + 1),
                None => OLDEST,
            };
            if loglet.trim_point >= tail {
                tail = loglet.trim_point + 1;
            }
            loglet.local_tail = tail;
            loglet.staging_local_tail = tail;
            loglet.known_global_tail = loglet.known_global_tail.max(loglet.trim_point + 1);
            ctx.log(
                Level::Info,
                &format!(
                    "recovered loglet {}: local tail {}, global tail {}, trim {}, sealed {}",
                    fmt_loglet(loglet.id),
                    loglet.local_tail,
                    loglet.known_global_tail,
                    loglet.trim_point,
                    loglet.sealed
                ),
            );
        }
        Ok(())
    }

    /// Serves one request of the protocol from `from`: answered under `id` at once, or once
    /// its write is durable, a seal lands or the awaited tail is reached.
    pub fn on_request(&mut self, ctx: &mut Ctx, from: NodeId, id: RequestId, request: Request) {
        let to = ReplyTo { peer: from, id };
        match request {
            Request::Store(store) => self.store(ctx, to, store),
            Request::Seal(seal) => self.seal(ctx, to, seal),
            Request::GetLogletInfo(header) => {
                let loglet = self.loglet(ctx, &header);
                let info = LogletInfo {
                    header: loglet.header(Status::Ok),
                    trim_point: loglet.trim_point,
                };
                reply(ctx, to, Reply::LogletInfo(info));
            }
            Request::GetRecords(get) => self.get_records(ctx, to, get),
            Request::Trim(trim) => self.trim(ctx, to, trim),
            Request::WaitForTail(wait) => self.wait_for_tail(ctx, to, wait),
            Request::GetDigest(get) => self.get_digest(ctx, to, get),
        }
    }

    /// A write became durable (the host keeps them in the order they were made).
    pub fn on_durable(&mut self, ctx: &mut Ctx, write: u64) {
        let Some(pending) = self.writes.remove(&write) else {
            ctx.log(Level::Warn, &format!("durable write {write} is unknown"));
            return;
        };
        match pending {
            PendingWrite::Store { loglet, last, to } => {
                let l = self
                    .loglets
                    .get_mut(&loglet)
                    .expect("a pending store's loglet exists");
                l.local_tail = l.local_tail.max(last + 1);
                let header = l.header(Status::Ok);
                reply(ctx, to, Reply::Stored(header));
                notify_tail_waiters(ctx, l);
            }
            PendingWrite::Seal { loglet } => {
                let l = self
                    .loglets
                    .get_mut(&loglet)
                    .expect("a pending seal's loglet exists");
                l.sealed = true;
                l.staging_local_tail = l.local_tail;
                let header = l.header(Status::Ok);
                for to in std::mem::take(&mut l.seal_waiters) {
                    reply(ctx, to, Reply::Sealed(header));
                }
                notify_tail_waiters(ctx, l);
            }
            PendingWrite::Trim {
                loglet,
                trim_point,
                to,
            } => {
                let l = self
                    .loglets
                    .get_mut(&loglet)
                    .expect("a pending trim's loglet exists");
                l.trim_point = l.trim_point.max(trim_point);
                l.merge_global_tail(l.trim_point + 1);
                reply(ctx, to, Reply::Trimmed(l.header(Status::Ok)));
                // The global tail may have moved: a waiter for it is answered now.
                notify_tail_waiters(ctx, l);
            }
        }
    }

    /// The loglet a request is for (created empty on first use), with the request's
    /// global tail merged in; waiters that this satisfies are answered.
    fn loglet(&mut self, ctx: &mut Ctx, header: &RequestHeader) -> &mut Loglet {
        let loglet = self
            .loglets
            .entry(header.loglet_id)
            .or_insert_with(|| Loglet::new(header.loglet_id));
        if header.known_global_tail > loglet.known_global_tail {
            loglet.merge_global_tail(header.known_global_tail);
            notify_tail_waiters(ctx, loglet);
        }
        loglet
    }

    /// Store checks, in order: malformed; sealed (unless repair); disabled; sequencer
    /// mismatch; out of bounds / non-sequencer below the tail; expired; duplicates; a
    /// pending seal; then the durable write, answered once durable.
    fn store(&mut self, ctx: &mut Ctx, to: ReplyTo, store: Store) {
        #[cfg(feature = "trap-on-store")]
        {
            self.stores_seen += 1;
            if ctx.shared.me == 2 && self.stores_seen == 50 {
                panic!("trap-on-store: N2 traps on its 50th store, as the test guest should");
            }
        }
        let accepting_writes = self.accepting_writes;
        let loglet = self.loglet(ctx, &store.header);
        let repair = store.flags.contains(StoreFlags::IGNORE_SEAL);
        let count = store.payloads.len() as u32;
        let last = (store.first_offset as u64 + count as u64).checked_sub(1);
        let last = match last {
            // The tail after the last record must be an offset too: u32::MAX is never stored.
            Some(last) if count > 0 && store.first_offset != 0 && last < u32::MAX as u64 => {
                last as LogletOffset
            }
            _ => return reply(ctx, to, Reply::Stored(loglet.header(Status::Malformed))),
        };
        if !repair && loglet.sealed && !mutants::STORE_AFTER_SEAL {
            return reply(ctx, to, Reply::Stored(loglet.header(Status::Sealed)));
        }
        if !accepting_writes {
            return reply(ctx, to, Reply::Stored(loglet.header(Status::Disabled)));
        }
        if loglet.sequencer.is_some_and(|s| s != store.sequencer) {
            return reply(
                ctx,
                to,
                Reply::Stored(loglet.header(Status::SequencerMismatch)),
            );
        }
        let next_ok = loglet.staging_local_tail.max(loglet.known_global_tail);
        if store.first_offset < next_ok && to.peer != store.sequencer && !repair {
            return reply(
                ctx,
                to,
                Reply::Stored(loglet.header(Status::SequencerMismatch)),
            );
        }
        if store.first_offset > next_ok {
            return reply(ctx, to, Reply::Stored(loglet.header(Status::OutOfBounds)));
        }
        if store.timeout_at.is_some_and(|t| t <= ctx.now) {
            return reply(ctx, to, Reply::Stored(loglet.header(Status::Dropped)));
        }
        if !repair {
            if loglet.local_tail > last {
                return reply(ctx, to, Reply::Stored(loglet.header(Status::Ok)));
            }
            if loglet.staging_local_tail > last {
                // The same batch is in flight: answer when it is durable.
                loglet.tail_waiters.push(TailWaiter::Store {
                    to,
                    target: last + 1,
                });
                return;
            }
        }
        if loglet.seal_enqueued && !loglet.sealed {
            if repair {
                return reply(ctx, to, Reply::Stored(loglet.header(Status::Sealing)));
            }
            // Rejected for sure, but without a retry: answered Sealed when the seal lands.
            loglet.tail_waiters.push(TailWaiter::Store {
                to,
                target: last + 1,
            });
            return;
        }

        let mut ops = Vec::with_capacity(store.payloads.len() + 2);
        if loglet.sequencer.is_none() {
            loglet.sequencer = Some(store.sequencer);
            ops.push(WriteOp {
                key: keys::meta(keys::SEQUENCER, loglet.id),
                value: Some(keys::encode_u32(store.sequencer)),
            });
        }
        for (i, payload) in store.payloads.into_iter().enumerate() {
            ops.push(WriteOp {
                key: keys::data(loglet.id, store.first_offset + i as u32),
                value: Some(payload),
            });
        }
        loglet.persist_global_tail(&mut ops);
        loglet.staging_local_tail = loglet.staging_local_tail.max(last + 1);
        let loglet = loglet.id;
        let write = ctx.id(Part::LogServer);
        ctx.env.write(write, ops);
        self.writes
            .insert(write, PendingWrite::Store { loglet, last, to });
    }

    /// Seal: idempotent; answered once the seal marker is durable. The marker is queued
    /// behind every store already accepted, so those count in the sealed tail.
    fn seal(&mut self, ctx: &mut Ctx, to: ReplyTo, seal: Seal) {
        let loglet = self.loglet(ctx, &seal.header);
        if loglet.sealed {
            return reply(ctx, to, Reply::Sealed(loglet.header(Status::Ok)));
        }
        loglet.seal_waiters.push(to);
        if loglet.seal_enqueued {
            return;
        }
        loglet.seal_enqueued = true;
        let mut ops = vec![WriteOp {
            key: keys::meta(keys::SEAL, loglet.id),
            value: Some(Vec::new()),
        }];
        loglet.persist_global_tail(&mut ops);
        let loglet = loglet.id;
        let write = ctx.id(Part::LogServer);
        ctx.env.write(write, ops);
        self.writes.insert(write, PendingWrite::Seal { loglet });
    }

    /// Reads `[max(from, trim + 1), min(to, local_tail - 1)]`, at least one record even
    /// over the byte limit; a trimmed prefix comes back as one TrimGap.
    fn get_records(&mut self, ctx: &mut Ctx, to: ReplyTo, get: GetRecords) {
        let loglet = self.loglet(ctx, &get.header);
        if get.from_offset > get.to_offset {
            let records = Records {
                header: loglet.header(Status::Malformed),
                next_offset: get.from_offset,
                records: Vec::new(),
            };
            return reply(ctx, to, Reply::Records(records));
        }
        let mut records = Vec::new();
        let mut start = get.from_offset.max(OLDEST);
        let trimmed = loglet.trim_point.max(loglet.staging_trim_point);
        if trimmed >= start {
            let gap_to = trimmed.min(get.to_offset);
            records.push(LogRecord {
                offset: start,
                body: RecordBody::TrimGap(gap_to),
            });
            start = gap_to.saturating_add(1);
        }
        let end = get.to_offset.min(loglet.local_tail.saturating_sub(1));
        let mut next_offset = start;
        let limit = get.byte_limit.unwrap_or(u64::MAX);
        let mut bytes = 0u64;
        let mut cursor = start;
        'read: while cursor <= end {
            let chunk = ctx.env.scan(
                &keys::data(loglet.id, cursor),
                &keys::data(loglet.id, end)
                    .into_iter()
                    .chain([0])
                    .collect::<Vec<u8>>(),
                SCAN_CHUNK,
                false,
            );
            if chunk.is_empty() {
                next_offset = end + 1;
                break;
            }
            for entry in chunk {
                let Some(offset) = keys::offset_of(&entry.key) else {
                    continue;
                };
                let size = entry.value.len() as u64;
                if !records.is_empty() && bytes + size > limit {
                    break 'read;
                }
                bytes += size;
                records.push(LogRecord {
                    offset,
                    body: RecordBody::Data(entry.value),
                });
                next_offset = offset + 1;
                cursor = offset + 1;
                if offset == end {
                    break 'read;
                }
            }
        }
        if cursor > end && end >= start {
            next_offset = next_offset.max(end + 1);
        }
        let records = Records {
            header: loglet.header(Status::Ok),
            next_offset,
            records,
        };
        reply(ctx, to, Reply::Records(records));
    }

    /// Trim up to and including `trim_point`: Malformed below OLDEST or at/after
    /// max(global tail, local tail); clipped to local tail - 1; answered once durable.
    fn trim(&mut self, ctx: &mut Ctx, to: ReplyTo, trim: Trim) {
        let loglet = self.loglet(ctx, &trim.header);
        let high = loglet.known_global_tail.max(loglet.local_tail);
        if !mutants::TRIM_BEYOND_TAIL && (trim.trim_point < OLDEST || trim.trim_point >= high) {
            return reply(ctx, to, Reply::Trimmed(loglet.header(Status::Malformed)));
        }
        let trim_point = if mutants::TRIM_BEYOND_TAIL {
            trim.trim_point
        } else {
            trim.trim_point.min(loglet.local_tail.saturating_sub(1))
        };
        if trim_point <= loglet.trim_point {
            return reply(ctx, to, Reply::Trimmed(loglet.header(Status::Ok)));
        }
        let mut ops = vec![WriteOp {
            key: keys::meta(keys::TRIM, loglet.id),
            value: Some(keys::encode_u32(trim_point)),
        }];
        let start = keys::data(loglet.id, loglet.trim_point);
        let end = keys::data(loglet.id, trim_point + 1);
        for entry in ctx.env.scan(&start, &end, u32::MAX, false) {
            ops.push(WriteOp {
                key: entry.key,
                value: None,
            });
        }
        loglet.persist_global_tail(&mut ops);
        loglet.staging_trim_point = loglet.staging_trim_point.max(trim_point);
        let loglet = loglet.id;
        let write = ctx.id(Part::LogServer);
        ctx.env.write(write, ops);
        self.writes.insert(
            write,
            PendingWrite::Trim {
                loglet,
                trim_point,
                to,
            },
        );
    }

    fn wait_for_tail(&mut self, ctx: &mut Ctx, to: ReplyTo, wait: WaitForTail) {
        let loglet = self.loglet(ctx, &wait.header);
        let waiter = TailWaiter::Query {
            to,
            query: wait.query,
        };
        if let Some(reply_now) = resolve(loglet, &waiter) {
            return reply(ctx, to, reply_now);
        }
        loglet.tail_waiters.push(waiter);
    }

    /// Which offsets of `[from, to]` this server holds: a Trimmed range, then Exists runs.
    fn get_digest(&mut self, ctx: &mut Ctx, to: ReplyTo, get: GetDigest) {
        let loglet = self.loglet(ctx, &get.header);
        if get.from_offset > get.to_offset {
            let digest = Digest {
                header: loglet.header(Status::Malformed),
                entries: Vec::new(),
            };
            return reply(ctx, to, Reply::Digest(digest));
        }
        let mut entries: Vec<DigestEntry> = Vec::new();
        let mut start = get.from_offset.max(OLDEST);
        let trimmed = loglet.trim_point.max(loglet.staging_trim_point);
        if trimmed >= start {
            let end = trimmed.min(get.to_offset);
            entries.push(DigestEntry {
                from_offset: start,
                to_offset: end,
                status: RecordStatus::Trimmed,
            });
            start = end.saturating_add(1);
        }
        let end = get.to_offset.min(loglet.local_tail.saturating_sub(1));
        if start <= end {
            let scan_end = keys::data(loglet.id, end)
                .into_iter()
                .chain([0])
                .collect::<Vec<u8>>();
            for entry in ctx
                .env
                .scan(&keys::data(loglet.id, start), &scan_end, u32::MAX, false)
            {
                let Some(offset) = keys::offset_of(&entry.key) else {
                    continue;
                };
                match entries.last_mut() {
                    Some(run)
                        if run.status == RecordStatus::Exists && run.to_offset + 1 == offset =>
                    {
                        run.to_offset = offset;
                    }
                    _ => entries.push(DigestEntry {
                        from_offset: offset,
                        to_offset: offset,
                        status: RecordStatus::Exists,
                    }),
                }
            }
        }
        let digest = Digest {
            header: loglet.header(Status::Ok),
            entries,
        };
        reply(ctx, to, Reply::Digest(digest));
    }
}

/// The answer a tail waiter gets now, if its condition holds.
fn resolve(loglet: &Loglet, waiter: &TailWaiter) -> Option<Reply> {
    let (local, global, sealed) = (loglet.local_tail, loglet.known_global_tail, loglet.sealed);
    match waiter {
        TailWaiter::Store { target, .. } => {
            if local >= *target || global >= *target {
                Some(Reply::Stored(loglet.header(Status::Ok)))
            } else if sealed {
                Some(Reply::Stored(loglet.header(Status::Sealed)))
            } else {
                None
            }
        }
        TailWaiter::Query { query, .. } => {
            let reached = match *query {
                TailQuery::LocalTail(t) => local >= t,
                TailQuery::GlobalTail(t) => global >= t,
                TailQuery::LocalOrGlobal(t) => local >= t || global >= t,
            };
            if sealed && matches!(query, TailQuery::GlobalTail(_)) && !reached {
                Some(Reply::TailUpdated(loglet.header(Status::Sealed)))
            } else if reached || sealed {
                Some(Reply::TailUpdated(loglet.header(Status::Ok)))
            } else {
                None
            }
        }
    }
}

/// Answers every waiter whose condition now holds.
fn notify_tail_waiters(ctx: &mut Ctx, loglet: &mut Loglet) {
    if loglet.tail_waiters.is_empty() {
        return;
    }
    let waiters = std::mem::take(&mut loglet.tail_waiters);
    for waiter in waiters {
        match resolve(loglet, &waiter) {
            Some(answer) => {
                let to = match waiter {
                    TailWaiter::Store { to, .. } | TailWaiter::Query { to, .. } => to,
                };
                reply(ctx, to, answer);
            }
            None => loglet.tail_waiters.push(waiter),
        }
    }
}

fn reply(ctx: &mut Ctx, to: ReplyTo, reply: Reply) {
    ctx.send(to.peer, Body::LogServerReply((to.id, reply)));
}
