"""Cross-process broker: a bounded event log in Postgres plus LISTEN/NOTIFY to wake subscribers.

Publishing buffers events for a few milliseconds and writes them in one statement, so a token stream
costs one round trip per batch, not per token.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import defaultdict
from collections.abc import AsyncIterator
from uuid import UUID

from agent_server.db.engine import DictRowPool
from agent_server.streaming.events import END, FIRST_SEQ, StreamEvent
from agent_server.streaming.listener import EVENTS_CHANNEL, PgListener

FLUSH_DELAY = 0.005
POLL_INTERVAL = 1.0


class PostgresBroker:
    def __init__(self, pool: DictRowPool, listener: PgListener, retention_minutes: float = 60.0) -> None:
        self._pool = pool
        self._listener = listener
        self._retention_minutes = retention_minutes
        self._buffer: list[tuple[UUID, int, str, bytes]] = []
        self._flush_task: asyncio.Task[None] | None = None
        self._flush_lock = asyncio.Lock()
        self._waiters: dict[str, set[asyncio.Event]] = defaultdict(set)
        listener.on(EVENTS_CHANNEL, self._wake)

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        await self._flush()

    def _wake(self, payload: str) -> None:
        targets = self._waiters.get(payload) if payload else None
        groups = [targets] if targets else (list(self._waiters.values()) if not payload else [])
        for group in groups:
            for event in group:
                event.set()

    async def next_seq(self, run_id: UUID) -> int:
        await self._flush()
        async with self._pool.connection() as conn:
            cur = await conn.execute("SELECT coalesce(max(seq) + 1, %s) AS next FROM run_events WHERE run_id = %s",
                                     (FIRST_SEQ, run_id))
            row = await cur.fetchone()
        return int(row["next"]) if row else FIRST_SEQ

    async def publish(self, run_id: UUID, seq: int, event: str, data: bytes) -> None:
        self._buffer.append((run_id, seq, event, data))
        if self._flush_task is None or self._flush_task.done():
            self._flush_task = asyncio.create_task(self._flush_soon())

    async def _flush_soon(self) -> None:
        await asyncio.sleep(FLUSH_DELAY)
        await self._flush()

    async def flush(self) -> None:
        await self._flush()

    async def _flush(self) -> None:
        async with self._flush_lock:
            if not self._buffer:
                return
            batch, self._buffer = self._buffer, []
            run_ids = sorted({str(r[0]) for r in batch})
            async with self._pool.connection() as conn, conn.transaction():
                async with conn.cursor() as cur:
                    await cur.executemany(
                        "INSERT INTO run_events (run_id, seq, event, data) VALUES (%s, %s, %s, %s) "
                        "ON CONFLICT DO NOTHING",
                        batch,
                    )
                for run_id in run_ids:
                    await conn.execute("SELECT pg_notify(%s, %s)", (EVENTS_CHANNEL, run_id))

    async def close(self, run_id: UUID, seq: int) -> None:
        await self.publish(run_id, seq, END, b"null")
        await self._flush()

    async def is_closed(self, run_id: UUID) -> bool:
        async with self._pool.connection() as conn:
            cur = await conn.execute("SELECT 1 FROM run_events WHERE run_id = %s AND event = %s", (run_id, END))
            return await cur.fetchone() is not None

    async def _fetch(self, run_id: UUID, after: int) -> list[StreamEvent]:
        async with self._pool.connection() as conn:
            cur = await conn.execute(
                "SELECT seq, event, data FROM run_events WHERE run_id = %s AND seq > %s ORDER BY seq",
                (run_id, after),
            )
            rows = await cur.fetchall()
        return [StreamEvent(r["seq"], r["event"], bytes(r["data"])) for r in rows]

    async def subscribe(self, run_id: UUID, after: int | None = None) -> AsyncIterator[StreamEvent]:
        key = str(run_id)
        wakeup = asyncio.Event()
        self._waiters[key].add(wakeup)
        last = after or 0
        try:
            while True:
                wakeup.clear()
                for event in await self._fetch(run_id, last):
                    if event.is_end:
                        return
                    last = event.seq
                    yield event
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(wakeup.wait(), timeout=POLL_INTERVAL)
        finally:
            self._waiters[key].discard(wakeup)
            if not self._waiters[key]:
                del self._waiters[key]

    async def sweep(self) -> int:
        """Drop event logs older than the retention window; returns the rows removed."""
        async with self._pool.connection() as conn:
            cur = await conn.execute(
                "DELETE FROM run_events WHERE created_at < now() - make_interval(mins => %s)",
                (self._retention_minutes,),
            )
            return cur.rowcount
