//! The timeline: the trace's text as people read it. One line per event, with its virtual
//! time and node; short ids; colour on a terminal; a compact mode that hides the chatter
//! (timers, hellos, debug lines) and keeps what changes the story.

use std::fmt::Write;

use crate::record::trace::TraceRecord;
use crate::show::text::one_line;

// `short_ids` moved to the leaf `text.rs` (the diagram and `explain` use it too); its old
// path, `logsandbox::timeline::short_ids`, still works for a turn.
pub use crate::show::text::short_ids;

/// How to print a timeline.
#[derive(Debug, Clone, Default)]
pub struct Timeline {
    /// Only lines that mention this text, or whose node it names (`N5`); all when empty.
    pub filter: String,
    /// Hide the chatter: timers, hellos, debug lines.
    pub compact: bool,
    /// ANSI colours (for a terminal).
    pub colour: bool,
}

impl Timeline {
    /// Every line, plain.
    pub fn plain(filter: &str) -> Timeline {
        Timeline {
            filter: filter.to_string(),
            ..Timeline::default()
        }
    }

    /// The lines of `records`, as this timeline shows them.
    pub fn render(&self, records: &[TraceRecord]) -> String {
        let mut out = String::new();
        for r in records {
            if !self.shows(r) {
                continue;
            }
            let node = if r.node == 0 {
                "--".to_string()
            } else {
                format!("N{}", r.node)
            };
            let what = short_ids(&one_line(&r.what));
            let time = crate::time::fmt_duration(r.t);
            if self.colour {
                let _ = writeln!(
                    out,
                    "\x1b[2m{time:>10}\x1b[0m  \x1b[{}m{node:<3}\x1b[0m {}",
                    node_colour(r.node),
                    paint(&what)
                );
            } else {
                let _ = writeln!(out, "{time:>10}  {node:<3} {what}");
            }
        }
        out
    }

    fn shows(&self, r: &TraceRecord) -> bool {
        if self.compact && is_chatter(&r.what) {
            return false;
        }
        self.filter.is_empty()
            || format!("N{}", r.node) == self.filter
            || r.what.contains(&self.filter)
            || short_ids(&r.what).contains(&self.filter)
    }
}

/// Lines that repeat without changing the story: timers, hellos, debug logs.
pub(crate) fn is_chatter(what: &str) -> bool {
    what.starts_with("timer #")
        || what.starts_with("debug: ")
        || what.ends_with(": hello")
        || what.ends_with(": hello-ack")
        || what.starts_with("write #")
}

fn node_colour(node: u32) -> u8 {
    match node {
        0 => 37,
        n => [36, 32, 33, 34, 35, 96, 92, 93][(n as usize - 1) % 8],
    }
}

/// Red for failures and crashes, magenta for the metadata cache, bold for operations.
fn paint(what: &str) -> String {
    let code = if what.contains("failed") || what.contains("crashed") || what.contains("lost") {
        "31"
    } else if what.starts_with("caches ") || what.starts_with("drops ") {
        "35"
    } else if what.starts_with("op ") || what.starts_with("client op") {
        "1"
    } else {
        return what.to_string();
    };
    format!("\x1b[{code}m{what}\x1b[0m")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(t: u64, node: u32, what: &str) -> TraceRecord {
        TraceRecord {
            t,
            node,
            what: what.into(),
        }
    }

    #[test]
    fn the_compact_timeline_hides_the_chatter_and_keeps_the_story() {
        let records = [
            record(1, 5, "timer #300000000000003"),
            record(2, 5, "<- N1: hello-ack"),
            record(3, 5, "caches Logs v1 from peer N1: empty"),
            record(4, 5, "debug: reading the Logs"),
            record(5, 5, "op #2 (main) completes: failed: unknown log '0'"),
        ];
        let compact = Timeline {
            compact: true,
            ..Timeline::default()
        }
        .render(&records);
        assert_eq!(compact.lines().count(), 2, "{compact}");
        assert!(compact.contains("caches Logs v1") && compact.contains("unknown log"));
        assert_eq!(Timeline::plain("").render(&records).lines().count(), 5);
        let coloured = Timeline {
            colour: true,
            ..Timeline::default()
        }
        .render(&records);
        assert!(coloured.contains("\x1b[31mop #2"), "{coloured}");
    }
}
