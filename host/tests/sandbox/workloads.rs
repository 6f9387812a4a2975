//! Workloads and checks as seams: a scenario script reproduces `unknown log '0'` and its
//! fix with no Rust; a workload of one's own drives a sandbox; the random-operations
//! workload runs under a nemesis; the checks judge any history, built by hand if need be.

use crate::common;

use common::{failing_checks, run};
use logsandbox::workload::{Action, Setup};
use logsandbox::{
    ChainTail, ClientError, History, NodeId, Op, OpId, OpResult, Process, ReadRecord, Sandbox,
    SimTime, Workload, check,
};

#[test]
fn a_script_reproduces_unknown_log_0_and_its_fix_step_by_step() {
    let flaky = run("seed-race-script", None, &[]);
    assert!(flaky.passed(), "{}", flaky.render("(test)"));
    assert_eq!(flaky.workload, "script");
    let find = flaky
        .history
        .ops()
        .find(|o| o.op == Op::FindTail(0))
        .unwrap();
    assert_eq!(
        find.result(),
        Some(&OpResult::Failed(ClientError::UnknownLog(0)))
    );
    for name in ["expect:ready", "expect:find-tail", "expect:still-unknown"] {
        assert!(
            flaky.checks.iter().any(|c| c.name == name && c.pass),
            "{name}: {:?}",
            flaky.checks
        );
    }
    // With a fast store the race goes the other way, and the script says so.
    let fast = run("seed-race-script", None, &["latency.metadata_store=1ms"]);
    assert!(!fast.passed());
    assert!(
        failing_checks(&fast).contains(&"expect:find-tail"),
        "{:?}",
        fast.checks
    );

    let fixed = run("seed-race-script-fixed", None, &[]);
    assert!(fixed.passed(), "{}", fixed.render("(test)"));
    let find = fixed
        .history
        .ops()
        .find(|o| o.op == Op::FindTail(0))
        .unwrap();
    assert_eq!(find.result(), Some(&OpResult::Tail(ChainTail::open(1))));
}

