//! The node around its parts: a log-server part of one's own replaces the built-in one,
//! and the node keeps routing everything else to the built-in parts.

use super::LOGLET;
use crate::bindings::exports::logsandbox::node::node::{Config, Event, Roles};
use crate::bindings::logsandbox::node::log_server_protocol::{
    Reply, ReplyHeader, Request, RequestHeader, Store, StoreFlags,
};
use crate::bindings::logsandbox::node::messages::{Body, Message};
use crate::bindings::logsandbox::node::metadata::MetadataKind;
use crate::bindings::logsandbox::node::types::Status;
use crate::env::testing::{Effect, MemEnv};
use crate::node::Node;

/// A log-server part of an author's own: it answers every request `malformed` at once and
/// remembers what it was asked. The node around it stays the built-in one.
#[derive(Default)]
struct Refusing {
    asked: Vec<(u32, u64)>,
    recovered: bool,
}

impl crate::node::LogServerPart for Refusing {
    fn recover(&mut self, _ctx: &mut crate::node::Ctx) -> Result<(), String> {
        self.recovered = true;
        Ok(())
    }
    fn on_request(&mut self, ctx: &mut crate::node::Ctx, from: u32, id: u64, _request: Request) {
        self.asked.push((from, id));
        let header = ReplyHeader {
            local_tail: 1,
            known_global_tail: 1,
            sealed: false,
            status: Status::Malformed,
        };
        ctx.send(from, Body::LogServerReply((id, Reply::Stored(header))));
    }
    fn on_durable(&mut self, _ctx: &mut crate::node::Ctx, _write: u64) {}
}

#[test]
fn a_log_server_part_of_ones_own_replaces_the_built_in_one_and_keeps_the_rest() {
    let config = Config {
        id: 1,
        roles: Roles::LOG_SERVER,
        members: vec![1, 2],
        seed: 1,
        settings: Vec::new(),
    };
    let mut env = MemEnv::default();
    let mut node =
        Node::with_log_server(Refusing::default(), 0, config, &mut env).expect("init succeeds");
    env.take();
    let message = |body| Message {
        versions: Vec::new(),
        body,
    };
    let store = Request::Store(Store {
        header: RequestHeader {
            loglet_id: LOGLET,
            known_global_tail: 1,
        },
        first_offset: 1,
        sequencer: 2,
        flags: StoreFlags::empty(),
        timeout_at: None,
        payloads: vec![b"x".to_vec()],
    });
    let events = vec![
        Event::Message((2, message(Body::LogServerRequest((7, store))))),
        Event::Message((2, message(Body::Hello))),
        Event::Message((2, message(Body::GetMetadata((8, MetadataKind::Logs, 1))))),
    ];
    node.handle(1, events, &mut env);
    let sent: Vec<Body> = env
        .take()
        .into_iter()
        .filter_map(|e| match e {
            Effect::Send(2, msg) => Some(msg.body),
            _ => None,
        })
        .collect();
    // The request went to the part of one's own, and no write was made for it...
    assert!(matches!(
        &sent[0],
        Body::LogServerReply((7, Reply::Stored(h))) if h.status == Status::Malformed
    ));
    assert!(env.pending_writes.is_empty());
    // ...while the hello and the metadata request were answered by the built-in node.
    assert!(sent.iter().any(|b| matches!(b, Body::HelloAck)), "{sent:?}");
    assert!(
        sent.iter()
            .any(|b| matches!(b, Body::MetadataUpdate((8, None)))),
        "{sent:?}"
    );
}
