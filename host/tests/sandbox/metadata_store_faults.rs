//! The metadata store as Restate runs it: a service with a leader, which can be
//! unavailable (requests fail retryable, or hang), pause for a leader election, refuse
//! requests terminally, and take its time per operation. The nodes retry what is
//! retryable; the harness retries its put (500 ms apart, 20 tries) unless told not to,
//! and sees the store's errors through its proxy, which Restate's #4523 got wrong.

use crate::common;

use std::time::Duration;

use common::run;
use logsandbox::{
    HarnessPuts, MetadataKind, Op, OpResult, Outage, Precondition, Proxy, Route, Sandbox, SimTime,
    Source, ms,
};

/// Three log-servers and the client N5, the Logs at v1 installed before anything starts.
fn cluster() -> logsandbox::SandboxBuilder {
    Sandbox::builder()
        .log_servers(3)
        .client(5)
        .install_logs(1)
        .latency(Route::MetadataStore, "2ms")
        .keep_trace(true)
}

/// The harness writes the Logs (log 0) at `version` now, retried as it is told.
fn harness_puts_now(sb: &mut Sandbox, version: u32, precondition: Precondition) {
    let logs = sb.logs_with_log_0(version);
    let now = sb.now();
    sb.metadata().put_at(now, logs, precondition);
}

fn trace_has(sb: &Sandbox, needle: &str) -> Vec<(u64, u32)> {
    sb.trace()
        .iter()
        .filter(|r| r.what.contains(needle))
        .map(|r| (r.t, r.node))
        .collect()
}

#[test]
fn an_unavailable_store_fails_reads_retryable_and_the_nodes_retry_until_it_recovers() {
    let mut sb = cluster().build().unwrap();
    sb.store_outage(Outage::Unavailable, Some(Duration::from_millis(300)));
    sb.run_for(ms(1000)).unwrap();
    let failed = trace_has(
        &sb,
        "failed: unavailable (retryable): the metadata store has no leader",
    );
    // Every log-server's first read failed, then was tried again (100 ms, 150 ms, ...).
    for node in 1..=3 {
        let tries = failed.iter().filter(|(_, n)| *n == node).count();
        assert!(tries >= 2, "N{node} tried {tries} times: {failed:?}");
        let cached = sb
            .node(node)
            .cached_logs()
            .expect("cached once the store is back");
        assert_eq!(cached.source, Source::Store);
        assert!(cached.at >= SimTime(300_000_000), "{:?}", cached.at);
    }
}

#[test]
fn a_hung_store_answers_in_arrival_order_once_it_recovers() {
    let mut sb = cluster().build().unwrap();
    sb.store_outage(Outage::Hang, None);
    sb.run_for(ms(500)).unwrap();
    assert!(
        sb.node(1).cached_logs().is_none(),
        "no answer while it hangs"
    );
    assert!(sb.metadata().waiting() >= 3, "the first reads wait");
    assert!(trace_has(&sb, "failed").is_empty());
    sb.store_recover();
    sb.run_for(ms(20)).unwrap();
    for node in 1..=3 {
        let cached = sb.node(node).cached_logs().expect("served on recovery");
        assert!(cached.at >= SimTime(500_000_000));
    }
    assert_eq!(sb.metadata().waiting(), 0);
    // Served in the order they came: the request ids, as they waited and as served.
    let id = |r: &&logsandbox::TraceRecord| {
        let id = r
            .what
            .split("(#")
            .nth(1)
            .unwrap()
            .split(')')
            .next()
            .unwrap();
        format!("N{} #{id}", r.node)
    };
    let gets = sb
        .trace()
        .iter()
        .filter(|r| r.what.starts_with("metadata store: get"));
    let (waited, served): (Vec<_>, Vec<_>) = gets.partition(|r| r.what.contains("waits"));
    let waited: Vec<String> = waited.iter().map(id).collect();
    let served: Vec<String> = served.iter().map(id).collect();
    assert!(waited.len() >= 3, "{waited:?}");
    assert_eq!(
        served[..waited.len()],
        waited[..],
        "served in arrival order"
    );
}

