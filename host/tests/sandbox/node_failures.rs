//! A node that traps or crashes takes down only itself: the host never panics because of
//! a guest, the run goes on and reports what happened, and a restarted node recovers its
//! state from its database.

use crate::common;

use std::sync::Arc;

use common::{failing_checks, run, run_with};
use logsandbox::runtime::{Component, test_guests};

#[test]
fn a_guest_that_traps_takes_down_only_its_node() {
    // N2 panics inside the guest on its 50th Store; N1 and N3 still make a write quorum.
    let runtime = Arc::new(Component::load("trap-on-store", test_guests::TRAP_ON_STORE).unwrap());
    let report = run_with(
        "append-seal-basic",
        None,
        &["workload.appenders=5", "workload.warmup_appends=40"],
        runtime,
        None,
    );
    let n2 = report.nodes.iter().find(|n| n.id == 2).unwrap();
    assert_eq!(n2.status, "crashed", "{:?}", report.nodes);
    let reason = n2.crash_reason.as_deref().unwrap_or_default();
    assert!(reason.contains("trapped"), "{reason}");
    // Its last words: the panic message on stderr, kept with the crash and shown.
    let printed = n2.printed.as_deref().unwrap_or_default();
    assert!(
        printed.contains("N2 traps on its 50th store"),
        "{printed:?}"
    );
    assert!(reason.contains("it printed: "), "{reason}");
    let text = report.render("(test)");
    assert!(
        text.contains("| ") && text.contains("N2 traps on its 50th store"),
        "{text}"
    );
    for other in report.nodes.iter().filter(|n| n.id != 2) {
        assert_eq!(other.status, "running", "{other:?}");
    }
    // The workload completed on the two remaining log-servers; only the crash is flagged.
    assert!(report.error.is_none(), "{:?}", report.error);
    assert_eq!(failing_checks(&report), vec!["no_unplanned_crash"]);
    assert!(!report.passed());
}

#[test]
fn a_crashed_log_server_restarts_from_its_database() {
    let report = run(
        "append-seal-basic",
        None,
        &["workload.appenders=5", "workload.warmup_appends=60"],
    );
    assert!(report.passed());
    let scenario_with_faults = r#"
name = "crash-restart"
seed = 3
[workload]
appenders = 5
warmup_appends = 60
[latency]
network = "1ms..3ms"
storage = "100us..300us"
"#;
    let dir = common::scratch("crash-restart");
    let file = dir.join("crash-restart.toml");
    let faults = "\nfaults = [\n  { at = \"100ms\", action = \"crash\", node = 1 },\n  { at = \"300ms\", action = \"restart\", node = 1 },\n]\n";
    // `faults` is a top-level array: it must come before any table.
    std::fs::write(&file, format!("{faults}{scenario_with_faults}")).unwrap();
    let report = run(file.to_str().unwrap(), None, &[]);
    assert!(report.passed(), "{}", report.render("(test)"));
    let n1 = report.nodes.iter().find(|n| n.id == 1).unwrap();
    assert_eq!(
        (n1.crashes, n1.restarts, n1.status.as_str()),
        (1, 1, "running")
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_node_that_overruns_its_cpu_bound_crashes_alone_and_the_run_reports_it() {
    // 16,000 units of fuel per call: enough for a log-server's calls (its start, which
    // also reads the settings and runs the metadata update task's first tick, takes a
    // little over 14,000), not for the sequencer's first round of work.
    let report = run(
        "append-seal-basic",
        None,
        &[
            "run.fuel_per_call=16000",
            "workload.appenders=2",
            "workload.warmup_appends=5",
            "run.time_limit=5s",
        ],
    );
    assert!(!report.passed());
    let n5 = report.nodes.iter().find(|n| n.id == 5).unwrap();
    assert_eq!(n5.status, "crashed");
    assert!(
        n5.crash_reason
            .as_deref()
            .unwrap_or_default()
            .contains("CPU bound"),
        "{n5:?}"
    );
    for node in report.nodes.iter().filter(|n| n.id != 5) {
        assert_eq!(node.status, "running", "{node:?}");
    }
    let error = report.error.as_deref().unwrap_or_default();
    assert!(error.contains("did not finish within 5s"), "{error}");
}
