//! Seal-and-extend (Restate's `BifrostAdmin::seal_and_extend_chain`, R5): two steps that
//! are not atomic. The tail segment's loglet is sealed (or the chain already knows its
//! sealed tail), the node reports `loglet-sealed`; then the chain writer extends the chain
//! at the sealed tail, compare-and-set, and reports `chain-put`. A node that stops between
//! the two leaves the loglet sealed and the chain open (Restate #2885).

use super::{Client, LogOp, SealAndExtendOp, Seg, answer, failed};
use crate::bindings::logsandbox::node::client::{ClientError, OpId, SealAndExtend};
use crate::bindings::logsandbox::node::metadata::ReplicatedParams;
use crate::bindings::logsandbox::node::types::Lsn;
use crate::chain::ChainView;
use crate::ctx::Ctx;
use crate::metadata::cache::MetadataCache;
use crate::metadata::chain_writer::{Command, Extend};

impl Client {
    /// Seal-and-extend, step 0: wait for `min-version`, then check the tail segment and
    /// seal it (step 1), unless the chain already knows its sealed tail.
    pub(super) fn seal_and_extend(
        &mut self,
        ctx: &mut Ctx,
        metadata: &mut MetadataCache,
        op: OpId,
        request: SealAndExtend,
    ) {
        if let Some(min) = request.min_version
            && metadata.version() < min
        {
            return self.awaiting_version.push((op, min, request));
        }
        let Some(chain) = metadata.chain(request.log) else {
            return answer(ctx, op, failed(ClientError::UnknownLog(request.log)));
        };
        let view = ChainView(chain);
        let Some(tail) = view.tail() else {
            return answer(ctx, op, failed(ClientError::UnknownLog(request.log)));
        };
        if let Some(index) = request.segment_index
            && index != tail.index()
        {
            let error = ClientError::SegmentMismatch(tail.index());
            return answer(ctx, op, failed(error));
        }
        if tail.is_seal_marker() {
            // The chain knows its sealed tail: the seal is done; extend from the marker,
            // with the params of the segment it sealed.
            let params = view.segments().filter_map(|s| s.params().cloned()).last();
            let Some(params) = params else {
                let why = format!("log {} has no loglet to extend from", request.log);
                return answer(ctx, op, failed(ClientError::Unsupported(why)));
            };
            let sealing = Seg::of(&tail);
            return self.extend(ctx, metadata, op, request, sealing, &params, tail.base());
        }
        let Some(params) = tail.params().cloned() else {
            let why = format!("log {} is not on a replicated loglet", request.log);
            return answer(ctx, op, failed(ClientError::Unsupported(why)));
        };
        let sealing = Seg::of(&tail);
        self.ops.insert(
            op,
            LogOp::SealAndExtend(SealAndExtendOp {
                request,
                sealing,
                params: params.clone(),
            }),
        );
        self.loglets.seal(ctx, op, params);
    }

    /// Seal-and-extend, step 2: the loglet is sealed at `base`; the chain writer adds the
    /// new segment there (and completes the operation). The two steps are not atomic: a
    /// node that stops here leaves the loglet sealed and the chain open.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn extend(
        &mut self,
        ctx: &mut Ctx,
        metadata: &mut MetadataCache,
        op: OpId,
        request: SealAndExtend,
        sealed: Seg,
        sealed_params: &ReplicatedParams,
        base: Lsn,
    ) {
        let index = sealed.index.saturating_add(1);
        let nodeset = request
            .nodeset
            .clone()
            .unwrap_or_else(|| sealed_params.nodeset.clone());
        let replication = request.replication.unwrap_or(sealed_params.replication);
        if nodeset.is_empty() || replication == 0 || usize::from(replication) > nodeset.len() {
            let why = format!(
                "a segment of {replication} copies on {} log-servers",
                nodeset.len()
            );
            return answer(ctx, op, failed(ClientError::Malformed(why)));
        }
        // Restate's `propose_new_loglet_params`: this node sequences, the rest carries over.
        let params = ReplicatedParams {
            loglet_id: (u64::from(request.log) << 32) | u64::from(index),
            sequencer: request.sequencer.unwrap_or(ctx.shared.me),
            replication,
            nodeset,
        };
        metadata.change_chain(
            ctx,
            Command::Extend(Extend {
                op,
                log: request.log,
                expected_index: sealed.index,
                base,
                params,
            }),
        );
    }
}
