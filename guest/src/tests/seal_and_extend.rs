//! Seal-and-extend (Restate's `BifrostAdmin::seal_and_extend_chain`) and the chain writer:
//! the loglet sealed first, the chain put next, as compare-and-set on the cached Logs; a
//! failed precondition waits for the next version and tries again on it.

use super::{
    Harness, answer, completions, hear_from_sequencer, logs, node_with_logs, puts, reached, rh,
    sent_requests, sequencer_answers, store_fetch, timers,
};
use crate::bindings::exports::logsandbox::node::node::Event;
use crate::bindings::logsandbox::node::client::{
    ClientError, Extended, Op, OpResult, SealAndExtend,
};
use crate::bindings::logsandbox::node::host::RacePoint;
use crate::bindings::logsandbox::node::log_server_protocol::{Reply, Request};
use crate::bindings::logsandbox::node::messages::SequencerAnswer;
use crate::bindings::logsandbox::node::metadata::{
    MetadataValue, Precondition, ProviderKind, ReplicatedParams, Segment, StoreError, StoreResponse,
};
use crate::bindings::logsandbox::node::types::{Status, TailState};
use crate::env::testing::Effect;

fn request() -> SealAndExtend {
    SealAndExtend {
        log: 0,
        min_version: None,
        segment_index: None,
        sequencer: None,
        nodeset: None,
        replication: None,
    }
}

/// N6 runs a seal-and-extend of log 0 (Logs v1, one segment sequenced by N5), and two
/// log-servers take its Seal. Returns the effects of the second, which asks the sequencer.
fn sealing_on_n6() -> (Harness, Vec<Effect>) {
    let mut h = node_with_logs(6, logs(1, true));
    hear_from_sequencer(&mut h);
    let fx = h.handle(vec![Event::ClientRequest((
        2,
        Op::SealAndExtend(request()),
    ))]);
    let seals = sent_requests(&fx);
    assert!(seals.iter().all(|(_, _, r)| matches!(r, Request::Seal(_))));
    answer(
        &mut h,
        1,
        seals[0].1,
        Reply::Sealed(rh(5, 5, true, Status::Ok)),
    );
    let fx = answer(
        &mut h,
        2,
        seals[1].1,
        Reply::Sealed(rh(5, 5, true, Status::Ok)),
    );
    (h, fx)
}

/// As [`sealing_on_n6`]; the sequencer answers that loglet 0_0 is sealed at 5. Returns the
/// effects up to the sealed loglet.
fn sealed_on_n6() -> (Harness, Vec<Effect>) {
    let (mut h, fx) = sealing_on_n6();
    // Sealed on an f-majority: the sequencer, asked to check, publishes its sealed tail.
    let fx = sequencer_answers(&mut h, &fx, SequencerAnswer::Tail(TailState::Sealed(5)));
    (h, fx)
}

/// Fires the chain writer's flush: the zero-delay timer armed with the sealed loglet.
fn flush(h: &mut Harness, fx: &[Effect]) -> Vec<Effect> {
    let now = h.now;
    let (id, _) = timers(fx)
        .into_iter()
        .find(|(_, at)| *at == now)
        .expect("the writer arms a zero-delay flush");
    h.handle_at(now, vec![Event::Timer(id)])
}

#[test]
fn the_loglet_is_sealed_first_and_the_chain_put_follows_in_a_later_call() {
    let (mut h, fx) = sealed_on_n6();
    assert_eq!(reached(&fx), vec![RacePoint::LogletSealed]);
    assert!(
        puts(&fx).is_empty(),
        "nothing written in the call that sealed"
    );
    assert!(completions(&fx).is_empty());
    let fx = flush(&mut h, &fx);
    assert_eq!(reached(&fx), vec![RacePoint::ChainPut]);
    let [(id, MetadataValue::Logs(logs), precondition)] = &puts(&fx)[..] else {
        panic!("one put: {fx:?}")
    };
    assert!(matches!(precondition, Precondition::MatchesVersion(1)));
    assert_eq!(logs.version, 2);
    let segments = &logs.chains[0].segments;
    assert_eq!(segments.len(), 2);
    let Segment {
        base_lsn,
        index,
        provider,
        params:
            Some(ReplicatedParams {
                loglet_id,
                sequencer,
                replication,
                nodeset,
            }),
    } = &segments[1]
    else {
        panic!("{segments:?}")
    };
    assert_eq!(
        (
            *base_lsn,
            *index,
            *provider,
            *loglet_id,
            *sequencer,
            *replication,
            nodeset.clone()
        ),
        (5, 1, ProviderKind::Replicated, 1, 6, 2, vec![1, 2, 3]),
        "at the sealed tail, loglet 0_1, sequenced by the extender, the rest carried over"
    );
    let fx = h.handle(vec![Event::MetadataResponse((*id, StoreResponse::PutDone))]);
    assert!(matches!(
        completions(&fx)[..],
        [(
            2,
            OpResult::Extended(Extended {
                segment_index: 1,
                base_lsn: 5,
                version: 2
            })
        )]
    ));
    assert!(
        fx.iter()
            .any(|e| matches!(e, Effect::Offered(_, _, _, _, true))),
        "the node takes its own write"
    );
}

