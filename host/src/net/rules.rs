//! The fault seam: every envelope is judged by an ordered list of [`Rule`]s; the first
//! that does not pass decides ([`Verdict`]): deliver after a delay, drop, or hold. When
//! every rule passes, the envelope is delivered at once.
//!
//! The order is by kind, then newest first: faults (cuts and holds, and rules of your
//! own), then latencies of one link, then latencies of a path class (peer metadata,
//! metadata store, storage), then the network's latency. So a link's latency beats the
//! network's whatever the order they were set in, and a new latency of a path replaces
//! the old one. Scenario keys, faults and the handle's calls all compile to these rules.

use std::fmt;

use super::envelope::{Endpoint, Envelope};
use crate::latency::Latency;
use crate::seeds::SimRng;
use crate::time::SimTime;

/// What a rule decides for an envelope.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// No opinion: the next rule decides.
    Pass,
    /// Deliver after this many nanoseconds.
    Delay(u64),
    /// Lose it. A commit cannot be lost without its node crashing: a dropped commit is
    /// held instead, as a hung disk.
    Drop,
    /// Keep it until the link is released; then it is judged again, and delivered in order.
    Hold,
}

/// A rule of the fault seam. Implement it to inject faults of your own
/// (see [`crate::Sandbox::add_rule`]).
pub trait Rule: Send {
    /// Judges one envelope at `now`. Latency rules draw from `rng`, the generator of the
    /// envelope's class (network, metadata store or storage), so runs stay deterministic.
    fn judge(&mut self, envelope: &Envelope<'_>, now: SimTime, rng: &mut SimRng) -> Verdict;

    /// One line for traces: `N5 -> N1 cut until 2s`.
    fn describe(&self) -> String;

    /// The rule no longer applies at `now`; it is then removed.
    fn expired(&self, _now: SimTime) -> bool {
        false
    }
}

/// A route whose latency can be set: every envelope on it waits that long.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Route {
    /// Every message between nodes (`latency.network`).
    Network,
    /// One direction of one link: `Link(5.into(), 1.into())` is N5 -> N1; also
    /// `Link(Node(5), Store)` for N5's metadata-store requests, `Link(Node(2), Disk(2))`
    /// for N2's commits.
    Link(Endpoint, Endpoint),
    /// GetMetadata between nodes and its answer (`latency.peer_metadata`).
    PeerMetadata,
    /// Each request to the metadata store and each response (`latency.metadata_store`).
    MetadataStore,
    /// One group commit of a node's storage writer (`latency.storage`).
    Storage,
}

/// The old name of [`Route`], which shadowed `std::path::Path` in a glob import.
#[deprecated(note = "renamed `Route`")]
pub type Path = Route;

impl Route {
    /// The link `from -> to`.
    pub fn link(from: impl Into<Endpoint>, to: impl Into<Endpoint>) -> Route {
        Route::Link(from.into(), to.into())
    }

    /// Whether an envelope travels this path.
    pub fn carries(&self, envelope: &Envelope<'_>) -> bool {
        match self {
            Route::Network => matches!(envelope, Envelope::Message { .. }),
            Route::Link(from, to) => envelope.from() == *from && envelope.to() == *to,
            Route::PeerMetadata => envelope.is_peer_metadata(),
            Route::MetadataStore => matches!(
                envelope,
                Envelope::StoreRequest { .. } | Envelope::StoreResponse { .. }
            ),
            Route::Storage => matches!(envelope, Envelope::Commit { .. }),
        }
    }

    fn class(&self) -> Class {
        match self {
            Route::Link(..) => Class::LinkLatency,
            Route::PeerMetadata | Route::MetadataStore | Route::Storage => Class::PathLatency,
            Route::Network => Class::NetworkLatency,
        }
    }
}

impl fmt::Display for Route {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Route::Network => f.write_str("network"),
            Route::Link(a, b) => write!(f, "{a} -> {b}"),
            Route::PeerMetadata => f.write_str("peer metadata"),
            Route::MetadataStore => f.write_str("metadata store"),
            Route::Storage => f.write_str("storage"),
        }
    }
}

/// Where a rule sits in the order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Class {
    Fault,
    LinkLatency,
    PathLatency,
    NetworkLatency,
}

/// Names a rule in the seam, to remove it later.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RuleId(pub u64);

/// What a built-in rule is, so calls on the handle can find it again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tag {
    Cut(Endpoint, Endpoint),
    Hold(Endpoint, Endpoint),
    Latency(Route),
    Custom,
}

/// Envelopes from `from` to `to` are lost (until `until`, if set): one direction of a
/// partition.
pub struct Cut {
    /// The sending end.
    pub from: Endpoint,
    /// The receiving end.
    pub to: Endpoint,
    /// Envelopes sent from then on pass again.
    pub until: Option<SimTime>,
}

