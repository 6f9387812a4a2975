//! The sequencer: commit on a write quorum, and its state, asked by remote nodes
//! (Restate's GetSequencerState): the tail it answers, the seal check it makes first, the
//! repair of the sealed tail before it is published, and the graylist of its waves.

use super::{
    Harness, LOGLET, SEQ, answer, answer_repair_infos, append_to, client_with_logs, completions,
    hear_from_sequencer, info, logs, node_with_logs, rh, sent, sent_requests, sequencer_answers,
    timers,
};
use crate::bindings::exports::logsandbox::node::node::Event;
use crate::bindings::logsandbox::node::client::{ChainTail, ClientError, LogTail, Op, OpResult};
use crate::bindings::logsandbox::node::log_server_protocol::{
    RecordBody, RecordStatus, Reply, Request, StoreFlags,
};
use crate::bindings::logsandbox::node::messages::{Body, Message, SequencerAnswer};
use crate::bindings::logsandbox::node::types::{Status, TailState};
use crate::env::testing::Effect;

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

#[test]
fn the_sequencer_commits_on_a_write_quorum_and_advances_the_global_tail() {
    use crate::bindings::logsandbox::node::log_server_protocol::LogletInfo;
    let mut h = client_with_logs(logs(1, true));
    // First use starts the sequencer: it learns the tail from the nodeset.
    let fx = h.handle(vec![Event::ClientRequest((
        2,
        Op::Append(append_to(0, b"a".to_vec())),
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
        [(
            3,
            OpResult::Tail(ChainTail {
                tail: LogTail::Open(2),
                ..
            })
        )]
    ));
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
        [(
            2,
            OpResult::Tail(ChainTail {
                tail: LogTail::Open(7),
                ..
            })
        )]
    ));
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
        [(
            2,
            OpResult::Sealed(ChainTail {
                tail: LogTail::Sealed(3),
                ..
            })
        )]
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
    let (mut h, stores, _) = started_sequencer(Op::Append(append_to(0, b"a".to_vec())));
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
            [(
                3,
                OpResult::Sealed(ChainTail {
                    tail: LogTail::Sealed(2),
                    ..
                })
            )]
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
    let (mut h, stores, mut due) = started_sequencer(Op::Append(append_to(0, b"a".to_vec())));
    let store_to = |n: u32| stores.iter().find(|(to, _, _)| *to == n).unwrap().1;
    // A second append: its stores wait for a node's tail (or the global tail) to reach 2.
    let fx = h.handle(vec![Event::ClientRequest((
        3,
        Op::Append(append_to(0, b"b".to_vec())),
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
