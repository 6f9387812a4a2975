//! Which named race a failing run is: each failing check, with the race points the run
//! reached, maps to the races that fail that check through that point. `explore` lists
//! its failing seeds by race, and a failure nothing names as "unclassified": the one to
//! look at.
//!
//! | failing check | race point reached | race |
//! |---|---|---|
//! | `reads_after_trim` | `trim-clamped-to-zero` | #5377 (a fresh client's trim clamped to nothing) |
//! | `reads_after_trim` | `trim-acked-at-quorum` | #3890 (a trim done at a write quorum) |
//! | a step's expectation, `liveness_after_heal` | `holding-for-segment`, and `loglet-sealed` more often than `chain-put` | #2885 (a seal with no extension; appenders hold) |
//! | a step's expectation, `liveness_after_heal` | `maybe-sealed` | #4940 (an out-of-band seal found late) |
//! | `reads_see_acknowledged`, `no_holes_below_tail`, `reads_contiguous` | `drain-started` | own-tail publish (a record read from a write quorum, then cut off by the sequencer's own tail; `sequencer.publish`) |
//! | `reads_see_acknowledged`, `no_holes_below_tail`, `reads_contiguous`, `tails_monotonic`, `reads_after_trim` | `stale-seal-marker` (the host's own note) | stale seal marker (a node trusts a cached seal marker the chain has moved past, and reads, finds tails and clamps trims by it; `bifrost.sealed_chain`) |
//!
//! A run that stopped at an error is named by the error: `unknown log '0'` is #3265 (two
//! Logs values of one version), a put of the Logs given up after one try is #4523 (a
//! retryable store error taken as terminal), a workload that never finished while appends
//! held for a segment is #2885 (a sealed tail nobody extends, `wait` appenders).

/// How often each race point was reached, by name.
pub type Reached<'a> = std::collections::BTreeMap<&'a str, u64>;

/// One row of the table: the checks it names (a name, or a prefix ending in `:`), what
/// the run must have reached, and the race.
struct Rule {
    checks: &'static [&'static str],
    reached: fn(&Reached) -> bool,
    race: &'static str,
}

fn count(reached: &Reached, point: &str) -> u64 {
    reached.get(point).copied().unwrap_or(0)
}

const RULES: &[Rule] = &[
    Rule {
        checks: &["reads_after_trim"],
        reached: |r| count(r, "trim-clamped-to-zero") > 0,
        race: "#5377",
    },
    Rule {
        checks: &["reads_after_trim"],
        reached: |r| count(r, "trim-acked-at-quorum") > 0,
        race: "#3890",
    },
    // A seal-and-extend that sealed a loglet and never put the chain: the partial seal.
    Rule {
        checks: &["expect:", "liveness_after_heal"],
        reached: |r| {
            count(r, "holding-for-segment") > 0 && count(r, "loglet-sealed") > count(r, "chain-put")
        },
        race: "#2885",
    },
    Rule {
        checks: &["expect:", "liveness_after_heal"],
        reached: |r| count(r, "maybe-sealed") > 0,
        race: "#4940",
    },
    Rule {
        checks: &[
            "reads_see_acknowledged",
            "no_holes_below_tail",
            "reads_contiguous",
        ],
        reached: |r| count(r, "drain-started") > 0,
        race: "own-tail publish",
    },
    Rule {
        checks: &[
            "reads_see_acknowledged",
            "no_holes_below_tail",
            "reads_contiguous",
            "tails_monotonic",
            "reads_after_trim",
        ],
        reached: |r| count(r, crate::sim::STALE_SEAL_MARKER) > 0,
        race: "stale seal marker",
    },
];

/// What names the failure of one check (the races that may have failed it), or nothing.
fn races_of(check: &str, reached: &Reached) -> Vec<&'static str> {
    RULES
        .iter()
        .filter(|r| {
            r.checks.iter().any(|c| match c.ends_with(':') {
                true => check.starts_with(c),
                false => check == *c,
            })
        })
        .filter(|r| (r.reached)(reached))
        .map(|r| r.race)
        .collect()
}

