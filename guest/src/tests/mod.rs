//! Unit tests of the node logic, compiled natively: events in, effects out, through
//! [`MemEnv`]. Each test names the rule it holds.

use crate::bindings::exports::logsandbox::node::node::{Config, Event, Roles};
use crate::bindings::logsandbox::node::client::{ClientError, Op, OpResult};
use crate::bindings::logsandbox::node::log_server_protocol::{
    GetDigest, GetRecords, RecordBody, RecordStatus, Reply, ReplyHeader, Request, RequestHeader,
    Seal, Store, StoreFlags, TailQuery, Trim, WaitForTail,
};
use crate::bindings::logsandbox::node::messages::{Body, Message, SequencerAnswer};
use crate::bindings::logsandbox::node::metadata::{
    Chain, Logs, MetadataKind, MetadataValue, ProviderKind, ReplicatedParams, Segment,
    StoreResponse,
};
use crate::bindings::logsandbox::node::types::{Status, TailState};
use crate::env::testing::{Effect, MemEnv};
use crate::node::Node;

mod metadata;

const LOGLET: u64 = 0;
const SEQ: u32 = 5;

struct Harness {
    node: Node,
    env: MemEnv,
    now: u64,
    config: Config,
    /// What `init` did.
    started: Vec<Effect>,
}

impl Harness {
    fn new(id: u32, roles: Roles) -> Self {
        Harness::with_settings(id, roles, &[])
    }

    fn with_settings(id: u32, roles: Roles, settings: &[(&str, &str)]) -> Self {
        let config = Config {
            id,
            roles,
            members: vec![1, 2, 3, 5, 6],
            seed: 1,
            settings: settings
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        };
        let mut env = MemEnv::default();
        let node = Node::init(0, config.clone(), &mut env).expect("init succeeds");
        let started = env.take();
        Harness {
            node,
            env,
            now: 0,
            config,
            started,
        }
    }

    fn log_server() -> Self {
        Harness::new(1, Roles::LOG_SERVER)
    }

    fn handle(&mut self, events: Vec<Event>) -> Vec<Effect> {
        self.handle_at(self.now + 1_000, events)
    }

    /// Handles `events` at instant `at` (never earlier than the last call).
    pub(crate) fn handle_at(&mut self, at: u64, events: Vec<Event>) -> Vec<Effect> {
        self.now = at.max(self.now);
        self.node.handle(self.now, events, &mut self.env);
        self.env.take()
    }

    fn request(&mut self, from: u32, id: u64, request: Request) -> Vec<Effect> {
        let msg = Message {
            versions: vec![],
            body: Body::LogServerRequest((id, request)),
        };
        self.handle(vec![Event::Message((from, msg))])
    }

    /// Makes every pending write durable, in order; returns the effects.
    fn durable(&mut self) -> Vec<Effect> {
        let ids: Vec<u64> = std::mem::take(&mut self.env.pending_writes);
        self.handle(ids.into_iter().map(Event::WriteDurable).collect())
    }

    /// Restarts the node from the same storage (pending writes are kept: call `durable` first).
    fn restart(&mut self) {
        self.node =
            Node::init(self.now, self.config.clone(), &mut self.env).expect("re-init succeeds");
        self.env.take();
    }
}

fn header(global: u32) -> RequestHeader {
    RequestHeader {
        loglet_id: LOGLET,
        known_global_tail: global,
    }
}

fn store(first: u32, n: usize, global: u32) -> Request {
    Request::Store(Store {
        header: header(global),
        first_offset: first,
        sequencer: SEQ,
        flags: StoreFlags::empty(),
        timeout_at: None,
        payloads: (0..n)
            .map(|i| format!("r{}", first as usize + i).into_bytes())
            .collect(),
    })
}

fn seal() -> Request {
    Request::Seal(Seal {
        header: header(0),
        sequencer: SEQ,
    })
}

/// The message bodies the node sent, with their destination.
pub(crate) fn sent(effects: &[Effect]) -> impl Iterator<Item = (u32, &Body)> {
    effects.iter().filter_map(|e| match e {
        Effect::Send(to, msg) => Some((*to, &msg.body)),
        _ => None,
    })
}

/// The replies in the effects: (to, request id, reply).
fn replies(effects: &[Effect]) -> Vec<(u32, u64, Reply)> {
    sent(effects)
        .filter_map(|(to, body)| match body {
            Body::LogServerReply((id, r)) => Some((to, *id, r.clone())),
            _ => None,
        })
        .collect()
}

/// The log-server requests in the effects: (to, request id, request).
fn sent_requests(effects: &[Effect]) -> Vec<(u32, u64, Request)> {
    sent(effects)
        .filter_map(|(to, body)| match body {
            Body::LogServerRequest((id, r)) => Some((to, *id, r.clone())),
            _ => None,
        })
        .collect()
}

fn stored_status(effects: &[Effect]) -> Vec<(u64, Status, u32)> {
    replies(effects)
        .into_iter()
        .filter_map(|(_, id, r)| match r {
            Reply::Stored(h) => Some((id, h.status, h.local_tail)),
            _ => None,
        })
        .collect()
}

#[test]
fn a_store_is_answered_only_once_durable() {
    let mut h = Harness::log_server();
    let fx = h.request(SEQ, 1, store(1, 2, 1));
    assert!(stored_status(&fx).is_empty(), "no reply before durability");
    assert!(fx.iter().any(|e| matches!(e, Effect::Write(..))));
    let fx = h.durable();
    assert_eq!(stored_status(&fx), vec![(1, Status::Ok, 3)]);
}

#[test]
fn a_store_beyond_the_tail_is_out_of_bounds_and_the_global_tail_opens_the_gap() {
    let mut h = Harness::log_server();
    let fx = h.request(SEQ, 1, store(3, 1, 1));
    assert_eq!(stored_status(&fx), vec![(1, Status::OutOfBounds, 1)]);
    // Once the global tail says offsets below 3 are committed elsewhere, 3 is acceptable.
    h.request(SEQ, 2, store(3, 1, 3));
    assert_eq!(stored_status(&h.durable()), vec![(2, Status::Ok, 4)]);
}

#[test]
fn malformed_stores_are_refused_first() {
    let mut h = Harness::log_server();
    assert_eq!(
        stored_status(&h.request(SEQ, 1, store(1, 0, 1))),
        vec![(1, Status::Malformed, 1)]
    );
    assert_eq!(
        stored_status(&h.request(SEQ, 2, store(0, 1, 1))),
        vec![(2, Status::Malformed, 1)]
    );
    assert_eq!(
        stored_status(&h.request(SEQ, 3, store(u32::MAX, 2, 1))),
        vec![(3, Status::Malformed, 1)]
    );
}

