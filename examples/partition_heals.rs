//! A partition that heals while appends are in flight: nothing acknowledged is lost.
//!
//! The sequencer N5 appends concurrently. At 300 ms it is cut off from N1 and N2, so a
//! write quorum (2 copies) is out of reach and appends wait; at 600 ms the partition
//! heals and they complete. Every acknowledged record must then read back with its
//! payload, and every standard check must hold.
//!
//! Run it with `cargo run --example partition_heals`.

use logsandbox::{ChainTail, Fault, LogTail, MetadataKind, Op, OpResult, Sandbox, SimTime, ms};

fn main() -> Result<(), logsandbox::Error> {
    let mut sb = Sandbox::builder()
        .client(5)
        .seed(11)
        .install_logs(1)
        .build()?;
    sb.start(5)?;
    let ready = sb.invoke(5, Op::WaitForMetadata(MetadataKind::Logs, 1));
    sb.run_until_done(ready)?;

    let cut = SimTime::from_millis(300);
    let heal = SimTime::from_millis(600);
    for server in [1, 2] {
        sb.schedule(
            cut,
            Fault::Partition {
                from: 5.into(),
                to: server.into(),
                both_ways: true,
                until: Some(heal),
            },
        );
    }
    // Ten appends every 20 ms, from before the cut until after the heal.
    let mut appends = Vec::new();
    for round in 0..40 {
        for i in 0..10 {
            let payload = format!("round-{round}-{i}");
            appends.push((sb.invoke(5, Op::append(0, payload.clone())), payload));
        }
        sb.run_for(ms(20))?;
    }
    let in_flight_at_heal = appends
        .iter()
        .filter(|(op, _)| {
            let record = sb.op(*op).expect("invoked");
            record.invoked < heal && record.completed_at().is_none_or(|t| t >= heal)
        })
        .count();
    assert!(
        in_flight_at_heal > 0,
        "some appends waited out the partition"
    );

    let mut acked = Vec::new();
    for (op, payload) in &appends {
        match sb.run_until_done(*op)? {
            OpResult::Appended(offset) => acked.push((offset, payload.clone())),
            other => panic!("append {payload}: {other:?}"),
        }
    }
    let find = sb.invoke(5, Op::FindTail(0));
    let OpResult::Tail(ChainTail {
        tail: LogTail::Open(tail),
        ..
    }) = sb.run_until_done(find)?
    else {
        panic!("the log stays open");
    };
    let read = sb.invoke(5, Op::Read(0, 1, tail));
    let OpResult::Records(records) = sb.run_until_done(read)? else {
        panic!("the read returns records");
    };
    for (offset, payload) in &acked {
        let found = records.iter().find(|r| r.lsn == *offset);
        assert_eq!(
            found.map(|r| r.payload.as_slice()),
            Some(payload.as_bytes()),
            "acknowledged offset {offset} is lost"
        );
    }
    for check in sb.check() {
        assert!(check.pass, "{}: {}", check.name, check.detail);
    }
    println!(
        "{} appends acknowledged ({in_flight_at_heal} waited out the partition), all {} read back; trace {}",
        acked.len(),
        records.len(),
        &sb.trace_hash()[..16]
    );
    Ok(())
}