/// The race a run's error names, if one does.
fn race_of_error(error: &str, reached: &Reached) -> Option<&'static str> {
    if error.contains("did not finish") && reached.contains_key("holding-for-segment") {
        Some("#2885")
    } else if error.contains("unknown log") {
        Some("#3265")
    } else if error.contains("put of the Logs failed after 1 try") {
        Some("#4523")
    } else {
        None
    }
}

/// The races a failing run may be, from its error, its failing checks and the race
/// points it reached: "unclassified" when the error or one failing check is named by no
/// race.
pub fn classify(error: Option<&str>, failing: &[&str], reached: &Reached) -> Vec<&'static str> {
    if let Some(error) = error {
        return vec![race_of_error(error, reached).unwrap_or("unclassified")];
    }
    let mut races = Vec::new();
    let mut unnamed = failing.is_empty();
    for check in failing {
        let named = races_of(check, reached);
        unnamed |= named.is_empty();
        for race in named {
            if !races.contains(&race) {
                races.push(race);
            }
        }
    }
    if unnamed {
        races.push("unclassified");
    }
    races
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reached<'a>(points: &[(&'a str, u64)]) -> Reached<'a> {
        points.iter().copied().collect()
    }

    #[test]
    fn a_failing_check_is_named_by_the_race_points_the_run_reached() {
        let trims = reached(&[("trim-clamped-to-zero", 1), ("drain-started", 2)]);
        assert_eq!(classify(None, &["reads_after_trim"], &trims), vec!["#5377"]);
        let both = reached(&[("trim-acked-at-quorum", 1), ("trim-clamped-to-zero", 1)]);
        assert_eq!(
            classify(None, &["reads_after_trim"], &both),
            vec!["#5377", "#3890"]
        );
        // A seal-and-extend that put its chain is no partial seal: #4940, not #2885.
        let late = reached(&[
            ("maybe-sealed", 1),
            ("loglet-sealed", 1),
            ("chain-put", 1),
            ("holding-for-segment", 1),
        ]);
        assert_eq!(
            classify(None, &["expect:append-after-seal"], &late),
            vec!["#4940"]
        );
        let partial = reached(&[("loglet-sealed", 1), ("holding-for-segment", 1)]);
        assert_eq!(
            classify(None, &["liveness_after_heal"], &partial),
            vec!["#2885"]
        );
        // The host's own note of an answer from a stale seal marker names that race.
        let stale = reached(&[("stale-seal-marker", 2)]);
        assert_eq!(
            classify(None, &["reads_after_trim", "tails_monotonic"], &stale),
            vec!["stale seal marker"]
        );
        // Without its race point a failure is not that race; with no rule at all, or a
        // run that failed with an error, it is unclassified.
        assert_eq!(
            classify(None, &["reads_after_trim"], &Reached::new()),
            vec!["unclassified"]
        );
        let drained = reached(&[("drain-started", 1)]);
        assert_eq!(
            classify(
                None,
                &["reads_see_acknowledged", "acknowledged_durable"],
                &drained
            ),
            vec!["own-tail publish", "unclassified"]
        );
        assert_eq!(classify(None, &[], &drained), vec!["unclassified"]);
        assert_eq!(
            classify(Some("unknown log '0'"), &["expect:step-4"], &drained),
            vec!["#3265"]
        );
        assert_eq!(
            classify(Some("a guest trapped"), &[], &drained),
            vec!["unclassified"]
        );
        let holding = reached(&[("holding-for-segment", 3)]);
        let stuck = "the workload did not finish within 60s of virtual time (run.time_limit)";
        assert_eq!(classify(Some(stuck), &[], &holding), vec!["#2885"]);
        assert_eq!(classify(Some(stuck), &[], &drained), vec!["unclassified"]);
    }
}
