//! `logsandbox demo`: the race the project exists for, run twice side by side: as
//! Restate's flaky test had it, and as fixed. Exits 0 only when the bug reproduced and
//! the fix passed.

use std::sync::Arc;

use logsandbox::record::offers::MetadataOffer;
use logsandbox::runtime::Component;
use logsandbox::scenario::{self, Scenario};
use logsandbox::show::report::RunReport;
use logsandbox::time::{SECONDS, fmt_duration};
use logsandbox::{Error, Sandbox};

/// The scenario both runs use.
pub const SCENARIO: &str = "append-after-seal-concurrent";
/// Both runs: a metadata store 50 times slower than peers (CI load, a distant leader).
pub const SLOW_STORE: &[&str] = &[
    "latency.metadata_store=50ms",
    "latency.network=1ms",
    "latency.peer_metadata=1ms",
];
/// The flaky test: the test's Logs at version 1, and the client only waits for `>= MIN`.
pub const FLAKY: &[&str] = &["metadata.logs_version=1", "metadata.wait_for_version=false"];

/// What the demo found.
pub struct Demo {
    pub flaky: RunReport,
    pub fixed: RunReport,
    /// Offers made after this instant (virtual ns) are not shown: the race is over by then.
    pub shown_until: u64,
}

impl Demo {
    pub fn run(runtime: Arc<Component>, seed: Option<u64>) -> Result<Demo, Error> {
        let sets = |extra: &[&str]| -> Vec<String> {
            SLOW_STORE
                .iter()
                .chain(extra)
                .map(|s| s.to_string())
                .collect()
        };
        let run = |scenario: &Scenario| -> Result<RunReport, Error> {
            let mut builder = Sandbox::from_scenario(scenario)
                .component(runtime.clone())
                // Once the flaky run fails, keep going a second so the store's answer shows.
                .linger_after_failure(std::time::Duration::from_nanos(SECONDS));
            if let Some(seed) = seed {
                builder = builder.seed(seed);
            }
            Ok(builder.build()?.run()?)
        };
        let flaky_scenario = scenario::load(SCENARIO, &sets(FLAKY))?;
        let flaky = run(&flaky_scenario)?;
        let fixed = run(&scenario::load(SCENARIO, &sets(&[]))?)?;
        Ok(Demo {
            flaky,
            fixed,
            shown_until: flaky_scenario.config.cluster.client_start.0 + SECONDS,
        })
    }

    /// The bug reproduced (`unknown log '0'`) and the fix passed.
    pub fn succeeded(&self) -> bool {
        self.flaky.error.as_deref() == Some("unknown log '0'") && self.fixed.passed()
    }

    pub fn render(&self) -> String {
        let mut out = String::new();
        out += "logsandbox demo: Restate's `unknown log '0'` race, reproduced on demand\n\n";
        out += "Two different Logs values carry version 1: the empty one N1 provisions when the cluster\n";
        out += "starts, and the test's own (log 0 -> loglet 0_0 on N1..N3), written over it with\n";
        out +=
            "precondition None. A node takes a metadata update only when its version is strictly\n";
        out += "newer, so the client N5 keeps whichever v1 reaches it first: its own store read, or a\n";
        out += "peer's answer to GetMetadata. Here the metadata store takes 50ms each way, peers 1ms.\n\n";
        let w = 46;
        let row = |label: &str, a: &str, b: &str| format!("{label:<6}{a:<w$}  {b}\n");
        out += &row("", "AS THE FLAKY TEST HAD IT", "AS FIXED");
        out += &row("", "Logs written at v1", "Logs written at v1336");
        out += &row(
            "",
            "client waits for Logs >= v1",
            "client waits for Logs v1336",
        );
        out += "\n";
        let nodes: Vec<u32> = self.flaky.nodes.iter().map(|n| n.id).collect();
        for node in nodes {
            let a = offers(&self.flaky, node, self.shown_until);
            let b = offers(&self.fixed, node, self.shown_until);
            for i in 0..a.len().max(b.len()) {
                let label = if i == 0 {
                    format!("N{node}")
                } else {
                    String::new()
                };
                out += &row(
                    &label,
                    a.get(i).map(String::as_str).unwrap_or(""),
                    b.get(i).map(String::as_str).unwrap_or(""),
                );
            }
        }
        out += "\n";
        out += &row("", &verdict(&self.flaky), &verdict(&self.fixed));
        out += "\n";
        out += if self.succeeded() {
            "Why: in the flaky run N5 started with nothing cached and read the store (100 ms there\n\
             and back). 2 ms in, a peer's answer to its hello carried v1 in its header; as Restate's\n\
             update task does, N5 asked that peer at once and cached its EMPTY v1 2 ms later. The\n\
             store's v1, which has log 0, was then 'not newer' and dropped, and the test's first\n\
             find-tail(log 0) failed. It fires whenever the store's round trip is slower than hearing\n\
             a peer plus one peer round trip. As fixed, no peer holds v1336, so N5 waits for the\n\
             store's value whatever it cached first. `logsandbox run ... --explain` (the replay\n\
             command below) prints this chain; `--out DIR` draws it in DIR/messages.svg.\n"
        } else {
            "The demo did NOT go as expected: the flaky run should fail with `unknown log '0'` and\n\
             the fixed run should pass. Replay each with `logsandbox run` to see why.\n"
        };
        out += &format!(
            "\nReplay: logsandbox run {SCENARIO} --seed {} {}\n        logsandbox run {SCENARIO} --seed {} {}\n",
            self.flaky.seed,
            SLOW_STORE
                .iter()
                .chain(FLAKY)
                .map(|s| format!("--set {s}"))
                .collect::<Vec<_>>()
                .join(" "),
            self.fixed.seed,
            SLOW_STORE
                .iter()
                .map(|s| format!("--set {s}"))
                .collect::<Vec<_>>()
                .join(" "),
        );
        out
    }
}

/// One line per value offered to `node`'s cache until `until`.
fn offers(report: &RunReport, node: u32, until: u64) -> Vec<String> {
    report
        .metadata_offers
        .iter()
        .filter(|o| o.node == node && o.at_ns <= until)
        .map(describe_offer)
        .collect()
}

fn describe_offer(o: &MetadataOffer) -> String {
    let what = if o.value == "empty" {
        "empty".to_string()
    } else {
        "log 0".to_string()
    };
    let verdict = if o.accepted { "cached" } else { "DROPPED" };
    format!(
        "{:>8} v{} {what} from {} {verdict}",
        fmt_duration(o.at_ns),
        o.version,
        o.source.replace("metadata store", "store")
    )
}

fn verdict(r: &RunReport) -> String {
    match &r.error {
        Some(e) => format!("FAIL at {}: {e}", fmt_duration(r.sim_time_ns)),
        None if r.passed() => format!(
            "PASS: {} appends, all {} checks hold",
            r.appends_ok,
            r.checks.len()
        ),
        None => format!(
            "FAIL: {}",
            r.checks
                .iter()
                .filter(|c| !c.pass)
                .map(|c| c.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}
