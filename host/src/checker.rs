//! The checker: judges the recorded history, never the guest's word. Each invariant
//! family is its own function with its own name in the report and in `--json`.
//!
//! The checks of Restate's `append_after_seal_concurrent`, plus the invariants every
//! log must keep: no acknowledged append lost, tails never decrease, sealed stays
//! sealed, nothing acknowledged beyond a published sealed tail.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::bindings::{ClientError, Op, OpResult, TailState};
use crate::history::{History, OpRecord, Process, fmt_tail};
use crate::time::fmt_duration;

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct CheckResult {
    pub name: &'static str,
    pub pass: bool,
    /// What was seen, in a sentence.
    pub detail: String,
}

fn check(name: &'static str, pass: bool, detail: String) -> CheckResult {
    CheckResult { name, pass, detail }
}

/// What the checks need to know of the scenario.
pub struct Expectations {
    pub appenders: u32,
    pub warmup_appends: u32,
}

/// Every check, in a stable order.
pub fn check_history(history: &History, expect: &Expectations) -> Vec<CheckResult> {
    let view = View::new(history);
    vec![
        initial_tail(&view),
        appenders_committed(&view, expect),
        unique_offsets(&view),
        sealed_tail_beyond_commits(&view),
        first_sealed_beyond_acks(&view),
        append_after_seal_fails(&view),
        find_tail_after_seal(&view),
        reads_return_committed(&view),
        tails_monotonic(&view),
        no_ack_beyond_published_seal(&view),
        trims_within_the_tail(&view),
        reads_after_trim(&view),
    ]
}

/// The history, sorted the ways the checks look at it.
struct View<'a> {
    main: Vec<&'a OpRecord>,
    /// Per appender: acknowledged offsets with their payloads.
    acked: BTreeMap<u32, Vec<(u32, Vec<u8>)>>,
    /// Every completed find-tail and seal, in completion order: (time, tail).
    tails: Vec<(u64, TailState, Process)>,
    first_watcher_seal: Option<u32>,
    /// The payload of every append invoked, acknowledged or not.
    invoked_payloads: BTreeSet<&'a Vec<u8>>,
}

impl<'a> View<'a> {
    fn new(history: &'a History) -> Self {
        let mut view = View {
            main: Vec::new(),
            acked: BTreeMap::new(),
            tails: Vec::new(),
            first_watcher_seal: None,
            invoked_payloads: BTreeSet::new(),
        };
        for op in history.ops() {
            if let Op::Append((_, payload)) = &op.op {
                view.invoked_payloads.insert(payload);
            }
            match op.process {
                Process::Main => view.main.push(op),
                Process::Appender(id) => {
                    let entry = view.acked.entry(id).or_default();
                    if let (Some(offset), Op::Append((_, payload))) = (op.ok_offset(), &op.op) {
                        entry.push((offset, payload.clone()));
                    }
                }
                Process::Watcher => {}
            }
            if let Some((t, OpResult::Tail(tail) | OpResult::Sealed(tail))) = &op.completed {
                view.tails.push((t.0, *tail, op.process));
                if let (Process::Watcher, TailState::Sealed(o), None) =
                    (op.process, tail, view.first_watcher_seal)
                {
                    view.first_watcher_seal = Some(*o);
                }
            }
        }
        view.tails.sort_by_key(|(t, _, _)| *t);
        view
    }

    fn all_acked(&self) -> impl Iterator<Item = u32> + '_ {
        self.acked.values().flatten().map(|(o, _)| *o)
    }

    fn max_acked(&self) -> Option<u32> {
        self.all_acked().max()
    }

    /// The main task's operations of one kind, in order.
    fn main_ops(&self, f: &str) -> Vec<&'a OpRecord> {
        self.main.iter().copied().filter(|o| o.f() == f).collect()
    }

    /// The tail the main task's seal published.
    fn sealed_tail(&self) -> Option<u32> {
        self.main_ops("seal")
            .iter()
            .find_map(|o| match o.completed {
                Some((_, OpResult::Sealed(TailState::Sealed(t)))) => Some(t),
                _ => None,
            })
    }
}

fn initial_tail(view: &View) -> CheckResult {
    let first = view
        .main_ops("find-tail")
        .first()
        .and_then(|o| o.completed.clone());
    let pass = matches!(first, Some((_, OpResult::Tail(TailState::Open(1)))));
    check(
        "initial_tail_open_oldest",
        pass,
        format!(
            "first find-tail: {}",
            describe(first.as_ref().map(|(_, r)| r))
        ),
    )
}

