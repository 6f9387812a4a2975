//! Virtual time: nanoseconds since the run started, as the host hands it in.

/// One microsecond, in the nanoseconds of [`crate::bindings::logsandbox::node::types::SimTime`].
pub const MICROS: u64 = 1_000;
/// One millisecond in nanoseconds.
pub const MILLIS: u64 = 1_000_000;
/// One second in nanoseconds.
pub const SECONDS: u64 = 1_000_000_000;

/// Formats nanoseconds for diagnostics, e.g. `12.345ms`.
pub fn fmt_ns(ns: u64) -> String {
    if ns >= SECONDS {
        format!("{:.3}s", ns as f64 / SECONDS as f64)
    } else if ns >= MILLIS {
        format!("{:.3}ms", ns as f64 / MILLIS as f64)
    } else {
        format!("{}us", ns / MICROS)
    }
}
