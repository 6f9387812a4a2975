//! The repl's commands: their help, and a line parsed into one.

use logsandbox::time::parse_duration;
use logsandbox::{Pace, SimTime};

/// Every command: its name, its form, and what it does. `help` prints this; completion
/// offers the names.
pub const COMMANDS: &[(&str, &str, &str)] = &[
    ("help", "help [COMMAND]", "this list, or one command's help"),
    (
        "nodes",
        "nodes",
        "every node: role, status, incarnation, cached Logs and where it came from, loglet tail, operations in flight",
    ),
    ("node", "node N", "one node in detail"),
    (
        "start",
        "start N",
        "start a node (a client that is not started, or a crashed node again)",
    ),
    ("step", "step", "deliver everything due at the next instant"),
    (
        "run",
        "run for DURATION | run until TIME | run until #OP | run until TEXT | run",
        "run virtual time: for a while (`run for 500ms`), to an instant (`run until 2.5s`), until an operation ends (`run until #3`), until an event whose line contains TEXT (`run until caches`); bare `run` runs the scenario's workload to its end and judges it",
    ),
    (
        "append",
        "append N PAYLOAD [&]",
        "append PAYLOAD to log 0 through client N, and wait for the result (`&`: do not wait)",
    ),
    ("seal", "seal N [&]", "seal log 0 through client N"),
    (
        "find-tail",
        "find-tail N [&]",
        "find the tail of log 0 through client N",
    ),
    (
        "read",
        "read N FROM TO [&]",
        "read log 0 from LSN FROM up to TO, across its segments",
    ),
    ("trim", "trim N POINT [&]", "trim log 0 up to LSN POINT"),
    (
        "seal-and-extend",
        "seal-and-extend N [segment=I] [sequencer=S] [nodeset=1,2,3] [replication=K] [min_version=V] [&]",
        "seal log 0's tail segment through client N, then extend its chain with a new segment at the sealed tail (sequenced by N unless `sequencer=` says otherwise)",
    ),
    (
        "wait",
        "wait N VERSION [&]",
        "wait on client N until its Logs reaches VERSION",
    ),
    (
        "latency",
        "latency PATH VALUE",
        "set a latency: PATH is network, peer_metadata, metadata_store, storage or a link such as 5->1, 5->store, 2->disk; VALUE such as 5ms, 1ms..5ms, exp:3ms",
    ),
    (
        "partition",
        "partition A B [one-way] [for DURATION]",
        "lose every message between A and B (node ids, or `store`)",
    ),
    (
        "heal",
        "heal A B | heal all",
        "messages between A and B pass again",
    ),
    (
        "hold",
        "hold A B",
        "messages from A to B wait until released (then go on, in order)",
    ),
    ("release", "release A B", "release what A -> B held"),
    (
        "crash",
        "crash N",
        "crash a node: what it had not made durable is lost",
    ),
    (
        "restart",
        "restart N",
        "restart a crashed node from its database",
    ),
    ("wipe", "wipe N", "crash a node and lose its disk"),
    (
        "store",
        "store unavailable|hang|election|terminal [for DURATION] | store recover",
        "an outage of the metadata store (an election needs `for`), or its end",
    ),
    (
        "history",
        "history [N]",
        "the last N client operations (20 by default)",
    ),
    ("check", "check", "every check on the history so far"),
    (
        "timeline",
        "timeline [all] [FILTER]",
        "what happened, one line an event; without `all` the chatter (timers, hellos) is hidden; FILTER keeps lines that mention it (N5, Seal, caches...)",
    ),
    (
        "explain",
        "explain",
        "the causal chain that led to the first failing operation",
    ),
    (
        "svg",
        "svg FILE [FROM..TO]",
        "write messages.svg, a Lamport diagram of the run (or of the virtual times FROM..TO)",
    ),
    (
        "save",
        "save FILE",
        "write what you did as a scenario script; `logsandbox run FILE` replays it to the same trace hash",
    ),
    (
        "speed",
        "speed X | speed virtual",
        "pace runs by the wall clock: X virtual seconds a second (1: real time, 10: ten times faster), or as fast as possible; pacing never changes the trace",
    ),
    (
        "hash",
        "hash",
        "the clock, events so far and the trace hash",
    ),
    ("quit", "quit", "leave (also: exit, Ctrl-D)"),
];

/// How long `run until` waits, in virtual time, for what it waits for.
pub const UNTIL_LIMIT_NS: u64 = 120_000_000_000;

/// A parsed command line.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    Help(Option<String>),
    Nodes,
    Node(u32),
    Step,
    RunFor(u64),
    RunUntilTime(SimTime),
    RunUntilOp(u64),
    RunUntilText(String),
    RunWorkload,
    /// An operation on a client node, as a step's fields (`invoke = "append"`...).
    Op {
        fields: toml::Table,
        wait: bool,
    },
    /// A fault, a start or a latency, as a step's fields.
    Act(toml::Table),
    History(usize),
    Check,
    Timeline {
        all: bool,
        filter: String,
    },
    Explain,
    Svg {
        file: String,
        window: Option<(u64, u64)>,
    },
    Save(String),
    Speed(Pace),
    Hash,
    Quit,
    Nothing,
}

