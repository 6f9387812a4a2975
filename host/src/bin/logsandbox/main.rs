//! The `logsandbox` command: a thin client of the library.
//!
//! - [`cli`]: arguments and commands;
//! - [`exit`]: exit codes, the command's one error type, and where output goes;
//! - [`components`]: which component each node runs (`--guest`, `--log-server`, `--client`, `--node-guest`);
//! - [`demo`]: the seed race, as the flaky test had it and as fixed;
//! - [`mutants`]: guests with one known bug each, and whether the checks catch them.
//! - [`repl`]: an interactive session on a live cluster.
//! - [`replay`]: a `--out` directory run again, and a history file judged.

mod cli;
mod components;
mod demo;
mod exit;
mod mutants;
mod repl;
mod replay;

use clap::Parser;

fn main() {
    // The library's diagnostics (warnings by default; `RUST_LOG=logsandbox=debug` for
    // more) go to stderr, apart from the command's own output on stdout.
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(
            std::env::var_os("NO_COLOR").is_none()
                && std::io::IsTerminal::is_terminal(&std::io::stderr()),
        )
        .without_time()
        .with_target(false)
        .init();
    let cli = cli::Cli::parse();
    std::process::exit(cli::main_with(cli));
}
