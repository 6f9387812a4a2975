//! One slow log-server: where do the sequencer's commits come from?
//!
//! The links between the sequencer N5 and N3 take 100 ms each way; the others 1-3 ms. A
//! write quorum is 2 copies, so every append must commit on N1 and N2 without waiting
//! for N3: each takes a few milliseconds, far below N3's round trip. N3 still gets every
//! record, later: its reported local tail catches up once the appends stop.
//!
//! Run it with `cargo run --example slow_link`.

use logsandbox::{MetadataKind, Op, OpResult, Route, Sandbox, ms};

fn main() -> Result<(), logsandbox::Error> {
    let mut sb = Sandbox::builder()
        .client(5)
        .seed(5)
        .install_logs(1)
        .latency(Route::link(5, 3), "100ms")
        .latency(Route::link(3, 5), "100ms")
        .build()?;
    sb.start(5)?;
    let ready = sb.invoke(5, Op::WaitForMetadata(MetadataKind::Logs, 1));
    sb.run_until_done(ready)?;

    let mut slowest = ms(0);
    let mut last_offset = 0;
    for i in 0..50 {
        let op = sb.invoke(5, Op::append(0, format!("record-{i}")));
        let OpResult::Appended(offset) = sb.run_until_done(op)? else {
            panic!("append {i} failed");
        };
        let record = sb.op(op).expect("invoked");
        let took = record
            .completed_at()
            .expect("completed")
            .since(record.invoked);
        slowest = slowest.max(took);
        last_offset = offset;
        // N3 cannot have answered this store yet: its reply alone takes 100 ms.
        assert!(took < ms(100), "append {i} took {took:?}: it waited for N3");
    }
    let n3_replies_while_appending = sb.link_stats(3, 5).sent;
    let fast_replies = sb.link_stats(1, 5).sent.min(sb.link_stats(2, 5).sent);
    assert!(n3_replies_while_appending < fast_replies);

    // N3 took every record, later.
    sb.run_for(ms(500))?;
    for node in [1, 2, 3] {
        let report = sb
            .node(node)
            .loglet(0)
            .expect("every log-server reported loglet 0_0");
        // Loglet 0_0 is the first segment: its offsets are the LSNs.
        assert_eq!(u64::from(report.local_tail), last_offset + 1, "N{node}");
    }
    println!(
        "50 appends, the slowest in {slowest:?}: every commit came from N1 and N2 (N3 had sent {n3_replies_while_appending} replies by then, N1/N2 at least {fast_replies}); N3 caught up to tail {}",
        last_offset + 1
    );
    Ok(())
}
