//! A log with no replication must not pass. The `list-on-client` test guest keeps each log
//! in a list on the client node: its answers are consistent, so the checks that read the
//! history pass it, and only the log-servers' databases show that nothing was replicated.

use crate::common;

use std::sync::Arc;

use logsandbox::OpResult;
use logsandbox::runtime::{Component, test_guests};
use logsandbox::scenario::builtin_names;

#[test]
fn a_guest_that_keeps_the_log_on_the_client_fails_durability_in_every_scenario_that_appends() {
    let cheat = Arc::new(Component::load("list-on-client", test_guests::LIST_ON_CLIENT).unwrap());
    let mut appending = 0;
    for name in builtin_names() {
        let report = common::run_with(&name, None, &[], cheat.clone(), None);
        let acks = report
            .history
            .ops()
            .filter(|o| matches!(o.result(), Some(OpResult::Appended(_))))
            .count();
        if acks == 0 {
            continue;
        }
        appending += 1;
        let durable = report
            .checks
            .iter()
            .find(|c| c.name == "acknowledged_durable")
            .unwrap_or_else(|| panic!("{name}: no durability check in {:?}", report.checks));
        if durable.detail == "no acknowledged record to look for" {
            // Every record acknowledged was trimmed (the trim races' stories).
            assert!(name.starts_with("trim-"), "{name}: {}", durable.detail);
            continue;
        }
        assert!(!durable.pass, "{name}: {}", durable.detail);
        assert!(
            durable
                .detail
                .contains("durable on fewer than 2 log-servers"),
            "{name}: {}",
            durable.detail
        );
        assert!(!report.passed(), "{name}");
    }
    assert!(appending >= 6, "{appending} built-in scenarios appended");
}
