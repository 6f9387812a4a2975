//! The `metadata.*` rules: the node learns the Logs, answers GetMetadata for them, and
//! learns and carries a newer version it sees in a header.

use super::answers::loglet_info;
use crate::bindings::{Body, MetadataKind};
use crate::conform::rig::{Broken, PEER, Rig};

/// Asks the node for the Logs at `min` or newer, as peer N3; the version it answers (0
/// for none).
fn get_metadata(rig: &mut Rig, min: u32) -> Result<u32, Broken> {
    let id = rig.next_id();
    let text = format!("N3 -> N1 GetMetadata Logs >= v{min}");
    let before = rig.metadata_answers.len();
    rig.send_body(
        PEER,
        Body::GetMetadata((id, MetadataKind::Logs, min)),
        &text,
    )?;
    let answers: Vec<_> = rig.metadata_answers[before..]
        .iter()
        .filter(|(answer, _)| *answer == id)
        .collect();
    match answers.as_slice() {
        [(_, version)] => Ok(*version),
        [] => Err(Broken::new(
            &text,
            "no MetadataUpdate",
            "a MetadataUpdate with the same id",
        )),
        more => Err(Broken::new(
            &text,
            format!("{} MetadataUpdates", more.len()),
            "exactly one MetadataUpdate",
        )),
    }
}

/// Asks for the Logs at `min` or newer, as [`get_metadata`] does, and holds the version
/// answered to `version` (0: none), or names `request` (what led there), the version
/// answered and `expected`.
fn logs_answered(
    rig: &mut Rig,
    min: u32,
    version: u32,
    request: &str,
    expected: &str,
) -> Result<(), Broken> {
    let held = get_metadata(rig, min)?;
    if held == version {
        return Ok(());
    }
    // Where a version is due, say what 0 means.
    let answer = match version {
        0 => format!("answered v{held}"),
        _ => format!("answered v{held} (0: none)"),
    };
    Err(Broken::new(request, answer, expected))
}

/// Lets 15 s pass (`doing` says what for): the node reads the Logs within it.
fn let_15_s_pass(rig: &mut Rig, doing: &str) -> Result<(), Broken> {
    rig.advance(15_000_000_000, doing)
}

/// `metadata.serves-peers`: see [`RULES`](super::RULES).
pub(super) fn serves_peers(rig: &mut Rig) -> Result<(), Broken> {
    let_15_s_pass(rig, "let 15 s pass, for the node to read the Logs")?;
    logs_answered(
        rig,
        2,
        2,
        "N3 -> N1 GetMetadata Logs >= v2, 15 s after start",
        "Logs v2, which the store has held since the start",
    )?;
    logs_answered(
        rig,
        3,
        0,
        "N3 -> N1 GetMetadata Logs >= v3",
        "none: N1 holds no v3",
    )
}

/// `metadata.learns-newer-version`: see [`RULES`](super::RULES).
pub(super) fn learns_newer(rig: &mut Rig) -> Result<(), Broken> {
    let_15_s_pass(rig, "let 15 s pass, for the node to read the Logs")?;
    rig.publish_logs(3);
    // A request whose header carries Logs v3.
    loglet_info(rig, 1)?;
    let_15_s_pass(rig, "let 15 s pass after N1 saw Logs v3 in a header")?;
    logs_answered(
        rig,
        3,
        3,
        "N3 -> N1 GetLogletInfo carrying Logs v3; 15 s; GetMetadata Logs >= v3",
        "Logs v3: a newer version seen in a header is fetched",
    )?;
    let (sent, _, _) = loglet_info(rig, 1)?;
    let carried = rig
        .last_versions
        .iter()
        .find(|v| v.kind == MetadataKind::Logs)
        .map(|v| v.version);
    if carried != Some(3) {
        return Err(Broken::new(
            &sent.text,
            format!("the reply carried Logs {carried:?}"),
            "the reply carrying Logs v3 in its versions",
        ));
    }
    Ok(())
}
