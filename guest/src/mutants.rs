//! Known bugs, compiled in only for the mutant guests that `logsandbox mutants` runs to
//! prove the checker catches them. Each mutant guest is built with exactly one
//! `mutant-*` feature; in the product guest every flag is `false` and the compiler drops
//! the branches.

/// The sequencer publishes its known global tail as the sealed tail as soon as an
/// f-majority is sealed, without draining the appends in flight.
pub const PUBLISH_BEFORE_DRAIN: bool = cfg!(feature = "mutant-publish-before-drain");
/// The draining sequencer does not cancel the appends in flight: it waits for them to
/// end by themselves, which an append that can reach neither a write quorum nor a sealed
/// f-majority never does.
pub const DRAIN_WITHOUT_CANCEL: bool = cfg!(feature = "mutant-drain-without-cancel");
/// A sealed log-server still accepts normal stores.
pub const STORE_AFTER_SEAL: bool = cfg!(feature = "mutant-store-after-seal");
/// The metadata cache takes an update of the same version as the cached one.
pub const EQUAL_VERSION_ACCEPTED: bool = cfg!(feature = "mutant-equal-version-accepted");
/// The sequencer acknowledges an append after the first copy, before a write quorum.
pub const COMMIT_BEFORE_QUORUM: bool = cfg!(feature = "mutant-commit-before-quorum");
/// A restarted log-server forgets that its loglet was sealed.
pub const FORGET_SEAL_ON_RECOVERY: bool = cfg!(feature = "mutant-forget-seal-on-recovery");
/// The client sends a trim past the tail it knows, unclamped, with a header that claims
/// the global tail lies beyond the point.
pub const TRIM_PAST_CLAMP: bool = cfg!(feature = "mutant-trim-past-clamp");
/// A log-server accepts a trim at or beyond its tail, unclipped.
pub const TRIM_BEYOND_TAIL: bool = cfg!(feature = "mutant-trim-beyond-tail");
/// Waiting for a metadata version resolves as soon as any version is cached.
pub const WAIT_RESOLVES_EARLY: bool = cfg!(feature = "mutant-wait-resolves-early");
/// A newer version seen in a peer's header waits for the update task's next tick instead
/// of being fetched at once.
pub const NO_IMMEDIATE_FETCH: bool = cfg!(feature = "mutant-no-immediate-fetch");
/// Waiting for a metadata version the cache does not hold reads the metadata store.
pub const WAIT_FETCHES: bool = cfg!(feature = "mutant-wait-fetches");
/// A retryable metadata-store error is treated as terminal: the request is given up.
pub const RETRYABLE_AS_TERMINAL: bool = cfg!(feature = "mutant-retryable-as-terminal");
/// The chain writer puts the changed chain with no precondition: a concurrent change is
/// overwritten instead of failing its compare-and-set.
pub const EXTEND_WITHOUT_CAS: bool = cfg!(feature = "mutant-extend-without-cas");
