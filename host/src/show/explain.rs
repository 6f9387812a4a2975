//! `explain`: the causal chain that led to a failing operation.
//!
//! Drawn from the [`Journal`], for any failing run. The chain holds the events that
//! happen-before the failing operation and touched the state it read:
//! - how its node's cached Logs came to be what the operation read: the value taken, the
//!   message that carried it, the request that asked for it and the header that made the
//!   node ask (a peer showing a newer version);
//! - the values the cache dropped as not newer before the operation (what could have
//!   saved it), and those dropped after it;
//! - the operation's own exchange with the log-servers and the sequencer (the last few
//!   requests of its kind and their answers);
//! - crashes, restarts and faults on the lanes involved while it ran.
//!
//! Each item names its instant, its lanes and what it did; the same items are drawn in
//! red in `messages.svg`.

use std::collections::BTreeSet;
use std::fmt::Write;

use crate::record::journal::{Fate, Flight, FlightId, Journal, Lane, MarkKind};
use crate::show::diagram::Highlight;
use crate::show::text::short_ids;
use crate::time::fmt_duration;

/// The part of the message whose header made the node ask a peer.
const HEADER: &str = "the peer's header, newer than the cache";

/// The most exchange messages of the operation itself a chain shows.
const MAX_EXCHANGE: usize = 8;

/// The failing operation, or what stands for it.
#[derive(Debug, Clone)]
pub struct Target {
    /// Its mark (the completion, or the loss) in the journal.
    pub mark: u32,
    /// The operation, when it is one.
    pub op: Option<u64>,
    /// Why it was chosen.
    pub why: String,
    /// The other operations the failing check names.
    pub also: Vec<u64>,
}

/// One link of the chain.
#[derive(Debug, Clone)]
pub struct Step {
    /// Virtual ns.
    pub at: u64,
    /// Where it sits in the journal (the chain's order).
    pub entry: usize,
    /// The lanes, as `N1 -> N5` or `N5`.
    pub lanes: String,
    /// What happened.
    pub what: String,
    /// Its part in the story, when it has a name.
    pub role: Option<&'static str>,
}

/// The chain that led to a failing operation.
#[derive(Debug, Clone, Default)]
pub struct Explanation {
    /// What failed, in a line.
    pub headline: String,
    /// The failing operation.
    pub target: Option<Target>,
    /// The chain, in happens-before order, ending with the failure.
    pub chain: Vec<Step>,
    /// What happened on the same state after the failure (values dropped too late).
    pub after: Vec<Step>,
    /// The same, for the picture.
    pub highlight: Highlight,
}

impl Explanation {
    /// The chain as text.
    pub fn render(&self) -> String {
        let mut out = format!("{}\n", self.headline);
        let Some(target) = &self.target else {
            return out;
        };
        let _ = writeln!(out, "  (the failing operation: {})", target.why);
        out += "the causal chain, in the order each step took effect:\n";
        for (i, step) in self.chain.iter().enumerate() {
            let _ = writeln!(
                out,
                "  {:>2}. {:>10}  {:<13} {}{}",
                i + 1,
                fmt_duration(step.at),
                step.lanes,
                step.what,
                step.role.map(|r| format!("   <- {r}")).unwrap_or_default()
            );
        }
        if !self.after.is_empty() {
            out += "and after it, on the same state:\n";
            for step in &self.after {
                let _ = writeln!(
                    out,
                    "      {:>10}  {:<13} {}{}",
                    fmt_duration(step.at),
                    step.lanes,
                    step.what,
                    step.role.map(|r| format!("   <- {r}")).unwrap_or_default()
                );
            }
        }
        out
    }
}

