//! The log-server part, through the node: a store is answered only once durable, the
//! store checks in their order, duplicates, seals, reads and recovery; then every request
//! type and status code of the log-server protocol.

use super::{Harness, SEQ, header, replies, seal, store, stored_status};
use crate::bindings::exports::logsandbox::node::node::Roles;
use crate::bindings::logsandbox::node::log_server_protocol::{
    GetDigest, GetRecords, RecordBody, RecordStatus, Reply, ReplyHeader, Request, StoreFlags,
    TailQuery, Trim, WaitForTail,
};
use crate::bindings::logsandbox::node::types::Status;
use crate::env::testing::Effect;

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
