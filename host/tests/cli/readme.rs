//! The README shows what commands print; this keeps it true. A `text` block that shows a
//! command's output opens with a marker comment naming the command:
//!
//! ```text
//! <!-- output of: logsandbox demo -->
//! ```
//!
//! The test runs that command (the `logsandbox` binary, from a scratch directory) and
//! asserts the block is an excerpt of what it printed: its lines appear in the output, in
//! order and together, except that a line `...` (alone, or followed by a note for the
//! reader) stands for any number of lines. Trailing spaces are ignored. A block marked `<!-- repl transcript -->` is a session at the repl:
//! its `$ logsandbox repl ...` line starts the session, every `logsandbox CLOCK> COMMAND`
//! line is typed in, and what the session shows must read as the block does.
//!
//! A placeholder `{mutant:NAME}` in a command stands for the mutant component `NAME` written
//! to a file, as a user would hand it over.
//!
//! The demo block once said the flaky run fails at 2.504s while the demo printed 2.704s;
//! nobody noticed until a reader did.

use std::path::Path;
use std::process::Command;

use crate::common::{self, scratch};

/// A block of the README with the command it shows.
#[derive(Debug)]
struct Block {
    /// The README line the block starts on, for messages.
    line: usize,
    /// What produces it.
    source: Source,
    /// The block's lines.
    lines: Vec<String>,
}

#[derive(Debug)]
enum Source {
    /// `logsandbox ARGS`.
    Command(Vec<String>),
    /// A repl session, its commands inside the block.
    Repl,
}

fn readme() -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../README.md"))
        .expect("README.md is readable")
}

/// Every marked block of the README, in order.
fn blocks(text: &str) -> Vec<Block> {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let marker = lines[i].trim();
        let source = if let Some(rest) = marker
            .strip_prefix("<!-- output of: logsandbox ")
            .and_then(|r| r.strip_suffix("-->"))
        {
            Some(Source::Command(
                rest.split_whitespace().map(str::to_string).collect(),
            ))
        } else if marker == "<!-- repl transcript -->" {
            Some(Source::Repl)
        } else {
            None
        };
        i += 1;
        let Some(source) = source else { continue };
        assert!(
            lines.get(i).is_some_and(|l| l.starts_with("```")),
            "README.md line {i}: a marker must stand right above a code block"
        );
        let start = i + 1;
        let end = (start..lines.len())
            .find(|&j| lines[j].starts_with("```"))
            .unwrap_or_else(|| panic!("README.md line {start}: the block never closes"));
        out.push(Block {
            line: start,
            source,
            lines: lines[start..end].iter().map(|l| l.to_string()).collect(),
        });
        i = end + 1;
    }
    out
}

/// Whether `block` is an excerpt of `output` (see the module documentation); on a
/// mismatch, the first block line that could not be matched.
fn excerpt_of(block: &[String], output: &str) -> Result<(), String> {
    let out: Vec<&str> = output.lines().map(str::trim_end).collect();
    let want: Vec<&str> = block.iter().map(|l| l.trim_end()).collect();
    // Starts anywhere in the output.
    let mut furthest = 0;
    for start in 0..=out.len() {
        match matches_at(&want, &out[start..]) {
            Ok(()) => return Ok(()),
            Err(k) => furthest = furthest.max(k),
        }
    }
    Err(format!(
        "no excerpt of the output matches; the block goes wrong at its line {}: {:?}",
        furthest + 1,
        want.get(furthest).copied().unwrap_or("(end)")
    ))
}

/// A line that stands for any number of lines: `...`, alone or followed by a note for
/// the reader (`...  (provisioning: ...)`).
fn is_gap(line: &str) -> bool {
    line.trim_start().starts_with("...")
}

/// Matches `want` against the start of `out`; on failure, how many lines of `want` held.
fn matches_at(want: &[&str], out: &[&str]) -> Result<(), usize> {
    match want.split_first() {
        None => Ok(()),
        Some((line, rest)) if is_gap(line) => {
            let mut best = 0;
            for skip in 0..=out.len() {
                match matches_at(rest, &out[skip..]) {
                    Ok(()) => return Ok(()),
                    Err(k) => best = best.max(k),
                }
            }
            Err(best + 1)
        }
        Some((line, rest)) => {
            if out.first() != Some(line) {
                return Err(0);
            }
            matches_at(rest, &out[1..]).map_err(|k| k + 1)
        }
    }
}

