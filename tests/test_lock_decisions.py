"""The lock's decisions and protocol steps, without a server.

The decisions (who is live, who blocks whom, which ticket, what a breaker removes) are pure
functions of what was read and when; the protocol steps are generators of store actions, run
here on an in-memory store by the sync driver and by a small asyncio driver.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import math
from typing import Any

import pytest

from s3lite.errors import LockError, NoSuchKey, PreconditionFailed
from s3lite.lock.clock import mono
from s3lite.lock.conditional import Conditional
from s3lite.lock.decisions import (
    POLL_MAX,
    POLL_MIN,
    admitted,
    blocking_entries,
    compatible,
    conditional_blockers,
    doomed,
    expired_candidates,
    lost_objects,
    next_ticket,
    poll_pause,
    renewal_delay,
    renewed,
    retry_delay,
    sequential_blockers,
    survivors,
    was_broken,
)
from s3lite.lock.lease import Hold, Restart, lease_after
from s3lite.lock.probe import ConditionalSupport, probe_sequential
from s3lite.lock.sequential import Sequential
from s3lite.lock.settings import LockSettings, check_names, lock_settings
from s3lite.lock.state import (
    TIMESTAMP_SLACK,
    State,
    candidates,
    parse_seq,
    parse_state,
    seq_key,
    state_body,
)
from s3lite.lock.steps import Act, Sleep, Step, drive, retried
from s3lite.lock.store import Fetched, Listed, Snapshot, Written

P = "k.lock/"
A, B, C = "a" * 32, "b" * 32, "c" * 32
SKEW = 5.0
TTL = 10.0
#: Seconds after its last write at which an entry of TTL 10 expires (by the server's clock).
EXPIRES = TTL + TIMESTAMP_SLACK + SKEW


def snapshot(objects: list[tuple[str, float | None]], server_now: float) -> Snapshot:
    return Snapshot([Listed(k, m, None, None) for k, m in objects], server_now, 0.0)


def entry(lock_id: str, exclusive: bool = True, at: float | None = None) -> dict[str, Any]:
    doc: dict[str, Any] = {"id": lock_id, "exclusive": exclusive, "ttl": TTL}
    if at is not None:
        doc["at"] = at
    return doc


def state(holders: list[dict[str, Any]], modified: float, server_now: float) -> State:
    return State(holders, '"e"', modified, server_now, "rev")


# --- the conditional state ------------------------------------------------------------------------


def test_an_entry_expires_by_its_own_server_time() -> None:
    s = state([entry(A, at=100.0), entry(B)], modified=110.0, server_now=100.0 + EXPIRES + 0.5)
    assert s.written(s.holders[0]) == 100.0  # its own renewal, not the version's
    assert s.written(s.holders[1]) == 110.0  # written by this version
    assert s.expired(s.holders[0], SKEW)
    assert not s.expired(s.holders[1], SKEW)
    assert survivors(s, C, SKEW) == [s.holders[1]]
    assert survivors(s, B, SKEW) == []  # never ourselves
    assert survivors(None, A, SKEW) == []


def test_at_never_claims_a_later_time_than_the_version() -> None:
    s = state([entry(A, at=500.0)], modified=110.0, server_now=110.0)
    assert s.written(s.holders[0]) == 110.0
    unknown = State([entry(A)], None, None, 1e12, None)
    assert not unknown.expired(unknown.holders[0], SKEW)  # no Last-Modified: never expired


def test_a_bad_ttl_counts_as_the_default() -> None:
    s = state([{"id": A, "ttl": True}], modified=0.0, server_now=60.0 + TIMESTAMP_SLACK + SKEW)
    assert not s.expired(s.holders[0], SKEW)
    s.server_now += 0.01
    assert s.expired(s.holders[0], SKEW)


def test_who_may_join() -> None:
    shared, exclusive = entry(A, exclusive=False), entry(B)
    assert compatible([], True) and compatible([], False)
    assert compatible([shared], False)
    assert not compatible([shared], True)
    assert not compatible([exclusive], False)
    assert not compatible([{"id": C}], False)  # no mode said: exclusive


def test_new_versions_carry_the_others_stamped() -> None:
    s = state([entry(A), entry(B, at=90.0)], modified=100.0, server_now=101.0)
    mine = entry(C)
    holders = admitted(s, s.holders, mine)
    assert [h["id"] for h in holders] == [A, B, C]
    assert [h.get("at") for h in holders] == [100.0, 90.0, None]
    assert admitted(None, [], mine) == [mine]
    # a renewal replaces ours in place and drops the expired ones
    s.server_now = 90.0 + EXPIRES + 1
    again = renewed(s, A, {"id": A, "renewed": True}, SKEW)
    assert again == [{"id": A, "renewed": True}]


def test_mixed_clients_block_each_other() -> None:
    s = state([entry(A, exclusive=False), entry(B)], modified=100.0, server_now=101.0)
    assert [h["id"] for h in blocking_entries(s, C, False, SKEW)] == [B]
    assert [h["id"] for h in blocking_entries(s, C, True, SKEW)] == [A, B]
    assert blocking_entries(s, B, False, SKEW) == []  # A is shared, B is us
    seq = snapshot(
        [(seq_key(P, 1, False, TTL, A, 3), 100.0), (seq_key(P, 0, True, TTL, B), 100.0)], 101.0
    )
    found = candidates(P, seq).values()
    assert conditional_blockers(found, False, 101.0, SKEW) == []  # shared ticket; B choosing
    assert [c.lock_id for c in conditional_blockers(found, True, 101.0, SKEW)] == [A]
    assert conditional_blockers(found, True, 100.0 + EXPIRES + 1, SKEW) == []  # expired


def test_the_state_document_round_trips() -> None:
    body = state_body([entry(A)], "r1")
    parsed = parse_state(Fetched(P + "state", body, '"x"', None, 5.0, 6.0))
    assert parsed.holders == [entry(A)] and parsed.rev == "r1" and parsed.etag == '"x"'
    with pytest.raises(LockError, match="not a lock state"):
        parse_state(Fetched(P + "state", b'{"holders": 3}', None, None, None, 0.0))
    with pytest.raises(LockError):
        parse_state(Fetched(P + "state", b"nope", None, None, None, 0.0))


# --- the sequential names and decisions -----------------------------------------------------------


def test_sequential_names_round_trip_and_refuse_strangers() -> None:
    key = seq_key(P, 1, False, 2.5, A, 7)
    name = parse_seq(P, key)
    assert name is not None
    assert (name.stage, name.exclusive, name.ttl, name.lock_id, name.ticket) == (
        1,
        False,
        2.5,
        A,
        7,
    )
    zero = parse_seq(P, seq_key(P, 0, True, 60, B))
    assert zero is not None and zero.ticket is None and zero.exclusive
    for stranger in (
        P + "state",
        P + "probe.123",
        P + f"seq-1.x.1000.{A}",  # a ticket object without a ticket
        P + f"seq-0.x.1000.{A}.3",  # a choosing object with one
        P + "seq-0.x.1000.notanid",
        P + f"seq-2.x.1000.{A}",
        "other/" + seq_key("", 0, True, 1, A),
    ):
        assert parse_seq(P, stranger) is None, stranger


def test_candidates_gather_each_contenders_objects() -> None:
    snap = snapshot(
        [
            (seq_key(P, 0, True, TTL, A), 100.0),
            (seq_key(P, 1, True, TTL, A, 4), 103.0),
            (seq_key(P, 1, True, TTL, A, 2), 101.0),  # a leftover: the smallest counts
            (seq_key(P, 0, False, TTL, B), None),
            (P + "state", 100.0),
        ],
        104.0,
    )
    found = candidates(P, snap)
    assert set(found) == {A, B}
    a = found[A]
    assert a.ticket == 2 and a.freshest() == 103.0 and a.created() == 100.0
    assert found[B].ticket is None and found[B].freshest() is None
    assert found[B].live(1e12, SKEW)  # no server time: never expired
    assert a.live(103.0 + EXPIRES, SKEW)
    assert not a.live(103.0 + EXPIRES + 0.001, SKEW)


def test_tickets_follow_every_live_one() -> None:
    snap = snapshot(
        [
            (seq_key(P, 1, True, TTL, A, 4), 100.0),
            (seq_key(P, 1, True, TTL, B, 9), 90.0),  # expires first: its number is free again
            (seq_key(P, 0, True, TTL, C), 100.0),
        ],
        100.0 + 1,
    )
    found = candidates(P, snap).values()
    assert next_ticket(found, C, 101.0, SKEW) == 10  # 9 is still live at 101
    assert next_ticket(found, C, 90.0 + EXPIRES + 1, SKEW) == 5
    assert next_ticket(found, A, 90.0 + EXPIRES + 1, SKEW) == 1  # our own ticket is not counted
    assert next_ticket([], C, 0.0, SKEW) == 1


def test_who_a_contender_waits_for() -> None:
    snap = snapshot(
        [
            (seq_key(P, 1, True, TTL, A, 3), 100.0),
            (seq_key(P, 1, False, TTL, B, 2), 100.0),
            (seq_key(P, 0, True, TTL, C), 100.0),
        ],
        101.0,
    )
    found = list(candidates(P, snap).values())
    me = "d" * 32
    choosing, ahead = sequential_blockers(found, me, 3, True, 101.0, SKEW)
    assert [c.lock_id for c in choosing] == [C]
    assert [c.lock_id for c in ahead] == [A, B]  # A ties on ticket 3 and has a smaller id
    choosing, ahead = sequential_blockers(found, "0" * 32, 3, True, 101.0, SKEW)
    assert [c.lock_id for c in ahead] == [B]  # the tie goes to the smaller lock id
    # a shared contender waits only for exclusive ones
    choosing, ahead = sequential_blockers(found, me, 5, False, 101.0, SKEW)
    assert [c.lock_id for c in choosing] == [C] and [c.lock_id for c in ahead] == [A]
    # expired contenders block nobody, and are the ones a winner reaps
    late = 100.0 + EXPIRES + 1
    assert sequential_blockers(found, me, 5, True, late, SKEW) == ([], [])
    assert {c.lock_id for c in expired_candidates(found, A, late, SKEW)} == {B, C}
    assert expired_candidates(found, A, 101.0, SKEW) == []


def test_a_contender_notices_its_objects_removed() -> None:
    k0, k1 = seq_key(P, 0, True, TTL, A), seq_key(P, 1, True, TTL, A, 1)
    assert not lost_objects({k0, k1}, k0, k1, True)
    assert not lost_objects({k1}, k0, k1, False)  # seq-0 deleted by ourselves
    assert lost_objects({k1}, k0, k1, True)  # seq-0 deleted by someone else
    assert lost_objects({k0}, k0, k1, True)


def test_what_counts_as_broken() -> None:
    assert was_broken([(False, True), (True, True)])
    assert not was_broken([(False, True), (True, False)])  # its ticket was renewed: survives
    assert was_broken([(False, True)])  # choosing, and its seq-0 went
    assert not was_broken([(False, False)])
    assert not was_broken([])


def test_polling_and_renewal_timing() -> None:
    assert poll_pause(0) == POLL_MIN == poll_pause(1)
    assert poll_pause(3) == 3 * POLL_MIN
    assert poll_pause(1000) == POLL_MAX
    assert renewal_delay(valid_until=110.0, ttl=30.0, interval=10.0, now=85.0) == 5.0
    assert renewal_delay(valid_until=110.0, ttl=30.0, interval=10.0, now=95.0) == 0.0
    assert retry_delay(left=8.0, interval=10.0) == 2.0
    assert retry_delay(left=0.01, interval=10.0) == 0.05
    assert retry_delay(left=100.0, interval=10.0) == 10.0


def test_what_break_other_locks_removes() -> None:
    # by default, only what the server's clock calls expired
    assert doomed(100.0, live=False, server_now=200.0, cutoff=None, age=None)
    assert not doomed(100.0, live=True, server_now=200.0, cutoff=None, age=None)
    # a cutoff: written at or before it, live or not
    assert doomed(100.0, live=True, server_now=0.0, cutoff=100.0, age=None)
    assert not doomed(100.5, live=False, server_now=0.0, cutoff=100.0, age=None)
    assert not doomed(None, live=False, server_now=0.0, cutoff=100.0, age=None)
    # an age: by the server's clock
    assert doomed(100.0, live=True, server_now=130.5, cutoff=None, age=30.0)
    assert not doomed(100.0, live=False, server_now=130.0, cutoff=None, age=30.0)


# --- the lease ------------------------------------------------------------------------------------


def test_a_lease_counts_from_when_its_write_was_sent() -> None:
    first = Written("k", None, None, sent=10.0, done=12.0)
    assert lease_after(first, -math.inf, 5.0, first=True) == 15.0
    late = Written("k", None, None, sent=10.0, done=15.0)
    with pytest.raises(Restart):
        lease_after(late, -math.inf, 5.0, first=True)  # answered after its own TTL
    renewal = Written("k", None, None, sent=13.0, done=14.9)
    assert lease_after(renewal, 15.0, 5.0, first=False) == 18.0
    with pytest.raises(Restart):  # answered after the lease it was to extend had ended
        lease_after(Written("k", None, None, sent=13.0, done=15.0), 15.0, 5.0, first=False)
    # an older write never shortens the lease
    assert lease_after(Written("k", None, None, 1.0, 2.0), 15.0, 5.0, first=False) == 15.0


# --- the steps, run on an in-memory store ---------------------------------------------------------


class MemoryStore:
    """A LockStore in a dict: conditional writes, server time = a settable clock."""

    kind = "memory"
    endpoint = "memory"
    bucket = "b"
    conditional = True
    max_connections = 10

    def __init__(self) -> None:
        self.objects: dict[str, tuple[bytes, str, float]] = {}
        self.clock = 1000.0
        self.log: list[str] = []

    def now(self) -> float:
        return self.clock

    def put(
        self, key: str, body: bytes, *, if_none_match: bool = False, if_match: str | None = None
    ) -> Written:
        self.log.append(f"put {key}")
        sent = mono()
        current = self.objects.get(key)
        if (if_none_match and current is not None) or (
            if_match is not None and (current is None or current[1] != if_match)
        ):
            raise PreconditionFailed(412, "PreconditionFailed", "", resource=key)
        etag = '"' + hashlib.md5(body).hexdigest() + '"'  # noqa: S324 - an ETag
        self.objects[key] = (body, etag, self.clock)
        return Written(key, etag, None, sent, mono(), retried=False)

    def get(self, key: str) -> Fetched | None:
        self.log.append(f"get {key}")
        current = self.objects.get(key)
        if current is None:
            return None
        return Fetched(key, current[0], current[1], None, current[2], self.clock)

    def delete(self, key: str, *, if_match: str | None = None) -> None:
        self.log.append(f"delete {key}")
        current = self.objects.get(key)
        if if_match is not None and (current is None or current[1] != if_match):
            raise PreconditionFailed(412, "PreconditionFailed", "", resource=key)
        self.objects.pop(key, None)

    def listing(self, prefix: str) -> Snapshot:
        self.log.append(f"list {prefix}")
        objects = [
            Listed(k, v[2], v[1], None)
            for k, v in sorted(self.objects.items())
            if k.startswith(prefix)
        ]
        return Snapshot(objects, self.clock, mono())

    def replace(
        self, key: str, old: Written, body: bytes, nonce: str, earlier: dict[str, float]
    ) -> Written:
        return self.put(key, body, if_match=old.etag)

    def delete_own(self, key: str, written: Written | None) -> bool:
        if key not in self.objects:
            return False
        self.delete(key)
        return True

    def delete_listed(self, obj: Listed) -> bool:
        try:
            self.delete(obj.key, if_match=obj.etag)
        except PreconditionFailed:
            return False
        return True

    def breakable(self, prefix: str, objects: list[Listed]) -> list[Listed]:
        return list(objects)

    def sweep(self, prefix: str, lock_id: str) -> None:
        pass

    def is_current(self, key: str, written: Written) -> bool:
        current = self.objects.get(key)
        return current is not None and current[1] == written.etag


def holders_of(store: MemoryStore) -> list[str]:
    return [h["id"] for h in json.loads(store.objects[P + "state"][0])["holders"]]


def test_conditional_steps_on_a_memory_store() -> None:
    store = MemoryStore()
    support = ConditionalSupport()
    support.delete_if_match = True
    proto = Conditional(store, P, TTL, SKEW, support)
    one, two = Hold(True, TTL), Hold(True, TTL)
    assert drive(proto.acquire(one, mono() + 5, False), store)
    assert store.log == [f"get {P}state", f"put {P}state", f"list {P}"]
    assert holders_of(store) == [one.lock_id] and one.sole
    assert one.valid_until > mono()
    assert not drive(proto.acquire(two, 0.0, True), store)  # held: a non-blocking try fails
    drive(proto.renew(one), store)
    assert drive(proto.verify(one), store)
    assert drive(proto.release(one), store)
    assert P + "state" not in store.objects  # the last holder deletes the state
    assert not drive(proto.verify(one), store)


def test_shared_conditional_holders_and_a_breaker() -> None:
    store = MemoryStore()
    proto = Conditional(store, P, TTL, SKEW, ConditionalSupport())
    readers = [Hold(False, TTL) for _ in range(2)]
    for reader in readers:
        assert drive(proto.acquire(reader, mono() + 5, False), store)
    assert holders_of(store) == [r.lock_id for r in readers]
    # the server's clock moves past the first reader's TTL (it stopped renewing)
    store.clock += EXPIRES + 1
    drive(proto.renew(readers[1]), store)
    assert holders_of(store) == [readers[1].lock_id]  # the renewal dropped the expired one
    gone = drive(proto.break_entries(lambda s, h: True), store)
    assert gone == {readers[1].lock_id}
    assert holders_of(store) == []  # emptied, never deleted by a breaker
    assert not drive(proto.release(readers[1]), store)  # it finds out it was broken


def test_sequential_steps_on_a_memory_store() -> None:
    store = MemoryStore()
    proto = Sequential(store, P, TTL, SKEW)
    first, second = Hold(True, TTL), Hold(True, TTL)
    assert drive(proto.acquire(first, mono() + 5, False), store)
    assert first.ticket == 1
    assert set(store.objects) == {first.key0, first.key1}
    assert not drive(proto.acquire(second, 0.0, True), store)  # first holds it
    assert set(store.objects) == {first.key0, first.key1}  # the loser withdrew
    assert drive(proto.verify(first), store)
    drive(proto.renew(first), store)
    assert drive(proto.release(first), store)
    assert store.objects == {}
    assert drive(proto.acquire(second, mono() + 5, False), store)
    # an expired contender (a dead holder) is reaped by the next winner
    store.clock += EXPIRES + 1
    third = Hold(True, TTL)
    assert drive(proto.acquire(third, mono() + 5, False), store)
    assert set(store.objects) == {third.key0, third.key1}


def test_retried_runs_again_after_transient_errors_only() -> None:
    from s3lite.errors import ServiceUnavailable

    answers: list[Any] = [ServiceUnavailable(503, "SlowDown", ""), "ok"]
    step: Step[Any] = retried(Act("get", "k"))
    action = next(step)
    assert isinstance(action, Act) and action.method == "get"
    action = step.throw(answers[0])
    assert isinstance(action, Sleep)  # backs off, then asks again
    assert isinstance(step.send(None), Act)
    with pytest.raises(StopIteration) as stop:
        step.send("ok")
    assert stop.value.value == "ok"
    # a definite answer is not retried
    step = retried(Act("get", "k"))
    next(step)
    with pytest.raises(NoSuchKey):
        step.throw(NoSuchKey(404, "NoSuchKey", ""))


class AsyncMemoryStore:
    """The same store with coroutine methods: what an asyncio session's store looks like."""

    def __init__(self, store: MemoryStore) -> None:
        self.store = store

    def __getattr__(self, name: str) -> Any:
        method = getattr(self.store, name)

        async def call(*args: Any, **kwargs: Any) -> Any:
            await asyncio.sleep(0)
            return method(*args, **kwargs)

        return call