#[test]
fn a_failed_precondition_waits_for_the_next_version_and_a_moved_tail_is_a_segment_mismatch() {
    let (mut h, fx) = sealed_on_n6();
    let fx = flush(&mut h, &fx);
    let (id, _, _) = puts(&fx)[0].clone();
    let fx = h.handle(vec![Event::MetadataResponse((
        id,
        StoreResponse::Failed(StoreError::FailedPrecondition(2)),
    ))]);
    assert!(
        completions(&fx).is_empty(),
        "it tries again, once v2 is here"
    );
    let fetch = store_fetch(&fx).expect("the next version is fetched from the store");
    // Someone else extended the chain at v2: segment 0 is no longer the tail.
    let MetadataValue::Logs(mut v2) = logs(2, true);
    let mut other = v2.chains[0].segments[0].clone();
    other.base_lsn = 4;
    other.index = 1;
    if let Some(p) = &mut other.params {
        p.loglet_id = 1;
    }
    v2.chains[0].segments.push(other);
    let fx = h.handle(vec![Event::MetadataResponse((
        fetch,
        StoreResponse::Value(Some(MetadataValue::Logs(v2))),
    ))]);
    let fx = flush(&mut h, &fx);
    assert!(puts(&fx).is_empty(), "nothing left to write");
    assert!(matches!(
        completions(&fx)[..],
        [(2, OpResult::Failed(ClientError::SegmentMismatch(1)))]
    ));
}

#[test]
fn a_stale_segment_index_fails_before_anything_is_sealed() {
    let mut h = node_with_logs(6, logs(1, true));
    let mut stale = request();
    stale.segment_index = Some(3);
    let fx = h.handle(vec![Event::ClientRequest((2, Op::SealAndExtend(stale)))]);
    assert!(matches!(
        completions(&fx)[..],
        [(2, OpResult::Failed(ClientError::SegmentMismatch(0)))]
    ));
    assert!(reached(&fx).is_empty());
}

/// Restate's `seal_inner`: a seal that finds the loglet still open (no f-majority sealed
/// once asked again) is tried again after `bifrost.seal_retry_ms` (2 s), from the check of
/// the tail segment; it does not fail the seal-and-extend.
#[test]
fn a_seal_that_finds_the_loglet_open_is_tried_again_after_the_seal_retry() {
    use super::{answer_each, info, info_asks_of};
    use crate::time::MILLIS;
    let (mut h, fx) = sealing_on_n6();
    // The sequencer says open; the log-servers, asked then, are not sealed (their seals
    // were lost, say with a disk): the tail is open.
    let fx = sequencer_answers(&mut h, &fx, SequencerAnswer::Tail(TailState::Open(5)));
    let now = h.now;
    let fx = answer_each(&mut h, &info_asks_of(&fx, 0), &info(5, 5, false));
    assert!(completions(&fx).is_empty(), "no failure: {fx:?}");
    let (retry, at) = timers(&fx)
        .into_iter()
        .find(|(_, at)| (now + 2_000 * MILLIS..=h.now + 2_000 * MILLIS).contains(at))
        .expect("a retry 2 s later");
    let fx = h.handle_at(at, vec![Event::Timer(retry)]);
    let again = sent_requests(&fx);
    assert!(
        again.len() == 3 && again.iter().all(|(_, _, r)| matches!(r, Request::Seal(_))),
        "the seal again: {again:?}"
    );
}
