//! Restate issue #3265, test `three_logserver_append_after_seal_concurrent`: it failed
//! now and then with `unknown log '0'`. Provisioning wrote an empty Logs at v1; the test
//! wrote its own Logs, also at v1, with precondition None. The client cached whichever v1
//! reached it first, and a slow metadata store let a peer's empty v1 win; the store's v1
//! was then "not newer" and dropped for good. The fix (PR #3266): write the Logs at
//! v1336 and wait for exactly that version. These tests make the race happen, make it not
//! happen, and show the fix holds under random latencies.

use crate::common;

use common::{logsandbox, run, stderr, stdout};
use logsandbox::explore::{self, Plan, Sweep};

const SCENARIO: &str = "append-after-seal-concurrent";
/// As the flaky test had it.
const FLAKY: [&str; 2] = ["metadata.logs_version=1", "metadata.wait_for_version=false"];
/// A small workload: the race is over before the first append.
const SMALL: [&str; 2] = ["workload.appenders=4", "workload.warmup_appends=20"];

fn sets(extra: &[&str]) -> Vec<String> {
    FLAKY
        .iter()
        .chain(SMALL.iter())
        .chain(extra)
        .map(|s| s.to_string())
        .collect()
}

fn explore(sets: Vec<String>, seeds: (u64, u64), sweeps: Vec<Sweep>) -> explore::Exploration {
    explore::explore(Plan {
        scenario: SCENARIO,
        sets: &sets,
        seeds,
        jobs: 2,
        sweeps,
        components: Default::default(),
        progress: false,
    })
    .unwrap()
}

#[test]
fn a_store_slower_than_peers_fails_every_seed_with_unknown_log_0() {
    let e = explore(
        sets(&[
            "latency.metadata_store=150ms",
            "latency.peer_metadata=1ms..3ms",
        ]),
        (1, 40),
        vec![],
    );
    assert_eq!(e.failures(), e.runs(), "{}", e.render());
    for cell in &e.cells {
        for r in &cell.results {
            assert_eq!(r.why, "unknown log '0'", "seed {}", r.seed);
        }
    }
    // The same through the command line: exit code 1 and the error in the report.
    let mut args = vec!["run", SCENARIO, "--json"];
    let flags = sets(&["latency.metadata_store=150ms"]);
    for s in &flags {
        args.extend(["--set", s.as_str()]);
    }
    let out = logsandbox(&args);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let json: serde_json::Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    assert_eq!(json["error"], "unknown log '0'");
    assert_eq!(json["outcome"], "fail");
    // The client cached the empty v1 from a peer, then dropped the store's v1 with log 0.
    let offers = json["metadata_offers"].as_array().unwrap();
    let n5: Vec<&serde_json::Value> = offers.iter().filter(|o| o["node"] == 5).collect();
    assert!(
        n5[0]["source"].as_str().unwrap().starts_with("peer N"),
        "{n5:?}"
    );
    assert_eq!(n5[0]["value"], "empty");
}

/// The flaky configuration: a store at least ten times slower than peers.
fn ten_times(store: &str) -> Vec<String> {
    vec![
        format!("latency.metadata_store={store}"),
        "latency.network=1ms".into(),
        "latency.peer_metadata=1ms".into(),
    ]
}

#[test]
fn a_store_ten_times_slower_than_peers_fails_every_seed() {
    // Restate's update task asks a peer the moment it hears of v1: with peers at 1 ms the
    // empty v1 is cached 4 ms after the client starts, before a 20 ms store round trip.
    for store in ["10ms", "50ms"] {
        let extra = ten_times(store);
        let extra: Vec<&str> = extra.iter().map(String::as_str).collect();
        let e = explore(sets(&extra), (1, 100), vec![]);
        assert_eq!(e.failures(), e.runs(), "store {store}: {}", e.render());
        for r in &e.cells[0].results {
            assert_eq!(r.why, "unknown log '0'", "store {store}, seed {}", r.seed);
        }
    }
}

#[test]
fn the_fix_passes_at_the_same_settings_and_under_exponential_latencies_on_both_paths() {
    let constant = ten_times("50ms");
    let exponential = vec![
        "latency.metadata_store=exp:50ms".to_string(),
        "latency.network=exp:1ms".into(),
        "latency.peer_metadata=exp:1ms".into(),
    ];
    for extra in [constant, exponential] {
        let fixed: Vec<String> = SMALL.iter().map(|s| s.to_string()).chain(extra).collect();
        let e = explore(fixed, (1, 100), vec![]);
        assert_eq!(e.failures(), 0, "{}", e.render());
    }
}

