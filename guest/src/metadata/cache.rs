//! The node's cached metadata and Restate's version rule.
//!
//! - An update is accepted only when its version is **strictly greater** than the cached
//!   one; content is never compared, so an equal version is silently dropped.
//! - Waiting for a version resolves on `>=` and is **passive**: a wait fetches nothing; it
//!   resolves when the update task ([`super::update_task`]) or an own write brings the
//!   version.
//! - Updates come from three sources: the node's own metadata-store reads and its peers
//!   (both driven by the update task), and the node's own writes (the provisioner's put).
//!
//! This is exactly the rule that made Restate's `unknown log '0'` race possible: two
//! different values with the same version, and the first to arrive wins.

use crate::bindings::exports::logsandbox::node::node::Roles;
use crate::bindings::logsandbox::node::client::{OpId, OpResult};
use crate::bindings::logsandbox::node::host::Level;
use crate::bindings::logsandbox::node::messages::{Body, MetadataVersion};
use crate::bindings::logsandbox::node::metadata::{
    Chain, Logs, MetadataKind, MetadataValue, Precondition, ReplicatedParams, StoreError,
    StoreResponse, UpdateSource,
};
use crate::bindings::logsandbox::node::types::{
    LogId, LogletId, NodeId, RequestId, SimTime, Version,
};
use crate::ctx::Ctx;
use crate::metadata::chain_writer::{ChainWriter, Command, Written};
use crate::metadata::store_call::{Ask, CallTimer, StoreCall};
use crate::metadata::update_task::UpdateTask;
use crate::metadata::{INVALID, MIN};
use crate::mutants;

/// What happened to a value offered to the cache.
#[derive(Debug, PartialEq, Eq)]
pub enum Offer {
    /// Strictly newer than the cached version: it is now the cached value.
    Accepted,
    /// Not strictly newer than the cached version: dropped.
    NotNewer {
        /// The cached version, which the offer did not beat.
        cached: Version,
    },
}

/// The node's cached Logs, with the update task that refreshes it, the provisioner's put,
/// and the client operations waiting for a version.
#[derive(Default)]
pub struct MetadataCache {
    logs: Option<Logs>,
    /// When a value was last accepted.
    last_update: SimTime,
    task: UpdateTask,
    /// The provisioner's put of the empty Logs, until it is answered for good: retried on
    /// retryable errors, given up (and reported) on a terminal one.
    provision: Option<StoreCall>,
    /// Client operations waiting for a version (`>=`).
    waiters: Vec<(OpId, Version)>,
    /// This node's chain changes, one put at a time.
    writer: ChainWriter,
}

/// The Logs the provisioner writes: empty, at version 1.
fn empty_logs() -> MetadataValue {
    MetadataValue::Logs(Logs {
        version: MIN,
        chains: Vec::new(),
    })
}

impl MetadataCache {
    /// The cached Logs version (INVALID when nothing is cached).
    pub fn version(&self) -> Version {
        self.logs.as_ref().map_or(INVALID, |l| l.version)
    }

    /// The versions to carry in every outgoing message header.
    pub fn versions(&self) -> Vec<MetadataVersion> {
        vec![MetadataVersion {
            kind: MetadataKind::Logs,
            version: self.version(),
        }]
    }

    /// Reads the Logs from the store as of now (Restate's `Metadata::sync`); returns the
    /// token [`MetadataCache::synced`] takes.
    pub fn sync(&mut self, ctx: &mut Ctx) -> u64 {
        self.task.sync(ctx)
    }

    /// Whether the store read a [`MetadataCache::sync`] asked for brought its value (and
    /// the cache took it, if it was newer).
    pub fn synced(&self, token: u64) -> bool {
        self.task.reads_done() >= token
    }

    /// Store reads that brought a value so far.
    pub fn store_reads(&self) -> u64 {
        self.task.reads_done()
    }

    /// Whether the node knows of a newer Logs than the one it caches (a peer advertised
    /// it, or the store refused a put over it), and is fetching it.
    pub fn behind(&self) -> bool {
        self.task.observed_version() > self.version()
    }

    /// The cached chain of `log`, if the cached Logs has it.
    pub fn chain(&self, log: LogId) -> Option<&Chain> {
        self.logs.as_ref()?.chains.iter().find(|c| c.log_id == log)
    }

    /// The parameters of a loglet, from whichever chain segment names it.
    pub fn loglet_params(&self, loglet: LogletId) -> Option<ReplicatedParams> {
        self.logs
            .as_ref()?
            .chains
            .iter()
            .flat_map(|c| &c.segments)
            .filter_map(|s| s.params.as_ref())
            .find(|p| p.loglet_id == loglet)
            .cloned()
    }

