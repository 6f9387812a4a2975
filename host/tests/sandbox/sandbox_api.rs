//! The sandbox as a library: a cluster built and driven from Rust alone, with no scenario
//! file. Each test is a story a user would write: the seed race reproduced by hand; a
//! cluster taken through a partition at an exact instant, a held link, a crash and a
//! restart; the errors a wait can end with; rules of one's own; components per node.

use std::sync::Arc;

use logsandbox::runtime::{Component, test_guests};
use logsandbox::{
    ChainTail, ClientError, Endpoint, Envelope, Fault, LogTail, MetadataKind, NodeStatus, Op,
    OpResult, Precondition, Route, Rule, RunError, Sandbox, SimTime, Source, Verdict, ms, secs,
};

fn wait_ready(sb: &mut Sandbox, node: u32, version: u32) {
    let op = sb.invoke(node, Op::WaitForMetadata(MetadataKind::Logs, version));
    assert_eq!(
        sb.run_until_done(op).unwrap(),
        OpResult::MetadataReady(version)
    );
}

fn append(sb: &mut Sandbox, payload: &str) -> u64 {
    let op = sb.invoke(5, Op::append(0, payload));
    match sb.run_until_done(op).unwrap() {
        OpResult::Appended(offset) => offset,
        other => panic!("append {payload}: {other:?}"),
    }
}

#[test]
fn the_seed_race_reads_as_the_issue_wrote_it() {
    // Three log-servers provision empty Logs v1 and cache it; the store is slow.
    let provisioned = || {
        let mut sb = Sandbox::builder()
            .log_servers(3)
            .client(5)
            .seed(7)
            .provision_empty_logs()
            .latency(Route::MetadataStore, "200ms")
            .latency(Route::PeerMetadata, "1ms..3ms")
            .build()
            .unwrap();
        sb.run_for(ms(2000)).unwrap();
        sb
    };
    let mut sb = provisioned();
    assert_eq!(sb.now(), SimTime::from_millis(2000));
    // Every log-server cached N1's empty v1; the store holds it.
    assert_eq!(sb.metadata().version(), Some(1));
    for n in 1..=3 {
        let cached = sb.node(n).cached_logs().expect("cached the provisioned v1");
        assert_eq!((cached.version, cached.has_log(0)), (1, false));
    }
    let logs = sb.logs_with_log_0(1);
    sb.metadata().put(logs, Precondition::None).unwrap();
    sb.start(5).unwrap();
    let ready = sb.invoke(5, Op::WaitForMetadata(MetadataKind::Logs, 1));
    sb.run_until_done(ready).unwrap();
    let find = sb.invoke(5, Op::FindTail(0));
    let tail = sb.run_until_done(find).unwrap();
    assert_eq!(tail, OpResult::Failed(ClientError::UnknownLog(0)));
    let cached = sb.node(5).cached_logs().unwrap();
    assert!(matches!(cached.source, Source::Peer(1..=3)), "{cached:?}");
    assert!(!cached.has_log(0));
    // A second later the store's v1 was seen and dropped: still unknown.
    sb.run_for(secs(1)).unwrap();
    let again = sb.invoke(5, Op::FindTail(0));
    assert_eq!(
        sb.run_until_done(again).unwrap(),
        OpResult::Failed(ClientError::UnknownLog(0))
    );

    // As fixed: v1336, waited for exactly; N5 ends up with the store's value.
    let mut sb = provisioned();
    let logs = sb.logs_with_log_0(1336);
    sb.metadata().put(logs, Precondition::None).unwrap();
    sb.start(5).unwrap();
    wait_ready(&mut sb, 5, 1336);
    let find = sb.invoke(5, Op::FindTail(0));
    assert_eq!(
        sb.run_until_done(find).unwrap(),
        OpResult::Tail(ChainTail::open(1))
    );
    assert_eq!(sb.node(5).cached_logs().unwrap().source, Source::Store);
}