/// Explains the run's failure: `error` is the error the run failed with, `checks` the
/// details of its failing checks (they name the operations they blame as `#N`).
pub fn explain(journal: &Journal, error: Option<&str>, failing_checks: &[String]) -> Explanation {
    let Some(target) = find_target(journal, error, failing_checks) else {
        return Explanation {
            headline: match error {
                Some(e) if journal.truncated => format!(
                    "the run failed with {e:?}, after the journal stopped growing at {} entries: no failing operation is in it",
                    journal.entries.len()
                ),
                Some(e) => format!(
                    "the run failed with {e:?}, but no operation failed in the journal kept"
                ),
                None if failing_checks.is_empty() => "the run did not fail".into(),
                None => "a check failed, but names no operation the journal holds".into(),
            },
            ..Default::default()
        };
    };
    let mut chain = Chain::new(journal);
    let failed = &journal.marks[target.mark as usize];
    let node = failed.lane;
    let end = failed.entry;
    chain.mark(target.mark, None);
    let invoked = target.op.and_then(|op| {
        journal
            .marks
            .iter()
            .position(|m| m.kind == MarkKind::Invoke && m.op == Some(op))
    });
    let begin = invoked.map_or(0, |i| journal.marks[i].entry);
    if let Some(i) = invoked {
        chain.mark(i as u32, None);
    }
    chain.metadata(node, end);
    chain.exchange(node, begin, end, &failed.label);
    // The other operations the check names, as they ended before this one.
    for (i, m) in journal.marks.iter().enumerate() {
        let ended = !matches!(m.kind, MarkKind::Invoke);
        if ended && m.entry < end && m.op.is_some_and(|o| target.also.contains(&o)) {
            chain.mark(i as u32, Some("another operation the check names"));
        }
    }
    chain.lifecycle(begin, end);
    let headline = format!(
        "explain: {} on {node} at {}",
        failed.label,
        fmt_duration(failed.at)
    );
    let mut explanation = chain.finish(end);
    explanation.headline = headline;
    if journal.truncated {
        explanation.headline += &format!(
            "\n  (the journal stopped growing at {} entries, at {}: later events are not in it)",
            journal.entries.len(),
            fmt_duration(journal.entries.last().map_or(0, |(t, _)| *t))
        );
    }
    explanation.highlight.failing = Some(target.mark);
    explanation.target = Some(target);
    explanation
}

/// The failing operation: the one that failed with the run's error, else one a failing
/// check names, else the first that failed or was lost.
fn find_target(journal: &Journal, error: Option<&str>, checks: &[String]) -> Option<Target> {
    let marks = || journal.marks.iter().enumerate();
    if let Some(error) = error
        && let Some((i, m)) =
            marks().find(|(_, m)| m.kind == MarkKind::Failed && m.label.ends_with(error))
    {
        return Some(Target {
            mark: i as u32,
            op: m.op,
            why: format!("it failed with the run's error, {error:?}"),
            also: Vec::new(),
        });
    }
    // Of the operations a failing check names, the one that ended last: with it the
    // violation became visible.
    for detail in checks {
        let named = op_references(detail);
        let ended = marks().rfind(|(_, m)| {
            m.op.is_some_and(|op| named.contains(&op))
                && matches!(
                    m.kind,
                    MarkKind::Complete | MarkKind::Failed | MarkKind::Sealed | MarkKind::OpLost
                )
        });
        if let Some((i, m)) = ended {
            return Some(Target {
                mark: i as u32,
                op: m.op,
                why: format!("a failing check names it: {detail}"),
                also: named.into_iter().filter(|o| Some(*o) != m.op).collect(),
            });
        }
    }
    let (i, m) = marks()
        .find(|(_, m)| m.kind == MarkKind::Failed)
        .or_else(|| marks().find(|(_, m)| m.kind == MarkKind::OpLost))?;
    Some(Target {
        mark: i as u32,
        op: m.op,
        why: "the first operation that failed".into(),
        also: Vec::new(),
    })
}

/// The operations a sentence names as `#N`.
fn op_references(text: &str) -> Vec<u64> {
    text.split('#')
        .skip(1)
        .filter_map(|rest| {
            let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
            digits.parse().ok()
        })
        .collect()
}