/// Parses one line. The error is a sentence for the person at the keyboard.
pub fn parse(line: &str) -> Result<Command, String> {
    let words: Vec<&str> = line.split_whitespace().collect();
    let Some((&name, args)) = words.split_first() else {
        return Ok(Command::Nothing);
    };
    let usage = || {
        let form = COMMANDS
            .iter()
            .find(|(n, _, _)| *n == name)
            .map_or(name, |(_, f, _)| f);
        format!("usage: {form}")
    };
    let (args, background) = match args.split_last() {
        Some((&"&", rest)) => (rest, true),
        _ => (args, false),
    };
    let node = |text: &str| -> Result<u32, String> {
        text.trim_start_matches(['N', 'n'])
            .parse::<u32>()
            .ok()
            .filter(|n| *n > 0)
            .ok_or_else(|| format!("{text:?} is not a node id such as 5 or N5"))
    };
    let number = |text: &str| -> Result<u64, String> {
        text.parse::<u64>()
            .map_err(|_| format!("{text:?} is not a whole number"))
    };
    let duration = |text: &str| -> Result<u64, String> {
        parse_duration(text)
            .ok_or_else(|| format!("{text:?} is not a duration such as 500ms, 2.5s, 100us or 0"))
    };
    let endpoint = |text: &str| -> Result<toml::Value, String> {
        match text {
            "store" => Ok(toml::Value::String("store".into())),
            other => Ok(toml::Value::Integer(node(other)? as i64)),
        }
    };
    let table = |pairs: Vec<(&str, toml::Value)>| -> toml::Table {
        pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
    };
    let int = |v: u64| toml::Value::Integer(v.min(i64::MAX as u64) as i64);
    let text = |v: &str| toml::Value::String(v.to_string());
    let op = |invoke: &str, node_id: u32, extra: Vec<(&str, toml::Value)>| {
        let mut pairs = vec![("invoke", text(invoke)), ("node", int(node_id as u64))];
        pairs.extend(extra);
        Command::Op {
            fields: table(pairs),
            wait: !background,
        }
    };
    let fault = |action: &str, extra: Vec<(&str, toml::Value)>| {
        let mut pairs = vec![("fault", text(action))];
        pairs.extend(extra);
        Command::Act(table(pairs))
    };
    let command = match (name, args) {
        ("help" | "?", []) => Command::Help(None),
        ("help" | "?", [what]) => Command::Help(Some(what.to_string())),
        ("nodes", []) => Command::Nodes,
        ("node", [n]) => Command::Node(node(n)?),
        ("start", [n]) => Command::Act(table(vec![("start", int(node(n)? as u64))])),
        ("step", []) => Command::Step,
        ("run", []) => Command::RunWorkload,
        ("run", ["for", d]) => Command::RunFor(duration(d)?),
        ("run", ["until", what @ ..]) if !what.is_empty() => {
            let what = what.join(" ");
            if let Some(op) = what.strip_prefix('#') {
                Command::RunUntilOp(number(op)?)
            } else if let Some(t) =
                parse_duration(&what).filter(|_| what.as_bytes()[0].is_ascii_digit())
            {
                Command::RunUntilTime(SimTime(t))
            } else {
                Command::RunUntilText(what.trim_matches('"').to_string())
            }
        }
        ("append", [n, payload]) => op("append", node(n)?, vec![("payload", text(payload))]),
        ("seal", [n]) => op("seal", node(n)?, vec![]),
        ("find-tail", [n]) => op("find-tail", node(n)?, vec![]),
        ("read", [n, from, to]) => op(
            "read",
            node(n)?,
            vec![("from", int(number(from)?)), ("to", int(number(to)?))],
        ),
        ("trim", [n, point]) => op("trim", node(n)?, vec![("point", int(number(point)?))]),
        ("seal-and-extend", [n, options @ ..]) => {
            let mut extra = Vec::new();
            for option in options {
                let Some((key, value)) = option.split_once('=') else {
                    return Err(usage());
                };
                let entry = match key {
                    "segment" | "replication" | "min_version" => (key, int(number(value)?)),
                    "sequencer" => (key, int(node(value)? as u64)),
                    "nodeset" => {
                        let nodes = value
                            .split(',')
                            .map(|n| node(n).map(|n| int(n as u64)))
                            .collect::<Result<Vec<_>, _>>()?;
                        (key, toml::Value::Array(nodes))
                    }
                    other => {
                        return Err(format!(
                            "{other:?} is not an option of seal-and-extend (segment, sequencer, nodeset, replication, min_version)"
                        ));
                    }
                };
                extra.push(entry);
            }
            op("seal-and-extend", node(n)?, extra)
        }
        ("wait", [n, version]) => op(
            "wait-for-metadata",
            node(n)?,
            vec![("version", int(number(version)?))],
        ),
        ("latency", [path, value]) => {
            Command::Act(table(vec![("latency", text(value)), ("path", text(path))]))
        }
        ("partition", [a, b, rest @ ..]) => {
            let mut extra = vec![("from", endpoint(a)?), ("to", endpoint(b)?)];
            match rest {
                [] => {}
                ["one-way"] => extra.push(("one_way", toml::Value::Boolean(true))),
                ["for", d] => extra.push(("lasts", text(&format!("{}ns", duration(d)?)))),
                ["one-way", "for", d] => {
                    extra.push(("one_way", toml::Value::Boolean(true)));
                    extra.push(("lasts", text(&format!("{}ns", duration(d)?))));
                }
                _ => return Err(usage()),
            }
            fault("partition", extra)
        }
        ("heal", ["all"]) => fault("heal-all", vec![]),
        ("heal", [a, b]) => fault("heal", vec![("from", endpoint(a)?), ("to", endpoint(b)?)]),
        ("hold", [a, b]) => fault("hold", vec![("from", endpoint(a)?), ("to", endpoint(b)?)]),
        ("release", [a, b]) => fault(
            "release",
            vec![("from", endpoint(a)?), ("to", endpoint(b)?)],
        ),
        ("crash" | "restart" | "wipe", [n]) => fault(name, vec![("node", int(node(n)? as u64))]),
        ("store", ["recover"]) => fault("store-recover", vec![]),
        ("store", [kind, rest @ ..]) => {
            if !["unavailable", "hang", "election", "terminal"].contains(kind) {
                return Err(usage());
            }
            let mut extra = vec![];
            match rest {
                [] => {}
                ["for", d] => extra.push(("lasts", text(&format!("{}ns", duration(d)?)))),
                _ => return Err(usage()),
            }
            fault(&format!("store-{kind}"), extra)
        }
        ("history", []) => Command::History(20),
        ("history", [n]) => Command::History(number(n)? as usize),
        ("check", []) => Command::Check,
        ("timeline", rest) => {
            let (all, rest) = match rest.split_first() {
                Some((&"all", rest)) => (true, rest),
                _ => (false, rest),
            };
            Command::Timeline {
                all,
                filter: rest.join(" "),
            }
        }
        ("explain", []) => Command::Explain,
        ("svg", [file]) => Command::Svg {
            file: file.to_string(),
            window: None,
        },
        ("svg", [file, range]) => {
            let (a, b) = range.split_once("..").ok_or_else(usage)?;
            Command::Svg {
                file: file.to_string(),
                window: Some((duration(a)?, duration(b)?)),
            }
        }
        ("save", [file]) => Command::Save(file.to_string()),
        ("speed", [x]) => Command::Speed(x.parse::<Pace>().map_err(|e| e.to_string())?),
        ("hash", []) => Command::Hash,
        ("quit" | "exit", []) => Command::Quit,
        _ if COMMANDS.iter().any(|(n, _, _)| *n == name) => return Err(usage()),
        _ => return Err(format!("unknown command {name:?}; `help` lists them")),
    };
    if background && !matches!(command, Command::Op { .. }) {
        return Err(format!("`&` goes only after an operation; {}", usage()));
    }
    Ok(command)
}

