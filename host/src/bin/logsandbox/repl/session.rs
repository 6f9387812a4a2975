//! A repl session: a live sandbox, what the person did to it (as script steps), and the
//! clock's pace.
//!
//! Every action (a start, an operation, a fault, a latency) is written as a scenario
//! step, parsed by the scenario parser and carried out as a script would carry it out
//! ([`Sandbox::perform_step`]); `save` writes those steps, each `at` the instant it was
//! taken, so `logsandbox run FILE` replays the session to the same trace hash. An action
//! is always taken at an instant none of whose events were delivered or due yet, as a
//! script's step is: otherwise (after `step`, a run that stopped within an instant, or at
//! an instant something is due) the clock first moves on by a nanosecond.

use std::io::Write;
use std::time::{Duration, Instant};

use logsandbox::op::{OpId, describe_result};
use logsandbox::scenario::{self, Scenario, WorkloadKind};
use logsandbox::show::diagram::{Highlight, Window};
use logsandbox::show::timeline::Timeline;
use logsandbox::time::fmt_duration;
use logsandbox::{NodeStatus, Pace, Role, Sandbox, SimTime, Source};

use super::commands::{Command, UNTIL_LIMIT_NS, help};
use super::save;
use crate::components::ComponentArgs;
use crate::exit::CliError;

/// The cluster `logsandbox repl` starts with when no scenario is named.
pub const DEFAULT_BASE: &str = r#"name = "repl"
description = "A cluster to poke at: log-servers N1..N3, the client N5 (hosting the sequencer), the Logs installed."
seed = 1

[workload]
kind = "none"
"#;

/// The scenario a session started from: its text and overrides, to save it again.
pub struct Base {
    pub file: String,
    pub text: String,
    pub sets: Vec<String>,
    pub scenario: Scenario,
    /// The flags that name the components the session runs (` --log-server X.wasm`...).
    pub component_flags: String,
}

/// What an advance of the clock ended with.
enum Stop {
    /// What it waited for happened.
    Done,
    /// The clock reached its limit.
    Limit,
    /// Nothing is left to happen.
    Stalled,
}

/// See the module documentation.
pub struct Session {
    sb: Sandbox,
    base: Base,
    /// The actions taken, as steps with their instants.
    steps: Vec<toml::Table>,
    /// Some event at the current instant was delivered already.
    touched: bool,
    /// Virtual seconds per wall second; None: as fast as possible.
    pace: Pace,
    clock: tokio::runtime::Runtime,
    /// Trace lines already shown live.
    shown: usize,
    colour: bool,
    pub seed: u64,
}

impl Session {
    /// A session on `spec` (a built-in, a file, or the default cluster).
    pub fn new(
        spec: Option<&str>,
        sets: Vec<String>,
        seed: Option<u64>,
        components: ComponentArgs,
        pace: Pace,
        colour: bool,
    ) -> Result<Session, CliError> {
        let (file, text) = match spec {
            None => ("repl".to_string(), DEFAULT_BASE.to_string()),
            Some(spec) => scenario::source(spec)?,
        };
        let parsed = scenario::parse(&file, &text, &sets)?;
        // A person at the prompt is not a runaway run: no wall-clock budget.
        let mut builder = Sandbox::from_scenario(&parsed)
            .keep_trace(true)
            .wall_limit(Duration::MAX);
        let loaded = components.load()?;
        builder = builder.components(loaded.clone());
        if let Some(seed) = seed {
            builder = builder.seed(seed);
        }
        let sb = builder.build().map_err(logsandbox::Error::from)?;
        let clock = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .map_err(|e| CliError::Usage(format!("could not start the clock: {e}")))?;
        Ok(Session {
            seed: sb.seed(),
            sb,
            base: Base {
                file,
                text,
                sets,
                scenario: parsed,
                component_flags: loaded.flags(),
            },
            steps: Vec::new(),
            touched: false,
            pace,
            clock,
            shown: 0,
            colour,
        })
    }