/// Drives a cluster through appends, a partition at an exact instant, a held link, a crash
/// and a restart; returns the sandbox and what was acknowledged.
fn eventful_run(seed: u64) -> (Sandbox, Vec<(u64, String)>) {
    let mut sb = Sandbox::builder()
        .client(5)
        .seed(seed)
        .install_logs(1)
        .keep_trace(true)
        .build()
        .unwrap();
    sb.start(5).unwrap();
    wait_ready(&mut sb, 5, 1);
    let mut acked = Vec::new();
    for i in 0..10 {
        let payload = format!("before-{i}");
        acked.push((append(&mut sb, &payload), payload));
    }

    // A partition at an exact virtual instant: N5 and N1 cannot talk from 500 ms on.
    let at = SimTime::from_millis(500);
    sb.schedule(
        at,
        Fault::Partition {
            from: Endpoint::Node(5),
            to: Endpoint::Node(1),
            both_ways: true,
            until: None,
        },
    );
    sb.run_until(at).unwrap();
    assert_eq!(sb.now(), at);
    for i in 0..5 {
        let payload = format!("partitioned-{i}");
        acked.push((append(&mut sb, &payload), payload));
    }
    assert!(sb.link_stats(5, 1).dropped > 0, "stores to N1 were lost");

    // Hold N5 -> N2 as well: with N1 cut off, only N3 can take a store, so an append waits.
    sb.hold(5, 2);
    let waiting = sb.invoke(5, Op::append(0, "held"));
    sb.run_for(ms(100)).unwrap();
    assert!(
        sb.result(waiting).is_none(),
        "no write quorum while N2 is held"
    );
    assert!(sb.held(5, 2) > 0);
    let released_at = sb.now();
    assert!(sb.release(5, 2) > 0);
    let offset = match sb.run_until_done(waiting).unwrap() {
        OpResult::Appended(o) => o,
        other => panic!("{other:?}"),
    };
    acked.push((offset, "held".into()));
    let completed = sb.op(waiting).unwrap().completed_at().unwrap();
    assert!(completed > released_at, "it completed after the release");

    // Heal, crash N3, append on N1 and N2, restart N3 from its database.
    sb.heal(5, 1);
    sb.crash(3).unwrap();
    assert!(matches!(
        sb.node(3).status(),
        NodeStatus::Crashed { planned: true, .. }
    ));
    for i in 0..5 {
        let payload = format!("n3-down-{i}");
        acked.push((append(&mut sb, &payload), payload));
    }
    sb.restart(3).unwrap();
    assert_eq!(sb.node(3).incarnation(), 2);
    for i in 0..5 {
        let payload = format!("after-{i}");
        acked.push((append(&mut sb, &payload), payload));
    }
    (sb, acked)
}

#[test]
fn a_cluster_goes_through_a_partition_a_held_link_and_a_crash_and_loses_nothing() {
    let (mut sb, acked) = eventful_run(3);
    // The partition happened at exactly 500 ms, and the trace says so.
    assert!(
        sb.trace()
            .iter()
            .any(|r| r.t == 500_000_000 && r.what.contains("N5 <-> N1 are lost")),
        "the partition is in the trace at 500ms"
    );
    // Everything acknowledged reads back, with its payload.
    let find = sb.invoke(5, Op::FindTail(0));
    let OpResult::Tail(ChainTail {
        tail: LogTail::Open(tail),
        ..
    }) = sb.run_until_done(find).unwrap()
    else {
        panic!("the log is open")
    };
    let read = sb.invoke(5, Op::Read(0, 1, tail));
    let OpResult::Records(records) = sb.run_until_done(read).unwrap() else {
        panic!("the read returns records")
    };
    for (offset, payload) in &acked {
        let record = records.iter().find(|r| r.lsn == *offset);
        assert_eq!(
            record.map(|r| r.payload.as_slice()),
            Some(payload.as_bytes()),
            "offset {offset}"
        );
    }
    // The restarted N3 reported its loglet state again, and the history checks out.
    sb.run_for(ms(50)).unwrap();
    let report = sb
        .node(3)
        .loglet(0)
        .expect("N3 answered requests on loglet 0_0");
    assert_eq!(report.incarnation, 2);
    assert!(!report.sealed);
    let checks = sb.check();
    assert!(checks.iter().all(|c| c.pass), "{checks:#?}");
    assert_eq!(sb.history().len(), 1 + acked.len() + 2);
}

