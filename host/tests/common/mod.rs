//! Shared harness of the end-to-end tests: run a scenario in-process through the real
//! wasm guest, or run the `logsandbox` binary.

#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::Arc;

use logsandbox::runtime::Component;
use logsandbox::show::report::RunReport;
use logsandbox::{Sandbox, scenario};

/// Runs a built-in scenario (or a path) with `--set` overrides and an optional seed.
pub fn run(name: &str, seed: Option<u64>, sets: &[&str]) -> RunReport {
    run_with(
        name,
        seed,
        sets,
        Component::builtin().expect("the built-in guest loads"),
        None,
    )
}

/// As [`run`], with a component and an output directory.
pub fn run_with(
    name: &str,
    seed: Option<u64>,
    sets: &[&str],
    runtime: Arc<Component>,
    out_dir: Option<PathBuf>,
) -> RunReport {
    let sets: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
    let scenario = scenario::load(name, &sets).unwrap_or_else(|e| panic!("{e}"));
    let mut builder = Sandbox::from_scenario(&scenario).component(runtime);
    if let Some(seed) = seed {
        builder = builder.seed(seed);
    }
    if let Some(dir) = out_dir {
        builder = builder.out_dir(dir);
    }
    let mut sandbox = builder.build().expect("the sandbox is built");
    sandbox.run().expect("the run is carried out")
}

/// Runs the binary with `args`.
pub fn logsandbox(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_logsandbox"))
        .args(args)
        .output()
        .expect("the logsandbox binary runs")
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A fresh scratch directory under the system's temp dir.
pub fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("logsandbox-test-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir is writable");
    dir
}

/// The names of the failing checks.
pub fn failing_checks(report: &RunReport) -> Vec<&str> {
    report
        .checks
        .iter()
        .filter(|c| !c.pass)
        .map(|c| c.name.as_str())
        .collect()
}

/// The mutant `name` written into `dir` as a component file, as a user would hand it over.
pub fn mutant_file(dir: &std::path::Path, name: &str) -> PathBuf {
    let wasm = logsandbox::runtime::MUTANTS
        .iter()
        .find(|m| m.name == name)
        .unwrap_or_else(|| panic!("no mutant named {name}"))
        .wasm;
    let path = dir.join(format!("{name}.wasm"));
    std::fs::write(&path, wasm).expect("the scratch directory is writable");
    path
}