#[test]
fn the_first_store_pins_the_sequencer() {
    let mut h = Harness::log_server();
    h.request(SEQ, 1, store(1, 1, 1));
    h.durable();
    let mut other = store(2, 1, 1);
    if let Request::Store(s) = &mut other {
        s.sequencer = 4;
    }
    assert_eq!(
        stored_status(&h.request(4, 2, other)),
        vec![(2, Status::SequencerMismatch, 2)]
    );
}

#[test]
fn duplicates_are_answered_without_a_second_write() {
    let mut h = Harness::log_server();
    h.request(SEQ, 1, store(1, 1, 1));
    // The same batch while the first is in flight: latched, answered with it.
    let fx = h.request(SEQ, 2, store(1, 1, 1));
    assert!(fx.iter().all(|e| !matches!(e, Effect::Write(..))));
    let mut answered: Vec<u64> = stored_status(&h.durable())
        .into_iter()
        .map(|(id, s, _)| {
            assert_eq!(s, Status::Ok);
            id
        })
        .collect();
    answered.sort();
    assert_eq!(answered, vec![1, 2]);
    // Once durable: Ok at once.
    assert_eq!(
        stored_status(&h.request(SEQ, 3, store(1, 1, 1))),
        vec![(3, Status::Ok, 2)]
    );
}

#[test]
fn a_seal_counts_earlier_stores_parks_later_ones_and_then_refuses_stores() {
    let mut h = Harness::log_server();
    h.request(SEQ, 1, store(1, 1, 1)); // queued before the seal
    let fx = h.request(SEQ, 2, seal());
    assert!(replies(&fx).is_empty(), "the seal waits for durability");
    let fx = h.request(SEQ, 3, store(2, 1, 1)); // arrives while the seal is pending
    assert!(replies(&fx).is_empty(), "parked, not refused yet");
    let fx = h.durable();
    let all = replies(&fx);
    let sealed_tail = all.iter().find_map(|(_, id, r)| match r {
        Reply::Sealed(h) if *id == 2 => Some((h.status, h.local_tail, h.sealed)),
        _ => None,
    });
    assert_eq!(
        sealed_tail,
        Some((Status::Ok, 2, true)),
        "store 1 counts in the sealed tail"
    );
    let statuses = stored_status(&fx);
    assert!(statuses.contains(&(1, Status::Ok, 2)));
    assert!(statuses.contains(&(3, Status::Sealed, 2)), "{statuses:?}");
    assert_eq!(
        stored_status(&h.request(SEQ, 4, store(2, 1, 2))),
        vec![(4, Status::Sealed, 2)]
    );
    // Idempotent.
    let again = replies(&h.request(SEQ, 5, seal()));
    assert!(matches!(again[0].2, Reply::Sealed(h) if h.status == Status::Ok));
}

#[test]
fn get_records_reads_the_durable_range_and_refuses_from_after_to() {
    let mut h = Harness::log_server();
    h.request(SEQ, 1, store(1, 5, 1));
    h.durable();
    let get = |from, to, limit| {
        Request::GetRecords(GetRecords {
            header: header(0),
            from_offset: from,
            to_offset: to,
            byte_limit: limit,
        })
    };
    let fx = h.request(SEQ, 2, get(2, 10, None));
    let Reply::Records(r) = &replies(&fx)[0].2 else {
        panic!("records")
    };
    let offsets: Vec<u32> = r.records.iter().map(|r| r.offset).collect();
    assert_eq!(offsets, vec![2, 3, 4, 5]);
    assert_eq!(r.next_offset, 6);
    assert!(matches!(&r.records[0].body, RecordBody::Data(d) if d == b"r2"));
    // At least one record even over the byte limit.
    let fx = h.request(SEQ, 3, get(1, 5, Some(1)));
    let Reply::Records(r) = &replies(&fx)[0].2 else {
        panic!("records")
    };
    assert_eq!((r.records.len(), r.next_offset), (1, 2));
    let fx = h.request(SEQ, 4, get(4, 2, None));
    let Reply::Records(r) = &replies(&fx)[0].2 else {
        panic!("records")
    };
    assert_eq!(r.header.status, Status::Malformed);
}

#[test]
fn a_restarted_log_server_recovers_its_tail_seal_and_sequencer() {
    let mut h = Harness::log_server();
    h.request(SEQ, 1, store(1, 3, 1));
    h.durable();
    h.request(SEQ, 2, seal());
    h.durable();
    h.restart();
    let fx = h.request(SEQ, 3, Request::GetLogletInfo(header(0)));
    let Reply::LogletInfo(info) = &replies(&fx)[0].2 else {
        panic!("info")
    };
    assert_eq!((info.header.local_tail, info.header.sealed), (4, true));
    assert_eq!(
        stored_status(&h.request(SEQ, 4, store(4, 1, 4))),
        vec![(4, Status::Sealed, 4)]
    );
}

pub(crate) fn logs(version: u32, with_log0: bool) -> MetadataValue {
    let chains = if with_log0 {
        vec![Chain {
            log_id: 0,
            segments: vec![Segment {
                base_lsn: 1,
                index: 0,
                provider: ProviderKind::Replicated,
                params: Some(ReplicatedParams {
                    loglet_id: LOGLET,
                    sequencer: SEQ,
                    replication: 2,
                    nodeset: vec![1, 2, 3],
                }),
            }],
        }]
    } else {
        vec![]
    };
    MetadataValue::Logs(Logs { version, chains })
}

pub(crate) fn completions(effects: &[Effect]) -> Vec<(u64, OpResult)> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Complete(op, r) => Some((*op, r.clone())),
            _ => None,
        })
        .collect()
}

/// The client asks the store; answers the store fetch with `value`.
fn client_with_logs(value: MetadataValue) -> Harness {
    node_with_logs(SEQ, value)
}

/// Client node `id` (N5 hosts the sequencer, N6 does not) with the Logs cached.
fn node_with_logs(id: u32, value: MetadataValue) -> Harness {
    let mut h = Harness::new(id, Roles::CLIENT);
    let fx = h.handle(vec![Event::ClientRequest((
        1,
        Op::WaitForMetadata((MetadataKind::Logs, 1)),
    ))]);
    assert!(
        fx.iter().all(|e| !matches!(e, Effect::MetadataGet(..))),
        "one fetch at a time"
    );
    let id = store_fetch(&h.started).expect("a starting node fetches the Logs");
    let fx = h.handle(vec![Event::MetadataResponse((
        id,
        StoreResponse::Value(Some(value)),
    ))]);
    assert!(matches!(
        completions(&fx)[..],
        [(1, OpResult::MetadataReady(_))]
    ));
    h
}

#[test]
fn waiting_for_a_version_resolves_on_greater_or_equal() {
    let mut h = client_with_logs(logs(7, true));
    let fx = h.handle(vec![Event::ClientRequest((
        2,
        Op::WaitForMetadata((MetadataKind::Logs, 5)),
    ))]);
    assert!(matches!(
        completions(&fx)[..],
        [(2, OpResult::MetadataReady(7))]
    ));
}