#[test]
fn the_same_calls_give_the_same_trace_hash() {
    let (a, _) = eventful_run(9);
    let (b, _) = eventful_run(9);
    let (c, _) = eventful_run(10);
    assert_eq!(a.trace_hash(), b.trace_hash());
    assert_eq!(a.events(), b.events());
    assert_ne!(a.trace_hash(), c.trace_hash());
}

#[test]
fn waits_end_with_an_error_that_says_why() {
    let mut sb = Sandbox::builder()
        .client(5)
        .install_logs(1)
        .wait_limit(secs(2))
        .build()
        .unwrap();
    // N5 is not started yet: the operation arrives at a node that is down.
    let early = sb.invoke(5, Op::FindTail(0));
    assert!(matches!(
        sb.run_until_done(early),
        Err(RunError::OpLost { .. })
    ));
    let nowhere = sb.invoke(9, Op::FindTail(0));
    let err = sb.run_until_done(nowhere).unwrap_err();
    assert!(
        err.to_string().contains("N9 is not in the cluster"),
        "{err}"
    );
    assert!(matches!(sb.start(9), Err(RunError::NotInCluster(9))));
    sb.start(5).unwrap();
    assert!(matches!(sb.start(5), Err(RunError::AlreadyRunning(5))));
    wait_ready(&mut sb, 5, 1);
    // Waiting for a version nobody writes times out after the wait limit of virtual time.
    let never = sb.invoke(5, Op::WaitForMetadata(MetadataKind::Logs, 7));
    let before = sb.now();
    let err = sb.run_until_done(never).unwrap_err();
    assert!(matches!(err, RunError::Timeout { .. }), "{err}");
    assert_eq!(sb.now(), before + secs(2));
    // A predicate that never holds times out too; one that holds returns at once.
    assert!(
        sb.run_until(|sb: &Sandbox| sb.events() > u64::MAX - 1)
            .is_err()
    );
    let events = sb.events();
    sb.run_until(|sb: &Sandbox| sb.events() >= events).unwrap();
    // An op lost to a crash says so.
    let append = sb.invoke(5, Op::append(0, "x"));
    sb.crash(5).unwrap();
    let err = sb.run_until_done(append).unwrap_err();
    assert!(err.to_string().contains("N5 crashed"), "{err}");
    assert_eq!(
        sb.history().get(append).unwrap().lost.as_ref().unwrap().1,
        "N5 crashed"
    );
}

#[test]
fn the_metadata_store_takes_puts_with_preconditions_now_or_later() {
    let mut sb = Sandbox::builder().client(5).build().unwrap();
    assert_eq!(sb.metadata().get(), None);
    let v1 = sb.logs_with_log_0(1);
    let v2 = sb.logs_with_log_0(2);
    sb.metadata()
        .put(v1.clone(), Precondition::DoesNotExist)
        .unwrap();
    assert!(sb.metadata().put(v1, Precondition::DoesNotExist).is_err());
    sb.metadata().put_at(
        SimTime::from_millis(300),
        v2,
        Precondition::MatchesVersion(1),
    );
    sb.run_until(SimTime::from_millis(299)).unwrap();
    assert_eq!(sb.metadata().version(), Some(1));
    sb.run_until(SimTime::from_millis(301)).unwrap();
    assert_eq!(sb.metadata().version(), Some(2));
}

/// Drops every other Store sent to N1.
struct EveryOtherStoreToN1 {
    seen: u64,
}