/// The help text: every command, or one.
pub fn help(what: Option<&str>) -> String {
    match what {
        None => {
            let mut out =
                String::from("commands (node ids: 5 or N5; `store` for the metadata store):\n");
            for (_, form, meaning) in COMMANDS {
                out += &format!("  {form}\n      {meaning}\n");
            }
            out
        }
        Some(name) => match COMMANDS.iter().find(|(n, _, _)| *n == name) {
            Some((_, form, meaning)) => format!("{form}\n  {meaning}\n"),
            None => format!("unknown command {name:?}; `help` lists them\n"),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_become_commands_and_bad_ones_say_why() {
        assert_eq!(parse("run for 500ms"), Ok(Command::RunFor(500_000_000)));
        assert_eq!(
            parse("run until 2.5s"),
            Ok(Command::RunUntilTime(SimTime(2_500_000_000)))
        );
        assert_eq!(parse("run until #3"), Ok(Command::RunUntilOp(3)));
        assert_eq!(
            parse("run until caches Logs"),
            Ok(Command::RunUntilText("caches Logs".into()))
        );
        assert!(matches!(
            parse("append N5 hello &"),
            Ok(Command::Op { wait: false, .. })
        ));
        assert!(matches!(parse("crash 2"), Ok(Command::Act(_))));
        assert_eq!(parse(""), Ok(Command::Nothing));
        assert!(parse("crash").unwrap_err().contains("usage: crash N"));
        assert!(parse("crash x").unwrap_err().contains("not a node id"));
        assert!(parse("frobnicate").unwrap_err().contains("help"));
        assert!(parse("run for soon").unwrap_err().contains("duration"));
        assert!(parse("nodes &").unwrap_err().contains("`&`"));
        assert!(parse("speed -1").is_err());
        assert!(parse("store election for 300ms").is_ok());
    }

    #[test]
    fn every_command_has_help() {
        for (name, _, _) in COMMANDS {
            assert!(!help(Some(name)).starts_with("unknown"), "{name}");
        }
    }
}