impl Rule for Cut {
    fn judge(&mut self, envelope: &Envelope<'_>, now: SimTime, _: &mut SimRng) -> Verdict {
        let live = self.until.is_none_or(|u| now < u);
        if live && envelope.from() == self.from && envelope.to() == self.to {
            Verdict::Drop
        } else {
            Verdict::Pass
        }
    }
    fn describe(&self) -> String {
        match self.until {
            Some(u) => format!("{} -> {} cut until {u}", self.from, self.to),
            None => format!("{} -> {} cut", self.from, self.to),
        }
    }
    fn expired(&self, now: SimTime) -> bool {
        self.until.is_some_and(|u| now >= u)
    }
}

/// Envelopes from `from` to `to` wait until the link is released.
pub struct Hold {
    /// The sending end.
    pub from: Endpoint,
    /// The receiving end.
    pub to: Endpoint,
}

impl Rule for Hold {
    fn judge(&mut self, envelope: &Envelope<'_>, _: SimTime, _: &mut SimRng) -> Verdict {
        if envelope.from() == self.from && envelope.to() == self.to {
            Verdict::Hold
        } else {
            Verdict::Pass
        }
    }
    fn describe(&self) -> String {
        format!("{} -> {} held", self.from, self.to)
    }
}

/// Envelopes on a path wait a latency drawn from a distribution.
pub struct LatencyRule {
    /// The path.
    pub path: Route,
    /// The distribution.
    pub latency: Latency,
}

impl Rule for LatencyRule {
    fn judge(&mut self, envelope: &Envelope<'_>, _: SimTime, rng: &mut SimRng) -> Verdict {
        if self.path.carries(envelope) {
            Verdict::Delay(self.latency.sample(rng))
        } else {
            Verdict::Pass
        }
    }
    fn describe(&self) -> String {
        format!("latency of {}: {}", self.path, self.latency)
    }
}

struct Entry {
    id: RuleId,
    class: Class,
    tag: Tag,
    /// For a cut: when it heals by itself.
    cut_until: Option<SimTime>,
    rule: Box<dyn Rule>,
}

/// The ordered rules of a sandbox.
#[derive(Default)]
pub(crate) struct Rules {
    entries: Vec<Entry>,
    next_id: u64,
    /// The earliest instant a cut expires, if one may; rules of your own may expire any
    /// time. Saves asking every rule on every envelope.
    next_expiry: Option<SimTime>,
}

impl Rules {
    fn insert(
        &mut self,
        class: Class,
        tag: Tag,
        cut_until: Option<SimTime>,
        rule: Box<dyn Rule>,
    ) -> RuleId {
        match (tag, cut_until) {
            (Tag::Custom, _) => self.next_expiry = Some(SimTime::ZERO),
            (_, Some(until)) => {
                self.next_expiry = Some(self.next_expiry.map_or(until, |e| e.min(until)))
            }
            _ => {}
        }
        self.next_id += 1;
        let id = RuleId(self.next_id);
        // Newest first within its class.
        let at = self
            .entries
            .iter()
            .position(|e| e.class >= class)
            .unwrap_or(self.entries.len());
        self.entries.insert(
            at,
            Entry {
                id,
                class,
                tag,
                cut_until,
                rule,
            },
        );
        id
    }

    /// Adds a rule of your own, judged before every latency.
    pub fn add(&mut self, rule: Box<dyn Rule>) -> RuleId {
        self.insert(Class::Fault, Tag::Custom, None, rule)
    }

    /// Removes a rule; false if there is none with that id.
    pub fn remove(&mut self, id: RuleId) -> bool {
        let before = self.entries.len();
        self.entries.retain(|e| e.id != id);
        self.entries.len() != before
    }

    /// Sets the latency of a path from now on, replacing the one it had.
    pub fn set_latency(&mut self, path: Route, latency: Latency) -> RuleId {
        self.entries.retain(|e| e.tag != Tag::Latency(path));
        self.insert(
            path.class(),
            Tag::Latency(path),
            None,
            Box::new(LatencyRule { path, latency }),
        )
    }

    /// Cuts `from -> to` (until `until`).
    pub fn cut(&mut self, from: Endpoint, to: Endpoint, until: Option<SimTime>) -> RuleId {
        let rule = Cut { from, to, until };
        self.insert(Class::Fault, Tag::Cut(from, to), until, Box::new(rule))
    }

    /// Removes the cuts of `from -> to`; returns how many there were.
    pub fn heal(&mut self, from: Endpoint, to: Endpoint) -> usize {
        let before = self.entries.len();
        self.entries.retain(|e| e.tag != Tag::Cut(from, to));
        before - self.entries.len()
    }

    /// Removes every cut; returns how many there were.
    pub fn heal_all(&mut self) -> usize {
        let before = self.entries.len();
        self.entries.retain(|e| !matches!(e.tag, Tag::Cut(..)));
        before - self.entries.len()
    }

