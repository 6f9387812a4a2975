//! Errors of the command line, and the one place they map to exit codes:
//! `0` every check passed, `1` the run failed, `2` bad input.

use crate::runtime::LoadError;
use crate::scenario::ScenarioError;
use crate::sim::SimError;

#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error("{0}")]
    Scenario(#[from] ScenarioError),
    #[error("{0}")]
    Load(#[from] LoadError),
    #[error("{0}")]
    Sim(#[from] SimError),
    #[error("{0}")]
    Demo(#[from] crate::demo::DemoError),
    #[error("{0}")]
    Mutants(#[from] crate::mutants::MutantsError),
    #[error("{0}")]
    Usage(String),
}

pub const EXIT_PASS: i32 = 0;
pub const EXIT_FAIL: i32 = 1;
pub const EXIT_BAD_INPUT: i32 = 2;

impl CliError {
    pub fn exit_code(&self) -> i32 {
        match self {
            CliError::Scenario(_) | CliError::Load(_) | CliError::Usage(_) => EXIT_BAD_INPUT,
            CliError::Sim(SimError::OutDir { .. }) => EXIT_BAD_INPUT,
            CliError::Sim(SimError::Storage { .. }) => EXIT_FAIL,
            CliError::Demo(crate::demo::DemoError::Scenario(_)) => EXIT_BAD_INPUT,
            CliError::Demo(crate::demo::DemoError::Sim(_)) => EXIT_FAIL,
            CliError::Mutants(_) => EXIT_BAD_INPUT,
        }
    }
}
