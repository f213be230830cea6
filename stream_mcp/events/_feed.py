"""The event feed: what agents wait on. Webhooks fill it, Sync fills its gaps, scope guards it.

``wait`` answers at once when events newer than the cursor exist, otherwise it long-polls the
store. ``run`` is the feed's background work: it calls Stream's ``Sync`` for the followed
channels every ``sync_interval`` seconds (sooner while someone waits), signed as a member of
each channel, and prunes by the retention. Sync goes through the service like any call, so
policy, budget and audit apply to the server's own reads too.

Scope: a caller sees an event only if it could have read it through ``execute_operation``: an
event in a channel where one of its users (allowed by both the profile and the caller) is a
member, or a user event about one of its users. Membership is learned from member events and
from Sync's and QueryChannels' answers, and looked up once for a channel never seen before.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from fnmatch import fnmatchcase
from typing import TYPE_CHECKING, Any

import anyio

from stream_mcp.errors import StreamAPIError, StreamMCPError, ValidationError
from stream_mcp.events._model import Event, NewEvent, normalise
from stream_mcp.events._store import EventStore, Retention
from stream_mcp.observability import Redactor, get_logger

if TYPE_CHECKING:
    from stream_mcp.service import Caller, StreamService

log = get_logger("stream_mcp.events")

DEFAULT_WAIT = 25.0
MAX_WAIT = 60.0
DEFAULT_LIMIT = 20
MAX_LIMIT = 100
MAX_FILTERS = 50
READ_BATCH = 200
SYNC_OVERLAP = timedelta(seconds=2)  # re-read a little: clocks and in-flight writes
SYNC_CIDS_PER_CALL = 50
FAST_SYNC = 2.0  # seconds between Syncs while someone waits
DISCOVER_EVERY = 10  # rounds between membership discoveries
DISCOVER_USERS = 20
SYNC_MARK = "sync_at"
REQUESTED_FOR = 600.0  # seconds a channel named in a wait stays followed
MAX_LOOKUPS = 10_000
MAX_REQUESTED = 100  # bounds the Sync calls agents can cause by naming channels
STOP_CHECK = 1.0  # seconds: how soon a wait notices a shutdown
_CURSOR = re.compile(r"[0-9]{1,18}")
_TYPE_GLOB = re.compile(r"[a-z0-9_.*?\[\]-]{1,128}")
_CID_GLOB = re.compile(r"[A-Za-z0-9_!:*?\[\]@-]{1,320}")

Notify = Callable[[tuple[Event, ...]], Awaitable[None]]


@dataclass(frozen=True)
class FeedConfig:
    """What the feed follows and how often it fills gaps.

    ``channels`` holds cids or cid globs; empty means every channel an allowed user is a
    member of. ``sync_interval`` 0 turns Sync off (webhooks only).
    """

    channels: tuple[str, ...] = ()
    sync_interval: float = 10.0
    fast_sync: float = FAST_SYNC
    retention: Retention = field(default_factory=Retention)


@dataclass(frozen=True)
class WaitRequest:
    after: int | None
    types: tuple[str, ...]
    channels: tuple[str, ...]
    timeout: float
    limit: int
    detail: str

    @classmethod
    def parse(cls, args: Mapping[str, Any]) -> WaitRequest:
        """Check the tool's arguments; every refusal names its field."""
        after = _blank(args.get("after"))
        if after is not None:
            if not isinstance(after, str | int) or isinstance(after, bool):
                raise ValidationError("after: expected the 'next' cursor string", field="after")
            if not _CURSOR.fullmatch(str(after)):
                raise ValidationError(
                    "after: not a cursor; pass the 'next' value of the last answer", field="after"
                )
        timeout = _blank(args.get("timeout_seconds"))
        timeout = DEFAULT_WAIT if timeout is None else timeout
        if isinstance(timeout, bool) or not isinstance(timeout, int | float):
            raise ValidationError("timeout_seconds: expected a number", field="timeout_seconds")
        if not 0 <= timeout <= MAX_WAIT:
            raise ValidationError(
                f"timeout_seconds: must be between 0 and {MAX_WAIT:g}", field="timeout_seconds"
            )
        limit = _blank(args.get("limit"))
        limit = DEFAULT_LIMIT if limit is None else limit
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
            raise ValidationError(f"limit: expected an integer 1..{MAX_LIMIT}", field="limit")
        detail = _blank(args.get("detail")) or "compact"
        if detail not in ("compact", "full"):
            raise ValidationError("detail: expected 'compact' or 'full'", field="detail")
        return cls(
            after=None if after is None else int(after),
            types=_globs(args.get("types"), "types", _TYPE_GLOB),
            channels=_globs(args.get("channels"), "channels", _CID_GLOB),
            timeout=float(timeout),
            limit=limit,
            detail=str(detail),
        )

    def matches(self, event: Event) -> bool:
        if self.types and not any(fnmatchcase(event.type, g) for g in self.types):
            return False
        if self.channels:
            return event.cid is not None and any(fnmatchcase(event.cid, g) for g in self.channels)
        return True


