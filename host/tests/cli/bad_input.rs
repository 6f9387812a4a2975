//! Bad input gets a clear message naming the culprit, and exit code 2, never a panic.

use crate::common;

use common::{logsandbox, scratch, stderr};

fn assert_bad_input(args: &[&str], expected: &[&str]) {
    let out = logsandbox(args);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "args {args:?}: {err}");
    for needle in expected {
        assert!(
            err.contains(needle),
            "args {args:?}: {err:?} does not mention {needle:?}"
        );
    }
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn an_unknown_scenario_is_named() {
    assert_bad_input(
        &["run", "no-such-scenario"],
        &["unknown scenario `no-such-scenario`", "append-seal-basic"],
    );
}

#[test]
fn an_unknown_set_key_is_named() {
    assert_bad_input(
        &["run", "append-seal-basic", "--set", "latency.netwrk=2ms"],
        &["unknown key `latency.netwrk`", "--set", "latency.network"],
    );
    assert_bad_input(
        &["run", "append-seal-basic", "--set", "nonsense"],
        &["--set nonsense", "key=value"],
    );
}

#[test]
fn a_malformed_latency_is_named() {
    assert_bad_input(
        &[
            "run",
            "append-seal-basic",
            "--set",
            "latency.network=3ms..1ms",
        ],
        &["latency.network", "malformed latency \"3ms..1ms\""],
    );
}

#[test]
fn a_broken_scenario_file_is_named_with_its_line() {
    let dir = scratch("bad-input");
    let file = dir.join("broken.toml");
    std::fs::write(
        &file,
        "name = \"broken\"\n[latency]\nnetwork = \"1ms\"\nstorage = 5\n",
    )
    .unwrap();
    let path = file.to_str().unwrap();
    assert_bad_input(
        &["run", path],
        &[path, "latency.storage", "expected a latency"],
    );
    std::fs::write(&file, "name = \"broken\"\n[cluster\n").unwrap();
    assert_bad_input(&["run", path], &[path, "invalid TOML", "line 2"]);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_file_that_is_not_a_component_is_rejected() {
    let dir = scratch("bad-guest");
    let file = dir.join("not-a-component.wasm");
    std::fs::write(&file, b"\0asm\x01\0\0\0").unwrap();
    let path = file.to_str().unwrap();
    assert_bad_input(&["run", "append-seal-basic", "--guest", path], &[path]);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Writes a component from its text form into a scratch file.
fn component(dir: &std::path::Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, wat::parse_str(text).expect("valid component text")).unwrap();
    path.to_str().unwrap().to_string()
}

#[test]
fn a_component_without_the_node_export_is_rejected_naming_it() {
    let dir = scratch("no-export");
    let path = component(&dir, "empty.wasm", "(component)");
    assert_bad_input(
        &["run", "append-seal-basic", "--guest", &path],
        &[
            &path,
            "does not implement the world",
            "logsandbox:node/node",
        ],
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_component_with_an_unknown_import_is_rejected_naming_it() {
    let dir = scratch("bad-import");
    let path = component(
        &dir,
        "imports.wasm",
        r#"(component (import "acme:clock/now" (instance (export "now" (func (result u64))))))"#,
    );
    assert_bad_input(
        &["run", "append-seal-basic", "--guest", &path],
        &[&path, "acme:clock/now"],
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn timeline_and_json_do_not_mix() {
    assert_bad_input(
        &["run", "append-seal-basic", "--json", "--timeline"],
        &["--timeline", "--json"],
    );
}
