//! Chains at the log level, end to end: seal-and-extend moves the chain and appends go
//! on in the new segment at the LSNs after the sealed tail; a read crosses segments; the
//! two steps are not atomic, so a crash between them leaves the loglet sealed and the
//! chain open; the inspector, the checks and the databases see every segment.

use logsandbox::{
    ChainTail, ClientError, Extended, LogTail, MetadataKind, Op, OpResult, Sandbox, SealAndExtend,
    scenario,
};

fn seal_and_extend(sequencer: Option<u32>) -> Op {
    Op::SealAndExtend(SealAndExtend {
        log: 0,
        min_version: None,
        segment_index: None,
        sequencer,
        nodeset: None,
        replication: None,
    })
}

fn cluster() -> Sandbox {
    let mut sb = Sandbox::builder()
        .client(5)
        .client(6)
        .seed(3)
        .install_logs(1)
        .keep_trace(true)
        .build()
        .unwrap();
    sb.start(5).unwrap();
    sb.start(6).unwrap();
    for node in [5, 6] {
        let op = sb.invoke(node, Op::WaitForMetadata(MetadataKind::Logs, 1));
        sb.run_until_done(op).unwrap();
    }
    sb
}

fn append(sb: &mut Sandbox, payload: &str) -> OpResult {
    let op = sb.invoke(5, Op::append(0, payload));
    sb.run_until_done(op).unwrap()
}

#[test]
fn seal_and_extend_moves_the_chain_and_appends_go_on_in_the_new_segment() {
    let mut sb = cluster();
    for p in ["a", "b", "c"] {
        assert!(matches!(append(&mut sb, p), OpResult::Appended(_)));
    }
    // N6 seals and extends, keeping N5 as the sequencer of the new segment.
    let op = sb.invoke(6, seal_and_extend(Some(5)));
    assert_eq!(
        sb.run_until_done(op).unwrap(),
        OpResult::Extended(Extended {
            segment_index: 1,
            base_lsn: 4,
            version: 2
        })
    );
    // N5 learns v2 through the metadata plane (nobody tells it at once: the version
    // travels in message headers and the periodic refresh).
    let ready = sb.invoke(5, Op::WaitForMetadata(MetadataKind::Logs, 2));
    assert_eq!(
        sb.run_until_done(ready).unwrap(),
        OpResult::MetadataReady(2)
    );
    let chain = sb.node(5).chain(0).expect("N5 caches log 0").clone();
    assert_eq!(
        chain
            .segments
            .iter()
            .map(|s| (s.base_lsn, s.index))
            .collect::<Vec<_>>(),
        vec![(1, 0), (4, 1)],
        "N5 learnt the extended chain"
    );
    // The old segment is sealed: the chain answers for it; the new one takes appends.
    assert_eq!(append(&mut sb, "d"), OpResult::Appended(4));
    assert_eq!(append(&mut sb, "e"), OpResult::Appended(5));
    let find = sb.invoke(6, Op::FindTail(0));
    assert_eq!(
        sb.run_until_done(find).unwrap(),
        OpResult::Tail(ChainTail {
            segment_index: 1,
            tail: LogTail::Open(6)
        })
    );
    let read = sb.invoke(6, Op::Read(0, 0, 6));
    let OpResult::Records(records) = sb.run_until_done(read).unwrap() else {
        panic!("the read returns records")
    };
    assert_eq!(
        records
            .iter()
            .map(|r| (r.lsn, String::from_utf8_lossy(&r.payload).into_owned()))
            .collect::<Vec<_>>(),
        ["a", "b", "c", "d", "e"]
            .iter()
            .enumerate()
            .map(|(i, p)| (i as u64 + 1, p.to_string()))
            .collect::<Vec<_>>(),
        "one read, across both segments"
    );
    // The databases hold each segment's records in its own loglet, at its own offsets.
    let stored = sb.stored_logs().remove(&0).unwrap();
    assert_eq!(stored.segments.len(), 2);
    assert_eq!(stored.segments[1].base, 4);
    assert_eq!(
        stored.segments[1]
            .copies
            .keys()
            .copied()
            .collect::<Vec<_>>(),
        vec![1, 2]
    );
    assert_eq!(
        stored.copies_of(5).len(),
        3,
        "LSN 5 is 0_1's offset 2, on every node"
    );
    let failing: Vec<_> = sb.check().into_iter().filter(|c| !c.pass).collect();
    assert!(failing.is_empty(), "{failing:#?}");
    // The trace tells the two steps.
    let lines: Vec<String> = sb.trace().iter().map(|r| r.what.clone()).collect();
    let sealed = lines
        .iter()
        .position(|l| l.starts_with("reached loglet-sealed"));
    let put = lines
        .iter()
        .position(|l| l.starts_with("reached chain-put"));
    assert!(sealed.is_some() && sealed < put, "{lines:#?}");
}