class EventFeed:
    """One profile's feed over a store; the server's tools and background task use it."""

    def __init__(
        self,
        store: EventStore,
        service: StreamService,
        config: FeedConfig | None = None,
        *,
        redactor: Redactor | None = None,
    ) -> None:
        self.store = store
        self._service = service
        self.config = config or FeedConfig()
        self._redactor = redactor or service.redactor()
        self._listeners: list[Notify] = []
        self._waiters = 0
        self._nudge = anyio.Event()
        self._last_sync = -1e9
        self._rounds = 0
        self._lookups: dict[str, float] = {}
        self._stopping = False
        self._listening = False  # no Sync until an agent first waits: silence costs nothing
        self._requested: dict[str, float] = {}  # exact cids agents wait on → when last asked

    def __repr__(self) -> str:
        return f"EventFeed({self.store!r})"

    # ------------------------------------------------------------------ intake side

    def stop_waiting(self) -> None:
        """Shutting down: every wait answers within a second with what it has (plain flag:
        safe to call from a signal handler)."""
        self._stopping = True

    def on_new_events(self, listener: Notify) -> None:
        """Call ``listener`` with every batch of newly stored events (notifications)."""
        self._listeners.append(listener)

    async def learned(self, events: tuple[Event, ...]) -> None:
        """Update membership from stored events and tell the listeners. Webhook intake and
        Sync both end here."""
        if not events:
            return
        await learn_membership(self.store, events)
        for listener in tuple(self._listeners):
            try:
                await listener(events)
            except Exception as exc:  # a notification must never lose an event
                log.warning("event_listener_failed", error=exc.__class__.__name__)

    async def observe(self, result: Mapping[str, Any]) -> None:
        """Learn channels and members from an agent's own call result (a channel it created
        or wrote to is one it will want to hear from)."""
        data = result.get("data")
        if not isinstance(data, Mapping):
            return
        entries: list[Any] = [data]
        channels = data.get("channels")
        if isinstance(channels, list):
            entries += channels[:100]
        await self.store.set_members(_member_lists(entries))
        message = data.get("message")
        if isinstance(message, Mapping):
            cid, author = message.get("cid"), _id(message.get("user"))
            if isinstance(cid, str) and cid and author:
                await self.store.change_member(cid, author, present=True)

    # ------------------------------------------------------------------ agent side

    async def wait(self, request: WaitRequest, caller: Caller) -> dict[str, Any]:
        """Events newer than ``request.after`` that the caller may see and asked for."""
        cursor = await self.store.head() if request.after is None else request.after
        deadline = anyio.current_time() + request.timeout
        found: list[Event] = []
        seen: dict[str, bool] = {}
        self._waiters += 1
        self._listening = True
        self._remember_requested(request.channels)
        try:
            self._nudge.set()  # on demand: the loop syncs now, or soon if it just did
            while True:
                batch = await self.store.read(cursor, READ_BATCH)
                for event in batch:
                    cursor = event.seq
                    if request.matches(event) and await self.visible(event, caller, seen):
                        found.append(event)
                        if len(found) >= request.limit:
                            break
                if found:
                    break
                if len(batch) == READ_BATCH:
                    continue  # more to scan before waiting
                left = deadline - anyio.current_time()
                if left <= 0 or self._stopping:
                    break
                await self.store.wait(cursor, min(left, STOP_CHECK))
        finally:
            self._waiters -= 1
        full = request.detail == "full"
        return {"events": [e.full() if full else e.compact() for e in found], "next": str(cursor)}

    def _remember_requested(self, channels: Iterable[str]) -> None:
        """Channels an agent names exactly are followed for a while, even if the feed never
        saw them (Sync is their only source on a laptop)."""
        now = anyio.current_time()
        for cid in channels:
            if ":" in cid and not any(ch in cid for ch in "*?["):
                self._requested[cid] = now
        for cid, asked in list(self._requested.items()):
            if now - asked > REQUESTED_FOR or len(self._requested) > MAX_REQUESTED:
                del self._requested[cid]

    async def recent(self, caller: Caller, count: int = DEFAULT_LIMIT) -> dict[str, Any]:
        """The newest ``count`` events the caller may see (the events resource), and the
        cursor to wait from."""
        head = await self.store.head()
        batch = [e for e in await self.store.latest(READ_BATCH) if e.seq <= head]
        cache: dict[str, bool] = {}
        shown = [e for e in batch if await self.visible(e, caller, cache)][-count:]
        return {"events": [e.compact() for e in shown], "next": str(head)}

    async def visible(
        self, event: Event, caller: Caller, seen: dict[str, bool] | None = None
    ) -> bool:
        """Whether ``caller`` could have read ``event``; ``seen`` caches the answer per
        channel for one read (a batch of one channel's events costs one lookup).

        A member event carries its own change: the channel's members are the store's with
        that change applied, so the answer holds even when a waiter reads the event before
        the intake has written the change to the store (it does so just after storing).
        """
        policy = self._service.credentials.policy
        if policy.unrestricted and caller.unrestricted:
            return True

        def allowed(user: str) -> bool:
            return policy.allows_user(user) and caller.allows_user(user)

        cid = event.cid
        if cid is None:
            return any(allowed(u) for u in (event.user_id, *event.subjects) if u)
        seen = {} if seen is None else seen
        change = _membership_change(event)
        if change is None and cid in seen:
            return seen[cid]
        members = set(await self._members(cid))
        if change is not None:
            user, present = change
            if user is None:
                members.clear()  # the channel is gone
            elif present:
                members.add(user)
            else:
                members.discard(user)
        seen[cid] = any(allowed(u) for u in members)
        return seen[cid]

    async def _members(self, cid: str) -> frozenset[str]:
        known = await self.store.members(cid)
        if known is not None:
            return known
        now = anyio.current_time()
        if now - self._lookups.get(cid, -1e9) < 30:
            return frozenset()  # looked up lately and failed: don't hammer Stream
        if len(self._lookups) >= MAX_LOOKUPS:
            self._lookups.clear()  # only a pacing hint: forgetting it costs one more lookup
        self._lookups[cid] = now
        try:
            await self._discover({"cid": {"$eq": cid}}, as_user=None)
        except StreamMCPError as exc:
            log.info("membership_lookup_failed", cid=cid, error=exc.kind)
            return frozenset()
        return await self.store.members(cid) or frozenset()

    # ------------------------------------------------------------------ background

    async def run(self) -> None:
        """Sync and prune until cancelled. Failures are logged and retried next round.

        Nothing is synced until an agent first waits (an app whose agents never listen pays
        no Sync calls); from then on a Sync is due ``sync_interval`` seconds after the last
        one, or ``fast_sync`` seconds after it while an agent waits, and a new wait wakes the
        loop so it can sync at once.
        """
        await self._prune()
        interval = self.config.sync_interval
        while True:
            now = anyio.current_time()
            period = min(interval, self.config.fast_sync) if self._waiters else interval
            if self._listening and interval > 0 and now - self._last_sync >= period:
                try:
                    await self.sync_once()
                except StreamMCPError as exc:
                    log.warning("sync_failed", error=exc.kind, reason=str(exc))
                except Exception as exc:
                    log.exception("sync_crashed", error=exc.__class__.__name__)
                self._rounds += 1
                if self._rounds % 100 == 0:
                    await self._prune()
                continue
            pause = self._last_sync + period - now if interval > 0 and self._listening else 3600.0
            self._nudge = anyio.Event()
            with anyio.move_on_after(max(pause, 0.01)):
                await self._nudge.wait()

    async def _prune(self) -> None:
        try:
            gone = await self.store.prune(self.config.retention)
        except StreamMCPError as exc:
            log.warning("prune_failed", error=exc.kind)
            return
        if gone:
            log.info("events_pruned", count=gone)

    async def sync_once(self) -> int:
        """One gap-filling round over the followed channels; returns events newly stored."""
        self._last_sync = anyio.current_time()
        started = datetime.now(UTC)
        if self._rounds % DISCOVER_EVERY == 0:
            await self._discover_members()
        mark = await self.store.get_mark(SYNC_MARK)
        since = _parse(mark) or (started - timedelta(minutes=1))
        groups = await self._groups()
        stored = 0
        complete = True
        for signer, cids in groups.items():
            for start in range(0, len(cids), SYNC_CIDS_PER_CALL):
                chunk = cids[start : start + SYNC_CIDS_PER_CALL]
                try:
                    stored += await self._sync_chunk(signer, chunk, since - SYNC_OVERLAP)
                except StreamMCPError as exc:
                    complete = False
                    log.info("sync_chunk_failed", user=signer, error=exc.kind)
        if complete:
            await self.store.set_mark(SYNC_MARK, started.isoformat())
        return stored

    async def _sync_chunk(self, signer: str, cids: list[str], since: datetime) -> int:
        """One Sync call; Stream answers every event or refuses with "too many events", and
        then the channels are synced in halves."""
        try:
            result = await self._service.execute(
                "Sync",
                {
                    "channel_cids": cids,
                    "last_sync_at": since.isoformat().replace("+00:00", "Z"),
                    "with_inaccessible_cids": True,
                },
                as_user=signer,
                detail="raw",
                capped=False,
            )
        except StreamAPIError as exc:
            if len(cids) > 1 and "too many events" in str(exc).lower():
                half = len(cids) // 2
                first = await self._sync_chunk(signer, cids[:half], since)
                return first + await self._sync_chunk(signer, cids[half:], since)
            raise
        data = result.get("data") or {}
        events: list[NewEvent] = []
        for payload in data.get("events") or ():
            if not isinstance(payload, Mapping):
                continue
            try:
                events.append(normalise(self._redactor.value(payload), "sync"))
            except StreamMCPError:
                continue
        appended = await self.store.append(events)
        await self.learned(appended.stored)
        return len(appended.stored)

    async def _groups(self) -> dict[str, list[str]]:
        """Followed channels grouped by the allowed member each is synced as."""
        policy = self._service.credentials.policy
        default = policy.default_user
        known = await self.store.known_channels()
        exact = [c for c in self.config.channels if not any(ch in c for ch in "*?[")]
        if self.config.channels:
            followed = {c for c in known if any(fnmatchcase(c, g) for g in self.config.channels)}
            followed.update(exact)
        else:
            followed = set(known)
        asked = set(self._requested)
        groups: dict[str, list[str]] = {}
        for cid in sorted(followed | asked):
            members = await self.store.members(cid) or frozenset()
            allowed = sorted(u for u in members if policy.allows_user(u))
            if not self.config.channels and not allowed and cid not in asked:
                continue  # nobody we may act as is in it: not ours to follow
            signer = default if (default in members or not allowed) else allowed[0]
            if signer is None:
                continue
            groups.setdefault(signer, []).append(cid)
        return groups

    async def _discover_members(self) -> None:
        """Learn the channels of the users we know by name (default and exact allowed)."""
        policy = self._service.credentials.policy
        users = [u for u in (policy.default_user, *policy.allowed_users) if u]
        concrete = [u for u in dict.fromkeys(users) if not any(ch in u for ch in "*?[")]
        for user in concrete[:DISCOVER_USERS]:
            try:
                await self._discover({"members": {"$in": [user]}}, as_user=user)
            except StreamMCPError as exc:
                log.info("discovery_failed", user=user, error=exc.kind)

    async def _discover(self, condition: dict[str, Any], as_user: str | None) -> None:
        result = await self._service.execute(
            "QueryChannels",
            {"filter_conditions": condition, "limit": 30, "state": True, "member_limit": 100},
            as_user=as_user,
            detail="raw",
            capped=False,
        )
        channels = (result.get("data") or {}).get("channels") or ()
        await self.store.set_members(_member_lists(channels))


