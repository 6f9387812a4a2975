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