#[test]
fn the_sequencer_commits_on_a_write_quorum_and_advances_the_global_tail() {
    use crate::bindings::logsandbox::node::log_server_protocol::LogletInfo;
    let mut h = client_with_logs(logs(1, true));
    // First use starts the sequencer: it learns the tail from the nodeset.
    let fx = h.handle(vec![Event::ClientRequest((
        2,
        Op::Append((0, b"a".to_vec())),
    ))]);
    let infos = sent_requests(&fx);
    assert!(
        infos.len() == 3
            && infos
                .iter()
                .all(|(_, _, r)| matches!(r, Request::GetLogletInfo(_)))
    );
    let info = Reply::LogletInfo(LogletInfo {
        header: rh(1, 1, false, Status::Ok),
        trim_point: 0,
    });
    let mut stores = Vec::new();
    for (to, id, _) in &infos[..2] {
        stores.extend(sent_requests(&answer(&mut h, *to, *id, info.clone())));
    }
    assert_eq!(stores.len(), 3, "the store goes to the whole nodeset");
    assert!(
        stores
            .iter()
            .all(|(_, _, r)| matches!(r, Request::Store(s) if s.first_offset == 1))
    );
    let fx = answer(
        &mut h,
        stores[0].0,
        stores[0].1,
        Reply::Stored(rh(2, 1, false, Status::Ok)),
    );
    assert!(completions(&fx).is_empty(), "one copy is not a quorum");
    let fx = answer(
        &mut h,
        stores[1].0,
        stores[1].1,
        Reply::Stored(rh(2, 1, false, Status::Ok)),
    );
    assert!(matches!(completions(&fx)[..], [(2, OpResult::Appended(1))]));
    let fx = h.handle(vec![Event::ClientRequest((3, Op::FindTail(0)))]);
    assert!(matches!(
        completions(&fx)[..],
        [(3, OpResult::Tail(TailState::Open(2)))]
    ));
}

pub(crate) fn store_fetch(effects: &[Effect]) -> Option<u64> {
    effects.iter().find_map(|e| match e {
        Effect::MetadataGet(id, _) => Some(*id),
        _ => None,
    })
}

pub(crate) fn timers(effects: &[Effect]) -> Vec<(u64, u64)> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Timer(id, at) => Some((*id, *at)),
            _ => None,
        })
        .collect()
}

// --- Every request type and status code of the log-server protocol. ---

fn repair(first: u32, n: usize) -> Request {
    let mut r = store(first, n, 1);
    if let Request::Store(s) = &mut r {
        s.flags = StoreFlags::IGNORE_SEAL;
    }
    r
}

fn trim(point: u32) -> Request {
    Request::Trim(Trim {
        header: header(0),
        trim_point: point,
    })
}

fn wait(query: TailQuery, global: u32) -> Request {
    Request::WaitForTail(WaitForTail {
        header: header(global),
        query,
    })
}

fn reply_headers(effects: &[Effect]) -> Vec<(u64, ReplyHeader)> {
    replies(effects)
        .into_iter()
        .map(|(_, id, r)| {
            let h = match r {
                Reply::Stored(h) | Reply::Sealed(h) | Reply::Trimmed(h) | Reply::TailUpdated(h) => {
                    h
                }
                Reply::LogletInfo(i) => i.header,
                Reply::Records(r) => r.header,
                Reply::Digest(d) => d.header,
            };
            (id, h)
        })
        .collect()
}

#[test]
fn a_read_only_log_server_answers_disabled() {
    let mut h = Harness::with_settings(
        1,
        Roles::LOG_SERVER,
        &[("log_server.accepting_writes", "false")],
    );
    assert_eq!(
        stored_status(&h.request(SEQ, 1, store(1, 1, 1))),
        vec![(1, Status::Disabled, 1)]
    );
}

#[test]
fn an_expired_store_is_dropped_and_not_persisted() {
    let mut h = Harness::log_server();
    let mut expired = store(1, 1, 1);
    if let Request::Store(s) = &mut expired {
        s.timeout_at = Some(1);
    }
    let fx = h.request(SEQ, 1, expired);
    assert_eq!(stored_status(&fx), vec![(1, Status::Dropped, 1)]);
    assert!(fx.iter().all(|e| !matches!(e, Effect::Write(..))));
}

#[test]
fn a_non_sequencer_writing_below_the_tail_is_a_sequencer_mismatch() {
    let mut h = Harness::log_server();
    h.request(SEQ, 1, store(1, 2, 1));
    h.durable();
    // N2 forwards a store for offset 1 that the sequencer N5 already wrote.
    assert_eq!(
        stored_status(&h.request(2, 2, store(1, 1, 1))),
        vec![(2, Status::SequencerMismatch, 3)]
    );
}

#[test]
fn repair_stores_get_sealing_while_a_seal_is_pending_and_are_accepted_after_it() {
    let mut h = Harness::log_server();
    h.request(SEQ, 1, seal());
    assert_eq!(
        stored_status(&h.request(SEQ, 2, repair(1, 1))),
        vec![(2, Status::Sealing, 1)]
    );
    h.durable();
    h.request(SEQ, 3, repair(1, 2));
    assert_eq!(stored_status(&h.durable()), vec![(3, Status::Ok, 3)]);
}

#[test]
fn get_loglet_info_reports_tails_seal_and_trim_point() {
    let mut h = Harness::log_server();
    h.request(SEQ, 1, store(1, 4, 1));
    h.durable();
    h.request(SEQ, 2, trim(2));
    h.durable();
    let fx = h.request(SEQ, 3, Request::GetLogletInfo(header(3)));
    let Reply::LogletInfo(info) = &replies(&fx)[0].2 else {
        panic!("info")
    };
    assert_eq!(
        (
            info.header.status,
            info.header.local_tail,
            info.header.known_global_tail,
            info.header.sealed,
            info.trim_point
        ),
        (Status::Ok, 5, 3, false, 2)
    );
}

#[test]
fn trim_refuses_out_of_range_points_clips_to_the_local_tail_and_is_answered_once_durable() {
    let mut h = Harness::log_server();
    h.request(SEQ, 1, store(1, 4, 1));
    h.durable(); // local tail 5
    let status = |fx: &[Effect]| {
        reply_headers(fx)
            .iter()
            .map(|(_, h)| h.status)
            .collect::<Vec<_>>()
    };
    assert_eq!(
        status(&h.request(SEQ, 2, trim(0))),
        vec![Status::Malformed],
        "below OLDEST"
    );
    assert_eq!(
        status(&h.request(SEQ, 3, trim(5))),
        vec![Status::Malformed],
        "at the tail"
    );
    // With a global tail of 9, trimming to 7 is legal and clipped to local tail - 1 = 4.
    let fx = h.request(
        SEQ,
        4,
        Request::Trim(Trim {
            header: header(9),
            trim_point: 7,
        }),
    );
    assert!(replies(&fx).is_empty(), "answered once durable");
    assert_eq!(status(&h.durable()), vec![Status::Ok]);
    let fx = h.request(
        SEQ,
        5,
        Request::GetRecords(GetRecords {
            header: header(0),
            from_offset: 1,
            to_offset: 10,
            byte_limit: None,
        }),
    );
    let Reply::Records(r) = &replies(&fx)[0].2 else {
        panic!("records")
    };
    assert!(
        matches!(r.records[0].body, RecordBody::TrimGap(4)),
        "{:?}",
        r.records
    );
    assert_eq!(r.next_offset, 5);
    // Trimming again at or below the trim point is a no-op answered at once.
    assert_eq!(status(&h.request(SEQ, 6, trim(3))), vec![Status::Ok]);
}

