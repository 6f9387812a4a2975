//! Restate's `unknown log '0'` race, reproduced and fixed from Rust.
//!
//! N1 provisions an empty Logs at v1. The test writes its own Logs (log 0 on loglet
//! `0_0`), also at v1, with precondition None. The client N5 starts; its metadata-store
//! read (200 ms each way) races a peer's answer (1-3 ms). It takes the peer's empty v1,
//! the store's v1 is "not newer", and find-tail fails with `unknown log '0'`. As fixed,
//! the test writes v1336 and waits for exactly that version.
//!
//! Run it with `cargo run --example seed_race`.

use logsandbox::op::describe_result;
use logsandbox::{
    ChainTail, ClientError, MetadataKind, Op, OpResult, Precondition, Route, Sandbox, Source,
    Version, ms,
};

/// One run of the test body; returns what find-tail said and where N5's Logs came from.
fn run(version: Version, seed: u64) -> Result<(OpResult, Source), logsandbox::Error> {
    let mut sb = Sandbox::builder()
        .log_servers(3)
        .client(5)
        .seed(seed)
        .provision_empty_logs()
        .latency(Route::MetadataStore, "200ms")
        .latency(Route::PeerMetadata, "1ms..3ms")
        .build()?;
    sb.run_for(ms(2000))?;
    let logs = sb.logs_with_log_0(version);
    sb.metadata()
        .put(logs, Precondition::None)
        .expect("precondition None always holds");
    sb.start(5)?;
    let ready = sb.invoke(5, Op::WaitForMetadata(MetadataKind::Logs, version));
    sb.run_until_done(ready)?;
    let find = sb.invoke(5, Op::FindTail(0));
    let tail = sb.run_until_done(find)?;
    let source = sb.node(5).cached_logs().expect("N5 cached a Logs").source;
    Ok((tail, source))
}

fn main() -> Result<(), logsandbox::Error> {
    for seed in 1..=5 {
        let (flaky, flaky_source) = run(1, seed)?;
        assert_eq!(flaky, OpResult::Failed(ClientError::UnknownLog(0)));
        assert!(matches!(flaky_source, Source::Peer(_)));
        let (fixed, fixed_source) = run(1336, seed)?;
        assert_eq!(fixed, OpResult::Tail(ChainTail::open(1)));
        assert_eq!(fixed_source, Source::Store);
        println!(
            "seed {seed}: at v1, N5's Logs came from {flaky_source:?} and find-tail {}; at v1336, from {fixed_source:?}: {}",
            describe_result(&flaky),
            describe_result(&fixed)
        );
    }
    println!("the race reproduced on every seed, and the fix held on every seed");
    Ok(())
}
