//! The journal: who talked to whom, and what each lane went through.
//!
//! Every message between nodes and every metadata-store request and answer is a
//! [`Flight`], from its send to its delivery or loss; every start, crash, operation,
//! metadata value taken or dropped and fault is a [`Mark`] on its lane. Entries are kept in
//! the order they happened, so the position of an entry is a Lamport order consistent with
//! virtual time. `messages.svg` and `explain` are drawn from it.
//!
//! It is kept only when the trace's text is (`--out`, `--timeline`, the repl), and never
//! reaches the trace hash: keeping it changes nothing in a run.

use std::fmt;

use serde::Serialize;

use crate::bindings::{Body, MetadataKind, StoreResponse};
use crate::metadata_store::{StoreRequest, version_of};
use crate::op::NodeId;

/// The most entries a journal keeps; past it, it stops growing and says so.
pub const MAX_ENTRIES: usize = 1_000_000;

/// A column of the diagram: a node, the metadata store, or the test harness beside it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum Lane {
    /// A node.
    Node(NodeId),
    /// The metadata store.
    Store,
    /// The test harness (its puts of the Logs).
    Harness,
}

impl fmt::Display for Lane {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Lane::Node(n) => write!(f, "N{n}"),
            Lane::Store => f.write_str("store"),
            Lane::Harness => f.write_str("test"),
        }
    }
}

/// Index of a flight in the journal.
pub type FlightId = u32;

/// One message or store request or answer, from its send to its end.
#[derive(Debug, Clone, Serialize)]
pub struct Flight {
    /// Its index.
    pub id: FlightId,
    /// Who sent it.
    pub from: Lane,
    /// Whom it was for.
    pub to: Lane,
    /// Its kind, short: `GetMetadata`, `MetadataUpdate`, `Store`, `get`, `answer`...
    pub kind: String,
    /// What it says, for people.
    pub label: String,
    /// The id that pairs a request with its answer, when it has one.
    pub request: Option<u64>,
    /// The Logs version it carries: in a message's header, or the value it holds.
    pub logs_version: Option<u32>,
    /// Virtual ns it was sent at.
    pub sent: u64,
    /// Its send's position in the journal.
    pub sent_at: usize,
    /// It was held on its link for a while.
    pub held: bool,
    /// How it ended.
    pub fate: Fate,
}

/// How a flight ended.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "fate", rename_all = "kebab-case")]
pub enum Fate {
    /// Not yet delivered (in the network, held, or waiting at a hung store).
    InFlight,
    /// It arrived.
    Delivered {
        /// When (virtual ns).
        at: u64,
        /// Its position in the journal.
        entry: usize,
    },
    /// It was lost: a partition, or its receiver was down.
    Lost {
        /// When (virtual ns).
        at: u64,
        /// Its position in the journal.
        entry: usize,
        /// Why.
        why: String,
    },
}

/// What a mark records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum MarkKind {
    /// The node started (again).
    Start,
    /// The node crashed.
    Crash,
    /// The node's disk was lost.
    Wipe,
    /// A client operation was invoked on the node.
    Invoke,
    /// It completed with success.
    Complete,
    /// It completed with an error.
    Failed,
    /// It was lost (its node went down).
    OpLost,
    /// A seal completed.
    Sealed,
    /// The node's metadata cache took a value.
    Taken,
    /// The node's metadata cache dropped a value as not newer.
    Dropped,
    /// A fault or a change of the network or the store.
    Fault,
}

/// Something that happened on one lane.
#[derive(Debug, Clone, Serialize)]
pub struct Mark {
    /// Virtual ns.
    pub at: u64,
    /// Its position in the journal.
    pub entry: usize,
    /// Where.
    pub lane: Lane,
    /// What kind of thing.
    pub kind: MarkKind,
    /// What, for people.
    pub label: String,
    /// The client operation it concerns.
    pub op: Option<u64>,
    /// The flight that brought it about (the message that carried a metadata value).
    pub cause: Option<FlightId>,
}

/// One entry, in the order things happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "entry", content = "id", rename_all = "kebab-case")]
pub enum Entry {
    /// A flight was sent.
    Send(FlightId),
    /// It arrived.
    Deliver(FlightId),
    /// It was lost.
    Lose(FlightId),
    /// It was held on its link.
    Hold(FlightId),
    /// A mark (its index).
    Mark(u32),
}

/// The journal of a run. See the module documentation.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Journal {
    /// Every entry, with its virtual ns.
    pub entries: Vec<(u64, Entry)>,
    /// Every flight, by id.
    pub flights: Vec<Flight>,
    /// Every mark, by index.
    pub marks: Vec<Mark>,
    /// It stopped growing at [`MAX_ENTRIES`].
    pub truncated: bool,
    /// The node whose call is under way, and the flights delivered to it in that call:
    /// what a metadata value it takes or drops in the call was carried by.
    #[serde(skip)]
    in_call: (Option<Lane>, Vec<FlightId>),
}

