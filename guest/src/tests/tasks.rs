//! Client tasks without the sequencer: find-tail with repair, trim; remote seals.

use super::{
    answer, append_to, client_with_logs, completions, drive_chain_seal, hear_from_sequencer, info,
    logs, node_with_logs, rh, sent, sent_requests, sequencer_answers, store_fetch,
};
use crate::bindings::exports::logsandbox::node::node::Event;
use crate::bindings::logsandbox::node::client::{ChainTail, ClientError, LogTail, Op, OpResult};
use crate::bindings::logsandbox::node::log_server_protocol::{
    RecordBody, RecordStatus, Reply, Request, StoreFlags,
};
use crate::bindings::logsandbox::node::messages::{Body, SequencerAnswer};
use crate::bindings::logsandbox::node::metadata::StoreResponse;
use crate::bindings::logsandbox::node::types::Status;
use crate::node::Node;

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
    // The loglet is sealed at 5 and the chain is open: the find-tail seals the chain (R8)
    // and answers from the marker.
    assert!(completions(&fx).is_empty());
    let (fx, puts) = drive_chain_seal(&mut h, fx, 5);
    assert_eq!(puts.len(), 1, "one chain put, the seal marker");
    assert!(matches!(
        completions(&fx)[..],
        [(
            2,
            OpResult::Tail(ChainTail {
                tail: LogTail::Sealed(5),
                ..
            })
        )]
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
        [(
            2,
            OpResult::Tail(ChainTail {
                tail: LogTail::Open(3),
                ..
            })
        )]
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
fn the_sequencer_learns_a_remote_seal_at_a_forced_check_and_publishes_its_own_tail() {
    use crate::bindings::logsandbox::node::log_server_protocol::LogletInfo;
    let mut h = client_with_logs(logs(1, true));
    let asks = sent_requests(&h.handle(vec![Event::ClientRequest((
        2,
        Op::Append(append_to(0, b"a".to_vec())),
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
    assert!(
        sent_requests(&fx).is_empty(),
        "the sequencer is only maybe sealed: it does not drain yet"
    );
    // A find-tail forces a seal check: maybe sealed, the sequencer seals the loglet, then
    // drains and publishes its own known tail; the find-tail waits for it.
    let fx = h.handle(vec![Event::ClientRequest((3, Op::FindTail(0)))]);
    assert!(completions(&fx).is_empty());
    let seals = sent_requests(&fx);
    assert!(seals.iter().all(|(_, _, r)| matches!(r, Request::Seal(_))));
    for (to, id, _) in &seals[..2] {
        answer(&mut h, *to, *id, Reply::Sealed(rh(1, 1, true, Status::Ok)));
    }
    let fx = h.durable();
    assert!(completions(&fx).is_empty(), "the chain is sealed first");
    let (fx, _) = drive_chain_seal(&mut h, fx, 1);
    assert!(matches!(
        completions(&fx)[..],
        [(
            3,
            OpResult::Tail(ChainTail {
                tail: LogTail::Sealed(1),
                ..
            })
        )]
    ));
    // A restarted sequencer keeps the seal it published, without asking anyone.
    h.node = Node::init(h.now, h.config.clone(), &mut h.env).expect("re-init succeeds");
    let fetch = store_fetch(&h.env.take()).expect("a starting node fetches the Logs");
    h.handle(vec![Event::MetadataResponse((
        fetch,
        StoreResponse::Value(Some(logs(1, true))),
    ))]);
    let fx = h.handle(vec![Event::ClientRequest((
        4,
        Op::Append(append_to(0, b"b".to_vec())),
    ))]);
    assert!(matches!(
        completions(&fx)[..],
        [(4, OpResult::Failed(ClientError::Sealed))]
    ));
    let fx = h.handle(vec![Event::ClientRequest((5, Op::FindTail(0)))]);
    assert!(sent_requests(&fx).is_empty());
    // The chain (v1, as the store gave it) is still open: the find-tail seals it.
    let (fx, _) = drive_chain_seal(&mut h, fx, 1);
    assert!(
        matches!(
            completions(&fx)[..],
            [(
                5,
                OpResult::Tail(ChainTail {
                    tail: LogTail::Sealed(1),
                    ..
                })
            )]
        ),
        "{fx:?}"
    );
}

/// Restate's read stream (R15): the trim point from an f-majority of the nodeset (the
/// highest of them), then one log-server at a time, moving on from one that lacks the
/// record at the read pointer.
#[test]
fn a_read_learns_the_trim_point_from_an_f_majority_and_reads_one_node_at_a_time() {
    use crate::bindings::logsandbox::node::log_server_protocol::{LogRecord, LogletInfo, Records};
    let mut h = node_with_logs(6, logs(1, true));
    // The read learns the tail first (here from the log-servers: the sequencer was never
    // heard from), and reads no further.
    let infos = sent_requests(&h.handle(vec![Event::ClientRequest((2, Op::Read((0, 1, 9))))]));
    answer(&mut h, 1, infos[0].1, info(6, 6, false));
    let asks = sent_requests(&answer(&mut h, 2, infos[1].1, info(6, 6, false)));
    assert!(
        asks.len() == 3
            && asks
                .iter()
                .all(|(_, _, r)| matches!(r, Request::GetLogletInfo(_))),
        "the trim point is asked of the whole nodeset: {asks:?}"
    );
    let trim_point = |point| {
        Reply::LogletInfo(LogletInfo {
            header: rh(6, 6, false, Status::Ok),
            trim_point: point,
        })
    };
    let ask_of = |node: u32| asks.iter().find(|(to, _, _)| *to == node).expect("asked").1;
    // N1 took a trim to 3, N3 did not: an f-majority (two of three) is enough, and the
    // highest point counts.
    assert!(sent_requests(&answer(&mut h, 1, ask_of(1), trim_point(3))).is_empty());
    let reads = sent_requests(&answer(&mut h, 3, ask_of(3), trim_point(0)));
    let [(first, id, Request::GetRecords(g))] = &reads[..] else {
        panic!("one log-server at a time: {reads:?}")
    };
    assert_eq!(
        (g.from_offset, g.to_offset),
        (4, 5),
        "from past the trim point 3 to the tail"
    );
    // A late trim point changes nothing.
    assert!(sent_requests(&answer(&mut h, 2, ask_of(2), trim_point(5))).is_empty());
    let data = |o: u32| LogRecord {
        offset: o,
        body: RecordBody::Data(format!("r{o}").into_bytes()),
    };
    let records = |records: Vec<LogRecord>, next_offset| {
        Reply::Records(Records {
            header: rh(6, 6, false, Status::Ok),
            next_offset,
            records,
        })
    };
    // The first node asked lacks 4 (it holds only 5): the stream keeps 5 and asks another.
    let fx = answer(&mut h, *first, *id, records(vec![data(5)], 6));
    assert!(completions(&fx).is_empty());
    let reads = sent_requests(&fx);
    let [(second, id, Request::GetRecords(g))] = &reads[..] else {
        panic!("the next log-server: {reads:?}")
    };
    assert!(second != first && g.from_offset == 4, "{reads:?}");
    // It holds 4: with 5 from before, the read is done.
    let fx = answer(&mut h, *second, *id, records(vec![data(4)], 5));
    let got: Vec<(u64, Vec<u8>)> = match &completions(&fx)[..] {
        [(2, OpResult::Records(rs))] => rs.iter().map(|r| (r.lsn, r.payload.clone())).collect(),
        other => panic!("{other:?}"),
    };
    assert_eq!(got, vec![(4, b"r4".to_vec()), (5, b"r5".to_vec())]);
}

/// A read stream passes on the trim gap of the node it reads, and returns what another
/// node still holds below a trim point it did not learn: log-servers that disagree on the
/// trim point give a reader records below a trim already answered (#3890).
#[test]
fn a_read_passes_on_one_nodes_trim_gap_and_trusts_the_next_node_below_it() {
    use crate::bindings::logsandbox::node::log_server_protocol::{LogRecord, LogletInfo, Records};
    let mut h = node_with_logs(6, logs(1, true));
    let infos = sent_requests(&h.handle(vec![Event::ClientRequest((2, Op::Read((0, 1, 9))))]));
    answer(&mut h, 1, infos[0].1, info(6, 6, false));
    let asks = sent_requests(&answer(&mut h, 2, infos[1].1, info(6, 6, false)));
    // No node of the f-majority heard of the trim yet.
    let untrimmed = Reply::LogletInfo(LogletInfo {
        header: rh(6, 6, false, Status::Ok),
        trim_point: 0,
    });
    answer(&mut h, asks[0].0, asks[0].1, untrimmed.clone());
    let reads = sent_requests(&answer(&mut h, asks[1].0, asks[1].1, untrimmed));
    let [(node, id, Request::GetRecords(g))] = &reads[..] else {
        panic!("{reads:?}")
    };
    assert_eq!(g.from_offset, 1);
    // The node asked has just trimmed to 2: a gap, then 3..=5.
    let reply = Reply::Records(Records {
        header: rh(6, 6, false, Status::Ok),
        next_offset: 6,
        records: [LogRecord {
            offset: 1,
            body: RecordBody::TrimGap(2),
        }]
        .into_iter()
        .chain((3..=5).map(|o| LogRecord {
            offset: o,
            body: RecordBody::Data(vec![o as u8]),
        }))
        .collect(),
    });
    let fx = answer(&mut h, *node, *id, reply);
    let lsns: Vec<u64> = match &completions(&fx)[..] {
        [(2, OpResult::Records(rs))] => rs.iter().map(|r| r.lsn).collect(),
        other => panic!("{other:?}"),
    };
    assert_eq!(lsns, vec![3, 4, 5], "the gap to 2 is skipped");
}

/// The tail checker of a loglet this node uses without sequencing it: the first
/// find-tail is its first round; then one every `bifrost.remote_tail_check_ms` (2 s plus
/// up to 50%), until a round finds the loglet sealed.
#[test]
fn a_remote_tail_checker_finds_the_tail_every_two_seconds_until_the_loglet_is_sealed() {
    use crate::bindings::logsandbox::node::log_server_protocol::LogletInfo;
    use crate::time::MILLIS;
    let info = |sealed| {
        Reply::LogletInfo(LogletInfo {
            header: rh(3, 3, sealed, Status::Ok),
            trim_point: 0,
        })
    };
    let mut h = node_with_logs(6, logs(1, true));
    let fx = h.handle(vec![Event::ClientRequest((2, Op::FindTail(0)))]);
    let done = super::answer_each(&mut h, &super::info_asks_of(&fx, 0), &info(false));
    assert!(matches!(completions(&done)[..], [(2, OpResult::Tail(_))]));
    let next = |fx: &[crate::env::testing::Effect], now: u64| {
        super::timers(fx)
            .into_iter()
            .find(|(_, at)| (now + 2_000 * MILLIS..=now + 3_000 * MILLIS).contains(at))
    };
    let (timer, at) = next(&done, h.now).expect("the next round, 2 to 3 s on");
    // The second round: the log-servers say sealed; the checker stops there.
    let fx = h.handle_at(at, vec![Event::Timer(timer)]);
    let asks = super::info_asks_of(&fx, 0);
    assert_eq!(asks.len(), 3);
    let done = super::answer_each(&mut h, &asks, &info(true));
    assert!(completions(&done).is_empty(), "a round answers nobody");
    assert_eq!(next(&done, h.now), None, "sealed: no next round");
}