    /// The prompt: the clock.
    pub fn prompt(&self) -> String {
        format!("logsandbox {}> ", fmt_duration(self.sb.now().0))
    }

    /// The first lines a person sees.
    pub fn banner(&self) -> String {
        let s = &self.base.scenario;
        format!(
            "logsandbox repl: {} (seed {}), {}\n{}\nThe clock stands at 0; nothing has happened yet. `help` lists the commands; `run for 100ms` starts time.\n",
            s.name,
            self.seed,
            match self.pace.speed() {
                None => "virtual time".to_string(),
                Some(x) => format!("paced at {x}x real time"),
            },
            s.description.lines().next().unwrap_or_default()
        )
    }

    /// Carries out one command; the text to show, or why it could not be done.
    pub fn execute(&mut self, command: Command) -> Result<String, String> {
        match command {
            Command::Nothing | Command::Quit => Ok(String::new()),
            Command::Help(what) => Ok(help(what.as_deref())),
            Command::Nodes => Ok(self.nodes()),
            Command::Node(n) => self.node(n),
            Command::Step => self.step(),
            Command::RunFor(d) => {
                let from = self.mark();
                let limit = self.sb.now().plus(d);
                self.advance(limit, true, |_| false)?;
                Ok(self.since(from, true))
            }
            Command::RunUntilTime(t) => {
                if t < self.sb.now() {
                    return Err(format!(
                        "the clock already reads {}; time only goes forward",
                        fmt_duration(self.sb.now().0)
                    ));
                }
                let from = self.mark();
                self.advance(t, true, |_| false)?;
                Ok(self.since(from, true))
            }
            Command::RunUntilOp(op) => {
                let op = OpId(op);
                if self.sb.op(op).is_none() {
                    return Err(format!("there is no operation {op}; `history` lists them"));
                }
                self.wait_for(op)
            }
            Command::RunUntilText(text) => self.run_until_text(&text),
            Command::RunWorkload => self.run_workload(),
            Command::Op { fields, wait } => {
                let op = self.act(fields)?.ok_or("no operation was invoked")?;
                if wait {
                    self.wait_for(op)
                } else {
                    Ok(format!("{op} invoked; `run until {op}` waits for it\n"))
                }
            }
            Command::Act(fields) => {
                let from = self.mark();
                self.act(fields)?;
                let said = self.since(from, false);
                Ok(if said.is_empty() {
                    "done\n".into()
                } else {
                    said
                })
            }
            Command::History(n) => Ok(self.history(n)),
            Command::Check => Ok(self.check()),
            Command::Timeline { all, filter } => Ok(Timeline {
                filter,
                compact: !all,
                colour: self.colour,
            }
            .render(self.sb.trace())),
            Command::Explain => Ok(self.explain()),
            Command::Svg { file, window } => self.svg(&file, window),
            Command::Save(file) => {
                self.settle()?;
                self.save(&file)
            }
            Command::Speed(pace) => {
                self.pace = pace;
                Ok(match pace.speed() {
                    None => "virtual time: runs go as fast as the machine\n".into(),
                    Some(x) => format!(
                        "paced: one virtual second takes {} of wall time (the trace does not change)\n",
                        fmt_duration((1e9 / x) as u64)
                    ),
                })
            }
            Command::Hash => Ok(format!(
                "at {}: {} events delivered; trace {}\n",
                fmt_duration(self.sb.now().0),
                self.sb.events(),
                self.sb.trace_hash()
            )),
        }
    }

    /// Carries out an action now, as a script's step: parsed as one, recorded with its
    /// instant. Returns the operation it invoked, if any.
    fn act(&mut self, fields: toml::Table) -> Result<Option<OpId>, String> {
        let step = save::parse_step(&self.base, &fields)?;
        self.settle()?;
        let number = (self.base.scenario.steps.len() + self.steps.len() + 1) as u32;
        let op = self.sb.perform_step(&step.action, number);
        self.steps.push(save::timed(fields, self.sb.now()));
        Ok(op)
    }

