//! Guests that attack the host. Each kind (guest/src/test_guests/hostile.rs) runs on one
//! node of `append-seal-basic` and misbehaves from 5 ms of virtual time on. The host must
//! take that node down alone and name it, with the limit and the key that raises it (or
//! stop the run and name it, or shrug off a harmless oddity); it never panics, hangs or
//! grows without bound, and every other node keeps running.

use std::sync::Arc;

use logsandbox::runtime::{Component, test_guests};
use logsandbox::show::report::RunReport;
use logsandbox::{Sandbox, scenario};

/// How the host must answer one kind of attack.
enum Expect {
    /// The hostile node crashed, unplanned, with a reason containing this text.
    Crashed(&'static str),
    /// The run stopped with an error containing these texts.
    Stopped(&'static [&'static str]),
    /// Nothing to take down: the run goes on and passes.
    Passes,
    /// The node lies: the run fails its checks, and nothing crashes.
    Fails,
}

/// The hostile test guest, compiled once for every test of this file.
fn hostile() -> Arc<Component> {
    static HOSTILE: std::sync::OnceLock<Arc<Component>> = std::sync::OnceLock::new();
    HOSTILE
        .get_or_init(|| Arc::new(Component::load("hostile", test_guests::HOSTILE).unwrap()))
        .clone()
}

fn attack(kind: &str, node: u32, extra: &[&str]) -> RunReport {
    let hostile = hostile();
    let mut sets: Vec<String> = vec![
        format!("guest.hostile.kind={kind}"),
        format!("guest.hostile.node={node}"),
        "workload.appenders=3".into(),
        "workload.warmup_appends=20".into(),
    ];
    sets.extend(extra.iter().map(|s| s.to_string()));
    let scenario = scenario::load("append-seal-basic", &sets).unwrap();
    let mut sandbox = Sandbox::from_scenario(&scenario)
        .component(hostile)
        .build()
        .unwrap();
    sandbox.run().unwrap()
}

/// The verdict that names the nodes that crashed unplanned.
fn crash_verdict(report: &RunReport) -> &logsandbox::CheckResult {
    report
        .checks
        .iter()
        .find(|c| c.name == "no_unplanned_crash")
        .expect("every run is judged for crashes")
}

#[test]
fn a_hostile_node_goes_down_alone_and_is_named() {
    use Expect::*;
    let cases: &[(&str, u32, &[&str], Expect)] = &[
        ("trap", 2, &[], Crashed("a panic on purpose")),
        (
            "print-panic",
            2,
            &[],
            Crashed("it printed: hostile N2 gives up"),
        ),
        (
            "spin",
            2,
            &["run.fuel_per_call=20000000"],
            Crashed("fuel per call"),
        ),
        ("memory", 2, &["run.memory_mb=32"], Crashed("run.memory_mb")),
        ("flood", 2, &[], Crashed("run.max_effects_per_call")),
        (
            "flood-spread",
            2,
            &[],
            Stopped(&["no progress", "caused by N2"]),
        ),
        ("big-message", 2, &[], Crashed("run.max_call_mb")),
        ("huge-log", 2, &[], Crashed("run.max_call_mb")),
        (
            "write-flood",
            2,
            &["run.max_storage_mb=32"],
            Crashed("run.max_storage_mb"),
        ),
        ("bad-peer", 2, &[], Crashed("not a peer")),
        ("bad-complete", 5, &[], Crashed("does not exist")),
        ("effects-after-reject", 5, &[], Crashed("does not exist")),
        (
            "timer-loop",
            2,
            &[],
            Stopped(&["no progress", "N2", "run.max_events_per_instant"]),
        ),
        ("timer-far", 2, &[], Passes),
        ("empty-store", 2, &[], Passes),
        ("sleep", 2, &[], Passes),
        ("tail-max", 5, &[], Fails),
        ("tail-zero", 5, &[], Fails),
        ("records-edge", 5, &[], Fails),
    ];
    for (kind, node, extra, expect) in cases {
        let report = attack(kind, *node, extra);
        let text = report.render("(test)");
        let crashed: Vec<(u32, String)> = report
            .nodes
            .iter()
            .filter(|n| n.crashes > 0)
            .map(|n| (n.id, n.crash_reason.clone().unwrap_or_default()))
            .collect();
        match expect {
            Crashed(why) => {
                assert_eq!(crashed.len(), 1, "{kind}: only N{node} goes down: {text}");
                let (id, reason) = &crashed[0];
                assert_eq!(id, node, "{kind}: {text}");
                assert!(reason.contains(why), "{kind}: {reason}");
                if *kind == "print-panic" {
                    // All it printed is kept with the crash, and shown behind bars.
                    let n = report.nodes.iter().find(|n| n.id == *node).unwrap();
                    let printed = n.printed.as_deref().unwrap_or_default();
                    assert!(
                        printed.contains("hostile N2: about to give up"),
                        "{printed}"
                    );
                    assert!(text.contains("| hostile N2: about to give up"), "{text}");
                }
                let verdict = crash_verdict(&report);
                assert!(
                    !verdict.pass && verdict.detail.contains(&format!("N{node}")),
                    "{kind}: the report names N{node}: {}",
                    verdict.detail
                );
            }
            Stopped(needles) => {
                let error = report.error.clone().unwrap_or_default();
                for needle in *needles {
                    assert!(error.contains(needle), "{kind}: {error}");
                }
                assert!(crashed.is_empty(), "{kind}: {crashed:?}");
            }
            Passes => assert!(report.passed(), "{kind}: {text}"),
            Fails => {
                assert!(!report.passed(), "{kind}: {text}");
                assert!(crashed.is_empty(), "{kind}: {crashed:?}");
            }
        }
        if *kind == "effects-after-reject" {
            // The put made after the refused completion, in the same call, never landed.
            let store = report.metadata_offers.iter().any(|o| o.version == 99);
            assert!(!store, "{kind}: a v99 Logs reached a cache");
        }
    }
    assert!(cases.len() >= 12);
}

