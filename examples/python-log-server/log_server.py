"""A logsandbox log-server written in Python, built into a wasm component by componentize-py.

It implements the `log-node` world of `wit/node.wit` for a node whose roles are
`log-server` (and, on N1 in scenarios with `metadata.provision = true`, `provisioner`): it
serves the seven requests of the log-server protocol exactly as the built-in Rust guest does
(`guest/src/log_server.rs`), keeps its durable state in the node's storage under the same
key layout (`guest/src/keys.rs`), and takes part in the metadata plane as the built-in node
does (`guest/src/metadata_cache.rs`, `guest/src/update_task.rs`, `guest/src/store_call.rs`):
it carries its Logs version on every message, answers `hello` and `get-metadata`, and
fetches a newer Logs from a peer (or the metadata store) when it sees one advertised.

It allocates request, timer and write ids, and draws its jitter, exactly as the built-in
guest does, so a run with this component on the log-servers has the same trace hash as
the built-in guest's: the strongest check that it answers the same things at the same
instants.

Pitfalls this file keeps in mind (see README.md):
- componentize-py makes a NEW instance of the exported class `Node` for every call, so no
  state may live on `self`: it all lives in the module global `_state`.
- `list<u8>` is `bytes` (keys, payloads); `list<list<u8>>` is a list of `bytes`.
- Python ints do not wrap: where the Rust code relies on u32/u64 arithmetic (saturating or
  wrapping), this code clamps or masks explicitly (`U32`, `M64`).
- An exception that escapes `init` or `handle` is a trap: the host crashes the node and
  shows what it printed (the traceback) with the crash.
- No clock but `now`, no randomness but the seeded `Rng`; dicts keep insertion order, and
  anything whose order reaches an effect is iterated in a fixed (sorted or insertion) order.
"""

from componentize_py_types import Err
from wit_world import exports
from wit_world.exports import node as wnode
from wit_world.imports import host, storage
from wit_world.imports import client as wclient
from wit_world.imports import log_server_protocol as lsp
from wit_world.imports import messages as msgs
from wit_world.imports import metadata as md
from wit_world.imports.types import Status

# ---------------------------------------------------------------------------------------
# Integers: Python's never wrap, the WIT's do.

U32 = 0xFFFF_FFFF
M64 = 0xFFFF_FFFF_FFFF_FFFF

MILLIS = 1_000_000  # nanoseconds

# The first valid offset; the tail of an empty loglet.
OLDEST = 1
# Records read per storage scan.
SCAN_CHUNK = 256
# The metadata-store key of the Logs value.
LOGS_KEY = "bifrost_config"
INVALID = 0
MIN_VERSION = 1
# The most peer fetches kept in flight.
MAX_PEER_FETCHES = 64

# Which part of the node owns an id: the top byte of every request, timer and write id, as
# the built-in guest does (guest/src/node.rs), so a durable write or a timer finds its owner.
PART_LOG_SERVER = 1
PART_CLIENT = 2
PART_METADATA = 3


def _part_of(id_):
    return {1: PART_LOG_SERVER, 2: PART_CLIENT, 3: PART_METADATA}.get(id_ >> 56)


# ---------------------------------------------------------------------------------------
# Storage keys (guest/src/keys.rs). The `d | loglet u64 BE | offset u32 BE -> payload`
# layout is a contract: the host reads it at the end of a run (`acknowledged_durable`).

DATA = ord("d")
SEQUENCER = ord("s")
TRIM = ord("t")
GLOBAL_TAIL = ord("g")
SEAL = ord("x")


def key_meta(kind, loglet):
    return bytes([kind]) + loglet.to_bytes(8, "big")


def key_data(loglet, offset):
    return bytes([DATA]) + loglet.to_bytes(8, "big") + offset.to_bytes(4, "big")


def loglet_of(key):
    if len(key) < 9:
        return None
    return int.from_bytes(key[1:9], "big")


def offset_of(key):
    if len(key) < 13:
        return None
    return int.from_bytes(key[9:13], "big")


def kind_end(kind):
    return bytes([kind + 1])


def encode_u32(v):
    return v.to_bytes(4, "big")


def decode_u32(v):
    if len(v) != 4:
        return None
    return int.from_bytes(v, "big")


def fmt_loglet(id_):
    """`log_segment`, as Restate prints loglet ids."""
    return f"{id_ >> 32}_{id_ & U32}"


def rust_debug_str(s):
    """A string as Rust's `{:?}` prints it (for log lines that quote an error)."""
    out = []
    for ch in s:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\r":
            out.append("\\r")
        elif ch == "\t":
            out.append("\\t")
        elif ch == "\0":
            out.append("\\0")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def fmt_store_error(error):
    if isinstance(error, md.StoreError_FailedPrecondition):
        return f"StoreError::FailedPrecondition({error.value})"
    if isinstance(error, md.StoreError_Unavailable):
        return f"StoreError::Unavailable({rust_debug_str(error.value)})"
    return f"StoreError::Terminal({rust_debug_str(error.value)})"


# ---------------------------------------------------------------------------------------
# Randomness: SplitMix64 seeded by the host (guest/src/rng.rs), masked to 64 bits.


