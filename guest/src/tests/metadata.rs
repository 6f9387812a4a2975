//! The metadata cache and Restate's update task, one test per rule (see
//! `metadata/update_task.rs` and `metadata/cache.rs`). Time is driven here: armed timers
//! fire in order, as the host would fire them.

use std::collections::BTreeSet;

use super::{Harness, SEQ, client_with_logs, completions, logs, sent, store_fetch, timers};
use crate::bindings::exports::logsandbox::node::node::{Event, Roles};
use crate::bindings::logsandbox::node::client::{ClientError, Op, OpResult};
use crate::bindings::logsandbox::node::messages::{Body, Message, MetadataVersion};
use crate::bindings::logsandbox::node::metadata::{
    MetadataKind, MetadataValue, Precondition, StoreError, StoreResponse,
};
use crate::env::testing::Effect;
use crate::time::MILLIS;

const SECOND: u64 = 1_000 * MILLIS;

/// A node and the timers it armed, fired in time order.
struct Clocked {
    h: Harness,
    armed: BTreeSet<(u64, u64)>,
}

impl Clocked {
    fn new(id: u32, roles: Roles) -> Self {
        let h = Harness::new(id, roles);
        let armed = timers(&h.started)
            .into_iter()
            .map(|(id, at)| (at, id))
            .collect();
        Clocked { h, armed }
    }

    fn now(&self) -> u64 {
        self.h.now
    }

    fn handle(&mut self, events: Vec<Event>) -> Vec<Effect> {
        let fx = self.h.handle(events);
        self.note(&fx);
        fx
    }

    fn note(&mut self, fx: &[Effect]) {
        self.armed
            .extend(timers(fx).into_iter().map(|(id, at)| (at, id)));
    }

    /// Fires every timer due up to `until`; returns what happened, with the instant.
    fn advance(&mut self, until: u64) -> Vec<(u64, Effect)> {
        let mut out = Vec::new();
        while let Some(&(at, id)) = self.armed.first() {
            if at > until {
                break;
            }
            self.armed.pop_first();
            let fx = self.h.handle_at(at, vec![Event::Timer(id)]);
            self.note(&fx);
            out.extend(fx.into_iter().map(|e| (at, e)));
        }
        self.h.now = self.h.now.max(until);
        out
    }

    /// A message from `from` whose header advertises Logs `version`.
    fn header(&mut self, from: u32, version: u32, body: Body) -> Vec<Effect> {
        let msg = Message {
            versions: vec![MetadataVersion {
                kind: MetadataKind::Logs,
                version,
            }],
            body,
        };
        self.handle(vec![Event::Message((from, msg))])
    }

    fn store_answers(&mut self, id: u64, response: StoreResponse) -> Vec<Effect> {
        self.handle(vec![Event::MetadataResponse((id, response))])
    }

    /// The node's first-start store read, answered with `value`.
    fn with_store_value(id: u32, roles: Roles, value: MetadataValue) -> Self {
        let mut c = Clocked::new(id, roles);
        let read = store_fetch(&c.h.started).expect("a starting node reads the store");
        let fx = c.store_answers(read, StoreResponse::Value(Some(value)));
        assert!(offered(&fx).iter().all(|o| o.1), "the first value is taken");
        c
    }
}

/// GetMetadata requests sent: (to, request id, version asked).
fn asked(fx: &[Effect]) -> Vec<(u32, u64, u32)> {
    sent(fx)
        .filter_map(|(to, body)| match body {
            Body::GetMetadata((id, _, v)) => Some((to, *id, *v)),
            _ => None,
        })
        .collect()
}

/// Offers to the cache: (version, taken).
fn offered(fx: &[Effect]) -> Vec<(u32, bool)> {
    fx.iter()
        .filter_map(|e| match e {
            Effect::Offered(_, MetadataValue::Logs(l), _, _, taken) => Some((l.version, *taken)),
            _ => None,
        })
        .collect()
}

fn reads(fx: &[(u64, Effect)]) -> Vec<u64> {
    fx.iter()
        .filter(|(_, e)| matches!(e, Effect::MetadataGet(..)))
        .map(|(at, _)| *at)
        .collect()
}

fn peer_answer(id: u64, value: Option<MetadataValue>) -> Body {
    Body::MetadataUpdate((id, value))
}

#[test]
fn immediate_fetch_on_observation() {
    let mut c = Clocked::new(SEQ, Roles::CLIENT);
    assert!(
        store_fetch(&c.h.started).is_some(),
        "first start reads the store"
    );
    // A peer's hello answer advertises v1: the node asks that peer in the same instant,
    // without waiting for its next tick.
    let fx = c.header(2, 1, Body::HelloAck);
    let asks = asked(&fx);
    assert_eq!(asks.len(), 1);
    assert_eq!((asks[0].0, asks[0].2), (2, 1));
    // The tick was reset: the next one is a whole period from now.
    let (_, next) = *timers(&fx).last().expect("the next tick is armed");
    let period = next - c.now();
    assert!((103 * MILLIS..150 * MILLIS).contains(&period), "{period}");
}

