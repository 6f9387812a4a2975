//! `messages.svg`: a Lamport diagram of a run, drawn from its [`Journal`].
//!
//! A lane per node, one for the metadata store (and one for the test harness when it
//! wrote); time runs down. Every message, store request and answer is an arrow from its
//! send to its delivery, labelled by kind; a lost one ends in a cross, a held one is
//! dotted. Starts, crashes, operations, seals and metadata values taken or dropped are
//! marks on their lane; the failing operation and the causal chain that led to it
//! ([`explain`](super::explain)) are drawn in red. Rows follow the journal's order (a
//! Lamport order consistent with virtual time), so instants crowded with events stay
//! readable; long runs are cut to a window (around the failure by default).
//!
//! Every arrow and mark carries `data-*` attributes (kind, lanes, virtual ns, op) so a
//! program can read the picture back.

use std::collections::BTreeSet;
use std::fmt::Write;

use crate::record::journal::{Entry, Fate, FlightId, Journal, Lane, MarkKind};
use crate::show::text::short_ids;
use crate::time::fmt_duration;

/// The most rows one picture draws.
pub const MAX_ROWS: usize = 600;

const LANE_W: usize = 170;
const LEFT: usize = 96;
const TOP: usize = 64;
const ROW: usize = 18;

/// Which entries of the journal a picture shows: `from..to` (positions in the journal).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// The first entry shown.
    pub from: usize,
    /// One past the last entry shown.
    pub to: usize,
}

impl Window {
    /// Up to [`MAX_ROWS`] entries around `entry`: most before it (what led there), some
    /// after (what came next).
    pub fn around(journal: &Journal, entry: usize) -> Window {
        let len = journal.entries.len();
        let from = entry.saturating_sub(MAX_ROWS * 3 / 4);
        let to = (from + MAX_ROWS).min(len);
        Window {
            from: to.saturating_sub(MAX_ROWS).min(from),
            to,
        }
    }

    /// The entries between two virtual instants (ns, inclusive), up to [`MAX_ROWS`] from
    /// the first.
    pub fn between(journal: &Journal, from_ns: u64, to_ns: u64) -> Window {
        let from = journal.entries.partition_point(|(t, _)| *t < from_ns);
        let end = journal.entries.partition_point(|(t, _)| *t <= to_ns);
        Window {
            from,
            to: end.min(from + MAX_ROWS),
        }
    }

    /// The whole journal, or its first [`MAX_ROWS`] entries.
    pub fn start(journal: &Journal) -> Window {
        Window {
            from: 0,
            to: journal.entries.len().min(MAX_ROWS),
        }
    }
}

/// What to draw in red: the failing operation's mark and its causal chain.
#[derive(Debug, Clone, Default)]
pub struct Highlight {
    /// Flights of the chain.
    pub flights: BTreeSet<FlightId>,
    /// Marks of the chain (indices).
    pub marks: BTreeSet<u32>,
    /// The failing operation's completion mark.
    pub failing: Option<u32>,
}

