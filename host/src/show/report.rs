//! One run's outcome: printed for people, as one JSON object for scripts (`--json`), and
//! as files (`--out DIR`: `report.json`, `history.json`, `trace.jsonl`).

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use serde::Serialize;
use serde_json::json;

use crate::check::CheckResult;
use crate::record::history::History;
use crate::record::journal::Journal;
use crate::record::trace::TraceRecord;
use crate::show::explain::{self, Explanation};
use crate::show::timeline::Timeline;
use crate::time::fmt_duration;

// Both lived here before the record and the show had folders: `MetadataOffer` moved
// down into the record (the simulator writes it), `one_line` into the leaf `text.rs`.
// Re-exported so `logsandbox::report::{MetadataOffer, one_line}` still work for a turn.
pub use crate::record::offers::MetadataOffer;
pub use crate::show::text::one_line;

/// Whether a run passed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// Every check held (and the run did not fail, or failed as expected).
    Pass,
    /// A check failed, or the run failed with an error.
    Fail,
}

/// One node at the end of a run.
#[derive(Debug, Clone, Serialize)]
pub struct NodeReport {
    /// Its id.
    pub id: u32,
    /// `log-server`, `client` or `client+sequencer`.
    pub role: String,
    /// `running`, `crashed`, `crashed (planned)` or `not started`.
    pub status: String,
    /// Why it crashed, if it is down.
    pub crash_reason: Option<String>,
    /// What the guest printed before its last unplanned crash (the last 4 KiB of its
    /// stdout and stderr): a panic message, a Python traceback.
    pub printed: Option<String>,
    /// How many times it crashed.
    pub crashes: u32,
    /// How many times it restarted.
    pub restarts: u32,
    /// The component it ran.
    pub component: String,
}

/// One run: its outcome and everything needed to understand and replay it.
#[derive(Debug, Clone)]
pub struct RunReport {
    /// The scenario's (or sandbox's) name.
    pub scenario: String,
    /// The seed.
    pub seed: u64,
    /// Pass or fail.
    pub outcome: Outcome,
    /// The error the run failed with, as the client saw it (`unknown log '0'`).
    pub error: Option<String>,
    /// Every check, in order.
    pub checks: Vec<CheckResult>,
    /// SHA-256 of every delivered event: the same seed gives the same hash.
    pub trace_hash: String,
    /// Events delivered: to nodes, and to the metadata store.
    pub events: u64,
    /// Messages sent between nodes.
    pub messages: u64,
    /// Storage writes made.
    pub writes: u64,
    /// Appends acknowledged.
    pub appends_ok: u64,
    /// Client operations invoked.
    pub client_ops: u64,
    /// Virtual time at the end (ns).
    pub sim_time_ns: u64,
    /// Wall time of the run (ms); the only figure that varies between identical runs.
    pub wall_ms: f64,
    /// Every node at the end.
    pub nodes: Vec<NodeReport>,
    /// Every value offered to a node's metadata cache, taken or dropped.
    pub metadata_offers: Vec<MetadataOffer>,
    /// Which component ran (per node when they differ).
    pub guest: String,
    /// Which workload drove the run.
    pub workload: String,
    /// The cluster in a line.
    pub summary: String,
    /// The trace's text, when kept.
    pub trace: Vec<TraceRecord>,
    /// Who talked to whom, when kept (`messages.svg`, `explain`).
    pub journal: Option<Journal>,
    /// Every client operation.
    pub history: History,
    /// How often each race point was reached, by name.
    pub race_points: BTreeMap<String, u64>,
}

impl RunReport {
    /// The run passed.
    pub fn passed(&self) -> bool {
        self.outcome == Outcome::Pass
    }

    /// Delivered events per wall-clock second.
    pub fn events_per_second(&self) -> f64 {
        self.events as f64 / (self.wall_ms / 1000.0).max(1e-9)
    }

    /// The `--json` object.
    pub fn to_json(&self) -> serde_json::Value {
        let checks: BTreeMap<&str, &str> = self
            .checks
            .iter()
            .map(|c| (c.name.as_str(), if c.pass { "pass" } else { "fail" }))
            .collect();
        let details: BTreeMap<&str, &str> = self
            .checks
            .iter()
            .map(|c| (c.name.as_str(), c.detail.as_str()))
            .collect();
        json!({
            "scenario": self.scenario,
            "seed": self.seed,
            "outcome": self.outcome,
            "error": self.error,
            "checks": checks,
            "check_details": details,
            "trace_hash": self.trace_hash,
            "events": self.events,
            "messages": self.messages,
            "storage_writes": self.writes,
            "appends_ok": self.appends_ok,
            "client_ops": self.client_ops,
            "sim_time_ms": self.sim_time_ns as f64 / 1e6,
            "wall_ms": (self.wall_ms * 1000.0).round() / 1000.0,
            "events_per_s": self.events_per_second().round(),
            "nodes": self.nodes,
            "metadata_offers": self.metadata_offers,
            "guest": self.guest,
            "workload": self.workload,
            "race_points": self.race_points,
        })
    }