#[test]
fn a_crash_counts_even_when_the_node_is_restarted_after_it() {
    // N2 traps at 5 ms; a fault restarts it at 20 ms, and it runs on (it traps again, as
    // its setting says, and is restarted no more).
    let hostile = hostile();
    let text = "faults = [{ at = \"20ms\", action = \"restart\", node = 2 }]\n";
    let base = scenario::BUILTIN
        .iter()
        .find(|(n, _)| *n == "append-seal-basic")
        .unwrap()
        .1;
    let sets = [
        "guest.hostile.kind=trap".to_string(),
        "workload.appenders=3".to_string(),
        "workload.warmup_appends=20".to_string(),
    ];
    let scenario = scenario::parse("trap-then-restart", &format!("{text}{base}"), &sets).unwrap();
    let mut sandbox = Sandbox::from_scenario(&scenario)
        .component(hostile)
        .build()
        .unwrap();
    let report = sandbox.run().unwrap();
    let n2 = report.nodes.iter().find(|n| n.id == 2).unwrap();
    assert!(
        n2.restarts >= 1 && n2.crashes >= 2,
        "{}",
        report.render("(test)")
    );
    let verdict = crash_verdict(&report);
    // The first crash at 5 ms, the second once it runs again after the restart at 20 ms.
    let after_restart = verdict
        .detail
        .split("; ")
        .filter_map(|c| {
            c.strip_prefix("N2 at ")?
                .split("ms")
                .next()?
                .parse::<f64>()
                .ok()
        })
        .any(|ms| ms >= 20.0);
    assert!(
        !verdict.pass && verdict.detail.contains("N2 at 5.") && after_restart,
        "{}",
        verdict.detail
    );
}

#[test]
fn a_lying_client_breaks_no_workload_and_no_check() {
    // Offsets at the edges of the offset space, through every built-in workload and every
    // check: the run must end with a verdict, never a panic of the host.
    let hostile = hostile();
    for kind in ["tail-max", "tail-zero", "records-edge"] {
        for name in [
            "random-ops",
            "seed-race-script-fixed",
            "remote-seal",
            "partition-then-loss",
        ] {
            // A lie can keep a workload going round: a few seconds of virtual time will do.
            let sets = [
                format!("guest.hostile.kind={kind}"),
                "guest.hostile.node=5".to_string(),
                "run.time_limit=3s".to_string(),
                "run.max_ops=20000".to_string(),
            ];
            let scenario = scenario::load(name, &sets).unwrap();
            let mut sandbox = Sandbox::from_scenario(&scenario)
                .component(hostile.clone())
                .build()
                .unwrap();
            let report = sandbox.run().unwrap();
            assert!(!report.checks.is_empty(), "{kind} on {name}");
            let _ = report.render("(test)");
            let _ = report.to_json();
            let _ = report.history.jepsen();
        }
    }
}

#[test]
fn a_run_where_only_timers_fire_stops_as_making_no_progress() {
    // A script that waits for 900 s of virtual time: the cluster only ticks meanwhile.
    let text = r#"
name = "idle"
[run]
time_limit = "1000s"
max_idle_events = 100

[[steps]]
at = "900s"
node = 5
invoke = "find-tail"
"#;
    let scenario = scenario::parse("idle", text, &[]).unwrap();
    let mut sandbox = Sandbox::from_scenario(&scenario).build().unwrap();
    let report = sandbox.run().unwrap();
    let error = report.error.clone().unwrap_or_default();
    assert!(
        error.contains("timers fired in a row") && error.contains("run.max_idle_events"),
        "{error}"
    );
    // Well before the 900 s the script waits for.
    assert!(
        report.sim_time_ns < 900_000_000_000,
        "{}",
        report.sim_time_ns
    );
}

#[test]
fn a_node_flooding_a_hung_store_cannot_grow_the_host() {
    // N2 sends 1000 reads a millisecond to a store that hangs: at most MAX_PARKED wait,
    // the rest fail retryable at once.
    let scenario = scenario::load(
        "append-seal-basic",
        &[
            "guest.hostile.kind=store-flood".into(),
            "guest.hostile.node=2".into(),
        ],
    )
    .unwrap();
    let mut sb = Sandbox::from_scenario(&scenario)
        .component(hostile())
        .keep_trace(true)
        .build()
        .unwrap();
    sb.store_outage(logsandbox::Outage::Hang, None);
    // The attack starts at N2's first event after 5 ms (its update task's tick, near
    // 110 ms), then floods every millisecond: 66 ms of it fill the waiting room.
    sb.run_for(logsandbox::ms(250)).unwrap();
    assert!(sb.node(2).is_running(), "{:?}", sb.node(2).status());
    assert_eq!(
        sb.metadata().waiting(),
        logsandbox::metadata_store::MAX_PARKED
    );
    assert!(
        sb.trace()
            .iter()
            .any(|r| r.node == 2 && r.what.contains("65536 requests already wait")),
        "the overflow is refused, and said so"
    );
    sb.store_recover();
    sb.run_for(logsandbox::ms(20)).unwrap();
    assert_eq!(sb.metadata().waiting(), 0);
}