#[test]
fn the_tick_period_is_drawn_once_and_only_lengthened() {
    let mut c = Clocked::new(SEQ, Roles::CLIENT);
    let fx = c.advance(2 * SECOND);
    let ticks: Vec<u64> = fx
        .iter()
        .filter_map(|(at, e)| matches!(e, Effect::Timer(..)).then_some(*at))
        .collect();
    let gaps: BTreeSet<u64> = ticks.windows(2).map(|w| w[1] - w[0]).collect();
    assert_eq!(gaps.len(), 1, "one period: {gaps:?}");
    let period = *gaps.first().unwrap();
    assert!((103 * MILLIS..150 * MILLIS).contains(&period), "{period}");
}

#[test]
fn one_new_peer_per_tick() {
    let mut c = Clocked::new(SEQ, Roles::CLIENT);
    let first = asked(&c.header(2, 1, Body::HelloAck));
    assert_eq!(first.iter().map(|a| a.0).collect::<Vec<_>>(), vec![2]);
    // N3 and N1 advertise the same version: no fetch now, they join the list.
    assert!(asked(&c.header(3, 1, Body::HelloAck)).is_empty());
    assert!(asked(&c.header(1, 1, Body::HelloAck)).is_empty());
    // N2 never answers: each tick asks one more, in the order they were heard, then no one.
    let fx = c.advance(c.now() + SECOND);
    let later: Vec<(u64, u32)> = fx
        .iter()
        .filter_map(|(at, e)| match e {
            Effect::Send(to, m) if matches!(m.body, Body::GetMetadata(_)) => Some((*at, *to)),
            _ => None,
        })
        .collect();
    assert_eq!(later.iter().map(|l| l.1).collect::<Vec<_>>(), vec![3, 1]);
    assert!(later[1].0 > later[0].0, "one peer per tick");
}

#[test]
fn cancel_on_arrival() {
    let mut c = Clocked::new(SEQ, Roles::CLIENT);
    let read = store_fetch(&c.h.started).unwrap();
    let ask = asked(&c.header(2, 1, Body::HelloAck))[0];
    // The store's v1 arrives first and is taken...
    let fx = c.store_answers(read, StoreResponse::Value(Some(logs(1, true))));
    assert_eq!(offered(&fx), vec![(1, true)]);
    // ...so the peer fetch is cancelled: its answer is not even offered.
    let fx = c.header(2, 1, peer_answer(ask.1, Some(logs(1, false))));
    assert!(offered(&fx).is_empty(), "{fx:?}");
    let fx = c.handle(vec![Event::ClientRequest((1, Op::FindTail(0)))]);
    assert!(
        !matches!(
            completions(&fx)[..],
            [(1, OpResult::Failed(ClientError::UnknownLog(0)))]
        ),
        "log 0 is known"
    );
    // And no one is asked again.
    let fx = c.advance(c.now() + SECOND);
    assert!(
        fx.iter().all(
            |(_, e)| !matches!(e, Effect::Send(_, m) if matches!(m.body, Body::GetMetadata(_)))
        )
    );
}

#[test]
fn fallback_to_the_store_after_the_peer_timeout() {
    let mut c = Clocked::with_store_value(SEQ, Roles::CLIENT, logs(1, true));
    let seen = c.now();
    // N2 advertises v2 and is asked, but never answers; no other peer has it.
    assert_eq!(asked(&c.header(2, 2, Body::HelloAck)).len(), 1);
    let fx = c.advance(seen + 5 * SECOND);
    let reads = reads(&fx);
    let waited = reads[0] - seen;
    assert!(
        (3_003 * MILLIS..=3_900 * MILLIS + 150 * MILLIS).contains(&waited),
        "store read {waited} ns after the observation"
    );
    assert_eq!(reads.len(), 1, "one store read in flight at a time");
}

#[test]
fn store_read_when_no_peer_can_serve() {
    // The provisioner N1: its first read brings v1, then its own put of the empty Logs
    // fails its precondition at v3. It knows v3 exists, and no peer to ask for it.
    let mut c = Clocked::new(1, Roles::LOG_SERVER | Roles::PROVISIONER);
    let read = store_fetch(&c.h.started).unwrap();
    let put =
        c.h.started
            .iter()
            .find_map(|e| match e {
                Effect::MetadataPut(id, _, _, Precondition::DoesNotExist) => Some(*id),
                _ => None,
            })
            .expect("the provisioner puts the empty Logs");
    c.store_answers(read, StoreResponse::Value(Some(logs(1, true))));
    let fx = c.store_answers(
        put,
        StoreResponse::Failed(StoreError::FailedPrecondition(3)),
    );
    assert!(
        store_fetch(&fx).is_some(),
        "reads the store at once: {fx:?}"
    );
    assert!(asked(&fx).is_empty());
}

