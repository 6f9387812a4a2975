//! An audited log-server: the built-in log-server part behind a type of its own, which
//! counts the requests it serves per kind and logs the tally at every seal. Everything
//! else in the node (the hello handshake, the metadata cache and its peer fetches, the
//! sequencer and client roles) is the built-in guest's.
//!
//! It shows the seam a Rust author replaces: implement [`LogServerPart`] (here by
//! wrapping [`LogServer`]; a log-server of your own would keep its own loglets), and
//! export the node with [`logsandbox_guest::export_node!`].

use std::collections::BTreeMap;

use logsandbox_guest::bindings::logsandbox::node::host::Level;
use logsandbox_guest::bindings::logsandbox::node::log_server_protocol::Request;
use logsandbox_guest::bindings::logsandbox::node::types::{NodeId, RequestId};
use logsandbox_guest::log_server::LogServer;
use logsandbox_guest::node::{Ctx, LogServerPart};

/// The built-in log-server, audited.
#[derive(Default)]
pub struct AuditedLogServer {
    inner: LogServer,
    /// Requests served per kind. A `BTreeMap`, so the tally prints in one order every run.
    served: BTreeMap<&'static str, u64>,
}

impl LogServerPart for AuditedLogServer {
    fn recover(&mut self, ctx: &mut Ctx) -> Result<(), String> {
        LogServerPart::recover(&mut self.inner, ctx)
    }

    fn on_request(&mut self, ctx: &mut Ctx, from: NodeId, id: RequestId, request: Request) {
        let kind = match &request {
            Request::Store(_) => "store",
            Request::Seal(_) => "seal",
            Request::GetLogletInfo(_) => "get-loglet-info",
            Request::GetRecords(_) => "get-records",
            Request::Trim(_) => "trim",
            Request::WaitForTail(_) => "wait-for-tail",
            Request::GetDigest(_) => "get-digest",
        };
        *self.served.entry(kind).or_default() += 1;
        if kind == "seal" {
            let tally: Vec<String> = self
                .served
                .iter()
                .map(|(k, n)| format!("{k} {n}"))
                .collect();
            ctx.log(Level::Info, &format!("audit: served {}", tally.join(", ")));
        }
        LogServerPart::on_request(&mut self.inner, ctx, from, id, request);
    }

    fn on_durable(&mut self, ctx: &mut Ctx, write: u64) {
        LogServerPart::on_durable(&mut self.inner, ctx, write);
    }

    fn on_timer(&mut self, ctx: &mut Ctx, timer: u64) {
        LogServerPart::on_timer(&mut self.inner, ctx, timer);
    }
}

logsandbox_guest::export_node!(AuditedLogServer);
