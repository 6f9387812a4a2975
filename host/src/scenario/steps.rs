//! The `[[steps]]` of a scenario: a script, run by [`crate::workload::Script`].
//!
//! ```toml
//! [[steps]]
//! name = "write-logs"          # optional; `step-N` otherwise
//! at = "2s"                    # or `after = "name"` (+ `delay`); default: after the previous step
//! put_logs = 1                 # the run's Logs at v1, precondition None
//!
//! [[steps]]
//! start = 5                    # start node N5
//!
//! [[steps]]
//! invoke = "find-tail"         # append, seal, find-tail, read, trim, seal-and-extend,
//!                              # wait-for-metadata
//! node = 5                     # log = 0; payload, from/to (LSNs), point (an LSN), version,
//!                              # or for seal-and-extend: segment, sequencer, nodeset,
//!                              # replication, min_version (each optional); an append
//!                              # may name its recovery `strategy`: wait, allowed, preferred
//! expect = "failed: unknown log '0'"
//! not_before = "10s"           # optional: it must also take at least this long
//! within = "3s"                # optional: and at most this long
//!
//! [[steps]]
//! fault = "partition"          # any fault action: crash, restart, wipe, partition, heal, hold...
//! from = 5
//! to = 1
//! lasts = "500ms"              # a partition or store outage ends by itself after this long
//!
//! [[steps]]
//! latency = "200ms"            # a latency change
//! path = "metadata_store"      # network, peer_metadata, storage, or a link "5->1"
//!
//! [[steps]]
//! at = "3s"
//! stop = true                  # the run ends here, whatever is still in flight
//! ```

use super::ScenarioError;
use super::faults::{Fields, parse_action, parse_path};
use crate::bindings::Precondition;
use crate::fault::{Fault, Planned};
use crate::latency::Latency;
use crate::metadata_store::{PRECONDITION_FORMS, parse_precondition};
use crate::op::{MetadataKind, OLDEST_LSN, Op, SealAndExtend, strategy_named};
use crate::time::SimTime;
use crate::workload::{Step, StepAction, StepTiming};

/// Parses the `steps` array.
pub(super) fn parse_steps(file: &str, items: Vec<toml::Value>) -> Result<Vec<Step>, ScenarioError> {
    let mut steps: Vec<Step> = Vec::new();
    for (i, item) in items.into_iter().enumerate() {
        let mut f = Fields::of_item(file, format!("steps[{i}]"), item, "[[steps]]")?;
        let name = f.text("name")?.unwrap_or_else(|| format!("step-{}", i + 1));
        if steps.iter().any(|s| s.name == name) {
            return Err(f.bad("name", format!("another step is already named {name:?}")));
        }
        let delay = f.duration("delay")?.unwrap_or(0);
        let timing = match (f.duration("at")?, f.text("after")?) {
            (Some(_), Some(_)) => {
                return Err(f.bad("after", "a step fires either `at` a time or `after` a step"));
            }
            (Some(at), None) => StepTiming::At(SimTime(at.saturating_add(delay))),
            (None, Some(after)) => match steps.iter().position(|s| s.name == after) {
                Some(step) => StepTiming::After { step, delay },
                None => {
                    return Err(f.bad("after", format!("no earlier step is named {after:?}")));
                }
            },
            (None, None) if i == 0 => StepTiming::At(SimTime(delay)),
            (None, None) => StepTiming::After { step: i - 1, delay },
        };
        let kinds: Vec<&str> = ["start", "put_logs", "invoke", "fault", "latency", "stop"]
            .into_iter()
            .filter(|k| f.has(k))
            .collect();
        if kinds.len() != 1 {
            return Err(f.bad(
                "invoke",
                format!(
                    "a step does exactly one of start, put_logs, invoke, fault, latency or stop; this one has {}",
                    if kinds.is_empty() { "none".to_string() } else { kinds.join(", ") }
                ),
            ));
        }
        let action = match kinds[0] {
            "start" => StepAction::Fault(Planned {
                at: 0,
                until: None,
                fault: Fault::Start(f.node("start")?),
            }),
            "put_logs" => {
                let version = f.integer("put_logs", u32::MAX as u64)?.unwrap_or(1) as u32;
                if version == 0 {
                    return Err(f.bad("put_logs", "a Logs version is at least 1"));
                }
                let precondition = match f.text("precondition")? {
                    None => Precondition::None,
                    Some(text) => parse_precondition(&text)
                        .ok_or_else(|| f.bad("precondition", PRECONDITION_FORMS))?,
                };
                StepAction::PutLogs {
                    version,
                    precondition,
                }
            }
            "invoke" => parse_invoke(&mut f)?,
            "stop" => {
                if f.boolean("stop")? != Some(true) {
                    return Err(f.bad("stop", "a stop step says `stop = true`"));
                }
                StepAction::Stop
            }
            "fault" => {
                let action = f.text("fault")?.unwrap_or_default();
                let (fault, until) =
                    parse_action(&action, &mut f, "lasts").map_err(|e| match e {
                        ScenarioError::BadValue { file, key, reason }
                            if key.ends_with(".action") =>
                        {
                            ScenarioError::BadValue {
                                file,
                                key: key.replace(".action", ".fault"),
                                reason,
                            }
                        }
                        other => other,
                    })?;
                StepAction::Fault(Planned {
                    at: 0,
                    until,
                    fault,
                })
            }
            _ => {
                let value = f.text("latency")?.unwrap_or_default();
                let latency =
                    Latency::parse(&value).map_err(|e| f.bad("latency", e.to_string()))?;
                let path_text = f.text("path")?.ok_or_else(|| {
                    f.bad("path", "missing: network, peer_metadata, metadata_store, storage or a link such as \"5->1\"")
                })?;
                let path = parse_path(&path_text).ok_or_else(|| {
                    f.bad("path", format!("{path_text:?} is not network, peer_metadata, metadata_store, storage or a link such as \"5->1\""))
                })?;
                StepAction::Fault(Planned {
                    at: 0,
                    until: None,
                    fault: Fault::Latency { path, latency },
                })
            }
        };
        let expect = f.text("expect")?;
        if expect.is_some() && !matches!(action, StepAction::Invoke { .. }) {
            return Err(f.bad("expect", "only an invoke step has a result to expect"));
        }
        let not_before = f.duration("not_before")?;
        if not_before.is_some() && expect.is_none() {
            return Err(f.bad(
                "not_before",
                "goes with `expect`: the result it must have, and no sooner than this",
            ));
        }
        let within = f.duration("within")?;
        if within.is_some() && expect.is_none() {
            return Err(f.bad(
                "within",
                "goes with `expect`: the result it must have, and no later than this",
            ));
        }
        if let (Some(min), Some(max)) = (not_before, within)
            && min > max
        {
            return Err(f.bad(
                "within",
                "is shorter than `not_before`: no result could come in time",
            ));
        }
        f.finish()?;
        steps.push(Step {
            name,
            timing,
            action,
            expect,
            not_before,
            within,
        });
    }
    Ok(steps)
}