/// The chain being gathered: flights and marks, each with its part in the story.
struct Chain<'a> {
    journal: &'a Journal,
    flights: Vec<(FlightId, Option<&'static str>)>,
    marks: Vec<(u32, Option<&'static str>)>,
}

impl<'a> Chain<'a> {
    fn new(journal: &'a Journal) -> Self {
        Chain {
            journal,
            flights: Vec::new(),
            marks: Vec::new(),
        }
    }

    fn flight(&mut self, id: FlightId, role: Option<&'static str>) {
        if !self.flights.iter().any(|(f, _)| *f == id) {
            self.flights.push((id, role));
        }
    }

    fn mark(&mut self, index: u32, role: Option<&'static str>) {
        if !self.marks.iter().any(|(m, _)| *m == index) {
            self.marks.push((index, role));
        }
    }

    /// How `node`'s cached Logs came to be what it held at `end`, and what it dropped.
    fn metadata(&mut self, node: Lane, end: usize) {
        let journal = self.journal;
        let on_node = |kind: MarkKind| {
            journal
                .marks
                .iter()
                .enumerate()
                .filter(move |(_, m)| m.lane == node && m.kind == kind)
        };
        let Some((taken_i, taken)) = on_node(MarkKind::Taken).rfind(|(_, m)| m.entry < end) else {
            return;
        };
        self.mark(taken_i as u32, Some("the value the operation read"));
        // What the cache held before: a header only makes a node ask when it is newer.
        let before = on_node(MarkKind::Taken)
            .rfind(|(_, m)| m.entry < taken.entry)
            .map(|(_, m)| (m.entry, version_in(&m.label)));
        if let Some(carrier) = taken.cause {
            let f = journal.flight(carrier);
            self.flight(carrier, Some("the answer that carried it"));
            // The request it answers.
            if let Some(request) = f.request
                && let Some(asked) = journal
                    .flights
                    .iter()
                    .filter(|q| q.from == node && q.to == f.from && q.request == Some(request))
                    .rfind(|q| q.sent_at < f.sent_at)
            {
                let role = if f.from == Lane::Store {
                    "the store read"
                } else {
                    "the fetch from the peer"
                };
                self.flight(asked.id, Some(role));
                if f.from != Lane::Store {
                    self.header(node, asked, f.from, before);
                }
            }
        }
        // Values dropped as not newer while the operation's state stood.
        for (i, m) in on_node(MarkKind::Dropped).filter(|(_, m)| m.entry > taken.entry) {
            self.mark(i as u32, Some("a value dropped as not newer"));
            if let Some(carrier) = m.cause {
                self.flight(carrier, None);
                // And the request it answered: the read that lost the race.
                let f = journal.flight(carrier);
                if let Some(request) = f.request
                    && let Some(asked) = journal.flights.iter().rfind(|q| {
                        q.from == node
                            && q.to == f.from
                            && q.request == Some(request)
                            && q.sent_at < f.sent_at
                    })
                {
                    self.flight(asked.id, Some("the read whose answer came too late"));
                }
            }
        }
    }

    /// The header that made `node` ask `peer`: the last message it received before
    /// asking whose header showed a Logs version newer than it held.
    fn header(
        &mut self,
        node: Lane,
        asked: &Flight,
        peer: Lane,
        before: Option<(usize, Option<u32>)>,
    ) {
        let held = before.and_then(|(_, v)| v);
        let since = before.map_or(0, |(e, _)| e);
        let newer = |f: &&Flight| {
            f.to == node
                && f.logs_version.is_some_and(|v| held.is_none_or(|h| v > h))
                && matches!(f.fate, Fate::Delivered { entry, .. } if entry > since && entry < asked.sent_at)
        };
        let heard = self
            .journal
            .flights
            .iter()
            .filter(newer)
            .rfind(|f| f.from == peer)
            .or_else(|| self.journal.flights.iter().rfind(newer));
        if let Some(f) = heard {
            self.flight(f.id, Some(HEADER));
        }
    }

    /// The operation's own exchange: the last requests of its kind `node` sent while it
    /// ran, and their answers.
    fn exchange(&mut self, node: Lane, begin: usize, end: usize, label: &str) {
        let kinds: &[&str] = if label.contains("find-tail") {
            &[
                "GetLogletInfo",
                "LogletInfo",
                "GetSequencerState",
                "SequencerState",
            ]
        } else if label.contains("seal") {
            &["Seal", "Sealed", "GetLogletInfo", "LogletInfo"]
        } else if label.contains("append") {
            &["Store", "Stored"]
        } else if label.contains("read") {
            &["GetRecords", "Records", "GetLogletInfo", "LogletInfo"]
        } else if label.contains("trim") {
            &["Trim", "Trimmed"]
        } else {
            &[]
        };
        // An append that was acknowledged: only the stores of its offset, and their answers.
        let offset = label
            .rsplit_once("appended at ")
            .map(|(_, o)| format!("[{o}.."));
        let requests: BTreeSet<u64> = match &offset {
            Some(range) => self
                .journal
                .flights
                .iter()
                .filter(|f| f.from == node && f.kind == "Store" && f.label.contains(range.as_str()))
                .filter_map(|f| f.request)
                .collect(),
            None => BTreeSet::new(),
        };
        let mine: Vec<FlightId> = self
            .journal
            .flights
            .iter()
            .filter(|f| kinds.contains(&f.kind.as_str()))
            .filter(|f| offset.is_none() || f.request.is_some_and(|r| requests.contains(&r)))
            .filter(|f| {
                let received = matches!(f.fate, Fate::Delivered { entry, .. } if entry < end);
                (f.from == node && f.sent_at >= begin && f.sent_at < end)
                    || (f.to == node && received && f.sent_at >= begin)
            })
            .map(|f| f.id)
            .collect();
        for id in mine.iter().rev().take(MAX_EXCHANGE).rev() {
            self.flight(*id, None);
        }
    }

    /// Crashes, restarts, wipes and faults anywhere in the chain's lanes while the
    /// operation ran.
    fn lifecycle(&mut self, begin: usize, end: usize) {
        let lanes: BTreeSet<Lane> = self
            .flights
            .iter()
            .flat_map(|(f, _)| {
                let f = self.journal.flight(*f);
                [f.from, f.to]
            })
            .chain(
                self.marks
                    .iter()
                    .map(|(m, _)| self.journal.marks[*m as usize].lane),
            )
            .collect();
        let found: Vec<u32> = self
            .journal
            .marks
            .iter()
            .enumerate()
            .filter(|(_, m)| {
                m.entry >= begin
                    && m.entry < end
                    && lanes.contains(&m.lane)
                    && matches!(
                        m.kind,
                        MarkKind::Crash | MarkKind::Start | MarkKind::Wipe | MarkKind::Fault
                    )
            })
            .map(|(i, _)| i as u32)
            .collect();
        for i in found {
            self.mark(i, None);
        }
    }

    /// The chain in journal order: what came before the failure at `end`, and after.
    fn finish(self, end: usize) -> Explanation {
        let journal = self.journal;
        let mut steps: Vec<Step> = Vec::new();
        let mut highlight = Highlight::default();
        for (id, role) in &self.flights {
            let f = journal.flight(*id);
            highlight.flights.insert(*id);
            let (at, entry, how) = match &f.fate {
                Fate::Delivered { at, entry } => (*at, *entry, String::new()),
                Fate::Lost { at, entry, why } => (*at, *entry, format!(" (lost: {why})")),
                Fate::InFlight => (f.sent, f.sent_at, " (never delivered)".into()),
            };
            let label = short_ids(&f.label);
            let what = match (f.logs_version, *role) {
                (Some(v), Some(HEADER)) => format!("{label}: its header shows Logs v{v}{how}"),
                _ => format!("{label}{how}"),
            };
            steps.push(Step {
                at,
                entry,
                lanes: format!("{} -> {}", f.from, f.to),
                what: format!("{what} (sent {})", fmt_duration(f.sent)),
                role: *role,
            });
        }
        for (index, role) in &self.marks {
            let m = &journal.marks[*index as usize];
            highlight.marks.insert(*index);
            steps.push(Step {
                at: m.at,
                entry: m.entry,
                lanes: m.lane.to_string(),
                what: m.label.clone(),
                role: if m.entry == end {
                    Some("the failing operation")
                } else {
                    *role
                },
            });
        }
        steps.sort_by_key(|s| s.entry);
        let (chain, after): (Vec<Step>, Vec<Step>) =
            steps.into_iter().partition(|s| s.entry <= end);
        Explanation {
            headline: String::new(),
            target: None,
            chain,
            after,
            highlight,
        }
    }
}

/// The version in a mark's label (`caches Logs v1 from ...`).
fn version_in(label: &str) -> Option<u32> {
    let rest = &label[label.find("Logs v")? + 6..];
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_check_names_its_operations_with_a_hash() {
        assert_eq!(
            op_references("log 0: #12 (main, on N5) was told sealed tail 3, #7 (watcher)"),
            vec![12, 7]
        );
        assert_eq!(op_references("no operation here"), Vec::<u64>::new());
    }

    #[test]
    fn the_version_of_a_cached_value_is_read_from_its_mark() {
        assert_eq!(
            version_in("caches Logs v1336 from peer N1: empty"),
            Some(1336)
        );
        assert_eq!(version_in("starts"), None);
    }
}
