//! The `logsandbox` command: a thin client of the library.
//!
//! - [`cli`]: arguments, commands, output and exit codes;
//! - [`components`]: which component each node runs (`--guest`, `--log-server`, `--client`, `--node-guest`);
//! - [`demo`]: the seed race, as the flaky test had it and as fixed;
//! - [`mutants`]: guests with one known bug each, and whether the checks catch them.
//! - [`repl`]: an interactive session on a live cluster.
//! - [`replay`]: a `--out` directory run again, and a history file judged.

mod cli;
mod components;
mod demo;
mod mutants;
mod repl;
mod replay;

use clap::Parser;

fn main() {
    let cli = cli::Cli::parse();
    std::process::exit(cli::main_with(cli));
}
