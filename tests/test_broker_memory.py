"""The in-memory broker's batches and its retention of finished runs, and the SSE frames built from events."""

from __future__ import annotations

import asyncio
import tracemalloc
import uuid

import orjson
from sse_starlette import ServerSentEvent

from agent_server.services.runs.follow import event_batches, sse_frame
from agent_server.streaming.events import StreamEvent
from agent_server.streaming.memory import EVENT_OVERHEAD_BYTES, MemoryBroker


async def publish(broker: MemoryBroker, run_id: uuid.UUID, count: int, start: int = 1, size: int = 10) -> None:
    for seq in range(start, start + count):
        await broker.publish(run_id, seq, "values", b"x" * size)


async def test_events_ready_together_come_in_one_batch() -> None:
    broker = MemoryBroker()
    run_id = uuid.uuid4()
    await publish(broker, run_id, 3)
    batches = broker.subscribe_batches(run_id)
    assert [e.seq for e in await anext(batches)] == [1, 2, 3]
    waiting = asyncio.ensure_future(anext(batches))
    await asyncio.sleep(0)
    await publish(broker, run_id, 2, start=4)
    assert [e.seq for e in await waiting] == [4, 5]
    await broker.close(run_id, 6)
    assert [batch async for batch in batches] == []


async def test_the_end_marker_ends_a_batch_and_the_stream() -> None:
    broker = MemoryBroker()
    run_id = uuid.uuid4()
    await publish(broker, run_id, 2)
    await broker.close(run_id, 3)
    assert [[e.seq for e in batch] async for batch in broker.subscribe_batches(run_id)] == [[1, 2]]
    assert [[e.seq for e in batch] async for batch in broker.subscribe_batches(run_id, after=1)] == [[2]]
    assert [batch async for batch in broker.subscribe_batches(run_id, after=2)] == []
    assert [e.seq async for e in broker.subscribe(run_id)] == [1, 2]


async def test_finished_runs_beyond_the_byte_bound_are_forgotten_oldest_first() -> None:
    per_run = 4 * (100 + EVENT_OVERHEAD_BYTES) + EVENT_OVERHEAD_BYTES + len(b"null")
    broker = MemoryBroker(max_retained_bytes=2 * per_run)
    live = uuid.uuid4()
    await publish(broker, live, 4, size=100)
    runs = [uuid.uuid4() for _ in range(3)]
    for run_id in runs:
        await publish(broker, run_id, 4, size=100)
        await broker.close(run_id, 5)
    assert [await broker.is_closed(r) for r in runs] == [False, True, True]
    assert [e.seq async for e in broker.subscribe(runs[2])] == [1, 2, 3, 4]
    # a forgotten run ends a late subscriber at once instead of leaving it waiting forever
    assert [e async for e in broker.subscribe(runs[0])] == []
    # a run still going is never dropped, whatever the bound
    assert [e.seq for e in await anext(broker.subscribe_batches(live))] == [1, 2, 3, 4]


async def test_finished_runs_are_forgotten_after_the_retention() -> None:
    broker = MemoryBroker(retention_seconds=0.05)
    run_id = uuid.uuid4()
    await publish(broker, run_id, 1)
    await broker.close(run_id, 2)
    assert await broker.is_closed(run_id)
    await asyncio.sleep(0.06)
    assert not await broker.is_closed(run_id)


async def test_a_run_published_again_after_being_forgotten_streams_again() -> None:
    broker = MemoryBroker(retention_seconds=0)
    run_id = uuid.uuid4()
    await broker.close(run_id, 1)
    assert not await broker.is_closed(run_id)
    await publish(broker, run_id, 1, start=2)
    assert [e.seq for e in await anext(broker.subscribe_batches(run_id))] == [2]


class OneAtATime:
    """A broker with `subscribe` only (the Postgres and Redis ones)."""

    def __init__(self, events: list[StreamEvent]) -> None:
        self.events = events

    async def subscribe(self, run_id: uuid.UUID, after: int | None = None):  # type: ignore[no-untyped-def]
        for event in self.events:
            yield event


async def test_brokers_without_batches_give_one_event_per_batch() -> None:
    events = [StreamEvent(1, "values", b"{}"), StreamEvent(2, "values", b"[]")]
    batches = [batch async for batch in event_batches(OneAtATime(events), uuid.uuid4(), None)]  # type: ignore[arg-type]
    assert batches == [[events[0]], [events[1]]]


def test_sse_frames_are_what_sse_starlette_encodes() -> None:
    for event in (
        StreamEvent(3, "messages", b'[{"content":"a\\nb"},{"k":"\xc3\xa9"}]'),
        StreamEvent(4, "values", b'{"a":\n1}'),  # a raw newline: one data line each
        StreamEvent(5, "updates|sub:1", b"{}"),
    ):
        expected = ServerSentEvent(data=event.data.decode(), event=event.event, id=str(event.seq)).encode()
        assert sse_frame(event) == expected


async def test_retained_events_take_their_size_not_orjson_s_buffer() -> None:
    broker = MemoryBroker()
    run_id = uuid.uuid4()
    payloads = [orjson.dumps({"token": "a", "i": i}) for i in range(200)]  # each keeps a 4 KB buffer
    tracemalloc.start()
    try:
        for seq, data in enumerate(payloads, start=1):
            await broker.publish(run_id, seq, "messages", data)
        allocated, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert allocated < 200 * 1024