/// The SVG text of `journal` within `window`, titled `title`.
pub fn render(journal: &Journal, window: Window, highlight: &Highlight, title: &str) -> String {
    let lanes = journal.lanes();
    let lane_x = |lane: Lane| -> usize {
        let i = lanes.iter().position(|l| *l == lane).unwrap_or(0);
        LEFT + LANE_W / 2 + i * LANE_W
    };
    let shown = &journal.entries[window.from.min(window.to)..window.to];
    let rows = shown.len().max(1);
    let width = LEFT + lanes.len().max(1) * LANE_W + 220;
    let height = TOP + rows * ROW + 40;
    let row_y = |entry: usize| -> usize { TOP + (entry - window.from) * ROW + ROW / 2 };
    let top_y = TOP - 6;
    let bottom_y = TOP + rows * ROW + 6;

    let mut svg = String::new();
    let _ = writeln!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" font-family="DejaVu Sans Mono, Menlo, Consolas, monospace" font-size="11">"#
    );
    svg += STYLE;
    let _ = writeln!(
        svg,
        r#"<rect width="100%" height="100%" fill="white"/><text class="title" x="8" y="18">{}</text>"#,
        escape(title)
    );
    let (t0, t1) = match (shown.first(), shown.last()) {
        (Some((a, _)), Some((b, _))) => (*a, *b),
        _ => (0, 0),
    };
    let _ = writeln!(
        svg,
        r#"<text class="window" x="8" y="34" data-from-entry="{}" data-to-entry="{}" data-entries="{}">entries {}..{} of {}, {} to {}{}</text>"#,
        window.from,
        window.to,
        journal.entries.len(),
        window.from,
        window.to,
        journal.entries.len(),
        fmt_duration(t0),
        fmt_duration(t1),
        if journal.truncated {
            " (the journal stopped growing at its limit)"
        } else {
            ""
        }
    );

    // Lanes.
    for lane in &lanes {
        let x = lane_x(*lane);
        let _ = writeln!(
            svg,
            r#"<g class="lane" data-lane="{lane}"><text class="lane-name" x="{x}" y="{}" text-anchor="middle">{lane}</text><line class="lane-line" x1="{x}" y1="{top_y}" x2="{x}" y2="{bottom_y}"/></g>"#,
            TOP - 14
        );
    }

    // Time labels, where time moves on.
    let mut last_t = None;
    for (k, (t, _)) in shown.iter().enumerate() {
        if last_t != Some(*t) {
            let _ = writeln!(
                svg,
                r#"<text class="time" x="{}" y="{}" text-anchor="end">{}</text>"#,
                LEFT - 8,
                TOP + k * ROW + ROW / 2 + 4,
                fmt_duration(*t)
            );
            last_t = Some(*t);
        }
    }

    // Arrows: every flight sent, delivered or lost within the window.
    let mut drawn = BTreeSet::new();
    for (_, entry) in shown {
        let id = match entry {
            Entry::Send(id) | Entry::Deliver(id) | Entry::Lose(id) => *id,
            _ => continue,
        };
        if !drawn.insert(id) {
            continue;
        }
        let f = journal.flight(id);
        let (x1, x2) = (lane_x(f.from), lane_x(f.to));
        let y1 = if f.sent_at >= window.from {
            row_y(f.sent_at)
        } else {
            top_y
        };
        let (y2, end, fate, class) = match &f.fate {
            Fate::Delivered { at, entry } => {
                let y = if *entry < window.to {
                    row_y(*entry)
                } else {
                    bottom_y
                };
                (y, *at, "delivered", "delivered")
            }
            Fate::Lost { at, entry, .. } => {
                let y = if *entry < window.to {
                    row_y(*entry)
                } else {
                    bottom_y
                };
                (y, *at, "lost", "lost")
            }
            Fate::InFlight => (bottom_y, 0, "in-flight", "in-flight"),
        };
        // A lost message stops halfway, where the cross is.
        let (ex, ey) = if fate == "lost" {
            ((x1 + x2) / 2, (y1 + y2) / 2)
        } else {
            (x2, y2)
        };
        let mut classes = format!("flight {class} k-{}", kind_class(&f.kind));
        if f.held {
            classes += " held";
        }
        if highlight.flights.contains(&id) {
            classes += " cause";
        }
        let delivered_attr = match &f.fate {
            Fate::Delivered { .. } => format!(r#" data-delivered-ns="{end}""#),
            Fate::Lost { .. } => format!(r#" data-lost-ns="{end}""#),
            Fate::InFlight => String::new(),
        };
        let request = f
            .request
            .map(|r| format!(r#" data-request="{r}""#))
            .unwrap_or_default();
        let version = f
            .logs_version
            .map(|v| format!(r#" data-logs-version="{v}""#))
            .unwrap_or_default();
        let when = match &f.fate {
            Fate::Delivered { at, .. } => format!(
                "sent {}, delivered {}",
                fmt_duration(f.sent),
                fmt_duration(*at)
            ),
            Fate::Lost { at, why, .. } => format!(
                "sent {}, lost {} ({why})",
                fmt_duration(f.sent),
                fmt_duration(*at)
            ),
            Fate::InFlight => format!("sent {}, not delivered", fmt_duration(f.sent)),
        };
        let _ = write!(
            svg,
            r#"<g class="{classes}" data-id="{id}" data-kind="{}" data-from="{}" data-to="{}" data-sent-ns="{}"{delivered_attr}{request}{version}><title>{} -&gt; {}: {} ({when})</title><line x1="{x1}" y1="{y1}" x2="{ex}" y2="{ey}" marker-end="url(#{})"/>"#,
            escape(&f.kind),
            f.from,
            f.to,
            f.sent,
            f.from,
            f.to,
            escape(&f.label),
            if fate == "lost" { "cross" } else { "arrow" }
        );
        // The label sits on the arrow, near its sender, so crossing arrows stay apart.
        let quarter = |a: usize, b: usize| (a as i64 + (b as i64 - a as i64) / 4).max(0);
        let (lx, ly) = (quarter(x1, ex), quarter(y1, ey));
        let _ = writeln!(
            svg,
            r#"<text class="flight-label" x="{lx}" y="{}" text-anchor="middle">{}</text></g>"#,
            ly - 3,
            escape(&short(&short_ids(&f.label), 30))
        );
    }

    // Marks.
    for (k, (_, entry)) in shown.iter().enumerate() {
        let Entry::Mark(index) = entry else { continue };
        let m = &journal.marks[*index as usize];
        let x = lane_x(m.lane);
        let y = TOP + k * ROW + ROW / 2;
        let mut classes = format!("mark {}", mark_class(m.kind));
        if highlight.marks.contains(index) {
            classes += " cause";
        }
        if highlight.failing == Some(*index) {
            classes += " failing-op";
        }
        let op =
            m.op.map(|o| format!(r#" data-op="{o}""#))
                .unwrap_or_default();
        let shape = match m.kind {
            MarkKind::Crash | MarkKind::Failed | MarkKind::OpLost => format!(
                r#"<path d="M{} {} l8 8 m0 -8 l-8 8" class="x"/>"#,
                x - 4,
                y - 4
            ),
            MarkKind::Taken | MarkKind::Dropped => format!(
                r#"<rect x="{}" y="{}" width="8" height="8" transform="rotate(45 {x} {y})"/>"#,
                x - 4,
                y - 4
            ),
            _ => format!(r#"<circle cx="{x}" cy="{y}" r="4"/>"#),
        };
        let _ = writeln!(
            svg,
            r#"<g class="{classes}" data-lane="{}" data-kind="{}" data-at-ns="{}"{op}><title>{} {}: {}</title>{shape}<text x="{}" y="{}">{}</text></g>"#,
            m.lane,
            mark_class(m.kind),
            m.at,
            fmt_duration(m.at),
            m.lane,
            escape(&m.label),
            x + 8,
            y + 4,
            escape(&short(&m.label, 44))
        );
    }
    svg += "</svg>\n";
    svg
}

fn short(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut s: String = text.chars().take(max - 1).collect();
    s.push('…');
    s
}

/// The class of an arrow, by kind: what colours it.
fn kind_class(kind: &str) -> &'static str {
    match kind {
        "GetMetadata" | "MetadataUpdate" => "metadata",
        "get" | "put" | "answer" => "store",
        "hello" | "hello-ack" => "hello",
        "Store" | "Stored" => "append",
        "Seal" | "Sealed" => "seal",
        "GetSequencerState" | "SequencerState" => "sequencer",
        _ => "loglet",
    }
}

fn mark_class(kind: MarkKind) -> &'static str {
    match kind {
        MarkKind::Start => "start",
        MarkKind::Crash => "crash",
        MarkKind::Wipe => "wipe",
        MarkKind::Invoke => "invoke",
        MarkKind::Complete => "complete",
        MarkKind::Failed => "failed",
        MarkKind::OpLost => "op-lost",
        MarkKind::Sealed => "sealed",
        MarkKind::Taken => "taken",
        MarkKind::Dropped => "dropped",
        MarkKind::Fault => "fault",
    }
}

/// Text made safe inside an SVG element or attribute.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out += "&amp;",
            '<' => out += "&lt;",
            '>' => out += "&gt;",
            '"' => out += "&quot;",
            '\'' => out += "&apos;",
            c if c.is_control() => out.extend(c.escape_default()),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = r##"<defs>
<marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerUnits="userSpaceOnUse" markerWidth="9" markerHeight="9" orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="context-stroke"/></marker>
<marker id="cross" viewBox="0 0 10 10" refX="5" refY="5" markerUnits="userSpaceOnUse" markerWidth="10" markerHeight="10"><path d="M0 0 L10 10 M10 0 L0 10" stroke="#c00" stroke-width="2"/></marker>
<style>
.title { font-size: 14px; font-weight: bold; }
.window, .time { fill: #666; }
.lane-name { font-weight: bold; font-size: 12px; }
.lane-line { stroke: #bbb; stroke-width: 1; }
.flight line { stroke-width: 1.2; }
.flight-label { font-size: 9px; fill: #333; }
.k-metadata line { stroke: #7b3fb5; }
.k-store line { stroke: #138a8a; }
.k-hello line { stroke: #bbb; }
.k-append line { stroke: #2a62c9; }
.k-seal line { stroke: #d9822b; }
.k-sequencer line { stroke: #8a6d3b; }
.k-loglet line { stroke: #555; }
.lost line { stroke-dasharray: 4 3; }
.held line { stroke-dasharray: 1 3; }
.in-flight line { stroke-dasharray: 6 2; opacity: 0.6; }
.mark circle, .mark rect { fill: #fff; stroke: #333; }
.mark text { fill: #222; }
.mark.taken rect { fill: #7b3fb5; }
.mark.dropped rect { fill: #fff; stroke: #7b3fb5; }
.mark .x { stroke: #c00; stroke-width: 2; }
.mark.sealed circle { fill: #d9822b; }
.mark.start circle { fill: #3a3; }
.mark.fault circle { fill: #fc3; }
.cause line { stroke: #d00 !important; stroke-width: 2.6; }
.cause text { fill: #b00; font-weight: bold; }
.mark.cause rect, .mark.cause circle { stroke: #d00; stroke-width: 2.5; }
.failing-op text { fill: #d00; font-weight: bold; }
</style>
</defs>
"##;
