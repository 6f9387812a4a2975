//! One call to the metadata store, as Restate's metadata client makes it: a request,
//! sent again after a backoff while the caller says so, and given up when no answer
//! comes within `store_request_timeout` (a lost request or answer, a dead connection),
//! which the caller then treats as a retryable failure. Late answers to a request given
//! up are ignored: each try has its own id.

use crate::bindings::logsandbox::node::metadata::{MetadataValue, Precondition};
use crate::bindings::logsandbox::node::types::RequestId;
use crate::ctx::{Ctx, Part};
use crate::metadata::LOGS_KEY;
use crate::settings::Settings;

/// A delay that grows x1.5 up to a cap, from the settings' metadata backoff.
#[derive(Debug, Clone)]
pub struct Backoff {
    next: u64,
    initial: u64,
    max: u64,
}

impl Backoff {
    /// A backoff from `metadata_fetch_backoff_initial` up to `metadata_fetch_backoff_max`.
    pub fn new(settings: &Settings) -> Self {
        let initial = settings.metadata_fetch_backoff_initial;
        Backoff {
            next: initial,
            initial,
            max: settings.metadata_fetch_backoff_max.max(initial),
        }
    }

    /// The delay to wait now; the next one is half as long again, up to the cap.
    pub fn next_delay(&mut self) -> u64 {
        let delay = self.next;
        self.next = (self.next.saturating_mul(3) / 2).min(self.max);
        delay
    }

    /// Back to the initial delay, for a read that starts over.
    pub fn reset(&mut self) {
        self.next = self.initial;
    }
}

/// What a call asks the store for, on the Logs key.
#[derive(Debug, Clone)]
pub enum Ask {
    /// Read the stored Logs.
    Get,
    /// Write a Logs value, if the precondition holds.
    Put(MetadataValue, Precondition),
}

/// What one of the node's timers meant to a call.
#[derive(Debug, PartialEq, Eq)]
pub enum CallTimer {
    /// Not one of this call's current timers: another owner's, or a stale one.
    NotMine,
    /// The pause before the next try is over: the request went out again.
    Resent,
    /// No answer in time: the caller treats it as a retryable failure.
    TimedOut,
}

/// A call in flight: a request on the wire (with its deadline), or a pause between tries.
#[derive(Debug)]
pub struct StoreCall {
    ask: Ask,
    request: Option<RequestId>,
    deadline: Option<u64>,
    sleep: Option<u64>,
    /// The backoff between tries after a retryable failure.
    pub retry: Backoff,
}

impl StoreCall {
    /// Sends the first try.
    pub fn start(ctx: &mut Ctx, ask: Ask) -> StoreCall {
        let mut call = StoreCall {
            ask,
            request: None,
            deadline: None,
            sleep: None,
            retry: Backoff::new(&ctx.shared.settings),
        };
        call.send(ctx);
        call
    }

    fn send(&mut self, ctx: &mut Ctx) {
        let id = ctx.id(Part::Metadata);
        match &self.ask {
            Ask::Get => ctx.env.metadata_get(id, LOGS_KEY),
            Ask::Put(value, precondition) => {
                ctx.env
                    .metadata_put(id, LOGS_KEY, value.clone(), *precondition)
            }
        }
        self.request = Some(id);
        let timeout = ctx.shared.settings.metadata_store_request_timeout;
        self.deadline = Some(ctx.timer(Part::Metadata, timeout));
    }

    /// Whether `id` answers this call's current try; if so the try is over.
    pub fn answers(&mut self, id: RequestId) -> bool {
        if self.request != Some(id) {
            return false;
        }
        self.request = None;
        self.deadline = None;
        true
    }

    /// Tries again after `delay`.
    pub fn again_after(&mut self, ctx: &mut Ctx, delay: u64) {
        self.sleep = Some(ctx.timer(Part::Metadata, delay));
    }

    /// What timer `id` means to this call: the pause is over (the request goes out again),
    /// the deadline passed, or neither.
    pub fn on_timer(&mut self, ctx: &mut Ctx, id: u64) -> CallTimer {
        if self.sleep == Some(id) {
            self.sleep = None;
            self.send(ctx);
            return CallTimer::Resent;
        }
        if self.deadline == Some(id) {
            self.deadline = None;
            self.request = None;
            return CallTimer::TimedOut;
        }
        CallTimer::NotMine
    }
}
