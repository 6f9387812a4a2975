//! The `faults` array of a scenario, and the fault fields a script step shares with it.
//!
//! ```toml
//! faults = [
//!     { at = "1s", action = "crash", node = 3 },
//!     { at = "2s", action = "restart", node = 3 },
//!     { at = "1s", action = "wipe", node = 2 },
//!     { at = "1s", until = "2s", action = "drop", from = 5, to = 1 },      # one way
//!     { at = "1s", until = "2s", action = "partition", from = 5, to = 1 }, # both ways
//!     { at = "1s", action = "hold", from = 5, to = 2 },
//!     { at = "1.2s", action = "release", from = 5, to = 2 },
//!     { at = "1s", action = "latency", path = "5->3", value = "50ms" },
//!     { on = "seal", at = "1ms", action = "crash", node = 1 },            # counted from the seal
//!     { on = "loglet-sealed", on_node = 6, at = "0ms", action = "crash", node = 6 },
//!                                          # counted from a race point a node reached
//!     { at = "1s", until = "1.5s", action = "store-unavailable" },        # fail retryable
//!     { at = "1s", until = "1.5s", action = "store-hang" },               # wait, then served
//!     { at = "1s", until = "1.3s", action = "store-election" },           # a pause
//!     { at = "1s", action = "store-terminal" },                           # refuse for good
//!     { at = "2s", action = "store-recover" },
//! ]
//! ```

use super::ScenarioError;
use crate::fault::{Fault, Planned};
use crate::latency::Latency;
use crate::metadata_store::Outage;
use crate::net::envelope::Endpoint;
use crate::net::rules::Route;
use crate::op::{NodeId, RACE_POINTS, RacePoint, race_point_named};
use crate::time::parse_duration;

/// What a planned fault's times count from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    /// The start of the run.
    Start,
    /// The moment the first seal completes.
    Seal,
    /// The first time a node (this one, if named) reports a race point (`host.reached`):
    /// `loglet-sealed`, `chain-put`...
    Reached(RacePoint, Option<NodeId>),
}

/// A fault of the scenario's `faults` array.
#[derive(Debug, Clone, PartialEq)]
pub struct ScenarioFault {
    /// What its times count from.
    pub trigger: Trigger,
    /// When, and what.
    pub planned: Planned,
}

/// Reads the fields of one table, naming `key.field` in every error, and refuses fields
/// nobody read.
pub(super) struct Fields<'a> {
    pub file: &'a str,
    pub key: String,
    pub table: toml::Table,
}

