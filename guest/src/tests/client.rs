//! The client at the log level: operations address LSNs, the cached chain maps each to
//! its segment and loglet offset (Restate's `LogletWrapper`), a read crosses segments,
//! and where the chain knows a sealed tail the loglet is not asked.

use super::{
    Harness, SEQ, advertise, answer, append_to, chain_logs, client_with_logs, completions,
    give_peer_logs, info, info_asks_of, marker, rh, segment, sent_requests,
};
use crate::bindings::exports::logsandbox::node::node::Event;
use crate::bindings::logsandbox::node::client::{
    ChainTail, ClientError, LogTail, Op, OpResult, ReadRecord,
};
use crate::bindings::logsandbox::node::log_server_protocol::{Reply, Request};
use crate::bindings::logsandbox::node::metadata::MetadataValue;
use crate::bindings::logsandbox::node::types::Status;

/// Serves the read stream of `loglet` in `fx` from log-servers that hold `offsets`
/// (payload: the loglet id and offset); returns what the answers did.
fn serve_reads(
    h: &mut Harness,
    fx: &[super::Effect],
    loglet: u64,
    offsets: &[u32],
) -> Vec<super::Effect> {
    super::serve_stream(h, fx, loglet, offsets, rh(10, 10, true, Status::Ok), 0)
}

/// Drives a sequencer that starts for an append on an empty loglet: two log-servers say
/// its tail is 1, the store at offset 1 goes out, and two of them take it. Returns the
/// stores sent and what the last answer did.
fn land_first_append(
    h: &mut Harness,
    infos: &[(u32, u64, Request)],
) -> (Vec<(u32, u64, Request)>, Vec<super::Effect>) {
    let mut stores = Vec::new();
    for (to, id, _) in &infos[..2] {
        stores.extend(sent_requests(&answer(h, *to, *id, info(1, 1, false))));
    }
    let stored = || Reply::Stored(rh(2, 1, false, Status::Ok));
    answer(h, stores[0].0, stores[0].1, stored());
    let fx = answer(h, stores[1].0, stores[1].1, stored());
    (stores, fx)
}

#[test]
fn a_read_crosses_sealed_segments_each_at_its_own_offsets() {
    // Segments [1, 4) on loglet 0, [4, 6) on loglet 1, and the tail from 6 on loglet 2.
    let mut h = client_with_logs(chain_logs(vec![
        segment(1, 0),
        segment(4, 1),
        segment(6, 2),
    ]));
    let fx = h.handle(vec![Event::ClientRequest((2, Op::Read((0, 2, 6))))]);
    // Segment 0 ends at a sealed tail the chain knows: read at once, no find-tail.
    // The read stream learns the trim point from the nodeset first.
    let asks = sent_requests(&fx);
    assert_eq!(
        asks.len(),
        3,
        "every node of the nodeset is asked: {asks:?}"
    );
    assert!(asks.iter().all(|(_, _, r)| matches!(
        r,
        Request::GetLogletInfo(header) if header.loglet_id == 0
    )));
    let fx = serve_reads(&mut h, &fx, 0, &[1, 2, 3]);
    assert!(completions(&fx).is_empty(), "segment 1 is still to read");
    let asks: Vec<_> = sent_requests(&fx)
        .into_iter()
        .filter(|(_, _, r)| !matches!(r, Request::GetRecords(g) if g.header.loglet_id == 0))
        .collect();
    assert!(
        !asks.is_empty()
            && asks.iter().all(|(_, _, r)| matches!(
                r,
                Request::GetLogletInfo(header) if header.loglet_id == 1
            )),
        "then loglet 1's trim point, before its offsets 1..2 (LSNs 4 and 5): {asks:?}"
    );
    let fx = serve_reads(&mut h, &fx, 1, &[1, 2]);
    let lsns = |records: &[ReadRecord]| -> Vec<(u64, String)> {
        records
            .iter()
            .map(|r| (r.lsn, String::from_utf8_lossy(&r.payload).into_owned()))
            .collect()
    };
    match &completions(&fx)[..] {
        [(2, OpResult::Records(records))] => assert_eq!(
            lsns(records),
            vec![
                (2, "0:2".to_string()),
                (3, "0:3".to_string()),
                (4, "1:1".to_string()),
                (5, "1:2".to_string()),
            ]
        ),
        other => panic!("{other:?}"),
    }
}

