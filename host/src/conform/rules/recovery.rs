//! The `recovery.*` rules: what a crash and restart keep (records, seal, trim point,
//! pinned sequencer) and what they lose (writes not yet durable).

use super::answers::{
    ask_records, ask_stored, ask_trimmed, local_tail_is, loglet_info, read_of, sealed_durably,
    stored_durably,
};
use super::requests::{records, store, store_of};
use crate::bindings::Status;
use crate::bindings::logsandbox::node::log_server_protocol::StoreFlags;
use crate::conform::rig::{Broken, PEER, Rig, SEQUENCER};

/// `recovery.durable-state`: see [`RULES`](super::RULES).
pub(super) fn durable_state(rig: &mut Rig) -> Result<(), Broken> {
    stored_durably(rig, 1, 3)?;
    ask_trimmed(rig, 1, Status::Ok)?;
    sealed_durably(rig)?;
    rig.crash();
    rig.restart()?;
    let (sent, h, trim_point) = loglet_info(rig, 1)?;
    let ok = h.local_tail == 4 && h.sealed && trim_point == 1 && h.known_global_tail >= 2;
    if !ok {
        return Err(Broken::new(
            &sent.text,
            format!(
                "local tail {}, gt {}, sealed {}, trim point {trim_point}",
                h.local_tail, h.known_global_tail, h.sealed
            ),
            "local tail 4, gt >= 2, sealed, trim point 1, as before the crash",
        ));
    }
    ask_stored(rig, SEQUENCER, store(4, 1), Status::Sealed)?;
    ask_records(
        rig,
        records(1, 3, None),
        |_| true,
        &read_of(Some(1), &[2, 3]),
        "a trim gap at 1, then records 2, 3",
    )?;
    // The pinned sequencer survives too (a repair store naming another is refused).
    let other = store_of(4, 1, 1, PEER, StoreFlags::IGNORE_SEAL);
    ask_stored(rig, PEER, other, Status::SequencerMismatch).map(drop)
}

/// `recovery.lost-writes`: see [`RULES`](super::RULES).
pub(super) fn lost_writes(rig: &mut Rig) -> Result<(), Broken> {
    stored_durably(rig, 1, 2)?;
    rig.send(SEQUENCER, store(3, 2))?;
    rig.crash();
    rig.restart()?;
    let expected = "local tail 3: records 3..4 were not durable when N1 crashed";
    local_tail_is(rig, 3, expected)?;
    ask_records(
        rig,
        records(1, 10, None),
        |_| true,
        &read_of(None, &[1, 2]),
        "records 1, 2 only",
    )?;
    let h = stored_durably(rig, 3, 2)?;
    if h.local_tail != 5 {
        return Err(Broken::new(
            "N2 -> N1 Store 0_0 [3..4] again",
            format!("local tail {}", h.local_tail),
            "local tail 5",
        ));
    }
    Ok(())
}