impl<'a> Fields<'a> {
    /// The fields of item `key` of an array of tables, or an error naming it and showing
    /// the shape expected (`example`).
    pub fn of_item(
        file: &'a str,
        key: String,
        item: toml::Value,
        example: &str,
    ) -> Result<Fields<'a>, ScenarioError> {
        match item {
            toml::Value::Table(table) => Ok(Fields { file, key, table }),
            _ => Err(ScenarioError::BadValue {
                file: file.to_string(),
                key,
                reason: format!("expected a table like {example}"),
            }),
        }
    }

    pub fn bad(&self, field: &str, reason: impl Into<String>) -> ScenarioError {
        ScenarioError::BadValue {
            file: self.file.to_string(),
            key: format!("{}.{field}", self.key),
            reason: reason.into(),
        }
    }

    pub fn has(&self, field: &str) -> bool {
        self.table.contains_key(field)
    }

    pub fn text(&mut self, field: &str) -> Result<Option<String>, ScenarioError> {
        match self.table.remove(field) {
            None => Ok(None),
            Some(toml::Value::String(s)) => Ok(Some(s)),
            Some(other) => Err(self.bad(field, format!("expected a string, got {other}"))),
        }
    }

    pub fn duration(&mut self, field: &str) -> Result<Option<u64>, ScenarioError> {
        match self.table.remove(field) {
            None => Ok(None),
            Some(toml::Value::String(s)) => parse_duration(&s).map(Some).ok_or_else(|| {
                self.bad(
                    field,
                    format!("malformed duration {s:?}: expected a number with a unit (us, ms, s)"),
                )
            }),
            Some(_) => Err(self.bad(field, "expected a duration such as \"20ms\"")),
        }
    }

    pub fn integer(&mut self, field: &str, max: u64) -> Result<Option<u64>, ScenarioError> {
        match self.table.remove(field) {
            None => Ok(None),
            Some(toml::Value::Integer(n)) if n >= 0 && n as u64 <= max => Ok(Some(n as u64)),
            Some(other) => Err(self.bad(
                field,
                format!("expected an integer from 0 to {max}, got {other}"),
            )),
        }
    }

    pub fn boolean(&mut self, field: &str) -> Result<Option<bool>, ScenarioError> {
        match self.table.remove(field) {
            None => Ok(None),
            Some(toml::Value::Boolean(b)) => Ok(Some(b)),
            Some(other) => Err(self.bad(field, format!("expected true or false, got {other}"))),
        }
    }

    pub fn node(&mut self, field: &str) -> Result<NodeId, ScenarioError> {
        match self.table.remove(field) {
            Some(toml::Value::Integer(n)) if n > 0 && n <= u32::MAX as i64 => Ok(n as u32),
            _ => Err(self.bad(field, "expected a node id such as 2")),
        }
    }

    /// An optional list of node ids, such as `[1, 2, 3]`.
    pub fn nodes(&mut self, field: &str) -> Result<Option<Vec<NodeId>>, ScenarioError> {
        let Some(value) = self.table.remove(field) else {
            return Ok(None);
        };
        let nodes = value.as_array().and_then(|items| {
            items
                .iter()
                .map(|n| match n {
                    toml::Value::Integer(n) if *n > 0 && *n <= u32::MAX as i64 => Some(*n as u32),
                    _ => None,
                })
                .collect::<Option<Vec<NodeId>>>()
        });
        match nodes {
            Some(nodes) if !nodes.is_empty() => Ok(Some(nodes)),
            _ => Err(self.bad(field, "expected a list of node ids such as [1, 2, 3]")),
        }
    }

    /// A node id, or `"store"` for the metadata store.
    pub fn endpoint(&mut self, field: &str) -> Result<Endpoint, ScenarioError> {
        match self.table.remove(field) {
            Some(toml::Value::Integer(n)) if n > 0 && n <= u32::MAX as i64 => {
                Ok(Endpoint::Node(n as u32))
            }
            Some(toml::Value::String(s)) if s == "store" => Ok(Endpoint::Store),
            _ => Err(self.bad(
                field,
                "expected a node id such as 2, or \"store\" for the metadata store",
            )),
        }
    }

    /// Fails on the first field nobody read.
    pub fn finish(self) -> Result<(), ScenarioError> {
        match self.table.keys().next() {
            Some(extra) => Err(ScenarioError::UnknownKey {
                file: self.file.to_string(),
                key: format!("{}.{extra}", self.key),
                from_set: false,
            }),
            None => Ok(()),
        }
    }
}

/// A path for a latency: `network`, `peer_metadata`, `metadata_store`, `storage`, or a
/// link `5->1`, `5->store`, `2->disk` (N2's commits).
pub(crate) fn parse_path(text: &str) -> Option<Route> {
    let node = |s: &str| {
        s.trim()
            .trim_start_matches('N')
            .parse::<u32>()
            .ok()
            .filter(|n| *n > 0)
    };
    match text.trim() {
        "network" => Some(Route::Network),
        "peer_metadata" => Some(Route::PeerMetadata),
        "metadata_store" => Some(Route::MetadataStore),
        "storage" => Some(Route::Storage),
        link => {
            let (a, b) = link.split_once("->")?;
            let from = node(a)?;
            let to = match b.trim() {
                "store" => Endpoint::Store,
                "disk" => Endpoint::Disk(from),
                other => Endpoint::Node(node(other)?),
            };
            Some(Route::Link(Endpoint::Node(from), to))
        }
    }
}

