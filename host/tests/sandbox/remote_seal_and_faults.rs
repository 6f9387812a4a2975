//! Seals from another node, crashes, lost disks and partitions: the log must keep every
//! acknowledged append, and a sealed loglet must stay sealed.

use crate::common;

use common::{failing_checks, run};

#[test]
fn a_remote_seal_holds_across_a_restart_of_every_log_server() {
    for seed in 1..=3 {
        let report = run("remote-seal", Some(seed), &[]);
        assert!(report.passed(), "seed {seed}: {}", report.render("(test)"));
        for node in report.nodes.iter().filter(|n| n.id <= 3) {
            assert_eq!((node.crashes, node.restarts), (1, 1), "{node:?}");
        }
        // The trims were exercised: one beyond the tail (clamped below it), one to half.
        let trims: Vec<_> = report.history.ops().filter(|o| o.f() == "trim").collect();
        assert_eq!(trims.len(), 2);
    }
}

#[test]
fn acknowledged_appends_survive_a_partition_followed_by_the_loss_of_a_log_server() {
    let report = run("partition-then-loss", None, &[]);
    assert!(report.passed(), "{}", report.render("(test)"));
    let n3 = report.nodes.iter().find(|n| n.id == 3).unwrap();
    assert_eq!(n3.status, "crashed (planned)");
}

#[test]
fn a_wiped_log_server_comes_back_empty_and_the_log_loses_nothing() {
    let dir = common::scratch("wipe");
    let file = dir.join("wipe.toml");
    std::fs::write(
        &file,
        r#"
faults = [
    { at = "500ms", action = "wipe", node = 2 },
    { at = "600ms", action = "restart", node = 2 },
]
name = "wipe"
[workload]
appenders = 5
warmup_appends = 60
"#,
    )
    .unwrap();
    let report = run(file.to_str().unwrap(), Some(2), &[]);
    assert!(report.passed(), "{}", report.render("(test)"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_reproduction_passes_when_the_bug_shows_and_fails_when_it_does_not() {
    let report = run("same-version-race", None, &[]);
    assert!(report.passed(), "{}", report.render("(test)"));
    assert_eq!(report.error.as_deref(), Some("unknown log '0'"));
    // With a fast store the bug does not show, so the reproduction fails.
    let report = run("same-version-race", None, &["latency.metadata_store=1ms"]);
    assert!(!report.passed());
    assert_eq!(failing_checks(&report), vec!["expected_error"]);
}

#[test]
fn the_fix_holds_under_a_slow_store_and_on_a_reordering_network() {
    for name in ["slow-store-fixed", "append-seal-reordered"] {
        for seed in 1..=3 {
            let report = run(name, Some(seed), &[]);
            assert!(
                report.passed(),
                "{name} seed {seed}: {}",
                report.render("(test)")
            );
        }
    }
}

#[test]
fn faults_that_name_unknown_nodes_or_miss_keys_are_bad_input() {
    let dir = common::scratch("bad-faults");
    let file = dir.join("bad.toml");
    for (faults, needle) in [
        (
            r#"faults = [{ at = "1s", action = "crash", node = 9 }]"#,
            "N9 is not in the cluster",
        ),
        (
            r#"faults = [{ at = "1s", action = "drop", from = 5, to = 1 }]"#,
            "faults[0].until",
        ),
        (
            r#"faults = [{ at = "1s", action = "explode", node = 1 }]"#,
            "faults[0].action",
        ),
        (
            r#"faults = [{ at = "1s", on = "lunch", action = "crash", node = 1 }]"#,
            "faults[0].on",
        ),
    ] {
        std::fs::write(&file, format!("{faults}\nname = \"bad\"\n")).unwrap();
        let out = common::logsandbox(&["run", file.to_str().unwrap()]);
        let err = common::stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{faults}: {err}");
        assert!(err.contains(needle), "{faults}: {err}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
