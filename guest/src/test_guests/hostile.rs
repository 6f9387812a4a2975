//! A hostile guest, compiled in only for the `hostile` test guest: one node (setting
//! `hostile.node`, default 2) misbehaves in the way `hostile.kind` names, from virtual
//! time `hostile.at_ms` (default 5) on. The host must take that node down alone, and name
//! it, or stop the run and name it; never panic, hang or grow without bound.

use std::time::Duration;

use crate::bindings::exports::logsandbox::node::node::{Config, Event};
use crate::bindings::logsandbox::node::client::{ChainTail, LogTail, Op, OpResult, ReadRecord};
use crate::bindings::logsandbox::node::host::Level;
use crate::bindings::logsandbox::node::log_server_protocol::{
    Request, RequestHeader, Store, StoreFlags,
};
use crate::bindings::logsandbox::node::messages::{Body, Message};
use crate::bindings::logsandbox::node::metadata::{Logs, MetadataValue, Precondition};
use crate::bindings::logsandbox::node::storage::WriteOp;
use crate::bindings::logsandbox::node::types::NodeId;
use crate::bindings::logsandbox::node::types::SimTime;
use crate::env::Env;
use crate::time::MILLIS;

/// Every way a hostile node can misbehave.
pub const KINDS: &[&str] = &[
    "trap",
    "spin",
    "memory",
    "flood",
    "flood-spread",
    "big-message",
    "huge-log",
    "timer-loop",
    "write-flood",
    "bad-peer",
    "bad-complete",
    "effects-after-reject",
    "timer-far",
    "empty-store",
    "sleep",
    "print-panic",
    "tail-max",
    "tail-zero",
    "records-edge",
    "store-flood",
];

/// The misbehaviour of the hostile node: its kind, the instant it starts, and the ids it
/// makes.
pub struct Hostile {
    kind: String,
    at: SimTime,
    fired: bool,
    next_id: u64,
}

impl Hostile {
    /// The hostile behaviour this node has, if any.
    pub fn from_config(config: &Config) -> Option<Hostile> {
        let setting = |key: &str| {
            config
                .settings
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.clone())
        };
        let kind = setting("hostile.kind")?;
        let node: NodeId = setting("hostile.node")
            .and_then(|v| v.parse().ok())
            .unwrap_or(2);
        let at_ms: u64 = setting("hostile.at_ms")
            .and_then(|v| v.parse().ok())
            .unwrap_or(5);
        (node == config.id).then_some(Hostile {
            kind,
            at: at_ms * MILLIS,
            fired: false,
            next_id: 0,
        })
    }

    fn id(&mut self) -> u64 {
        self.next_id += 1;
        (7 << 56) | self.next_id
    }

    /// Misbehaves, if it is time; true when the events were taken over and must not be
    /// handled as usual.
    pub fn attack(
        &mut self,
        now: SimTime,
        me: NodeId,
        events: &[Event],
        env: &mut dyn Env,
    ) -> bool {
        if now < self.at {
            return false;
        }
        let first = !self.fired;
        self.fired = true;
        let peer = if me == 1 { 3 } else { 1 };
        let hello = || Message {
            versions: vec![],
            body: Body::Hello,
        };
        match self.kind.as_str() {
            "trap" => panic!("hostile N{me}: a panic on purpose"),
            "spin" => {
                let mut x: u64 = 0;
                loop {
                    x = std::hint::black_box(x.wrapping_add(1));
                }
            }
            "memory" => {
                let mut hoard: Vec<Vec<u8>> = Vec::new();
                loop {
                    hoard.push(vec![1; 1 << 20]);
                    std::hint::black_box(&hoard);
                }
            }
            "flood" => {
                for _ in 0..10_000_000u32 {
                    env.send(peer, hello());
                }
            }
            "flood-spread" => {
                // Under the per-call cap, again every millisecond: the victim must not drown.
                for _ in 0..20_000u32 {
                    env.send(peer, hello());
                }
                let timer = self.id();
                env.set_timer(timer, now + MILLIS);
            }
            "big-message" if first => env.send(
                peer,
                Message {
                    versions: vec![],
                    body: Body::LogServerRequest((1, store(1, vec![vec![7; 100 << 20]]))),
                },
            ),
            "huge-log" if first => env.log(Level::Info, &"x".repeat(80 << 20)),
            "timer-loop" => {
                let id = self.id();
                env.set_timer(id, now);
            }
            "write-flood" => {
                let id = self.id();
                env.write(
                    id,
                    vec![WriteOp {
                        key: format!("hoard-{id}").into_bytes(),
                        value: Some(vec![9; 4 << 20]),
                    }],
                );
                let timer = self.id();
                env.set_timer(timer, now + MILLIS);
            }
            "store-flood" => {
                for _ in 0..1000 {
                    let id = self.id();
                    env.metadata_get(id, "bifrost_config");
                }
                let timer = self.id();
                env.set_timer(timer, now + MILLIS);
            }
            "bad-peer" if first => env.send(999, hello()),
            "bad-complete" if first => env.complete(987_654_321, OpResult::Appended(1)),
            "effects-after-reject" if first => {
                env.complete(987_654_321, OpResult::Appended(1));
                let logs = MetadataValue::Logs(Logs {
                    version: 99,
                    chains: vec![],
                });
                env.metadata_put(1, "bifrost_config", logs, Precondition::None);
            }
            "timer-far" if first => {
                let (a, b) = (self.id(), self.id());
                env.set_timer(a, u64::MAX);
                env.set_timer(b, 0);
            }
            "empty-store" if first => env.send(
                peer,
                Message {
                    versions: vec![],
                    body: Body::LogServerRequest((1, store(0, vec![]))),
                },
            ),
            "sleep" if first => std::thread::sleep(Duration::from_secs(3600)),
            "print-panic" => {
                eprintln!("hostile N{me}: about to give up");
                panic!("hostile N{me} gives up");
            }
            // A client that lies, with offsets at the edges of the offset space.
            "tail-max" | "tail-zero" | "records-edge" => {
                let edge: u64 = if self.kind == "tail-zero" {
                    0
                } else {
                    u64::MAX
                };
                let mut took = false;
                for event in events {
                    if let Event::ClientRequest((op, request)) = event {
                        let lie = match request {
                            Op::Append(_) => OpResult::Appended(edge),
                            Op::FindTail(_) => OpResult::Tail(ChainTail {
                                segment_index: u32::MAX,
                                tail: LogTail::Open(edge),
                            }),
                            Op::Seal(_) | Op::SealAndExtend(_) => OpResult::Sealed(ChainTail {
                                segment_index: u32::MAX,
                                tail: LogTail::Sealed(edge),
                            }),
                            Op::Trim(_) => OpResult::Trimmed(edge),
                            Op::Read(_) => OpResult::Records(
                                [u64::MAX, 0, u64::MAX, 1]
                                    .into_iter()
                                    .map(|lsn| ReadRecord {
                                        lsn,
                                        payload: vec![0xff, 0],
                                    })
                                    .collect(),
                            ),
                            Op::WaitForMetadata(_) => continue,
                        };
                        env.complete(*op, lie);
                        took = true;
                    }
                }
                return took;
            }
            _ => {}
        }
        false
    }
}

fn store(first_offset: u32, payloads: Vec<Vec<u8>>) -> Request {
    Request::Store(Store {
        header: RequestHeader {
            loglet_id: 0,
            known_global_tail: first_offset,
        },
        first_offset,
        sequencer: 5,
        flags: StoreFlags::empty(),
        timeout_at: None,
        payloads,
    })
}
