//! How a node's cached Logs gets updated: Restate's metadata update task, rule by rule.
//!
//! The task ticks every `tick_interval` (100 ms plus up to 50%, drawn once when the node
//! starts). Each rule has a unit test named for it (`guest/src/tests/metadata.rs`):
//!
//! - **Immediate fetch on observation.** A version newer than the cached one, seen in a
//!   peer's message header, runs a tick at once (Restate resets the task's interval): the
//!   node asks that peer without waiting for the next tick.
//! - **One new peer per tick.** Until the observed version arrives, each tick asks one more
//!   peer that advertised it and was not asked yet for that version, in the order they
//!   were heard.
//! - **Cancel on arrival.** Once the cache holds the version a peer fetch asked for, from
//!   any source, the fetch is cancelled: its answer, if it comes, is ignored.
//! - **Fallback to the store.** A newer version first observed `fetch_from_peer_timeout`
//!   (3 s plus up to 30%) ago and still not cached: the tick reads the store.
//! - **Store read when no peer can serve.** A newer version known with no peer to ask
//!   (learnt from a put's failed precondition): the tick reads the store.
//! - **Idle refresh.** `update_interval` (10 s plus up to 30%) without an update or a store
//!   read: the tick reads the store.
//! - **First run.** While nothing is cached, the tick reads the store.
//! - **One store read at a time, never given up.** A read retries an empty answer or a
//!   retryable error with backoff (100 ms x1.5, capped at 1 s); after a terminal error it
//!   sleeps on a second backoff and starts over, until it gets a value. A try with no
//!   answer within `store_request_timeout` (10 s) counts as a retryable failure.
//!
//! Waits are passive: nothing here runs because someone waits (see `cache.rs`).

use std::collections::{BTreeMap, BTreeSet};

use crate::bindings::logsandbox::node::host::Level;
use crate::bindings::logsandbox::node::messages::Body;
use crate::bindings::logsandbox::node::metadata::{
    MetadataKind, MetadataValue, StoreError, StoreResponse,
};
use crate::bindings::logsandbox::node::types::{NodeId, RequestId, SimTime, Version};
use crate::ctx::{Ctx, Part};
use crate::metadata::INVALID;
use crate::metadata::store_call::{Ask, Backoff, CallTimer, StoreCall};
use crate::mutants;

/// The most peer fetches kept in flight.
const MAX_PEER_FETCHES: usize = 64;

/// The newest version seen advertised, who advertised it, and since when.
#[derive(Debug, Default)]
struct Observed {
    version: Version,
    /// In the order they were heard: the first is asked first.
    peers: Vec<NodeId>,
    first_at: SimTime,
}

/// The one store read in flight, retried until it brings a value.
#[derive(Debug)]
struct StoreRead {
    call: StoreCall,
    /// Backoff after a terminal error, before the read starts over.
    terminal: Backoff,
}

/// The update task of the Logs. See the module documentation.
#[derive(Debug, Default)]
pub struct UpdateTask {
    /// The tick period, jittered once at start.
    period: u64,
    /// The armed tick timer; an older one that fires is stale.
    tick: Option<u64>,
    observed: Observed,
    /// The version the current wave of peer fetches asks for, and the peers asked.
    wave: Version,
    asked: BTreeSet<NodeId>,
    /// Peer fetches in flight: request id -> the peer asked and the version asked for.
    peer_fetches: BTreeMap<RequestId, (NodeId, Version)>,
    /// When the last immediate tick ran: at most one per instant, whatever a peer sends.
    last_immediate: Option<SimTime>,
    store_read: Option<StoreRead>,
    /// Store reads started, and those that brought a value (a sync waits for one started
    /// after it asked).
    reads_started: u64,
    reads_done: u64,
    /// A sync asked while a read was in flight: another read follows it.
    resync: bool,
    /// When a store read last brought a value.
    last_store_read: SimTime,
}

impl UpdateTask {
    /// Starts the task: the first tick runs at once (a node starts with nothing cached, so
    /// it reads the store), and the next one a period later.
    pub fn start(&mut self, ctx: &mut Ctx, cached: Version, last_update: SimTime) {
        let settings = &ctx.shared.settings;
        let base = settings.metadata_tick_interval;
        self.period = ctx.shared.rng.add_jitter(base, 50);
        self.observed.first_at = ctx.now;
        self.last_store_read = ctx.now;
        self.tick(ctx, cached, last_update);
    }

