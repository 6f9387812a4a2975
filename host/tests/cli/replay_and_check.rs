//! `logsandbox replay DIR` runs a `--out` directory again and checks its trace hash;
//! `logsandbox check HISTORY` judges a history file.

use crate::common;

use common::{logsandbox, scratch, stderr, stdout};

fn out_dir(name: &str, args: &[&str]) -> std::path::PathBuf {
    let dir = scratch(name);
    let mut all = vec!["run"];
    all.extend(args);
    all.extend(["--out", dir.to_str().unwrap()]);
    let out = logsandbox(&all);
    assert!(
        out.status.code().is_some_and(|c| c <= 1),
        "{}",
        stderr(&out)
    );
    dir
}

#[test]
fn a_replay_reproduces_the_recorded_hash_with_the_overrides_and_seed_it_ran_with() {
    let dir = out_dir(
        "replay-flaky",
        &[
            "append-after-seal-concurrent",
            "--seed",
            "7",
            "--set",
            "metadata.logs_version=1",
            "--set",
            "metadata.wait_for_version=false",
            "--set",
            "latency.metadata_store=50ms",
        ],
    );
    let out = logsandbox(&["replay", dir.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("reproduced"), "{text}");
    assert!(text.contains("seed 7  FAIL"), "{text}");
    // The timeline, compact: the cache's story, not its ticks.
    assert!(text.contains("caches Logs v1 from peer"), "{text}");
    assert!(!text.contains("timer #"), "{text}");

    // A report whose hash was not this run's: the replay says it diverged.
    let report = dir.join("report.json");
    let mut json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    json["trace_hash"] = "00".repeat(32).into();
    std::fs::write(&report, json.to_string()).unwrap();
    let out = logsandbox(&["replay", dir.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout(&out).contains("DIVERGED"), "{}", stdout(&out));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_replay_of_a_run_with_its_own_component_uses_the_component_it_kept() {
    let dir = scratch("replay-guest");
    let path = common::mutant_file(&dir, "publish-before-drain");
    let out_dir = dir.join("out");
    let out = logsandbox(&[
        "run",
        "append-seal-reordered",
        "--seed",
        "2",
        "--guest",
        path.to_str().unwrap(),
        "--out",
        out_dir.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    std::fs::remove_file(&path).unwrap();
    let out = logsandbox(&["replay", out_dir.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).contains("reproduced"));

    // Its history, judged on its own, fails the same invariant.
    let out = logsandbox(&[
        "check",
        out_dir.join("history.json").to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let json: serde_json::Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    assert_eq!(json["outcome"], "fail");
    assert_eq!(json["checks"]["no_ack_beyond_published_seal"], "fail");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_passing_history_passes_and_bad_files_are_bad_input() {
    let dir = out_dir(
        "check-history",
        &[
            "append-seal-basic",
            "--set",
            "workload.appenders=3",
            "--set",
            "workload.warmup_appends=5",
        ],
    );
    let history = dir.join("history.json");
    let out = logsandbox(&["check", history.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("9 of 9 checks hold"),
        "{}",
        stdout(&out)
    );

    // An acknowledged offset that two appends share: the check finds it in the file.
    let mut entries: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&history).unwrap()).unwrap();
    let acks: Vec<usize> = entries
        .as_array()
        .unwrap()
        .iter()
        .enumerate()
        .filter(|(_, e)| e["type"] == "ok" && e["f"] == "append")
        .map(|(i, _)| i)
        .collect();
    let first = entries[acks[0]]["value"].clone();
    entries[acks[1]]["value"] = first;
    std::fs::write(&history, entries.to_string()).unwrap();
    let out = logsandbox(&["check", history.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout(&out).contains("FAIL committed_offsets_unique"),
        "{}",
        stdout(&out)
    );

    // Bad input names the file and the entry, exit 2.
    std::fs::write(&history, r#"[{"type":"invoke","id":1,"f":"append","value":{"log":0,"payload":"x"},"process":"ghost","time":0,"node":5}]"#).unwrap();
    let out = logsandbox(&["check", history.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("history.json: entry 0 (id 1)") && err.contains("\"ghost\""),
        "{err}"
    );
    let out = logsandbox(&["replay", dir.join("nowhere").to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("not a directory written by `logsandbox run --out`"));
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A history written by hand, one event a line: `(type, id, f, value, process, time, node)`.
fn history(events: &[(&str, u64, &str, serde_json::Value, &str, u64, u32)]) -> String {
    let entries: Vec<serde_json::Value> = events
        .iter()
        .enumerate()
        .map(|(index, (kind, id, f, value, process, time, node))| {
            serde_json::json!({
                "type": kind, "id": id, "f": f, "value": value, "process": process,
                "time": time, "index": index, "node": node,
            })
        })
        .collect();
    serde_json::Value::Array(entries).to_string()
}

#[test]
fn a_trim_answered_as_clamped_to_nothing_fails_on_the_hosts_facts_and_a_stale_sealed_tail_does_not()
{
    use serde_json::json;
    let dir = common::scratch("check-chain-rules");
    let file = dir.join("history.json");
    // Two appends acknowledged, then a trim to 2 that answers `trimmed to 0` (a client
    // that clamped it to nothing, Restate #5377), then a read that still returns both.
    let trimmed_to_nothing = history(&[
        (
            "invoke",
            1,
            "append",
            json!({"log": 0, "payload": "a"}),
            "worker-0",
            0,
            5,
        ),
        ("ok", 1, "append", json!(1), "worker-0", 10, 5),
        (
            "invoke",
            2,
            "append",
            json!({"log": 0, "payload": "b"}),
            "worker-0",
            20,
            5,
        ),
        ("ok", 2, "append", json!(2), "worker-0", 30, 5),
        (
            "invoke",
            3,
            "trim",
            json!({"log": 0, "trim_point": 2}),
            "worker-1",
            40,
            6,
        ),
        ("ok", 3, "trim", json!({"trim_point": 0}), "worker-1", 41, 6),
        (
            "invoke",
            4,
            "read",
            json!({"log": 0, "from": 1, "to": 3}),
            "worker-0",
            50,
            5,
        ),
        (
            "ok",
            4,
            "read",
            json!([{"lsn": 1, "payload": "a"}, {"lsn": 2, "payload": "b"}]),
            "worker-0",
            60,
            5,
        ),
    ]);
    std::fs::write(&file, trimmed_to_nothing).unwrap();
    let out = logsandbox(&["check", file.to_str().unwrap()]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}{}", stderr(&out));
    assert!(
        text.contains("FAIL reads_after_trim") && text.contains("answered trimmed to 0"),
        "{text}"
    );

    // One find-tail sees segment 1 open at 3; a later one, on another node, sees `later`.
    let after_segment_1 = |later: serde_json::Value| {
        let find = json!({"log": 0});
        history(&[
            ("invoke", 1, "find-tail", find.clone(), "worker-0", 0, 5),
            (
                "ok",
                1,
                "find-tail",
                json!({"open": 3, "segment": 1}),
                "worker-0",
                10,
                5,
            ),
            ("invoke", 2, "find-tail", find, "worker-1", 20, 6),
            ("ok", 2, "find-tail", later, "worker-1", 30, 6),
        ])
    };
    // A node that has not seen the chain move on reports segment 0's sealed tail: true of
    // segment 0, stale, not a failure.
    std::fs::write(&file, after_segment_1(json!({"sealed": 3}))).unwrap();
    let out = logsandbox(&["check", file.to_str().unwrap()]);
    let text = stdout(&out);
    assert!(
        text.contains("ok   tails_monotonic") && text.contains("1 from a chain not yet moved on"),
        "{text}{}",
        stderr(&out)
    );
    // Open again in the older segment after the newer one: that goes back.
    std::fs::write(&file, after_segment_1(json!({"open": 4}))).unwrap();
    let out = logsandbox(&["check", file.to_str().unwrap()]);
    assert!(
        stdout(&out).contains("FAIL tails_monotonic"),
        "{}",
        stdout(&out)
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn loglet_level_sealed_tails_that_differ_are_information_and_two_extensions_of_one_segment_fail() {
    use serde_json::json;
    let dir = common::scratch("check-sealed-tails");
    let file = dir.join("history.json");
    // A remote seal repaired a record past the sequencer's own tail and answered 4; a
    // later find-tail answers the sequencer's 3: Restate permits both.
    let find = json!({"log": 0});
    std::fs::write(
        &file,
        history(&[
            ("invoke", 1, "seal", find.clone(), "worker-0", 0, 6),
            ("ok", 1, "seal", json!({"sealed": 4}), "worker-0", 10, 6),
            ("invoke", 2, "find-tail", find.clone(), "worker-1", 20, 5),
            (
                "ok",
                2,
                "find-tail",
                json!({"sealed": 3}),
                "worker-1",
                30,
                5,
            ),
        ]),
    )
    .unwrap();
    let out = logsandbox(&["check", file.to_str().unwrap()]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text}{}", stderr(&out));
    assert!(
        text.contains("ok   sealed_tails_agree") && text.contains("information: loglet-level"),
        "{text}"
    );
    assert!(
        text.contains("ok   tails_monotonic") && text.contains("1 a lower sealed tail"),
        "{text}"
    );
    // Two seal-and-extends acknowledged, each extending segment 0 at another LSN: the
    // chain said two things.
    let extend = json!({"log": 0, "segment": 0});
    std::fs::write(
        &file,
        history(&[
            (
                "invoke",
                1,
                "seal-and-extend",
                extend.clone(),
                "worker-0",
                0,
                5,
            ),
            (
                "ok",
                1,
                "seal-and-extend",
                json!({"segment": 1, "base_lsn": 3, "version": 2}),
                "worker-0",
                10,
                5,
            ),
            ("invoke", 2, "seal-and-extend", extend, "worker-1", 20, 6),
            (
                "ok",
                2,
                "seal-and-extend",
                json!({"segment": 1, "base_lsn": 4, "version": 2}),
                "worker-1",
                30,
                6,
            ),
        ]),
    )
    .unwrap();
    let out = logsandbox(&["check", file.to_str().unwrap()]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}{}", stderr(&out));
    assert!(
        text.contains("FAIL sealed_tails_agree")
            && text.contains("segment 0 was extended at LSN 3 and at LSN 4"),
        "{text}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_payload_read_twice_is_repeated_unless_its_append_recovers_at_least_once() {
    use serde_json::json;
    let dir = common::scratch("check-at-least-once");
    let file = dir.join("history.json");
    // An append acknowledged at 2 whose payload a read also finds at 1: the copy a drain
    // cancelled in the sealed segment, appended again in the next by a holding appender.
    let twice = |append: serde_json::Value| {
        history(&[
            ("invoke", 1, "append", append, "worker-0", 0, 5),
            ("ok", 1, "append", json!(2), "worker-0", 10, 5),
            (
                "invoke",
                2,
                "read",
                json!({"log": 0, "from": 1, "to": 3}),
                "worker-1",
                20,
                5,
            ),
            (
                "ok",
                2,
                "read",
                json!([{"lsn": 1, "payload": "a"}, {"lsn": 2, "payload": "a"}]),
                "worker-1",
                30,
                5,
            ),
        ])
    };
    std::fs::write(
        &file,
        twice(json!({"log": 0, "payload": "a", "strategy": "allowed"})),
    )
    .unwrap();
    let out = logsandbox(&["check", file.to_str().unwrap()]);
    let text = stdout(&out);
    assert!(
        text.contains("ok   reads_see_acknowledged"),
        "{text}{}",
        stderr(&out)
    );
    std::fs::write(&file, twice(json!({"log": 0, "payload": "a"}))).unwrap();
    let out = logsandbox(&["check", file.to_str().unwrap()]);
    let text = stdout(&out);
    assert!(
        text.contains("FAIL reads_see_acknowledged")
            && text.contains("stray or repeated records at [2]"),
        "{text}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