impl Rule for EveryOtherStoreToN1 {
    fn judge(
        &mut self,
        e: &Envelope<'_>,
        _: SimTime,
        _: &mut logsandbox::seeds::SimRng,
    ) -> Verdict {
        let to_n1_store = matches!(e, Envelope::Message { to: 1, message, .. }
            if matches!(&message.body, logsandbox::bindings::Body::LogServerRequest((_, logsandbox::bindings::Request::Store(_)))));
        if !to_n1_store {
            return Verdict::Pass;
        }
        self.seen += 1;
        if self.seen.is_multiple_of(2) {
            Verdict::Drop
        } else {
            Verdict::Pass
        }
    }
    fn describe(&self) -> String {
        "every other store to N1 lost".into()
    }
}

#[test]
fn rules_of_ones_own_judge_every_envelope_and_latencies_change_mid_run() {
    let mut sb = Sandbox::builder()
        .client(5)
        .install_logs(1)
        .build()
        .unwrap();
    let rule = sb.add_rule(EveryOtherStoreToN1 { seen: 0 });
    assert!(sb.rules().iter().any(|r| r.contains("every other store")));
    sb.start(5).unwrap();
    wait_ready(&mut sb, 5, 1);
    for i in 0..6 {
        append(&mut sb, &format!("r{i}"));
    }
    assert!(sb.link_stats(5, 1).dropped >= 3);
    assert!(sb.remove_rule(rule));
    // A slow link from now on: appends commit on N2 and N3 without waiting for N1.
    sb.set_latency(Route::link(5, 1), "300ms").unwrap();
    let start = sb.now();
    append(&mut sb, "fast");
    assert!(sb.now().since(start) < ms(50));
    assert!(sb.set_latency(Route::Network, "fast").is_err());
}

#[test]
fn a_component_per_node_runs_beside_the_built_in_guest() {
    let trap = Arc::new(Component::load("trap-on-store", test_guests::TRAP_ON_STORE).unwrap());
    let mut sb = Sandbox::builder()
        .client(5)
        .install_logs(1)
        .component_for(2, trap)
        .build()
        .unwrap();
    assert_eq!(sb.node(2).component(), Some("trap-on-store"));
    assert_eq!(sb.node(1).component(), Some("built-in guest"));
    sb.start(5).unwrap();
    wait_ready(&mut sb, 5, 1);
    // N2 (the test guest) traps on its 50th store; the others carry the log on.
    for i in 0..80 {
        append(&mut sb, &format!("r{i}"));
    }
    assert!(matches!(
        sb.node(2).status(),
        NodeStatus::Crashed { planned: false, .. }
    ));
    assert!(sb.node(1).is_running() && sb.node(3).is_running());
    let crash = sb
        .check()
        .into_iter()
        .find(|c| c.name == "no_unplanned_crash")
        .unwrap();
    assert!(!crash.pass && crash.detail.contains("N2"), "{crash:?}");
}

#[test]
fn a_released_link_delivers_what_it_held_in_the_order_it_was_sent() {
    // Messages may overtake each other on this network; a release must not let them.
    let mut sb = Sandbox::builder()
        .client(5)
        .seed(21)
        .install_logs(1)
        .reorder(true)
        .latency(Route::Network, "exp:5ms")
        .keep_trace(true)
        .build()
        .unwrap();
    sb.start(5).unwrap();
    wait_ready(&mut sb, 5, 1);
    sb.hold(5, 1);
    let ops: Vec<_> = (0..8)
        .map(|i| sb.invoke(5, Op::append(0, format!("held-{i}"))))
        .collect();
    sb.run_for(ms(100)).unwrap();
    let held = sb.held(5, 1);
    assert!(held >= 8, "the stores to N1 wait: {held}");
    let released_at = sb.now();
    let counted = sb.link_stats(5, 1);
    assert_eq!(counted.held as usize, held);
    assert_eq!(sb.release(5, 1), held);
    // A released message was counted when sent: it is not sent twice.
    assert_eq!(sb.link_stats(5, 1), counted);
    for op in ops {
        sb.run_until_done(op).unwrap();
    }
    sb.run_for(ms(100)).unwrap();
    // What N1 received from N5 after the release, in arrival order, is in sending order.
    let offsets: Vec<u32> = sb
        .trace()
        .iter()
        .filter(|r| r.node == 1 && r.t >= released_at.0 && r.what.starts_with("<- N5: Store"))
        .filter_map(|r| {
            let range = r.what.split('[').nth(1)?;
            range.split("..").next()?.parse().ok()
        })
        .collect();
    assert!(offsets.len() >= 8, "{offsets:?}");
    assert!(
        offsets.windows(2).all(|w| w[0] < w[1]),
        "out of order: {offsets:?}"
    );
    assert_eq!(sb.held(5, 1), 0);
}

