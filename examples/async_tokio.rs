//! The sandbox under tokio: tasks await operations while virtual time runs, and a third
//! task crashes a log-server at a chosen virtual instant. Nothing sleeps for real, and
//! the same program gives the same trace hash every time (on a current-thread runtime).
//!
//! Run it with `cargo run --example async_tokio`.

use logsandbox::{AsyncSandbox, MetadataKind, Op, OpResult, Sandbox, ms};

async fn scenario(seed: u64) -> Result<(String, usize), logsandbox::Error> {
    let sb = AsyncSandbox::new(
        Sandbox::builder()
            .client(5)
            .seed(seed)
            .install_logs(1)
            .build()?,
    );
    sb.with(|sb| sb.start(5))?;
    sb.call(5, Op::WaitForMetadata(MetadataKind::Logs, 1))
        .await?;

    let appender = |name: &'static str| {
        let sb = sb.clone();
        async move {
            let mut offsets = Vec::new();
            for i in 0..20 {
                match sb.call(5, Op::append(0, format!("{name}-{i}"))).await? {
                    OpResult::Appended(o) => offsets.push(o),
                    other => panic!("{name}-{i}: {other:?}"),
                }
            }
            Ok::<_, logsandbox::Error>(offsets)
        }
    };
    let nemesis = {
        let sb = sb.clone();
        async move {
            sb.sleep(ms(30)).await?;
            sb.with(|sb| sb.crash(2))?;
            sb.sleep(ms(30)).await?;
            sb.with(|sb| sb.restart(2))?;
            Ok::<_, logsandbox::Error>(())
        }
    };
    let (a, b, ()) = tokio::try_join!(appender("a"), appender("b"), nemesis)?;
    let mut all: Vec<u64> = a.iter().chain(&b).copied().collect();
    all.sort();
    all.dedup();
    assert_eq!(all.len(), 40, "every append got its own LSN");
    let checks = sb.with(|sb| sb.check());
    assert!(checks.iter().all(|c| c.pass), "{checks:#?}");
    Ok((sb.with(|sb| sb.trace_hash()), all.len()))
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), logsandbox::Error> {
    let wall = std::time::Instant::now();
    let (first, appends) = scenario(3).await?;
    let (second, _) = scenario(3).await?;
    assert_eq!(first, second, "the same program gives the same trace");
    println!(
        "{appends} appends from two tasks while a third crashed and restarted N2; same trace twice ({}), {:?} of wall time",
        &first[..16],
        wall.elapsed()
    );
    Ok(())
}
