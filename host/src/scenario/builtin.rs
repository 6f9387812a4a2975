//! The built-in scenarios, one story each, named without a path.

/// The built-in scenarios, by name: (name, file text).
pub const BUILTIN: &[(&str, &str)] = &[
    (
        "append-after-seal-concurrent",
        include_str!("../../../scenarios/append-after-seal-concurrent.toml"),
    ),
    (
        "append-seal-basic",
        include_str!("../../../scenarios/append-seal-basic.toml"),
    ),
    (
        "append-seal-reordered",
        include_str!("../../../scenarios/append-seal-reordered.toml"),
    ),
    (
        "election-race",
        include_str!("../../../scenarios/election-race.toml"),
    ),
    (
        "partition-then-loss",
        include_str!("../../../scenarios/partition-then-loss.toml"),
    ),
    (
        "passive-wait",
        include_str!("../../../scenarios/passive-wait.toml"),
    ),
    (
        "provision-during-outage",
        include_str!("../../../scenarios/provision-during-outage.toml"),
    ),
    (
        "random-ops",
        include_str!("../../../scenarios/random-ops.toml"),
    ),
    (
        "remote-seal",
        include_str!("../../../scenarios/remote-seal.toml"),
    ),
    (
        "same-version-race",
        include_str!("../../../scenarios/same-version-race.toml"),
    ),
    (
        "sealed-tail-after-cut",
        include_str!("../../../scenarios/sealed-tail-after-cut.toml"),
    ),
    (
        "seal-extend-2885",
        include_str!("../../../scenarios/seal-extend-2885.toml"),
    ),
    (
        "seal-extend-2885-fixed",
        include_str!("../../../scenarios/seal-extend-2885-fixed.toml"),
    ),
    (
        "seal-extend-race",
        include_str!("../../../scenarios/seal-extend-race.toml"),
    ),
    (
        "seed-race-script",
        include_str!("../../../scenarios/seed-race-script.toml"),
    ),
    (
        "seed-race-script-fixed",
        include_str!("../../../scenarios/seed-race-script-fixed.toml"),
    ),
    (
        "slow-store-fixed",
        include_str!("../../../scenarios/slow-store-fixed.toml"),
    ),
    (
        "store-4523",
        include_str!("../../../scenarios/store-4523.toml"),
    ),
    (
        "store-4523-fixed",
        include_str!("../../../scenarios/store-4523-fixed.toml"),
    ),
];

/// The names of the built-in scenarios.
pub fn builtin_names() -> Vec<String> {
    BUILTIN.iter().map(|(n, _)| n.to_string()).collect()
}
