//! Random scenarios, from the key table's valid ranges: cluster sizes and write quorums,
//! latencies, reordering, the random workload with its nemesis. Whatever the mix, the host
//! carries the run out (no panic, no hang) and the unmodified guest breaks no check.

use crate::common;

use proptest::prelude::*;
use proptest::test_runner::RngSeed;

/// The seed of the scenarios drawn.
const SEED: u64 = 0x5ead_1095;

fn latency() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("0".to_string()),
        (1u32..20).prop_map(|ms| format!("{ms}ms")),
        (1u32..5, 5u32..30).prop_map(|(a, b)| format!("{a}ms..{b}ms")),
        (1u32..10).prop_map(|ms| format!("exp:{ms}ms")),
    ]
}

fn sets() -> impl Strategy<Value = Vec<String>> {
    (
        // N5 is the sequencer's node: up to four log-servers.
        1u32..5,
        0u32..6,
        latency(),
        latency(),
        latency(),
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        (20u64..120, 1u32..6),
    )
        .prop_map(
            |(servers, r, network, store, storage, reorder, crashes, partitions, (ops, procs))| {
                let replication = 1 + r % servers;
                vec![
                    format!("cluster.log_servers={servers}"),
                    format!("cluster.replication={replication}"),
                    format!("latency.network=\"{network}\""),
                    format!("latency.metadata_store=\"{store}\""),
                    format!("latency.storage=\"{storage}\""),
                    format!("latency.reorder={reorder}"),
                    format!("workload.crashes={crashes}"),
                    format!("workload.partitions={partitions}"),
                    format!("workload.ops={ops}"),
                    format!("workload.processes={procs}"),
                ]
            },
        )
}

proptest! {
    // A fixed seed: the same 64 scenarios on every run, so CI is reproducible; change SEED
    // to explore others.
    #![proptest_config(ProptestConfig {
        cases: 64,
        rng_seed: RngSeed::Fixed(SEED),
        ..ProptestConfig::default()
    })]

    #[test]
    fn any_valid_scenario_runs_and_the_guest_passes(sets in sets(), seed in 0u64..1000) {
        let sets: Vec<&str> = sets.iter().map(String::as_str).collect();
        let report = common::run("random-ops", Some(seed), &sets);
        prop_assert!(report.client_ops > 0, "{sets:?}: no client operation ran");
        let broken: Vec<&str> = report
            .checks
            .iter()
            .filter(|c| !c.pass)
            .map(|c| c.name.as_str())
            .collect();
        prop_assert!(broken.is_empty(), "{sets:?} seed {seed}: {broken:?}\n{}", report.render("(test)"));
        // Under a nemesis that cuts a small cluster every few hundred milliseconds, appends
        // back off (up to 60 s a wave) and the workload may not finish in time: liveness,
        // not safety. Without one, it must.
        let nemesis = sets.contains(&"workload.crashes=true") || sets.contains(&"workload.partitions=true");
        let ran_out = report
            .error
            .as_deref()
            .is_some_and(|e| e.contains("run.time_limit"));
        prop_assert!(
            report.passed() || (nemesis && ran_out),
            "{sets:?} seed {seed}:\n{}",
            report.render("(test)")
        );
    }
}

/// Scenarios this test found failing, kept as plain cases: a read through a trim in flight
/// (seed 840), and a remote seal that settled on one node of two (seed 129).
#[test]
fn the_scenarios_it_found_stay_fixed() {
    let cases: [(u64, &[&str]); 2] = [
        (
            840,
            &[
                "cluster.log_servers=4",
                "cluster.replication=2",
                "latency.network=0",
                "latency.metadata_store=12ms",
                "latency.storage=2ms..29ms",
                "workload.crashes=true",
                "workload.partitions=false",
                "workload.ops=75",
                "workload.processes=5",
            ],
        ),
        (
            129,
            &[
                "cluster.log_servers=2",
                "cluster.replication=2",
                "latency.network=exp:8ms",
                "latency.metadata_store=11ms",
                "latency.storage=18ms",
                "workload.crashes=true",
                "workload.partitions=true",
                "workload.ops=40",
                "workload.processes=5",
            ],
        ),
    ];
    for (seed, sets) in cases {
        let report = common::run("random-ops", Some(seed), sets);
        assert!(report.passed(), "seed {seed}: {}", report.render("(test)"));
    }
}