/// The arguments, with each `{mutant:NAME}` written out as a file in `dir`.
fn resolve(args: &[String], dir: &Path) -> Vec<String> {
    args.iter()
        .map(
            |a| match a.strip_prefix("{mutant:").and_then(|r| r.strip_suffix('}')) {
                Some(name) => common::mutant_file(dir, name).display().to_string(),
                None => a.clone(),
            },
        )
        .collect()
}

fn run_command(args: &[String], dir: &Path) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_logsandbox"))
        .args(resolve(args, dir))
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .output()
        .expect("the logsandbox binary runs");
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// The repl session a transcript shows, run through a pseudo-terminal: the transcript as
/// the session showed it.
fn run_repl(block: &[String], dir: &Path) -> String {
    // The first line, with its continuations, starts the session.
    let mut start = String::new();
    let mut head = String::new();
    let mut rest = block.iter();
    for line in rest.by_ref() {
        head += &format!("{line}\n");
        let line = line.trim_start_matches("$ ").trim();
        match line.strip_suffix('\\') {
            Some(part) => start += part,
            None => {
                start += line;
                break;
            }
        }
    }
    let args: Vec<String> = start
        .split_whitespace()
        .skip(1) // `logsandbox`
        .map(str::to_string)
        .collect();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_logsandbox"));
    cmd.args(&args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env("TERM", "dumb")
        .env("LOGSANDBOX_HISTORY", dir.join("history"));
    let mut p = rexpect::session::spawn_command(cmd, Some(60_000))
        .expect("the repl starts in a pseudo-terminal");
    let prompt = r"logsandbox [0-9.]+(ns|us|µs|ms|s)> ";
    let (_, first) = p.exp_regex(prompt).expect("the repl shows its prompt");
    // The command as the block writes it, over several lines.
    let mut shown = head;
    let mut prompt_text = first;
    for line in rest {
        let Some(command) = line
            .strip_prefix("logsandbox ")
            .and_then(|l| l.split_once("> "))
            .map(|(_, c)| c)
        else {
            continue;
        };
        p.send_line(command).expect("the repl reads its input");
        let (output, next) = p
            .exp_regex(prompt)
            .unwrap_or_else(|e| panic!("no prompt after {command:?}: {e}"));
        shown += &format!("{prompt_text}{command}\n");
        // A terminal that echoes shows the command line first.
        let output = output.replace('\r', "");
        let output = match output.split_once('\n') {
            Some((first, after)) if first.trim() == command.trim() => after.to_string(),
            _ => output,
        };
        shown += &output;
        prompt_text = next;
    }
    shown
}

#[test]
fn every_output_the_readme_shows_is_what_the_command_prints() {
    let text = readme();
    let blocks = blocks(&text);
    assert!(
        blocks.len() >= 5,
        "README.md: expected the demo, the sweep, the repl, explain, mutants and conform blocks to be marked, found {}",
        blocks.len()
    );
    let dir = scratch("readme");
    let mut wrong = Vec::new();
    for block in &blocks {
        let (what, output) = match &block.source {
            Source::Command(args) => (
                format!("logsandbox {}", args.join(" ")),
                run_command(args, &dir),
            ),
            Source::Repl => (
                "the repl transcript".to_string(),
                run_repl(&block.lines, &dir),
            ),
        };
        if let Err(why) = excerpt_of(&block.lines, &output) {
            wrong.push(format!(
                "README.md line {} ({what}): {why}\n--- the command printed:\n{output}",
                block.line
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n\n"));
}

#[test]
fn an_excerpt_matches_in_order_with_gaps_and_nothing_else() {
    let block = |s: &str| s.lines().map(str::to_string).collect::<Vec<_>>();
    let out = "a\nb\nc\nd\ne\n";
    assert!(excerpt_of(&block("b\nc"), out).is_ok());
    assert!(excerpt_of(&block("a\n...\ne"), out).is_ok());
    assert!(excerpt_of(&block("...\nd"), out).is_ok());
    assert!(excerpt_of(&block("b\n   ...  (a note)\ne"), out).is_ok());
    assert!(excerpt_of(&block("b  \nc"), out).is_ok());
    assert!(excerpt_of(&block("b\nd"), out).is_err());
    assert!(excerpt_of(&block("c\nb"), out).is_err());
    assert!(excerpt_of(&block("e\nf"), out).is_err());
    let e = excerpt_of(&block("a\nb\nX"), out).unwrap_err();
    assert!(e.contains("line 3") && e.contains("\"X\""), "{e}");
}