    /// Finishes the current instant if some of its events were delivered, and moves the
    /// clock a nanosecond on: a script's step fires before the events of its instant, so an
    /// action (or the end of a saved session) must come at an instant not yet begun.
    fn settle(&mut self) -> Result<(), String> {
        // Events already due now were queued before a script's wakes could be (the
        // builder's starts, puts and faults, the base script's own steps) or after (what
        // the run scheduled): past them all, the order is the replay's either way.
        while self.touched || self.sb.next_event_at() == Some(self.sb.now()) {
            self.sb
                .run_for(Duration::from_nanos(1))
                .map_err(|e| e.to_string())?;
            self.touched = false;
        }
        Ok(())
    }

    /// Delivers everything due at the next instant.
    fn step(&mut self) -> Result<String, String> {
        let Some(next) = self.sb.next_event_at() else {
            return Ok("nothing is due: the cluster is idle\n".into());
        };
        let from = self.mark();
        self.pace_to(self.sb.now(), Instant::now(), next);
        while self.sb.next_event_at() == Some(next) {
            self.sb.step().map_err(|e| e.to_string())?;
            self.touched = true;
        }
        Ok(self.since(from, false))
    }

    /// Runs until `op` ends and tells how.
    fn wait_for(&mut self, op: OpId) -> Result<String, String> {
        let limit = self.sb.now().plus(UNTIL_LIMIT_NS);
        let ended = |sb: &Sandbox| {
            sb.op(op)
                .is_some_and(|r| r.completed.is_some() || r.lost.is_some())
        };
        let stop = self.advance(limit, false, ended)?;
        let record = self.sb.op(op).expect("checked by the caller");
        let what = format!("{op} {} on N{}", record.op, record.node);
        Ok(match (&record.completed, &record.lost, stop) {
            (Some((at, result)), _, _) => format!(
                "{what}: {} at {} (took {})\n",
                describe_result(result),
                fmt_duration(at.0),
                fmt_duration(at.0.saturating_sub(record.invoked.0))
            ),
            (_, Some((at, why)), _) => {
                format!("{what}: lost at {}: {why}\n", fmt_duration(at.0))
            }
            (None, None, Stop::Stalled) => {
                format!("{what}: still running, and nothing is left to happen\n")
            }
            (None, None, _) => format!(
                "{what}: still running after {} of virtual time\n",
                fmt_duration(UNTIL_LIMIT_NS)
            ),
        })
    }

    fn run_until_text(&mut self, text: &str) -> Result<String, String> {
        let from = self.mark();
        let mut seen = from;
        let limit = self.sb.now().plus(UNTIL_LIMIT_NS);
        let found = move |sb: &Sandbox| {
            let trace = sb.trace();
            let hit = trace[seen.min(trace.len())..]
                .iter()
                .any(|r| r.what.contains(text));
            seen = trace.len();
            hit
        };
        let stop = self.advance(limit, false, found)?;
        let mut out = self.since(from, true);
        match stop {
            Stop::Done => {}
            Stop::Stalled => {
                out += &format!("nothing left to happen, and no event mentions {text:?}\n")
            }
            Stop::Limit => {
                out += &format!(
                    "no event mentioned {text:?} in {} of virtual time\n",
                    fmt_duration(UNTIL_LIMIT_NS)
                )
            }
        }
        Ok(out)
    }

    fn run_workload(&mut self) -> Result<String, String> {
        if self.base.scenario.workload.kind == WorkloadKind::None {
            return Err("this session has no workload; `run for DURATION` moves the clock".into());
        }
        let report = self.sb.run().map_err(|e| e.to_string())?;
        self.touched = true;
        self.shown = self.sb.trace().len();
        Ok(report.render("(a repl session: `save FILE` writes it as a script)"))
    }

