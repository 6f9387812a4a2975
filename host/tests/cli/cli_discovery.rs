//! Finding your way without reading the source: `logsandbox keys` lists every scenario key
//! with its type, default and meaning, and `logsandbox scenarios show NAME` prints a
//! built-in as a template that runs as it is and can be changed.

use crate::common;

use common::{logsandbox, scratch, stderr, stdout};
use logsandbox::scenario::KEYS;

#[test]
fn keys_lists_every_key_with_its_type_default_and_meaning() {
    let out = logsandbox(&["keys"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    for key in KEYS {
        let line = text
            .lines()
            .find(|l| l.split_whitespace().next() == Some(key.name))
            .unwrap_or_else(|| panic!("{} is not listed:\n{text}", key.name));
        assert!(line.contains(key.meaning), "{line}");
        let default = key.default_text();
        if !default.is_empty() {
            assert!(line.contains(&default), "{line}");
        }
        if !key.range.is_empty() {
            assert!(line.contains(key.range), "{line}");
        }
    }
    // The run.* limits state their ranges: a user raising one knows how far.
    let line = |name: &str| {
        text.lines()
            .find(|l| l.starts_with(name))
            .unwrap()
            .to_string()
    };
    assert!(line("run.memory_mb ").contains("4..=4096"), "{text}");
    assert!(
        line("run.fuel_per_call ").contains("10000 or more"),
        "{text}"
    );
    assert!(text.contains("guest."), "{text}");
    // The settings the built-in guest reads, each with its default and its values.
    for key in logsandbox::scenario::keys::guest::GUEST_KEYS {
        let name = format!("guest.{}", key.name);
        let line = text
            .lines()
            .find(|l| l.split_whitespace().next() == Some(name.as_str()))
            .unwrap_or_else(|| panic!("{name} is not listed:\n{text}"));
        assert!(
            line.contains(key.default) && line.contains(key.meaning),
            "{line}"
        );
    }
    assert!(
        line("guest.bifrost.trim_clamp ").contains("known-tail, find-tail"),
        "{text}"
    );
}

#[test]
fn a_shown_scenario_is_a_template_that_runs_as_the_built_in_does() {
    let dir = scratch("scenarios-show");
    let out = logsandbox(&["scenarios", "show", "store-4523-fixed"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let path = dir.join("mine.toml");
    std::fs::write(&path, stdout(&out)).unwrap();
    let hash = |scenario: &str| {
        let out = logsandbox(&["run", scenario, "--json"]);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let json: serde_json::Value = serde_json::from_str(stdout(&out).trim()).unwrap();
        json["trace_hash"].as_str().unwrap().to_string()
    };
    assert_eq!(hash(path.to_str().unwrap()), hash("store-4523-fixed"));
    // An unknown name is bad input that lists the built-ins.
    let out = logsandbox(&["scenarios", "show", "no-such-scenario"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("store-4523"), "{}", stderr(&out));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_bare_zero_is_a_duration_in_a_file_and_on_the_command_line() {
    let dir = scratch("bare-zero");
    let path = dir.join("zero.toml");
    std::fs::write(
        &path,
        "name = \"zero\"\n[workload]\nappenders = 2\nwarmup_appends = 3\nlookup_delay = 0\nseal_delay = \"0\"\n",
    )
    .unwrap();
    let out = logsandbox(&[
        "run",
        path.to_str().unwrap(),
        "--set",
        "workload.after_seal_pause=0",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    std::fs::remove_dir_all(&dir).unwrap();
}
