//! `logsandbox repl`, driven as a person drives it: through a pseudo-terminal, one command
//! at a time, reading what it shows after each. And the promises around it: a saved
//! session replays to the same trace hash, and pacing by the wall clock changes nothing.

use crate::common;

use std::io::Write;
use std::process::{Command, Stdio};

use common::{logsandbox, scratch, stderr, stdout};
use rexpect::session::{PtySession, spawn_command};

fn repl_in_a_terminal(history: &std::path::Path) -> PtySession {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_logsandbox"));
    cmd.arg("repl")
        .env("NO_COLOR", "1")
        .env("TERM", "xterm")
        .env("LOGSANDBOX_HISTORY", history);
    spawn_command(cmd, Some(30_000)).expect("the repl starts in a pseudo-terminal")
}

/// Sends a command and returns everything shown until the next prompt, which must read
/// `clock`.
fn command(p: &mut PtySession, line: &str, clock_prompt: &str) -> String {
    p.send_line(line).unwrap();
    let (shown, _) = p
        .exp_regex(&format!("logsandbox {clock_prompt}> "))
        .unwrap_or_else(|e| panic!("no prompt after {line:?}: {e}"));
    shown
}

/// As [`command`], for any clock.
fn any(p: &mut PtySession, line: &str) -> String {
    command(p, line, r"[0-9.]+(ns|us|µs|ms|s)")
}

