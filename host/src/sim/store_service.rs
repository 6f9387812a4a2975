//! The metadata store as a service: each request is served (after its read or write
//! service time) unless an outage stops it, and the answer goes back to the node through
//! the seam, or to the test harness through its proxy, which retries its puts.
//!
//! An outage ([`Outage`]) lasts until its `until` or a recovery. Every outage begins a new
//! leader term (`epoch`): a request still in service when one begins is lost with its
//! leader and fails retryable, as a request to a deposed leader does.

use std::collections::{BTreeMap, VecDeque};

use super::World;
use super::queue::Pending;
use crate::bindings::{MetadataValue, Precondition, StoreError, StoreResponse};
use crate::latency::Latency;
use crate::metadata_store::LOGS_KEY;
use crate::metadata_store::{
    HarnessPuts, MAX_PARKED, Outage, Proxy, StoreRequest, describe_error, version_of,
};
use crate::op::NodeId;
use crate::record::journal::{FlightId, Lane, MarkKind, What};
use crate::record::trace::describe_value;
use crate::seeds::SimRng;
use crate::time::{SimTime, fmt_duration};

/// Who sent a request to the store: a node (and its incarnation), or the harness.
pub(crate) type Requester = Option<(NodeId, u32)>;

/// The service's state: outage, waiting requests, service times, the harness's puts.
pub(crate) struct StoreService {
    /// The outage going on, when it ends by itself, and its term.
    pub outage: Option<(Outage, Option<SimTime>)>,
    /// The leader term: bumped when an outage begins.
    pub epoch: u64,
    /// Requests that wait for the store to recover, in arrival order.
    parked: VecDeque<(Requester, u64, StoreRequest)>,
    pub read_time: Latency,
    pub write_time: Latency,
    rng: SimRng,
    pub proxy: Proxy,
    pub harness_puts: HarnessPuts,
    /// The harness's puts not yet answered for good: id -> put.
    puts: BTreeMap<u64, HarnessPut>,
    next_put: u64,
    /// Why each harness put that failed for good failed, in order.
    pub failed_puts: Vec<String>,
}

/// One put of the harness, retried while it fails retryable.
struct HarnessPut {
    value: MetadataValue,
    precondition: Precondition,
    tries: u32,
}

impl StoreService {
    pub(crate) fn new(seed: u64) -> Self {
        StoreService {
            outage: None,
            epoch: 0,
            parked: VecDeque::new(),
            read_time: Latency::Constant(0),
            write_time: Latency::Constant(0),
            rng: crate::seeds::rng(seed, "store-service"),
            proxy: Proxy::Direct,
            harness_puts: HarnessPuts::default(),
            puts: BTreeMap::new(),
            next_put: 0,
            failed_puts: Vec::new(),
        }
    }

    fn service_time(&mut self, request: &StoreRequest) -> u64 {
        match request {
            StoreRequest::Get { .. } => self.read_time.sample(&mut self.rng),
            StoreRequest::Put { .. } => self.write_time.sample(&mut self.rng),
        }
    }

    /// Requests waiting for the store to recover.
    pub(crate) fn parked(&self) -> usize {
        self.parked.len()
    }
}

impl World {
    /// A request reaches the store: served (now, or after its service time), failed or
    /// parked by an outage.
    pub(crate) fn store_arrives(
        &mut self,
        from: Requester,
        id: u64,
        request: StoreRequest,
        flight: Option<FlightId>,
    ) {
        if let Some(j) = &mut self.journal {
            j.deliver(self.now.0, flight);
        }
        self.timer_streak.end();
        self.events += 1;
        match self.store_service.outage {
            None => self.begin_service(from, id, request),
            Some((outage, _)) => self.meet_outage(outage, from, id, request),
        }
    }

    fn begin_service(&mut self, from: Requester, id: u64, request: StoreRequest) {
        let time = self.store_service.service_time(&request);
        if time == 0 {
            return self.serve(from, id, request);
        }
        let epoch = self.store_service.epoch;
        let at = self.now.plus(time);
        self.push(
            at,
            Pending::StoreServes {
                from,
                id,
                request,
                epoch,
            },
        );
    }