    /// Moves the clock: delivers what is due before `limit` until `done` holds. With
    /// `jump`, the clock then reads `limit`; without, it stays where `done` held or
    /// nothing was left. Paced by the wall clock when a speed is set.
    fn advance(
        &mut self,
        limit: SimTime,
        jump: bool,
        mut done: impl FnMut(&Sandbox) -> bool,
    ) -> Result<Stop, String> {
        let (v0, w0) = (self.sb.now(), Instant::now());
        loop {
            if done(&self.sb) {
                return Ok(Stop::Done);
            }
            match self.sb.next_event_at() {
                Some(next) if next < limit => {
                    self.pace_to(v0, w0, next);
                    self.sb.step().map_err(|e| e.to_string())?;
                    self.touched = true;
                    if self.pace != Pace::Virtual {
                        self.show_live();
                    }
                }
                next => {
                    if !jump {
                        return Ok(if next.is_none() {
                            Stop::Stalled
                        } else {
                            Stop::Limit
                        });
                    }
                    self.pace_to(v0, w0, limit);
                    self.sb.run_until(limit).map_err(|e| e.to_string())?;
                    // A new instant, none of whose events was delivered (unless the
                    // clock did not move: `run for 0`).
                    if limit > v0 {
                        self.touched = false;
                    }
                    return Ok(Stop::Limit);
                }
            }
        }
    }

    /// Sleeps until the wall clock catches up with virtual instant `t`, when paced.
    fn pace_to(&self, v0: SimTime, w0: Instant, t: SimTime) {
        let Some(ahead) = self
            .pace
            .wall_time(Duration::from_nanos(t.0.saturating_sub(v0.0)))
        else {
            return;
        };
        let Some(due) = w0.checked_add(ahead) else {
            return;
        };
        let wait = due.saturating_duration_since(Instant::now());
        if !wait.is_zero() {
            self.clock
                .block_on(async { tokio::time::sleep(wait).await });
        }
    }

    /// Prints the trace lines not shown yet (compact), as a paced run goes.
    fn show_live(&mut self) {
        let trace = self.sb.trace();
        if self.shown >= trace.len() {
            return;
        }
        let text = Timeline {
            filter: String::new(),
            compact: true,
            colour: self.colour,
        }
        .render(&trace[self.shown..]);
        self.shown = trace.len();
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(text.as_bytes());
        let _ = out.flush();
    }

    fn mark(&self) -> usize {
        self.sb.trace().len()
    }

    /// What happened since trace line `from`, compact; a paced run showed it already.
    /// With `summary`, a line on where the clock stands.
    fn since(&mut self, from: usize, summary: bool) -> String {
        let trace = self.sb.trace();
        let from = from.max(if self.pace != Pace::Virtual {
            self.shown
        } else {
            0
        });
        let mut out = String::new();
        let lines = &trace[from.min(trace.len())..];
        const MAX: usize = 40;
        let text = Timeline {
            filter: String::new(),
            compact: true,
            colour: self.colour,
        }
        .render(lines);
        let count = text.lines().count();
        if count == 0 && !lines.is_empty() {
            out += &format!(
                "({} events of chatter: timers, hellos; `timeline all` shows them)\n",
                lines.len()
            );
        }
        for line in text.lines().skip(count.saturating_sub(MAX)) {
            out += line;
            out.push('\n');
        }
        if count > MAX {
            out = format!("({} earlier lines: `timeline`)\n{out}", count - MAX);
        }
        self.shown = trace.len();
        if summary {
            out += &format!(
                "clock {}; {} events delivered\n",
                fmt_duration(self.sb.now().0),
                self.sb.events()
            );
        }
        out
    }