#[test]
fn wait_for_tail_resolves_on_local_global_or_either_and_on_seal() {
    let mut h = Harness::log_server();
    let pending = |fx: &[Effect]| replies(fx).is_empty();
    assert!(pending(&h.request(
        SEQ,
        1,
        wait(TailQuery::LocalTail(2), 1)
    )));
    assert!(pending(&h.request(
        SEQ,
        2,
        wait(TailQuery::GlobalTail(4), 1)
    )));
    assert!(pending(&h.request(
        SEQ,
        3,
        wait(TailQuery::LocalOrGlobal(3), 1)
    )));
    assert!(pending(&h.request(
        SEQ,
        7,
        wait(TailQuery::GlobalTail(9), 1)
    )));
    h.request(SEQ, 10, store(1, 1, 1));
    let fx = h.durable(); // local tail 2
    let answered: Vec<u64> = reply_headers(&fx)
        .iter()
        .map(|(id, _)| *id)
        .filter(|id| *id < 10)
        .collect();
    assert_eq!(answered, vec![1]);
    // A request carrying global tail 4 satisfies the global and either waiters.
    let fx = h.request(SEQ, 11, wait(TailQuery::LocalTail(1), 4));
    let mut answered: Vec<u64> = reply_headers(&fx).iter().map(|(id, _)| *id).collect();
    answered.sort();
    assert_eq!(answered, vec![2, 3, 11]);
    // The seal resolves the last waiter, with status Sealed for a global-tail query.
    h.request(SEQ, 14, seal());
    let fx = h.durable();
    let waiter = reply_headers(&fx)
        .into_iter()
        .find(|(id, _)| *id == 7)
        .expect("resolved on seal");
    assert_eq!((waiter.1.status, waiter.1.sealed), (Status::Sealed, true));
}

#[test]
fn get_digest_reports_trimmed_and_existing_ranges() {
    let mut h = Harness::log_server();
    h.request(SEQ, 1, store(1, 3, 1));
    h.durable(); // 1..=3
    h.request(SEQ, 2, store(6, 2, 6));
    h.durable(); // 6..=7, a gap at 4..=5
    h.request(SEQ, 3, trim(1));
    h.durable();
    let fx = h.request(
        SEQ,
        4,
        Request::GetDigest(GetDigest {
            header: header(0),
            from_offset: 1,
            to_offset: 10,
        }),
    );
    let Reply::Digest(d) = &replies(&fx)[0].2 else {
        panic!("digest")
    };
    let entries: Vec<(u32, u32, RecordStatus)> = d
        .entries
        .iter()
        .map(|e| (e.from_offset, e.to_offset, e.status))
        .collect();
    assert_eq!(
        entries,
        vec![
            (1, 1, RecordStatus::Trimmed),
            (2, 3, RecordStatus::Exists),
            (6, 7, RecordStatus::Exists)
        ]
    );
    let fx = h.request(
        SEQ,
        5,
        Request::GetDigest(GetDigest {
            header: header(0),
            from_offset: 5,
            to_offset: 4,
        }),
    );
    assert_eq!(reply_headers(&fx)[0].1.status, Status::Malformed);
}

// --- Client tasks without the sequencer: find-tail with repair, trim; remote seals. ---

/// The node hears from the sequencer (its failure detector then counts it alive).
fn hear_from_sequencer(h: &mut Harness) {
    let msg = Message {
        versions: vec![],
        body: Body::HelloAck,
    };
    h.handle(vec![Event::Message((SEQ, msg))]);
}

/// A remote task asks the sequencer first: it answers `state` (None: it does not sequence
/// the loglet, which sends the task to the log-servers).
fn sequencer_answers(h: &mut Harness, effects: &[Effect], state: SequencerAnswer) -> Vec<Effect> {
    let id = sent(effects)
        .find_map(|(to, body)| match body {
            Body::GetSequencerState((id, _, _)) if to == SEQ => Some(*id),
            _ => None,
        })
        .expect("a remote task asks the sequencer first");
    let msg = Message {
        versions: vec![],
        body: Body::SequencerState((id, state)),
    };
    h.handle(vec![Event::Message((SEQ, msg))])
}

fn answer(h: &mut Harness, from: u32, id: u64, reply: Reply) -> Vec<Effect> {
    let msg = Message {
        versions: vec![],
        body: Body::LogServerReply((id, reply)),
    };
    h.handle(vec![Event::Message((from, msg))])
}

fn rh(local_tail: u32, global: u32, sealed: bool, status: Status) -> ReplyHeader {
    ReplyHeader {
        local_tail,
        known_global_tail: global,
        sealed,
        status,
    }
}