/// A trim past a whole segment drops it from the chain afterwards, as Restate's watchdog
/// does: the log's trim point found segment by segment from the log-servers, then a
/// compare-and-set `trim_prefix`. Reads then start at the first segment left.
#[test]
fn a_trim_past_a_segment_drops_it_from_the_chain() {
    let mut sb = cluster();
    for p in ["a", "b", "c"] {
        assert!(matches!(append(&mut sb, p), OpResult::Appended(_)));
    }
    let op = sb.invoke(6, seal_and_extend(Some(5)));
    assert!(matches!(
        sb.run_until_done(op).unwrap(),
        OpResult::Extended(_)
    ));
    let ready = sb.invoke(5, Op::WaitForMetadata(MetadataKind::Logs, 2));
    sb.run_until_done(ready).unwrap();
    assert_eq!(append(&mut sb, "d"), OpResult::Appended(4));
    assert_eq!(append(&mut sb, "e"), OpResult::Appended(5));
    // N5 sequences both loglets, so it knows their tails: the trim is not clamped away.
    let trim = sb.invoke(5, Op::Trim(0, 4));
    assert_eq!(sb.run_until_done(trim).unwrap(), OpResult::Trimmed(4));
    // The chain trim runs in the background and puts v3.
    let trimmed = sb.invoke(5, Op::WaitForMetadata(MetadataKind::Logs, 3));
    assert_eq!(
        sb.run_until_done(trimmed).unwrap(),
        OpResult::MetadataReady(3)
    );
    let segments = |sb: &Sandbox, node| -> Vec<(u64, u32)> {
        let chain = sb.node(node).chain(0).expect("log 0 is cached").clone();
        chain
            .segments
            .iter()
            .map(|s| (s.base_lsn, s.index))
            .collect()
    };
    assert_eq!(segments(&sb, 5), vec![(4, 1)], "segment 0 is gone");
    let stored = sb.stored_logs().remove(&0).unwrap();
    assert_eq!(stored.segments.len(), 1);
    assert_eq!(stored.segments[0].base, 4);
    // A read from the start goes on at the first segment left, past the trim point.
    let ready = sb.invoke(6, Op::WaitForMetadata(MetadataKind::Logs, 3));
    sb.run_until_done(ready).unwrap();
    let read = sb.invoke(6, Op::Read(0, 0, 6));
    let OpResult::Records(records) = sb.run_until_done(read).unwrap() else {
        panic!("the read returns records")
    };
    assert_eq!(
        records
            .iter()
            .map(|r| (r.lsn, String::from_utf8_lossy(&r.payload).into_owned()))
            .collect::<Vec<_>>(),
        vec![(5, "e".to_string())]
    );
    let failing: Vec<_> = sb.check().into_iter().filter(|c| !c.pass).collect();
    assert!(failing.is_empty(), "{failing:#?}");
    let lines: Vec<String> = sb.trace().iter().map(|r| r.what.clone()).collect();
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("reached chain-put") && l.contains("segments 0 dropped")),
        "{lines:#?}"
    );
}

#[test]
fn a_second_extender_of_the_same_segment_gets_a_segment_mismatch() {
    let mut sb = cluster();
    assert!(matches!(append(&mut sb, "a"), OpResult::Appended(1)));
    let first = sb.invoke(6, seal_and_extend(Some(5)));
    assert!(matches!(
        sb.run_until_done(first).unwrap(),
        OpResult::Extended(Extended {
            segment_index: 1,
            ..
        })
    ));
    // N6 names the segment it means to seal: segment 0, no longer the tail.
    let mut stale = SealAndExtend {
        log: 0,
        min_version: None,
        segment_index: Some(0),
        sequencer: Some(5),
        nodeset: None,
        replication: None,
    };
    let op = sb.invoke(6, Op::SealAndExtend(stale.clone()));
    assert_eq!(
        sb.run_until_done(op).unwrap(),
        OpResult::Failed(ClientError::SegmentMismatch(1))
    );
    stale.segment_index = Some(1);
    let op = sb.invoke(6, Op::SealAndExtend(stale));
    assert!(matches!(
        sb.run_until_done(op).unwrap(),
        OpResult::Extended(Extended {
            segment_index: 2,
            base_lsn: 2,
            version: 3
        })
    ));
}

