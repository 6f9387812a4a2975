//! `chain_never_goes_back`: every change of a chain the metadata store accepted keeps what
//! the chain already said. A segment keeps its base and its loglet for as long as it is in
//! the chain, and the tail segment's base never moves back. The store judges each put it
//! accepts against the value it replaces (the host's facts, not a guest's word), so a chain
//! writer that overwrites a concurrent change (a put without its precondition) is caught.

use std::collections::{BTreeMap, BTreeSet};

use super::CheckResult;
use crate::bindings::{Chain, MetadataValue};
use crate::op::{LogId, Lsn, SegmentIndex, fmt_loglet};

/// The most problems kept: a broken writer may break every put.
const MAX_KEPT: usize = 20;

/// What the store saw of chain changes.
#[derive(Debug, Default, Clone)]
pub struct ChainAudit {
    /// Accepted puts that changed a chain.
    pub changes: u64,
    /// What went back, in words (the first twenty).
    pub problems: Vec<String>,
    /// Every segment after the first that an accepted chain held, per log: (index, base
    /// LSN). Where a segment ends, for the checks that read the history, including the
    /// extensions and seal markers no client was told of (an appender's, a reader's).
    pub segments: BTreeMap<LogId, BTreeSet<(SegmentIndex, Lsn)>>,
}

impl ChainAudit {
    /// Judges an accepted put of `next` over `previous`.
    pub fn accepted(&mut self, previous: Option<&MetadataValue>, next: &MetadataValue) {
        let MetadataValue::Logs(logs) = next;
        for chain in &logs.chains {
            let known = self.segments.entry(chain.log_id).or_default();
            // A seal marker carries the index of the segment it ends: it begins where
            // the next segment will.
            known.extend(chain.segments.iter().filter_map(|s| {
                let index = match s.params {
                    Some(_) => s.index,
                    None => s.index.checked_add(1)?,
                };
                (index > 0).then_some((index, s.base_lsn))
            }));
        }
        let (Some(MetadataValue::Logs(before)), MetadataValue::Logs(after)) = (previous, next)
        else {
            return;
        };
        for old in &before.chains {
            let Some(new) = after.chains.iter().find(|c| c.log_id == old.log_id) else {
                continue;
            };
            if old.segments != new.segments {
                self.changes += 1;
            }
            if let Some(why) = went_back(old, new)
                && self.problems.len() < MAX_KEPT
            {
                self.problems.push(format!(
                    "log {}: v{} -> v{}: {why}",
                    old.log_id, before.version, after.version
                ));
            }
        }
    }

    /// The check's verdict.
    pub fn result(&self) -> CheckResult {
        CheckResult::new(
            "chain_never_goes_back",
            self.problems.is_empty(),
            if !self.problems.is_empty() {
                self.problems.join("; ")
            } else if self.changes == 0 {
                "no chain changed".to_string()
            } else {
                format!(
                    "{} chain changes, each keeping every segment's base and loglet",
                    self.changes
                )
            },
        )
    }
}

/// What a change of one chain undid, if anything.
fn went_back(old: &Chain, new: &Chain) -> Option<String> {
    let (Some(old_tail), Some(new_tail)) = (old.segments.last(), new.segments.last()) else {
        return None;
    };
    if new_tail.base_lsn < old_tail.base_lsn {
        return Some(format!(
            "the tail segment moved back from LSN {} to {}",
            old_tail.base_lsn, new_tail.base_lsn
        ));
    }
    for segment in old.segments.iter().filter(|s| s.params.is_some()) {
        let Some(kept) = new
            .segments
            .iter()
            .find(|s| s.index == segment.index && s.params.is_some())
        else {
            continue;
        };
        if kept.base_lsn != segment.base_lsn || kept.params != segment.params {
            let describe = |s: &crate::bindings::Segment| match &s.params {
                Some(p) => format!(
                    "{} from LSN {} sequenced by N{}",
                    fmt_loglet(p.loglet_id),
                    s.base_lsn,
                    p.sequencer
                ),
                None => format!("a seal marker at LSN {}", s.base_lsn),
            };
            return Some(format!(
                "segment {} was {} and became {}",
                segment.index,
                describe(segment),
                describe(kept)
            ));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bindings::{Logs, ProviderKind, ReplicatedParams, Segment};

    fn logs(version: u32, segments: &[(u64, u32, u32)]) -> MetadataValue {
        MetadataValue::Logs(Logs {
            version,
            chains: vec![Chain {
                log_id: 0,
                segments: segments
                    .iter()
                    .map(|&(base, index, sequencer)| Segment {
                        base_lsn: base,
                        index,
                        provider: ProviderKind::Replicated,
                        params: Some(ReplicatedParams {
                            loglet_id: u64::from(index),
                            sequencer,
                            replication: 2,
                            nodeset: vec![1, 2, 3],
                        }),
                    })
                    .collect(),
            }],
        })
    }

    /// Where segments begin, for the history's checks: each segment after the first, and a
    /// seal marker as the start of the segment after the one it ends.
    #[test]
    fn the_audit_keeps_where_every_accepted_chain_begins_its_segments() {
        let mut audit = ChainAudit::default();
        let extended = logs(2, &[(1, 0, 5), (4, 1, 5)]);
        audit.accepted(Some(&logs(1, &[(1, 0, 5)])), &extended);
        let MetadataValue::Logs(mut sealed) = extended.clone();
        sealed.version = 3;
        sealed.chains[0].segments.push(Segment {
            base_lsn: 9,
            index: 1,
            provider: ProviderKind::Sealed,
            params: None,
        });
        audit.accepted(Some(&extended), &MetadataValue::Logs(sealed));
        let expected: BTreeSet<(SegmentIndex, Lsn)> = [(1, 4), (2, 9)].into_iter().collect();
        assert_eq!(audit.segments[&0], expected);
    }

    #[test]
    fn an_extension_passes_and_an_overwritten_segment_or_a_tail_moving_back_fails() {
        let mut audit = ChainAudit::default();
        audit.accepted(
            Some(&logs(1, &[(1, 0, 5)])),
            &logs(2, &[(1, 0, 5), (4, 1, 5)]),
        );
        assert!(audit.result().pass, "{:?}", audit.result());
        assert_eq!(audit.changes, 1);
        // The same version written again with another sequencer for segment 1.
        audit.accepted(
            Some(&logs(2, &[(1, 0, 5), (4, 1, 5)])),
            &logs(2, &[(1, 0, 5), (4, 1, 6)]),
        );
        let result = audit.result();
        assert!(!result.pass);
        assert!(
            result
                .detail
                .contains("segment 1 was 0_1 from LSN 4 sequenced by N5"),
            "{}",
            result.detail
        );
        let mut back = ChainAudit::default();
        back.accepted(
            Some(&logs(2, &[(1, 0, 5), (4, 1, 5)])),
            &logs(3, &[(1, 0, 5)]),
        );
        assert!(back.result().detail.contains("moved back from LSN 4 to 1"));
        // A chain that appears (the run's Logs over an empty one) judges nothing.
        let mut fresh = ChainAudit::default();
        fresh.accepted(
            Some(&MetadataValue::Logs(Logs {
                version: 1,
                chains: vec![],
            })),
            &logs(1, &[(1, 0, 5)]),
        );
        assert!(fresh.result().pass);
    }
}