#[test]
fn remote_find_tail_repairs_the_gap_of_a_sealed_loglet_before_answering() {
    use crate::bindings::logsandbox::node::log_server_protocol::{
        Digest, DigestEntry, LogRecord, LogletInfo, Records,
    };
    let mut h = node_with_logs(6, logs(1, true));
    // The sequencer was never heard from: the task goes to the log-servers at once.
    let fx = h.handle(vec![Event::ClientRequest((2, Op::FindTail(0)))]);
    assert!(!sent(&fx).any(|(_, b)| matches!(b, Body::GetSequencerState(_))));
    let asks = sent_requests(&fx);
    assert_eq!(asks.len(), 3, "GetLogletInfo to the nodeset");
    // N1 and N2 answer (an f-majority): both sealed, local tails 5 and 4, global tail 3.
    let info = |t| {
        Reply::LogletInfo(LogletInfo {
            header: rh(t, 3, true, Status::Ok),
            trim_point: 0,
        })
    };
    answer(&mut h, 1, asks[0].1, info(5));
    let fx = answer(&mut h, 2, asks[1].1, info(4));
    assert!(
        sent_requests(&fx).is_empty(),
        "a sealed answer: the task hears every node (or asks twice) before it decides"
    );
    // N3 answers too: sealed, local tail 3.
    let fx = answer(&mut h, 3, asks[2].1, info(3));
    let digests = sent_requests(&fx);
    assert!(digests.iter().all(
        |(_, _, r)| matches!(r, Request::GetDigest(g) if (g.from_offset, g.to_offset) == (3, 4))
    ));
    // N1 holds 3..=4, N2 only 3: offset 4 lacks a write quorum.
    let digest = |to| {
        Reply::Digest(Digest {
            header: rh(0, 3, true, Status::Ok),
            entries: vec![DigestEntry {
                from_offset: 3,
                to_offset: to,
                status: RecordStatus::Exists,
            }],
        })
    };
    let by_node = |n: u32| digests.iter().find(|(to, _, _)| *to == n).unwrap().1;
    answer(&mut h, 1, by_node(1), digest(4));
    answer(
        &mut h,
        3,
        by_node(3),
        Reply::Digest(Digest {
            header: rh(3, 3, true, Status::Ok),
            entries: vec![],
        }),
    );
    let fx = answer(&mut h, 2, by_node(2), digest(3));
    let reads = sent_requests(&fx);
    assert!(
        matches!(&reads[..], [(1, _, Request::GetRecords(g))] if (g.from_offset, g.to_offset) == (4, 4))
    );
    let records = Reply::Records(Records {
        header: rh(5, 3, true, Status::Ok),
        next_offset: 5,
        records: vec![LogRecord {
            offset: 4,
            body: RecordBody::Data(b"r4".to_vec()),
        }],
    });
    let fx = answer(&mut h, 1, reads[0].1, records);
    let repairs = sent_requests(&fx);
    let (to, id, Request::Store(s)) = &repairs[0] else {
        panic!("a repair store: {repairs:?}")
    };
    assert_eq!(
        (*to, s.first_offset, s.flags, s.header.known_global_tail),
        (2, 4, StoreFlags::IGNORE_SEAL, 3),
        "N2 takes 4 at its local tail; the store claims only the true global tail"
    );
    assert!(completions(&fx).is_empty(), "answered only once repaired");
    let fx = answer(&mut h, 2, *id, Reply::Stored(rh(5, 4, true, Status::Ok)));
    assert!(matches!(
        completions(&fx)[..],
        [(2, OpResult::Tail(TailState::Sealed(5)))]
    ));
}

#[test]
fn remote_find_tail_helps_seal_when_only_some_are_sealed_and_is_open_when_none_is() {
    use crate::bindings::logsandbox::node::log_server_protocol::LogletInfo;
    let info = |t, sealed| {
        Reply::LogletInfo(LogletInfo {
            header: rh(t, 2, sealed, Status::Ok),
            trim_point: 0,
        })
    };
    let mut h = node_with_logs(6, logs(1, true));
    hear_from_sequencer(&mut h);
    let fx = h.handle(vec![Event::ClientRequest((2, Op::FindTail(0)))]);
    let asks = sent_requests(&sequencer_answers(&mut h, &fx, SequencerAnswer::Unknown));
    answer(&mut h, 1, asks[0].1, info(4, false));
    let fx = answer(&mut h, 2, asks[1].1, info(3, false));
    // None sealed: open at the highest tail a write quorum (2 copies) has.
    assert!(matches!(
        completions(&fx)[..],
        [(2, OpResult::Tail(TailState::Open(3)))]
    ));

    let fx = h.handle(vec![Event::ClientRequest((3, Op::FindTail(0)))]);
    let asks = sent_requests(&sequencer_answers(&mut h, &fx, SequencerAnswer::Unknown));
    answer(&mut h, 1, asks[0].1, info(4, true));
    answer(&mut h, 2, asks[1].1, info(3, false));
    let fx = answer(&mut h, 3, asks[2].1, info(3, false));
    let seals = sent_requests(&fx);
    assert!(
        seals.len() == 3 && seals.iter().all(|(_, _, r)| matches!(r, Request::Seal(_))),
        "{seals:?}"
    );
}

#[test]
fn a_trim_refused_by_any_log_server_fails_malformed() {
    let mut h = node_with_logs(6, logs(1, true));
    let asks = sent_requests(&h.handle(vec![Event::ClientRequest((2, Op::Trim((0, 99))))]));
    assert!(
        asks.iter()
            .all(|(_, _, r)| matches!(r, Request::Trim(t) if t.trim_point == 99))
    );
    answer(
        &mut h,
        1,
        asks[0].1,
        Reply::Trimmed(rh(5, 5, true, Status::Malformed)),
    );
    answer(
        &mut h,
        2,
        asks[1].1,
        Reply::Trimmed(rh(5, 5, true, Status::Malformed)),
    );
    let fx = answer(
        &mut h,
        3,
        asks[2].1,
        Reply::Trimmed(rh(5, 5, true, Status::Malformed)),
    );
    assert!(matches!(
        completions(&fx)[..],
        [(2, OpResult::Failed(ClientError::Malformed(_)))]
    ));
}

#[test]
fn the_sequencer_learns_a_remote_seal_from_sealed_replies_and_publishes_it() {
    use crate::bindings::logsandbox::node::log_server_protocol::LogletInfo;
    let mut h = client_with_logs(logs(1, true));
    let asks = sent_requests(&h.handle(vec![Event::ClientRequest((
        2,
        Op::Append((0, b"a".to_vec())),
    ))]));
    let info = Reply::LogletInfo(LogletInfo {
        header: rh(1, 1, false, Status::Ok),
        trim_point: 0,
    });
    answer(&mut h, 1, asks[0].1, info.clone());
    let fx = answer(&mut h, 2, asks[1].1, info);
    let stores = sent_requests(&fx);
    // Sealed by someone else: N1 and N2 answer Sealed.
    answer(
        &mut h,
        stores[0].0,
        stores[0].1,
        Reply::Stored(rh(1, 1, true, Status::Sealed)),
    );
    let fx = answer(
        &mut h,
        stores[1].0,
        stores[1].1,
        Reply::Stored(rh(1, 1, true, Status::Sealed)),
    );
    assert!(matches!(
        completions(&fx)[..],
        [(2, OpResult::Failed(ClientError::Sealed))]
    ));
    // Drained: it finds the sealed tail on the log-servers before publishing it.
    answer_repair_infos(&mut h, &fx, &[(1, 1, 1), (2, 1, 1), (3, 1, 1)]);
    // A find-tail meanwhile waits for the sealed tail, published once written down.
    let fx = h.handle(vec![Event::ClientRequest((3, Op::FindTail(0)))]);
    assert!(completions(&fx).is_empty());
    let fx = h.durable();
    assert!(matches!(
        completions(&fx)[..],
        [(3, OpResult::Tail(TailState::Sealed(1)))]
    ));
    // A restarted sequencer keeps the seal it published, without asking anyone.
    h.node = Node::init(h.now, h.config.clone(), &mut h.env).expect("re-init succeeds");
    let fetch = store_fetch(&h.env.take()).expect("a starting node fetches the Logs");
    h.handle(vec![Event::MetadataResponse((
        fetch,
        StoreResponse::Value(Some(logs(1, true))),
    ))]);
    let fx = h.handle(vec![Event::ClientRequest((5, Op::FindTail(0)))]);
    assert!(sent_requests(&fx).is_empty());
    assert!(
        matches!(
            completions(&fx)[..],
            [(5, OpResult::Tail(TailState::Sealed(1)))]
        ),
        "{fx:?}"
    );
    let fx = h.handle(vec![Event::ClientRequest((
        4,
        Op::Append((0, b"b".to_vec())),
    ))]);
    assert!(matches!(
        completions(&fx)[..],
        [(4, OpResult::Failed(ClientError::Sealed))]
    ));
}

