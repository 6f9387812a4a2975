//! The sequencer: commit on a write quorum, and its state, asked by remote nodes
//! (Restate's GetSequencerState): the tail it answers, the seal check it makes first, the
//! repair of the sealed tail before it is published, and the graylist of its waves.

use super::{
    Harness, LOGLET, SEQ, answer, answer_repair_infos, append_to, client_with_logs, completions,
    hear_from_sequencer, info, logs, node_with_logs, node_with_logs_and_settings, rh, sent,
    sent_requests, sequencer_answers, timers,
};
use crate::bindings::exports::logsandbox::node::node::Event;
use crate::bindings::logsandbox::node::client::{ChainTail, ClientError, LogTail, Op, OpResult};
use crate::bindings::logsandbox::node::log_server_protocol::{
    RecordBody, RecordStatus, Reply, Request, StoreFlags,
};
use crate::bindings::logsandbox::node::messages::{Body, Message, SequencerAnswer};
use crate::bindings::logsandbox::node::types::{Status, TailState};
use crate::env::testing::Effect;
use crate::time::MILLIS;

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
    started_sequencer_with(first_op, &[])
}

/// [`started_sequencer`], with guest settings.
fn started_sequencer_with(
    first_op: Op,
    settings: &[(&str, &str)],
) -> (Harness, Vec<(u32, u64, Request)>, Vec<u64>) {
    let mut h = node_with_logs_and_settings(SEQ, logs(1, true), settings);
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
    // With a seal check: one GetLogletInfo to each node; it ends once all three answered.
    let checks = sent_requests(&state_request(&mut h, 6, 41, true));
    assert!(
        checks.len() == 3
            && checks
                .iter()
                .all(|(_, _, r)| matches!(r, Request::GetLogletInfo(_)))
    );
    answer(&mut h, 1, checks[0].1, info(1, 1, true));
    let fx = answer(&mut h, 2, checks[1].1, info(1, 1, false));
    assert!(state_answers(&fx).is_empty(), "N3 has not answered yet");
    // N1 alone is sealed (a partial seal): the sequencer seals the loglet itself.
    let fx = answer(&mut h, 3, checks[2].1, info(1, 1, false));
    assert!(
        matches!(state_answers(&fx)[..], [(6, 41, SequencerAnswer::Sealing)]),
        "sealing: the asker asks again"
    );
    let seals = sent_requests(&fx);
    assert!(!seals.is_empty() && seals.iter().all(|(_, _, r)| matches!(r, Request::Seal(_))));
    let by = |n: u32| seals.iter().find(|(to, _, _)| *to == n).unwrap().1;
    answer(&mut h, 1, by(1), Reply::Sealed(rh(1, 1, true, Status::Ok)));
    let fx = answer(&mut h, 2, by(2), Reply::Sealed(rh(1, 1, true, Status::Ok)));
    assert!(
        sent_requests(&fx).is_empty(),
        "drained, it publishes its own known tail: no repair"
    );
    assert!(matches!(
        state_answers(&state_request(&mut h, 6, 43, false))[..],
        [(6, 43, SequencerAnswer::Sealing)]
    ));
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
    let (mut h, stores, _) = started_sequencer_with(
        Op::Append(append_to(0, b"a".to_vec())),
        &[("sequencer.publish", "repaired")],
    );
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
    // N1 reports local tail 2 (it holds offset 1), N2 tail 1: an f-majority sealed. The
    // drain cancels the append in flight.
    answer(&mut h, 1, by(1), Reply::Sealed(rh(2, 1, true, Status::Ok)));
    let fx = answer(&mut h, 2, by(2), Reply::Sealed(rh(1, 1, true, Status::Ok)));
    assert!(
        matches!(
            &completions(&fx)[..],
            [(2, OpResult::Failed(ClientError::ReconfigurationNeeded(why)))] if why.contains("draining")
        ),
        "the append is cancelled, the seal is not published yet: {:?}",
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

/// Lazy seal discovery (Restate's `maybe_sealed`): a store answered sealed by one node
/// neither ends the append (no sealed f-majority) nor drains the sequencer, which still
/// answers its open tail. Only a forced seal check acts on it: here a local find-tail,
/// which seals the loglet; the drain then cancels the append still in flight.
#[test]
fn a_store_answered_sealed_marks_the_loglet_maybe_sealed_and_only_a_forced_check_drains() {
    use crate::bindings::logsandbox::node::host::RacePoint;
    let (mut h, stores, _) = started_sequencer(Op::Append(append_to(0, b"a".to_vec())));
    let store_to = |n: u32| stores.iter().find(|(to, _, _)| *to == n).unwrap().1;
    let fx = answer(
        &mut h,
        1,
        store_to(1),
        Reply::Stored(rh(1, 1, true, Status::Sealed)),
    );
    assert_eq!(super::reached(&fx), vec![RacePoint::MaybeSealed]);
    let fx = answer(
        &mut h,
        3,
        store_to(3),
        Reply::Stored(rh(2, 1, false, Status::Ok)),
    );
    assert!(
        completions(&fx).is_empty() && sent_requests(&fx).is_empty(),
        "one copy and one sealed node: the append waits, nothing is sealed: {fx:?}"
    );
    assert!(matches!(
        state_answers(&state_request(&mut h, 6, 40, false))[..],
        [(6, 40, SequencerAnswer::Tail(TailState::Open(1)))]
    ));
    // A local find-tail while maybe sealed forces the check: the loglet is sealed.
    let seals = sent_requests(&h.handle(vec![Event::ClientRequest((3, Op::FindTail(0)))]));
    assert!(!seals.is_empty() && seals.iter().all(|(_, _, r)| matches!(r, Request::Seal(_))));
    let by = |n: u32| seals.iter().find(|(to, _, _)| *to == n).unwrap().1;
    answer(&mut h, 1, by(1), Reply::Sealed(rh(1, 1, true, Status::Ok)));
    let fx = answer(&mut h, 3, by(3), Reply::Sealed(rh(2, 1, true, Status::Ok)));
    assert_eq!(super::reached(&fx), vec![RacePoint::DrainStarted]);
    assert!(
        matches!(
            &completions(&fx)[..],
            [(2, OpResult::Failed(ClientError::ReconfigurationNeeded(_)))]
        ),
        "{:?}",
        completions(&fx)
    );
    h.durable();
    assert!(matches!(
        state_answers(&state_request(&mut h, 6, 41, false))[..],
        [(6, 41, SequencerAnswer::Tail(TailState::Sealed(1)))]
    ));
}

/// `sequencer.seal_discovery = on-sealed-reply` (the fix #4940 asks for): the first store
/// answered sealed makes the sequencer seal the loglet at once.
#[test]
fn on_sealed_reply_the_sequencer_seals_at_the_first_store_answered_sealed() {
    let (mut h, stores, _) = started_sequencer_with(
        Op::Append(append_to(0, b"a".to_vec())),
        &[("sequencer.seal_discovery", "on-sealed-reply")],
    );
    let fx = answer(
        &mut h,
        stores[0].0,
        stores[0].1,
        Reply::Stored(rh(1, 1, true, Status::Sealed)),
    );
    let seals = sent_requests(&fx);
    assert!(
        seals.len() == 3 && seals.iter().all(|(_, _, r)| matches!(r, Request::Seal(_))),
        "{seals:?}"
    );
}

/// The periodic tail check (every `sequencer.inactivity_timeout_ms`, 15 s plus up to 50%) is a
/// forced seal check: one GetLogletInfo to each node; when the check's time is up with an
/// f-majority sealed, the sequencer drains and publishes its own tail, sending no Seal.
#[test]
fn the_periodic_tail_check_drains_a_seal_made_behind_the_sequencers_back() {
    let mut h = client_with_logs(logs(1, true));
    let infos = sent_requests(&h.handle(vec![Event::ClientRequest((2, Op::FindTail(0)))]));
    let started = h.now;
    let mut armed = Vec::new();
    for (to, id, _) in &infos[..2] {
        armed.extend(timers(&answer(&mut h, *to, *id, info(1, 1, false))));
    }
    let window = started + 15_000 * MILLIS..=started + 22_600 * MILLIS;
    let checks: Vec<(u64, u64)> = armed
        .into_iter()
        .filter(|(_, at)| window.contains(at))
        .collect();
    let [(timer, at)] = checks[..] else {
        panic!("one tail check, 15 to 22.5 s after the start: {checks:?}");
    };
    let fx = h.handle_at(at, vec![Event::Timer(timer)]);
    let asks = super::info_asks_of(&fx, LOGLET);
    assert_eq!(asks.len(), 3);
    let armed = timers(&fx);
    assert!(
        armed.iter().any(|(_, t)| *t > at + 7_000 * MILLIS),
        "the next tail check is armed: {armed:?}"
    );
    let (check_end, end_at) = armed
        .iter()
        .copied()
        .find(|(_, t)| *t == at + 250 * MILLIS)
        .expect("the check ends after rpc_retry");
    // N1 and N2 were sealed by someone else; N3 does not answer.
    answer(&mut h, asks[0].0, asks[0].1, info(1, 1, true));
    let fx = answer(&mut h, asks[1].0, asks[1].1, info(1, 1, true));
    assert!(sent_requests(&fx).is_empty(), "the check waits for N3");
    let fx = h.handle_at(end_at, vec![Event::Timer(check_end)]);
    assert!(
        sent_requests(&fx).is_empty(),
        "sealed on an f-majority: drained with no Seal and no repair"
    );
    h.durable();
    assert!(matches!(
        state_answers(&state_request(&mut h, 6, 41, false))[..],
        [(6, 41, SequencerAnswer::Tail(TailState::Sealed(1)))]
    ));
}