fn parse_invoke(f: &mut Fields) -> Result<StepAction, ScenarioError> {
    let what = f.text("invoke")?.unwrap_or_default();
    let node = f.node("node")?;
    let log = f.integer("log", u32::MAX as u64)?.unwrap_or(0) as u32;
    // LSNs are whole numbers TOML can write: up to 2^63 - 1.
    let lsn = |f: &mut Fields, field: &str| f.integer(field, i64::MAX as u64);
    let op = match what.as_str() {
        "append" => {
            let payload = f
                .text("payload")?
                .ok_or_else(|| f.bad("payload", "missing: the record to append"))?;
            match f.text("strategy")? {
                None => Op::append(log, payload),
                Some(name) => match strategy_named(&name) {
                    Some(strategy) => Op::AppendRecovering(log, payload.into_bytes(), strategy),
                    None => {
                        return Err(f.bad(
                            "strategy",
                            format!("{name:?} is not wait, allowed or preferred"),
                        ));
                    }
                },
            }
        }
        "seal" => Op::Seal(log),
        "find-tail" => Op::FindTail(log),
        "read" => {
            let from = lsn(f, "from")?.unwrap_or(OLDEST_LSN);
            let to = lsn(f, "to")?
                .ok_or_else(|| f.bad("to", "missing: the LSN after the last one to read"))?;
            Op::Read(log, from, to)
        }
        "trim" => Op::Trim(
            log,
            lsn(f, "point")?.ok_or_else(|| f.bad("point", "missing: the LSN to trim up to"))?,
        ),
        "seal-and-extend" => Op::SealAndExtend(SealAndExtend {
            log,
            min_version: f.integer("min_version", u32::MAX as u64)?.map(|v| v as u32),
            segment_index: f.integer("segment", u32::MAX as u64)?.map(|v| v as u32),
            sequencer: if f.has("sequencer") {
                Some(f.node("sequencer")?)
            } else {
                None
            },
            nodeset: f.nodes("nodeset")?,
            replication: f.integer("replication", u8::MAX as u64)?.map(|v| v as u8),
        }),
        "wait-for-metadata" => Op::WaitForMetadata(
            MetadataKind::Logs,
            f.integer("version", u32::MAX as u64)?
                .map(|v| v as u32)
                .ok_or_else(|| f.bad("version", "missing: the Logs version to wait for"))?,
        ),
        other => {
            return Err(f.bad(
                "invoke",
                format!(
                    "{other:?} is not append, seal, find-tail, read, trim, seal-and-extend or wait-for-metadata"
                ),
            ));
        }
    };
    Ok(StepAction::Invoke { node, op })
}
