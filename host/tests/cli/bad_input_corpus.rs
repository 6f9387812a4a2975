//! A corpus of bad input, each case through the real command line: every one exits 2 with
//! a message that names the culprit (the key, the file, the argument), and none panics.
//! Most cases are generated from the key table: every key, given values of the wrong type,
//! out of range, or malformed; the rest are broken files and arguments written by hand.

use crate::common;

use common::{logsandbox, scratch, stderr};
use logsandbox::scenario::{KEYS, keys::Kind};

struct Case {
    args: Vec<String>,
    /// Texts the error must contain.
    names: Vec<String>,
}

fn case(args: &[&str], names: &[&str]) -> Case {
    Case {
        args: args.iter().map(|s| s.to_string()).collect(),
        names: names.iter().map(|s| s.to_string()).collect(),
    }
}

/// Values no key of `kind` takes.
fn bad_values(kind: Kind) -> &'static [&'static str] {
    match kind {
        Kind::Integer => &["abc", "-1", "1.5", "99999999999999999999999", "true", "[1]"],
        Kind::Duration => &["abc", "-5ms", "5 parsecs", "true", "1e400s", "7"],
        Kind::Latency => &["1ms..", "5ms..1ms", "exp:", "-1ms", "7", "fast"],
        Kind::Bool => &["yes", "1", "\"true\"", "[]"],
        Kind::Text => &["[1, 2]", "{ a = 1 }"],
    }
}