#[test]
fn a_script_in_a_file_of_ones_own_runs_faults_and_latencies_too() {
    let dir = common::scratch("script");
    let file = dir.join("script.toml");
    std::fs::write(
        &file,
        r#"
name = "my-script"
[cluster]
start_clients = false

[[steps]]
start = 5

[[steps]]
invoke = "wait-for-metadata"
node = 5
version = 1

[[steps]]
name = "cut"
fault = "partition"
from = 5
to = 1
lasts = "1s"

[[steps]]
latency = "50ms"
path = "5->3"

[[steps]]
name = "first"
invoke = "append"
node = 5
payload = "hello"
expect = "appended at 1"

[[steps]]
after = "first"
delay = "10ms"
fault = "crash"
node = 2

[[steps]]
invoke = "append"
node = 5
payload = "slow"
expect = "appended"

[[steps]]
at = "3s"
invoke = "read"
node = 5
to = 3
expect = "2 records"
"#,
    )
    .unwrap();
    let report = run(file.to_str().unwrap(), Some(4), &[]);
    assert!(report.passed(), "{}", report.render("(test)"));
    let n2 = report.nodes.iter().find(|n| n.id == 2).unwrap();
    assert_eq!(n2.status, "crashed (planned)");
    // The second append needed N3 (N1 cut, N2 down): it paid the slow link to N3 at least.
    let slow = report
        .history
        .ops()
        .find(|o| o.op == Op::append(0, "slow"))
        .unwrap();
    assert!(slow.completed_at().unwrap().since(slow.invoked) >= logsandbox::ms(50));
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A script's read from offset 0 reads from the oldest record, as the library's does.
#[test]
fn a_script_read_from_offset_0_reads_every_record() {
    let dir = common::scratch("script-read-0");
    let file = dir.join("read0.toml");
    std::fs::write(
        &file,
        r#"
name = "read-from-0"
[[steps]]
invoke = "wait-for-metadata"
node = 5
version = 1

[[steps]]
invoke = "append"
node = 5
payload = "a"
expect = "appended at 1"

[[steps]]
invoke = "append"
node = 5
payload = "b"
expect = "appended at 2"

[[steps]]
invoke = "read"
node = 5
from = 0
to = 3
expect = "2 records"
"#,
    )
    .unwrap();
    let report = run(file.to_str().unwrap(), Some(1), &[]);
    assert!(report.passed(), "{}", report.render("(test)"));
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A workload of one's own: one process appends `n` records, then reads them back.
struct AppendThenRead {
    n: u32,
    sequencer: NodeId,
    done: u32,
}

impl Workload for AppendThenRead {
    fn name(&self) -> &str {
        "append-then-read"
    }

    fn on_start(&mut self, setup: &Setup) -> Vec<Action> {
        self.sequencer = setup.cluster.sequencer;
        Vec::new()
    }

    fn on_node_started(&mut self, _: SimTime, node: NodeId, _: u32) -> Vec<Action> {
        if node != self.sequencer {
            return Vec::new();
        }
        vec![Action::Invoke {
            process: Process::Worker(0),
            node,
            op: Op::WaitForMetadata(logsandbox::MetadataKind::Logs, 1),
        }]
    }

    fn on_complete(&mut self, _: SimTime, _: OpId, _: Process, result: &OpResult) -> Vec<Action> {
        let op = match result {
            OpResult::MetadataReady(_) | OpResult::Appended(_) if self.done < self.n => {
                self.done += 1;
                Op::append(0, format!("mine-{}", self.done))
            }
            OpResult::Appended(_) => Op::Read(0, 1, u64::from(self.n) + 1),
            OpResult::Records(_) => return vec![Action::Finish],
            other => return vec![Action::Fail(format!("unexpected {other:?}"))],
        };
        vec![Action::Invoke {
            process: Process::Worker(0),
            node: self.sequencer,
            op,
        }]
    }

    fn waiting_for(&self) -> String {
        format!("{} of {} appends", self.done, self.n)
    }
}

#[test]
fn a_workload_of_ones_own_drives_the_sandbox_and_is_judged_by_every_check() {
    let mut sb = Sandbox::builder()
        .client(5)
        .install_logs(1)
        .start_at(5, SimTime::ZERO)
        .workload(AppendThenRead {
            n: 25,
            sequencer: 0,
            done: 0,
        })
        .build()
        .unwrap();
    let report = sb.run().unwrap();
    assert!(report.passed(), "{}", report.render("(test)"));
    assert_eq!(report.workload, "append-then-read");
    assert_eq!(report.appends_ok, 25);
    assert!(
        report
            .checks
            .iter()
            .any(|c| c.name == "reads_see_acknowledged" && c.pass)
    );
}

fn records(offsets: &[(u64, &str)]) -> OpResult {
    OpResult::Records(
        offsets
            .iter()
            .map(|(offset, p)| ReadRecord {
                lsn: *offset,
                payload: p.as_bytes().to_vec(),
            })
            .collect(),
    )
}

#[test]
fn the_checks_judge_any_history_even_one_written_by_hand() {
    let t = SimTime::from_millis;
    let mut h = History::new();
    let a = h.invoke(t(1), Process::User, 5, Op::append(0, "a"));
    h.complete(t(2), a, OpResult::Appended(1));
    let b = h.invoke(t(1), Process::User, 5, Op::append(0, "b"));
    h.complete(t(3), b, OpResult::Appended(2));
    let tail = h.invoke(t(4), Process::User, 6, Op::FindTail(0));
    h.complete(t(5), tail, OpResult::Tail(ChainTail::open(3)));
    let read = h.invoke(t(6), Process::User, 6, Op::Read(0, 1, 3));
    h.complete(t(7), read, records(&[(1, "a"), (2, "b")]));
    let verdicts = check::check_history(&h);
    assert!(verdicts.iter().all(|c| c.pass), "{verdicts:#?}");

    // The same history where the read lost record 2, and a later tail went back.
    let mut bad = History::new();
    let a = bad.invoke(t(1), Process::User, 5, Op::append(0, "a"));
    bad.complete(t(2), a, OpResult::Appended(1));
    let b = bad.invoke(t(1), Process::User, 5, Op::append(0, "b"));
    bad.complete(t(3), b, OpResult::Appended(2));
    let tail = bad.invoke(t(4), Process::User, 6, Op::FindTail(0));
    bad.complete(t(5), tail, OpResult::Tail(ChainTail::sealed(3)));
    let read = bad.invoke(t(6), Process::User, 6, Op::Read(0, 1, 3));
    bad.complete(t(7), read, records(&[(1, "a"), (3, "stray")]));
    let late = bad.invoke(t(8), Process::User, 5, Op::FindTail(0));
    bad.complete(t(9), late, OpResult::Tail(ChainTail::open(2)));
    let late_ack = bad.invoke(t(8), Process::User, 5, Op::append(0, "c"));
    bad.complete(t(9), late_ack, OpResult::Appended(3));
    let failed: Vec<String> = check::check_history(&bad)
        .into_iter()
        .filter(|c| !c.pass)
        .map(|c| c.name)
        .collect();
    for name in [
        "tails_monotonic",
        "reads_see_acknowledged",
        "no_holes_below_tail",
        "no_ack_beyond_published_seal",
    ] {
        assert!(
            failed.iter().any(|f| f == name),
            "{name} missing from {failed:?}"
        );
    }
}

#[test]
fn a_read_that_repeats_or_changes_a_record_fails_reads_see_acknowledged() {
    let t = SimTime::from_millis;
    let verdict = |read: &[(u64, &str)]| {
        let mut h = History::new();
        let a = h.invoke(t(1), Process::User, 5, Op::append(0, "a"));
        h.complete(t(2), a, OpResult::Appended(1));
        let b = h.invoke(t(1), Process::User, 5, Op::append(0, "b"));
        h.complete(t(3), b, OpResult::Appended(2));
        let r = h.invoke(t(4), Process::User, 6, Op::Read(0, 1, 3));
        h.complete(t(5), r, records(read));
        check::check_history(&h)
            .into_iter()
            .find(|c| c.name == "reads_see_acknowledged")
            .unwrap()
    };
    assert!(verdict(&[(1, "a"), (2, "b")]).pass);
    let repeated = verdict(&[(1, "a"), (2, "b"), (2, "b")]);
    assert!(!repeated.pass && repeated.detail.contains("repeated records at [2]"));
    let changed = verdict(&[(1, "b"), (2, "b")]);
    assert!(!changed.pass && changed.detail.contains("wrong payload at [1]"));
    let short = verdict(&[(1, "a")]);
    assert!(!short.pass && short.detail.contains("missing acknowledged offsets [2]"));
}

#[test]
fn the_random_workload_runs_under_a_nemesis_and_every_check_holds() {
    use logsandbox::explore::{self, Plan};
    let sets: Vec<String> = Vec::new();
    let exploration = explore::explore(Plan {
        scenario: "random-ops",
        sets: &sets,
        seeds: (1, 40),
        jobs: 2,
        sweeps: vec![],
        components: Default::default(),
        progress: false,
    })
    .unwrap();
    assert_eq!(exploration.failures(), 0, "{}", exploration.render());
    // The nemesis did its job, and the workload its mix: look at one run closely.
    let report = run(
        "random-ops",
        Some(3),
        &["workload.ops=200", "workload.weights.seal=5"],
    );
    assert!(report.passed(), "{}", report.render("(test)"));
    assert!(report.nodes.iter().any(|n| n.crashes > 0 && n.restarts > 0));
    let mut kinds: Vec<&str> = report.history.ops().map(|o| o.f()).collect();
    kinds.sort();
    kinds.dedup();
    for f in ["append", "read", "find-tail", "trim", "seal"] {
        assert!(kinds.contains(&f), "no {f} in {kinds:?}");
    }
    // Different seeds explore different runs; the same seed replays the same one.
    let sets = ["workload.ops=200", "workload.weights.seal=5"];
    let again = run("random-ops", Some(3), &sets);
    let other = run("random-ops", Some(4), &sets);
    assert_eq!(report.trace_hash, again.trace_hash);
    assert_ne!(report.trace_hash, other.trace_hash);
    // On a network that reorders messages, too.
    let reordered = run(
        "random-ops",
        Some(5),
        &["latency.reorder=true", "latency.network=\"exp:3ms\""],
    );
    assert!(reordered.passed(), "{}", reordered.render("(test)"));
}

#[test]
fn a_workload_that_cannot_run_fails_the_run_with_a_reason_and_nothing_panics() {
    use logsandbox::workload::{RandomOps, RandomOpsConfig};
    // No client node: random operations have nowhere to run.
    let mut sb = Sandbox::builder()
        .install_logs(1)
        .time_limit(logsandbox::secs(1))
        .workload(RandomOps::new(RandomOpsConfig::default()))
        .build()
        .unwrap();
    let report = sb.run().unwrap();
    assert!(!report.passed());
    assert_eq!(
        report.error.as_deref(),
        Some("random operations need a client node (none in the cluster)")
    );
}