    /// The newest version observed (advertised by a peer, or learnt otherwise).
    pub fn observed_version(&self) -> Version {
        self.observed.version
    }

    /// A version advertised by `peer` (or learnt with no peer to ask). Returns true when it
    /// is a new version newer than the cached one: the caller then ticks at once.
    pub fn observe(
        &mut self,
        now: SimTime,
        cached: Version,
        version: Version,
        peer: Option<NodeId>,
    ) -> bool {
        if version <= cached || version < self.observed.version {
            return false;
        }
        if version > self.observed.version {
            self.observed = Observed {
                version,
                peers: peer.into_iter().collect(),
                first_at: now,
            };
            return !mutants::NO_IMMEDIATE_FETCH;
        }
        if let Some(peer) = peer
            && !self.observed.peers.contains(&peer)
        {
            self.observed.peers.push(peer);
        }
        false
    }

    /// One tick: ask one more peer for an observed newer version, and read the store when
    /// a rule says so. Arms the next tick a period from now.
    pub fn tick(&mut self, ctx: &mut Ctx, cached: Version, last_update: SimTime) {
        let settings = &ctx.shared.settings;
        let idle_after = settings.metadata_update_interval;
        let peer_timeout = settings.metadata_fetch_from_peer_timeout;
        let idle_after = ctx.shared.rng.add_jitter(idle_after, 30);
        let peer_timeout = ctx.shared.rng.add_jitter(peer_timeout, 30);

        let anticipated = self.observed.version > cached;
        if anticipated {
            if self.observed.version > self.wave {
                self.wave = self.observed.version;
                self.asked.clear();
            }
            let next = self
                .observed
                .peers
                .iter()
                .copied()
                .find(|p| !self.asked.contains(p));
            if let Some(peer) = next {
                self.asked.insert(peer);
                let request = ctx.id(Part::Metadata);
                let version = self.observed.version;
                ctx.send(
                    peer,
                    Body::GetMetadata((request, MetadataKind::Logs, version)),
                );
                self.peer_fetches.insert(request, (peer, version));
                if self.peer_fetches.len() > MAX_PEER_FETCHES {
                    // Peers that advertise ever newer versions and never answer: forget
                    // the oldest fetch (the store fallback still brings the version).
                    self.peer_fetches.pop_first();
                }
            }
        } else {
            self.asked.clear();
        }

        if self.store_read.is_none() {
            let since_update = ctx
                .now
                .saturating_sub(last_update.max(self.last_store_read));
            let reasons = [
                (cached == INVALID, "first-start"),
                (since_update >= idle_after, "idle"),
                (
                    anticipated && ctx.now.saturating_sub(self.observed.first_at) >= peer_timeout,
                    "new-version-peer-wait-timeout",
                ),
                (
                    anticipated && self.observed.peers.is_empty(),
                    "new-version-no-peers",
                ),
            ];
            let why: Vec<&str> = reasons.iter().filter(|r| r.0).map(|r| r.1).collect();
            if !why.is_empty() {
                self.read_store(ctx, &why.join("|"));
            }
        }
        self.tick = Some(ctx.timer(Part::Metadata, self.period));
    }

    /// Reads the Logs from the store as of now (Restate's `Metadata::sync`): a read starts
    /// unless one is in flight, and then another follows it. Returns the number of the
    /// read that answers the sync: it is done once [`UpdateTask::reads_done`] reaches it.
    pub fn sync(&mut self, ctx: &mut Ctx) -> u64 {
        let token = self.reads_started + 1;
        if self.store_read.is_some() {
            self.resync = true;
        } else {
            self.read_store(ctx, "a sync");
        }
        token
    }

    /// Store reads that brought a value so far.
    pub fn reads_done(&self) -> u64 {
        self.reads_done
    }

    /// Starts a store read unless one is in flight (the `wait-fetches` mutant's way in).
    pub fn read_store(&mut self, ctx: &mut Ctx, why: &str) {
        if self.store_read.is_some() {
            return;
        }
        ctx.log(
            Level::Debug,
            &format!("reading the Logs from the store ({why})"),
        );
        self.reads_started += 1;
        self.store_read = Some(StoreRead {
            call: StoreCall::start(ctx, Ask::Get),
            terminal: Backoff::new(&ctx.shared.settings),
        });
    }