    /// Starts the update task (its first tick reads the store: nothing is cached yet) and,
    /// on the provisioner, writes the initial empty Logs.
    pub fn start(&mut self, ctx: &mut Ctx) {
        self.last_update = ctx.now;
        let cached = self.version();
        self.task.start(ctx, cached, self.last_update);
        if ctx.shared.roles.contains(Roles::PROVISIONER) {
            let put = Ask::Put(empty_logs(), Precondition::DoesNotExist);
            self.provision = Some(StoreCall::start(ctx, put));
        }
    }

    /// Notes the versions a peer carries in its message header. Returns true when one is a
    /// new version newer than the cached one: the caller runs [`Self::tick_now`] once the
    /// message is handled (Restate resets the update task's interval: fetch at once).
    pub fn observe_versions(
        &mut self,
        ctx: &mut Ctx,
        from: NodeId,
        versions: &[MetadataVersion],
    ) -> bool {
        let cached = self.version();
        let mut newer = false;
        for v in versions {
            if v.kind == MetadataKind::Logs {
                newer |= self.task.observe(ctx.now, cached, v.version, Some(from));
            }
        }
        newer
    }

    /// Runs the update task's tick now (Restate's `reset_immediately`): it asks a peer for
    /// the observed version if it is still not cached, reads the store if a rule says so,
    /// and arms the next tick a period from now.
    pub fn tick_now(&mut self, ctx: &mut Ctx) {
        if !self.task.may_tick_now(ctx.now) {
            return;
        }
        let cached = self.version();
        self.task.tick(ctx, cached, self.last_update);
    }

    /// Waits for Logs `>= version`, passively: nothing is fetched for it.
    pub fn wait_for(&mut self, ctx: &mut Ctx, op: OpId, kind: MetadataKind, version: Version) {
        let MetadataKind::Logs = kind;
        let early = mutants::WAIT_RESOLVES_EARLY;
        if (self.version() >= version || early) && self.version() != INVALID {
            ctx.env
                .complete(op, OpResult::MetadataReady(self.version()));
            return;
        }
        self.waiters.push((op, version));
        if mutants::WAIT_FETCHES {
            self.task.read_store(ctx, "a wait");
        }
    }

    /// A metadata-store answer: to the provisioner's put, or to an update-task read whose
    /// value is offered to the cache.
    pub fn on_store_response(&mut self, ctx: &mut Ctx, id: RequestId, response: StoreResponse) {
        if self.provision.as_mut().is_some_and(|p| p.answers(id)) {
            return self.on_provisioned(ctx, response);
        }
        if self.writer.answers(id) {
            let written = self.writer.on_response(ctx, response);
            return self.after_write(ctx, written);
        }
        if let Some(value) = self.task.on_store_response(ctx, id, response) {
            self.offer(ctx, value, UpdateSource::StoreFetch, None);
        }
    }

    fn on_provisioned(&mut self, ctx: &mut Ctx, response: StoreResponse) {
        match response {
            StoreResponse::PutDone => {
                self.provision = None;
                self.offer(ctx, empty_logs(), UpdateSource::OwnWrite, None);
            }
            StoreResponse::Failed(StoreError::FailedPrecondition(v)) => {
                self.provision = None;
                ctx.log(
                    Level::Info,
                    &format!("provisioning skipped: Logs already exist at version {v}"),
                );
                // The store holds v, and no peer was named for it: the update task reads it.
                if self.task.observe(ctx.now, self.version(), v, None) {
                    self.tick_now(ctx);
                }
            }
            StoreResponse::Failed(error) => self.provisioning_failed(ctx, error),
            StoreResponse::Value(_) => {
                self.provision = None;
                ctx.log(
                    Level::Warn,
                    "provisioning: the store answered a put with a value",
                )
            }
        }
    }

    /// A try of the provisioning put failed (or got no answer in time): retried when the
    /// error is retryable, given up and reported when it is terminal.
    fn provisioning_failed(&mut self, ctx: &mut Ctx, error: StoreError) {
        let Some(call) = &mut self.provision else {
            return;
        };
        match error {
            StoreError::Unavailable(why) if !mutants::RETRYABLE_AS_TERMINAL => {
                ctx.log(
                    Level::Info,
                    &format!("provisioning: metadata store unavailable ({why}); retrying"),
                );
                let delay = call.retry.next_delay();
                call.again_after(ctx, delay);
            }
            error => {
                self.provision = None;
                ctx.log(
                    Level::Warn,
                    &format!("provisioning failed for good: {error:?}"),
                );
            }
        }
    }