fn corpus(dir: &std::path::Path) -> Vec<Case> {
    let mut cases = Vec::new();
    for key in KEYS {
        for value in bad_values(key.kind) {
            let set = format!("{}={value}", key.name);
            cases.push(case(
                &["run", "append-seal-basic", "--set", &set],
                &[key.name],
            ));
        }
    }
    // Values with a control character: one line only.
    for key in ["name", "latency.network", "cluster.log_servers"] {
        let set = format!("{key}=1\nlatency.storage=\"1s\"");
        cases.push(case(
            &["run", "append-seal-basic", "--set", &set],
            &["control character"],
        ));
    }
    // Keys that do not exist, or are not whole.
    for key in [
        "latency.netwrk",
        "cluster",
        "run.nope",
        "workload.weights.nope",
        "guest.",
    ] {
        let set = format!("{key}=1");
        cases.push(case(&["run", "append-seal-basic", "--set", &set], &[key]));
    }
    // The built-in guest's settings out of their range (a setting it does not read passes).
    for (set, name) in [
        (
            "guest.bifrost.auto_recovery_interval_ms=0",
            "guest.bifrost.auto_recovery_interval_ms",
        ),
        (
            "guest.bifrost.append_retry_min_ms=5000",
            "guest.bifrost.append_retry_min_ms",
        ),
        ("guest.log_server.accepting_writes=maybe", "true or false"),
        (
            "guest.sequencer.max_inflight_records=0",
            "guest.sequencer.max_inflight_records",
        ),
        (
            "guest.metadata.tick_interval_ms=-3",
            "guest.metadata.tick_interval_ms",
        ),
    ] {
        cases.push(case(&["run", "append-seal-basic", "--set", set], &[name]));
    }
    // Scenario files that break in every place.
    let files: &[(&str, &str, &str)] = &[
        ("unterminated", "name = \"x\n", "unterminated.toml"),
        (
            "duplicate",
            "name = \"a\"\nname = \"b\"\n",
            "duplicate.toml",
        ),
        ("wrong-table", "latency = 5\n", "latency"),
        ("unknown-table", "[clutser]\nlog_servers = 3\n", "clutser"),
        (
            "zero-servers",
            "[cluster]\nlog_servers = 0\n",
            "cluster.log_servers",
        ),
        (
            "replication",
            "[cluster]\nreplication = 9\n",
            "cluster.replication",
        ),
        ("fault-shape", "faults = 5\n", "faults"),
        (
            "chain-bases-back",
            "[[metadata.segments]]\nbase_lsn = 5\n[[metadata.segments]]\nbase_lsn = 3\n",
            "metadata.segments[1].base_lsn",
        ),
        (
            "chain-after-marker",
            "[[metadata.segments]]\nbase_lsn = 1\n[[metadata.segments]]\nbase_lsn = 4\nkind = \"sealed\"\n[[metadata.segments]]\nbase_lsn = 9\n",
            "metadata.segments[2].kind",
        ),
        (
            "chain-lsn-zero",
            "[[metadata.segments]]\nbase_lsn = 0\n",
            "metadata.segments[0].base_lsn",
        ),
        (
            "chain-nodeset",
            "[[metadata.segments]]\nbase_lsn = 1\nnodeset = [1, 7]\n",
            "metadata.segments[0].nodeset",
        ),
        (
            "chain-quorum",
            "[[metadata.segments]]\nbase_lsn = 1\nnodeset = [1, 2]\nreplication = 3\n",
            "metadata.segments[0].replication",
        ),
        (
            "chain-kind",
            "[[metadata.segments]]\nbase_lsn = 1\nkind = \"local\"\n",
            "metadata.segments[0].kind",
        ),
        (
            "chain-marker-params",
            "[[metadata.segments]]\nbase_lsn = 1\n[[metadata.segments]]\nbase_lsn = 2\nkind = \"sealed\"\nsequencer = 5\n",
            "metadata.segments[1].sequencer",
        ),
        (
            "fault-race-point",
            "faults = [{ on = \"chain-puts\", at = \"0\", action = \"crash\", node = 1 }]\n",
            "loglet-sealed",
        ),
        (
            "fault-on-node-without-point",
            "faults = [{ on = \"seal\", on_node = 6, at = \"0\", action = \"crash\", node = 1 }]\n",
            "faults[0].on_node",
        ),
        (
            "step-seal-and-extend-nodeset",
            "[[steps]]\ninvoke = \"seal-and-extend\"\nnode = 5\nnodeset = []\n",
            "steps[0].nodeset",
        ),
        (
            "step-strategy",
            "[[steps]]\ninvoke = \"append\"\nnode = 5\npayload = \"x\"\nstrategy = \"sometimes\"\n",
            "steps[0].strategy",
        ),
        (
            "step-lsn-negative",
            "[[steps]]\ninvoke = \"read\"\nnode = 5\nfrom = -1\nto = 3\n",
            "steps[0].from",
        ),
        (
            "fault-action",
            "faults = [{ at = \"1ms\", action = \"explode\", node = 1 }]\n",
            "explode",
        ),
        (
            "fault-node",
            "faults = [{ at = \"1ms\", action = \"crash\", node = 99 }]\n",
            "99",
        ),
        (
            "fault-time",
            "faults = [{ at = \"soon\", action = \"crash\", node = 1 }]\n",
            "soon",
        ),
        (
            "fault-until",
            "faults = [{ at = \"2ms\", until = \"1ms\", action = \"partition\", from = 1, to = 2 }]\n",
            "until",
        ),
        (
            "fault-path",
            "faults = [{ at = \"1ms\", action = \"latency\", path = \"1->moon\", value = \"1ms\" }]\n",
            "1->moon",
        ),
        (
            "election-forever",
            "faults = [{ at = \"1ms\", action = \"store-election\" }]\n",
            "faults[0].until",
        ),
        (
            "outage-until",
            "faults = [{ at = \"2s\", until = \"1s\", action = \"store-unavailable\" }]\n",
            "faults[0].until",
        ),
        (
            "proxy",
            "[metadata]\nproxy = \"lenient\"\n",
            "metadata.proxy",
        ),
        (
            "precondition",
            "[metadata]\nprecondition = \"matches-version:one\"\n",
            "metadata.precondition",
        ),
        (
            "put-tries",
            "[metadata]\nput_tries = 0\n",
            "metadata.put_tries",
        ),
        (
            "not-before-alone",
            "[[steps]]\nat = \"1ms\"\nstart = 5\nnot_before = \"1s\"\n",
            "steps[0].not_before",
        ),
        (
            "within-alone",
            "[[steps]]\nat = \"1ms\"\nstart = 5\nwithin = \"1s\"\n",
            "steps[0].within",
        ),
        (
            "within-below-not-before",
            "[[steps]]\nat = \"1ms\"\ninvoke = \"find-tail\"\nnode = 5\nexpect = \"tail\"\nnot_before = \"2s\"\nwithin = \"1s\"\n",
            "steps[0].within",
        ),
        ("steps-shape", "steps = 3\n", "steps"),
        (
            "step-op",
            "[[steps]]\nat = \"1ms\"\nnode = 5\ninvoke = \"dance\"\n",
            "dance",
        ),
        (
            "step-no-node",
            "[[steps]]\nat = \"1ms\"\ninvoke = \"find-tail\"\n",
            "steps[0].node",
        ),
        (
            "step-node",
            "[[steps]]\nat = \"1ms\"\nnode = 42\ninvoke = \"find-tail\"\n",
            "42",
        ),
        (
            "step-after",
            "[[steps]]\nafter = \"nobody\"\ninvoke = \"find-tail\"\n",
            "nobody",
        ),
        (
            "script-empty",
            "[workload]\nkind = \"script\"\n",
            "workload.kind",
        ),
        (
            "weights-zero",
            "[workload]\nkind = \"random\"\n[workload.weights]\nappend = 0\nread = 0\nfind_tail = 0\nseal = 0\ntrim = 0\n",
            "workload.weights",
        ),
        ("binary", "\u{0}\u{1}\u{2}", "binary.toml"),
        ("empty-key", "\"\" = 1\n", "binary"),
    ];
    for (name, text, named) in files {
        let path = dir.join(format!("{name}.toml"));
        std::fs::write(&path, text).unwrap();
        let p = path.to_str().unwrap();
        let named = if *named == "binary" { p } else { named };
        cases.push(case(&["run", p], &[named]));
    }
    // Arguments.
    let not_a_file = dir.join("a-directory");
    std::fs::create_dir_all(&not_a_file).unwrap();
    let garbage = dir.join("garbage.wasm");
    std::fs::write(&garbage, b"\0asm\x01\0\0\0garbage").unwrap();
    let read_only = dir.join("file-not-dir");
    std::fs::write(&read_only, b"").unwrap();
    let out_inside_file = read_only.join("out");
    // Command lines, split at spaces (the scratch paths have none).
    let (dir_path, garbage, missing, out) = (
        not_a_file.display().to_string(),
        garbage.display().to_string(),
        dir.join("missing.wasm").display().to_string(),
        out_inside_file.display().to_string(),
    );
    let explore = "explore random-ops --seeds 1..3";
    let lines: Vec<(String, &str)> = vec![
        ("run append-seal-basic --seed -1".into(), "--seed"),
        ("run append-seal-basic --seed x".into(), "--seed"),
        (
            "run append-seal-basic --seed 18446744073709551616".into(),
            "--seed",
        ),
        ("explore random-ops --seeds 5..1".into(), "--seeds"),
        ("explore random-ops --seeds -1..3".into(), "--seeds"),
        ("explore random-ops --seeds 1-3".into(), "--seeds"),
        (
            "explore random-ops --seeds 0..18446744073709551615".into(),
            "--seeds",
        ),
        (format!("{explore} --jobs 0"), "--jobs"),
        (format!("{explore} --jobs -2"), "--jobs"),
        (
            format!("{explore} --sweep latency.network=1ms..2ms"),
            "STEPS",
        ),
        (
            format!("{explore} --sweep latency.network=1ms..2ms:1"),
            "STEPS",
        ),
        (format!("{explore} --sweep name=a..b:2"), "name"),
        (
            format!("{explore} --sweep latency.network=x..2ms:3"),
            "latency.network",
        ),
        ("mutants --seeds 3..1".into(), "--seeds"),
        (
            format!("run append-seal-basic --guest {dir_path}"),
            "not a regular file",
        ),
        (
            "run append-seal-basic --guest /dev/zero".into(),
            "not a regular file",
        ),
        (
            format!("run append-seal-basic --guest {missing}"),
            "missing.wasm",
        ),
        (
            format!("run append-seal-basic --guest {garbage}"),
            "garbage.wasm",
        ),
        (format!("run append-seal-basic --out {out}"), "--out"),
        (
            "run append-seal-basic --json --timeline".into(),
            "--timeline",
        ),
        ("run".into(), "SCENARIO"),
        ("fly".into(), "fly"),
        ("run no-such-scenario".into(), "no-such-scenario"),
    ];
    for (line, named) in lines {
        cases.push(Case {
            args: line.split(' ').map(str::to_string).collect(),
            names: vec![named.to_string()],
        });
    }
    cases
}

#[test]
fn every_bad_input_exits_2_naming_the_culprit_and_none_panics() {
    let dir = scratch("corpus");
    let cases = corpus(&dir);
    assert!(cases.len() >= 100, "{} cases", cases.len());
    let mut wrong = Vec::new();
    for c in &cases {
        let args: Vec<&str> = c.args.iter().map(String::as_str).collect();
        let out = logsandbox(&args);
        let err = stderr(&out);
        let named = c.names.iter().all(|n| err.contains(n.as_str()));
        if out.status.code() != Some(2) || !named || err.contains("panicked") {
            wrong.push(format!(
                "{args:?}: exit {:?}, wanted a message naming {:?}: {err}",
                out.status.code(),
                c.names
            ));
        }
    }
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(
        wrong.is_empty(),
        "{} of {} cases:\n{}",
        wrong.len(),
        cases.len(),
        wrong.join("\n")
    );
}
