//! The node's cached metadata and Restate's version rule.
//!
//! - An update is accepted only when its version is **strictly greater** than the cached
//!   one; content is never compared, so an equal version is silently dropped.
//! - Waiting for a version resolves on `>=`.
//! - Updates come from three sources: the node's own metadata-store fetch (on first use,
//!   retried with backoff 100 ms x1.5 capped at 1 s, and again after 10 s idle), peers
//!   (a newer version seen in a message header makes the update task, which ticks every
//!   100 ms ±50%, send `GetMetadata` to that peer), and the node's own writes.
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
use crate::mutants;
use crate::node::{Ctx, Part};

/// The metadata-store key of the Logs value.
pub const LOGS_KEY: &str = "bifrost_config";
pub const INVALID: Version = 0;
pub const MIN: Version = 1;

/// What happened to a value offered to the cache.
#[derive(Debug, PartialEq, Eq)]
pub enum Offer {
    Accepted,
    /// Not strictly newer than the cached version: dropped.
    NotNewer {
        cached: Version,
    },
}

#[derive(Default)]
pub struct MetadataCache {
    logs: Option<Logs>,
    /// When the cached value last changed (or was last confirmed by a store fetch).
    last_refresh: SimTime,
    /// The newest version seen in a peer's header, and that peer.
    observed: Option<(Version, NodeId)>,
    /// An outstanding GetMetadata: its id and the version asked for.
    peer_request: Option<(RequestId, Version)>,
    /// An outstanding store read.
    store_fetch: Option<RequestId>,
    /// A retry of the store read is armed.
    retry_timer: Option<u64>,
    backoff: u64,
    tick_timer: Option<u64>,
    /// The provisioner's initial put.
    provision: Option<RequestId>,
    /// Client operations waiting for a version (`>=`).
    waiters: Vec<(OpId, Version)>,
    /// The node is starting: it waits for Logs `>= MIN`, fetching until it has one.
    starting: bool,
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

