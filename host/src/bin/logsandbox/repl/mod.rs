//! `logsandbox repl`: an interactive session on a live cluster.
//!
//! - [`commands`]: the commands, their help, and a line parsed into one;
//! - [`session`]: the live sandbox, the clock's pace, and every command carried out;
//! - [`save`]: a session's actions as scenario steps, and as a script that replays it.
//!
//! Line editing, history and completion come from rustyline; when stdin is not a terminal
//! the same commands are read line by line (`logsandbox repl < commands.txt`).

mod commands;
mod save;
mod session;

use std::borrow::Cow;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;

use rustyline::completion::{Completer, Pair};
use rustyline::error::ReadlineError;
use rustyline::highlight::Highlighter;
use rustyline::hint::Hinter;
use rustyline::history::DefaultHistory;
use rustyline::validate::Validator;
use rustyline::{Context, Editor, Helper};

use crate::components::ComponentArgs;
use crate::exit::{CliError, EXIT_PASS};
use commands::{COMMANDS, Command};
use logsandbox::Pace;
use session::Session;

/// Runs a session until `quit` or the end of input; the exit code.
pub fn run(
    spec: Option<&str>,
    sets: Vec<String>,
    seed: Option<u64>,
    components: ComponentArgs,
    pace: Pace,
) -> Result<i32, CliError> {
    let colour = crate::exit::colour_wanted();
    let mut session = Session::new(spec, sets, seed, components, pace, colour)?;
    let mut editor: Editor<Completion, DefaultHistory> =
        Editor::new().map_err(|e| CliError::Usage(format!("could not open the terminal: {e}")))?;
    editor.set_helper(Some(Completion));
    let history = history_file();
    if let Some(path) = &history {
        let _ = editor.load_history(path);
    }
    let interactive = std::io::stdin().is_terminal();
    say(&session.banner());
    loop {
        let line = match editor.readline(&session.prompt()) {
            Ok(line) => line,
            Err(ReadlineError::Interrupted) => {
                say("(Ctrl-C: `quit` leaves)\n");
                continue;
            }
            Err(ReadlineError::Eof) => break,
            Err(e) => return Err(CliError::Usage(format!("reading a command: {e}"))),
        };
        if !interactive {
            // Echo what was read, so a transcript shows each command.
            say(&format!("{}{line}\n", session.prompt()));
        }
        if !line.trim().is_empty() {
            let _ = editor.add_history_entry(line.as_str());
        }
        let command = commands::parse(&line);
        let quit = matches!(command, Ok(Command::Quit));
        match command.and_then(|c| session.execute(c)) {
            Ok(text) => say(&text),
            Err(why) => say(&format!("error: {why}\n")),
        }
        if quit {
            break;
        }
    }
    if let Some(path) = &history {
        let _ = editor.save_history(path);
    }
    Ok(EXIT_PASS)
}

fn say(text: &str) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes());
    let _ = out.flush();
}

/// Where the command history is kept: `LOGSANDBOX_HISTORY`, or `~/.logsandbox_history`.
fn history_file() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("LOGSANDBOX_HISTORY") {
        return (!path.is_empty()).then(|| PathBuf::from(path));
    }
    std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".logsandbox_history"))
}

/// Completes command names, and a few of their words.
struct Completion;

impl Completer for Completion {
    type Candidate = Pair;

    fn complete(
        &self,
        line: &str,
        pos: usize,
        _ctx: &Context<'_>,
    ) -> rustyline::Result<(usize, Vec<Pair>)> {
        let before = &line[..pos];
        let start = before.rfind(' ').map_or(0, |i| i + 1);
        let word = &before[start..];
        let words: Vec<&str> = before.split_whitespace().collect();
        let first = start == 0;
        let options: Vec<&str> = if first {
            COMMANDS.iter().map(|(name, _, _)| *name).collect()
        } else {
            match words.first().copied() {
                Some("run") => vec!["for", "until"],
                Some("store") => vec!["unavailable", "hang", "election", "terminal", "recover"],
                Some("latency") => vec!["network", "peer_metadata", "metadata_store", "storage"],
                Some("speed") => vec!["virtual", "1", "10"],
                Some("timeline") => vec!["all"],
                Some("heal") => vec!["all"],
                Some("help") => COMMANDS.iter().map(|(name, _, _)| *name).collect(),
                _ => vec![],
            }
        };
        let pairs = options
            .into_iter()
            .filter(|o| o.starts_with(word))
            .map(|o| Pair {
                display: o.to_string(),
                replacement: format!("{o} "),
            })
            .collect();
        Ok((start, pairs))
    }
}

impl Hinter for Completion {
    type Hint = String;
}

impl Highlighter for Completion {
    fn highlight_prompt<'b, 's: 'b, 'p: 'b>(
        &'s self,
        prompt: &'p str,
        _default: bool,
    ) -> Cow<'b, str> {
        Cow::Borrowed(prompt)
    }
}

impl Validator for Completion {}

impl Helper for Completion {}