/// The fault named by `action` and the fields that go with it. Returns the fault and,
/// for a partition, a drop or a store outage, the time (relative, from `until_field`) it
/// ends.
pub(super) fn parse_action(
    action: &str,
    fields: &mut Fields,
    until_field: &str,
) -> Result<(Fault, Option<u64>), ScenarioError> {
    let both_ways = |f: &mut Fields| -> Result<bool, ScenarioError> {
        Ok(!f.boolean("one_way")?.unwrap_or(false))
    };
    let fault = match action {
        "start" => Fault::Start(fields.node("node")?),
        "crash" => Fault::Crash(fields.node("node")?),
        "restart" => Fault::Restart(fields.node("node")?),
        "wipe" => Fault::Wipe(fields.node("node")?),
        "drop" | "partition" => {
            let until = fields.duration(until_field)?;
            if action == "drop" && until.is_none() {
                return Err(fields.bad(until_field, "a drop needs `until`, e.g. \"600ms\""));
            }
            let both_ways = action == "partition" && both_ways(fields)?;
            let from = fields.endpoint("from")?;
            let to = fields.endpoint("to")?;
            let fault = Fault::Partition {
                from,
                to,
                both_ways,
                until: None,
            };
            return Ok((fault, until));
        }
        "heal" => {
            let both_ways = both_ways(fields)?;
            Fault::Heal {
                from: fields.endpoint("from")?,
                to: fields.endpoint("to")?,
                both_ways,
            }
        }
        "heal-all" => Fault::HealAll,
        "hold" => Fault::Hold {
            from: fields.endpoint("from")?,
            to: fields.endpoint("to")?,
        },
        "release" => Fault::Release {
            from: fields.endpoint("from")?,
            to: fields.endpoint("to")?,
        },
        "latency" => {
            let path_text = fields.text("path")?.ok_or_else(|| {
                fields.bad("path", "missing: network, peer_metadata, metadata_store, storage or a link such as \"5->1\"")
            })?;
            let path = parse_path(&path_text).ok_or_else(|| {
                fields.bad(
                    "path",
                    format!("{path_text:?} is not network, peer_metadata, metadata_store, storage or a link such as \"5->1\", \"5->store\", \"2->disk\""),
                )
            })?;
            let value = fields
                .text("value")?
                .ok_or_else(|| fields.bad("value", "missing: a latency such as \"50ms\""))?;
            let latency = Latency::parse(&value).map_err(|e| fields.bad("value", e.to_string()))?;
            Fault::Latency { path, latency }
        }
        action if Outage::from_action(action).is_some() => {
            let outage = Outage::from_action(action).expect("checked");
            let until = fields.duration(until_field)?;
            if outage == Outage::Election && until.is_none() {
                return Err(fields.bad(
                    until_field,
                    "an election needs `until`: when a new leader serves, e.g. \"2.3s\"",
                ));
            }
            return Ok((
                Fault::StoreOutage {
                    outage,
                    until: None,
                },
                until,
            ));
        }
        "store-recover" => Fault::StoreRecover,
        _ => {
            return Err(fields.bad(
                "action",
                format!("{action:?} is not \"crash\", \"restart\", \"wipe\", \"start\", \"drop\", \"partition\", \"heal\", \"heal-all\", \"hold\", \"release\", \"latency\", \"store-unavailable\", \"store-hang\", \"store-election\", \"store-terminal\" or \"store-recover\""),
            ));
        }
    };
    Ok((fault, None))
}

/// Parses the `faults` array.
pub(super) fn parse_faults(
    file: &str,
    items: Vec<toml::Value>,
) -> Result<Vec<ScenarioFault>, ScenarioError> {
    let mut faults = Vec::new();
    for (i, item) in items.into_iter().enumerate() {
        let example = "{ at = \"20ms\", action = \"crash\", node = 2 }";
        let mut fields = Fields::of_item(file, format!("faults[{i}]"), item, example)?;
        let at = fields
            .duration("at")?
            .ok_or_else(|| fields.bad("at", "missing: when the fault happens, e.g. \"20ms\""))?;
        let on_node = if fields.has("on_node") {
            Some(fields.node("on_node")?)
        } else {
            None
        };
        let on = fields.text("on");
        let point = on
            .as_ref()
            .ok()
            .and_then(|s| race_point_named(s.as_deref()?));
        let trigger = match (on.as_ref().map(|s| s.as_deref()), point) {
            (Ok(None | Some("start")), _) => Trigger::Start,
            (Ok(Some("seal")), _) => Trigger::Seal,
            (Ok(Some(_)), Some(point)) => Trigger::Reached(point, on_node),
            _ => {
                let points: Vec<&str> = RACE_POINTS.iter().map(|(_, n)| *n).collect();
                return Err(fields.bad(
                    "on",
                    format!(
                        "expected \"start\", \"seal\" or a race point: {}",
                        points.join(", ")
                    ),
                ));
            }
        };
        if on_node.is_some() && !matches!(trigger, Trigger::Reached(..)) {
            return Err(fields.bad("on_node", "only a race point (`on`) is reached by a node"));
        }
        let action = fields
            .text("action")?
            .ok_or_else(|| fields.bad("action", "missing: what happens, e.g. \"crash\""))?;
        let (fault, until) = parse_action(&action, &mut fields, "until")?;
        if until.is_some_and(|u| u <= at) {
            return Err(fields.bad("until", "must come after `at`"));
        }
        fields.finish()?;
        faults.push(ScenarioFault {
            trigger,
            planned: Planned { at, until, fault },
        });
    }
    Ok(faults)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_name_classes_and_links() {
        assert_eq!(parse_path("network"), Some(Route::Network));
        assert_eq!(parse_path("5->1"), Some(Route::link(5, 1)));
        assert_eq!(
            parse_path("N5 -> store"),
            Some(Route::link(5, Endpoint::Store))
        );
        assert_eq!(
            parse_path("2->disk"),
            Some(Route::link(2, Endpoint::Disk(2)))
        );
        assert_eq!(parse_path("5->"), None);
        assert_eq!(parse_path("fast"), None);
    }
}
