//! Restate's `append_after_seal_concurrent` on a healthy cluster, end to end through the
//! wasm guest: 20 appenders, a watcher, a seal, and the checks of the test body.

use crate::common;

use common::{failing_checks, logsandbox, run, run_with, scratch, stdout};
use logsandbox::runtime::Component;

#[test]
fn the_basic_scenario_passes_every_check_through_the_wasm_guest() {
    let report = run("append-seal-basic", None, &[]);
    assert!(report.passed(), "{}", report.render("(test)"));
    assert!(failing_checks(&report).is_empty());
    assert!(report.events > 10_000, "only {} events", report.events);
    // 20 appenders x 200 warm-up appends, all acknowledged and all read back.
    assert!(report.appends_ok >= 4_000, "{}", report.appends_ok);
    assert!(
        report
            .checks
            .iter()
            .any(|c| c.name == "read_returns_committed" && c.pass)
    );
}

#[test]
fn the_same_seed_gives_the_same_trace_and_two_seeds_differ() {
    let a = run(
        "append-seal-basic",
        Some(11),
        &["workload.appenders=5", "workload.warmup_appends=40"],
    );
    let b = run(
        "append-seal-basic",
        Some(11),
        &["workload.appenders=5", "workload.warmup_appends=40"],
    );
    let c = run(
        "append-seal-basic",
        Some(12),
        &["workload.appenders=5", "workload.warmup_appends=40"],
    );
    assert!(a.passed() && b.passed() && c.passed());
    assert_eq!(a.trace_hash, b.trace_hash);
    assert_eq!(a.events, b.events);
    assert_ne!(a.trace_hash, c.trace_hash);
}

#[test]
fn file_databases_give_the_same_trace_as_in_memory_ones_and_write_a_history() {
    let sets = ["workload.appenders=4", "workload.warmup_appends=30"];
    let in_memory = run("append-seal-basic", Some(3), &sets);
    let dir = scratch("out");
    let on_disk = run_with(
        "append-seal-basic",
        Some(3),
        &sets,
        Component::builtin().unwrap(),
        Some(dir.clone()),
    );
    assert!(on_disk.passed(), "{}", on_disk.render("(test)"));
    assert_eq!(in_memory.trace_hash, on_disk.trace_hash);
    for node in [1, 2, 3, 5] {
        let db = dir.join(format!("n{node}.redb"));
        assert!(
            db.metadata().is_ok_and(|m| m.len() > 0),
            "{} missing",
            db.display()
        );
    }
    // history.json: one invoke and one completion per client operation, paired by id.
    let history: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("history.json")).unwrap()).unwrap();
    let entries = history.as_array().unwrap();
    let invokes: Vec<u64> = entries
        .iter()
        .filter(|e| e["type"] == "invoke")
        .map(|e| e["id"].as_u64().unwrap())
        .collect();
    let mut completions: Vec<u64> = entries
        .iter()
        .filter(|e| e["type"] != "invoke")
        .map(|e| e["id"].as_u64().unwrap())
        .collect();
    assert_eq!(invokes.len() as u64, on_disk.client_ops);
    completions.sort_unstable();
    let mut sorted = invokes.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, completions);
    // An append that failed sealed may still be in the log: `info`, not `fail`.
    assert!(
        entries
            .iter()
            .any(|e| e["type"] == "info" && e["f"] == "append" && e["value"] == "sealed")
    );
    assert!(
        !entries
            .iter()
            .any(|e| e["type"] == "fail" && e["f"] == "append" && e["value"] == "sealed")
    );
    // The read carries its records' payloads.
    let read = entries
        .iter()
        .find(|e| e["type"] == "ok" && e["f"] == "read")
        .unwrap();
    let first = &read["value"][0];
    assert!(
        first["lsn"].is_u64() && first["payload"].is_string(),
        "{read}"
    );
    assert!(dir.join("trace.jsonl").exists());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn json_output_is_one_object_with_the_documented_fields() {
    let out = logsandbox(&[
        "run",
        "append-seal-basic",
        "--json",
        "--set",
        "workload.appenders=3",
        "--set",
        "workload.warmup_appends=20",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", common::stderr(&out));
    let text = stdout(&out);
    let json: serde_json::Value =
        serde_json::from_str(text.trim()).expect("stdout is one JSON object");
    for field in [
        "scenario",
        "seed",
        "outcome",
        "error",
        "checks",
        "trace_hash",
        "events",
        "sim_time_ms",
        "wall_ms",
    ] {
        assert!(json.get(field).is_some(), "missing {field} in {json}");
    }
    assert_eq!(json["outcome"], "pass");
    assert!(json["error"].is_null());
    assert!(
        json["checks"]
            .as_object()
            .unwrap()
            .values()
            .all(|v| v == "pass")
    );
}
