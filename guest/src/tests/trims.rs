//! Trims as Restate runs them (R14): each loglet's trim is clamped below the tail this node
//! knows of it (a node that never looked at the loglet knows only the oldest offset, so
//! its trim clamps to nothing, sends nothing and succeeds: #5377), and is done at the first
//! write quorum of log-servers that took it (#3890). The fixes: `bifrost.trim_clamp =
//! find-tail` finds the log's tail first; `bifrost.trim_ack = all` waits for every node.

use super::{
    Effect, Harness, answer, answer_each, completions, info, info_asks_of, logs, node_with_logs,
    node_with_logs_and_settings, reached, rh, sent_requests, timers,
};
use crate::bindings::exports::logsandbox::node::node::Event;
use crate::bindings::logsandbox::node::client::{ClientError, Op, OpResult};
use crate::bindings::logsandbox::node::host::RacePoint;
use crate::bindings::logsandbox::node::log_server_protocol::{Reply, Request};
use crate::bindings::logsandbox::node::types::Status;

/// N6 finds the tail of log 0 (the sequencer never heard from: the log-servers answer,
/// open at `tail`), so its loglet client knows it.
fn knows_tail(h: &mut Harness, tail: u32) {
    let fx = h.handle(vec![Event::ClientRequest((1_000, Op::FindTail(0)))]);
    let done = answer_each(h, &info_asks_of(&fx, 0), &info(tail, tail, false));
    assert!(
        matches!(&completions(&done)[..], [(1_000, OpResult::Tail(_))]),
        "{done:?}"
    );
}

fn trims_sent(fx: &[Effect]) -> Vec<(u32, u64, u32, u32)> {
    sent_requests(fx)
        .into_iter()
        .filter_map(|(to, id, r)| match r {
            Request::Trim(t) => Some((to, id, t.trim_point, t.header.known_global_tail)),
            _ => None,
        })
        .collect()
}

fn trimmed(status: Status) -> Reply {
    Reply::Trimmed(rh(11, 11, false, status))
}

#[test]
fn a_node_that_never_looked_at_the_loglet_clamps_a_trim_to_nothing_and_says_it_trimmed() {
    let mut h = node_with_logs(6, logs(1, true));
    let fx = h.handle(vec![Event::ClientRequest((2, Op::Trim((0, 10))))]);
    assert!(trims_sent(&fx).is_empty(), "no Trim is sent: {fx:?}");
    assert!(matches!(completions(&fx)[..], [(2, OpResult::Trimmed(0))]));
    assert_eq!(reached(&fx), vec![RacePoint::TrimClampedToZero]);
    // The loglet client now exists, and its tail checker's first find-tail asks the
    // log-servers (the sequencer was never heard from); once it learns the tail, a trim
    // again is clamped to it, as the retry in Restate's report worked.
    // With it goes the watchdog's chain trim, which asks the trim point: three each.
    let asks = info_asks_of(&fx, 0);
    assert_eq!(asks.len(), 6);
    answer_each(&mut h, &asks, &info(11, 11, false));
    let fx = h.handle(vec![Event::ClientRequest((3, Op::Trim((0, 10))))]);
    let trims = trims_sent(&fx);
    assert!(
        trims.len() == 3 && trims.iter().all(|&(_, _, point, _)| point == 10),
        "{trims:?}"
    );
}

#[test]
fn a_trim_is_clamped_below_the_known_tail_and_done_at_the_first_write_quorum() {
    let mut h = node_with_logs(6, logs(1, true));
    knows_tail(&mut h, 11);
    let fx = h.handle(vec![Event::ClientRequest((2, Op::Trim((0, 99))))]);
    let trims = trims_sent(&fx);
    assert_eq!(trims.len(), 3);
    assert!(
        trims
            .iter()
            .all(|&(_, _, point, kgt)| (point, kgt) == (10, 11)),
        "clamped to the known tail 11 minus one, which the header carries: {trims:?}"
    );
    let fx = answer(&mut h, trims[0].0, trims[0].1, trimmed(Status::Ok));
    assert!(completions(&fx).is_empty());
    let fx = answer(&mut h, trims[1].0, trims[1].1, trimmed(Status::Ok));
    assert!(matches!(completions(&fx)[..], [(2, OpResult::Trimmed(10))]));
    assert_eq!(reached(&fx), vec![RacePoint::TrimAckedAtQuorum]);
}

#[test]
fn log_servers_that_refuse_a_trim_do_not_count_toward_its_quorum() {
    let mut h = node_with_logs(6, logs(1, true));
    knows_tail(&mut h, 11);
    let trims = trims_sent(&h.handle(vec![Event::ClientRequest((2, Op::Trim((0, 5))))]));
    answer(&mut h, trims[0].0, trims[0].1, trimmed(Status::Malformed));
    let fx = answer(&mut h, trims[1].0, trims[1].1, trimmed(Status::Ok));
    assert!(completions(&fx).is_empty(), "one of two needed");
    let fx = answer(&mut h, trims[2].0, trims[2].1, trimmed(Status::Malformed));
    assert!(matches!(
        completions(&fx)[..],
        [(2, OpResult::Failed(ClientError::Malformed(_)))]
    ));
}

