//! The chain model: lookups by LSN, and Restate's rules for extending, sealing and
//! trimming a chain (R1-R3).

use super::{marker, params, segment};
use crate::bindings::logsandbox::node::metadata::{Chain, ProviderKind, Segment};
use crate::chain::{self, ChainError, ChainView, Located};

fn chain(segments: Vec<Segment>) -> Chain {
    Chain {
        log_id: 0,
        segments,
    }
}

fn located(c: &Chain, lsn: u64) -> (u32, u64, Option<u32>) {
    match ChainView(c).locate(lsn).unwrap() {
        Located::Segment(s) => (s.index(), s.base(), s.offset_of(lsn.max(1))),
        Located::Trimmed { next_base } => panic!("{lsn} is trimmed, next base {next_base}"),
    }
}

#[test]
fn an_lsn_maps_to_the_last_segment_at_or_below_it_and_to_its_offset() {
    let c = chain(vec![segment(1, 0), segment(11, 1), segment(15, 2)]);
    assert_eq!(located(&c, 0), (0, 1, Some(1)), "INVALID reads as OLDEST");
    assert_eq!(located(&c, 1), (0, 1, Some(1)));
    assert_eq!(located(&c, 10), (0, 1, Some(10)));
    assert_eq!(located(&c, 11), (1, 11, Some(1)));
    assert_eq!(located(&c, 14), (1, 11, Some(4)));
    assert_eq!(located(&c, 1_000), (2, 15, Some(986)));
    let view = ChainView(&c);
    let ends: Vec<_> = view.segments().map(|s| s.end).collect();
    assert_eq!(ends, vec![Some(11), Some(15), None]);
    let second = view.segment(1).unwrap();
    assert_eq!(second.lsn_of(4), 14);
    assert_eq!(second.lsn_of(0), 10, "offset 0 is the LSN before the base");
}

#[test]
fn an_lsn_before_the_first_segment_is_trimmed_and_one_beyond_an_offset_maps_to_none() {
    let c = chain(vec![segment(11, 3)]);
    assert!(matches!(
        ChainView(&c).locate(5),
        Some(Located::Trimmed { next_base: 11 })
    ));
    let tail = ChainView(&c).tail().unwrap();
    assert_eq!(tail.offset_of(11 + u64::from(u32::MAX)), None);
    assert_eq!(tail.offset_of(10), None);
}

#[test]
fn extending_appends_above_the_tail_replaces_at_its_base_and_conflicts_below() {
    let mut c = chain(vec![segment(1, 0)]);
    assert_eq!(chain::extend(&mut c, 11, params(1)), Ok(1));
    assert_eq!(c.segments.len(), 2);
    // The same base: the empty tail is replaced, with a higher index still.
    assert_eq!(chain::extend(&mut c, 11, params(2)), Ok(2));
    assert_eq!(
        c.segments
            .iter()
            .map(|s| (s.base_lsn, s.index))
            .collect::<Vec<_>>(),
        vec![(1, 0), (11, 2)]
    );
    assert_eq!(
        chain::extend(&mut c, 5, params(3)),
        Err(ChainError::SegmentConflict(11))
    );
    assert_eq!(chain::validate(&c), Ok(()));
}

#[test]
fn a_seal_marker_repeats_the_index_and_is_replaced_only_at_its_base() {
    let mut c = chain(vec![segment(1, 0)]);
    assert_eq!(chain::seal(&mut c, 9), Ok((9, true)));
    assert!(ChainView(&c).is_sealed());
    assert_eq!(c.segments[1].index, 0, "the marker shares the sealed index");
    assert_eq!(chain::validate(&c), Ok(()));
    // Sealing again keeps the sealed tail, whatever it is told.
    assert_eq!(chain::seal(&mut c, 20), Ok((9, false)));
    assert_eq!(
        chain::extend(&mut c, 12, params(1)),
        Err(ChainError::SegmentConflict(9))
    );
    assert_eq!(chain::extend(&mut c, 9, params(1)), Ok(1));
    assert!(!ChainView(&c).is_sealed());
    assert_eq!(
        c.segments
            .iter()
            .map(|s| (s.base_lsn, s.index))
            .collect::<Vec<_>>(),
        vec![(1, 0), (9, 1)]
    );
    // A seal at the tail's own base replaces the empty segment.
    assert_eq!(chain::seal(&mut c, 9), Ok((9, true)));
    assert_eq!(c.segments.len(), 2);
    assert_eq!(c.segments[1].provider, ProviderKind::Sealed);
    assert_eq!(
        chain::seal(&mut chain(vec![segment(5, 0)]), 3),
        Err(ChainError::SegmentConflict(5))
    );
}

#[test]
fn a_prefix_trim_keeps_the_segment_that_holds_the_point() {
    let mut c = chain(vec![segment(1, 0), segment(11, 1), segment(15, 2)]);
    assert!(!chain::trim_prefix(&mut c, 10));
    assert!(chain::trim_prefix(&mut c, 11));
    assert_eq!(c.segments[0].base_lsn, 11);
    assert!(chain::trim_prefix(&mut c, 99));
    assert_eq!(c.segments.len(), 1);
    assert!(
        !chain::trim_prefix(&mut c, 3),
        "before the chain: nothing to drop"
    );
}

#[test]
fn validate_refuses_bases_going_back_a_segment_after_the_marker_and_bad_indexes() {
    assert_eq!(chain::validate(&chain(vec![])), Err(ChainError::Empty));
    assert_eq!(
        chain::validate(&chain(vec![segment(5, 0), segment(5, 1)])),
        Err(ChainError::BaseNotIncreasing {
            position: 1,
            base: 5
        })
    );
    assert_eq!(
        chain::validate(&chain(vec![segment(0, 0)])),
        Err(ChainError::BaseNotIncreasing {
            position: 0,
            base: 0
        })
    );
    assert_eq!(
        chain::validate(&chain(vec![segment(1, 0), marker(4, 0), segment(6, 1)])),
        Err(ChainError::AfterSealMarker { position: 2 })
    );
    assert_eq!(
        chain::validate(&chain(vec![segment(1, 1), segment(4, 1)])),
        Err(ChainError::IndexNotIncreasing {
            position: 1,
            index: 1
        })
    );
    let mut no_params = segment(1, 0);
    no_params.params = None;
    assert_eq!(
        chain::validate(&chain(vec![no_params])),
        Err(ChainError::Params { position: 0 })
    );
    assert_eq!(
        chain::validate(&chain(vec![segment(1, 0), segment(4, 2), marker(9, 2)])),
        Ok(())
    );
}