impl Journal {
    fn room(&mut self) -> bool {
        if self.entries.len() >= MAX_ENTRIES {
            self.truncated = true;
        }
        !self.truncated
    }

    /// A flight leaves `from` for `to` at `at`; returns its id.
    pub fn send(&mut self, at: u64, from: Lane, to: Lane, what: What<'_>) -> Option<FlightId> {
        if !self.room() {
            return None;
        }
        let id = self.flights.len() as FlightId;
        let (kind, label, request, logs_version) = what.describe();
        self.flights.push(Flight {
            id,
            from,
            to,
            kind,
            label,
            request,
            logs_version,
            sent: at,
            sent_at: self.entries.len(),
            held: false,
            fate: Fate::InFlight,
        });
        self.entries.push((at, Entry::Send(id)));
        Some(id)
    }

    /// The flight arrived.
    pub fn deliver(&mut self, at: u64, flight: Option<FlightId>) {
        let Some(id) = flight else { return };
        if !self.room() {
            return;
        }
        let entry = self.entries.len();
        let Some(f) = self.flights.get_mut(id as usize) else {
            return;
        };
        f.fate = Fate::Delivered { at, entry };
        let to = f.to;
        self.entries.push((at, Entry::Deliver(id)));
        if self.in_call.0 == Some(to) {
            self.in_call.1.push(id);
        }
    }

    /// A call to `lane`'s node begins: what it is handed from now on, until the next call,
    /// is what it acts on.
    pub fn begin_call(&mut self, lane: Lane) {
        self.in_call.0 = Some(lane);
        self.in_call.1.clear();
    }

    /// A metadata value of `version` from `source` (None: the node's own write) was taken
    /// or dropped by `lane`'s cache: a mark whose cause is the flight of this call that
    /// carried it.
    pub fn offer(
        &mut self,
        at: u64,
        lane: Lane,
        taken: bool,
        label: impl Into<String>,
        source: Option<Lane>,
        version: u32,
    ) {
        let cause = match (&self.in_call, source) {
            ((Some(l), flights), Some(source)) if *l == lane => {
                flights.iter().rev().copied().find(|f| {
                    let f = &self.flights[*f as usize];
                    f.from == source
                        && f.logs_version == Some(version)
                        && matches!(f.kind.as_str(), "MetadataUpdate" | "answer")
                })
            }
            _ => None,
        };
        let kind = if taken {
            MarkKind::Taken
        } else {
            MarkKind::Dropped
        };
        self.push_mark(at, lane, kind, label.into(), None, cause);
    }

    /// The flight was lost.
    pub fn lose(&mut self, at: u64, flight: Option<FlightId>, why: impl Into<String>) {
        let Some(id) = flight else { return };
        if !self.room() {
            return;
        }
        let entry = self.entries.len();
        let Some(f) = self.flights.get_mut(id as usize) else {
            return;
        };
        f.fate = Fate::Lost {
            at,
            entry,
            why: why.into(),
        };
        self.entries.push((at, Entry::Lose(id)));
    }

    /// The flight was held on its link.
    pub fn hold(&mut self, at: u64, flight: Option<FlightId>) {
        let Some(id) = flight else { return };
        if !self.room() {
            return;
        }
        if let Some(f) = self.flights.get_mut(id as usize) {
            f.held = true;
            self.entries.push((at, Entry::Hold(id)));
        }
    }

    /// Something happened on `lane`.
    pub fn mark(
        &mut self,
        at: u64,
        lane: Lane,
        kind: MarkKind,
        label: impl Into<String>,
        op: Option<u64>,
    ) {
        self.push_mark(at, lane, kind, label.into(), op, None);
    }

    fn push_mark(
        &mut self,
        at: u64,
        lane: Lane,
        kind: MarkKind,
        label: String,
        op: Option<u64>,
        cause: Option<FlightId>,
    ) {
        if !self.room() {
            return;
        }
        let index = self.marks.len() as u32;
        self.marks.push(Mark {
            at,
            entry: self.entries.len(),
            lane,
            kind,
            label,
            op,
            cause,
        });
        self.entries.push((at, Entry::Mark(index)));
    }

    /// The lanes that appear, nodes first in order, then the store, then the harness.
    pub fn lanes(&self) -> Vec<Lane> {
        let mut lanes: Vec<Lane> = self
            .flights
            .iter()
            .flat_map(|f| [f.from, f.to])
            .chain(self.marks.iter().map(|m| m.lane))
            .collect();
        lanes.sort();
        lanes.dedup();
        lanes
    }