fn appenders_committed(view: &View, expect: &Expectations) -> CheckResult {
    let short: Vec<String> = (0..expect.appenders)
        .filter_map(|id| {
            let n = view.acked.get(&id).map_or(0, |v| v.len());
            (n < expect.warmup_appends as usize).then(|| format!("appender-{id}: {n}"))
        })
        .collect();
    let total: usize = view.acked.values().map(|v| v.len()).sum();
    check(
        "appenders_committed_min",
        short.is_empty(),
        if short.is_empty() {
            format!(
                "{} appenders committed {total} records, each at least {}",
                expect.appenders, expect.warmup_appends
            )
        } else {
            format!(
                "below {} committed: {}",
                expect.warmup_appends,
                short.join(", ")
            )
        },
    )
}

fn unique_offsets(view: &View) -> CheckResult {
    let mut seen = BTreeSet::new();
    let dups: Vec<u32> = view.all_acked().filter(|o| !seen.insert(*o)).collect();
    check(
        "committed_offsets_unique",
        dups.is_empty(),
        if dups.is_empty() {
            format!("{} acknowledged offsets, all distinct", seen.len())
        } else {
            format!(
                "offsets acknowledged twice: {:?}",
                &dups[..dups.len().min(10)]
            )
        },
    )
}

fn sealed_tail_beyond_commits(view: &View) -> CheckResult {
    match (view.sealed_tail(), view.max_acked()) {
        (Some(tail), Some(max)) => check(
            "sealed_tail_beyond_commits",
            tail > max,
            format!("sealed tail {tail}, last acknowledged offset {max}"),
        ),
        (None, _) => check(
            "sealed_tail_beyond_commits",
            false,
            "the seal never completed".into(),
        ),
        (Some(tail), None) => check(
            "sealed_tail_beyond_commits",
            true,
            format!("sealed tail {tail}, nothing acknowledged"),
        ),
    }
}

fn first_sealed_beyond_acks(view: &View) -> CheckResult {
    match (view.first_watcher_seal, view.max_acked()) {
        (Some(seen), Some(max)) => check(
            "first_sealed_tail_beyond_acks",
            seen > max,
            format!("the watcher first saw sealed tail {seen}; last acknowledged offset {max}"),
        ),
        (None, _) => check(
            "first_sealed_tail_beyond_acks",
            false,
            "the watcher never saw a sealed tail".into(),
        ),
        (Some(seen), None) => check(
            "first_sealed_tail_beyond_acks",
            true,
            format!("sealed tail {seen}, nothing acknowledged"),
        ),
    }
}

fn append_after_seal_fails(view: &View) -> CheckResult {
    let after: Option<&OpRecord> = view.main_ops("append").into_iter().next();
    let result = after.and_then(|o| o.completed.as_ref().map(|(_, r)| r));
    check(
        "append_after_seal_fails_sealed",
        matches!(result, Some(OpResult::Failed(ClientError::Sealed))),
        format!("append after the seal: {}", describe(result)),
    )
}

fn find_tail_after_seal(view: &View) -> CheckResult {
    let tails = view.main_ops("find-tail");
    let result = tails
        .get(1)
        .and_then(|o| o.completed.as_ref().map(|(_, r)| r));
    check(
        "find_tail_after_seal_sealed",
        matches!(result, Some(OpResult::Tail(TailState::Sealed(_)))),
        format!("find-tail after the seal: {}", describe(result)),
    )
}

fn reads_return_committed(view: &View) -> CheckResult {
    let read = view.main_ops("read").into_iter().next();
    let Some((_, OpResult::Records(records))) = read.and_then(|o| o.completed.as_ref()) else {
        return check(
            "read_returns_committed",
            false,
            format!(
                "no read result: {}",
                describe(read.and_then(|o| o.completed.as_ref().map(|(_, r)| r)))
            ),
        );
    };
    let got: BTreeMap<u32, &Vec<u8>> = records.iter().map(|r| (r.offset, &r.payload)).collect();
    let mut missing = Vec::new();
    let mut wrong = Vec::new();
    for (offset, payload) in view.acked.values().flatten() {
        match got.get(offset) {
            None => missing.push(*offset),
            Some(p) if *p != payload => wrong.push(*offset),
            Some(_) => {}
        }
    }
    // Records beyond the acknowledged ones may be read (appends sealed in flight), but
    // each must carry a payload some append sent, and no payload may appear twice.
    let mut seen = BTreeSet::new();
    let foreign: Vec<u32> = got
        .iter()
        .filter(|(_, p)| !view.invoked_payloads.contains(**p) || !seen.insert(**p))
        .map(|(o, _)| *o)
        .collect();
    let acked = view.all_acked().count();
    let pass = missing.is_empty() && wrong.is_empty() && foreign.is_empty();
    check(
        "read_returns_committed",
        pass,
        if pass {
            format!(
                "read {} records; all {acked} acknowledged ones present with their payloads, no stray or repeated record",
                got.len()
            )
        } else {
            format!(
                "read {} records; missing acknowledged offsets {:?}; wrong payload at {:?}; stray or repeated records at {:?}",
                got.len(),
                &missing[..missing.len().min(10)],
                &wrong[..wrong.len().min(10)],
                &foreign[..foreign.len().min(10)]
            )
        },
    )
}

