"""Cross-process broker on Redis (>= 6.2): one stream per run as the event log, Pub/Sub to wake subscribers.

A stream entry holds one write's events of the run, a field per event (`"<seq> <event>": data`), and its id is
the highest seq in it (`{seq}-0`). So "the entries after id N" are exactly those holding events after seq N,
and a subscriber's only state is one cursor: each read returns what follows it, whether it was written before
the subscriber came (replay) or after (live), with no gap and, skipping seqs at or below the cursor, no
duplicate. The end marker gets an entry of its own, so the last entry tells whether the run ended.

Wake-ups carry no events, only "read again"; a lost one costs a poll interval, never an event. Subscribers
read without BLOCK: a blocked XREAD holds a pooled connection for its whole wait, which would tie Redis
connections (and redis-py's default pool limit of 100) to the number of open SSE streams.

Publishing buffers events while a write is in flight, then writes one entry per run in one pipeline: a token
costs a field of an XADD, not a command. redis-py parses replies in Python, so commands and entries are what
cost (10,000 tokens to a live subscriber: ~0.3 s this way, ~1.2 s as an entry each, ~10 s as an XADD each).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from collections.abc import AsyncIterator, Iterator
from typing import Any, cast
from uuid import UUID

from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.exceptions import ResponseError
from redis.typing import EncodableT, FieldT

from agent_server.streaming.events import END, FIRST_SEQ, StreamEvent

logger = logging.getLogger(__name__)

POLL_INTERVAL = 1.0  # seconds a subscriber waits for a wake-up before reading anyway
READ_COUNT = 16  # entries per read (each holds up to MAX_BATCH events)
MAX_BATCH = 1_000  # events per write
HIGH_WATER = 10_000  # buffered events at which publishers wait for the writer
ACTIVE_TTL_SECONDS = 24 * 3600  # refreshed by every write: a stream a crashed worker left behind still expires

Pending = tuple[UUID, int, str, bytes]
Entry = tuple[bytes, dict[bytes, bytes]]  # the client returns bytes: decode_responses is off
Fields = dict[FieldT, EncodableT]


class RedisBroker:
    def __init__(self, url: str, *, prefix: str = "olg", max_events_per_run: int = 10_000,
                 retention_seconds: int = 3600) -> None:
        self._redis = Redis.from_url(url)
        self._prefix = prefix
        self._channel = f"{prefix}:run_events"
        self._max_events = max_events_per_run
        self._retention = retention_seconds
        self._buffer: list[Pending] = []
        self._writer: asyncio.Task[None] | None = None
        self._waiters: dict[str, set[asyncio.Event]] = defaultdict(set)
        self._pubsub: PubSub | None = None
        self._listener: asyncio.Task[None] | None = None

    def key(self, run_id: UUID) -> str:
        return f"{self._prefix}:run_events:{run_id}"

    async def start(self) -> None:
        self._pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
        await self._pubsub.subscribe(self._channel)
        self._listener = asyncio.create_task(self._listen(self._pubsub), name="redis-broker-listener")

    async def stop(self) -> None:
        try:
            await self._flush()
        finally:
            if self._listener is not None:
                self._listener.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._listener
            if self._pubsub is not None:
                await self._pubsub.aclose()  # type: ignore[no-untyped-call]
            await self._redis.aclose()

    async def next_seq(self, run_id: UUID) -> int:
        await self._flush()
        last = await self._last_entry(run_id)
        return entry_seq(last[0]) + 1 if last else FIRST_SEQ

    async def publish(self, run_id: UUID, seq: int, event: str, data: bytes) -> None:
        self._buffer.append((run_id, seq, event, data))
        if len(self._buffer) >= HIGH_WATER:
            await self._flush()
        elif self._writer is None or self._writer.done():
            self._start_writer()

    async def close(self, run_id: UUID, seq: int) -> None:
        await self._flush()
        await self._write([(run_id, seq, END, b"null")])

    async def is_closed(self, run_id: UUID) -> bool:
        last = await self._last_entry(run_id)
        return last is not None and any(event.is_end for event in entry_events(last))

    async def subscribe(self, run_id: UUID, after: int | None = None) -> AsyncIterator[StreamEvent]:
        wakeup = asyncio.Event()
        self._waiters[str(run_id)].add(wakeup)
        cursor = after or 0
        try:
            while True:
                wakeup.clear()
                entries = await self._read(run_id, cursor)
                for entry in entries:
                    for event in entry_events(entry):
                        if event.seq <= cursor:
                            continue
                        if event.is_end:
                            return
                        cursor = event.seq
                        yield event
                    cursor = max(cursor, entry_seq(entry[0]))
                if len(entries) < READ_COUNT:  # read to the end; what comes next wakes us (set since clear())
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(wakeup.wait(), timeout=POLL_INTERVAL)
        finally:
            self._forget_waiter(str(run_id), wakeup)

    async def _read(self, run_id: UUID, cursor: int) -> list[Entry]:
        return stream_entries(await self._redis.xread({self.key(run_id): f"{cursor}-0"}, count=READ_COUNT))

    async def _last_entry(self, run_id: UUID) -> Entry | None:
        entries = cast(list[Entry], await self._redis.xrevrange(self.key(run_id), count=1))
        return entries[0] if entries else None

    def _start_writer(self) -> asyncio.Task[None]:
        self._writer = asyncio.create_task(self._drain(), name="redis-broker-writer")
        self._writer.add_done_callback(_log_failure)
        return self._writer

    async def _drain(self) -> None:
        while self._buffer:
            batch, self._buffer = self._buffer[:MAX_BATCH], self._buffer[MAX_BATCH:]
            await self._write(batch)

    async def flush(self) -> None:
        await self._flush()

    async def _flush(self) -> None:
        """Return once everything published so far is written; raises why a write failed."""
        while self._buffer or (self._writer is not None and not self._writer.done()):
            writer = self._writer if self._writer is not None and not self._writer.done() else self._start_writer()
            await asyncio.shield(writer)

    async def _write(self, batch: list[Pending]) -> None:
        pipe = self._redis.pipeline(transaction=False)
        closed = {run_id for run_id, _, event, _ in batch if event == END}
        for run_id, (last_seq, fields) in entries_by_run(batch).items():
            key = self.key(run_id)
            # Exact MINID keeps at least max_events events (at most one write more); entries are few, so it is cheap.
            pipe.xadd(key, fields, id=f"{last_seq}-0", minid=max(0, last_seq - self._max_events), approximate=False)
            pipe.expire(key, self._retention if run_id in closed else ACTIVE_TTL_SECONDS)
            pipe.publish(self._channel, str(run_id))
        for result in await pipe.execute(raise_on_error=False):
            if isinstance(result, Exception) and not is_stale_id(result):
                raise result

    async def _listen(self, pubsub: PubSub) -> None:
        while True:
            try:
                async for message in pubsub.listen():
                    self._wake(message["data"].decode())
            except Exception:
                logger.warning("Redis Pub/Sub connection lost; reconnecting", exc_info=True)
            await asyncio.sleep(1.0)
            for group in self._waiters.values():  # notifications may have been missed: everyone re-reads
                for event in group:
                    event.set()

    def _wake(self, run_id: str) -> None:
        for event in self._waiters.get(run_id, ()):
            event.set()

    def _forget_waiter(self, key: str, wakeup: asyncio.Event) -> None:
        self._waiters[key].discard(wakeup)
        if not self._waiters[key]:
            del self._waiters[key]


def entries_by_run(batch: list[Pending]) -> dict[UUID, tuple[int, Fields]]:
    """Each run's events of a batch as one stream entry: its id (the highest seq) and a field per event."""
    entries: dict[UUID, tuple[int, Fields]] = {}
    for run_id, seq, event, data in batch:
        last_seq, fields = entries.get(run_id, (0, {}))
        fields.setdefault(b"%d %s" % (seq, event.encode()), data)  # the first publish of an event wins
        entries[run_id] = (max(last_seq, seq), fields)
    return entries


def entry_events(entry: Entry) -> Iterator[StreamEvent]:
    for name, data in entry[1].items():
        seq, event = name.split(b" ", 1)
        yield StreamEvent(int(seq), event.decode(), data)


def entry_seq(entry_id: bytes) -> int:
    return int(entry_id.split(b"-", 1)[0])


def stream_entries(response: Any) -> list[Entry]:
    """The entries of a one-stream XREAD reply, in its RESP2 (list) or RESP3 (dict) shape."""
    if not response:
        return []
    if isinstance(response, dict):
        return list(next(iter(response.values()))[0])
    return list(response[0][1])


def is_stale_id(error: Exception) -> bool:
    """XADD refused an id at or below the stream's last one: those events are already there (a replayed write)."""
    return isinstance(error, ResponseError) and "equal or smaller than the target stream top item" in str(error)


def _log_failure(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and (error := task.exception()) is not None:
        logger.error("writing run events to Redis failed", exc_info=error)