    /// A timer of the task. Returns false when the timer is not the task's.
    pub fn on_timer(
        &mut self,
        ctx: &mut Ctx,
        id: u64,
        cached: Version,
        last_update: SimTime,
    ) -> bool {
        if self.tick == Some(id) {
            self.tick(ctx, cached, last_update);
            return true;
        }
        let Some(read) = &mut self.store_read else {
            return false;
        };
        match read.call.on_timer(ctx, id) {
            CallTimer::NotMine => false,
            CallTimer::Resent => true,
            CallTimer::TimedOut => {
                let why = "no answer in time".to_string();
                self.on_read_failed(ctx, StoreError::Unavailable(why));
                true
            }
        }
    }

    /// The store answered one of the task's reads: returns the value to offer the cache,
    /// if any; an empty answer or an error arms the next try.
    pub fn on_store_response(
        &mut self,
        ctx: &mut Ctx,
        id: RequestId,
        response: StoreResponse,
    ) -> Option<MetadataValue> {
        let read = self.store_read.as_mut()?;
        if !read.call.answers(id) {
            return None;
        }
        match response {
            StoreResponse::Value(Some(value)) => {
                self.store_read = None;
                self.last_store_read = ctx.now;
                self.reads_done += 1;
                if std::mem::take(&mut self.resync) {
                    self.read_store(ctx, "a sync");
                }
                Some(value)
            }
            StoreResponse::Value(None) => {
                let delay = read.call.retry.next_delay();
                read.call.again_after(ctx, delay);
                None
            }
            StoreResponse::Failed(error) => {
                self.on_read_failed(ctx, error);
                None
            }
            StoreResponse::PutDone => {
                ctx.log(Level::Warn, "metadata store answered a read with put-done");
                let delay = read.call.retry.next_delay();
                read.call.again_after(ctx, delay);
                None
            }
        }
    }

    /// A try of the read failed: a retryable error backs off and tries again; a terminal
    /// one sleeps on its own backoff and starts over.
    fn on_read_failed(&mut self, ctx: &mut Ctx, error: StoreError) {
        let Some(read) = &mut self.store_read else {
            return;
        };
        let delay = match error {
            StoreError::Unavailable(why) if !mutants::RETRYABLE_AS_TERMINAL => {
                ctx.log(
                    Level::Info,
                    &format!("metadata store unavailable: {why}; retrying"),
                );
                read.call.retry.next_delay()
            }
            error if mutants::RETRYABLE_AS_TERMINAL => {
                // The bug: a retryable error ends the read as if it were terminal.
                ctx.log(
                    Level::Warn,
                    &format!("metadata store read failed: {error:?}"),
                );
                self.store_read = None;
                return;
            }
            error => {
                ctx.log(
                    Level::Warn,
                    &format!("metadata store read failed terminally: {error:?}; starting over"),
                );
                read.call.retry.reset();
                read.terminal.next_delay()
            }
        };
        read.call.again_after(ctx, delay);
    }

    /// A peer answered: returns true when that fetch is still wanted (its value is then
    /// offered); an answer to a cancelled or unknown fetch, or from another node than the
    /// one asked, is ignored.
    pub fn on_peer_answer(&mut self, from: NodeId, id: RequestId) -> bool {
        match self.peer_fetches.get(&id) {
            Some(&(asked, _)) if asked == from => {
                self.peer_fetches.remove(&id);
                true
            }
            _ => false,
        }
    }

    /// Whether an immediate tick may run now: one per instant, so a peer that advertises a
    /// new version in every message of a batch costs one fetch, not one per message.
    pub fn may_tick_now(&mut self, now: SimTime) -> bool {
        if self.last_immediate == Some(now) {
            return false;
        }
        self.last_immediate = Some(now);
        true
    }

    /// A value was offered to the cache, which now holds `version`: fetches that asked for
    /// no more are cancelled, and once the wave's version is reached the next wave may ask
    /// every peer again.
    pub fn on_offered(&mut self, version: Version) {
        self.peer_fetches.retain(|_, (_, asked)| *asked > version);
        if version >= self.wave {
            self.asked.clear();
        }
    }

    /// Whether a store read is in flight (a get or a sleep between tries).
    pub fn reading_store(&self) -> bool {
        self.store_read.is_some()
    }

    /// Peer fetches in flight.
    pub fn peer_fetches(&self) -> usize {
        self.peer_fetches.len()
    }
}
