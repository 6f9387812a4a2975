//! A session's actions as scenario steps: parsed by the scenario parser when taken, and
//! written back as a script that replays the session.

use logsandbox::SimTime;
use logsandbox::scenario::{self, WorkloadKind};
use logsandbox::workload::Step;

use super::session::Base;

/// Parses an action's fields as the next `[[steps]]` of the session's scenario: the same
/// parser, the same checks (a node in the cluster, a latency that parses) as a file gets.
pub fn parse_step(base: &Base, fields: &toml::Table) -> Result<Step, String> {
    let step = toml::to_string(fields).map_err(|e| e.to_string())?;
    let text = format!("{}\n\n[[steps]]\n{step}", base.text);
    let parsed = scenario::parse(&base.file, &text, &base.sets).map_err(|e| {
        // The step is the person's command, not a line of the file: name it so.
        let e = e.to_string();
        let step = format!("`steps[{}]", base.scenario.steps.len());
        match e.split_once(&step) {
            // `steps[3]`: why, or `steps[3].latency`: why
            Some((_, rest)) => match rest.split_once("`: ") {
                Some((field, why)) if !field.is_empty() => {
                    format!("{}: {why}", field.trim_start_matches('.'))
                }
                Some((_, why)) => why.to_string(),
                None => rest.to_string(),
            },
            None => e,
        }
    })?;
    parsed
        .steps
        .last()
        .cloned()
        .ok_or_else(|| "the command is not a step".to_string())
}

/// The fields of an action with the instant it was taken.
pub fn timed(mut fields: toml::Table, at: SimTime) -> toml::Table {
    fields.insert("at".into(), toml::Value::String(duration(at.0)));
    fields
}

/// A duration the scenario parser reads back to the nanosecond.
fn duration(ns: u64) -> String {
    if ns.is_multiple_of(1_000_000) {
        format!("{}ms", ns / 1_000_000)
    } else {
        format!("{ns}ns")
    }
}

/// The session as a scenario file: its scenario (with the `--set` overrides folded in and
/// its seed), the steps taken, and a last step that stops the run where the session stands.
pub fn script(
    base: &Base,
    steps: &[toml::Table],
    seed: u64,
    now: SimTime,
) -> Result<String, String> {
    let kind = base.scenario.workload.kind;
    if matches!(kind, WorkloadKind::AppendAfterSeal | WorkloadKind::Random) {
        return Err(format!(
            "this session runs the scenario's {} workload, which a script cannot replay; save works on a session without a workload (`logsandbox repl`, or a scenario with workload.kind = \"none\") or on a script",
            if kind == WorkloadKind::Random {
                "random"
            } else {
                "append-after-seal"
            }
        ));
    }
    let mut table =
        scenario::folded(&base.file, &base.text, &base.sets).map_err(|e| e.to_string())?;
    let name = format!("{}-session", base.scenario.name);
    table.insert("name".into(), toml::Value::String(name));
    table.insert(
        "description".into(),
        toml::Value::String(format!(
            "A repl session on {}, saved at {}: `logsandbox run` replays it to the same trace hash.",
            base.scenario.name,
            logsandbox::time::fmt_duration(now.0)
        )),
    );
    table.insert(
        "seed".into(),
        toml::Value::Integer(seed.min(i64::MAX as u64) as i64),
    );
    let section = |table: &mut toml::Table, name: &str| -> Result<toml::Table, String> {
        match table.remove(name) {
            None => Ok(toml::Table::new()),
            Some(toml::Value::Table(t)) => Ok(t),
            Some(_) => Err(format!("{}: `{name}` is not a table", base.file)),
        }
    };
    let mut workload = section(&mut table, "workload")?;
    workload.insert("kind".into(), toml::Value::String("script".into()));
    table.insert("workload".into(), toml::Value::Table(workload));
    // The run must last until the stop step.
    let mut run = section(&mut table, "run")?;
    let needed = now.0.saturating_add(1_000_000_000);
    if logsandbox::time::nanos(base.scenario.config.limits.time_limit) < needed {
        run.insert("time_limit".into(), toml::Value::String(duration(needed)));
    }
    if !run.is_empty() {
        table.insert("run".into(), toml::Value::Table(run));
    }
    let mut all = match table.remove("steps") {
        None => Vec::new(),
        Some(toml::Value::Array(items)) => items,
        Some(_) => return Err(format!("{}: `steps` is not an array of tables", base.file)),
    };
    all.extend(steps.iter().cloned().map(toml::Value::Table));
    let mut stop = toml::Table::new();
    stop.insert("at".into(), toml::Value::String(duration(now.0)));
    stop.insert("stop".into(), toml::Value::Boolean(true));
    all.push(toml::Value::Table(stop));
    table.insert("steps".into(), toml::Value::Array(all));
    let text = toml::to_string(&table).map_err(|e| e.to_string())?;
    // What is written must load.
    scenario::parse("the saved session", &text, &[]).map_err(|e| e.to_string())?;
    let guest = &base.component_flags;
    Ok(format!(
        "# Saved by `logsandbox repl`: replay with `logsandbox run THIS_FILE{guest}`.\n{text}"
    ))
}