#[test]
fn a_new_leader_term_fails_the_requests_that_waited_on_the_old_one() {
    let mut sb = cluster().build().unwrap();
    sb.store_outage(Outage::Hang, None);
    sb.run_for(ms(50)).unwrap();
    assert!(sb.metadata().waiting() >= 3);
    sb.store_outage(Outage::Unavailable, Some(Duration::from_millis(200)));
    assert_eq!(sb.metadata().waiting(), 0);
    sb.run_for(ms(600)).unwrap();
    assert!(trace_has(&sb, "lost: the leader changed while it waited").len() >= 3);
    // The nodes took the failures as retryable, and read again once a leader served.
    for node in 1..=3 {
        assert!(sb.node(node).cached_logs().is_some(), "N{node}");
    }
}

#[test]
fn logs_that_cannot_be_installed_at_the_start_fail_the_build() {
    let error = cluster()
        .install_precondition(Precondition::MatchesVersion(5))
        .build()
        .err()
        .expect("a failed precondition at time 0 is refused");
    let text = error.to_string();
    assert!(
        text.contains("matches-version:5") && text.contains("failed precondition"),
        "{text}"
    );
}

#[test]
fn an_election_loses_the_request_in_service_and_pauses_the_rest() {
    // Writes take 50 ms to serve: the harness's put is in service when the election starts.
    let mut sb = cluster()
        .store_service_time("0", "50ms")
        .harness_puts(HarnessPuts {
            tries: 20,
            interval: 500_000_000,
        })
        .build()
        .unwrap();
    sb.run_for(ms(100)).unwrap();
    harness_puts_now(&mut sb, 2, Precondition::MatchesVersion(1));
    sb.run_for(ms(10)).unwrap();
    sb.store_outage(Outage::Election, Some(Duration::from_millis(300)));
    // A put made during the election waits for the new leader.
    harness_puts_now(&mut sb, 3, Precondition::None);
    sb.run_for(ms(100)).unwrap();
    assert_eq!(sb.metadata().waiting(), 1, "the second put waits");
    assert_eq!(sb.metadata().version(), Some(1));
    sb.run_for(ms(900)).unwrap();
    assert_eq!(
        trace_has(&sb, "waits: the store is in a leader election").len(),
        1
    );
    assert_eq!(
        trace_has(&sb, "lost: the leader changed while serving it").len(),
        1,
        "the put in service is lost with its leader"
    );
    // The second put was served once the election ended (v3). The first was tried again
    // 500 ms after it was lost, and its precondition (v1) no longer held: a retried put
    // meets what landed meanwhile.
    assert_eq!(sb.metadata().version(), Some(3));
    assert_eq!(
        sb.metadata().failed_puts(),
        [
            "the harness's put of the Logs failed after 2 tries: failed precondition (stored version 3)"
        ]
    );
    assert!(!trace_has(&sb, "try 1 of 20").is_empty());
}

#[test]
fn a_terminal_store_makes_the_nodes_start_their_read_over_after_a_pause() {
    let mut sb = cluster().build().unwrap();
    sb.store_outage(Outage::Terminal, Some(Duration::from_millis(400)));
    sb.run_for(ms(1500)).unwrap();
    assert!(!trace_has(&sb, "failed: terminal: the metadata store refuses requests").is_empty());
    assert!(
        !trace_has(&sb, "failed terminally").is_empty(),
        "the node says so"
    );
    // N1 paused between its tries: 100 ms, then 150 ms (plus 2 ms each way).
    let tries: Vec<u64> = trace_has(&sb, "failed: terminal")
        .iter()
        .filter(|(_, n)| *n == 1)
        .map(|(t, _)| *t)
        .collect();
    let gaps: Vec<u64> = tries
        .windows(2)
        .map(|w| (w[1] - w[0]) / 1_000_000)
        .collect();
    assert_eq!(gaps[..2], [104, 154], "{tries:?}");
    for node in 1..=3 {
        assert!(
            sb.node(node).cached_logs().is_some(),
            "N{node} read again and got it"
        );
    }
}

