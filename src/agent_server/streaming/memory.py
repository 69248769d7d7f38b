"""Single-process broker: events pass in memory, with a bounded replay buffer per run.

A finished run's events stay for late joiners (`GET .../stream`, `/join`) until the retention ends or, sooner,
until the finished runs together hold more than `max_retained_bytes` (8 MB: some 150 runs of 50 tokens): the
oldest go first. That bound keeps the process's memory near idle after a burst of runs: 300 s of them used to
hold 200+ MB (bench: RSS 356 MB after 32 concurrent streams for 10 s, 162 MB with a 16 MB bound).
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import AsyncIterator
from uuid import UUID

from agent_server.streaming.events import END, FIRST_SEQ, StreamEvent

EVENT_OVERHEAD_BYTES = 200  # the StreamEvent, its bytes object and its slot in the list, besides the data
FORGOTTEN_RUNS_KEPT = 10_000  # ids of dropped runs remembered, so that a late subscriber ends at once


class RunChannel:
    def __init__(self, max_events: int) -> None:
        self.events: list[StreamEvent] = []
        self.max_events = max_events
        self.dropped = 0  # events trimmed from the front of the replay buffer
        self.closed = False
        self.closed_at = 0.0
        self._wakeup = asyncio.Event()

    def append(self, event: StreamEvent) -> None:
        self.events.append(event)
        if len(self.events) > self.max_events:
            overflow = len(self.events) - self.max_events
            del self.events[:overflow]
            self.dropped += overflow
        self._wakeup.set()
        self._wakeup = asyncio.Event()

    async def wait(self) -> None:
        await self._wakeup.wait()

    def after(self, seq: int) -> list[StreamEvent]:
        if not self.events or self.events[-1].seq <= seq:
            return []
        start = 0
        for index in range(len(self.events) - 1, -1, -1):
            if self.events[index].seq <= seq:
                start = index + 1
                break
        return self.events[start:]

    def size(self) -> int:
        return sum(len(event.data) for event in self.events) + EVENT_OVERHEAD_BYTES * len(self.events)


class MemoryBroker:
    def __init__(self, max_events_per_run: int = 10_000, retention_seconds: float = 300.0,
                 max_retained_bytes: int = 8 * 1024 * 1024) -> None:
        self._channels: dict[UUID, RunChannel] = {}
        self._max_events = max_events_per_run
        self._retention = retention_seconds
        self._max_retained = max_retained_bytes
        self._finished: OrderedDict[UUID, int] = OrderedDict()  # closed runs, oldest first -> their size
        self._retained = 0
        self._forgotten: OrderedDict[UUID, None] = OrderedDict()

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        self._channels.clear()
        self._finished.clear()
        self._retained = 0

    async def flush(self) -> None:
        return None

    def _channel(self, run_id: UUID) -> RunChannel:
        channel = self._channels.get(run_id)
        if channel is None:
            channel = self._channels[run_id] = RunChannel(self._max_events)
            self._forgotten.pop(run_id, None)
        return channel

    async def next_seq(self, run_id: UUID) -> int:
        channel = self._channels.get(run_id)
        return channel.events[-1].seq + 1 if channel and channel.events else FIRST_SEQ

    async def publish(self, run_id: UUID, seq: int, event: str, data: bytes) -> None:
        # A copy of the data's size: orjson's output keeps its whole buffer (4 KB for a 100-byte event), and a
        # finished run's events are kept a while.
        self._channel(run_id).append(StreamEvent(seq, event, bytes(memoryview(data))))

    async def close(self, run_id: UUID, seq: int) -> None:
        channel = self._channel(run_id)
        channel.closed = True
        channel.append(StreamEvent(seq, END, b"null"))
        now = asyncio.get_running_loop().time()
        channel.closed_at = now
        size = channel.size()
        self._retained += size - self._finished.pop(run_id, 0)
        self._finished[run_id] = size
        self._trim(now)

    def _trim(self, now: float) -> None:
        """Forget finished runs past the retention, then the oldest while over the byte bound."""
        while self._finished:
            run_id, size = next(iter(self._finished.items()))
            channel = self._channels.get(run_id)
            expired = channel is None or now - channel.closed_at >= self._retention
            if not expired and self._retained <= self._max_retained:
                return
            del self._finished[run_id]
            self._retained -= size
            self._forget(run_id)

    def _forget(self, run_id: UUID) -> None:
        self._channels.pop(run_id, None)
        self._forgotten[run_id] = None
        if len(self._forgotten) > FORGOTTEN_RUNS_KEPT:
            self._forgotten.popitem(last=False)

    async def is_closed(self, run_id: UUID) -> bool:
        self._trim(asyncio.get_running_loop().time())
        channel = self._channels.get(run_id)
        return bool(channel and channel.closed)

    async def subscribe(self, run_id: UUID, after: int | None = None) -> AsyncIterator[StreamEvent]:
        async for batch in self.subscribe_batches(run_id, after):
            for event in batch:
                yield event

    async def subscribe_batches(self, run_id: UUID, after: int | None = None) -> AsyncIterator[list[StreamEvent]]:
        """What `subscribe` yields, grouped: each list holds the events there at one wake-up (one write for SSE).

        A run forgotten after it ended has nothing more to give: the iterator ends at once.
        """
        if run_id in self._forgotten:
            return
        channel = self._channel(run_id)
        last = after or 0
        while True:
            pending = channel.after(last)
            if not pending:
                await channel.wait()
                continue
            end = next((i for i, event in enumerate(pending) if event.event == END), None) if channel.closed else None
            if end is None:
                last = pending[-1].seq
                yield pending
                continue
            if end:
                yield pending[:end]
            return
