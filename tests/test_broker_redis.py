"""The Redis Streams broker against a real Redis, held to the in-memory broker's contract.

Contract tests run on both brokers; Redis-only tests cover what only a shared log has: other instances,
retention, the length bound and keys. Every broker gets its own key prefix, removed afterwards.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, cast
from uuid import UUID

import pytest
import pytest_asyncio
import redis.asyncio
from helpers import reachable_redis_url

from agent_server.app import make_broker
from agent_server.settings import Settings
from agent_server.streaming import redis as redis_broker
from agent_server.streaming.broker import Broker
from agent_server.streaming.events import StreamEvent
from agent_server.streaming.memory import MemoryBroker
from agent_server.streaming.redis import ACTIVE_TTL_SECONDS, RedisBroker

MakeRedisBroker = Callable[..., Awaitable[RedisBroker]]


@pytest.fixture(scope="module")
def redis_url() -> str:
    return reachable_redis_url()


@pytest_asyncio.fixture
async def raw(redis_url: str) -> AsyncIterator[redis.asyncio.Redis]:
    client = redis.asyncio.Redis.from_url(redis_url)
    yield client
    await client.aclose()


async def drop_prefix(client: redis.asyncio.Redis, prefix: str) -> None:
    keys = [key async for key in client.scan_iter(match=f"{prefix}:*")]
    if keys:
        await client.delete(*keys)


@pytest_asyncio.fixture
async def make_redis_broker(redis_url: str, raw: redis.asyncio.Redis) -> AsyncIterator[MakeRedisBroker]:
    """Started brokers sharing one fresh prefix, as instances of one deployment would."""
    prefix = f"olg-test-{uuid.uuid4().hex[:12]}"
    started: list[RedisBroker] = []

    async def make(url: str = redis_url, **options: Any) -> RedisBroker:
        broker = RedisBroker(url, prefix=prefix, **options)
        await broker.start()
        started.append(broker)
        return broker

    yield make
    for broker in started:
        await broker.stop()
    await drop_prefix(raw, prefix)


@pytest_asyncio.fixture(params=["memory", "redis"])
async def broker(request: pytest.FixtureRequest) -> AsyncIterator[Broker]:
    if request.param == "memory":
        memory = MemoryBroker()
        yield memory
        await memory.stop()
        return
    prefix = f"olg-test-{uuid.uuid4().hex[:12]}"
    shared = RedisBroker(reachable_redis_url(), prefix=prefix)
    await shared.start()
    yield shared
    await shared.stop()
    async with redis.asyncio.Redis.from_url(reachable_redis_url()) as client:
        await drop_prefix(client, prefix)


async def publish_range(broker: Broker, run_id: UUID, first: int, last: int) -> None:
    for seq in range(first, last + 1):
        await broker.publish(run_id, seq, "custom", b'{"n": %d}' % seq)


async def collect(broker: Broker, run_id: UUID, after: int | None = None) -> list[StreamEvent]:
    return [event async for event in broker.subscribe(run_id, after)]


def seqs(events: list[StreamEvent]) -> list[int]:
    return [event.seq for event in events]


async def until_waiting(task: asyncio.Task[Any]) -> None:
    """Let a subscriber task reach its first wait (it has read everything there was)."""
    for _ in range(20):
        await asyncio.sleep(0.01)
    assert not task.done()


# The contract, on both brokers.


async def test_subscribe_replays_in_order_and_stops_at_the_end_marker(broker: Broker) -> None:
    run_id = uuid.uuid4()
    await publish_range(broker, run_id, 1, 50)
    await broker.close(run_id, 51)
    events = await asyncio.wait_for(collect(broker, run_id), 10)
    assert seqs(events) == list(range(1, 51))
    assert events[0] == StreamEvent(1, "custom", b'{"n": 1}')


async def test_replay_after_n_starts_at_n_plus_one(broker: Broker) -> None:
    run_id = uuid.uuid4()
    await publish_range(broker, run_id, 1, 10)
    await broker.close(run_id, 11)
    assert seqs(await asyncio.wait_for(collect(broker, run_id, after=7), 10)) == [8, 9, 10]
    assert seqs(await asyncio.wait_for(collect(broker, run_id, after=10), 10)) == []


async def test_a_subscriber_attached_before_publishing_gets_everything(broker: Broker) -> None:
    run_id = uuid.uuid4()
    subscriber = asyncio.create_task(collect(broker, run_id))
    await until_waiting(subscriber)
    await publish_range(broker, run_id, 1, 300)
    await broker.close(run_id, 301)
    assert seqs(await asyncio.wait_for(subscriber, 10)) == list(range(1, 301))


async def test_replay_then_live_has_no_gap_and_no_duplicate(broker: Broker) -> None:
    run_id = uuid.uuid4()
    await publish_range(broker, run_id, 1, 20)
    subscriber = asyncio.create_task(collect(broker, run_id, after=5))
    for seq in range(21, 2_001):
        await broker.publish(run_id, seq, "messages", b"[]")
        if seq % 50 == 0:
            await asyncio.sleep(0)  # let the subscriber read while the run is still publishing
    await broker.close(run_id, 2_001)
    assert seqs(await asyncio.wait_for(subscriber, 20)) == list(range(6, 2_001))


async def test_concurrent_subscribers_each_get_their_own_tail(broker: Broker) -> None:
    run_id = uuid.uuid4()
    await publish_range(broker, run_id, 1, 10)
    subscribers = [asyncio.create_task(collect(broker, run_id, after)) for after in (None, 0, 4, 10, 15)]
    await until_waiting(subscribers[-1])
    await publish_range(broker, run_id, 11, 20)
    await broker.close(run_id, 21)
    results = [seqs(events) for events in await asyncio.wait_for(asyncio.gather(*subscribers), 10)]
    tails = [list(range(first, 21)) for first in (1, 1, 5, 11, 16)]
    assert results == tails


async def test_end_marker_stops_live_subscribers_and_later_ones(broker: Broker) -> None:
    run_id = uuid.uuid4()
    live = asyncio.create_task(collect(broker, run_id))
    await until_waiting(live)
    await broker.close(run_id, 1)
    assert await asyncio.wait_for(live, 10) == []
    assert await asyncio.wait_for(collect(broker, run_id), 10) == []


async def test_is_closed_only_after_close(broker: Broker) -> None:
    run_id = uuid.uuid4()
    assert not await broker.is_closed(run_id)
    await publish_range(broker, run_id, 1, 3)
    assert not await broker.is_closed(run_id)
    await broker.close(run_id, 4)
    assert await broker.is_closed(run_id)


async def test_next_seq_follows_the_last_published_event(broker: Broker) -> None:
    run_id = uuid.uuid4()
    assert await broker.next_seq(run_id) == 1
    await publish_range(broker, run_id, 1, 7)
    assert await broker.next_seq(run_id) == 8


# Redis only: what a shared log adds.


async def test_another_instance_continues_numbering_and_streams_live(make_redis_broker: MakeRedisBroker) -> None:
    first, second = await make_redis_broker(), await make_redis_broker()
    run_id = uuid.uuid4()
    await publish_range(first, run_id, 1, 5)
    await first.next_seq(run_id)  # attempt 1's events are written; then its worker dies
    assert await second.next_seq(run_id) == 6
    subscriber = asyncio.create_task(collect(first, run_id, after=3))
    await until_waiting(subscriber)
    await publish_range(second, run_id, 6, 9)  # attempt 2, on another worker
    await second.close(run_id, 10)
    assert seqs(await asyncio.wait_for(subscriber, 10)) == [4, 5, 6, 7, 8, 9]
    assert await first.is_closed(run_id)


async def test_live_events_arrive_by_wake_up_not_by_polling(make_redis_broker: MakeRedisBroker,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(redis_broker, "POLL_INTERVAL", 60.0)
    publisher, follower = await make_redis_broker(), await make_redis_broker()
    run_id = uuid.uuid4()
    subscriber = asyncio.create_task(collect(follower, run_id))
    await until_waiting(subscriber)
    await publish_range(publisher, run_id, 1, 3)
    await publisher.close(run_id, 4)
    assert seqs(await asyncio.wait_for(subscriber, 5)) == [1, 2, 3]


async def test_wake_ups_survive_a_lost_pub_sub_connection(make_redis_broker: MakeRedisBroker, redis_url: str,
                                                          raw: redis.asyncio.Redis,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(redis_broker, "POLL_INTERVAL", 60.0)
    name = f"olg-test-{uuid.uuid4().hex[:12]}"
    follower = await make_redis_broker(url=f"{redis_url}?client_name={name}")
    publisher = await make_redis_broker()
    [connection] = [c for c in await raw.client_list(_type="pubsub") if c["name"] == name]
    await raw.client_kill_filter(_id=connection["id"])
    run_id = uuid.uuid4()
    subscriber = asyncio.create_task(collect(follower, run_id))
    for _ in range(100):  # the listener notices, waits a second and subscribes again
        await asyncio.sleep(0.1)
        if [c for c in await raw.client_list(_type="pubsub") if c["name"] == name and c["sub"] == "1"]:
            break
    await publish_range(publisher, run_id, 1, 2)
    await publisher.close(run_id, 3)
    assert seqs(await asyncio.wait_for(subscriber, 5)) == [1, 2]


async def test_a_publish_already_in_the_stream_is_ignored(make_redis_broker: MakeRedisBroker) -> None:
    broker = await make_redis_broker()
    run_id = uuid.uuid4()
    await publish_range(broker, run_id, 1, 3)
    await broker.publish(run_id, 2, "custom", b'"again, in the same write"')
    await broker.next_seq(run_id)  # flushes
    await broker.publish(run_id, 2, "custom", b'"again, from a worker that lost its lease"')
    await broker.close(run_id, 4)
    events = await asyncio.wait_for(collect(broker, run_id), 10)
    assert [event.data for event in events] == [b'{"n": 1}', b'{"n": 2}', b'{"n": 3}']


async def test_open_streams_expire_eventually_and_closed_ones_after_retention(
        make_redis_broker: MakeRedisBroker, raw: redis.asyncio.Redis) -> None:
    broker = await make_redis_broker(retention_seconds=1)
    running, finished = uuid.uuid4(), uuid.uuid4()
    await publish_range(broker, running, 1, 2)
    await publish_range(broker, finished, 1, 2)
    await broker.close(finished, 3)
    assert ACTIVE_TTL_SECONDS - 60 < await raw.ttl(broker.key(running)) <= ACTIVE_TTL_SECONDS
    assert 0 < await raw.pttl(broker.key(finished)) <= 1_000
    await asyncio.sleep(1.2)
    assert not await raw.exists(broker.key(finished))
    assert not await broker.is_closed(finished)


async def test_the_log_keeps_the_latest_events_within_its_bound(make_redis_broker: MakeRedisBroker) -> None:
    broker = await make_redis_broker(max_events_per_run=100)
    run_id = uuid.uuid4()
    for first in range(1, 5_000, 50):  # writes of 50 events
        await publish_range(broker, run_id, first, first + 49)
        await broker.next_seq(run_id)
    await broker.close(run_id, 5_001)
    events = seqs(await asyncio.wait_for(collect(broker, run_id), 10))
    assert events == list(range(events[0], 5_001))
    assert 100 <= len(events) <= 150
    assert await broker.next_seq(run_id) == 5_002


async def test_keys_live_under_the_prefix(make_redis_broker: MakeRedisBroker, raw: redis.asyncio.Redis) -> None:
    broker = await make_redis_broker()
    run_id = uuid.uuid4()
    await publish_range(broker, run_id, 1, 1)
    await broker.next_seq(run_id)  # flushes
    key = broker.key(run_id)
    assert key.endswith(f":run_events:{run_id}")
    assert await raw.type(key) == b"stream"


def test_redis_is_chosen_by_redis_url_or_by_name(redis_url: str) -> None:
    unused = cast(Any, None)  # the Redis broker needs neither the Postgres pool nor its listener
    automatic = Settings.model_validate({"REDIS_URL": redis_url, "OPEN_LANGGRAPH_REDIS_PREFIX": "olg-x"})
    assert automatic.stream_broker == "redis"
    assert isinstance(make_broker(automatic, unused, unused), RedisBroker)
    assert make_broker(automatic, unused, unused).key(UUID(int=0)).startswith("olg-x:")
    assert Settings.model_validate({}).stream_broker == "memory"
    named = Settings.model_validate({"OPEN_LANGGRAPH_BROKER": "redis"})
    with pytest.raises(RuntimeError, match="REDIS_URL"):
        make_broker(named, unused, unused)