#[test]
fn a_crash_between_the_two_steps_leaves_the_loglet_sealed_and_the_chain_open() {
    let text = r#"
name = "partial-seal"
faults = [
    { on = "loglet-sealed", on_node = 6, at = "0", action = "crash", node = 6 },
]
# The loglet's own find-tail: Bifrost's would seal the chain (R8) and close the story.
[guest]
bifrost.find_tail = "loglet"
[cluster]
log_servers = 3
sequencer = 5
remote_client = 6

[[steps]]
invoke = "wait-for-metadata"
node = 5
version = 1
[[steps]]
invoke = "wait-for-metadata"
node = 6
version = 1
[[steps]]
invoke = "append"
node = 5
payload = "a"
[[steps]]
invoke = "seal-and-extend"
node = 6
sequencer = 5
[[steps]]
at = "2s"
invoke = "find-tail"
node = 5
expect = "tail Sealed(2)"
[[steps]]
invoke = "append"
node = 5
payload = "b"
expect = "failed: sealed"
"#;
    let scenario = scenario::parse("partial-seal", text, &[]).unwrap();
    let mut sb = Sandbox::from_scenario(&scenario)
        .keep_trace(true)
        .build()
        .unwrap();
    let report = sb.run().unwrap();
    let failing: Vec<_> = report
        .checks
        .iter()
        .filter(|c| !c.pass && c.name.starts_with("expect:"))
        .collect();
    assert!(failing.is_empty(), "{failing:#?}");
    assert!(
        sb.node(6).crashes() == 1,
        "N6 crashed at the race point, as planned"
    );
    let chain = sb.node(5).chain(0).unwrap();
    assert_eq!(
        chain.segments.len(),
        1,
        "the chain was never extended: a partial seal"
    );
    assert_eq!(sb.metadata().version(), Some(1));
}

#[test]
fn a_scenario_installs_a_chain_of_segments_and_appends_go_to_its_tail() {
    // Segment 0 ends at 11 with nothing in it (a scenario may install any chain the rules
    // allow): the history has no record below 11, so the read starts at the new segment.
    let text = r#"
name = "installed-chain"
[cluster]
log_servers = 3
sequencer = 5

[[metadata.segments]]
base_lsn = 1

[[metadata.segments]]
base_lsn = 11
nodeset = [1, 2]
replication = 2

[[steps]]
invoke = "wait-for-metadata"
node = 5
version = 1
[[steps]]
invoke = "append"
node = 5
payload = "x"
expect = "appended at 11"
[[steps]]
invoke = "find-tail"
node = 5
expect = "tail Open(12) of segment 1"
[[steps]]
invoke = "read"
node = 5
from = 11
to = 12
expect = "1 records"
"#;
    let scenario = scenario::parse("installed-chain", text, &[]).unwrap();
    let mut sb = Sandbox::from_scenario(&scenario).build().unwrap();
    let report = sb.run().unwrap();
    let failing: Vec<_> = report.checks.iter().filter(|c| !c.pass).collect();
    assert!(failing.is_empty(), "{failing:#?}");
    let stored = sb.stored_logs().remove(&0).unwrap();
    assert_eq!(
        stored
            .segments
            .iter()
            .map(|s| (s.base, s.end, s.loglet, s.nodeset.clone()))
            .collect::<Vec<_>>(),
        vec![(1, Some(11), 0, vec![1, 2, 3]), (11, None, 1, vec![1, 2])],
        "segment 1's loglet 0_1 lives on its own nodeset"
    );
    assert_eq!(stored.copies_of(11).len(), 2);
    assert_eq!(
        logsandbox::describe_value(&sb.metadata().get().unwrap().clone()),
        "log 0 -> [1..11: 0_0 on [1, 2, 3], 11..: 0_1 on [1, 2]]"
    );
}

/// The checks of the built-in scenario `name` at `seed`, with `--set` overrides.
fn checks_of(name: &str, seed: u64, sets: &[String]) -> Vec<logsandbox::CheckResult> {
    let scenario = scenario::load(name, sets).unwrap();
    let mut sb = Sandbox::from_scenario(&scenario)
        .seed(seed)
        .build()
        .unwrap();
    sb.run().unwrap().checks
}

/// Restate #2885 on demand: with `wait` appenders the partial seal hangs the append on
/// every seed (the scenario passes when it does, `expect.failing`); with `allowed` ones the
/// appender extends the chain itself and lands.
#[test]
fn the_2885_pair_fires_with_wait_appenders_and_passes_with_allowed_ones() {
    let run = checks_of;
    let failing = |checks: &[logsandbox::CheckResult]| {
        checks
            .iter()
            .filter(|c| !c.pass)
            .map(|c| c.name.clone())
            .collect::<Vec<_>>()
    };
    let raw = ["expect.failing=\"\"".to_string()];
    for seed in 1..=20 {
        let bug = run("seal-extend-2885", seed, &[]);
        assert!(failing(&bug).is_empty(), "seed {seed}: {bug:#?}");
        let hang = bug
            .iter()
            .find(|c| c.name == "expect:append-after-partial-seal")
            .unwrap();
        assert!(
            hang.detail.starts_with("failed, as the scenario expects"),
            "{hang:?}"
        );
        assert_eq!(
            failing(&run("seal-extend-2885", seed, &raw)),
            vec!["expect:append-after-partial-seal".to_string()],
            "seed {seed}: without the expectation, only the hanging append fails"
        );
        assert!(
            failing(&run("seal-extend-2885-fixed", seed, &[])).is_empty(),
            "seed {seed}"
        );
    }
}

