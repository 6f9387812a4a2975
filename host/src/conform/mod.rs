//! The conformance suite of a log-server component: the host drives one node directly
//! with protocol requests, rule by rule, and says which rule broke, with the request
//! and the answer that broke it.
//!
//! Each rule of [`rules::RULES`] starts a fresh node (N1, roles `log-server`, members
//! N1..N3, an empty in-memory database) on a [`Rig`] that plays the rest of the world:
//! the sequencer N2, the peer N3, the metadata store and the disk. The suite is
//! deterministic and takes no latency: writes become durable when a rule says so.
//!
//! ```no_run
//! use logsandbox::conform;
//! use logsandbox::runtime::Component;
//!
//! let runtime = Component::builtin()?;
//! let outcomes = conform::run(runtime, None, &[]);
//! assert!(outcomes.iter().all(|o| o.broken.is_none()));
//! # Ok::<(), logsandbox::runtime::LoadError>(())
//! ```

mod describe;
pub mod rig;
pub mod rules;

use std::sync::Arc;

pub use rig::{Broken, Rig, Sent};
pub use rules::{RULES, Rule};

use crate::runtime::Component;

/// One rule's verdict.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Outcome {
    /// `family.rule`.
    pub rule: &'static str,
    /// The rule in a sentence.
    pub says: &'static str,
    /// Why it failed; none when it held.
    pub broken: Option<Broken>,
}

/// Runs every rule whose name contains `only` (every rule without it) on `runtime`. The
/// node gets `settings` in every rule (before the rule's own), as a scenario's `guest.*`
/// keys would give them.
pub fn run(
    runtime: Arc<Component>,
    only: Option<&str>,
    settings: &[(String, String)],
) -> Vec<Outcome> {
    RULES
        .iter()
        .filter(|rule| only.is_none_or(|only| rule.name.contains(only)))
        .map(|rule| {
            let mut all = settings.to_vec();
            all.extend(
                rule.settings
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string())),
            );
            Outcome {
                rule: rule.name,
                says: rule.says,
                broken: Rig::start(runtime.clone(), all)
                    .and_then(|mut rig| (rule.check)(&mut rig))
                    .err(),
            }
        })
        .collect()
}

/// The outcomes as people read them: `ok` or `FAIL` per rule, with the request, the
/// answer and what was expected under a failure, and a count.
pub fn render(component: &str, outcomes: &[Outcome]) -> String {
    let rules = |n: usize| if n == 1 { "rule" } else { "rules" };
    let mut out = format!(
        "conform {component}: {} {}\n",
        outcomes.len(),
        rules(outcomes.len())
    );
    for outcome in outcomes {
        match &outcome.broken {
            None => out.push_str(&format!("ok   {}\n", outcome.rule)),
            Some(broken) => {
                out.push_str(&format!("FAIL {}: {}\n", outcome.rule, outcome.says));
                out.push_str(&format!("     request:  {}\n", broken.request));
                // The answer may hold what the guest printed: each line escaped, indented.
                let mut answer = broken.answer.lines().map(crate::show::text::one_line);
                let first = answer.next().unwrap_or_default();
                out.push_str(&format!("     answer:   {first}\n"));
                for line in answer {
                    out.push_str(&format!("               {line}\n"));
                }
                out.push_str(&format!("     expected: {}\n", broken.expected));
            }
        }
    }
    let passed = outcomes.iter().filter(|o| o.broken.is_none()).count();
    out.push_str(&format!(
        "{passed} of {} {} passed\n",
        outcomes.len(),
        rules(outcomes.len())
    ));
    out
}
