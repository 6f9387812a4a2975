//! Readers and find-tails seal the chain (R8): a tail loglet found sealed on an open chain
//! is where the log may go on elsewhere. A find-tail seals the chain and looks again (on
//! the marker, or on the newer chain that made its seal fail); a read waits for the chain
//! to move, and seals it itself after its grace period.

use super::{
    Effect, Harness, advertise, answer_each, completions, drive_chain_seal, give_peer_logs, info,
    info_asks_of, marker, node_with_logs, puts, segment, sent_requests, step_chain_seal,
    store_fetch, timers,
};
use crate::bindings::exports::logsandbox::node::node::Event;
use crate::bindings::logsandbox::node::client::{ChainTail, LogTail, Op, OpResult};
use crate::bindings::logsandbox::node::log_server_protocol::Request;
use crate::bindings::logsandbox::node::metadata::{
    Chain, Logs, MetadataValue, ProviderKind, Segment, StoreError, StoreResponse,
};
use crate::bindings::logsandbox::node::types::Status;
use crate::time::MILLIS;

fn logs_at(version: u32, segments: Vec<Segment>) -> Logs {
    Logs {
        version,
        chains: vec![Chain {
            log_id: 0,
            segments,
        }],
    }
}

/// N6 (not the sequencer, which it never heard from) with log 0 on one open segment.
fn n6() -> Harness {
    node_with_logs(6, MetadataValue::Logs(logs_at(3, vec![segment(1, 0)])))
}

/// Every log-server answers the GetLogletInfo of loglet 0 in `fx`: sealed, local tail `tail`.
fn all_sealed_at(h: &mut Harness, fx: &[Effect], tail: u32) -> Vec<Effect> {
    answer_each(h, &info_asks_of(fx, 0), &info(tail, tail, true))
}

/// Every log-server answers the GetRecords in `fx` with offsets `1..tail` of the loglet.
fn serve(h: &mut Harness, fx: &[Effect], tail: u32) -> Vec<Effect> {
    let loglet = sent_requests(fx)
        .iter()
        .find_map(|(_, _, r)| match r {
            Request::GetRecords(g) => Some(g.header.loglet_id),
            Request::GetLogletInfo(h) => Some(h.loglet_id),
            _ => None,
        })
        .expect("a read stream asks the log-servers");
    let holds: Vec<u32> = (1..tail).collect();
    super::serve_stream(
        h,
        fx,
        loglet,
        &holds,
        super::rh(tail, tail, true, Status::Ok),
        0,
    )
}

fn lsns(result: &OpResult) -> Vec<u64> {
    match result {
        OpResult::Records(records) => records.iter().map(|r| r.lsn).collect(),
        other => panic!("not records: {other:?}"),
    }
}

#[test]
fn a_find_tail_that_finds_the_tail_loglet_sealed_seals_the_chain_and_answers_from_the_marker() {
    let mut h = n6();
    let fx = h.handle(vec![Event::ClientRequest((2, Op::FindTail(0)))]);
    let fx = all_sealed_at(&mut h, &fx, 5);
    assert!(
        completions(&fx).is_empty(),
        "a sealed loglet on an open chain is not the log's tail yet"
    );
    let (fx, made) = drive_chain_seal(&mut h, fx, 5);
    let [(_, MetadataValue::Logs(v4), _)] = &made[..] else {
        panic!("one chain put: {made:?}")
    };
    assert_eq!(v4.version, 4);
    let shape: Vec<(u64, u32, ProviderKind)> = v4.chains[0]
        .segments
        .iter()
        .map(|s| (s.base_lsn, s.index, s.provider))
        .collect();
    assert_eq!(
        shape,
        vec![
            (1, 0, ProviderKind::Replicated),
            (5, 0, ProviderKind::Sealed)
        ],
        "the seal marker at the loglet's sealed tail"
    );
    assert!(matches!(
        completions(&fx)[..],
        [(
            2,
            OpResult::Tail(ChainTail {
                segment_index: 0,
                tail: LogTail::Sealed(5)
            })
        )]
    ));
}