#[test]
fn a_person_at_a_terminal_starts_appends_partitions_crashes_restarts_and_seals() {
    let dir = scratch("repl-pty");
    let mut p = repl_in_a_terminal(&dir.join("history"));
    p.exp_string("`help` lists the commands").unwrap();
    p.exp_string("logsandbox 0ns> ").unwrap();

    // Start-up: every node starts and caches the installed Logs.
    let shown = command(&mut p, "run for 10ms", "10ms");
    assert!(shown.contains("N5 starts"), "{shown}");
    assert!(
        shown.contains("N5  caches Logs v1 from metadata store"),
        "{shown}"
    );
    let nodes = any(&mut p, "nodes");
    for n in ["N1", "N2", "N3"] {
        assert!(
            nodes.lines().any(|l| l.starts_with(n)
                && l.contains("log-server")
                && l.contains("running")
                && l.contains("v1 from store")),
            "{nodes}"
        );
    }
    assert!(
        nodes
            .lines()
            .any(|l| l.starts_with("N5") && l.contains("client+sequencer")),
        "{nodes}"
    );

    // An append, waited for.
    let shown = any(&mut p, "append 5 hello");
    assert!(
        shown.contains("#1 append to log 0: hello on N5: appended at 1"),
        "{shown}"
    );

    // A partition between the sequencer and N1: the next append still commits (on N2, N3).
    let shown = any(&mut p, "partition 5 1");
    assert!(shown.contains("messages N5 <-> N1 are lost"), "{shown}");
    let shown = any(&mut p, "append 5 world");
    assert!(shown.contains("appended at 2"), "{shown}");

    // A crash of N2, shown in its node view.
    let shown = any(&mut p, "crash 2");
    assert!(shown.contains("N2 crashed"), "{shown}");
    let node = any(&mut p, "node 2");
    assert!(node.contains("crashed at"), "{node}");
    assert!(
        node.contains("incarnation  1 (1 crashes, 0 restarts)"),
        "{node}"
    );

    // Its restart: a new incarnation that recovers its loglet from its database.
    let shown = any(&mut p, "restart 2");
    assert!(shown.contains("N2 starts"), "{shown}");
    any(&mut p, "run for 50ms");
    let node = any(&mut p, "node 2");
    assert!(node.contains("status       running"), "{node}");
    assert!(
        node.contains("incarnation  2 (1 crashes, 1 restarts)"),
        "{node}"
    );
    assert!(node.contains("recovered loglet 0_0"), "{node}");

    // A seal, then the tail it left, seen through find-tail and the history.
    let shown = any(&mut p, "seal 5");
    assert!(
        shown.contains("seal log 0 on N5: sealed: Sealed(3)"),
        "{shown}"
    );
    // The loglet is sealed and the chain open: the find-tail seals the chain (its marker
    // at 3) before it answers, and an append then meets the marker.
    let shown = any(&mut p, "find-tail 5");
    assert!(shown.contains("tail Sealed(3)"), "{shown}");
    let shown = any(&mut p, "append 5 late");
    assert!(
        shown.contains("failed: reconfiguration needed: log 0 is sealed at LSN 3"),
        "{shown}"
    );
    // Completion: `hist` and a tab become `history`.
    p.send("hist\t").unwrap();
    p.flush().unwrap();
    p.exp_string("tory ").unwrap();
    let history = any(&mut p, "");
    assert!(
        history.contains("#3 ") && history.contains("seal log 0 (step-"),
        "{history}"
    );
    let checks = any(&mut p, "check");
    assert!(checks.contains("13 of 13 hold"), "{checks}");
    let help = any(&mut p, "help partition");
    assert!(
        help.contains("partition A B [one-way] [for DURATION]"),
        "{help}"
    );
    let bad = any(&mut p, "crash seven");
    assert!(bad.contains("error: \"seven\" is not a node id"), "{bad}");

    // Save, and the trace hash it promises.
    let file = dir.join("session.toml");
    let saved = any(&mut p, &format!("save {}", file.display()));
    let promised = saved
        .split("replays it to trace ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("{saved}"))
        .to_string();
    p.send_line("quit").unwrap();
    p.exp_eof().unwrap();

    let out = logsandbox(&["run", file.to_str().unwrap(), "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let json: serde_json::Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    assert_eq!(
        json["trace_hash"],
        promised.as_str(),
        "the saved session replays exactly"
    );
    // The history remembers the commands for next time.
    let history = std::fs::read_to_string(dir.join("history")).unwrap();
    assert!(history.contains("partition 5 1"), "{history}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Runs the repl on `commands` from a pipe; returns what it printed.
fn piped(args: &[&str], commands: &str) -> String {
    let mut child = Command::new(env!("CARGO_BIN_EXE_logsandbox"))
        .arg("repl")
        .args(args)
        .env("NO_COLOR", "1")
        .env("LOGSANDBOX_HISTORY", "")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(commands.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    stdout(&out)
}

fn hash_of(transcript: &str) -> String {
    transcript
        .lines()
        .filter_map(|l| l.split("trace ").nth(1))
        .next_back()
        .unwrap_or_else(|| panic!("no hash in:\n{transcript}"))
        .trim()
        .to_string()
}

#[test]
fn a_paced_session_hashes_as_the_same_session_in_virtual_time() {
    let session = "run for 10ms\nappend 5 a\nhold 5 2\nappend 5 b &\nrun for 20ms\nrelease 5 2\nrun until #2\nstep\nstep\nwipe 3\nrestart 3\nrun for 30ms\nhash\n";
    let virtual_time = piped(&[], session);
    let started = std::time::Instant::now();
    let paced = piped(&["--speed", "2"], session);
    let wall = started.elapsed();
    assert_eq!(
        hash_of(&virtual_time),
        hash_of(&paced),
        "{virtual_time}\n{paced}"
    );
    // 60 ms of virtual time at twice real time is at least 30 ms of wall time.
    assert!(wall >= std::time::Duration::from_millis(30), "{wall:?}");
    assert!(paced.contains("paced at 2x real time"), "{paced}");
}

#[test]
fn a_session_with_steps_and_stops_mid_instant_replays_to_its_hash() {
    let dir = scratch("repl-replay");
    let file = dir.join("s.toml");
    let transcript = piped(
        &[
            "same-version-race",
            "--set",
            "workload.kind=none",
            "--seed",
            "3",
        ],
        &format!(
            "run until 2.5s\nstep\nstep\nwait 5 1\nfind-tail 5\nlatency metadata_store 5ms\nstore hang for 100ms\nrun until caches\nstep\nsave {}\nexplain\n",
            file.display()
        ),
    );
    assert!(transcript.contains("unknown log '0'"), "{transcript}");
    let promised = hash_of(
        &transcript
            .lines()
            .find(|l| l.starts_with("wrote"))
            .unwrap()
            .replace("replays it to trace", "trace"),
    );
    let out = logsandbox(&["run", file.to_str().unwrap(), "--json"]);
    let json: serde_json::Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    assert_eq!(
        json["trace_hash"],
        promised.as_str(),
        "{}",
        std::fs::read_to_string(&file).unwrap()
    );
    // explain in the session names the failing find-tail and the value it read.
    assert!(
        transcript.contains("caches Logs v1 from peer"),
        "{transcript}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn save_refuses_a_session_whose_workload_a_script_cannot_replay() {
    let out = piped(&["append-seal-basic"], "save /tmp/never-written.toml\n");
    assert!(
        out.contains("error: this session runs the scenario's append-after-seal workload"),
        "{out}"
    );
}

#[test]
fn actions_at_an_instant_where_the_scenario_has_faults_due_replay_to_the_same_hash() {
    // The scenario's faults at 1 s and 2 s are queued before any step could be: an action
    // typed at those instants must come after them, as a saved step would.
    let dir = scratch("repl-due");
    let file = dir.join("s.toml");
    let transcript = piped(
        &["partition-then-loss", "--set", "workload.kind=none"],
        &format!(
            "run until 1s\nlatency network 7ms\nappend 5 a &\nrun until 2s\ncrash 2\nstep\nrun for 0\nrestart 2\nrun for 300ms\nsave {}\n",
            file.display()
        ),
    );
    let promised = hash_of(
        &transcript
            .lines()
            .find(|l| l.starts_with("wrote"))
            .unwrap_or_else(|| panic!("{transcript}"))
            .replace("replays it to trace", "trace"),
    );
    let out = logsandbox(&["run", file.to_str().unwrap(), "--json"]);
    let json: serde_json::Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    assert_eq!(json["trace_hash"], promised.as_str(), "{transcript}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn bad_commands_are_refused_with_a_reason_and_the_session_goes_on() {
    let out = piped(
        &[],
        "svg /tmp/x.svg 2s..1s\nspeed 0\ncrash 9\nrun until #7\nappend\nrun for 1ms\nhash\n",
    );
    assert!(
        out.contains("error: the window 2s..1s ends before it begins"),
        "{out}"
    );
    assert!(out.contains("error: \"0\" is not a speed"), "{out}");
    assert!(out.contains("error: N9 is not in the cluster"), "{out}");
    assert!(out.contains("error: there is no operation #7"), "{out}");
    assert!(out.contains("error: usage: append N PAYLOAD [&]"), "{out}");
    assert!(out.contains("at 1ms:"), "{out}");
}

#[test]
fn seal_and_extend_at_the_terminal_moves_the_chain_and_node_shows_both_segments() {
    let dir = scratch("repl-chain");
    let mut p = repl_in_a_terminal(&dir.join("history"));
    p.exp_string("logsandbox 0ns> ").unwrap();
    any(&mut p, "run for 10ms");
    assert!(any(&mut p, "append 5 a").contains("appended at 1"));
    let shown = any(&mut p, "seal-and-extend 5 sequencer=5");
    assert!(
        shown.contains("extended: segment 1 from LSN 2 at v2"),
        "{shown}"
    );
    assert!(any(&mut p, "append 5 b").contains("appended at 2"));
    let node = any(&mut p, "node 5");
    assert!(
        node.contains("log 0 -> [1..2: 0_0 on [1, 2, 3], 2..: 0_1 on [1, 2, 3]]"),
        "{node}"
    );
    let bad = any(&mut p, "seal-and-extend 5 colour=blue");
    assert!(
        bad.contains("\"colour\" is not an option of seal-and-extend"),
        "{bad}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
