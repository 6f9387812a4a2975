//! Why a scenario could not be used. Every message names the file and the key.

use super::keys::KEYS;

/// Why a scenario could not be used. Every message names the file and the key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScenarioError {
    /// No such file, and not a built-in.
    #[error(
        "unknown scenario `{name}`: no such file, and not a built-in scenario (built-ins: {})",
        builtins.join(", ")
    )]
    Unknown {
        /// What was asked for.
        name: String,
        /// The built-ins there are.
        builtins: Vec<String>,
    },
    /// The file could not be read.
    #[error("{path}: cannot read: {reason}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },
    /// The file is not TOML.
    #[error("{file}: invalid TOML: {}", message.trim_end())]
    Syntax {
        /// The file.
        file: String,
        /// The parser's message, with the line.
        message: String,
    },
    /// A key nobody knows.
    #[error(
        "{file}: unknown key `{key}`{}; {}",
        if *from_set { " (from --set)" } else { "" },
        known_near(key)
    )]
    UnknownKey {
        /// The file.
        file: String,
        /// The key.
        key: String,
        /// It came from `--set`.
        from_set: bool,
    },
    /// A value of the wrong type or out of range.
    #[error("{file}: key `{key}`: {reason}")]
    BadValue {
        /// The file.
        file: String,
        /// The key.
        key: String,
        /// What is wrong.
        reason: String,
    },
    /// A malformed `--set`.
    #[error("--set {arg}: {reason}")]
    BadSet {
        /// The argument.
        arg: String,
        /// What is wrong.
        reason: String,
    },
}

/// The keys of an unknown key's section, or the sections there are.
fn known_near(key: &str) -> String {
    let section = key.split('.').next().unwrap_or_default();
    let known = KEYS
        .iter()
        .filter(|k| k.name.split('.').next() == Some(section))
        .map(|k| k.name)
        .collect::<Vec<_>>();
    if known.is_empty() {
        "known sections: cluster, metadata, latency, workload, run, guest, expect, faults, steps"
            .to_string()
    } else {
        format!("known keys there: {}", known.join(", "))
    }
}