    /// The replicated-loglet parameters of `log`'s last segment.
    pub fn lookup(&self, log: LogId) -> Result<ReplicatedParams, LookupError> {
        let chain: Option<&Chain> = self
            .logs
            .as_ref()
            .and_then(|l| l.chains.iter().find(|c| c.log_id == log));
        let segment = chain
            .and_then(|c| c.segments.last())
            .ok_or(LookupError::UnknownLog(log))?;
        segment
            .params
            .clone()
            .ok_or(LookupError::NotReplicated(log))
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

    /// Arms the update task, starts the start-up fetch (a starting node waits for Logs
    /// `>= MIN`) and, on the provisioner, writes the initial empty Logs.
    pub fn start(&mut self, ctx: &mut Ctx) {
        self.backoff = ctx.shared.settings.metadata_fetch_backoff_initial;
        self.last_refresh = ctx.now;
        self.starting = true;
        self.arm_tick(ctx);
        self.fetch_from_store(ctx);
        if ctx.shared.roles.contains(Roles::PROVISIONER) {
            let id = ctx.id(Part::Metadata);
            let empty = MetadataValue::Logs(Logs {
                version: MIN,
                chains: Vec::new(),
            });
            ctx.env
                .metadata_put(id, LOGS_KEY, empty, Precondition::DoesNotExist);
            self.provision = Some(id);
        }
    }

    fn arm_tick(&mut self, ctx: &mut Ctx) {
        let interval = ctx.shared.settings.metadata_update_interval;
        let delay = ctx.shared.rng.jitter(interval, 50).max(1);
        self.tick_timer = Some(ctx.timer(Part::Metadata, delay));
    }

    /// Notes the versions a peer carries in its message header.
    pub fn observe_versions(&mut self, _ctx: &mut Ctx, from: NodeId, versions: &[MetadataVersion]) {
        for v in versions {
            if v.kind == MetadataKind::Logs
                && v.version > self.version()
                && self.observed.is_none_or(|(seen, _)| v.version > seen)
            {
                self.observed = Some((v.version, from));
            }
        }
    }

    /// Waits for Logs `>= version`; fetches from the store when the cache is behind.
    pub fn wait_for(&mut self, ctx: &mut Ctx, op: OpId, kind: MetadataKind, version: Version) {
        let MetadataKind::Logs = kind;
        let early = mutants::WAIT_RESOLVES_EARLY;
        if (self.version() >= version || early) && self.version() != INVALID {
            ctx.env
                .complete(op, OpResult::MetadataReady(self.version()));
            return;
        }
        self.waiters.push((op, version));
        self.fetch_from_store(ctx);
    }

    /// The highest version someone waits for.
    fn wanted(&self) -> Option<Version> {
        let startup = (self.starting && self.version() == INVALID).then_some(MIN);
        self.waiters
            .iter()
            .map(|&(_, v)| v.max(MIN))
            .chain(startup)
            .max()
    }

    fn fetch_from_store(&mut self, ctx: &mut Ctx) {
        if self.store_fetch.is_some() || self.retry_timer.is_some() {
            return;
        }
        let id = ctx.id(Part::Metadata);
        ctx.env.metadata_get(id, LOGS_KEY);
        self.store_fetch = Some(id);
    }

    fn schedule_retry(&mut self, ctx: &mut Ctx) {
        if self.retry_timer.is_some() {
            return;
        }
        let delay = self.backoff;
        self.backoff = (self.backoff * 3 / 2).min(ctx.shared.settings.metadata_fetch_backoff_max);
        self.retry_timer = Some(ctx.timer(Part::Metadata, delay));
    }

    pub fn on_store_response(&mut self, ctx: &mut Ctx, id: RequestId, response: StoreResponse) {
        if self.provision == Some(id) {
            self.provision = None;
            match response {
                StoreResponse::PutDone => {
                    let value = MetadataValue::Logs(Logs {
                        version: MIN,
                        chains: Vec::new(),
                    });
                    self.offer(ctx, value, UpdateSource::OwnWrite, None);
                }
                StoreResponse::Failed(StoreError::FailedPrecondition(v)) => ctx.log(
                    Level::Info,
                    &format!("provisioning skipped: Logs already exist at version {v}"),
                ),
                other => ctx.log(Level::Warn, &format!("provisioning failed: {other:?}")),
            }
            return;
        }
        if self.store_fetch != Some(id) {
            return;
        }
        self.store_fetch = None;
        match response {
            StoreResponse::Value(Some(value)) => {
                self.last_refresh = ctx.now;
                self.offer(ctx, value, UpdateSource::StoreFetch, None);
                self.backoff = ctx.shared.settings.metadata_fetch_backoff_initial;
            }
            StoreResponse::Value(None) => {}
            StoreResponse::PutDone => {}
            StoreResponse::Failed(e) => {
                ctx.log(Level::Info, &format!("metadata store read failed: {e:?}"))
            }
        }
        if self.wanted().is_some_and(|w| w > self.version()) {
            self.schedule_retry(ctx);
        }
    }

    pub fn on_timer(&mut self, ctx: &mut Ctx, id: u64) {
        if self.retry_timer == Some(id) {
            self.retry_timer = None;
            self.fetch_from_store(ctx);
            return;
        }
        if self.tick_timer != Some(id) {
            return;
        }
        // The update task: ask the peer that advertised a newer version, and refresh
        // from the store when nothing changed for a long while.
        if let Some((version, peer)) = self.observed
            && version > self.version()
            && self.peer_request.is_none_or(|(_, asked)| asked < version)
        {
            let req = ctx.id(Part::Metadata);
            ctx.send(peer, Body::GetMetadata((req, MetadataKind::Logs, version)));
            self.peer_request = Some((req, version));
        }
        if ctx.now.saturating_sub(self.last_refresh) >= ctx.shared.settings.metadata_refresh_idle {
            self.last_refresh = ctx.now;
            self.fetch_from_store(ctx);
        }
        self.arm_tick(ctx);
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

    pub fn on_peer_update(
        &mut self,
        ctx: &mut Ctx,
        from: NodeId,
        id: RequestId,
        value: Option<MetadataValue>,
    ) {
        if self.peer_request.is_some_and(|(req, _)| req == id) {
            self.peer_request = None;
        }
        if let Some(value) = value {
            self.offer(ctx, value, UpdateSource::Peer, Some(from));
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
            return Offer::NotNewer { cached };
        }
        ctx.env
            .metadata_offered(MetadataKind::Logs, &value, source, peer, true);
        let MetadataValue::Logs(logs) = value;
        self.logs = Some(logs);
        self.starting = false;
        self.last_refresh = ctx.now;
        ctx.shared.versions = self.versions();
        let version = self.version();
        let (ready, waiting): (Vec<_>, Vec<_>) = self
            .waiters
            .drain(..)
            .partition(|&(_, v)| version >= v || mutants::WAIT_RESOLVES_EARLY);
        self.waiters = waiting;
        for (op, _) in ready {
            ctx.env.complete(op, OpResult::MetadataReady(version));
        }
        Offer::Accepted
    }
}

/// Why a log cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LookupError {
    /// The cached Logs has no such log: Restate's `unknown log '0'`.
    UnknownLog(LogId),
    /// The log's last segment is not a replicated loglet.
    NotReplicated(LogId),
}

fn describe(source: UpdateSource, peer: Option<NodeId>) -> String {
    match (source, peer) {
        (UpdateSource::Peer, Some(p)) => format!("peer N{p}"),
        (UpdateSource::Peer, None) => "a peer".to_string(),
        (UpdateSource::StoreFetch, _) => "the metadata store".to_string(),
        (UpdateSource::OwnWrite, _) => "its own write".to_string(),
    }
}