    /// A request's service time is over: it takes effect, unless its leader was lost.
    pub(crate) fn store_serves(
        &mut self,
        from: Requester,
        id: u64,
        request: StoreRequest,
        epoch: u64,
    ) {
        if epoch != self.store_service.epoch {
            return self.lost_with_leader(from, id, &request, "serving it");
        }
        self.serve(from, id, request);
    }

    fn serve(&mut self, from: Requester, id: u64, request: StoreRequest) {
        let who = from.map_or(0, |(n, _)| n);
        let response = self.store_apply(who, id, request);
        self.store_answer(from, id, response);
    }

    fn meet_outage(&mut self, outage: Outage, from: Requester, id: u64, request: StoreRequest) {
        let who = from.map_or(0, |(n, _)| n);
        let text = describe_request(&request, id);
        let error = match outage.error() {
            Some(error) => error,
            None if self.store_service.parked.len() < MAX_PARKED => {
                self.trace.note(self.now.0, who, || {
                    format!("metadata store: {text} waits: the store is {outage}")
                });
                self.store_service.parked.push_back((from, id, request));
                return;
            }
            None => StoreError::Unavailable(format!(
                "the metadata store is {outage} and {MAX_PARKED} requests already wait"
            )),
        };
        self.trace.note(self.now.0, who, || {
            format!("metadata store: {text} failed: {}", describe_error(&error))
        });
        self.store_answer(from, id, StoreResponse::Failed(error));
    }

    /// Sends the store's answer back: to a node through the seam, to the harness through
    /// its proxy.
    fn store_answer(&mut self, from: Requester, id: u64, response: StoreResponse) {
        match from {
            Some((node, incarnation)) => self.answer_from_store(node, incarnation, id, response),
            None => self.harness_answer(id, response),
        }
    }

    /// An outage begins (a new leader term); with `until`, it ends by itself then.
    /// Requests that waited on the old term are lost with it and fail retryable.
    pub(crate) fn begin_outage(&mut self, outage: Outage, until: Option<SimTime>) {
        self.mark(
            Lane::Store,
            MarkKind::Fault,
            || match until {
                Some(u) => format!("{outage} until {u}"),
                None => format!("{outage}"),
            },
            None,
        );
        let service = &mut self.store_service;
        service.epoch += 1;
        service.outage = Some((outage, until));
        let epoch = service.epoch;
        let lost = std::mem::take(&mut service.parked);
        if let Some(until) = until {
            self.push(until, Pending::StoreRecovers { epoch });
        }
        for (from, id, request) in lost {
            self.lost_with_leader(from, id, &request, "it waited");
        }
    }

    /// A request its leader held when a new term began: it fails retryable.
    fn lost_with_leader(&mut self, from: Requester, id: u64, request: &StoreRequest, while_: &str) {
        let who = from.map_or(0, |(n, _)| n);
        let text = describe_request(request, id);
        let why = format!("the leader changed while {while_}");
        self.trace.note(self.now.0, who, || {
            format!("metadata store: {text} lost: {why}")
        });
        let error = StoreError::Unavailable(why);
        self.store_answer(from, id, StoreResponse::Failed(error));
    }

    /// The store recovers (from the outage of term `epoch`, or from any with None): the
    /// requests that waited start their service in the order they came (with a random
    /// service time, they may finish in another).
    pub(crate) fn store_recovers(&mut self, epoch: Option<u64>) {
        let service = &mut self.store_service;
        if service.outage.is_none() || epoch.is_some_and(|e| e != service.epoch) {
            return;
        }
        service.outage = None;
        let parked = std::mem::take(&mut service.parked);
        let waiting = parked.len();
        self.mark(
            Lane::Store,
            MarkKind::Fault,
            || format!("recovered; serving {waiting} waiting requests"),
            None,
        );
        self.trace.note(self.now.0, 0, || {
            format!(
                "metadata store: recovered; serving {} waiting requests",
                parked.len()
            )
        });
        for (from, id, request) in parked {
            self.begin_service(from, id, request);
        }
    }

