//! The figures that matter, measured through the wasm guest:
//! - delivered events per wall-second for the basic scenario (criterion's throughput;
//!   the event count is fixed by the seed, so the figure compares across changes);
//! - the time to restart a crashed log-server: a fresh instance, and `init` recovering
//!   its loglet from a redb file that holds thousands of records.

use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use logsandbox::bindings::{Config, Roles};
use logsandbox::runtime::{Component, Limits};
use logsandbox::storage::NodeStorage;
use logsandbox::{Sandbox, scenario};

fn basic_scenario(c: &mut Criterion) {
    let scenario = scenario::load("append-seal-basic", &[]).expect("the built-in scenario loads");
    // `LOGSANDBOX_BENCH_GUEST=FILE` measures another component on every node (an older
    // build of the guest, to compare a refactor side by side in one session).
    let runtime = match std::env::var_os("LOGSANDBOX_BENCH_GUEST") {
        Some(path) => Arc::new(Component::from_file(path.as_ref()).expect("the bench guest loads")),
        None => Component::builtin().expect("the built-in guest loads"),
    };
    let run = || {
        Sandbox::from_scenario(&scenario)
            .seed(7)
            .component(runtime.clone())
            .build()
            .expect("the sandbox is built")
            .run()
            .expect("the run is carried out")
    };
    let events = run().events;
    let mut group = c.benchmark_group("simulation");
    group.sample_size(10);
    group.throughput(Throughput::Elements(events));
    group.bench_function("append-seal-basic events", |b| {
        b.iter(|| {
            let report = run();
            assert!(report.passed());
            report.events
        })
    });
    group.finish();
}

fn restart_a_log_server(c: &mut Criterion) {
    // A real database: N1's file after a run of the basic scenario.
    let dir = std::env::temp_dir().join(format!("logsandbox-bench-{}", std::process::id()));
    let scenario = scenario::load("append-seal-basic", &[]).expect("the built-in scenario loads");
    let runtime = Component::builtin().expect("the built-in guest loads");
    let report = Sandbox::from_scenario(&scenario)
        .out_dir(&dir)
        .build()
        .expect("the sandbox is built")
        .run()
        .expect("the run is carried out");
    assert!(report.passed());
    let path = dir.join("n1.redb");
    let config = Config {
        id: 1,
        roles: Roles::LOG_SERVER,
        members: scenario.config.cluster.node_ids(),
        seed: 1,
        settings: Vec::new(),
    };
    let clock = Arc::new(AtomicU64::new(0));
    let mut storage = Some(NodeStorage::file(&path).expect("the database opens"));
    c.bench_function(
        "restart a log-server holding 4,000 records (instantiate + init)",
        |b| {
            b.iter(|| {
                let db = storage.take().expect("handed back after each iteration");
                let mut node = match runtime.instantiate(1, db, clock.clone(), Limits::default()) {
                    Ok(node) => node,
                    Err(failed) => panic!("instantiate: {}", failed.0),
                };
                node.init(0, &config).expect("init recovers");
                storage = Some(node.into_storage());
            })
        },
    );
    drop(storage);
    let _ = std::fs::remove_dir_all(&dir);
}

criterion_group!(benches, basic_scenario, restart_a_log_server);
criterion_main!(benches);
