//! `logsandbox replay DIR` and `logsandbox check HISTORY`: a run's outputs, used again.
//!
//! `run --out DIR` keeps what a replay needs beside the report: `scenario.toml` (the
//! scenario with its overrides and seed folded in) and, when the run had its own
//! components, `guest.wasm`, `log-server.wasm`, `client.wasm`, `node-N.wasm`. A replay runs that again in memory (the directory's databases
//! stay as they were), compares the trace hash with `report.json`'s and shows the
//! timeline.

use std::path::Path;

use logsandbox::scenario;
use logsandbox::show::timeline::Timeline;
use logsandbox::{Error, Sandbox};

use crate::components::ComponentArgs;
use crate::exit::{CliError, EXIT_FAIL, EXIT_PASS, colour_wanted};

/// The scenario a `--out` directory keeps.
pub const SCENARIO_FILE: &str = "scenario.toml";

/// Writes what a replay of this run needs into `dir`.
pub fn keep_for_replay(
    dir: &Path,
    spec: &str,
    sets: &[String],
    seed: u64,
    components: &ComponentArgs,
) -> Result<(), CliError> {
    let (file, text) = scenario::source(spec)?;
    let mut table = scenario::folded(&file, &text, sets)?;
    table.insert(
        "seed".into(),
        toml::Value::Integer(seed.min(i64::MAX as u64) as i64),
    );
    let text = toml::to_string(&table).map_err(|e| CliError::Usage(e.to_string()))?;
    let header = format!(
        "# The scenario of this run ({spec}{}), as `logsandbox replay` runs it again.\n",
        sets.iter()
            .map(|s| format!(" --set {s}"))
            .collect::<String>()
    );
    let write = |name: &str, bytes: &[u8]| {
        std::fs::write(dir.join(name), bytes)
            .map_err(|e| CliError::Usage(format!("--out {}: {e}", dir.join(name).display())))
    };
    write(SCENARIO_FILE, format!("{header}{text}").as_bytes())?;
    for (name, path) in components.files()? {
        let bytes = std::fs::read(&path)
            .map_err(|e| CliError::Usage(format!("{}: {e}", path.display())))?;
        write(&name, &bytes)?;
    }
    Ok(())
}

/// Runs a `--out` directory again: exit 0 when it reproduces the recorded trace hash, 1
/// when it does not.
pub fn replay(dir: &Path, filter: Option<&str>, compact: bool) -> Result<i32, CliError> {
    let usage = |what: String| CliError::Usage(format!("{}: {what}", dir.display()));
    let scenario_path = dir.join(SCENARIO_FILE);
    if !scenario_path.is_file() {
        return Err(usage(format!(
            "no {SCENARIO_FILE}: not a directory written by `logsandbox run --out`"
        )));
    }
    let report_path = dir.join("report.json");
    let report: serde_json::Value = std::fs::read_to_string(&report_path)
        .map_err(|e| usage(format!("report.json: {e}")))
        .and_then(|text| {
            serde_json::from_str(&text).map_err(|e| usage(format!("report.json: {e}")))
        })?;
    let recorded = report["trace_hash"]
        .as_str()
        .ok_or_else(|| usage("report.json has no trace_hash".into()))?
        .to_string();
    let scenario = scenario::load(&scenario_path.to_string_lossy(), &[])?;
    let mut builder = Sandbox::from_scenario(&scenario).keep_trace(true);
    builder = builder.components(ComponentArgs::kept_in(dir)?.load()?);
    let mut sandbox = builder.build().map_err(Error::from)?;
    let run = sandbox.run().map_err(Error::from)?;
    let timeline = Timeline {
        filter: filter.unwrap_or_default().to_string(),
        compact,
        colour: colour_wanted(),
    };
    let mut out = timeline.render(&run.trace);
    out += &run.render(&format!("logsandbox replay {}", dir.display()));
    let same = run.trace_hash == recorded;
    out += &if same {
        format!(
            "replay    reproduced: the trace hash is the one recorded in {}\n",
            report_path.display()
        )
    } else {
        format!(
            "replay    DIVERGED: recorded trace {recorded}, this run {} (another build of the guest or of logsandbox?)\n",
            run.trace_hash
        )
    };
    crate::exit::emit(&out);
    Ok(if same { EXIT_PASS } else { EXIT_FAIL })
}

/// Judges a history file with every standard check: exit 0 when all hold, 1 when one
/// fails.
pub fn check(file: &Path, json: bool) -> Result<i32, CliError> {
    let name = file.display().to_string();
    let text =
        std::fs::read_to_string(file).map_err(|e| CliError::Usage(format!("{name}: {e}")))?;
    let file = logsandbox::record::history_file::read_with_ids(&name, &text)
        .map_err(|e| CliError::Usage(e.to_string()))?;
    let history = &file.history;
    // The checks name operations as `#N`: by the file's ids.
    let checks: Vec<_> = logsandbox::check::check_history(history)
        .into_iter()
        .map(|mut c| {
            c.detail = file.in_file_ids(&c.detail);
            c
        })
        .collect();
    let failing = checks.iter().filter(|c| !c.pass).count();
    if json {
        let verdicts: serde_json::Map<String, serde_json::Value> = checks
            .iter()
            .map(|c| {
                (
                    c.name.clone(),
                    (if c.pass { "pass" } else { "fail" }).into(),
                )
            })
            .collect();
        let details: serde_json::Map<String, serde_json::Value> = checks
            .iter()
            .map(|c| (c.name.clone(), c.detail.clone().into()))
            .collect();
        let object = serde_json::json!({
            "history": name,
            "operations": history.len(),
            "outcome": if failing == 0 { "pass" } else { "fail" },
            "checks": verdicts,
            "check_details": details,
        });
        crate::exit::emit(&format!("{object}\n"));
    } else {
        let mut out = format!("{name}: {} operations\n", history.len());
        for c in &checks {
            out += &format!("  {}\n", logsandbox::show::report::check_line(c));
        }
        out += &format!(
            "{} of {} checks hold\n",
            checks.len() - failing,
            checks.len()
        );
        crate::exit::emit(&out);
    }
    Ok(if failing == 0 { EXIT_PASS } else { EXIT_FAIL })
}