fn tails_monotonic(view: &View) -> CheckResult {
    let mut last: Option<(TailState, Process)> = None;
    for (t, tail, process) in &view.tails {
        if let Some((prev, prev_process)) = last {
            let (po, ps) = split(prev);
            let (o, s) = split(*tail);
            if o < po || (ps && !s) {
                return check(
                    "tails_monotonic",
                    false,
                    format!(
                        "{process} saw {} at {} after {prev_process} saw {}",
                        fmt_tail(tail),
                        fmt_duration(*t),
                        fmt_tail(&prev)
                    ),
                );
            }
        }
        last = Some((*tail, *process));
    }
    check(
        "tails_monotonic",
        true,
        format!(
            "{} tails observed, never decreasing, sealed stayed sealed",
            view.tails.len()
        ),
    )
}

/// No append is acknowledged after a sealed tail was published, at or beyond that tail.
fn no_ack_beyond_published_seal(view: &View) -> CheckResult {
    let published = view.tails.iter().find_map(|(t, tail, _)| {
        matches!(tail, TailState::Sealed(_)).then_some((*t, split(*tail).0))
    });
    let Some((at, tail)) = published else {
        return check(
            "no_ack_beyond_published_seal",
            true,
            "no sealed tail was published".into(),
        );
    };
    let max = view.max_acked();
    let pass = max.is_none_or(|m| m < tail);
    check(
        "no_ack_beyond_published_seal",
        pass,
        format!(
            "sealed tail {tail} published at {}; highest acknowledged offset {}",
            fmt_duration(at),
            max.map_or("none".into(), |m| m.to_string())
        ),
    )
}

fn split(t: TailState) -> (u32, bool) {
    match t {
        TailState::Open(o) => (o, false),
        TailState::Sealed(o) => (o, true),
    }
}

fn describe(r: Option<&OpResult>) -> String {
    r.map_or("none".into(), crate::trace::describe_result)
}

/// A trim at or beyond the sealed tail must be refused: it would cut records to come.
fn trims_within_the_tail(view: &View) -> CheckResult {
    let trims = view.main_ops("trim");
    let Some(tail) = view.sealed_tail() else {
        return check(
            "trims_within_the_tail",
            trims.is_empty(),
            "no sealed tail to judge trims by".into(),
        );
    };
    let accepted_beyond: Vec<u32> = trims
        .iter()
        .filter_map(|o| match (&o.op, &o.completed) {
            (Op::Trim((_, point)), Some((_, OpResult::Trimmed(_)))) if *point >= tail => {
                Some(*point)
            }
            _ => None,
        })
        .collect();
    check(
        "trims_within_the_tail",
        accepted_beyond.is_empty(),
        if trims.is_empty() {
            "no trim in this workload".into()
        } else if accepted_beyond.is_empty() {
            format!(
                "{} trims; none at or beyond the sealed tail {tail} was accepted",
                trims.len()
            )
        } else {
            format!(
                "trims to {accepted_beyond:?} were accepted at or beyond the sealed tail {tail}"
            )
        },
    )
}

/// After a trim to P, a read returns no record at or below P and every acknowledged one above.
fn reads_after_trim(view: &View) -> CheckResult {
    let trimmed = view
        .main_ops("trim")
        .iter()
        .find_map(|o| match o.completed {
            Some((_, OpResult::Trimmed(p))) => Some(p),
            _ => None,
        });
    let reads = view.main_ops("read");
    let (Some(point), Some(read)) = (trimmed, reads.get(1)) else {
        return check(
            "reads_after_trim",
            true,
            "no read after a trim in this workload".into(),
        );
    };
    let Some((_, OpResult::Records(records))) = &read.completed else {
        return check(
            "reads_after_trim",
            false,
            format!("the read after the trim to {point} did not complete"),
        );
    };
    let got: BTreeSet<u32> = records.iter().map(|r| r.offset).collect();
    let below: Vec<u32> = got
        .iter()
        .copied()
        .filter(|o| *o <= point)
        .take(10)
        .collect();
    let missing: Vec<u32> = view
        .all_acked()
        .filter(|o| *o > point && !got.contains(o))
        .take(10)
        .collect();
    check(
        "reads_after_trim",
        below.is_empty() && missing.is_empty(),
        if below.is_empty() && missing.is_empty() {
            format!(
                "after the trim to {point}, {} records read, all acknowledged ones above it present",
                got.len()
            )
        } else {
            format!(
                "after the trim to {point}: trimmed records returned {below:?}, acknowledged ones missing {missing:?}"
            )
        },
    )
}