#[test]
fn a_find_tail_on_a_chain_that_moved_elsewhere_looks_again_on_the_newer_chain() {
    let mut h = n6();
    let fx = h.handle(vec![Event::ClientRequest((2, Op::FindTail(0)))]);
    let fx = all_sealed_at(&mut h, &fx, 5);
    // Its chain seal: the loglet seal goes through, the put over v3 fails: someone
    // extended the chain meanwhile (v4: segment 1 from LSN 5).
    let mut fx_all = fx;
    let put = loop {
        if let Some(put) = puts(&fx_all).into_iter().next() {
            break put;
        }
        fx_all = step_chain_seal(&mut h, &fx_all, 5);
        assert!(!fx_all.is_empty(), "the chain seal stalled before its put");
    };
    let fx = h.handle(vec![Event::MetadataResponse((
        put.0,
        StoreResponse::Failed(StoreError::FailedPrecondition(4)),
    ))]);
    let fetch = store_fetch(&fx).expect("the writer waits for v4: the node reads the store");
    let v4 = logs_at(4, vec![segment(1, 0), segment(5, 1)]);
    let fx = h.handle(vec![Event::MetadataResponse((
        fetch,
        StoreResponse::Value(Some(MetadataValue::Logs(v4))),
    ))]);
    // The writer tries again on v4 (its flush, at once): the seal fails
    // `segment-mismatch`, and the find-tail looks again, at segment 1's loglet.
    assert!(completions(&fx).is_empty());
    let now = h.now;
    let (flush, _) = timers(&fx)
        .into_iter()
        .find(|(_, at)| *at == now)
        .expect("the writer flushes again once v4 is cached");
    let fx = h.handle_at(now, vec![Event::Timer(flush)]);
    assert!(
        puts(&fx).is_empty(),
        "nothing to write on a chain that moved on"
    );
    let done = answer_each(&mut h, &info_asks_of(&fx, 1), &info(3, 3, false));
    assert!(matches!(
        completions(&done)[..],
        [(
            2,
            OpResult::Tail(ChainTail {
                segment_index: 1,
                tail: LogTail::Open(7)
            })
        )]
    ));
}