    /// The flight with this id.
    pub fn flight(&self, id: FlightId) -> &Flight {
        &self.flights[id as usize]
    }
}

/// What a flight carries, described when it is sent.
pub enum What<'a> {
    /// A message between nodes.
    Message(&'a crate::bindings::Message),
    /// A request to the metadata store.
    StoreRequest(u64, &'a StoreRequest),
    /// The store's answer.
    StoreAnswer(u64, &'a StoreResponse),
}

impl What<'_> {
    fn describe(&self) -> (String, String, Option<u64>, Option<u32>) {
        match self {
            What::Message(msg) => {
                let text = crate::record::trace::describe_body(&msg.body);
                let kind = text
                    .split([' ', ':'])
                    .next()
                    .unwrap_or_default()
                    .to_string();
                let header = msg
                    .versions
                    .iter()
                    .find(|v| v.kind == MetadataKind::Logs)
                    .map(|v| v.version);
                let (request, carried) = match &msg.body {
                    Body::LogServerRequest((id, _))
                    | Body::LogServerReply((id, _))
                    | Body::GetSequencerState((id, _, _))
                    | Body::SequencerState((id, _)) => (Some(*id), None),
                    Body::GetMetadata((id, _, _)) => (Some(*id), None),
                    Body::MetadataUpdate((id, v)) => (Some(*id), v.as_ref().map(version_of)),
                    Body::Hello | Body::HelloAck => (None, None),
                };
                (kind, text, request, carried.or(header))
            }
            What::StoreRequest(id, request) => match request {
                StoreRequest::Get { key } => ("get".into(), format!("get {key}"), Some(*id), None),
                StoreRequest::Put {
                    key,
                    value,
                    precondition,
                } => (
                    "put".into(),
                    format!(
                        "put {key} = Logs v{} ({}) if {precondition:?}",
                        version_of(value),
                        crate::record::trace::describe_value(value)
                    ),
                    Some(*id),
                    Some(version_of(value)),
                ),
            },
            What::StoreAnswer(id, response) => {
                let (label, version) = match response {
                    StoreResponse::Value(Some(v)) => (
                        format!(
                            "Logs v{} ({})",
                            version_of(v),
                            crate::record::trace::describe_value(v)
                        ),
                        Some(version_of(v)),
                    ),
                    StoreResponse::Value(None) => ("nothing stored".into(), None),
                    StoreResponse::PutDone => ("put done".into(), None),
                    StoreResponse::Failed(e) => (crate::metadata_store::describe_error(e), None),
                };
                (
                    "answer".into(),
                    format!("answer: {label}"),
                    Some(*id),
                    version,
                )
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bindings::logsandbox::node::messages::MetadataVersion;
    use crate::bindings::{Logs, Message, MetadataValue};

    fn message(body: Body, header: u32) -> Message {
        Message {
            versions: vec![MetadataVersion {
                kind: MetadataKind::Logs,
                version: header,
            }],
            body,
        }
    }

    #[test]
    fn a_value_is_blamed_on_the_flight_of_its_call_that_carried_it() {
        let mut j = Journal::default();
        let (n1, n2, n5) = (Lane::Node(1), Lane::Node(2), Lane::Node(5));
        let logs = |version| {
            Some(MetadataValue::Logs(Logs {
                version,
                chains: vec![],
            }))
        };
        let update = message(Body::MetadataUpdate((4, logs(1))), 1);
        let hello = message(Body::HelloAck, 1);
        let carried = j.send(1, n1, n5, What::Message(&update));
        let other = j.send(1, n2, n5, What::Message(&hello));
        j.begin_call(n5);
        j.deliver(2, carried);
        j.deliver(2, other);
        j.offer(2, n5, true, "caches Logs v1 from peer N1", Some(n1), 1);
        assert_eq!(
            j.marks[0].cause, carried,
            "not the hello delivered after it"
        );
        // A later call, a value from the node's own write: no flight carried it.
        j.begin_call(n5);
        j.offer(3, n5, false, "drops Logs v1 from own write", None, 1);
        assert_eq!(j.marks[1].cause, None);
        assert_eq!(j.marks[1].kind, MarkKind::Dropped);
        assert_eq!(j.lanes(), vec![n1, n2, n5]);
    }

    #[test]
    fn the_journal_stops_at_its_limit_and_says_so() {
        let mut j = Journal::default();
        for i in 0..MAX_ENTRIES as u64 + 5 {
            j.mark(i, Lane::Store, MarkKind::Fault, "x", None);
        }
        assert_eq!(j.entries.len(), MAX_ENTRIES);
        assert!(j.truncated);
    }
}
