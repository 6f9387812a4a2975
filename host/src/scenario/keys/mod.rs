//! Every key a scenario understands, in one table: its type, the values it takes, what it
//! means, and the field it reads and writes. The table is the file format: the reader
//! writes each key given into a `Scenario::default()`, and a key's default is read off
//! that same value ([`Key::default_text`]), so the format, the defaults and
//! `logsandbox keys` cannot drift apart. `--set` overrides land in the table first.

//!
//! - here: what a key is ([`Key`], [`Kind`]), finding one, a value read with its key's type,
//!   and `--set` applied to a file before it is read;
//! - `table`: the table itself, [`KEYS`], with each key's field.

pub mod guest;
mod table;

use super::{Scenario, ScenarioError};
use crate::latency::Latency;
use crate::time::parse_duration;

pub use table::KEYS;

use Kind as K;

/// What a key holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A string.
    Text,
    /// An integer.
    Integer,
    /// `true` or `false`.
    Bool,
    /// A duration such as `"5ms"`.
    Duration,
    /// A latency such as `"5ms"`, `"1ms..3ms"` or `"exp:2ms"`.
    Latency,
}

/// A key: its type, the values it takes, what it means, and the field it stands for.
#[derive(Clone, Copy)]
pub struct Key {
    /// The dotted name.
    pub name: &'static str,
    /// Its type.
    pub kind: Kind,
    /// What it means.
    pub meaning: &'static str,
    /// The values it takes, when a number is bounded (`1..=64`, `1 or more`).
    pub range: &'static str,
    /// The key's value in a scenario, as a scenario file writes it.
    show: fn(&Scenario) -> String,
    /// Writes a value given in a file (or with `--set`) to the key's field.
    set: fn(&mut Scenario, &Value) -> Result<(), ScenarioError>,
}

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Key")
            .field("name", &self.name)
            .field("kind", &self.kind)
            .field("range", &self.range)
            .finish_non_exhaustive()
    }
}

impl Key {
    /// Its default, as a scenario file writes it: read off `Scenario::default()`. A
    /// default that follows another key is that key's name (`latency.peer_metadata`).
    pub fn default_text(&self) -> String {
        (self.show)(&Scenario::default())
    }

    /// Its value in `scenario`, as a scenario file writes it.
    pub fn value_in(&self, scenario: &Scenario) -> String {
        (self.show)(scenario)
    }

    pub(crate) fn write(
        &self,
        scenario: &mut Scenario,
        value: &Value,
    ) -> Result<(), ScenarioError> {
        (self.set)(scenario, value)
    }

    /// The same key, with the range of values it takes.
    const fn within(self, range: &'static str) -> Key {
        Key { range, ..self }
    }
}

/// A key without a documented range (see [`Key::within`]).
const fn key(
    name: &'static str,
    kind: Kind,
    meaning: &'static str,
    show: fn(&Scenario) -> String,
    set: fn(&mut Scenario, &Value) -> Result<(), ScenarioError>,
) -> Key {
    Key {
        name,
        kind,
        meaning,
        range: "",
        show,
        set,
    }
}

/// The key named `name`.
pub fn find(name: &str) -> Option<&'static Key> {
    KEYS.iter().find(|k| k.name == name)
}

/// Whether `name` is a key (or a `guest.*` setting).
pub(crate) fn is_key(name: &str) -> bool {
    find(name).is_some() || name.starts_with("guest.") && name.len() > 6
}

/// Applies one `--set key=value` to the parsed file.
pub(crate) fn apply_set(
    file: &str,
    table: &mut toml::Table,
    arg: &str,
) -> Result<(), ScenarioError> {
    let (key, raw) = arg.split_once('=').ok_or_else(|| ScenarioError::BadSet {
        arg: arg.to_string(),
        reason: "expected key=value".into(),
    })?;
    let key = key.trim();
    if !is_key(key) {
        return Err(ScenarioError::UnknownKey {
            file: file.to_string(),
            key: key.to_string(),
            from_set: true,
        });
    }
    if let Some(c) = raw.chars().find(|c| c.is_control()) {
        return Err(ScenarioError::BadSet {
            arg: arg.escape_debug().to_string(),
            reason: format!(
                "the value holds a control character ({:?}); a value is one line of text",
                c
            ),
        });
    }
    let value = format!("v = {raw}")
        .parse::<toml::Table>()
        .ok()
        .filter(|t| t.len() == 1)
        .and_then(|mut t| t.remove("v"))
        .unwrap_or_else(|| toml::Value::String(raw.to_string()));
    let (path, leaf) = match key.strip_prefix("guest.") {
        // Guest settings are dotted names themselves: keep them whole under `guest`.
        Some(setting) => (vec!["guest"], setting),
        None => {
            let mut parts: Vec<&str> = key.split('.').collect();
            let leaf = parts.pop().expect("split yields at least one part");
            (parts, leaf)
        }
    };
    let mut cursor = table;
    for part in path {
        let entry = cursor
            .entry(part.to_string())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        cursor = entry.as_table_mut().ok_or_else(|| ScenarioError::BadSet {
            arg: arg.to_string(),
            reason: format!("`{part}` is not a table in {file}"),
        })?;
    }
    cursor.insert(leaf.to_string(), value);
    Ok(())
}