#[tokio::test]
async fn the_async_sandbox_serves_tokio_tests_with_the_same_determinism() {
    use logsandbox::AsyncSandbox;
    async fn once() -> (String, Vec<OpResult>) {
        let sb = AsyncSandbox::new(
            Sandbox::builder()
                .client(5)
                .seed(8)
                .install_logs(1)
                .build()
                .unwrap(),
        );
        sb.with(|sb| sb.start(5)).unwrap();
        sb.call(5, Op::WaitForMetadata(MetadataKind::Logs, 1))
            .await
            .unwrap();
        let wall = std::time::Instant::now();
        let (a, b, slept) = tokio::join!(
            sb.call(5, Op::append(0, "a")),
            sb.call(5, Op::append(0, "b")),
            sb.sleep(secs(30))
        );
        slept.unwrap();
        assert!(
            wall.elapsed() < std::time::Duration::from_secs(5),
            "no real sleep"
        );
        assert!(sb.now() >= SimTime::ZERO + secs(30));
        let hash = sb.with(|sb| sb.trace_hash());
        (hash, vec![a.unwrap(), b.unwrap()])
    }
    let (first, results) = once().await;
    let (second, again) = once().await;
    assert_eq!(first, second);
    assert_eq!(results, again);
    assert!(results.iter().all(|r| matches!(r, OpResult::Appended(_))));
}

/// `Runtime` and `Path` were the names of `Component` and `Route`: a program written
/// against them still builds and runs the same, with a deprecation warning.
#[test]
#[allow(deprecated)]
fn the_old_names_still_build_the_same_run() {
    use logsandbox::{Path, Route, Runtime};
    let component: Arc<Runtime> = Runtime::builtin().unwrap();
    let hash = |route_of: fn() -> Route| {
        let mut sb = Sandbox::builder()
            .client(5)
            .install_logs(1)
            .component(component.clone())
            .latency(route_of(), "7ms")
            .build()
            .unwrap();
        sb.start(5).unwrap();
        wait_ready(&mut sb, 5, 1);
        append(&mut sb, "x");
        sb.trace_hash()
    };
    assert_eq!(hash(|| Path::MetadataStore), hash(|| Route::MetadataStore));
    let (a, b) = (Path::link(5, 1), Route::link(5, 1));
    assert_eq!(a, b);
}

/// Offset 0 is no record's: a read from it reads from the oldest, as Restate's read stream
/// resets an INVALID start to OLDEST (it read nothing, and `reads_see_acknowledged` failed).
#[test]
fn a_read_from_offset_0_reads_from_the_oldest_record() {
    let mut sb = Sandbox::builder()
        .client(5)
        .install_logs(1)
        .build()
        .unwrap();
    sb.start(5).unwrap();
    wait_ready(&mut sb, 5, 1);
    let (a, b) = (append(&mut sb, "a"), append(&mut sb, "b"));
    let read = sb.invoke(5, Op::Read(0, 0, 3));
    let OpResult::Records(records) = sb.run_until_done(read).unwrap() else {
        panic!("the read failed");
    };
    let offsets: Vec<u64> = records.iter().map(|r| r.lsn).collect();
    assert_eq!(offsets, vec![a, b]);
    let failed: Vec<_> = sb.check().into_iter().filter(|c| !c.pass).collect();
    assert!(failed.is_empty(), "{failed:?}");
}