class Rng:
    def __init__(self, seed):
        self.s = (seed ^ 0x9E37_79B9_7F4A_7C15) & M64

    def next_u64(self):
        self.s = (self.s + 0x9E37_79B9_7F4A_7C15) & M64
        z = self.s
        z = ((z ^ (z >> 30)) * 0xBF58_476D_1CE4_E5B9) & M64
        z = ((z ^ (z >> 27)) * 0x94D0_49BB_1331_11EB) & M64
        return z ^ (z >> 31)

    def between(self, lo, hi):
        """A value in `[lo, hi]`; `lo` when the range is empty."""
        if hi <= lo:
            return lo
        return lo + self.next_u64() % (hi - lo + 1)

    def add_jitter(self, base, percent):
        """`base` lengthened by 3 ms up to `percent` of it (Restate's `add_jitter`)."""
        min_jitter = 3 * MILLIS
        top = min(base * percent, M64) // 100
        if top <= min_jitter:
            return min(base + min_jitter, M64)
        return min(base + self.between(min_jitter, top - 1), M64)


# ---------------------------------------------------------------------------------------
# Settings (guest/src/settings.rs): the ones a log-server node uses, plus the example's.


def _parse_u64(text):
    t = text.strip()
    body = t[1:] if t.startswith("+") else t
    # Rust's `parse::<u64>`: ASCII digits only (Python's int() also takes `1_000`, `٣`).
    if not body or not all("0" <= c <= "9" for c in body):
        return None
    v = int(body)
    return v if v <= M64 else None


class Settings:
    def __init__(self):
        self.metadata_tick_interval = 100 * MILLIS
        self.metadata_update_interval = 10_000 * MILLIS
        self.metadata_fetch_from_peer_timeout = 3_000 * MILLIS
        self.metadata_store_request_timeout = 10_000 * MILLIS
        self.metadata_fetch_backoff_initial = 100 * MILLIS
        self.metadata_fetch_backoff_max = 1_000 * MILLIS
        self.accepting_writes = True
        # This example's own: raise a Python exception on the Nth store (0: never).
        self.raise_on_store = 0

    _MS_KEYS = {
        "metadata.tick_interval_ms": "metadata_tick_interval",
        "metadata.update_interval_ms": "metadata_update_interval",
        "metadata.fetch_from_peer_timeout_ms": "metadata_fetch_from_peer_timeout",
        "metadata.store_request_timeout_ms": "metadata_store_request_timeout",
        "metadata.fetch_backoff_initial_ms": "metadata_fetch_backoff_initial",
        "metadata.fetch_backoff_max_ms": "metadata_fetch_backoff_max",
    }

    def apply(self, pairs):
        """Applies the host's `key = value` settings; returns one message per bad value.
        Unknown keys are ignored (hosts and guests evolve apart)."""
        problems = []
        for key, value in pairs:
            if key == "log_server.accepting_writes":
                v = value.strip()
                if v == "true":
                    self.accepting_writes = True
                elif v == "false":
                    self.accepting_writes = False
                else:
                    problems.append(f"setting {key}: not true or false: {rust_debug_str(value)}")
                continue
            if key == "example.raise_on_store":
                n = _parse_u64(value)
                if n is not None and 0 < n <= U32:
                    self.raise_on_store = n
                else:
                    problems.append(f"setting {key}: not a positive integer: {rust_debug_str(value)}")
                continue
            attr = self._MS_KEYS.get(key)
            if attr is None:
                continue
            ms = _parse_u64(value)
            if key == "metadata.update_interval_ms" and ms is not None and ms < 1_000:
                problems.append(
                    f"setting {key} = {value} ms: this is Restate's idle refresh (10 s by "
                    "default), not the update task's tick (metadata.tick_interval_ms)"
                )
            if ms is not None and 0 < ms <= 86_400_000:
                setattr(self, attr, ms * MILLIS)
            else:
                problems.append(
                    f"setting {key}: not a number of ms from 1 to 86400000: {rust_debug_str(value)}"
                )
        return problems


# ---------------------------------------------------------------------------------------
# The node's state.
#
# componentize-py creates a NEW instance of the exported class `Node` (bottom of this file)
# for every call into the component, so anything kept on `self` there is lost at the next
# call. The node's state therefore lives in this module global, which lives as long as the
# component instance (the host drops the instance, and with it this state, on a crash; the
# next `init` rebuilds it from storage).
_state = None