    /// The test harness writes the Logs, as Restate's test does: retried every
    /// `interval` while it fails retryable, up to `tries` in all.
    pub(crate) fn harness_put(&mut self, value: MetadataValue, precondition: Precondition) {
        let service = &mut self.store_service;
        service.next_put += 1;
        let id = service.next_put;
        let put = HarnessPut {
            value,
            precondition,
            tries: 0,
        };
        service.puts.insert(id, put);
        self.harness_try(id);
    }

    /// One try of a harness put: it reaches the store at once (the harness sits beside it).
    pub(crate) fn harness_try(&mut self, id: u64) {
        let Some(put) = self.store_service.puts.get_mut(&id) else {
            return;
        };
        put.tries += 1;
        let request = StoreRequest::Put {
            key: LOGS_KEY.into(),
            value: put.value.clone(),
            precondition: put.precondition,
        };
        let now = self.now.0;
        let flight = self.journal.as_mut().and_then(|j| {
            j.send(
                now,
                Lane::Harness,
                Lane::Store,
                What::StoreRequest(id, &request),
            )
        });
        self.store_arrives(None, id, request, flight);
    }

    fn harness_answer(&mut self, id: u64, response: StoreResponse) {
        let response = self.store_service.proxy.map(response);
        let now = self.now.0;
        if let Some(j) = &mut self.journal {
            let flight = j.send(
                now,
                Lane::Store,
                Lane::Harness,
                What::StoreAnswer(id, &response),
            );
            j.deliver(now, flight);
        }
        let policy = self.store_service.harness_puts;
        let Some(put) = self.store_service.puts.get(&id) else {
            return;
        };
        let tries = put.tries;
        match response {
            StoreResponse::PutDone | StoreResponse::Value(_) => {
                self.store_service.puts.remove(&id);
            }
            StoreResponse::Failed(StoreError::Unavailable(why)) if tries < policy.tries => {
                let again = self.now.plus(policy.interval);
                self.trace.note(self.now.0, 0, || {
                    format!(
                        "harness: put of the Logs failed retryable ({why}), try {tries} of {}; again at {again}",
                        policy.tries
                    )
                });
                self.push(again, Pending::HarnessRetry(id));
            }
            StoreResponse::Failed(error) => {
                self.store_service.puts.remove(&id);
                let why = format!(
                    "the harness's put of the Logs failed after {tries} {}: {}",
                    if tries == 1 { "try" } else { "tries" },
                    describe_error(&error)
                );
                self.trace.note(self.now.0, 0, || format!("harness: {why}"));
                self.store_service.failed_puts.push(why.clone());
                if let Some(driver) = self.driver.as_mut()
                    && driver.error.is_none()
                {
                    driver.error = Some(why);
                }
            }
        }
    }

    /// The harness's own request, served at once whatever the service time and seen
    /// through the proxy. It cannot wait: during a hang or an election it fails
    /// `unavailable` at once; other outages fail it as they fail any request.
    pub(crate) fn harness_request(&mut self, request: StoreRequest) -> StoreResponse {
        let response = match self.store_service.outage {
            None => {
                self.events += 1;
                self.store_apply(0, 0, request)
            }
            Some((outage, until)) => StoreResponse::Failed(outage.error().unwrap_or_else(|| {
                StoreError::Unavailable(format!(
                    "the metadata store is {outage}{}",
                    until.map_or(String::new(), |u| format!(" until {}", fmt_duration(u.0)))
                ))
            })),
        };
        self.store_service.proxy.map(response)
    }

    /// Applies a request to the store, recording it in the trace.
    fn store_apply(&mut self, who: NodeId, id: u64, request: StoreRequest) -> StoreResponse {
        let text = describe_request(&request, id);
        self.trace
            .note(self.now.0, who, || format!("metadata store: {text}"));
        self.store.apply(request)
    }
}

/// `get bifrost_config (#id)`, `put bifrost_config = Logs v1 (...) if None (#id)`.
fn describe_request(request: &StoreRequest, id: u64) -> String {
    match request {
        StoreRequest::Get { key } => format!("get {key} (#{id:x})"),
        StoreRequest::Put {
            key,
            value,
            precondition,
        } => format!(
            "put {key} = Logs v{} ({}) if {precondition:?} (#{id:x})",
            version_of(value),
            describe_value(value)
        ),
    }
}