    /// The human summary.
    pub fn render(&self, replay: &str) -> String {
        let mut out = String::new();
        let verdict = if self.passed() { "PASS" } else { "FAIL" };
        out += &format!("{}  seed {}  {}\n", self.scenario, self.seed, verdict);
        out += &format!("  cluster   {}\n", self.summary);
        if let Some(error) = &self.error {
            out += &format!("  error     {}\n", one_line(error));
        }
        out += &format!(
            "  ran       {} events ({} messages, {} storage writes) in {} virtual, {:.0} ms wall ({:.0}k events/s)\n",
            self.events,
            self.messages,
            self.writes,
            fmt_duration(self.sim_time_ns),
            self.wall_ms,
            self.events_per_second() / 1000.0
        );
        out += &format!(
            "  appends   {} acknowledged, {} client operations\n",
            self.appends_ok, self.client_ops
        );
        for n in &self.nodes {
            if n.crashes > 0 || n.status != "running" {
                out += &format!(
                    "  node N{}  {} ({}){}\n",
                    n.id,
                    n.status,
                    n.role,
                    n.crash_reason
                        .as_ref()
                        .map(|r| format!(": {}", one_line(r)))
                        .unwrap_or_default()
                );
                // Each line behind a bar, escaped: guest text never reads as a report line.
                if let Some(printed) = &n.printed {
                    out += &format!(
                        "            it printed (stdout and stderr, last {} KiB):\n",
                        crate::runtime::output::KEEP >> 10
                    );
                    for line in printed.lines() {
                        out += &format!("            | {}\n", one_line(line));
                    }
                }
            }
        }
        let held = self.checks.iter().filter(|c| c.pass).count();
        if self.error.is_some() && !self.passed() {
            // The workload stopped at the error: the checks that need the rest cannot hold.
            out += &format!(
                "  checks    {held} of {} hold; the run stopped at its error (--json lists each)\n",
                self.checks.len()
            );
        } else {
            out += "  checks\n";
            for c in &self.checks {
                out += &format!("    {}\n", check_line(c));
            }
        }
        out += &format!("  trace     {}\n", self.trace_hash);
        if !self.passed() {
            out += &format!("  replay    {replay}\n");
        }
        out
    }

    /// The trace as text, one event a line: virtual time, node, what happened. Only the
    /// lines that contain `filter` (all when it is empty); a node's lines also match `N5`.
    pub fn timeline(&self, filter: &str) -> String {
        Timeline::plain(filter).render(&self.trace)
    }

    /// The causal chain that led to the failing operation, when the run failed and its
    /// journal was kept.
    pub fn explain(&self) -> Option<Explanation> {
        if self.passed() {
            return None;
        }
        let journal = self.journal.as_ref()?;
        let failing: Vec<String> = self
            .checks
            .iter()
            .filter(|c| !c.pass)
            .map(|c| c.detail.clone())
            .collect();
        Some(explain::explain(journal, self.error.as_deref(), &failing))
    }

    /// `messages.svg`: the Lamport diagram of the run, around its failing operation (with
    /// the causal chain in red) or from its start; None without a journal.
    pub fn messages_svg(&self) -> Option<String> {
        use crate::show::diagram::{Window, render};
        let journal = self.journal.as_ref()?;
        let explanation = self.explain();
        let failing = explanation
            .as_ref()
            .and_then(|e| e.target.as_ref())
            .map(|t| journal.marks[t.mark as usize].entry);
        let window = match failing {
            Some(entry) => Window::around(journal, entry),
            None => Window::start(journal),
        };
        let highlight = explanation.map(|e| e.highlight).unwrap_or_default();
        let title = format!(
            "{} seed {}: {}{}",
            self.scenario,
            self.seed,
            if self.passed() { "PASS" } else { "FAIL" },
            self.error
                .as_deref()
                .map(|e| format!(" ({e})"))
                .unwrap_or_default()
        );
        Some(render(journal, window, &highlight, &title))
    }

    /// Writes `report.json`, `history.json`, `trace.jsonl`, `messages.svg` and, for a
    /// failed run, `explain.txt` into `dir`.
    pub fn write_files(&self, dir: &Path) {
        let write = |name: &str, text: String| {
            if let Err(e) = std::fs::write(dir.join(name), text) {
                tracing::warn!(
                    file = %dir.join(name).display(),
                    "could not write {}: {e}",
                    dir.join(name).display()
                );
            }
        };
        write(
            "report.json",
            serde_json::to_string_pretty(&self.to_json()).unwrap_or_default(),
        );
        write(
            "history.json",
            serde_json::to_string_pretty(&self.history.jepsen()).unwrap_or_default(),
        );
        let mut trace = Vec::new();
        for r in &self.trace {
            let _ = serde_json::to_writer(&mut trace, r);
            let _ = trace.write_all(b"\n");
        }
        write("trace.jsonl", String::from_utf8_lossy(&trace).into_owned());
        if let Some(svg) = self.messages_svg() {
            write("messages.svg", svg);
        }
        if let Some(explanation) = self.explain() {
            write("explain.txt", explanation.render());
        }
    }
}

/// One check as a line: `ok   name  detail` or `FAIL name  detail`, made safe to print.
pub fn check_line(c: &CheckResult) -> String {
    format!(
        "{} {:<32} {}",
        if c.pass { "ok  " } else { "FAIL" },
        one_line(&c.name),
        one_line(&c.detail)
    )
}
