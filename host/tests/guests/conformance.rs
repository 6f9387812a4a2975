//! `logsandbox conform`: the built-in log-server keeps every rule, each log-server mutant
//! breaks one and is told which, with the request and the answer; a crash shows what the
//! guest printed; bad input exits 2. And `mutants --role log-server`: mutants on the
//! log-servers only, beside the built-in client.

use crate::common;

use common::{logsandbox, mutant_file, scratch, stderr, stdout};
use logsandbox::conform::{self, RULES};
use logsandbox::runtime::{Component, MUTANTS, MutantPart, test_guests};
use std::sync::Arc;

#[test]
fn the_built_in_log_server_keeps_every_rule() {
    let dir = scratch("conform-builtin");
    let file = dir.join("builtin.wasm");
    let out = logsandbox(&["guest", "export", file.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = logsandbox(&["conform", file.to_str().unwrap()]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text}{}", stderr(&out));
    for rule in RULES {
        assert!(text.contains(&format!("ok   {}\n", rule.name)), "{text}");
    }
    let total = RULES.len();
    assert!(
        text.contains(&format!("{total} of {total} rules passed")),
        "{text}"
    );
    // Every family of the protocol has rules.
    for family in [
        "store.",
        "seal.",
        "get-records.",
        "trim.",
        "wait-for-tail.",
        "digest.",
        "recovery.",
        "metadata.",
    ] {
        assert!(RULES.iter().any(|r| r.name.starts_with(family)), "{family}");
    }
}

/// The rule each log-server mutant must break, at least.
fn expected_rule(mutant: &str) -> &'static str {
    match mutant {
        "store-after-seal" => "store.sealed",
        "forget-seal-on-recovery" => "recovery.durable-state",
        "trim-beyond-tail" => "trim.bounds",
        other => panic!("a new log-server mutant, {other}: name the rule it must break"),
    }
}

#[test]
fn every_log_server_mutant_fails_conform_naming_the_rule() {
    let dir = scratch("conform-mutants");
    let mutants: Vec<_> = MUTANTS
        .iter()
        .filter(|m| m.part == MutantPart::LogServer)
        .collect();
    assert!(mutants.len() >= 3);
    for mutant in mutants {
        let file = mutant_file(&dir, mutant.name);
        let out = logsandbox(&["conform", file.to_str().unwrap()]);
        let text = stdout(&out);
        assert_eq!(out.status.code(), Some(1), "{}: {text}", mutant.name);
        let rule = expected_rule(mutant.name);
        let failure = text
            .split("\nFAIL ")
            .find(|block| block.starts_with(&format!("{rule}:")))
            .unwrap_or_else(|| panic!("{}: no FAIL {rule}\n{text}", mutant.name));
        for part in ["request:  N", "answer:   ", "expected: "] {
            assert!(failure.contains(part), "{}: {failure}", mutant.name);
        }
        assert!(!text.contains(&format!("ok   {rule}\n")), "{text}");
    }
}

#[test]
fn a_broken_rule_shows_the_request_and_the_answer_that_broke_it() {
    let dir = scratch("conform-detail");
    let file = mutant_file(&dir, "store-after-seal");
    let out = logsandbox(&["conform", file.to_str().unwrap(), "--rule", "store.sealed"]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("1 rule\n"), "{text}");
    // A store after a durable seal was taken: the request, the answer, the rule.
    assert!(
        text.contains("request:  N2 -> N1 Store 0_0 [3..3] sequencer N2"),
        "{text}"
    );
    assert!(text.contains("answer:   Stored Ok"), "{text}");
    assert!(text.contains("expected: Stored Sealed"), "{text}");
    assert!(text.contains("0 of 1 rule passed"), "{text}");

    let out = logsandbox(&["conform", file.to_str().unwrap(), "--json"]);
    assert_eq!(out.status.code(), Some(1));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    assert_eq!(json["passed"], false);
    assert_eq!(json["rules"], RULES.len());
    let outcomes = json["outcomes"].as_array().unwrap();
    let sealed = outcomes
        .iter()
        .find(|o| o["rule"] == "store.sealed")
        .unwrap();
    assert!(
        sealed["broken"]["answer"]
            .as_str()
            .unwrap()
            .starts_with("Stored Ok"),
        "{sealed}"
    );
    assert_eq!(
        json["failed"],
        outcomes.iter().filter(|o| !o["broken"].is_null()).count()
    );
}

#[test]
fn a_guest_that_crashes_under_a_rule_fails_it_with_what_it_printed() {
    let dir = scratch("conform-crash");
    let file = dir.join("hostile.wasm");
    std::fs::write(&file, test_guests::HOSTILE).unwrap();
    let out = logsandbox(&[
        "conform",
        file.to_str().unwrap(),
        "--rule",
        "loglet.fresh",
        "--set",
        "hostile.kind=print-panic",
        "--set",
        "hostile.node=1",
        "--set",
        "guest.hostile.at_ms=0",
    ]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}{}", stderr(&out));
    assert!(text.contains("N1 crashed: trapped"), "{text}");
    assert!(text.contains("hostile N1: about to give up"), "{text}");
    assert!(text.contains("hostile N1 gives up"), "{text}");

    // A node that floods, loops or misaddresses fails the rule, named; conform goes on.
    let cases = [
        (
            "timer-loop",
            "rounds of messages, answers and timers due at one instant",
        ),
        ("flood", "more than 100000 effects"),
        ("bad-peer", "a message to N999"),
        ("bad-complete", "completed client operation"),
    ];
    for (kind, says) in cases {
        let out = logsandbox(&[
            "conform",
            file.to_str().unwrap(),
            "--rule",
            "store.ok-once-durable",
            "--set",
            &format!("hostile.kind={kind}"),
            "--set",
            "hostile.node=1",
            "--set",
            "hostile.at_ms=0",
        ]);
        let text = stdout(&out);
        assert_eq!(out.status.code(), Some(1), "{kind}: {text}{}", stderr(&out));
        assert!(text.contains(says), "{kind}: {text}");
    }
}

#[test]
fn conform_refuses_bad_input_with_exit_2() {
    let dir = scratch("conform-bad");
    let not_wasm = dir.join("notes.wasm");
    std::fs::write(&not_wasm, "not a component").unwrap();
    let missing = dir.join("missing.wasm");
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["conform", missing.to_str().unwrap()], "missing.wasm"),
        (vec!["conform", not_wasm.to_str().unwrap()], "notes.wasm"),
        (
            vec!["conform", "--rule", "no-such-rule"],
            "no rule's name contains it",
        ),
        (vec!["conform", "--set", "novalue"], "expected KEY=VALUE"),
        (
            vec!["conform", "--set", "run.fuel_per_call=5"],
            "a scenario key",
        ),
        (vec!["conform", "--set", "guest.=1"], "the key is empty"),
    ];
    for (args, says) in cases {
        let out = logsandbox(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains(says), "{args:?}: {}", stderr(&out));
    }
}

