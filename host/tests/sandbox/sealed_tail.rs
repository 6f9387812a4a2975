//! The hole in a sealed log. On a reordering network an append can be stored on one
//! log-server only and end Sealed; its record lies past the committed tail. A find-tail on
//! the log-servers takes the highest local tail of the sealed nodes, so it counts that
//! record in: the sequencer must repair it to a write quorum and publish the same tail,
//! or readers disagree on what the sealed log holds, and a crash of the one holder loses
//! a record below a reported tail. These runs tell that story on the built-in
//! `append-seal-reordered`, with a second client node (N6) that asks the log-servers
//! itself once it cannot reach the sequencer.

use std::sync::Arc;

use logsandbox::check::durability::StoredLog;
use logsandbox::runtime::{Component, MUTANTS};
use logsandbox::{ChainTail, LogTail, MetadataKind, Op, OpResult, Sandbox, ms, scenario};

/// What one story run showed.
struct Story {
    /// The sealed tail the sequencer published.
    published: u64,
    /// The highest acknowledged LSN.
    last_ack: u64,
    /// N6's find-tail on the log-servers, with the sequencer cut off.
    remote: OpResult,
    /// The failing checks, after N6's find-tail.
    failing: Vec<String>,
    /// Offsets below the published tail on fewer than two log-servers' disks.
    under_replicated: Vec<u64>,
}

/// Runs `append-seal-reordered` at `seed`, optionally crashing log-server `crash` 1 ms
/// after the seal (it stays down); then starts N6 cut off from the sequencer and has it
/// find the tail.
fn story(seed: u64, crash: Option<u32>, component: Option<Arc<Component>>) -> Story {
    let text = scenario::BUILTIN
        .iter()
        .find(|(name, _)| *name == "append-seal-reordered")
        .unwrap()
        .1;
    let faults = match crash {
        Some(n) => format!(
            "faults = [{{ on = \"seal\", at = \"1ms\", action = \"crash\", node = {n} }}]\n"
        ),
        None => String::new(),
    };
    let scenario = scenario::parse("story", &format!("{faults}{text}"), &[]).unwrap();
    let mut builder = Sandbox::from_scenario(&scenario).seed(seed).client(6);
    if let Some(component) = component {
        builder = builder.component(component);
    }
    let mut sb = builder.build().unwrap();
    let report = sb.run().unwrap();
    let published = report
        .history
        .ops()
        .find_map(|o| match o.result() {
            Some(OpResult::Sealed(ChainTail {
                tail: LogTail::Sealed(t),
                ..
            })) => Some(*t),
            _ => None,
        })
        .expect("the seal completed");
    let last_ack = report
        .history
        .ops()
        .filter_map(|o| match o.result() {
            Some(OpResult::Appended(offset)) => Some(*offset),
            _ => None,
        })
        .max()
        .unwrap();
    // N6 starts cut off from the sequencer: it never hears from it, and asks the
    // log-servers.
    sb.partition(5, 6);
    sb.start(6).unwrap();
    let ready = sb.invoke(6, Op::WaitForMetadata(MetadataKind::Logs, 1));
    sb.run_until_done(ready).unwrap();
    let find = sb.invoke(6, Op::FindTail(0));
    let remote = sb.run_until_done(find).unwrap();
    sb.run_for(ms(10)).unwrap();
    let failing = sb
        .check()
        .into_iter()
        .filter(|c| !c.pass)
        .map(|c| format!("{}: {}", c.name, c.detail))
        .collect();
    let stored: StoredLog = sb.stored_logs().remove(&0).unwrap();
    let under_replicated = (1..published)
        .filter(|&lsn| stored.copies_of(lsn).len() < 2)
        .collect();
    Story {
        published,
        last_ack,
        remote,
        failing,
        under_replicated,
    }
}

#[test]
fn a_record_stored_once_before_the_seal_is_repaired_and_everyone_reports_the_same_tail() {
    let mut repaired_in = 0;
    for seed in 1..=6 {
        for crash in [None, Some(1), Some(2), Some(3)] {
            let s = story(seed, crash, None);
            let at = format!("seed {seed}, crash {crash:?}");
            assert!(s.failing.is_empty(), "{at}: {:?}", s.failing);
            assert_eq!(
                s.remote,
                OpResult::Tail(ChainTail::sealed(s.published)),
                "{at}: the log-servers give the tail the sequencer published"
            );
            assert!(
                s.under_replicated.is_empty(),
                "{at}: offsets below the sealed tail {} on fewer than 2 disks: {:?}",
                s.published,
                s.under_replicated
            );
            if s.published > s.last_ack + 1 {
                repaired_in += 1;
            }
        }
    }
    assert!(
        repaired_in > 0,
        "the story happened: a record past the acknowledged ones sealed in"
    );
}

#[test]
fn a_sequencer_that_publishes_without_repair_is_caught_by_the_checks() {
    let mutant = MUTANTS
        .iter()
        .find(|m| m.name == "publish-without-repair")
        .unwrap();
    let mutant = Arc::new(Component::load("publish-without-repair", mutant.wasm).unwrap());
    let caught: Vec<(u64, Vec<String>)> = (1..=6)
        .map(|seed| (seed, story(seed, None, Some(mutant.clone())).failing))
        .filter(|(_, failing)| !failing.is_empty())
        .collect();
    assert!(!caught.is_empty(), "the mutant passed every seed");
    assert!(
        caught
            .iter()
            .any(|(_, failing)| failing.iter().any(|f| f.starts_with("sealed_tails_agree"))),
        "{caught:?}"
    );
}