class NodeState:
    """What every part of the node shares: identity, settings, randomness, the id counter,
    the current instant, and the parts themselves."""

    def __init__(self, now, config, settings):
        self.now = now
        self.me = config.id
        self.roles = config.roles
        self.members = list(config.members)
        self.settings = settings
        self.rng = Rng(config.seed)
        self.next_id = 0
        self.log_server = LogServer(settings)
        self.metadata = MetadataCache()

    # --- effects, as guest/src/node.rs's Ctx ---

    def new_id(self, part):
        """A fresh id owned by `part` (the top byte)."""
        self.next_id += 1
        return ((part << 56) | self.next_id) & M64

    def versions(self):
        """The metadata versions carried in every outgoing message header."""
        return [msgs.MetadataVersion(md.MetadataKind.LOGS, self.metadata.version())]

    def send(self, to, body):
        host.send(to, msgs.Message(self.versions(), body))

    def timer(self, part, delay):
        id_ = self.new_id(part)
        host.set_timer(id_, min(self.now + delay, M64))
        return id_

    def log(self, level, message):
        host.log(level, message)

    # --- the two entry points ---

    def start(self, problems):
        for p in problems:
            self.log(host.Level.WARN, p)
        if self.roles & wnode.Roles.LOG_SERVER:
            self.log_server.recover(self)
        self.metadata.start(self)
        for peer in self.members:
            if peer != self.me:
                self.send(peer, msgs.Body_Hello())

    def handle(self, now, events):
        self.now = now
        for event in events:
            if isinstance(event, wnode.Event_Message):
                from_, message = event.value
                newer = self.metadata.observe_versions(self, from_, message.versions)
                self.on_message(from_, message.body)
                if newer:
                    # Restate resets the update task's interval: it fetches at once.
                    self.metadata.tick_now(self)
            elif isinstance(event, wnode.Event_MetadataResponse):
                id_, response = event.value
                self.metadata.on_store_response(self, id_, response)
            elif isinstance(event, wnode.Event_Timer):
                id_ = event.value
                part = _part_of(id_)
                if part == PART_METADATA:
                    self.metadata.on_timer(self, id_)
                elif part is None:
                    self.log(host.Level.WARN, f"timer {id_} has no owner")
                # A log-server or client timer: this node arms none.
            elif isinstance(event, wnode.Event_WriteDurable):
                id_ = event.value
                if _part_of(id_) != PART_CLIENT:
                    self.log_server.on_durable(self, id_)
            elif isinstance(event, wnode.Event_ClientRequest):
                op, _request = event.value
                host.complete(
                    op,
                    wclient.OpResult_Failed(
                        wclient.ClientError_Unsupported("this node has no client role")
                    ),
                )

    def on_message(self, from_, body):
        if isinstance(body, msgs.Body_Hello):
            self.send(from_, msgs.Body_HelloAck())
        elif isinstance(body, msgs.Body_HelloAck):
            pass
        elif isinstance(body, msgs.Body_LogServerRequest):
            id_, request = body.value
            self.log_server.on_request(self, from_, id_, request)
        elif isinstance(body, msgs.Body_LogServerReply):
            id_, _reply = body.value
            self.log(host.Level.DEBUG, f"reply {id_} from N{from_} has no owner")
        elif isinstance(body, msgs.Body_GetMetadata):
            id_, kind, min_version = body.value
            self.metadata.on_get_metadata(self, from_, id_, kind, min_version)
        elif isinstance(body, msgs.Body_MetadataUpdate):
            id_, value = body.value
            self.metadata.on_peer_update(self, from_, id_, value)
        elif isinstance(body, msgs.Body_GetSequencerState):
            id_, _loglet, _check_seal = body.value
            # This node sequences nothing.
            self.send(from_, msgs.Body_SequencerState((id_, msgs.SequencerAnswer_Unknown())))
        elif isinstance(body, msgs.Body_SequencerState):
            pass


# ---------------------------------------------------------------------------------------
# The metadata plane (guest/src/metadata_cache.rs, update_task.rs, store_call.rs).


