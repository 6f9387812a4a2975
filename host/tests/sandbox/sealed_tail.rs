//! The hole in a sealed log. On a reordering network an append can be stored on one
//! log-server only and end (cancelled by the drain, or Sealed); its record lies past the
//! committed tail. A find-tail on the log-servers takes the highest local tail of the sealed
//! nodes, so it counts that record in and repairs it to a write quorum. Restate's sequencer
//! publishes its own known tail, with no repair: the two sealed tails of the loglet then
//! differ, which Restate permits (information, #5054's precondition). With
//! `sequencer.publish = repaired` the sequencer repairs first and everyone reports the same
//! tail. These runs tell that story on the built-in `append-seal-reordered`, with a second
//! client node (N6) that asks the log-servers itself once it cannot reach the sequencer.

use logsandbox::check::durability::StoredLog;
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
    /// What `sealed_tails_agree` said.
    agree: String,
    /// Offsets below the published tail on fewer than two log-servers' disks.
    under_replicated: Vec<u64>,
}

/// Runs `append-seal-reordered` at `seed` with `sequencer.publish = publish`, optionally
/// crashing log-server `crash` 1 ms after the seal (it stays down); then starts N6 cut off
/// from the sequencer and has it find the tail.
fn story(seed: u64, crash: Option<u32>, publish: &str) -> Story {
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
    let sets = [format!("guest.sequencer.publish={publish}")];
    let scenario = scenario::parse("story", &format!("{faults}{text}"), &sets).unwrap();
    let mut sb = Sandbox::from_scenario(&scenario)
        .seed(seed)
        .client(6)
        .build()
        .unwrap();
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
    let checks = sb.check();
    let failing = checks
        .iter()
        .filter(|c| !c.pass)
        .map(|c| format!("{}: {}", c.name, c.detail))
        .collect();
    let agree = checks
        .into_iter()
        .find(|c| c.name == "sealed_tails_agree")
        .expect("the check ran")
        .detail;
    let stored: StoredLog = sb.stored_logs().remove(&0).unwrap();
    let under_replicated = (1..published)
        .filter(|&lsn| stored.copies_of(lsn).len() < 2)
        .collect();
    Story {
        published,
        last_ack,
        remote,
        failing,
        agree,
        under_replicated,
    }
}

#[test]
fn with_publish_repaired_a_record_stored_once_before_the_seal_is_repaired_and_everyone_reports_the_same_tail()
 {
    let mut repaired_in = 0;
    for seed in 1..=6 {
        for crash in [None, Some(1), Some(2), Some(3)] {
            let s = story(seed, crash, "repaired");
            let at = format!("seed {seed}, crash {crash:?}");
            assert!(s.failing.is_empty(), "{at}: {:?}", s.failing);
            assert_eq!(
                s.remote,
                OpResult::Tail(ChainTail::sealed(s.published)),
                "{at}: the log-servers give the tail the sequencer published"
            );
            assert!(!s.agree.starts_with("information"), "{at}: {}", s.agree);
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

/// Restate's own-tail publish: the sequencer's sealed tail stays at its known tail, the
/// cut-off N6 repairs the record beyond it and reports a higher one. No check fails; the
/// disagreement is reported as information.
#[test]
fn with_restates_own_tail_publish_a_cut_off_reader_reports_a_higher_sealed_tail_as_information() {
    let mut higher_in = 0;
    for seed in 1..=12 {
        let s = story(seed, None, "own-tail");
        let at = format!("seed {seed}");
        assert!(s.failing.is_empty(), "{at}: {:?}", s.failing);
        assert_eq!(s.published, s.last_ack + 1, "{at}: its own known tail");
        let OpResult::Tail(ChainTail {
            tail: LogTail::Sealed(remote),
            ..
        }) = s.remote
        else {
            panic!("{at}: N6 finds the loglet sealed: {:?}", s.remote);
        };
        assert!(remote >= s.published, "{at}: {remote} < {}", s.published);
        if remote > s.published {
            higher_in += 1;
            assert!(s.agree.starts_with("information"), "{at}: {}", s.agree);
        }
    }
    assert!(
        higher_in > 0,
        "the story happened: N6 repaired beyond the published tail"
    );
}
