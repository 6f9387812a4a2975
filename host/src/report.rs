//! One run's outcome: printed for people, as one JSON object for scripts (`--json`), and
//! as files (`--out DIR`: `report.json`, `history.json`, `trace.jsonl`).

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use serde::Serialize;
use serde_json::json;

use crate::checker::CheckResult;
use crate::history::History;
use crate::time::fmt_duration;
use crate::trace::TraceRecord;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Pass,
    Fail,
}

#[derive(Debug, Clone, Serialize)]
pub struct NodeReport {
    pub id: u32,
    pub role: String,
    pub status: String,
    pub crash_reason: Option<String>,
    pub crashes: u32,
    pub restarts: u32,
}

/// A metadata value offered to a node's cache: taken, or dropped as not newer.
#[derive(Debug, Clone, Serialize)]
pub struct MetadataOffer {
    pub node: u32,
    pub at_ns: u64,
    pub version: u32,
    /// `metadata store`, `peer N1` or `own write`.
    pub source: String,
    /// `empty`, or `log 0 -> 0_0 on [1, 2, 3]`.
    pub value: String,
    pub has_log0: bool,
    /// Taken by the cache (strictly newer), or dropped.
    pub accepted: bool,
}

#[derive(Debug, Clone)]
pub struct RunReport {
    pub scenario: String,
    pub seed: u64,
    pub outcome: Outcome,
    pub error: Option<String>,
    pub checks: Vec<CheckResult>,
    pub trace_hash: String,
    /// Events delivered: to nodes, and to the metadata store.
    pub events: u64,
    pub messages: u64,
    pub writes: u64,
    pub appends_ok: u64,
    pub client_ops: u64,
    pub sim_time_ns: u64,
    pub wall_ms: f64,
    pub nodes: Vec<NodeReport>,
    pub metadata_offers: Vec<MetadataOffer>,
    /// Which component ran.
    pub guest: String,
    pub summary: String,
    pub trace: Vec<TraceRecord>,
    pub history: History,
}

impl RunReport {
    pub fn passed(&self) -> bool {
        self.outcome == Outcome::Pass
    }

    pub fn events_per_second(&self) -> f64 {
        self.events as f64 / (self.wall_ms / 1000.0).max(1e-9)
    }

    /// The `--json` object.
    pub fn to_json(&self) -> serde_json::Value {
        let checks: BTreeMap<&str, &str> = self
            .checks
            .iter()
            .map(|c| (c.name, if c.pass { "pass" } else { "fail" }))
            .collect();
        let details: BTreeMap<&str, &str> = self
            .checks
            .iter()
            .map(|c| (c.name, c.detail.as_str()))
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
        })
    }

    /// The human summary.
    pub fn render(&self, replay: &str) -> String {
        let mut out = String::new();
        let verdict = if self.passed() { "PASS" } else { "FAIL" };
        out += &format!("{}  seed {}  {}\n", self.scenario, self.seed, verdict);
        out += &format!("  cluster   {}\n", self.summary);
        if let Some(error) = &self.error {
            out += &format!("  error     {error}\n");
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
                        .map(|r| format!(": {r}"))
                        .unwrap_or_default()
                );
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
                out += &format!(
                    "    {} {:<32} {}\n",
                    if c.pass { "ok  " } else { "FAIL" },
                    c.name,
                    c.detail
                );
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
        let mut out = String::new();
        for r in &self.trace {
            let node = format!("N{}", r.node);
            if filter.is_empty() || node == filter || r.what.contains(filter) {
                out += &format!("{:>12}  {node:<4} {}\n", fmt_duration(r.t), r.what);
            }
        }
        out
    }

    /// Writes `report.json`, `history.json` and `trace.jsonl` into `dir`.
    pub fn write_files(&self, dir: &Path) {
        let write = |name: &str, text: String| {
            if let Err(e) = std::fs::write(dir.join(name), text) {
                eprintln!("warning: could not write {}: {e}", dir.join(name).display());
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
    }
}