    fn role(&self, id: u32, role: Option<Role>) -> &'static str {
        match role {
            Some(Role::Client) if Some(id) == self.base.scenario.config.cluster.sequencer => {
                "client+sequencer"
            }
            Some(Role::Client) => "client",
            Some(Role::LogServer) => "log-server",
            None => "-",
        }
    }

    fn nodes(&self) -> String {
        let mut out = format!(
            "{:<5} {:<17} {:<19} {:<4} {:<24} {:<30} {}\n",
            "node", "role", "status", "inc", "cached Logs", "loglets", "in flight"
        );
        for view in self.sb.nodes() {
            let id = view.id();
            let status = match view.status() {
                NodeStatus::Running => "running".to_string(),
                NodeStatus::NotStarted => "not started".into(),
                NodeStatus::Crashed { at, planned, .. } => format!(
                    "crashed{} {}",
                    if planned { "" } else { "!" },
                    fmt_duration(at.0)
                ),
                NodeStatus::NotInCluster => "not in cluster".into(),
            };
            let logs = view.cached_logs().map_or("-".to_string(), |c| {
                format!("v{} from {}", c.version, source(&c.source))
            });
            let loglets = view
                .loglets()
                .iter()
                .map(|(id, l)| {
                    format!(
                        "{}: tail {}{}",
                        logsandbox::op::fmt_loglet(*id),
                        l.local_tail,
                        if l.sealed { " sealed" } else { "" }
                    )
                })
                .collect::<Vec<_>>()
                .join(", ");
            let in_flight = view
                .in_flight()
                .iter()
                .map(|op| op.to_string())
                .collect::<Vec<_>>()
                .join(" ");
            out += &format!(
                "N{id:<4} {:<17} {status:<19} {:<4} {logs:<24} {:<30} {}\n",
                self.role(id, view.role()),
                view.incarnation(),
                if loglets.is_empty() { "-" } else { &loglets },
                if in_flight.is_empty() {
                    "-"
                } else {
                    &in_flight
                }
            );
        }
        out
    }

    fn node(&self, id: u32) -> Result<String, String> {
        let view = self.sb.node(id);
        if view.status() == NodeStatus::NotInCluster {
            return Err(format!("N{id} is not in the cluster; `nodes` lists them"));
        }
        let mut out = format!("N{id}, {}", self.role(id, view.role()));
        if let Some(component) = view.component() {
            out += &format!(" ({component})");
        }
        out.push('\n');
        out += &match view.status() {
            NodeStatus::Crashed { at, reason, .. } => {
                format!(
                    "  status       crashed at {}: {reason}\n",
                    fmt_duration(at.0)
                )
            }
            other => format!("  status       {}\n", status_word(&other)),
        };
        out += &format!(
            "  incarnation  {} ({} crashes, {} restarts)\n",
            view.incarnation(),
            view.crashes(),
            view.restarts()
        );
        out += &match view.cached_logs() {
            Some(c) => format!(
                "  cached Logs  v{} from {}, taken at {}: {}\n",
                c.version,
                source(&c.source),
                fmt_duration(c.at.0),
                logsandbox::describe_value(&c.value)
            ),
            None => "  cached Logs  none\n".into(),
        };
        for (loglet, l) in view.loglets() {
            out += &format!(
                "  loglet {}    local tail {}, known global tail {}, {}{}, as it replied at {}\n",
                logsandbox::op::fmt_loglet(loglet),
                l.local_tail,
                l.known_global_tail,
                if l.sealed { "sealed" } else { "open" },
                l.trim_point
                    .map(|t| format!(", trimmed to {t}"))
                    .unwrap_or_default(),
                fmt_duration(l.at.0)
            );
        }
        let in_flight = view.in_flight();
        if in_flight.is_empty() {
            out += "  in flight    nothing\n";
        }
        for op in in_flight {
            if let Some(r) = self.sb.op(op) {
                out += &format!(
                    "  in flight    {op} {} ({}), invoked at {}\n",
                    r.op,
                    r.process,
                    fmt_duration(r.invoked.0)
                );
            }
        }
        let mine = Timeline {
            filter: format!("N{id}"),
            compact: true,
            colour: self.colour,
        }
        .render(self.sb.trace());
        let lines: Vec<&str> = mine.lines().collect();
        if !lines.is_empty() {
            out += "  lately:\n";
            for line in &lines[lines.len().saturating_sub(8)..] {
                out += &format!("  {line}\n");
            }
        }
        Ok(out)
    }

    fn history(&self, n: usize) -> String {
        let ops: Vec<_> = self.sb.history().ops().collect();
        if ops.is_empty() {
            return "no operation yet\n".into();
        }
        let mut out = String::new();
        for r in &ops[ops.len().saturating_sub(n)..] {
            let end = match (&r.completed, &r.lost) {
                (Some((at, result)), _) => {
                    format!("{} at {}", describe_result(result), fmt_duration(at.0))
                }
                (_, Some((at, why))) => format!("lost at {}: {why}", fmt_duration(at.0)),
                _ => "in flight".into(),
            };
            out += &format!(
                "{:<6} {:>10}  N{:<3} {:<28} -> {end}\n",
                r.id.to_string(),
                fmt_duration(r.invoked.0),
                r.node,
                format!("{} ({})", r.op, r.process)
            );
        }
        out
    }

    fn check(&self) -> String {
        let checks = self.sb.check();
        let failing = checks.iter().filter(|c| !c.pass).count();
        let mut out = String::new();
        for c in &checks {
            out += &format!("  {}\n", logsandbox::show::report::check_line(c));
        }
        out += &format!("{} of {} hold\n", checks.len() - failing, checks.len());
        out
    }

    fn failing_checks(&self) -> Vec<String> {
        self.sb
            .check()
            .into_iter()
            .filter(|c| !c.pass)
            .map(|c| c.detail)
            .collect()
    }

    fn explain(&self) -> String {
        let Some(journal) = self.sb.journal() else {
            return "no journal is kept\n".into();
        };
        logsandbox::show::explain::explain(journal, None, &self.failing_checks()).render()
    }

    fn svg(&self, file: &str, window: Option<(u64, u64)>) -> Result<String, String> {
        let journal = self.sb.journal().ok_or("no journal is kept")?;
        if let Some((a, b)) = window
            && a > b
        {
            return Err(format!(
                "the window {}..{} ends before it begins",
                fmt_duration(a),
                fmt_duration(b)
            ));
        }
        let explanation = logsandbox::show::explain::explain(journal, None, &self.failing_checks());
        let window = match (window, &explanation.target) {
            (Some((a, b)), _) => Window::between(journal, a, b),
            (None, Some(t)) => Window::around(journal, journal.marks[t.mark as usize].entry),
            (None, None) => Window::around(journal, journal.entries.len()),
        };
        let highlight = if explanation.target.is_some() {
            explanation.highlight
        } else {
            Highlight::default()
        };
        let title = format!(
            "{} seed {}: repl session at {}",
            self.base.scenario.name,
            self.seed,
            fmt_duration(self.sb.now().0)
        );
        let text = logsandbox::show::diagram::render(journal, window, &highlight, &title);
        std::fs::write(file, text).map_err(|e| format!("{file}: {e}"))?;
        Ok(format!(
            "wrote {file}: {} entries of {}\n",
            window.to.saturating_sub(window.from),
            journal.entries.len()
        ))
    }

    fn save(&self, file: &str) -> Result<String, String> {
        let text = save::script(&self.base, &self.steps, self.seed, self.sb.now())?;
        std::fs::write(file, text).map_err(|e| format!("{file}: {e}"))?;
        let guest = &self.base.component_flags;
        Ok(format!(
            "wrote {file}: {} steps, ending at {}; `logsandbox run {file}{guest}` replays it to trace {}\n",
            self.steps.len(),
            fmt_duration(self.sb.now().0),
            self.sb.trace_hash()
        ))
    }
}

fn source(s: &Source) -> String {
    match s {
        Source::Store => "store".into(),
        Source::Peer(n) => format!("peer N{n}"),
        Source::OwnWrite => "own write".into(),
    }
}

fn status_word(s: &NodeStatus) -> &'static str {
    match s {
        NodeStatus::Running => "running",
        NodeStatus::NotStarted => "not started",
        NodeStatus::Crashed { .. } => "crashed",
        NodeStatus::NotInCluster => "not in the cluster",
    }
}
