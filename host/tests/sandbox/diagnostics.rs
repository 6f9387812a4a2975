//! The library speaks through `tracing`, never straight to stderr: an embedding program
//! sees its diagnostics in its own subscriber, and the CLI prints them as `RUST_LOG` says.
//! Before, a report file that could not be written was an `eprintln!` that a program
//! embedding the sandbox could neither catch nor silence.

use std::io::Write;
use std::sync::{Arc, Mutex};

use crate::common::{self, logsandbox, stderr};

/// What a subscriber wrote, shared with the test.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

/// What a program's own subscriber, at `level`, is told while `f` runs.
fn told_while(level: tracing::Level, f: impl FnOnce()) -> String {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_max_level(level)
        .with_ansi(false)
        .finish();
    tracing::subscriber::with_default(subscriber, f);
    captured.text()
}

#[test]
fn a_file_the_library_cannot_write_is_a_warning_in_the_programs_subscriber() {
    let report = common::run("append-seal-basic", Some(1), &[]);
    let missing = std::env::temp_dir().join(format!(
        "logsandbox-no-such-dir-{}/deeper",
        std::process::id()
    ));
    let text = told_while(tracing::Level::DEBUG, || report.write_files(&missing));
    assert!(text.contains("WARN"), "{text}");
    assert!(
        text.contains(&format!(
            "could not write {}",
            missing.join("report.json").display()
        )),
        "{text}"
    );
}

#[test]
fn the_cli_shows_warnings_by_default_and_more_when_rust_log_asks() {
    let quiet = logsandbox(&["run", "append-seal-basic"]);
    assert_eq!(quiet.status.code(), Some(0), "{}", stderr(&quiet));
    assert!(
        !stderr(&quiet).contains("run finished"),
        "{}",
        stderr(&quiet)
    );
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_logsandbox"))
        .args(["run", "append-seal-basic"])
        .env("RUST_LOG", "logsandbox=debug")
        .env("NO_COLOR", "1")
        .output()
        .expect("the binary runs");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stderr(&out);
    assert!(
        text.contains("DEBUG") && text.contains("run finished"),
        "{text}"
    );
    // Diagnostics never mix with the command's own output.
    assert!(!common::stdout(&out).contains("run finished"));
}

#[test]
fn a_planned_fault_its_node_cannot_take_is_told_to_the_programs_subscriber() {
    use logsandbox::{Fault, Sandbox, SimTime, ms};
    let text = told_while(tracing::Level::INFO, || {
        // Client N5 starts only by hand, and nobody starts it: the crash finds it not started.
        let mut sb = Sandbox::builder()
            .client(5)
            .install_logs(1)
            .fault_at(SimTime::ZERO + ms(10), Fault::Crash(5))
            .build()
            .unwrap();
        sb.run_for(ms(20)).unwrap();
    });
    assert!(text.contains("INFO"), "{text}");
    assert!(text.contains("ignored: N5 is not started"), "{text}");
}