#[test]
fn the_suite_is_a_library_too_and_runs_the_same_every_time() {
    let runtime = Component::builtin().unwrap();
    let first = conform::run(runtime.clone(), Some("recovery"), &[]);
    assert_eq!(first.len(), 2);
    assert!(first.iter().all(|o| o.broken.is_none()), "{first:?}");
    let mutant = MUTANTS
        .iter()
        .find(|m| m.name == "forget-seal-on-recovery")
        .unwrap();
    let mutant = Arc::new(Component::load(mutant.name, mutant.wasm).unwrap());
    let once = conform::run(mutant.clone(), Some("recovery"), &[]);
    let again = conform::run(mutant, Some("recovery"), &[]);
    let broken: Vec<_> = once.iter().filter_map(|o| o.broken.clone()).collect();
    assert_eq!(broken.len(), 1, "{once:?}");
    assert!(broken[0].answer.contains("sealed false"), "{:?}", broken[0]);
    let twice: Vec<_> = again.iter().filter_map(|o| o.broken.clone()).collect();
    assert_eq!(broken, twice, "the same rule breaks the same way");
}

#[test]
fn mutants_on_the_log_servers_only_are_caught_beside_the_built_in_client() {
    let out = logsandbox(&[
        "mutants",
        "--role",
        "log-server",
        "--seeds",
        "1..1",
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    assert!(
        json["cluster"]
            .as_str()
            .unwrap()
            .contains("log-servers run the mutant; clients run the built-in guest"),
        "{json}"
    );
    for m in json["mutants"].as_array().unwrap() {
        let log_server = m["part"] == "log-server";
        assert_eq!(m["expected"], log_server, "{m}");
        if log_server {
            assert!(!m["caught"].is_null(), "{m}");
            assert!(!m["conform"].as_array().unwrap().is_empty(), "{m}");
        } else {
            assert!(m["conform"].is_null(), "{m}");
        }
    }
    // A contradiction is refused.
    let out = logsandbox(&["mutants", "--role", "log-server", "--log-server", "x.wasm"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("names no place left"),
        "{}",
        stderr(&out)
    );
    let out = logsandbox(&["mutants", "--log-server", "x.wasm", "--client", "y.wasm"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("would run nowhere"),
        "{}",
        stderr(&out)
    );
}