#[test]
fn a_read_drops_records_a_node_that_missed_the_trim_still_holds() {
    use crate::bindings::logsandbox::node::log_server_protocol::{LogRecord, Records};
    // The trim reached N1 and N2 (a write quorum) but not N3, which still holds 1..=4.
    let mut h = node_with_logs(6, logs(1, true));
    // A read learns the tail first (here from the log-servers: the sequencer was never
    // heard from), and reads no further.
    let infos = sent_requests(&h.handle(vec![Event::ClientRequest((2, Op::Read((0, 1, 9))))]));
    answer(&mut h, 1, infos[0].1, info(6, 6, false));
    let asks = sent_requests(&answer(&mut h, 2, infos[1].1, info(6, 6, false)));
    assert!(
        asks.iter()
            .all(|(_, _, r)| matches!(r, Request::GetRecords(g) if g.to_offset == 5)),
        "read [1, 9) up to the tail 6: {asks:?}"
    );
    let data = |o: u32| LogRecord {
        offset: o,
        body: RecordBody::Data(format!("r{o}").into_bytes()),
    };
    let records = |records: Vec<LogRecord>| {
        Reply::Records(Records {
            header: rh(6, 6, false, Status::Ok),
            next_offset: 6,
            records,
        })
    };
    let trimmed = records(vec![
        LogRecord {
            offset: 1,
            body: RecordBody::TrimGap(3),
        },
        data(4),
        data(5),
    ]);
    answer(&mut h, 1, asks[0].1, trimmed.clone());
    answer(&mut h, 2, asks[1].1, trimmed);
    let fx = answer(&mut h, 3, asks[2].1, records((1..=5).map(data).collect()));
    let offsets: Vec<u32> = match &completions(&fx)[..] {
        [(2, OpResult::Records(rs))] => rs.iter().map(|r| r.offset).collect(),
        other => panic!("{other:?}"),
    };
    assert_eq!(
        offsets,
        vec![4, 5],
        "records at or below the trim point 3 are gone"
    );
}

// --- The sequencer's state, asked by remote nodes (Restate's GetSequencerState). ---

fn state_request(h: &mut Harness, from: u32, id: u64, check_seal: bool) -> Vec<Effect> {
    let msg = Message {
        versions: vec![],
        body: Body::GetSequencerState((id, LOGLET, check_seal)),
    };
    h.handle(vec![Event::Message((from, msg))])
}

fn state_answers(effects: &[Effect]) -> Vec<(u32, u64, SequencerAnswer)> {
    sent(effects)
        .filter_map(|(to, body)| match body {
            Body::SequencerState((id, state)) => Some((to, *id, *state)),
            _ => None,
        })
        .collect()
}

fn info(local: u32, global: u32, sealed: bool) -> Reply {
    use crate::bindings::logsandbox::node::log_server_protocol::LogletInfo;
    Reply::LogletInfo(LogletInfo {
        header: rh(local, global, sealed, Status::Ok),
        trim_point: 0,
    })
}

/// The sequencer on N5, started (open at tail 1) by a first client operation; returns
/// the requests it then sent, and the timers it armed.
fn started_sequencer(first_op: Op) -> (Harness, Vec<(u32, u64, Request)>, Vec<u64>) {
    let mut h = client_with_logs(logs(1, true));
    let infos = sent_requests(&h.handle(vec![Event::ClientRequest((2, first_op))]));
    let mut out = Vec::new();
    let mut armed = Vec::new();
    for (to, id, _) in &infos[..2] {
        let fx = answer(&mut h, *to, *id, info(1, 1, false));
        out.extend(sent_requests(&fx));
        armed.extend(timers(&fx).iter().map(|(id, _)| *id));
    }
    (h, out, armed)
}

/// Answers the repair round a drained sequencer starts (GetLogletInfo in `fx`): each node
/// `(id, local tail, global tail)`, sealed. Returns what the last answer did.
fn answer_repair_infos(h: &mut Harness, fx: &[Effect], tails: &[(u32, u32, u32)]) -> Vec<Effect> {
    let asks = sent_requests(fx);
    let mut last = Vec::new();
    for &(node, local, global) in tails {
        let (_, id, _) = asks
            .iter()
            .find(|(to, _, r)| *to == node && matches!(r, Request::GetLogletInfo(_)))
            .unwrap_or_else(|| panic!("the repair asks N{node}: {asks:?}"));
        last = answer(h, node, *id, info(local, global, true));
    }
    last
}

#[test]
fn a_remote_find_tail_takes_the_sequencers_tail_without_asking_the_log_servers() {
    let mut h = node_with_logs(6, logs(1, true));
    hear_from_sequencer(&mut h);
    let fx = h.handle(vec![Event::ClientRequest((2, Op::FindTail(0)))]);
    assert!(
        sent(&fx)
            .any(|(to, b)| to == SEQ && matches!(b, Body::GetSequencerState((_, LOGLET, false)))),
        "asks the sequencer, with no seal check"
    );
    assert!(sent_requests(&fx).is_empty(), "no log-server is asked");
    let fx = sequencer_answers(&mut h, &fx, SequencerAnswer::Tail(TailState::Open(7)));
    assert!(matches!(
        completions(&fx)[..],
        [(2, OpResult::Tail(TailState::Open(7)))]
    ));
}

#[test]
fn a_trim_at_or_beyond_the_sequencers_tail_is_refused_before_any_log_server_sees_it() {
    let mut h = node_with_logs(6, logs(1, true));
    hear_from_sequencer(&mut h);
    let fx = h.handle(vec![Event::ClientRequest((2, Op::Trim((0, 9))))]);
    let fx = sequencer_answers(&mut h, &fx, SequencerAnswer::Tail(TailState::Open(9)));
    assert!(sent_requests(&fx).is_empty(), "no Trim is sent");
    assert!(matches!(
        completions(&fx)[..],
        [(2, OpResult::Failed(ClientError::Malformed(_)))]
    ));
    // Below the tail: a Trim to every log-server, carrying the sequencer's global tail.
    let fx = h.handle(vec![Event::ClientRequest((3, Op::Trim((0, 5))))]);
    let fx = sequencer_answers(&mut h, &fx, SequencerAnswer::Tail(TailState::Open(9)));
    let trims = sent_requests(&fx);
    assert_eq!(trims.len(), 3);
    assert!(trims.iter().all(|(_, _, r)| matches!(r,
        Request::Trim(t) if t.trim_point == 5 && t.header.known_global_tail == 9)));
}