def _member_lists(entries: Iterable[Any]) -> dict[str, list[str]]:
    """cid → member ids, from answers that carry channels with their members (GetOrCreate-
    Channel, QueryChannels: ``{"channel": {"cid"}, "members": [...]}``, or the members
    inside the channel object)."""
    found: dict[str, list[str]] = {}
    for entry in entries:
        if not isinstance(entry, Mapping):
            continue
        channel = entry.get("channel")
        cid = channel.get("cid") if isinstance(channel, Mapping) else None
        members = entry.get("members")
        if not isinstance(members, list) and isinstance(channel, Mapping):
            members = channel.get("members")
        if isinstance(cid, str) and isinstance(members, list):
            ids = (_member_id(m) for m in members if isinstance(m, Mapping))
            found[cid] = [m for m in ids if m]
    return found


async def learn_membership(store: EventStore, events: Iterable[Event]) -> None:
    """Keep the store's membership in step with member events (and member lists that some
    payloads carry), so scope and Sync's signer need no lookups for known channels."""
    for event in events:
        cid, kind, payload = event.cid, event.type, event.payload
        if not cid:
            continue
        change = _membership_change(event)
        if change is not None:
            user, present = change
            if user is None:
                await store.set_members({cid: ()})
            else:
                await store.change_member(cid, user, present=present)
        members = payload.get("members")
        if isinstance(members, list) and kind not in ("member.removed", "channel.deleted"):
            for entry in members:
                user = _member_id(entry) if isinstance(entry, Mapping) else None
                if user:
                    await store.change_member(cid, user, present=True)


