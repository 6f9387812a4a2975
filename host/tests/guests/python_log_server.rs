//! A second language, for real: the Python log-server of `examples/python-log-server`,
//! built from source with componentize-py (from PyPI, by the example's `build.sh`), keeps
//! every conformance rule, runs `append-seal-basic` beside the built-in client with every
//! check green (and the built-in guest's trace hash), and an exception it raises shows in
//! the report as a Python traceback.

use crate::common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use common::{logsandbox, stderr, stdout};

fn example_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/python-log-server")
}

/// The component, built by the example's script when it is missing or older than its
/// source or the WIT. Loaded once (`conform` on one rule) so the tests after it find the
/// host's compile cache warm: compiling an 18 MB component takes a while.
fn component() -> &'static Path {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT.get_or_init(|| {
        let dir = example_dir();
        let wasm = dir.join("log_server.wasm");
        let modified = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
        let sources = [
            dir.join("log_server.py"),
            dir.join("build.sh"),
            dir.join("../../wit/node.wit"),
        ];
        let stale = match modified(&wasm) {
            None => true,
            Some(built) => sources
                .iter()
                .any(|s| modified(s).is_none_or(|m| m > built)),
        };
        if stale {
            let out = Command::new("bash")
                .arg(dir.join("build.sh"))
                .output()
                .expect("bash runs the example's build script");
            assert!(
                out.status.success(),
                "examples/python-log-server/build.sh failed (it needs python3 and PyPI):\n{}{}",
                stdout(&out),
                stderr(&out)
            );
        }
        let out = logsandbox(&["conform", wasm.to_str().unwrap(), "--rule", "loglet.fresh"]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}{}",
            stdout(&out),
            stderr(&out)
        );
        wasm
    })
}

#[test]
fn the_python_log_server_keeps_every_rule() {
    let wasm = component();
    let out = logsandbox(&["conform", wasm.to_str().unwrap()]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text}{}", stderr(&out));
    let total = logsandbox::conform::RULES.len();
    assert!(
        text.contains(&format!("{total} of {total} rules passed")),
        "{text}"
    );
}

#[test]
fn the_python_log_server_runs_append_seal_basic_beside_the_built_in_client() {
    let wasm = component();
    let hash = |args: &[&str]| -> serde_json::Value {
        let out = logsandbox(args);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{args:?}: {}{}",
            stdout(&out),
            stderr(&out)
        );
        serde_json::from_slice(&out.stdout).expect("one JSON object")
    };
    let python = hash(&[
        "run",
        "append-seal-basic",
        "--log-server",
        wasm.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(python["outcome"], "pass", "{python}");
    let checks = python["checks"].as_object().unwrap();
    assert!(checks.len() >= 15, "{checks:?}");
    assert!(
        checks.values().all(|verdict| verdict == "pass"),
        "{checks:?}"
    );
    // The report names which component each node runs.
    let guest = python["guest"].as_str().unwrap();
    assert!(
        guest.contains("N1: ") && guest.contains("log_server.wasm"),
        "{guest}"
    );
    assert!(guest.contains("N5: built-in guest"), "{guest}");
    // A port of the built-in log-server, id for id: the very same run.
    let builtin = hash(&["run", "append-seal-basic", "--json"]);
    assert_eq!(python["trace_hash"], builtin["trace_hash"]);
}

#[test]
fn a_python_exception_shows_its_traceback_in_the_report() {
    let wasm = component();
    let out = logsandbox(&[
        "run",
        "append-seal-basic",
        "--log-server",
        wasm.to_str().unwrap(),
        "--set",
        "guest.example.raise_on_store=3",
        "--set",
        "run.time_limit=5s",
    ]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}{}", stderr(&out));
    assert!(
        text.contains("crashed (log-server): trapped")
            && text.contains("it printed: RuntimeError: example.raise_on_store: store number 3"),
        "{text}"
    );
    // The traceback itself, frame by frame, down to the function that raised.
    assert!(
        text.contains("| Traceback (most recent call last):"),
        "{text}"
    );
    assert!(text.contains("log_server.py\", line"), "{text}");
    assert!(text.contains("in _raise_on_store"), "{text}");
}