#[test]
fn a_remote_seal_has_the_sequencer_check_it_and_reports_the_published_tail() {
    let mut h = node_with_logs(6, logs(1, true));
    hear_from_sequencer(&mut h);
    let seals = sent_requests(&h.handle(vec![Event::ClientRequest((2, Op::Seal(0)))]));
    assert!(seals.iter().all(|(_, _, r)| matches!(r, Request::Seal(_))));
    answer(
        &mut h,
        1,
        seals[0].1,
        Reply::Sealed(rh(4, 3, true, Status::Ok)),
    );
    let fx = answer(
        &mut h,
        2,
        seals[1].1,
        Reply::Sealed(rh(3, 3, true, Status::Ok)),
    );
    assert!(
        sent(&fx).any(|(to, b)| to == SEQ && matches!(b, Body::GetSequencerState((_, _, true)))),
        "sealed on an f-majority: the sequencer is asked to check the seal"
    );
    // Still draining: it says so, and is asked again once the task's timer fires.
    let fx = sequencer_answers(&mut h, &fx, SequencerAnswer::Sealing);
    assert!(completions(&fx).is_empty());
    let (timer, _) = timers(&fx)[0];
    let fx = h.handle(vec![Event::Timer(timer)]);
    let fx = sequencer_answers(&mut h, &fx, SequencerAnswer::Tail(TailState::Sealed(3)));
    assert!(matches!(
        completions(&fx)[..],
        [(2, OpResult::Sealed(TailState::Sealed(3)))]
    ));
    // Having sealed, its later find-tails ask for a seal check too.
    let fx = h.handle(vec![Event::ClientRequest((3, Op::FindTail(0)))]);
    assert!(sent(&fx).any(|(_, b)| matches!(b, Body::GetSequencerState((_, _, true)))));
}

#[test]
fn the_sequencer_answers_its_state_and_seals_when_a_check_finds_a_sealed_log_server() {
    let (mut h, _, _) = started_sequencer(Op::FindTail(0));
    let fx = state_request(&mut h, 6, 40, false);
    assert!(matches!(
        state_answers(&fx)[..],
        [(6, 40, SequencerAnswer::Tail(TailState::Open(1)))]
    ));
    // With a seal check: it asks the nodeset; N1 is sealed, so it seals and drains.
    let checks = sent_requests(&state_request(&mut h, 6, 41, true));
    assert!(
        checks
            .iter()
            .all(|(_, _, r)| matches!(r, Request::GetLogletInfo(_)))
    );
    answer(&mut h, 1, checks[0].1, info(1, 1, true));
    let fx = answer(&mut h, 2, checks[1].1, info(1, 1, false));
    assert!(
        matches!(state_answers(&fx)[..], [(6, 41, SequencerAnswer::Sealing)]),
        "sealing: the asker asks again"
    );
    let seals = sent_requests(&fx);
    assert!(!seals.is_empty() && seals.iter().all(|(_, _, r)| matches!(r, Request::Seal(_))));
    let by = |n: u32| seals.iter().find(|(to, _, _)| *to == n).unwrap().1;
    answer(&mut h, 1, by(1), Reply::Sealed(rh(1, 1, true, Status::Ok)));
    let fx = answer(&mut h, 2, by(2), Reply::Sealed(rh(1, 1, true, Status::Ok)));
    assert!(matches!(
        state_answers(&state_request(&mut h, 6, 43, false))[..],
        [(6, 43, SequencerAnswer::Sealing)]
    ));
    answer_repair_infos(&mut h, &fx, &[(1, 1, 1), (2, 1, 1), (3, 1, 1)]);
    h.durable();
    let fx = state_request(&mut h, 6, 42, false);
    assert!(matches!(
        state_answers(&fx)[..],
        [(6, 42, SequencerAnswer::Tail(TailState::Sealed(1)))]
    ));
    // A node that does not sequence the loglet says so.
    let mut other = node_with_logs(6, logs(1, true));
    assert!(matches!(
        state_answers(&state_request(&mut other, 7, 1, false))[..],
        [(7, 1, SequencerAnswer::Unknown)]
    ));
}

/// The hole in a sealed log: an append stored on one log-server only, then sealed. Once
/// drained, the sequencer finds the sealed tail as any find-tail on the log-servers would
/// (the highest local tail of the sealed nodes, here 2) and repairs the record below it to
/// a write quorum before publishing, so no reader is told a tail with a hole under it.
#[test]
fn the_sequencer_repairs_an_uncommitted_copy_past_its_tail_before_publishing_the_seal() {
    use crate::bindings::logsandbox::node::log_server_protocol::{
        Digest, DigestEntry, LogRecord, Records,
    };
    let (mut h, stores, _) = started_sequencer(Op::Append((0, b"a".to_vec())));
    assert_eq!(stores.len(), 3);
    let store_to = |n: u32| stores.iter().find(|(to, _, _)| *to == n).unwrap().1;
    // Only N1 stores offset 1: one copy, not a write quorum.
    answer(
        &mut h,
        1,
        store_to(1),
        Reply::Stored(rh(2, 1, false, Status::Ok)),
    );
    let seals = sent_requests(&h.handle(vec![Event::ClientRequest((3, Op::Seal(0)))]));
    let by = |n: u32| seals.iter().find(|(to, _, _)| *to == n).unwrap().1;
    // N1 reports local tail 2 (it holds offset 1), N2 tail 1: an f-majority sealed.
    answer(&mut h, 1, by(1), Reply::Sealed(rh(2, 1, true, Status::Ok)));
    answer(&mut h, 2, by(2), Reply::Sealed(rh(1, 1, true, Status::Ok)));
    // The in-flight append ends Sealed on N2 and N3; the drain is over.
    answer(
        &mut h,
        2,
        store_to(2),
        Reply::Stored(rh(1, 1, true, Status::Sealed)),
    );
    let fx = answer(
        &mut h,
        3,
        store_to(3),
        Reply::Stored(rh(1, 1, true, Status::Sealed)),
    );
    assert!(
        matches!(
            completions(&fx)[..],
            [(2, OpResult::Failed(ClientError::Sealed))]
        ),
        "the append ends Sealed, the seal is not published yet: {:?}",
        completions(&fx)
    );
    let fx = answer_repair_infos(&mut h, &fx, &[(1, 2, 1), (2, 1, 1), (3, 1, 1)]);
    let digests = sent_requests(&fx);
    assert!(digests.iter().all(
        |(_, _, r)| matches!(r, Request::GetDigest(g) if (g.from_offset, g.to_offset) == (1, 1))
    ));
    let digest = |held: bool| {
        Reply::Digest(Digest {
            header: rh(0, 1, true, Status::Ok),
            entries: if held {
                vec![DigestEntry {
                    from_offset: 1,
                    to_offset: 1,
                    status: RecordStatus::Exists,
                }]
            } else {
                vec![]
            },
        })
    };
    let mut fx = Vec::new();
    for (to, id, _) in &digests {
        fx = answer(&mut h, *to, *id, digest(*to == 1));
    }
    let reads = sent_requests(&fx);
    assert!(
        matches!(&reads[..], [(1, _, Request::GetRecords(g))] if (g.from_offset, g.to_offset) == (1, 1)),
        "{reads:?}"
    );
    let fx = answer(
        &mut h,
        1,
        reads[0].1,
        Reply::Records(Records {
            header: rh(2, 1, true, Status::Ok),
            next_offset: 2,
            records: vec![LogRecord {
                offset: 1,
                body: RecordBody::Data(b"a".to_vec()),
            }],
        }),
    );
    let repairs = sent_requests(&fx);
    let [(to, id, Request::Store(s))] = &repairs[..] else {
        panic!("one repair store: {repairs:?}")
    };
    assert_eq!(
        (*to, s.first_offset, s.flags, s.payloads.clone()),
        (2, 1, StoreFlags::IGNORE_SEAL, vec![b"a".to_vec()])
    );
    answer(&mut h, 2, *id, Reply::Stored(rh(2, 1, true, Status::Ok)));
    let fx = h.durable();
    assert!(
        matches!(
            completions(&fx)[..],
            [(3, OpResult::Sealed(TailState::Sealed(2)))]
        ),
        "the sealed tail is 2, with offset 1 on a write quorum: {:?}",
        completions(&fx)
    );
}