#[test]
fn with_trim_ack_all_a_trim_waits_for_every_log_server_asking_the_silent_again() {
    let mut h = node_with_logs_and_settings(6, logs(1, true), &[("bifrost.trim_ack", "all")]);
    knows_tail(&mut h, 11);
    let fx = h.handle(vec![Event::ClientRequest((2, Op::Trim((0, 5))))]);
    let trims = trims_sent(&fx);
    answer(&mut h, trims[0].0, trims[0].1, trimmed(Status::Ok));
    let fx2 = answer(&mut h, trims[1].0, trims[1].1, trimmed(Status::Ok));
    assert!(completions(&fx2).is_empty(), "a write quorum is not enough");
    let (retry, at) = *timers(&fx).last().expect("a retry timer");
    let fx = h.handle_at(at, vec![Event::Timer(retry)]);
    let again = trims_sent(&fx);
    assert_eq!(
        again.iter().map(|t| t.0).collect::<Vec<_>>(),
        vec![trims[2].0],
        "only the silent one is asked again"
    );
    let fx = answer(&mut h, again[0].0, again[0].1, trimmed(Status::Ok));
    assert!(matches!(completions(&fx)[..], [(2, OpResult::Trimmed(5))]));
    assert!(reached(&fx).is_empty(), "every node took it");
}

#[test]
fn with_trim_clamp_find_tail_a_fresh_node_finds_the_tail_before_it_trims() {
    let mut h =
        node_with_logs_and_settings(6, logs(1, true), &[("bifrost.trim_clamp", "find-tail")]);
    let fx = h.handle(vec![Event::ClientRequest((2, Op::Trim((0, 99))))]);
    // A find-tail first.
    let fx = answer_each(&mut h, &info_asks_of(&fx, 0), &info(11, 11, false));
    let trims = trims_sent(&fx);
    assert_eq!(trims.len(), 3, "{fx:?}");
    assert!(
        trims
            .iter()
            .all(|&(_, _, point, kgt)| (point, kgt) == (10, 11))
    );
    assert!(reached(&fx).is_empty());
}

/// Restate's trim sends each node its Trim at most three times, and once a write quorum
/// took it the operation is answered while the requests to the others go on in the
/// background.
#[test]
fn a_trim_answered_at_its_quorum_goes_on_in_the_background_three_sends_a_node() {
    let mut h = node_with_logs(6, logs(1, true));
    knows_tail(&mut h, 11);
    let fx = h.handle(vec![Event::ClientRequest((2, Op::Trim((0, 5))))]);
    let trims = trims_sent(&fx);
    let (mut retry, mut at) = *timers(&fx).last().expect("a retry timer");
    answer(&mut h, trims[0].0, trims[0].1, trimmed(Status::Ok));
    let fx = answer(&mut h, trims[1].0, trims[1].1, trimmed(Status::Ok));
    assert!(matches!(completions(&fx)[..], [(2, OpResult::Trimmed(5))]));
    // The silent third node is sent the Trim twice more, then no more.
    let silent = trims[2].0;
    let mut sends = 1;
    for _ in 0..4 {
        let fx = h.handle_at(at, vec![Event::Timer(retry)]);
        let again = trims_sent(&fx);
        assert!(again.iter().all(|t| t.0 == silent), "{again:?}");
        sends += again.len();
        match timers(&fx).last() {
            Some(&(t, when)) if !again.is_empty() => (retry, at) = (t, when),
            _ => break,
        }
    }
    assert_eq!(sends, 3, "three sends to the silent node in all");
}

/// A trim across two segments runs one loglet after the other under the same operation:
/// a late answer to the first loglet's Trim must not count for the second's.
#[test]
fn a_late_answer_of_one_segments_trim_does_not_count_for_the_next() {
    use super::{chain_logs, segment};
    // With the log's tail found first, each segment is bounded where it ends.
    let mut h = node_with_logs_and_settings(
        6,
        chain_logs(vec![segment(1, 0), segment(4, 1)]),
        &[("bifrost.trim_clamp", "find-tail")],
    );
    let fx = h.handle(vec![Event::ClientRequest((2, Op::Trim((0, 5))))]);
    let fx = answer_each(&mut h, &info_asks_of(&fx, 1), &info(6, 6, false));
    let first = trims_sent(&fx);
    assert_eq!(first.len(), 3, "segment 0's loglet first: {fx:?}");
    answer(&mut h, first[0].0, first[0].1, trimmed(Status::Ok));
    let fx = answer(&mut h, first[1].0, first[1].1, trimmed(Status::Ok));
    let second = trims_sent(&fx);
    assert_eq!(second.len(), 3, "then segment 1's: {fx:?}");
    // The first loglet's third answer, late, and one answer of the second's: one of two.
    answer(&mut h, first[2].0, first[2].1, trimmed(Status::Ok));
    let fx = answer(&mut h, second[0].0, second[0].1, trimmed(Status::Ok));
    assert!(completions(&fx).is_empty(), "{fx:?}");
    let fx = answer(&mut h, second[1].0, second[1].1, trimmed(Status::Ok));
    assert!(
        matches!(completions(&fx)[..], [(2, OpResult::Trimmed(5))]),
        "{fx:?}"
    );
}