#[test]
fn reads_and_writes_take_their_own_service_time() {
    let mut sb = cluster()
        .latency(Route::MetadataStore, "1ms")
        .store_service_time("40ms", "0")
        .build()
        .unwrap();
    sb.run_for(ms(200)).unwrap();
    // Start at 0, 1 ms to the store, 40 ms to serve, 1 ms back.
    for node in 1..=3 {
        assert_eq!(sb.node(node).cached_logs().unwrap().at, SimTime(42_000_000));
    }
}

#[test]
fn the_harness_retries_a_put_that_fails_retryable_every_500ms() {
    let mut sb = cluster().build().unwrap();
    sb.run_for(ms(100)).unwrap();
    sb.store_outage(Outage::Unavailable, Some(Duration::from_millis(1200)));
    harness_puts_now(&mut sb, 7, Precondition::None);
    sb.run_for(ms(2000)).unwrap();
    let retries = trace_has(&sb, "harness: put of the Logs failed retryable");
    let times: Vec<u64> = retries.iter().map(|(t, _)| t / 1_000_000).collect();
    assert_eq!(
        times,
        vec![100, 600, 1100],
        "tries at 100, 600, 1100 ms failed"
    );
    assert_eq!(
        sb.metadata().version(),
        Some(7),
        "the fourth try, at 1600 ms, took"
    );
}

#[test]
fn a_harness_told_not_to_retry_fails_the_run_on_the_first_retryable_error() {
    let report = run("store-4523-fixed", Some(1), &["metadata.put_tries=1"]);
    assert_eq!(
        report.error.as_deref(),
        Some(
            "the harness's put of the Logs failed after 1 try: unavailable (retryable): the metadata store has no leader"
        )
    );
}

#[test]
fn issue_4523_reproduces_with_the_proxy_of_the_time_and_passes_with_the_fix() {
    for seed in 1..=10 {
        let bug = run("store-4523", Some(seed), &[]);
        assert!(bug.passed(), "seed {seed}: {:?}", bug.error);
        assert!(bug.error.as_deref().unwrap().contains("terminal: internal"));
        let fixed = run("store-4523-fixed", Some(seed), &[]);
        assert!(fixed.passed(), "seed {seed}: {:?}", fixed.error);
        // The same bug through the fixed scenario: only the proxy differs.
        let again = run(
            "store-4523-fixed",
            Some(seed),
            &["metadata.proxy=retryable-as-terminal"],
        );
        assert!(!again.passed());
    }
}

#[test]
fn the_sync_harness_put_sees_the_outage_through_its_proxy() {
    let mut sb = cluster().proxy(Proxy::RetryableAsTerminal).build().unwrap();
    sb.store_outage(Outage::Election, None);
    let logs = sb.logs_with_log_0(2);
    let error = sb.metadata().put(logs, Precondition::None).unwrap_err();
    assert!(
        matches!(&error, logsandbox::StoreError::Terminal(why) if why.starts_with("internal:")),
        "{error:?}"
    );
    assert_eq!(sb.metadata().outage().map(|o| o.0), Some(Outage::Election));
}

#[test]
fn a_wait_resolves_only_when_the_update_task_brings_the_version() {
    // Passive waits end to end: v2 is only in the store, and no peer holds it.
    let mut sb = cluster().build().unwrap();
    sb.start(5).unwrap();
    sb.run_for(ms(100)).unwrap();
    let logs = sb.logs_with_log_0(2);
    sb.metadata()
        .put(logs, Precondition::MatchesVersion(1))
        .unwrap();
    let wait = sb.invoke(5, Op::WaitForMetadata(MetadataKind::Logs, 2));
    sb.run_for(ms(5000)).unwrap();
    assert!(sb.result(wait).is_none(), "nothing fetches for a wait");
    let result = sb.run_until_done(wait).unwrap();
    assert_eq!(result, OpResult::MetadataReady(2));
    let at = sb.op(wait).unwrap().completed_at().unwrap();
    assert!(
        (SimTime(10_000_000_000)..=SimTime(13_200_000_000)).contains(&at),
        "the idle refresh, 10 s + up to 30% after the last update: {at:?}"
    );
}
