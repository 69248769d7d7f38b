"""Single-process broker: events pass in memory, with a bounded replay buffer per run."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from uuid import UUID

from agent_server.streaming.events import END, StreamEvent


class RunChannel:
    def __init__(self, max_events: int) -> None:
        self.events: list[StreamEvent] = []
        self.max_events = max_events
        self.dropped = 0  # events trimmed from the front of the replay buffer
        self.closed = False
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


class MemoryBroker:
    def __init__(self, max_events_per_run: int = 10_000, retention_seconds: float = 300.0) -> None:
        self._channels: dict[UUID, RunChannel] = {}
        self._max_events = max_events_per_run
        self._retention = retention_seconds

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        self._channels.clear()

    async def flush(self) -> None:
        return None

    def _channel(self, run_id: UUID) -> RunChannel:
        channel = self._channels.get(run_id)
        if channel is None:
            channel = self._channels[run_id] = RunChannel(self._max_events)
        return channel

    async def next_seq(self, run_id: UUID) -> int:
        channel = self._channels.get(run_id)
        return channel.events[-1].seq + 1 if channel and channel.events else 1

    async def publish(self, run_id: UUID, seq: int, event: str, data: bytes) -> None:
        self._channel(run_id).append(StreamEvent(seq, event, data))

    async def close(self, run_id: UUID, seq: int) -> None:
        channel = self._channel(run_id)
        channel.closed = True
        channel.append(StreamEvent(seq, END, b"null"))
        asyncio.get_running_loop().call_later(self._retention, self._forget, run_id, channel)

    def _forget(self, run_id: UUID, channel: RunChannel) -> None:
        if self._channels.get(run_id) is channel:
            del self._channels[run_id]

    async def is_closed(self, run_id: UUID) -> bool:
        channel = self._channels.get(run_id)
        return bool(channel and channel.closed)

    async def subscribe(self, run_id: UUID, after: int | None = None) -> AsyncIterator[StreamEvent]:
        channel = self._channel(run_id)
        last = after or 0
        while True:
            pending = channel.after(last)
            for event in pending:
                if event.is_end:
                    return
                last = event.seq
                yield event
            if not pending:
                await channel.wait()