#[test]
fn the_race_fires_when_the_store_round_trip_is_slower_than_hearing_a_peer_and_asking_it() {
    // Network 1 ms: N5 hears a peer's header one round trip (2 ms) after it starts, then
    // asks it (2 x peer_metadata). Its store read takes 2 x metadata_store. The race fires
    // exactly when the store's round trip is the slower: metadata_store > peer_metadata + 1 ms.
    let ms = |v: u64| (format!("{v}ms"), format!("{v}ms"));
    let e = explore(
        sets(&["latency.network=1ms"]),
        (1, 4),
        vec![
            Sweep {
                key: "latency.metadata_store".into(),
                values: (1..=8).map(ms).collect(),
            },
            Sweep {
                key: "latency.peer_metadata".into(),
                values: (1..=4).map(ms).collect(),
            },
        ],
    );
    for cell in &e.cells {
        let value = |key: &str| -> u64 {
            let (_, v) = cell.settings.iter().find(|(k, _)| k == key).unwrap();
            v.trim_end_matches("ms").parse().unwrap()
        };
        let (store, peer) = (
            value("latency.metadata_store"),
            value("latency.peer_metadata"),
        );
        let failures = cell.failures().len();
        if store > peer + 1 {
            assert_eq!(
                failures,
                4,
                "store {store} ms, peer {peer} ms: {}",
                e.render()
            );
        } else if store < peer + 1 {
            assert_eq!(
                failures,
                0,
                "store {store} ms, peer {peer} ms: {}",
                e.render()
            );
        }
    }
}

#[test]
fn a_store_faster_than_peers_passes_even_as_the_flaky_test_had_it() {
    let e = explore(
        sets(&[
            "latency.metadata_store=1ms",
            "latency.peer_metadata=5ms..10ms",
        ]),
        (1, 40),
        vec![],
    );
    assert_eq!(e.failures(), 0, "{}", e.render());
    // And the client cached the store's v1, the one with log 0.
    let report = run(
        SCENARIO,
        Some(3),
        &[
            FLAKY[0],
            FLAKY[1],
            SMALL[0],
            SMALL[1],
            "latency.metadata_store=1ms",
            "latency.peer_metadata=5ms..10ms",
        ],
    );
    let first = report
        .metadata_offers
        .iter()
        .find(|o| o.node == 5 && o.accepted)
        .unwrap();
    assert_eq!(
        (first.source.as_str(), first.has_log0),
        ("metadata store", true)
    );
}

#[test]
fn the_fix_passes_every_seed_of_a_sweep_with_random_latencies_on_both_paths() {
    let fixed: Vec<String> = SMALL.iter().map(|s| s.to_string()).collect();
    let e = explore(
        fixed,
        (1, 15),
        vec![
            Sweep {
                key: "latency.metadata_store".into(),
                values: ["1ms..5ms", "exp:50ms", "50ms..400ms", "exp:300ms"]
                    .iter()
                    .map(|v| (v.to_string(), v.to_string()))
                    .collect(),
            },
            Sweep {
                key: "latency.peer_metadata".into(),
                values: ["exp:1ms", "1ms..30ms", "exp:20ms"]
                    .iter()
                    .map(|v| (v.to_string(), v.to_string()))
                    .collect(),
            },
        ],
    );
    assert_eq!(e.runs(), 15 * 4 * 3);
    assert_eq!(e.failures(), 0, "{}", e.render());
}

#[test]
fn the_demo_reproduces_the_bug_and_shows_the_fix() {
    let out = logsandbox(&["demo"]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text}{}", stderr(&out));
    assert!(
        text.contains("FAIL at") && text.contains("unknown log '0'"),
        "{text}"
    );
    assert!(
        text.contains("DROPPED"),
        "the store's v1 is shown dropped: {text}"
    );
    assert!(text.contains("PASS"), "{text}");
}

#[test]
fn explore_json_reports_runs_failures_and_the_failing_seeds() {
    let out = logsandbox(&[
        "explore",
        SCENARIO,
        "--seeds",
        "1..6",
        "--jobs",
        "2",
        "--json",
        "--set",
        "metadata.logs_version=1",
        "--set",
        "metadata.wait_for_version=false",
        "--set",
        "workload.appenders=2",
        "--set",
        "workload.warmup_appends=10",
        "--sweep",
        "latency.metadata_store=1ms..200ms:2",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let json: serde_json::Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    assert_eq!(json["runs"], 12);
    assert_eq!(json["failures"], 6, "{json}");
    assert_eq!(json["failing_seeds"], serde_json::json!([1, 2, 3, 4, 5, 6]));
    // Each failure is named by its race: `unknown log '0'` is Restate #3265.
    assert_eq!(
        json["races"],
        serde_json::json!({"#3265": [1, 2, 3, 4, 5, 6]}),
        "{json}"
    );
    assert!(json["runs_per_s"].as_f64().unwrap() > 0.0);
    let cells = json["sweep"].as_array().unwrap();
    assert_eq!(cells[0]["failure_rate"], 0.0);
    assert_eq!(cells[1]["failure_rate"], 1.0);
}

#[test]
fn the_timeline_tells_the_race_event_by_event() {
    let out = logsandbox(&["run", "same-version-race", "--timeline", "N5"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    let at = |needle: &str| {
        text.find(needle)
            .unwrap_or_else(|| panic!("{needle:?} is not in the timeline:\n{text}"))
    };
    // The peer's empty v1 is cached, the store's v1 dropped, and the lookup fails.
    assert!(at("caches Logs v1 from peer") < at("drops (not newer) Logs v1 from metadata store"));
    assert!(at("failed: unknown log '0'") < at("same-version-race  seed 1  PASS"));
}
