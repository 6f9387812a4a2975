//! Delivered events per wall-second for the basic scenario, through the wasm guest.
//!
//! `cargo bench -p logsandbox` reports time per run and, through criterion's throughput,
//! events per second. The run's event count is fixed by the seed, so the figure compares
//! across changes.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use logsandbox::runtime::Runtime;
use logsandbox::scenario;
use logsandbox::sim::{self, RunOptions};

fn basic_scenario(c: &mut Criterion) {
    let scenario = scenario::load("append-seal-basic", &[]).expect("the built-in scenario loads");
    let options = RunOptions {
        seed: Some(7),
        out_dir: None,
        ..RunOptions::new(Runtime::builtin().expect("the built-in guest loads"))
    };
    let events = sim::run(&scenario, &options)
        .expect("the run is carried out")
        .events;
    let mut group = c.benchmark_group("simulation");
    group.sample_size(10);
    group.throughput(Throughput::Elements(events));
    group.bench_function("append-seal-basic events", |b| {
        b.iter(|| {
            let report = sim::run(&scenario, &options).expect("the run is carried out");
            assert!(report.passed());
            report.events
        })
    });
    group.finish();
}

criterion_group!(benches, basic_scenario);
criterion_main!(benches);