/// A key's value as a file writes it, read with the key's type. Errors name the file and
/// the key.
pub(crate) struct Value<'a> {
    pub file: &'a str,
    pub key: &'a Key,
    pub raw: &'a toml::Value,
}

impl Value<'_> {
    pub fn bad(&self, reason: String) -> ScenarioError {
        ScenarioError::BadValue {
            file: self.file.to_string(),
            key: self.key.name.to_string(),
            reason,
        }
    }

    fn wrong_type(&self) -> ScenarioError {
        let expected = match self.key.kind {
            K::Text => "a string",
            K::Integer => "an integer",
            K::Bool => "true or false",
            K::Duration => "a duration such as \"5ms\"",
            K::Latency => "a latency such as \"5ms\", \"1ms..3ms\" or \"exp:2ms\"",
        };
        self.bad(format!("expected {expected}, got {}", self.raw))
    }

    pub fn text(&self) -> Result<String, ScenarioError> {
        match self.raw {
            toml::Value::String(s) => Ok(s.clone()),
            _ => Err(self.wrong_type()),
        }
    }

    pub fn int(&self, min: u64, max: u64) -> Result<u64, ScenarioError> {
        match self.raw {
            toml::Value::Integer(i) if *i >= min as i64 && (*i as u64) <= max => Ok(*i as u64),
            toml::Value::Integer(i) => Err(self.bad(format!("{i} is out of range {min}..={max}"))),
            _ => Err(self.wrong_type()),
        }
    }

    pub fn boolean(&self) -> Result<bool, ScenarioError> {
        match self.raw {
            toml::Value::Boolean(b) => Ok(*b),
            _ => Err(self.wrong_type()),
        }
    }

    /// Nanoseconds.
    pub fn duration(&self) -> Result<u64, ScenarioError> {
        match self.raw {
            // A bare `0` needs no unit.
            toml::Value::Integer(0) => Ok(0),
            toml::Value::String(s) => parse_duration(s).ok_or_else(|| {
                self.bad(format!(
                    "malformed duration {s:?}: expected a number with a unit (us, ms, s)"
                ))
            }),
            _ => Err(self.wrong_type()),
        }
    }

    pub fn latency(&self) -> Result<Latency, ScenarioError> {
        match self.raw {
            toml::Value::Integer(0) => Ok(Latency::Constant(0)),
            toml::Value::String(s) => Latency::parse(s).map_err(|e| self.bad(e.to_string())),
            _ => Err(self.wrong_type()),
        }
    }
}

/// What a swept key holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SweepKind {
    /// A latency or a duration: swept as constants.
    Time,
    /// An integer.
    Integer,
}

/// Whether `key` can be swept, and how.
pub(crate) fn sweep_kind(key: &str) -> Option<SweepKind> {
    match find(key)?.kind {
        K::Latency | K::Duration => Some(SweepKind::Time),
        K::Integer => Some(SweepKind::Integer),
        K::Text | K::Bool => None,
    }
}
#[cfg(test)]
mod range_tests {
    use super::KEYS;

    /// What `logsandbox keys` says of a number's range is what the parser enforces.
    #[test]
    fn the_documented_ranges_are_the_enforced_ones() {
        let parse = |key: &str, value: u64| {
            let sets = [format!("{key}={value}"), "workload.kind=random".to_string()];
            super::super::parse("t.toml", "", &sets)
                .map(|_| ())
                .map_err(|e| e.to_string())
        };
        let mut checked = 0;
        for key in KEYS.iter().filter(|k| k.kind == super::Kind::Integer) {
            assert!(
                !key.range.is_empty(),
                "{} has no documented range",
                key.name
            );
            let (lo, hi) = match key.range.split_once("..=") {
                Some((lo, hi)) => (lo.parse::<u64>().unwrap(), Some(hi.parse::<u64>().unwrap())),
                None => (
                    key.range
                        .trim_end_matches(" or more")
                        .parse::<u64>()
                        .unwrap(),
                    None,
                ),
            };
            if lo > 0 {
                let e = parse(key.name, lo - 1).expect_err(key.name);
                assert!(
                    e.contains(&format!("out of range {lo}..=")),
                    "{}: {e}",
                    key.name
                );
            }
            if let Some(hi) = hi.filter(|h| *h < i64::MAX as u64) {
                let e = parse(key.name, hi + 1).expect_err(key.name);
                assert!(
                    e.contains(&format!("out of range {lo}..={hi}")),
                    "{}: {e}",
                    key.name
                );
            }
            checked += 1;
        }
        assert!(checked >= 20, "{checked}");
    }
}