#[test]
fn idle_refresh() {
    let mut c = Clocked::with_store_value(SEQ, Roles::CLIENT, logs(1, true));
    let since = c.now();
    let fx = c.advance(since + 20 * SECOND);
    let reads = reads(&fx);
    let first = reads[0] - since;
    assert!(
        (10_003 * MILLIS..=13_000 * MILLIS + 150 * MILLIS).contains(&first),
        "first refresh after {first} ns"
    );
}

#[test]
fn passive_waits() {
    let mut c = Clocked::with_store_value(SEQ, Roles::CLIENT, logs(1, true));
    // Waiting for v2 fetches nothing, and does not resolve on v1.
    let fx = c.handle(vec![Event::ClientRequest((
        7,
        Op::WaitForMetadata((MetadataKind::Logs, 2)),
    ))]);
    assert!(store_fetch(&fx).is_none() && asked(&fx).is_empty() && completions(&fx).is_empty());
    let fx = c.advance(c.now() + 5 * SECOND);
    assert!(reads(&fx).is_empty(), "a wait reads no store");
    // The update task brings v2 (a peer advertises it and answers): the wait resolves.
    let ask = asked(&c.header(3, 2, Body::HelloAck))[0];
    let fx = c.header(3, 2, peer_answer(ask.1, Some(logs(2, true))));
    assert!(matches!(
        completions(&fx)[..],
        [(7, OpResult::MetadataReady(2))]
    ));
}

#[test]
fn strictly_newer_acceptance() {
    // The client caches a peer's empty v1 first...
    let mut c = Clocked::new(SEQ, Roles::CLIENT);
    let read = store_fetch(&c.h.started).unwrap();
    let ask = asked(&c.header(1, 1, Body::HelloAck))[0];
    let fx = c.header(1, 1, peer_answer(ask.1, Some(logs(1, false))));
    assert_eq!(offered(&fx), vec![(1, true)]);
    // ...then the store's v1 with log 0 is "not newer" and dropped, whatever its content.
    let fx = c.store_answers(read, StoreResponse::Value(Some(logs(1, true))));
    assert_eq!(offered(&fx), vec![(1, false)]);
    let fx = c.handle(vec![Event::ClientRequest((2, Op::FindTail(0)))]);
    assert!(matches!(
        completions(&fx)[..],
        [(2, OpResult::Failed(ClientError::UnknownLog(0)))]
    ));
    // A strictly newer version is taken.
    let ask = asked(&c.header(2, 2, Body::HelloAck))[0];
    let fx = c.header(2, 2, peer_answer(ask.1, Some(logs(2, true))));
    assert_eq!(offered(&fx), vec![(2, true)]);
}

#[test]
fn store_read_backoff() {
    let mut c = Clocked::new(1, Roles::LOG_SERVER);
    let mut read = store_fetch(&c.h.started).unwrap();
    // Empty answers and retryable errors retry after 100 ms, then x1.5 each time.
    let answers = [
        StoreResponse::Value(None),
        StoreResponse::Failed(StoreError::Unavailable("leader election".into())),
        StoreResponse::Value(None),
    ];
    let mut delays = Vec::new();
    for answer in answers {
        let fx = c.store_answers(read, answer);
        let asked_at = c.now();
        let fx = {
            let mut all = fx.into_iter().map(|e| (asked_at, e)).collect::<Vec<_>>();
            let until = asked_at + 2 * SECOND;
            // Fire timers until the next get goes out.
            while reads(&all).is_empty() {
                let next = c.armed.first().map(|t| t.0).expect("a retry is armed");
                assert!(next <= until);
                all.extend(c.advance(next));
            }
            all
        };
        let (at, id) = fx
            .iter()
            .find_map(|(at, e)| match e {
                Effect::MetadataGet(id, _) => Some((*at, *id)),
                _ => None,
            })
            .unwrap();
        delays.push(at - asked_at);
        read = id;
    }
    assert_eq!(delays, vec![100 * MILLIS, 150 * MILLIS, 225 * MILLIS]);
    // A terminal error: the read sleeps on its own backoff, then starts over with the
    // retry backoff reset; a second terminal error sleeps half as long again.
    let terminal = |c: &mut Clocked, read: u64| {
        let fx = c.store_answers(
            read,
            StoreResponse::Failed(StoreError::Terminal("corrupt".into())),
        );
        let (_, at) = timers(&fx)[0];
        let pause = at - c.now();
        let fx = c.advance(at);
        let next = fx
            .iter()
            .find_map(|(_, e)| match e {
                Effect::MetadataGet(id, _) => Some(*id),
                _ => None,
            })
            .expect("the read starts over");
        (pause, next)
    };
    let (pause, again) = terminal(&mut c, read);
    assert_eq!(pause, 100 * MILLIS);
    assert!(c.h.env.logs.iter().any(|l| l.contains("terminally")));
    let fx = c.store_answers(
        again,
        StoreResponse::Failed(StoreError::Unavailable("x".into())),
    );
    assert_eq!(
        timers(&fx)[0].1 - c.now(),
        100 * MILLIS,
        "the retry backoff was reset"
    );
    let fx = c.advance(c.now() + 100 * MILLIS);
    let again = store_fetch(&fx.into_iter().map(|(_, e)| e).collect::<Vec<_>>()).unwrap();
    let (pause, again) = terminal(&mut c, again);
    assert_eq!(pause, 150 * MILLIS, "the terminal backoff grows");
    // One read at a time: a second of ticks while it is out starts no other.
    let fx = c.advance(c.now() + SECOND);
    assert!(reads(&fx).is_empty(), "{again}");
    assert!(
        fx.iter()
            .filter(|(_, e)| matches!(e, Effect::Timer(..)))
            .count()
            >= 6
    );
}

