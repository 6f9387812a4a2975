//! Behaviour held still: the trace hashes of a fixed set of runs, written down.
//!
//! A refactor of the host or the guest (moving files, one settings value, new names) must
//! not change what a run does. The trace hash covers every event, in order, with its time,
//! so one changed tie at time 0 or one reordered effect shows here. The table in
//! `trace_hashes.txt` holds every built-in scenario at seeds 1, 2, 3 and 7, the demo's flaky
//! configuration at the same seeds, and 200 seeds of `random-ops` (its nemesis crashes,
//! restarts and partitions), each with its outcome and event count beside the hash.
//!
//! A change that is meant to change behaviour rewrites the table on purpose:
//! `LOGSANDBOX_BLESS=1 cargo test -p logsandbox --test sandbox trace_hashes`, and the diff of the
//! table goes into the same commit.

use std::collections::BTreeMap;
use std::path::PathBuf;

use logsandbox::scenario::builtin_names;

use crate::common;

/// The seeds every built-in scenario runs at.
const SEEDS: [u64; 4] = [1, 2, 3, 7];
/// The seeds of `random-ops`.
const RANDOM_SEEDS: std::ops::RangeInclusive<u64> = 1..=200;
/// The demo's flaky configuration: a store 50 times slower than peers, the test's Logs at
/// v1, and a client that waits for any version.
const FLAKY: &[&str] = &[
    "latency.metadata_store=50ms",
    "latency.network=1ms",
    "latency.peer_metadata=1ms",
    "metadata.logs_version=1",
    "metadata.wait_for_version=false",
];

fn table_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/sandbox/trace_hashes.txt")
}

/// One run of the table: what it is, and its line.
struct Case {
    scenario: String,
    label: &'static str,
    sets: &'static [&'static str],
    seed: u64,
}

impl Case {
    fn key(&self) -> String {
        format!("{} {} seed {}", self.scenario, self.label, self.seed)
    }

    fn run(&self) -> String {
        let report = common::run(&self.scenario, Some(self.seed), self.sets);
        format!(
            "{} {} events {}",
            report.trace_hash,
            if report.passed() { "pass" } else { "fail" },
            report.events
        )
    }
}

fn cases() -> Vec<Case> {
    let mut cases = Vec::new();
    for name in builtin_names() {
        for seed in SEEDS {
            cases.push(Case {
                scenario: name.clone(),
                label: "as-is",
                sets: &[],
                seed,
            });
        }
    }
    for seed in SEEDS {
        cases.push(Case {
            scenario: "append-after-seal-concurrent".into(),
            label: "flaky",
            sets: FLAKY,
            seed,
        });
    }
    for seed in RANDOM_SEEDS {
        cases.push(Case {
            scenario: "random-ops".into(),
            label: "as-is",
            sets: &[],
            seed,
        });
    }
    cases
}

/// Runs every case, on as many threads as the machine has (each run is deterministic on
/// its own, so the order they run in changes nothing).
fn run_all(cases: &[Case]) -> BTreeMap<String, String> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let next = std::sync::atomic::AtomicUsize::new(0);
    let results = std::sync::Mutex::new(BTreeMap::new());
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some(case) = cases.get(i) else { break };
                    let line = case.run();
                    results.lock().unwrap().insert(case.key(), line);
                }
            });
        }
    });
    results.into_inner().unwrap()
}

#[test]
fn trace_hashes_are_the_recorded_ones() {
    let cases = cases();
    let got = run_all(&cases);
    let text: String = got.iter().map(|(k, v)| format!("{k}: {v}\n")).collect();
    if std::env::var_os("LOGSANDBOX_BLESS").is_some() {
        std::fs::write(table_path(), &text).expect("the table is writable");
        return;
    }
    let recorded =
        std::fs::read_to_string(table_path()).expect("host/tests/sandbox/trace_hashes.txt exists");
    let recorded: BTreeMap<&str, &str> = recorded
        .lines()
        .filter_map(|line| line.split_once(": "))
        .collect();
    let mut differ = Vec::new();
    for (key, line) in &got {
        match recorded.get(key.as_str()) {
            Some(want) if want == line => {}
            Some(want) => differ.push(format!("{key}: recorded {want}, now {line}")),
            None => differ.push(format!("{key}: not in the table (now {line})")),
        }
    }
    for key in recorded.keys() {
        if !got.contains_key(*key) {
            differ.push(format!("{key}: in the table, no longer run"));
        }
    }
    assert!(
        differ.is_empty(),
        "{} of {} runs differ from host/tests/sandbox/trace_hashes.txt:\n{}",
        differ.len(),
        got.len(),
        differ.join("\n")
    );
}
