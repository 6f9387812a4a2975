//! How the command ends: its exit codes, the one error type every command returns (and
//! the exit code each error means), and where its output goes. Every other file of the
//! command uses this one; it uses none of them.

use std::io::{IsTerminal, Write};

use logsandbox::Error;
use logsandbox::error::BuildError;
use logsandbox::runtime::LoadError;
use logsandbox::scenario::ScenarioError;

/// Every check passed.
pub const EXIT_PASS: i32 = 0;
/// The run failed.
pub const EXIT_FAIL: i32 = 1;
/// Bad input: usage, a scenario or a component that cannot be used.
pub const EXIT_BAD_INPUT: i32 = 2;

/// Why a command could not be carried out; the one place errors map to exit codes.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error("{0}")]
    Lib(#[from] Error),
    #[error("{0}")]
    Usage(String),
}

impl From<ScenarioError> for CliError {
    fn from(e: ScenarioError) -> Self {
        CliError::Lib(e.into())
    }
}

impl From<LoadError> for CliError {
    fn from(e: LoadError) -> Self {
        CliError::Lib(e.into())
    }
}

impl CliError {
    pub fn exit_code(&self) -> i32 {
        match self {
            CliError::Usage(_) => EXIT_BAD_INPUT,
            CliError::Lib(Error::Scenario(_) | Error::Load(_)) => EXIT_BAD_INPUT,
            CliError::Lib(Error::Build(BuildError::Storage { .. })) => EXIT_FAIL,
            CliError::Lib(Error::Build(_)) => EXIT_BAD_INPUT,
            CliError::Lib(Error::Run(_)) => EXIT_FAIL,
        }
    }
}

/// Writes `text` to stdout. A reader that went away (`logsandbox run ... | head`) ends the
/// output quietly; the exit code still tells the run's outcome.
pub fn emit(text: &str) {
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_all(text.as_bytes()).and_then(|()| out.flush())
        && e.kind() != std::io::ErrorKind::BrokenPipe
    {
        let _ = writeln!(std::io::stderr(), "error: writing the output: {e}");
    }
}

/// Colour when stdout is a terminal and `NO_COLOR` is not set.
pub fn colour_wanted() -> bool {
    std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}