async def drive_async(step: Step[Any], store: AsyncMemoryStore) -> Any:
    """A second driver: the same steps, each action awaited."""
    try:
        action = next(step)
        while True:
            try:
                if isinstance(action, Sleep):
                    await asyncio.sleep(max(0.0, action.seconds))
                    result = None
                else:
                    result = await getattr(store, action.method)(*action.args, **action.kwargs)
            except Exception as exc:
                action = step.throw(exc)
            else:
                action = step.send(result)
    except StopIteration as stop:
        return stop.value


def test_the_same_steps_run_on_an_asyncio_driver() -> None:
    memory = MemoryStore()
    store = AsyncMemoryStore(memory)

    async def scenario() -> list[bool]:
        conditional = Conditional(memory, P, TTL, SKEW, ConditionalSupport())
        sequential = Sequential(memory, "s.lock/", TTL, SKEW)
        a, b = Hold(True, TTL), Hold(True, TTL)
        got = [await drive_async(conditional.acquire(a, mono() + 5, False), store)]
        got.append(await drive_async(conditional.acquire(Hold(True, TTL), 0.0, True), store))
        got.append(await drive_async(sequential.acquire(b, mono() + 5, False), store))
        got.append(await drive_async(conditional.release(a), store))
        got.append(await drive_async(sequential.release(b), store))
        return got

    assert asyncio.run(scenario()) == [True, False, True, True, True]
    assert memory.objects == {P + "state": memory.objects[P + "state"]}  # emptied state
    assert holders_of(memory) == []