    /// A timer of the metadata plane fired: the provisioner's put is retried or times out,
    /// or the update task ticks, or its store read is retried or times out.
    pub fn on_timer(&mut self, ctx: &mut Ctx, id: u64) {
        if self.writer.on_timer(ctx, id, self.logs.as_ref()) {
            return;
        }
        if let Some(call) = &mut self.provision {
            match call.on_timer(ctx, id) {
                CallTimer::NotMine => {}
                CallTimer::Resent => return,
                CallTimer::TimedOut => {
                    let why = "no answer in time".to_string();
                    return self.provisioning_failed(ctx, StoreError::Unavailable(why));
                }
            }
        }
        let cached = self.version();
        self.task.on_timer(ctx, id, cached, self.last_update);
    }

    /// Hands a chain change (an extension, a seal) to the chain writer, which completes
    /// its operation.
    pub fn change_chain(&mut self, ctx: &mut Ctx, command: Command) {
        self.writer.enqueue(ctx, command);
    }

    /// What the writer's put left to do: take the value written, or learn the newer
    /// version the store holds.
    fn after_write(&mut self, ctx: &mut Ctx, written: Written) {
        match written {
            Written::Nothing => {}
            Written::Offer(value) => {
                self.offer(ctx, value, UpdateSource::OwnWrite, None);
            }
            Written::Behind(version) => {
                // As Restate's writer: the next version is declared observed, and fetched.
                let cached = self.version();
                if cached >= version {
                    self.writer.on_cached(ctx, cached);
                } else if self.task.observe(ctx.now, cached, version, None) {
                    self.tick_now(ctx);
                }
            }
        }
    }

    /// A peer asks for our value: answer with it if valid and `>= min_version`.
    pub fn on_get_metadata(
        &mut self,
        ctx: &mut Ctx,
        from: NodeId,
        id: RequestId,
        kind: MetadataKind,
        min_version: Version,
    ) {
        let MetadataKind::Logs = kind;
        let value = self
            .logs
            .as_ref()
            .filter(|l| l.version != INVALID && l.version >= min_version)
            .map(|l| MetadataValue::Logs(l.clone()));
        ctx.send(from, Body::MetadataUpdate((id, value)));
    }

    /// A peer's GetMetadata answer: offered only if that fetch was not cancelled.
    pub fn on_peer_update(
        &mut self,
        ctx: &mut Ctx,
        from: NodeId,
        id: RequestId,
        value: Option<MetadataValue>,
    ) {
        if !self.task.on_peer_answer(from, id) {
            return;
        }
        match value {
            Some(value) => {
                self.offer(ctx, value, UpdateSource::Peer, Some(from));
            }
            None => ctx.log(
                Level::Debug,
                &format!("N{from} had no Logs to give at the version asked"),
            ),
        }
    }

    /// Offers a value to the cache: accepted only when strictly newer.
    pub fn offer(
        &mut self,
        ctx: &mut Ctx,
        value: MetadataValue,
        source: UpdateSource,
        peer: Option<NodeId>,
    ) -> Offer {
        let MetadataValue::Logs(logs) = &value;
        let cached = self.version();
        if logs.version < cached || (logs.version == cached && !mutants::EQUAL_VERSION_ACCEPTED) {
            ctx.env
                .metadata_offered(MetadataKind::Logs, &value, source, peer, false);
            ctx.log(
                Level::Info,
                &format!(
                    "dropped Logs v{} from {}: not newer than cached v{cached}",
                    logs.version,
                    describe(source, peer)
                ),
            );
            self.task.on_offered(cached);
            return Offer::NotNewer { cached };
        }
        ctx.env
            .metadata_offered(MetadataKind::Logs, &value, source, peer, true);
        let MetadataValue::Logs(logs) = value;
        self.logs = Some(logs);
        self.last_update = ctx.now;
        ctx.shared.versions = self.versions();
        let version = self.version();
        self.task.on_offered(version);
        let (ready, waiting): (Vec<_>, Vec<_>) = self
            .waiters
            .drain(..)
            .partition(|&(_, v)| version >= v || mutants::WAIT_RESOLVES_EARLY);
        self.waiters = waiting;
        for (op, _) in ready {
            ctx.env.complete(op, OpResult::MetadataReady(version));
        }
        self.writer.on_cached(ctx, version);
        Offer::Accepted
    }
}

fn describe(source: UpdateSource, peer: Option<NodeId>) -> String {
    match (source, peer) {
        (UpdateSource::Peer, Some(p)) => format!("peer N{p}"),
        (UpdateSource::Peer, None) => "a peer".to_string(),
        (UpdateSource::StoreFetch, _) => "the metadata store".to_string(),
        (UpdateSource::OwnWrite, _) => "its own write".to_string(),
    }
}
