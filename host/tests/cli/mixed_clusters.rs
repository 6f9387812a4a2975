//! A component per role and per node, from the command line: `--log-server`, `--client`,
//! `--node-guest N=PATH`, in run, explore, repl and replay; and `guest export`, the built-in
//! guest as a file.

use crate::common;

use common::{logsandbox, scratch, stderr, stdout};

fn json(args: &[&str]) -> serde_json::Value {
    let out = logsandbox(args);
    assert!(
        out.status.code().is_some_and(|c| c <= 1),
        "{}",
        stderr(&out)
    );
    serde_json::from_str(stdout(&out).trim()).unwrap_or_else(|e| panic!("{e}: {}", stdout(&out)))
}

#[test]
fn the_exported_built_in_guest_runs_on_any_role_to_the_same_hash() {
    let dir = scratch("guest-export");
    let file = dir.join("builtin.wasm");
    let out = logsandbox(&["guest", "export", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        std::fs::read(&file).unwrap(),
        logsandbox::runtime::BUILTIN_GUEST
    );
    let small = [
        "--set",
        "workload.appenders=3",
        "--set",
        "workload.warmup_appends=5",
    ];
    let mut base = vec!["run", "append-seal-basic", "--json"];
    base.extend(small);
    let builtin = json(&base);
    let mut mixed = base.clone();
    mixed.extend(["--log-server", file.to_str().unwrap()]);
    let mixed = json(&mixed);
    assert_eq!(builtin["trace_hash"], mixed["trace_hash"]);
    assert_eq!(mixed["outcome"], "pass");
    // The report names which component each node runs.
    let guest = mixed["guest"].as_str().unwrap();
    assert!(
        guest.contains("N1: ") && guest.contains("N5: built-in guest"),
        "{guest}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_log_server_mutant_beside_the_built_in_client_is_caught_in_run_explore_and_replay() {
    let dir = scratch("mixed-mutant");
    let store_after_seal = common::mutant_file(&dir, "store-after-seal");
    let path = store_after_seal.to_str().unwrap();
    // Only the log-servers run the mutant: the sequencer and client stay the built-in ones.
    let report = json(&["run", "remote-seal", "--log-server", path, "--json"]);
    assert_eq!(report["outcome"], "fail", "{report:#}");
    let guest = report["guest"].as_str().unwrap();
    assert!(guest.contains("N5: built-in guest"), "{guest}");
    assert!(
        guest.contains("N1: ") && guest.contains("store-after-seal"),
        "{guest}"
    );
    // The same mix on a client only is harmless: the bug lives in the log-server.
    let report = json(&["run", "remote-seal", "--client", path, "--json"]);
    assert_eq!(report["outcome"], "pass", "{report:#}");
    // Explore runs the mix on every seed; the built-in guest passes the same seeds.
    let exploration = json(&[
        "explore",
        "remote-seal",
        "--seeds",
        "1..3",
        "--log-server",
        path,
        "--json",
    ]);
    assert_eq!(exploration["runs"], 3, "{exploration:#}");
    assert!(
        exploration["failures"].as_u64().unwrap() >= 1,
        "{exploration:#}"
    );
    let guest = exploration["guest"].as_str().unwrap();
    assert!(
        guest.contains("N1: ")
            && guest.contains("store-after-seal")
            && guest.contains("N5: built-in guest"),
        "{guest}"
    );
    let clean = json(&["explore", "remote-seal", "--seeds", "1..3", "--json"]);
    assert_eq!(clean["failures"], 0, "{clean:#}");
    assert_eq!(clean["guest"], "built-in guest", "{clean:#}");
    // Its text names the mix, and each failing seed's replay command keeps it.
    let out = logsandbox(&[
        "explore",
        "remote-seal",
        "--seeds",
        "1..3",
        "--log-server",
        path,
    ]);
    let text = common::stdout(&out);
    assert!(text.contains("  guest   N1: "), "{text}");
    let replay = text
        .lines()
        .find(|l| {
            l.trim_start()
                .starts_with("logsandbox run remote-seal --seed")
        })
        .unwrap_or_else(|| panic!("no replay command: {text}"));
    assert!(
        replay.ends_with(&format!("--log-server {path}")),
        "{replay}"
    );
    // One node only: N2 runs the mutant.
    let spec = format!("2={path}");
    let report = json(&["run", "remote-seal", "--node-guest", &spec, "--json"]);
    let guest = report["guest"].as_str().unwrap();
    assert!(
        guest.contains("N1: built-in guest") && guest.contains("N2: "),
        "{guest}"
    );
    // --out keeps the component under its role, and replay uses it.
    let out_dir = dir.join("out");
    let out = logsandbox(&[
        "run",
        "remote-seal",
        "--log-server",
        path,
        "--out",
        out_dir.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout(&out).contains(&format!("--log-server {path}")),
        "{}",
        stdout(&out)
    );
    assert!(out_dir.join("log-server.wasm").is_file());
    std::fs::remove_file(&store_after_seal).unwrap();
    let out = logsandbox(&["replay", out_dir.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).contains("reproduced"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_bad_node_guest_is_bad_input() {
    let out = logsandbox(&["run", "append-seal-basic", "--node-guest", "two=x.wasm"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("expected N=PATH.wasm"),
        "{}",
        stderr(&out)
    );
    let out = logsandbox(&["run", "append-seal-basic", "--client", "/no/such.wasm"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("/no/such.wasm"), "{}", stderr(&out));
}

#[test]
fn a_component_built_against_another_version_of_the_wit_is_refused_by_name() {
    let dir = scratch("old-wit");
    let old = dir.join("old.wasm");
    let wasm = wat::parse_str(
        r#"(component
            (import "logsandbox:node/storage@0.3.0" (instance))
        )"#,
    )
    .expect("a component in the text format");
    std::fs::write(&old, wasm).unwrap();
    for flag in ["--guest", "--log-server"] {
        let out = logsandbox(&["run", "append-seal-basic", flag, old.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
        let err = stderr(&out);
        assert!(
            err.contains("built against logsandbox:node@0.3.0")
                && err.contains("this host speaks logsandbox:node@0.4.0"),
            "{err}"
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