def test_the_conditional_write_probe_runs_as_steps() -> None:
    store = MemoryStore()
    support = ConditionalSupport()
    drive(probe_sequential(P + "probe.x", support), store)
    assert (support.if_none_match, support.if_match, support.delete_if_match) == (True,) * 3
    assert store.objects == {}  # the probe's object is gone
    assert support.atomic is None and not support.usable  # a race was not run

    class Careless(MemoryStore):
        """A server that ignores If-None-Match."""

        def put(
            self,
            key: str,
            body: bytes,
            *,
            if_none_match: bool = False,
            if_match: str | None = None,
        ) -> Written:
            return super().put(key, body, if_match=if_match)

    careless = Careless()
    refused = ConditionalSupport()
    drive(probe_sequential(P + "probe.y", refused), careless)
    assert not refused.if_none_match and "succeeded" in refused.detail
    assert careless.objects == {}


def test_settings_are_checked_before_any_request() -> None:
    settings = lock_settings(
        "k", ttl=6, prefix=None, protocol="auto", exclusive=1, heartbeat=None,
        clock_skew=0, lock_id=None,
    )  # fmt: skip
    assert (settings.prefix, settings.ttl, settings.heartbeat, settings.exclusive) == (
        "k.lock/",
        6.0,
        2.0,
        True,
    )
    bad: list[dict[str, Any]] = [
        {"lock_id": "nope"},
        {"protocol": "fastest"},
        {"ttl": 0},
        {"ttl": math.inf},
        {"clock_skew": -1},
        {"heartbeat": 6},
        {"prefix": ""},
    ]
    for change in bad:
        args: dict[str, Any] = {
            "ttl": 6, "prefix": None, "protocol": "auto", "exclusive": True,
            "heartbeat": None, "clock_skew": 0, "lock_id": None, **change,
        }  # fmt: skip
        with pytest.raises(ValueError):
            lock_settings("k", **args)
    with pytest.raises(TypeError):
        lock_settings(
            "k", ttl="6", prefix=None, protocol="auto", exclusive=True, heartbeat=None,
            clock_skew=0, lock_id=None,
        )  # fmt: skip
    conditional = settings_for("k", protocol="conditional")
    with pytest.raises(ValueError, match="B2 has no conditional writes"):
        check_names(conditional, conditional_store=False)
    check_names(conditional, conditional_store=True)
    with pytest.raises(ValueError, match="too long"):
        check_names(settings_for("k" * 1000), conditional_store=True)


def settings_for(key: str, protocol: str = "auto") -> LockSettings:
    return lock_settings(
        key, ttl=6, prefix=None, protocol=protocol, exclusive=True, heartbeat=None,
        clock_skew=0, lock_id=None,
    )  # fmt: skip