#[test]
fn a_store_read_with_no_answer_times_out_and_is_tried_again() {
    let mut c = Clocked::new(1, Roles::LOG_SERVER);
    let lost = store_fetch(&c.h.started).unwrap();
    // The request (or its answer) is lost: 10 s later the try is given up as retryable,
    // and 100 ms after that the read goes out again.
    let fx = c.advance(10 * SECOND + 100 * MILLIS);
    let reads = reads(&fx);
    assert_eq!(
        reads,
        vec![10 * SECOND + 100 * MILLIS],
        "{:?}",
        c.h.env.logs
    );
    // A late answer to the lost try is ignored.
    let fx = c.store_answers(lost, StoreResponse::Value(Some(logs(1, true))));
    assert!(offered(&fx).is_empty());
}

#[test]
fn a_peer_answer_counts_only_from_the_peer_asked() {
    let mut c = Clocked::new(SEQ, Roles::CLIENT);
    let ask = asked(&c.header(2, 1, Body::HelloAck))[0];
    // N3 answers N2's fetch, with a value of its own: ignored.
    let fx = c.header(3, 1, peer_answer(ask.1, Some(logs(1, false))));
    assert!(offered(&fx).is_empty());
    let fx = c.header(2, 1, peer_answer(ask.1, Some(logs(1, true))));
    assert_eq!(offered(&fx), vec![(1, true)]);
}

#[test]
fn provisioning_retries_retryable_errors_and_surfaces_terminal_ones() {
    let mut c = Clocked::new(1, Roles::LOG_SERVER | Roles::PROVISIONER);
    let put = |fx: &[Effect]| {
        fx.iter().find_map(|e| match e {
            Effect::MetadataPut(id, ..) => Some(*id),
            _ => None,
        })
    };
    let first = put(&c.h.started).unwrap();
    c.store_answers(
        first,
        StoreResponse::Failed(StoreError::Unavailable("no leader".into())),
    );
    let fx = c.advance(c.now() + 100 * MILLIS);
    let second = put(&fx.iter().map(|(_, e)| e.clone()).collect::<Vec<_>>())
        .expect("the put is retried after 100 ms");
    c.store_answers(
        second,
        StoreResponse::Failed(StoreError::Terminal("refused".into())),
    );
    let fx = c.advance(c.now() + 5 * SECOND);
    assert!(
        fx.iter()
            .all(|(_, e)| !matches!(e, Effect::MetadataPut(..))),
        "given up"
    );
    assert!(
        c.h.env
            .logs
            .iter()
            .any(|l| l.contains("provisioning failed for good")),
        "{:?}",
        c.h.env.logs
    );
}

#[test]
fn a_node_with_logs_answers_get_metadata_at_or_above_the_version_asked() {
    let mut c = Clocked::with_store_value(2, Roles::LOG_SERVER, logs(4, true));
    let ask = |c: &mut Clocked, v: u32| {
        let msg = Message {
            versions: vec![],
            body: Body::GetMetadata((9, MetadataKind::Logs, v)),
        };
        let fx = c.handle(vec![Event::Message((5, msg))]);
        sent(&fx)
            .find_map(|(_, b)| match b {
                Body::MetadataUpdate((9, value)) => Some(value.is_some()),
                _ => None,
            })
            .expect("always answered")
    };
    assert!(ask(&mut c, 4));
    assert!(ask(&mut c, 1));
    assert!(!ask(&mut c, 5), "nothing to give at v5");
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
