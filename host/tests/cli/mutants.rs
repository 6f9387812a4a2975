//! A race sandbox is only as good as its oracle. Each mutant guest carries one known bug
//! (guest/src/mutants.rs) and is a real wasm component, loaded like any other guest; the
//! checker must catch every one on some built-in scenario, while the unmodified guest
//! passes everywhere.

use crate::common;

use common::{logsandbox, stderr, stdout};

#[test]
fn every_mutant_is_caught_and_the_unmodified_guest_passes_everywhere() {
    let out = logsandbox(&["mutants", "--json"]);
    let text = stdout(&out);
    let json: serde_json::Value =
        serde_json::from_str(text.trim()).unwrap_or_else(|e| panic!("{e}: {text}{}", stderr(&out)));
    assert_eq!(out.status.code(), Some(0), "{json:#}");
    assert_eq!(
        json["baseline"]["failures"],
        serde_json::json!([]),
        "{json:#}"
    );
    let mutants = json["mutants"].as_array().unwrap();
    assert!(mutants.len() >= 6, "{json:#}");
    for m in mutants {
        let caught = &m["caught"];
        assert!(
            caught.is_object(),
            "mutant {} survived: {json:#}",
            m["name"]
        );
        assert!(!caught["by"].as_str().unwrap().is_empty());
    }
    // Each bug is caught by the story written for it.
    let caught_in = |name: &str| {
        mutants.iter().find(|m| m["name"] == name).unwrap()["caught"]["scenario"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let caught_by = |name: &str| {
        mutants.iter().find(|m| m["name"] == name).unwrap()["caught"]["by"]
            .as_str()
            .unwrap()
            .to_string()
    };
    // Acknowledged before a write quorum: the log-servers' databases show it at once.
    assert!(caught_by("commit-before-quorum").contains("acknowledged_durable"));
    // A trim sent past the tail the client knows, claiming the tail beyond it: the
    // log-servers take it, and a trim at or past the sealed tail is in force.
    assert_eq!(caught_in("trim-past-clamp"), "remote-seal");
    assert!(caught_by("trim-past-clamp").contains("trims_within_the_tail"));
    // A drain that waits for appends nobody cancels: the append that meets one sealed
    // log-server and one it cannot reach never ends, nor does the drain (#4940's topology).
    assert_eq!(caught_in("drain-without-cancel"), "seal-4940-fixed");
    assert!(caught_by("drain-without-cancel").contains("expect:append-after-seal"));
    assert!(
        ["same-version-race", "election-race"]
            .contains(&caught_in("equal-version-accepted").as_str())
    );
    // A log-server that takes a trim beyond its local tail instead of clipping it: the
    // trim race #3890 (a lagging log-server's lower trim point) no longer fires.
    assert_eq!(caught_in("trim-beyond-tail"), "trim-3890");
    // The metadata plane's rules, each by the scenario written for it.
    assert_eq!(caught_in("no-immediate-fetch"), "same-version-race");
    assert_eq!(caught_in("wait-fetches"), "passive-wait");
    assert_eq!(caught_by("wait-fetches"), "expect:wait-v2");
    assert_eq!(
        caught_in("retryable-as-terminal"),
        "provision-during-outage"
    );
}

#[test]
fn a_mutant_runs_through_the_command_line_like_any_component() {
    // The same component as a file, through `run --guest`: the reordered network catches it.
    let dir = common::scratch("mutant-guest");
    let path = common::mutant_file(&dir, "publish-before-drain");
    let out = logsandbox(&[
        "run",
        "append-seal-reordered",
        "--seed",
        "2",
        "--guest",
        path.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let json: serde_json::Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    assert_eq!(
        json["checks"]["first_sealed_tail_beyond_acks"], "fail",
        "{json:#}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