/// A liveness bug the random-operations workload found: an append whose store to N2 timed
/// out (N2 graylisted) while N3 was known sealed from another append's reply never asked
/// N2 again, since the sealed N3 still counted as writeable: when N2 later turned out
/// sealed too, nothing woke the append, and it (and the drain of a seal behind it) waited
/// forever.
#[test]
fn an_append_asks_a_graylisted_node_again_when_the_others_are_sealed() {
    let (mut h, stores, mut due) = started_sequencer(Op::Append((0, b"a".to_vec())));
    let store_to = |n: u32| stores.iter().find(|(to, _, _)| *to == n).unwrap().1;
    // A second append: its stores wait for a node's tail (or the global tail) to reach 2.
    let fx = h.handle(vec![Event::ClientRequest((
        3,
        Op::Append((0, b"b".to_vec())),
    ))]);
    due.extend(timers(&fx).iter().map(|(id, _)| *id));
    let fx = answer(
        &mut h,
        1,
        store_to(1),
        Reply::Stored(rh(2, 1, false, Status::Ok)),
    );
    let second = sent_requests(&fx);
    let (_, id, _) = second
        .iter()
        .find(|(to, _, r)| *to == 1 && matches!(r, Request::Store(s) if s.first_offset == 2))
        .expect("N1 reached offset 2: it gets the second store");
    answer(&mut h, 1, *id, Reply::Stored(rh(3, 1, false, Status::Ok)));
    // N3 answers the first store Sealed: the second append learns N3 is sealed too.
    let fx = answer(
        &mut h,
        3,
        store_to(3),
        Reply::Stored(rh(1, 1, true, Status::Sealed)),
    );
    due.extend(timers(&fx).iter().map(|(id, _)| *id));
    // N2 stays silent while the waves time out; once asked again, it answers Sealed.
    let mut second_done = false;
    for _ in 0..12 {
        let fx = h.handle(due.drain(..).map(Event::Timer).collect());
        due.extend(timers(&fx).iter().map(|(id, _)| *id));
        for (to, id, r) in sent_requests(&fx) {
            if to == 2 && matches!(r, Request::Store(_)) {
                let fx = answer(&mut h, 2, id, Reply::Stored(rh(1, 1, true, Status::Sealed)));
                due.extend(timers(&fx).iter().map(|(id, _)| *id));
                second_done |= completions(&fx)
                    .iter()
                    .any(|c| matches!(c, (3, OpResult::Failed(ClientError::Sealed))));
            }
        }
        if second_done {
            break;
        }
    }
    assert!(
        second_done,
        "the second append ends Sealed once N2 is seen sealed"
    );
}

/// A log-server part of an author's own: it answers every request `malformed` at once and
/// remembers what it was asked. The node around it stays the built-in one.
#[derive(Default)]
struct Refusing {
    asked: Vec<(u32, u64)>,
    recovered: bool,
}

impl crate::node::LogServerPart for Refusing {
    fn recover(&mut self, _ctx: &mut crate::node::Ctx) -> Result<(), String> {
        self.recovered = true;
        Ok(())
    }
    fn on_request(&mut self, ctx: &mut crate::node::Ctx, from: u32, id: u64, _request: Request) {
        self.asked.push((from, id));
        let header = ReplyHeader {
            local_tail: 1,
            known_global_tail: 1,
            sealed: false,
            status: Status::Malformed,
        };
        ctx.send(from, Body::LogServerReply((id, Reply::Stored(header))));
    }
    fn on_durable(&mut self, _ctx: &mut crate::node::Ctx, _write: u64) {}
}

#[test]
fn a_log_server_part_of_ones_own_replaces_the_built_in_one_and_keeps_the_rest() {
    let config = Config {
        id: 1,
        roles: Roles::LOG_SERVER,
        members: vec![1, 2],
        seed: 1,
        settings: Vec::new(),
    };
    let mut env = MemEnv::default();
    let mut node =
        Node::with_log_server(Refusing::default(), 0, config, &mut env).expect("init succeeds");
    env.take();
    let message = |body| Message {
        versions: Vec::new(),
        body,
    };
    let store = Request::Store(Store {
        header: RequestHeader {
            loglet_id: LOGLET,
            known_global_tail: 1,
        },
        first_offset: 1,
        sequencer: 2,
        flags: StoreFlags::empty(),
        timeout_at: None,
        payloads: vec![b"x".to_vec()],
    });
    let events = vec![
        Event::Message((2, message(Body::LogServerRequest((7, store))))),
        Event::Message((2, message(Body::Hello))),
        Event::Message((2, message(Body::GetMetadata((8, MetadataKind::Logs, 1))))),
    ];
    node.handle(1, events, &mut env);
    let sent: Vec<Body> = env
        .take()
        .into_iter()
        .filter_map(|e| match e {
            Effect::Send(2, msg) => Some(msg.body),
            _ => None,
        })
        .collect();
    // The request went to the part of one's own, and no write was made for it...
    assert!(matches!(
        &sent[0],
        Body::LogServerReply((7, Reply::Stored(h))) if h.status == Status::Malformed
    ));
    assert!(env.pending_writes.is_empty());
    // ...while the hello and the metadata request were answered by the built-in node.
    assert!(sent.iter().any(|b| matches!(b, Body::HelloAck)), "{sent:?}");
    assert!(
        sent.iter()
            .any(|b| matches!(b, Body::MetadataUpdate((8, None)))),
        "{sent:?}"
    );
}