def _membership_change(event: Event) -> tuple[str | None, bool] | None:
    """(user, present) for a member event, (None, False) for a deleted channel, else None."""
    if event.type == "channel.deleted":
        return None, False
    if event.type not in ("member.added", "member.updated", "member.removed"):
        return None
    member = event.payload.get("member")
    user = _member_id(member) if isinstance(member, Mapping) else None
    user = user or _id(event.payload.get("user"))
    return (user, event.type != "member.removed") if user else None


def _blank(value: Any) -> Any:
    return None if value == "" else value


def _globs(value: Any, field: str, pattern: re.Pattern[str]) -> tuple[str, ...]:
    value = _blank(value)
    if value is None:
        return ()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or len(value) > MAX_FILTERS:
        raise ValidationError(
            f"{field}: expected a list of at most {MAX_FILTERS} strings", field=field
        )
    out: list[str] = []
    for item in value:
        if not isinstance(item, str) or not pattern.fullmatch(item):
            raise ValidationError(f"{field}: {str(item)[:40]!r} is not a valid entry", field=field)
        out.append(item)
    return tuple(dict.fromkeys(out))


def _id(value: Any) -> str | None:
    if isinstance(value, Mapping) and isinstance(value.get("id"), str) and value["id"]:
        return str(value["id"])
    return None


def _member_id(member: Mapping[str, Any]) -> str | None:
    user_id = member.get("user_id")
    if isinstance(user_id, str) and user_id:
        return user_id
    return _id(member.get("user"))


def _parse(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def channel_list(value: str | Iterable[str]) -> tuple[str, ...]:
    """``"a, b"`` or a list → a tuple of cids/globs (settings and CLI flags share it)."""
    items: Sequence[str] = value.split(",") if isinstance(value, str) else list(value)
    return tuple(dict.fromkeys(i.strip() for i in items if i.strip()))