#[test]
fn a_read_past_a_sealed_tail_loglet_waits_for_the_chain_and_reads_on_in_the_new_segment() {
    let mut h = n6();
    let fx = h.handle(vec![Event::ClientRequest((2, Op::Read((0, 1, 8))))]);
    let fx = all_sealed_at(&mut h, &fx, 5);
    let fx = serve(&mut h, &fx, 5);
    assert!(
        completions(&fx).is_empty(),
        "LSNs 5..8 may be in a segment this node has not heard of"
    );
    assert!(
        puts(&fx).is_empty(),
        "no chain seal before the grace period"
    );
    // N1 advertises v4 (segment 1 from LSN 5): the read goes on there.
    let fx = advertise(&mut h, 1, 4);
    let fx = give_peer_logs(
        &mut h,
        &fx,
        1,
        logs_at(4, vec![segment(1, 0), segment(5, 1)]),
    );
    // A find-tail of segment 1's loglet bounds the rest.
    let fx = answer_each(&mut h, &info_asks_of(&fx, 1), &info(3, 3, false));
    let fx = serve(&mut h, &fx, 3);
    match &completions(&fx)[..] {
        [(2, result)] => assert_eq!(lsns(result), vec![1, 2, 3, 4, 5, 6]),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_read_that_waited_its_grace_period_seals_the_chain_and_ends_at_the_marker() {
    let mut h = n6();
    let fx = h.handle(vec![Event::ClientRequest((2, Op::Read((0, 1, 8))))]);
    let fx = all_sealed_at(&mut h, &fx, 5);
    let fx = serve(&mut h, &fx, 5);
    // The grace timer: 5 s plus up to 50%.
    let now = h.now;
    let (grace, at) = timers(&fx)
        .into_iter()
        .find(|(_, at)| *at >= now + 5_000 * MILLIS && *at <= now + 7_500 * MILLIS)
        .expect("a grace timer of 5 s + up to 50%");
    let fx = h.handle_at(at, vec![Event::Timer(grace)]);
    let (fx, made) = drive_chain_seal(&mut h, fx, 5);
    let [(_, MetadataValue::Logs(v4), _)] = &made[..] else {
        panic!("one chain put: {made:?}")
    };
    assert_eq!(
        v4.chains[0]
            .segments
            .last()
            .map(|s| (s.base_lsn, s.provider)),
        Some((5, ProviderKind::Sealed))
    );
    match &completions(&fx)[..] {
        [(2, result)] => assert_eq!(lsns(result), vec![1, 2, 3, 4]),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_read_at_the_seal_marker_waits_only_while_the_node_knows_a_newer_chain() {
    // Sealed at 3 by the marker. With nothing newer heard of, a read ends there.
    let sealed = logs_at(3, vec![segment(1, 0), marker(3, 0)]);
    let mut h = node_with_logs(6, MetadataValue::Logs(sealed));
    let fx = h.handle(vec![Event::ClientRequest((2, Op::Read((0, 3, 8))))]);
    assert!(matches!(&completions(&fx)[..], [(2, OpResult::Records(r))] if r.is_empty()));
    // N1 advertises v4: a read now waits for it, and reads on in the segment it brings.
    let fx = advertise(&mut h, 1, 4);
    let fx = {
        let mut fx = fx;
        fx.extend(h.handle(vec![Event::ClientRequest((3, Op::Read((0, 3, 8))))]));
        fx
    };
    assert!(
        completions(&fx).is_empty(),
        "the node knows its chain is behind"
    );
    let fx = give_peer_logs(
        &mut h,
        &fx,
        1,
        logs_at(4, vec![segment(1, 0), segment(3, 1)]),
    );
    info_asks_of(&fx, 1);
}

#[test]
fn with_sealed_chain_sync_a_find_tail_at_the_marker_reads_the_logs_from_the_store_first() {
    use super::node_with_logs_and_settings;
    let sealed = logs_at(3, vec![segment(1, 0), marker(3, 0)]);
    let mut h = node_with_logs_and_settings(
        6,
        MetadataValue::Logs(sealed),
        &[("bifrost.sealed_chain", "sync")],
    );
    let fx = h.handle(vec![Event::ClientRequest((2, Op::FindTail(0)))]);
    assert!(completions(&fx).is_empty(), "the marker is not trusted yet");
    let read = store_fetch(&fx).expect("a store read of the Logs");
    // The store has v4: the chain went on past the marker.
    let v4 = logs_at(4, vec![segment(1, 0), segment(3, 1)]);
    let fx = h.handle(vec![Event::MetadataResponse((
        read,
        StoreResponse::Value(Some(MetadataValue::Logs(v4))),
    ))]);
    // The find-tail looks at segment 1's loglet.
    info_asks_of(&fx, 1);
}

#[test]
fn with_sealed_chain_sync_the_marker_answers_once_the_store_has_nothing_newer() {
    use super::node_with_logs_and_settings;
    let sealed = logs_at(3, vec![segment(1, 0), marker(3, 0)]);
    let mut h = node_with_logs_and_settings(
        6,
        MetadataValue::Logs(sealed.clone()),
        &[("bifrost.sealed_chain", "sync")],
    );
    let fx = h.handle(vec![Event::ClientRequest((2, Op::FindTail(0)))]);
    let read = store_fetch(&fx).expect("a store read of the Logs");
    let fx = h.handle(vec![Event::MetadataResponse((
        read,
        StoreResponse::Value(Some(MetadataValue::Logs(sealed))),
    ))]);
    assert!(matches!(
        completions(&fx)[..],
        [(
            2,
            OpResult::Tail(ChainTail {
                segment_index: 0,
                tail: LogTail::Sealed(3)
            })
        )]
    ));
}