    /// Holds `from -> to` until released.
    pub fn hold(&mut self, from: Endpoint, to: Endpoint) -> RuleId {
        self.entries.retain(|e| e.tag != Tag::Hold(from, to));
        let hold = Box::new(Hold { from, to });
        self.insert(Class::Fault, Tag::Hold(from, to), None, hold)
    }

    /// Stops holding `from -> to`; false if it was not held.
    pub fn release(&mut self, from: Endpoint, to: Endpoint) -> bool {
        let before = self.entries.len();
        self.entries.retain(|e| e.tag != Tag::Hold(from, to));
        before != self.entries.len()
    }

    /// The verdict of the first rule that does not pass; `Delay(0)` when all pass.
    pub fn judge(&mut self, envelope: &Envelope<'_>, now: SimTime, rng: &mut SimRng) -> Verdict {
        if self.next_expiry.is_some_and(|e| now >= e) {
            self.entries.retain(|e| !e.rule.expired(now));
            let custom = self.entries.iter().any(|e| e.tag == Tag::Custom);
            self.next_expiry = if custom {
                Some(SimTime::ZERO)
            } else {
                self.entries
                    .iter()
                    .filter_map(|e| match e.tag {
                        Tag::Cut(..) => e.cut_until,
                        _ => None,
                    })
                    .min()
            };
        }
        for entry in &mut self.entries {
            let verdict = entry.rule.judge(envelope, now, rng);
            if verdict != Verdict::Pass {
                return verdict;
            }
        }
        Verdict::Delay(0)
    }

    /// The faults in force at `now`: cuts not yet expired, holds, and rules of one's own
    /// (which may do anything).
    pub fn faults_in_force(&self, now: SimTime) -> usize {
        self.entries
            .iter()
            .filter(|e| match e.tag {
                Tag::Cut(..) => e.cut_until.is_none_or(|until| now < until),
                Tag::Hold(..) | Tag::Custom => true,
                Tag::Latency(_) => false,
            })
            .count()
    }

    /// One line per rule, in the order they are judged.
    pub fn describe(&self) -> Vec<String> {
        self.entries.iter().map(|e| e.rule.describe()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bindings::{Body, Message};
    use crate::time::MILLIS;

    fn msg(body: Body) -> Message {
        Message {
            versions: vec![],
            body,
        }
    }

    #[test]
    fn the_most_specific_latency_wins_and_faults_come_first() {
        let mut rules = Rules::default();
        let mut rng = crate::seeds::rng(1, "t");
        rules.set_latency(Route::Network, Latency::Constant(2 * MILLIS));
        rules.set_latency(Route::link(5, 3), Latency::Constant(50 * MILLIS));
        rules.set_latency(Route::PeerMetadata, Latency::Constant(MILLIS));
        let hello = msg(Body::Hello);
        let get = msg(Body::GetMetadata((
            1,
            crate::bindings::MetadataKind::Logs,
            1,
        )));
        let on = |from, to, m| Envelope::Message {
            from,
            to,
            message: m,
        };
        let now = SimTime::ZERO;
        assert_eq!(
            rules.judge(&on(5, 1, &hello), now, &mut rng),
            Verdict::Delay(2 * MILLIS)
        );
        assert_eq!(
            rules.judge(&on(5, 3, &hello), now, &mut rng),
            Verdict::Delay(50 * MILLIS)
        );
        assert_eq!(
            rules.judge(&on(5, 1, &get), now, &mut rng),
            Verdict::Delay(MILLIS)
        );
        // A new network latency replaces the old, and still yields to the link's.
        rules.set_latency(Route::Network, Latency::Constant(7 * MILLIS));
        assert_eq!(
            rules.judge(&on(5, 1, &hello), now, &mut rng),
            Verdict::Delay(7 * MILLIS)
        );
        assert_eq!(
            rules.judge(&on(5, 3, &hello), now, &mut rng),
            Verdict::Delay(50 * MILLIS)
        );
        rules.cut(Endpoint::Node(5), Endpoint::Node(3), Some(SimTime(10)));
        rules.hold(Endpoint::Node(5), Endpoint::Node(1));
        assert_eq!(rules.judge(&on(5, 3, &hello), now, &mut rng), Verdict::Drop);
        assert_eq!(rules.judge(&on(5, 1, &hello), now, &mut rng), Verdict::Hold);
        // The cut expires; the hold lasts until released.
        assert_eq!(
            rules.judge(&on(5, 3, &hello), SimTime(10), &mut rng),
            Verdict::Delay(50 * MILLIS)
        );
        assert!(rules.release(Endpoint::Node(5), Endpoint::Node(1)));
        assert_eq!(
            rules.judge(&on(5, 1, &hello), now, &mut rng),
            Verdict::Delay(7 * MILLIS)
        );
        assert_eq!(rules.describe().len(), 3);
    }
}