#[test]
fn the_seal_marker_answers_for_its_chain_without_asking_a_loglet() {
    let mut h = client_with_logs(chain_logs(vec![segment(1, 0), marker(5, 0)]));
    let fx = h.handle(vec![
        Event::ClientRequest((2, Op::Append(append_to(0, b"a".to_vec())))),
        Event::ClientRequest((3, Op::FindTail(0))),
        Event::ClientRequest((4, Op::Seal(0))),
        Event::ClientRequest((5, Op::Read((0, 0, 100)))),
    ]);
    assert!(
        sent_requests(&fx).iter().all(|(_, _, r)| match r {
            Request::GetRecords(g) => g.header.loglet_id == 0,
            Request::GetLogletInfo(header) => header.loglet_id == 0,
            _ => false,
        }),
        "only the read asks a loglet, segment 0's: {fx:?}"
    );
    let done = completions(&fx);
    assert!(matches!(
        &done[0],
        (2, OpResult::Failed(ClientError::ReconfigurationNeeded(why))) if why.contains("sealed at LSN 5")
    ));
    let sealed_at_5 = |r: &OpResult| {
        matches!(
            r,
            OpResult::Tail(ChainTail {
                segment_index: 0,
                tail: LogTail::Sealed(5)
            }) | OpResult::Sealed(ChainTail {
                segment_index: 0,
                tail: LogTail::Sealed(5)
            })
        )
    };
    assert!(done[1].0 == 3 && sealed_at_5(&done[1].1), "{:?}", done[1]);
    assert!(done[2].0 == 4 && sealed_at_5(&done[2].1), "{:?}", done[2]);
    // The read stops at the marker: segment 0's records, then nothing.
    let fx = serve_reads(&mut h, &fx, 0, &[1, 2, 3, 4]);
    match &completions(&fx)[..] {
        [(5, OpResult::Records(records))] => {
            assert_eq!(
                records.iter().map(|r| r.lsn).collect::<Vec<_>>(),
                vec![1, 2, 3, 4]
            )
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn an_append_to_a_later_segment_answers_the_lsn_of_its_loglet_offset() {
    let mut h = client_with_logs(chain_logs(vec![segment(1, 0), segment(11, 1)]));
    let fx = h.handle(vec![Event::ClientRequest((
        2,
        Op::Append(append_to(0, b"a".to_vec())),
    ))]);
    // The tail segment's sequencer starts: it learns loglet 1's tail from the nodeset.
    let infos = info_asks_of(&fx, 1);
    let (stores, fx) = land_first_append(&mut h, &infos);
    assert!(
        stores
            .iter()
            .all(|(_, _, r)| matches!(r, Request::Store(s) if s.first_offset == 1))
    );
    assert!(
        matches!(completions(&fx)[..], [(2, OpResult::Appended(11))]),
        "offset 1 is LSN 11"
    );
}

#[test]
fn an_lsn_beyond_what_its_segment_can_hold_fails_out_of_range() {
    let mut h = client_with_logs(chain_logs(vec![segment(1, 0)]));
    let far = 1 + u64::from(u32::MAX) + 5;
    let fx = h.handle(vec![Event::ClientRequest((2, Op::Read((0, far, far + 3))))]);
    assert!(matches!(
        completions(&fx)[..],
        [(2, OpResult::Failed(ClientError::LsnOutOfRange(lsn)))] if lsn == far
    ));
}

#[test]
fn a_preferred_appender_on_a_sealed_chain_extends_it_itself_and_appends_to_the_new_segment() {
    use crate::bindings::logsandbox::node::client::{Append, RecoveryStrategy};
    use crate::bindings::logsandbox::node::host::RacePoint;
    use crate::bindings::logsandbox::node::metadata::{Precondition, StoreResponse};
    let mut h = client_with_logs(chain_logs(vec![segment(1, 0), marker(3, 0)]));
    let append = Append {
        log: 0,
        payload: b"x".to_vec(),
        strategy: Some(RecoveryStrategy::ExtendChainPreferred),
    };
    let fx = h.handle(vec![Event::ClientRequest((2, Op::Append(append)))]);
    assert!(completions(&fx).is_empty(), "it holds instead of failing");
    assert!(
        fx.iter()
            .any(|e| matches!(e, super::Effect::Reached(RacePoint::HoldingForSegment, _)))
    );
    // The chain knows the sealed tail (the marker): the extension goes to the writer.
    let now = h.now;
    let flush = super::timers(&fx)
        .into_iter()
        .find(|(_, at)| *at == now)
        .map(|(id, _)| id)
        .expect("the writer's flush");
    let fx = h.handle_at(now, vec![Event::Timer(flush)]);
    let (id, value) = fx
        .iter()
        .find_map(|e| match e {
            super::Effect::MetadataPut(id, _, value, Precondition::MatchesVersion(3)) => {
                Some((*id, value.clone()))
            }
            _ => None,
        })
        .expect("a put over v3");
    let MetadataValue::Logs(logs) = &value;
    let tail = logs.chains[0].segments.last().unwrap();
    assert_eq!(
        (tail.base_lsn, tail.index),
        (3, 1),
        "the marker replaced at its base"
    );
    assert_eq!(tail.params.as_ref().map(|p| p.sequencer), Some(SEQ));
    // Written: the node takes its own write, and the holder appends to segment 1.
    let fx = h.handle(vec![Event::MetadataResponse((id, StoreResponse::PutDone))]);
    let infos = info_asks_of(&fx, 1);
    let (_, fx) = land_first_append(&mut h, &infos);
    assert!(
        matches!(completions(&fx)[..], [(2, OpResult::Appended(3))]),
        "{fx:?}"
    );
}

#[test]
fn a_wait_appender_backs_off_from_10ms_doubling_and_appends_once_a_new_segment_arrives() {
    use crate::bindings::logsandbox::node::client::{Append, RecoveryStrategy};
    use crate::time::MILLIS;
    let mut h = client_with_logs(chain_logs(vec![segment(1, 0), marker(3, 0)]));
    let append = Append {
        log: 0,
        payload: b"x".to_vec(),
        strategy: Some(RecoveryStrategy::Wait),
    };
    let fx = h.handle(vec![Event::ClientRequest((2, Op::Append(append)))]);
    assert!(completions(&fx).is_empty());
    // Holding: it checks again after 10 ms, 20 ms, 40 ms..., and never extends the chain.
    let mut fx = fx;
    for pause in [10, 20, 40, 80] {
        let now = h.now;
        let (timer, at) = super::timers(&fx)
            .into_iter()
            .max_by_key(|(_, at)| *at)
            .expect("a holder's next check");
        assert_eq!(at, now + pause * MILLIS, "the pause doubles from 10 ms");
        fx = h.handle_at(at, vec![Event::Timer(timer)]);
        assert!(
            !fx.iter()
                .any(|e| matches!(e, super::Effect::MetadataPut(..))),
            "a wait appender never extends the chain itself"
        );
    }
    // N1 advertises v4 (somebody extended the chain); the node fetches it from N1.
    let fx = advertise(&mut h, 1, 4);
    let MetadataValue::Logs(mut v4) = chain_logs(vec![segment(1, 0), segment(3, 1)]);
    v4.version = 4;
    // The new Logs version: the holder looks at once and appends to segment 1's loglet.
    let fx = give_peer_logs(&mut h, &fx, 1, v4);
    assert!(
        sent_requests(&fx).iter().any(|(_, _, r)| matches!(
            r,
            Request::GetLogletInfo(header) if header.loglet_id == 1
        )),
        "{fx:?}"
    );
}