/// `liveness_after_heal` names the operation that hangs once the last fault healed: the
/// partial seal of #2885, then the crashed sealer restarts at 2 s (the last fault), and
/// the `wait` append still waits at the end, past a bound of 5 s. Without the restart the
/// sealer stays down, a fault in force: nothing is judged.
#[test]
fn liveness_after_heal_names_the_append_that_still_hangs_once_the_sealer_is_back() {
    let text = scenario::BUILTIN
        .iter()
        .find(|(name, _)| *name == "seal-extend-2885")
        .unwrap()
        .1
        .replace(
            "[[steps]]\nat = \"10s\"\nstop = true",
            "[[steps]]\nat = \"2s\"\nfault = \"restart\"\nnode = 6\n\n[[steps]]\nat = \"10s\"\nstop = true",
        );
    let liveness = |text: &str| {
        let sets = ["run.liveness_bound=\"5s\"".to_string()];
        let scenario = scenario::parse("hang", text, &sets).unwrap();
        let mut sb = Sandbox::from_scenario(&scenario).build().unwrap();
        let report = sb.run().unwrap();
        report
            .checks
            .into_iter()
            .find(|c| c.name == "liveness_after_heal")
            .unwrap()
    };
    let healed = liveness(&text);
    assert!(!healed.pass, "{healed:?}");
    assert!(
        healed.detail.contains("append to log 0 (wait): b, step-5 on N5) still waits at the end, 8s after the last heal at 2s"),
        "{}",
        healed.detail
    );
    let down = liveness(
        scenario::BUILTIN
            .iter()
            .find(|(name, _)| *name == "seal-extend-2885")
            .unwrap()
            .1,
    );
    assert!(down.pass && down.detail.contains("not judged"), "{down:?}");
}

/// Restate #4940 on demand: with Restate's lazy seal discovery the append stalls until
/// the sequencer's tail check, 15 to 22.5 s after it started; with `on-sealed-reply` it
/// lands within 5 s.
#[test]
fn the_4940_pair_stalls_until_the_tail_check_and_the_fix_lands_at_once() {
    let run = |name: &str, seed: u64, sets: &[String]| {
        let checks = checks_of(name, seed, sets);
        let expect = checks
            .iter()
            .find(|c| c.name == "expect:append-after-seal")
            .unwrap()
            .clone();
        (checks, expect)
    };
    let raw = ["expect.failing=\"\"".to_string()];
    for seed in 1..=10 {
        let (checks, stalled) = run("seal-4940", seed, &raw);
        assert!(
            !stalled.pass && stalled.detail.contains("later than the 5s it may take"),
            "seed {seed}: {stalled:?}"
        );
        assert_eq!(
            checks.iter().filter(|c| !c.pass).count(),
            1,
            "seed {seed}: only the stalled append fails: {checks:#?}"
        );
        let (checks, landed) = run("seal-4940-fixed", seed, &[]);
        assert!(landed.pass, "seed {seed}: {landed:?}");
        assert!(checks.iter().all(|c| c.pass), "seed {seed}: {checks:#?}");
    }
}

/// `workload.append_strategy`: random-ops's appends recover (Restate's appender) and hold
/// on a sealed segment for the next; `preferred` ones extend the chain themselves at once,
/// and every check holds.
#[test]
fn random_ops_with_recovering_appends_passes_and_its_appends_recover() {
    let sets = ["workload.append_strategy=preferred".to_string()];
    for seed in 1..=3 {
        let scenario = scenario::load("random-ops", &sets).unwrap();
        let mut sb = Sandbox::from_scenario(&scenario)
            .seed(seed)
            .build()
            .unwrap();
        let report = sb.run().unwrap();
        assert!(report.passed(), "seed {seed}: {}", report.render("(test)"));
        let recovering = report
            .history
            .ops()
            .filter(|o| matches!(o.op, Op::AppendRecovering(..)))
            .count();
        assert!(recovering > 100, "seed {seed}: {recovering}");
        assert!(
            report.race_points.contains_key("holding-for-segment"),
            "seed {seed}: an append held: {:?}",
            report.race_points
        );
    }
}