class Backoff:
    """A delay that grows x1.5 up to a cap."""

    def __init__(self, settings):
        self.initial = settings.metadata_fetch_backoff_initial
        self.next = self.initial
        self.max = max(settings.metadata_fetch_backoff_max, self.initial)

    def next_delay(self):
        delay = self.next
        self.next = min(min(self.next * 3, M64) // 2, self.max)
        return delay

    def reset(self):
        self.next = self.initial


NOT_MINE, RESENT, TIMED_OUT = "not-mine", "resent", "timed-out"


class StoreCall:
    """One call to the metadata store: a request with a deadline, or a pause between tries.
    `put` is None for a get, else (value, precondition)."""

    def __init__(self, st, put=None):
        self.put = put
        self.request = None
        self.deadline = None
        self.sleep = None
        self.retry = Backoff(st.settings)
        self.send(st)

    def send(self, st):
        id_ = st.new_id(PART_METADATA)
        if self.put is None:
            host.metadata_get(id_, LOGS_KEY)
        else:
            host.metadata_put(id_, LOGS_KEY, self.put[0], self.put[1])
        self.request = id_
        self.deadline = st.timer(PART_METADATA, st.settings.metadata_store_request_timeout)

    def answers(self, id_):
        """Whether `id_` answers this call's current try; if so the try is over."""
        if self.request != id_:
            return False
        self.request = None
        self.deadline = None
        return True

    def again_after(self, st, delay):
        self.sleep = st.timer(PART_METADATA, delay)

    def on_timer(self, st, id_):
        if self.sleep == id_:
            self.sleep = None
            self.send(st)
            return RESENT
        if self.deadline == id_:
            self.deadline = None
            self.request = None
            return TIMED_OUT
        return NOT_MINE


class StoreRead:
    """The one store read in flight, retried until it brings a value."""

    def __init__(self, st):
        self.call = StoreCall(st)
        self.terminal = Backoff(st.settings)


class UpdateTask:
    """Restate's metadata update task, rule by rule (see guest/src/update_task.rs)."""

    def __init__(self):
        self.period = 0
        self.tick_timer = None
        # The newest version seen advertised, who advertised it (in the order heard), since when.
        self.observed_version = 0
        self.observed_peers = []
        self.observed_first_at = 0
        # The version the current wave of peer fetches asks for, and the peers asked.
        self.wave = 0
        self.asked = set()
        # Peer fetches in flight: request id -> (peer, version). Ids only grow, so the
        # dict's insertion order is the key order the Rust BTreeMap keeps.
        self.peer_fetches = {}
        self.last_immediate = None
        self.store_read = None
        self.last_store_read = 0

    def start(self, st, cached, last_update):
        self.period = st.rng.add_jitter(st.settings.metadata_tick_interval, 50)
        self.observed_first_at = st.now
        self.last_store_read = st.now
        self.tick(st, cached, last_update)

    def observe(self, now, cached, version, peer):
        """A version advertised by `peer` (None: learnt with no peer to ask). True when it is
        a new version newer than the cached one: the caller then ticks at once."""
        if version <= cached or version < self.observed_version:
            return False
        if version > self.observed_version:
            self.observed_version = version
            self.observed_peers = [] if peer is None else [peer]
            self.observed_first_at = now
            return True
        if peer is not None and peer not in self.observed_peers:
            self.observed_peers.append(peer)
        return False

    def tick(self, st, cached, last_update):
        s = st.settings
        idle_after = st.rng.add_jitter(s.metadata_update_interval, 30)
        peer_timeout = st.rng.add_jitter(s.metadata_fetch_from_peer_timeout, 30)

        anticipated = self.observed_version > cached
        if anticipated:
            if self.observed_version > self.wave:
                self.wave = self.observed_version
                self.asked.clear()
            peer = next((p for p in self.observed_peers if p not in self.asked), None)
            if peer is not None:
                self.asked.add(peer)
                request = st.new_id(PART_METADATA)
                version = self.observed_version
                st.send(peer, msgs.Body_GetMetadata((request, md.MetadataKind.LOGS, version)))
                self.peer_fetches[request] = (peer, version)
                if len(self.peer_fetches) > MAX_PEER_FETCHES:
                    # Forget the oldest fetch (the store fallback still brings the version).
                    del self.peer_fetches[min(self.peer_fetches)]
        else:
            self.asked.clear()

        if self.store_read is None:
            since_update = max(st.now - max(last_update, self.last_store_read), 0)
            reasons = [
                (cached == INVALID, "first-start"),
                (since_update >= idle_after, "idle"),
                (
                    anticipated and max(st.now - self.observed_first_at, 0) >= peer_timeout,
                    "new-version-peer-wait-timeout",
                ),
                (anticipated and not self.observed_peers, "new-version-no-peers"),
            ]
            why = [name for cond, name in reasons if cond]
            if why:
                self.read_store(st, "|".join(why))
        self.tick_timer = st.timer(PART_METADATA, self.period)

    def read_store(self, st, why):
        if self.store_read is not None:
            return
        st.log(host.Level.DEBUG, f"reading the Logs from the store ({why})")
        self.store_read = StoreRead(st)

    def on_timer(self, st, id_, cached, last_update):
        if self.tick_timer == id_:
            self.tick(st, cached, last_update)
            return True
        read = self.store_read
        if read is None:
            return False
        what = read.call.on_timer(st, id_)
        if what == NOT_MINE:
            return False
        if what == TIMED_OUT:
            self.on_read_failed(st, md.StoreError_Unavailable("no answer in time"))
        return True

    def on_store_response(self, st, id_, response):
        """Returns the value to offer the cache, if any; an empty answer or an error arms
        the next try."""
        read = self.store_read
        if read is None or not read.call.answers(id_):
            return None
        if isinstance(response, md.StoreResponse_Value):
            if response.value is not None:
                self.store_read = None
                self.last_store_read = st.now
                return response.value
            read.call.again_after(st, read.call.retry.next_delay())
        elif isinstance(response, md.StoreResponse_Failed):
            self.on_read_failed(st, response.value)
        else:
            st.log(host.Level.WARN, "metadata store answered a read with put-done")
            read.call.again_after(st, read.call.retry.next_delay())
        return None

    def on_read_failed(self, st, error):
        read = self.store_read
        if read is None:
            return
        if isinstance(error, md.StoreError_Unavailable):
            st.log(host.Level.INFO, f"metadata store unavailable: {error.value}; retrying")
            delay = read.call.retry.next_delay()
        else:
            st.log(
                host.Level.WARN,
                f"metadata store read failed terminally: {fmt_store_error(error)}; starting over",
            )
            read.call.retry.reset()
            delay = read.terminal.next_delay()
        read.call.again_after(st, delay)

    def on_peer_answer(self, from_, id_):
        fetch = self.peer_fetches.get(id_)
        if fetch is not None and fetch[0] == from_:
            del self.peer_fetches[id_]
            return True
        return False

    def may_tick_now(self, now):
        """One immediate tick per instant, however many messages advertise a version."""
        if self.last_immediate == now:
            return False
        self.last_immediate = now
        return True

    def on_offered(self, version):
        self.peer_fetches = {k: v for k, v in self.peer_fetches.items() if v[1] > version}
        if version >= self.wave:
            self.asked.clear()


def _describe(source, peer):
    if source == md.UpdateSource.PEER:
        return f"peer N{peer}" if peer is not None else "a peer"
    if source == md.UpdateSource.STORE_FETCH:
        return "the metadata store"
    return "its own write"


def _empty_logs():
    return md.MetadataValue_Logs(md.Logs(MIN_VERSION, []))


class MetadataCache:
    """The cached Logs and Restate's version rule: a value is taken only when its version
    is strictly greater than the cached one."""

    def __init__(self):
        self.logs = None
        self.last_update = 0
        self.task = UpdateTask()
        # The provisioner's put of the empty Logs, until it is answered for good.
        self.provision = None

    def version(self):
        return self.logs.version if self.logs is not None else INVALID

    def start(self, st):
        self.last_update = st.now
        self.task.start(st, self.version(), self.last_update)
        if st.roles & wnode.Roles.PROVISIONER:
            self.provision = StoreCall(st, (_empty_logs(), md.Precondition_DoesNotExist()))

    def observe_versions(self, st, from_, versions):
        cached = self.version()
        newer = False
        for v in versions:
            if v.kind == md.MetadataKind.LOGS:
                newer |= self.task.observe(st.now, cached, v.version, from_)
        return newer

    def tick_now(self, st):
        if not self.task.may_tick_now(st.now):
            return
        self.task.tick(st, self.version(), self.last_update)

    def on_store_response(self, st, id_, response):
        if self.provision is not None and self.provision.answers(id_):
            return self.on_provisioned(st, response)
        value = self.task.on_store_response(st, id_, response)
        if value is not None:
            self.offer(st, value, md.UpdateSource.STORE_FETCH, None)

    def on_provisioned(self, st, response):
        if isinstance(response, md.StoreResponse_PutDone):
            self.provision = None
            self.offer(st, _empty_logs(), md.UpdateSource.OWN_WRITE, None)
        elif isinstance(response, md.StoreResponse_Failed):
            error = response.value
            if isinstance(error, md.StoreError_FailedPrecondition):
                self.provision = None
                v = error.value
                st.log(host.Level.INFO, f"provisioning skipped: Logs already exist at version {v}")
                # The store holds v, and no peer was named for it: the update task reads it.
                if self.task.observe(st.now, self.version(), v, None):
                    self.tick_now(st)
            else:
                self.provisioning_failed(st, error)
        else:
            self.provision = None
            st.log(host.Level.WARN, "provisioning: the store answered a put with a value")

    def provisioning_failed(self, st, error):
        call = self.provision
        if call is None:
            return
        if isinstance(error, md.StoreError_Unavailable):
            st.log(
                host.Level.INFO,
                f"provisioning: metadata store unavailable ({error.value}); retrying",
            )
            call.again_after(st, call.retry.next_delay())
        else:
            self.provision = None
            st.log(host.Level.WARN, f"provisioning failed for good: {fmt_store_error(error)}")

    def on_timer(self, st, id_):
        call = self.provision
        if call is not None:
            what = call.on_timer(st, id_)
            if what == RESENT:
                return
            if what == TIMED_OUT:
                return self.provisioning_failed(st, md.StoreError_Unavailable("no answer in time"))
        self.task.on_timer(st, id_, self.version(), self.last_update)

    def on_get_metadata(self, st, from_, id_, kind, min_version):
        """A peer asks for our value: answered with it if valid and `>= min_version`."""
        value = None
        if self.logs is not None and self.logs.version != INVALID and self.logs.version >= min_version:
            value = md.MetadataValue_Logs(self.logs)
        st.send(from_, msgs.Body_MetadataUpdate((id_, value)))

    def on_peer_update(self, st, from_, id_, value):
        """A peer's GetMetadata answer: offered only if that fetch is still wanted."""
        if not self.task.on_peer_answer(from_, id_):
            return
        if value is not None:
            self.offer(st, value, md.UpdateSource.PEER, from_)
        else:
            st.log(host.Level.DEBUG, f"N{from_} had no Logs to give at the version asked")

    def offer(self, st, value, source, peer):
        logs = value.value
        cached = self.version()
        if logs.version <= cached:
            host.metadata_offered(md.MetadataKind.LOGS, value, source, peer, False)
            st.log(
                host.Level.INFO,
                f"dropped Logs v{logs.version} from {_describe(source, peer)}: "
                f"not newer than cached v{cached}",
            )
            self.task.on_offered(cached)
            return False
        host.metadata_offered(md.MetadataKind.LOGS, value, source, peer, True)
        self.logs = logs
        self.last_update = st.now
        self.task.on_offered(self.version())
        return True


# ---------------------------------------------------------------------------------------
# The log-server (guest/src/log_server.rs).


class ReplyTo:
    __slots__ = ("peer", "id")

    def __init__(self, peer, id_):
        self.peer = peer
        self.id = id_


class StoreWaiter:
    """A store latched onto an in-flight duplicate, or parked behind a pending seal:
    answered Stored{Ok} once the local or global tail reaches `target`, Sealed on seal."""

    __slots__ = ("to", "target")

    def __init__(self, to, target):
        self.to = to
        self.target = target


class QueryWaiter:
    """A WaitForTail request."""

    __slots__ = ("to", "query")

    def __init__(self, to, query):
        self.to = to
        self.query = query


class PendingStore:
    __slots__ = ("loglet", "last", "to")

    def __init__(self, loglet, last, to):
        self.loglet, self.last, self.to = loglet, last, to


class PendingSeal:
    __slots__ = ("loglet",)

    def __init__(self, loglet):
        self.loglet = loglet


class PendingTrim:
    __slots__ = ("loglet", "trim_point", "to")

    def __init__(self, loglet, trim_point, to):
        self.loglet, self.trim_point, self.to = loglet, trim_point, to


class Loglet:
    """The state of one loglet on this server."""

    def __init__(self, id_):
        self.id = id_
        # Next offset after the last durable record.
        self.local_tail = OLDEST
        # Next offset after the last accepted (maybe not yet durable) record.
        self.staging_local_tail = OLDEST
        self.known_global_tail = OLDEST
        # The global tail last written to storage.
        self.persisted_global_tail = None
        self.trim_point = 0
        # The trim point of the trims accepted, durable or not: reads see a trim's deletions
        # at once, so they gap up to it too.
        self.staging_trim_point = 0
        # Durable seal marker.
        self.sealed = False
        self.seal_enqueued = False
        self.sequencer = None
        self.seal_waiters = []
        self.tail_waiters = []

    def header(self, status):
        return lsp.ReplyHeader(self.local_tail, self.known_global_tail, self.sealed, status)

    def merge_global_tail(self, tail):
        self.known_global_tail = max(self.known_global_tail, tail)

    def persist_global_tail(self, ops):
        """Adds the global tail to a write batch when it moved since it was last persisted."""
        if self.persisted_global_tail != self.known_global_tail:
            self.persisted_global_tail = self.known_global_tail
            ops.append(
                storage.WriteOp(key_meta(GLOBAL_TAIL, self.id), encode_u32(self.known_global_tail))
            )


def reply(st, to, answer):
    st.send(to.peer, msgs.Body_LogServerReply((to.id, answer)))


def resolve(loglet, waiter):
    """The answer a tail waiter gets now, if its condition holds."""
    local, glob, sealed = loglet.local_tail, loglet.known_global_tail, loglet.sealed
    if isinstance(waiter, StoreWaiter):
        if local >= waiter.target or glob >= waiter.target:
            return lsp.Reply_Stored(loglet.header(Status.OK))
        if sealed:
            return lsp.Reply_Stored(loglet.header(Status.SEALED))
        return None
    query = waiter.query
    t = query.value
    if isinstance(query, lsp.TailQuery_LocalTail):
        reached = local >= t
    elif isinstance(query, lsp.TailQuery_GlobalTail):
        reached = glob >= t
    else:
        reached = local >= t or glob >= t
    if sealed and isinstance(query, lsp.TailQuery_GlobalTail) and not reached:
        return lsp.Reply_TailUpdated(loglet.header(Status.SEALED))
    if reached or sealed:
        return lsp.Reply_TailUpdated(loglet.header(Status.OK))
    return None


def notify_tail_waiters(st, loglet):
    """Answers every waiter whose condition now holds, in the order they came."""
    if not loglet.tail_waiters:
        return
    waiters = loglet.tail_waiters
    loglet.tail_waiters = []
    for waiter in waiters:
        answer = resolve(loglet, waiter)
        if answer is not None:
            reply(st, waiter.to, answer)
        else:
            loglet.tail_waiters.append(waiter)


def _raise_on_store(n):
    """The example's deliberate failure (`example.raise_on_store = N`): an exception from a
    helper, so the traceback the host shows has a few frames to it."""
    raise RuntimeError(f"example.raise_on_store: store number {n}")


class LogServer:
    def __init__(self, settings):
        self.loglets = {}
        # Writes made but not yet durable, by write id.
        self.writes = {}
        self.accepting_writes = settings.accepting_writes
        self.raise_on_store = settings.raise_on_store
        self.stores_seen = 0

    def recover(self, st):
        """Rebuilds every loglet from storage: local tail = last record + 1 (or OLDEST),
        raised to trim + 1; global tail = max(stored global tail, trim + 1)."""
        for kind in (SEQUENCER, TRIM, GLOBAL_TAIL, SEAL):
            for entry in storage.scan(bytes([kind]), kind_end(kind), U32, False):
                id_ = loglet_of(entry.key)
                if id_ is None:
                    raise Err(f"corrupt storage key {list(entry.key)}")
                loglet = self.loglets.get(id_)
                if loglet is None:
                    loglet = self.loglets[id_] = Loglet(id_)
                if kind == SEAL:
                    loglet.sealed = True
                    loglet.seal_enqueued = True
                    continue
                value = decode_u32(entry.value)
                if value is None:
                    raise Err(
                        f"corrupt value under key {list(entry.key)}: {list(entry.value)}"
                    )
                if kind == SEQUENCER:
                    loglet.sequencer = value
                elif kind == TRIM:
                    loglet.trim_point = value
                else:
                    loglet.known_global_tail = value
                    loglet.persisted_global_tail = value
        for id_ in sorted(self.loglets):
            loglet = self.loglets[id_]
            last = storage.scan(key_data(id_, 0), key_data(id_, U32), 1, True)
            tail = OLDEST
            if last:
                offset = offset_of(last[0].key)
                tail = offset + 1 if offset is not None else OLDEST
            if loglet.trim_point >= tail:
                tail = loglet.trim_point + 1
            loglet.local_tail = tail
            loglet.staging_local_tail = tail
            loglet.known_global_tail = max(loglet.known_global_tail, loglet.trim_point + 1)
            st.log(
                host.Level.INFO,
                f"recovered loglet {fmt_loglet(id_)}: local tail {loglet.local_tail}, "
                f"global tail {loglet.known_global_tail}, trim {loglet.trim_point}, "
                f"sealed {str(loglet.sealed).lower()}",
            )

    def on_request(self, st, from_, id_, request):
        to = ReplyTo(from_, id_)
        if isinstance(request, lsp.Request_Store):
            self.store(st, to, request.value)
        elif isinstance(request, lsp.Request_Seal):
            self.seal(st, to, request.value)
        elif isinstance(request, lsp.Request_GetLogletInfo):
            loglet = self.loglet(st, request.value)
            info = lsp.LogletInfo(loglet.header(Status.OK), loglet.trim_point)
            reply(st, to, lsp.Reply_LogletInfo(info))
        elif isinstance(request, lsp.Request_GetRecords):
            self.get_records(st, to, request.value)
        elif isinstance(request, lsp.Request_Trim):
            self.trim(st, to, request.value)
        elif isinstance(request, lsp.Request_WaitForTail):
            self.wait_for_tail(st, to, request.value)
        elif isinstance(request, lsp.Request_GetDigest):
            self.get_digest(st, to, request.value)

    def on_durable(self, st, write):
        """A write became durable (the host keeps them in the order they were made)."""
        pending = self.writes.pop(write, None)
        if pending is None:
            st.log(host.Level.WARN, f"durable write {write} is unknown")
            return
        l = self.loglets[pending.loglet]
        if isinstance(pending, PendingStore):
            l.local_tail = max(l.local_tail, pending.last + 1)
            reply(st, pending.to, lsp.Reply_Stored(l.header(Status.OK)))
            notify_tail_waiters(st, l)
        elif isinstance(pending, PendingSeal):
            l.sealed = True
            l.staging_local_tail = l.local_tail
            header = l.header(Status.OK)
            waiters, l.seal_waiters = l.seal_waiters, []
            for to in waiters:
                reply(st, to, lsp.Reply_Sealed(header))
            notify_tail_waiters(st, l)
        else:
            l.trim_point = max(l.trim_point, pending.trim_point)
            l.merge_global_tail(l.trim_point + 1)
            reply(st, pending.to, lsp.Reply_Trimmed(l.header(Status.OK)))
            # The global tail may have moved: a waiter for it is answered now.
            notify_tail_waiters(st, l)

    def loglet(self, st, header):
        """The loglet a request is for (created empty on first use), with the request's
        global tail merged in; waiters that this satisfies are answered."""
        loglet = self.loglets.get(header.loglet_id)
        if loglet is None:
            loglet = self.loglets[header.loglet_id] = Loglet(header.loglet_id)
        if header.known_global_tail > loglet.known_global_tail:
            loglet.merge_global_tail(header.known_global_tail)
            notify_tail_waiters(st, loglet)
        return loglet

    def write(self, st, ops, pending):
        id_ = st.new_id(PART_LOG_SERVER)
        storage.write(id_, ops)
        self.writes[id_] = pending

    def store(self, st, to, store):
        """Store checks, in order: malformed; sealed (unless repair); disabled; sequencer
        mismatch; out of bounds / non-sequencer below the tail; expired; duplicates; a
        pending seal; then the durable write, answered once durable."""
        self.stores_seen += 1
        if self.raise_on_store and self.stores_seen == self.raise_on_store:
            _raise_on_store(self.stores_seen)
        loglet = self.loglet(st, store.header)
        repair = bool(store.flags & lsp.StoreFlags.IGNORE_SEAL)
        count = len(store.payloads)
        first = store.first_offset
        # The tail after the last record must be an offset too: u32::MAX is never stored.
        if count == 0 or first == 0 or first + count - 1 >= U32:
            return reply(st, to, lsp.Reply_Stored(loglet.header(Status.MALFORMED)))
        last = first + count - 1
        if not repair and loglet.sealed:
            return reply(st, to, lsp.Reply_Stored(loglet.header(Status.SEALED)))
        if not self.accepting_writes:
            return reply(st, to, lsp.Reply_Stored(loglet.header(Status.DISABLED)))
        if loglet.sequencer is not None and loglet.sequencer != store.sequencer:
            return reply(st, to, lsp.Reply_Stored(loglet.header(Status.SEQUENCER_MISMATCH)))
        next_ok = max(loglet.staging_local_tail, loglet.known_global_tail)
        if first < next_ok and to.peer != store.sequencer and not repair:
            return reply(st, to, lsp.Reply_Stored(loglet.header(Status.SEQUENCER_MISMATCH)))
        if first > next_ok:
            return reply(st, to, lsp.Reply_Stored(loglet.header(Status.OUT_OF_BOUNDS)))
        if store.timeout_at is not None and store.timeout_at <= st.now:
            return reply(st, to, lsp.Reply_Stored(loglet.header(Status.DROPPED)))
        if not repair:
            if loglet.local_tail > last:
                return reply(st, to, lsp.Reply_Stored(loglet.header(Status.OK)))
            if loglet.staging_local_tail > last:
                # The same batch is in flight: answer when it is durable.
                loglet.tail_waiters.append(StoreWaiter(to, last + 1))
                return
        if loglet.seal_enqueued and not loglet.sealed:
            if repair:
                return reply(st, to, lsp.Reply_Stored(loglet.header(Status.SEALING)))
            # Rejected for sure, but without a retry: answered Sealed when the seal lands.
            loglet.tail_waiters.append(StoreWaiter(to, last + 1))
            return

        ops = []
        if loglet.sequencer is None:
            loglet.sequencer = store.sequencer
            ops.append(storage.WriteOp(key_meta(SEQUENCER, loglet.id), encode_u32(store.sequencer)))
        for i, payload in enumerate(store.payloads):
            ops.append(storage.WriteOp(key_data(loglet.id, first + i), payload))
        loglet.persist_global_tail(ops)
        loglet.staging_local_tail = max(loglet.staging_local_tail, last + 1)
        self.write(st, ops, PendingStore(loglet.id, last, to))

    def seal(self, st, to, seal):
        """Idempotent; answered once the seal marker is durable. The marker is queued behind
        every store already accepted, so those count in the sealed tail."""
        loglet = self.loglet(st, seal.header)
        if loglet.sealed:
            return reply(st, to, lsp.Reply_Sealed(loglet.header(Status.OK)))
        loglet.seal_waiters.append(to)
        if loglet.seal_enqueued:
            return
        loglet.seal_enqueued = True
        ops = [storage.WriteOp(key_meta(SEAL, loglet.id), b"")]
        loglet.persist_global_tail(ops)
        self.write(st, ops, PendingSeal(loglet.id))

    def get_records(self, st, to, get):
        """Reads `[max(from, trim + 1), min(to, local_tail - 1)]`, at least one record even
        over the byte limit; a trimmed prefix comes back as one TrimGap."""
        loglet = self.loglet(st, get.header)
        if get.from_offset > get.to_offset:
            records = lsp.Records(loglet.header(Status.MALFORMED), get.from_offset, [])
            return reply(st, to, lsp.Reply_Records(records))
        records = []
        start = max(get.from_offset, OLDEST)
        trimmed = max(loglet.trim_point, loglet.staging_trim_point)
        if trimmed >= start:
            gap_to = min(trimmed, get.to_offset)
            records.append(lsp.LogRecord(start, lsp.RecordBody_TrimGap(gap_to)))
            start = min(gap_to + 1, U32)  # saturating_add
        end = min(get.to_offset, max(loglet.local_tail - 1, 0))  # saturating_sub
        next_offset = start
        limit = get.byte_limit if get.byte_limit is not None else M64
        size_read = 0
        cursor = start
        scan_end = key_data(loglet.id, end) + b"\x00"
        done = False
        while cursor <= end and not done:
            chunk = storage.scan(key_data(loglet.id, cursor), scan_end, SCAN_CHUNK, False)
            if not chunk:
                next_offset = end + 1
                break
            for entry in chunk:
                offset = offset_of(entry.key)
                if offset is None:
                    continue
                size = len(entry.value)
                if records and size_read + size > limit:
                    done = True
                    break
                size_read += size
                records.append(lsp.LogRecord(offset, lsp.RecordBody_Data(entry.value)))
                next_offset = offset + 1
                cursor = offset + 1
                if offset == end:
                    done = True
                    break
        if cursor > end and end >= start:
            next_offset = max(next_offset, end + 1)
        records = lsp.Records(loglet.header(Status.OK), next_offset, records)
        reply(st, to, lsp.Reply_Records(records))

    def trim(self, st, to, trim):
        """Trim up to and including `trim_point`: Malformed below OLDEST or at/after
        max(global tail, local tail); clipped to local tail - 1; answered once durable."""
        loglet = self.loglet(st, trim.header)
        high = max(loglet.known_global_tail, loglet.local_tail)
        if trim.trim_point < OLDEST or trim.trim_point >= high:
            return reply(st, to, lsp.Reply_Trimmed(loglet.header(Status.MALFORMED)))
        trim_point = min(trim.trim_point, max(loglet.local_tail - 1, 0))
        if trim_point <= loglet.trim_point:
            return reply(st, to, lsp.Reply_Trimmed(loglet.header(Status.OK)))
        ops = [storage.WriteOp(key_meta(TRIM, loglet.id), encode_u32(trim_point))]
        start = key_data(loglet.id, loglet.trim_point)
        end = key_data(loglet.id, trim_point + 1)
        for entry in storage.scan(start, end, U32, False):
            ops.append(storage.WriteOp(entry.key, None))
        loglet.persist_global_tail(ops)
        loglet.staging_trim_point = max(loglet.staging_trim_point, trim_point)
        self.write(st, ops, PendingTrim(loglet.id, trim_point, to))

    def wait_for_tail(self, st, to, wait):
        loglet = self.loglet(st, wait.header)
        waiter = QueryWaiter(to, wait.query)
        answer = resolve(loglet, waiter)
        if answer is not None:
            return reply(st, to, answer)
        loglet.tail_waiters.append(waiter)

    def get_digest(self, st, to, get):
        """Which offsets of `[from, to]` this server holds: a Trimmed range, then Exists runs."""
        loglet = self.loglet(st, get.header)
        if get.from_offset > get.to_offset:
            digest = lsp.Digest(loglet.header(Status.MALFORMED), [])
            return reply(st, to, lsp.Reply_Digest(digest))
        entries = []
        start = max(get.from_offset, OLDEST)
        trimmed = max(loglet.trim_point, loglet.staging_trim_point)
        if trimmed >= start:
            end = min(trimmed, get.to_offset)
            entries.append(lsp.DigestEntry(start, end, lsp.RecordStatus.TRIMMED))
            start = min(end + 1, U32)  # saturating_add
        end = min(get.to_offset, max(loglet.local_tail - 1, 0))
        if start <= end:
            scan_end = key_data(loglet.id, end) + b"\x00"
            for entry in storage.scan(key_data(loglet.id, start), scan_end, U32, False):
                offset = offset_of(entry.key)
                if offset is None:
                    continue
                run = entries[-1] if entries else None
                if (
                    run is not None
                    and run.status == lsp.RecordStatus.EXISTS
                    and run.to_offset + 1 == offset
                ):
                    run.to_offset = offset
                else:
                    entries.append(lsp.DigestEntry(offset, offset, lsp.RecordStatus.EXISTS))
        digest = lsp.Digest(loglet.header(Status.OK), entries)
        reply(st, to, lsp.Reply_Digest(digest))


# ---------------------------------------------------------------------------------------
# The export.


class Node(exports.Node):
    """The `node` interface. componentize-py makes a new `Node` for every call: keep
    nothing on `self` (see `_state` above).

    Errors: `raise Err("why")` in `init` is its `result` error (the host refuses the start).
    Any other exception that escapes `init` or `handle` is printed by componentize-py's
    runtime (the traceback, to stderr, then "Python function threw an unexpected
    exception") and traps: the host crashes this node and shows what it printed. The
    traceback names files and lines but shows no source text: the host gives the guest no
    filesystem, so `linecache` cannot read `/0/log_server.py` (the build's `-p` directory,
    mounted at build time only).
    """

    def init(self, now, config):
        global _state
        _state = None
        if config.id not in config.members:
            raise Err(f"node {config.id} is not among the members {list(config.members)}")
        if config.roles & wnode.Roles.CLIENT or not config.roles & wnode.Roles.LOG_SERVER:
            raise Err(
                "this Python component serves only the log-server role (with the provisioner's "
                "put beside it), not the client role: give it to the log-servers only "
                "(--log-server, not --guest)"
            )
        settings = Settings()
        problems = settings.apply(config.settings)
        state = NodeState(now, config, settings)
        _state = state
        state.start(problems)

    def handle(self, now, events):
        state = _state
        if state is None:
            raise RuntimeError("the host calls init before handle")
        state.handle(now, events)
