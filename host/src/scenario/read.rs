//! Reading a scenario file: its table sorted into keys, guest settings, faults and steps;
//! each key written into a `Scenario::default()` by the key table; then the checks that
//! span keys (the cluster, the nodes faults and steps name, the workload's needs).

use std::collections::BTreeMap;

use super::keys::{self, Value};
use super::{Scenario, ScenarioError, ScenarioFault, WorkloadKind, faults, segments, steps};
use crate::workload::{Step, StepAction};

/// Sorts a file's tables into plain keys, guest settings, faults and steps.
pub(super) struct Reader {
    file: String,
    values: BTreeMap<String, toml::Value>,
    guest: Vec<(String, String)>,
    faults: Vec<ScenarioFault>,
    steps: Vec<Step>,
    segments: Vec<crate::config::SegmentSpec>,
}

impl Reader {
    pub fn new(file: &str) -> Reader {
        Reader {
            file: file.to_string(),
            values: BTreeMap::new(),
            guest: Vec::new(),
            faults: Vec::new(),
            steps: Vec::new(),
            segments: Vec::new(),
        }
    }

    fn bad(&self, key: &str, reason: String) -> ScenarioError {
        ScenarioError::BadValue {
            file: self.file.clone(),
            key: key.to_string(),
            reason,
        }
    }

    pub fn flatten(&mut self, prefix: &str, table: toml::Table) -> Result<(), ScenarioError> {
        for (k, v) in table {
            let name = if prefix.is_empty() {
                k.clone()
            } else {
                format!("{prefix}.{k}")
            };
            match (name.as_str(), v) {
                ("guest", toml::Value::Table(t)) => self.guest_settings("", t)?,
                ("faults", toml::Value::Array(items)) => {
                    self.faults = faults::parse_faults(&self.file, items)?
                }
                ("steps", toml::Value::Array(items)) => {
                    self.steps = steps::parse_steps(&self.file, items)?
                }
                ("metadata.segments", toml::Value::Array(items)) => {
                    self.segments = segments::parse_segments(&self.file, items)?
                }
                (_, toml::Value::Table(t))
                    if keys::KEYS
                        .iter()
                        .any(|k| k.name.starts_with(&format!("{name}."))) =>
                {
                    self.flatten(&name, t)?
                }
                (_, v) => {
                    if keys::find(&name).is_none() {
                        return Err(ScenarioError::UnknownKey {
                            file: self.file.clone(),
                            key: name,
                            from_set: false,
                        });
                    }
                    self.values.insert(name, v);
                }
            }
        }
        Ok(())
    }

    fn guest_settings(&mut self, prefix: &str, table: toml::Table) -> Result<(), ScenarioError> {
        for (k, v) in table {
            let name = if prefix.is_empty() {
                k
            } else {
                format!("{prefix}.{k}")
            };
            match v {
                toml::Value::Table(t) => self.guest_settings(&name, t)?,
                toml::Value::String(s) => self.guest.push((name, s)),
                toml::Value::Integer(i) => self.guest.push((name, i.to_string())),
                toml::Value::Boolean(b) => self.guest.push((name, b.to_string())),
                toml::Value::Float(x) => self.guest.push((name, x.to_string())),
                other => {
                    return Err(self.bad(
                        &format!("guest.{name}"),
                        format!("expected a scalar, got {other}"),
                    ));
                }
            }
        }
        Ok(())
    }

    pub fn build(mut self) -> Result<Scenario, ScenarioError> {
        let mut s = Scenario {
            source: self.file.clone(),
            ..Scenario::default()
        };
        for (name, raw) in &self.values {
            let key = keys::find(name).expect("flatten keeps known keys only");
            key.write(
                &mut s,
                &Value {
                    file: &self.file,
                    key,
                    raw,
                },
            )?;
        }
        // The built-in guest's settings take only values it can use; others pass through.
        for (name, value) in &self.guest {
            keys::guest::check(name, value)
                .map_err(|why| self.bad(&format!("guest.{name}"), why))?;
        }
        keys::guest::check_together(&self.guest)
            .map_err(|(name, why)| self.bad(&format!("guest.{name}"), why))?;
        s.config.settings = std::mem::take(&mut self.guest);
        s.faults = std::mem::take(&mut self.faults);
        s.steps = std::mem::take(&mut self.steps);
        s.config.metadata.segments = std::mem::take(&mut self.segments);
        self.check(s)
    }

    /// The checks that span keys.
    fn check(&self, mut s: Scenario) -> Result<Scenario, ScenarioError> {
        let cluster = s
            .config
            .checked_cluster()
            .map_err(|e| self.bad(&e.key(), e.to_string()))?;
        for (i, fault) in s.faults.iter().enumerate() {
            if let Some(node) = fault
                .planned
                .fault
                .nodes()
                .into_iter()
                .find(|n| !cluster.is_member(*n))
            {
                let e = cluster.not_a_member(node);
                return Err(self.bad(&format!("faults[{i}]"), e.to_string()));
            }
        }
        for (i, step) in s.steps.iter().enumerate() {
            let nodes = match &step.action {
                StepAction::Invoke { node, .. } => vec![*node],
                StepAction::Fault(p) => p.fault.nodes(),
                StepAction::PutLogs { .. } | StepAction::Stop => vec![],
            };
            if let Some(node) = nodes.into_iter().find(|n| !cluster.is_member(*n)) {
                let e = cluster.not_a_member(node);
                return Err(self.bad(&format!("steps[{i}]"), e.to_string()));
            }
        }
        if !self.values.contains_key("workload.kind") && !s.steps.is_empty() {
            s.workload.kind = WorkloadKind::Script;
        }
        if s.workload.kind == WorkloadKind::Script && s.steps.is_empty() {
            return Err(self.bad("workload.kind", "a script needs [[steps]]".into()));
        }
        if s.workload.random.weights.iter().all(|w| *w == 0) {
            return Err(self.bad(
                "workload.weights.append",
                "at least one operation needs a weight above 0".into(),
            ));
        }
        Ok(s)
    }
}
