//! The guest's WASI clocks are the simulation's: `now` reads the node's virtual clock, and
//! a sleep (`subscribe-duration`, `subscribe-instant`) is ready at once. Virtual time does
//! not pass inside a call, so a guest that sleeps wakes at the same instant; it can never
//! block the host on real time (wasmtime's own subscriptions sleep on the machine's clock,
//! and wait forever for a deadline past the end of time).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use wasmtime::StoreContextMut;
use wasmtime::component::{Linker, Resource};
use wasmtime_wasi::p2::{DynPollable, Pollable, subscribe};

use super::state::NodeState;

/// The WASI version whose monotonic clock the linker serves.
const MONOTONIC_CLOCK: &str = "wasi:clocks/monotonic-clock@0.2.12";

/// WASI clocks that read the simulation's virtual clock, never the machine's.
pub struct VirtualClock(pub Arc<AtomicU64>);

impl wasmtime_wasi::HostWallClock for VirtualClock {
    fn resolution(&self) -> Duration {
        Duration::from_nanos(1)
    }
    fn now(&self) -> Duration {
        Duration::from_nanos(self.0.load(Ordering::Relaxed))
    }
}

impl wasmtime_wasi::HostMonotonicClock for VirtualClock {
    fn resolution(&self) -> u64 {
        1
    }
    fn now(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// A pollable that is ready at once.
struct Ready;

#[async_trait::async_trait]
impl Pollable for Ready {
    async fn ready(&mut self) {}
}

fn ready_now(mut store: StoreContextMut<'_, NodeState>) -> wasmtime::Result<Resource<DynPollable>> {
    let table = store.data_mut().table();
    let ready = table.push(Ready)?;
    subscribe(table, ready)
}

/// Replaces the monotonic clock's subscriptions in `linker` (which already holds WASI's)
/// with ones that are ready at once.
pub fn add_virtual_sleeps(linker: &mut Linker<NodeState>) -> wasmtime::Result<()> {
    linker.allow_shadowing(true);
    let mut clock = linker.instance(MONOTONIC_CLOCK)?;
    clock.func_wrap(
        "subscribe-duration",
        |store: StoreContextMut<'_, NodeState>, (_duration,): (u64,)| Ok((ready_now(store)?,)),
    )?;
    clock.func_wrap(
        "subscribe-instant",
        |store: StoreContextMut<'_, NodeState>, (_when,): (u64,)| Ok((ready_now(store)?,)),
    )?;
    linker.allow_shadowing(false);
    Ok(())
}
