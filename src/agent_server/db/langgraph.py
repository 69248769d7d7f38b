"""LangGraph's own Postgres persistence: the checkpointer and the store, sharing one psycopg pool."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Sequence
from typing import Any

import orjson
from langgraph.checkpoint.postgres import aio as postgres_saver_module
from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
from langgraph.store.base import GetOp, Item, ListNamespacesOp, Op, PutOp, Result, SearchOp
from langgraph.store.postgres import AsyncPostgresStore
from psycopg import AsyncConnection, AsyncCursor
from psycopg.rows import DictRow, dict_row
from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool

from agent_server.config import ProjectConfig
from agent_server.db.engine import DictRowPool
from agent_server.services.graphs import import_object

NUMERIC_OPERATORS = {"$gt": ">", "$gte": ">=", "$lt": "<", "$lte": "<="}

# One item by key, as LangGraph's batched get does it (`refresh`: its TTL restarts if it has one; `live`: expired
# rows that the sweeper has not removed yet are hidden), with scalar parameters instead of arrays to unnest.
_GET_ITEM = "SELECT key, value, created_at, updated_at FROM store WHERE prefix = %(prefix)s AND key = %(key)s {live}"
_REFRESH_ITEM = """WITH refreshed AS (
    UPDATE store SET expires_at = NOW() + (ttl_minutes || ' minutes')::interval
    WHERE prefix = %(prefix)s AND key = %(key)s AND ttl_minutes IS NOT NULL {live}
    RETURNING key
) """
_LIVE = "AND (expires_at IS NULL OR expires_at > NOW())"
GET_ITEM_SQL = {
    (refresh, live): (_REFRESH_ITEM if refresh else "").format(live=_LIVE if live else "")
    + _GET_ITEM.format(live=_LIVE if live else "")
    for refresh in (False, True) for live in (False, True)
}
# One item written, as LangGraph's batched put writes it (a TTL in minutes, or none).
PUT_ITEM_SQL = """INSERT INTO store (prefix, key, value, created_at, updated_at, expires_at, ttl_minutes)
VALUES (%(prefix)s, %(key)s, %(value)s, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP,
        NOW() + make_interval(secs => %(ttl)s::float8 * 60), %(ttl)s)
ON CONFLICT (prefix, key) DO UPDATE
SET value = EXCLUDED.value, updated_at = CURRENT_TIMESTAMP, expires_at = EXCLUDED.expires_at,
    ttl_minutes = EXCLUDED.ttl_minutes"""


class ServerStore(AsyncPostgresStore):
    """LangGraph's Postgres store, with numbers compared as numbers in `$gt`-style filters (it compares text),
    and a batch of one statement sent without pipeline mode."""

    async def _execute_batch(
        self, grouped_ops: dict[type[Op], Sequence[tuple[int, Any]]], results: list[Result], conn: Any = None
    ) -> None:
        """The store runs every batch in a pipeline, which pays off for many statements; one statement (an HTTP
        get, put or search) only pays for it (measured: ~60 µs of CPU per pipeline sync)."""
        if not self._one_statement(grouped_ops):
            await super()._execute_batch(grouped_ops, results, conn)
            return
        ((kind, ops),) = grouped_ops.items()
        async with self._cursor() as cur:
            if kind is GetOp:
                await self._batch_get_ops(ops, results, cur)
            elif kind is SearchOp:
                await self._batch_search_ops(ops, results, cur)
            elif kind is ListNamespacesOp:
                await self._batch_list_namespaces_ops(ops, results, cur)
            else:
                await self._batch_put_ops(ops, cur)

    async def _batch_get_ops(
        self, get_ops: Sequence[tuple[int, GetOp]], results: list[Result], cur: AsyncCursor[Any]
    ) -> None:
        """One get (an HTTP get): a statement on its key. LangGraph's, made for many keys, costs ~180 us more."""
        if len(get_ops) != 1:
            await super()._batch_get_ops(get_ops, results, cur)
            return
        ((index, op),) = get_ops
        await cur.execute(GET_ITEM_SQL[op.refresh_ttl, self._omit_expired],
                          {"prefix": ".".join(op.namespace), "key": op.key})
        row = await cur.fetchone()
        if row is None:
            results[index] = None
            return
        value = row["value"]
        results[index] = Item(
            value=value if isinstance(value, dict) else orjson.loads(value), key=row["key"],
            namespace=op.namespace, created_at=row["created_at"], updated_at=row["updated_at"],
        )

    async def _batch_put_ops(self, put_ops: Sequence[tuple[int, PutOp]], cur: AsyncCursor[DictRow]) -> None:
        """One item written (an HTTP put): a statement on its key; LangGraph's, made for many, costs ~25 µs more."""
        if len(put_ops) != 1 or put_ops[0][1].value is None or self.index_config:
            await super()._batch_put_ops(put_ops, cur)
            return
        ((_, op),) = put_ops
        await cur.execute(PUT_ITEM_SQL, {"prefix": ".".join(op.namespace), "key": op.key,
                                         "value": Jsonb(op.value), "ttl": op.ttl})

    @contextlib.asynccontextmanager
    async def _cursor(self, *, pipeline: bool = False) -> AsyncIterator[AsyncCursor[DictRow]]:
        """A statement outside a pipeline takes a pool connection and a cursor, without LangGraph's layers (a
        fresh lock and a connection helper per call; ~15 µs)."""
        if pipeline or self.pipe or not isinstance(self.conn, AsyncConnectionPool):
            async with super()._cursor(pipeline=pipeline) as cur:
                yield cur
            return
        async with self.conn.connection() as conn, conn.cursor(binary=True, row_factory=dict_row) as cur:
            yield cur

    def _one_statement(self, grouped_ops: dict[type[Op], Sequence[tuple[int, Any]]]) -> bool:
        """One op that makes one statement: a put makes two when its value is embedded."""
        if len(grouped_ops) != 1:
            return False
        ((kind, ops),) = grouped_ops.items()
        if len(ops) != 1:
            return False
        op = ops[0][1]
        return kind is not PutOp or op.value is None or not self.index_config or op.index is False

    def _get_filter_condition(self, key: str, op: str, value: Any) -> tuple[str, list[Any]]:
        if op in NUMERIC_OPERATORS and isinstance(value, int | float) and not isinstance(value, bool):
            condition = f"(jsonb_typeof(value->%s) = 'number' AND value->%s {NUMERIC_OPERATORS[op]} %s::jsonb)"
            return condition, [key, key, orjson.dumps(value).decode()]
        return super()._get_filter_condition(key, op, value)


def resolve_embed(config: ProjectConfig, embed: str) -> Any:
    """`./file.py:fn` or `package.module:fn` is imported; anything else is a provider string for LangChain."""
    module = embed.partition(":")[0]
    if module.endswith(".py") or "/" in module or "." in module:
        return import_object(config.resolve_path(embed))
    return embed


def store_options(config: ProjectConfig) -> dict[str, Any]:
    options: dict[str, Any] = {}
    index = config.store.index
    if index is not None:
        options["index"] = {
            "dims": index.dims,
            "embed": resolve_embed(config, index.embed),
            "fields": index.fields or ["$"],
        }
    ttl = config.store.ttl
    if ttl is not None:
        options["ttl"] = {
            "refresh_on_read": ttl.refresh_on_read,
            "default_ttl": ttl.default_ttl,
            "sweep_interval_minutes": ttl.sweep_interval_minutes,
        }
    return options


class PooledPostgresSaver(AsyncPostgresSaver):
    """LangGraph's Postgres checkpointer without its process-wide lock.

    The lock guards a single shared connection; on a pool every operation has a connection of its own, and the
    lock only serialised every checkpoint read and write of the process (one round trip at a time).
    """

    def __init__(self, pool: DictRowPool) -> None:
        super().__init__(pool)
        self.lock = contextlib.nullcontext()  # type: ignore[assignment]


class SerializeInPlace:
    """`asyncio` as LangGraph's async Postgres checkpointer sees it, with `to_thread` calling the function in place.

    The checkpointer hands each (de)serialisation of blobs and writes to a thread. Under the GIL that thread runs
    no Python in parallel with the event loop; it only adds two GIL hand-offs and a loop wake-up per call, and
    under load the loop sits idle waiting for them (bench/FINDINGS.md, session 5: a run's CPU -1.5 to -2.5 ms).
    """

    @staticmethod
    async def to_thread(func: Any, /, *args: Any, **kwargs: Any) -> Any:
        return func(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(asyncio, name)


def serialize_checkpoints_in_place() -> None:
    # Deliberately replaces the module's own `asyncio` import (not an export) with a stand-in of another type.
    postgres_saver_module.asyncio = SerializeInPlace()  # type: ignore[assignment,attr-defined]


async def open_checkpointer(pool: DictRowPool, *, setup: bool) -> AsyncPostgresSaver:
    serialize_checkpoints_in_place()
    checkpointer = PooledPostgresSaver(pool)
    if setup:
        await checkpointer.setup()
    return checkpointer


async def open_store(pool: DictRowPool, config: ProjectConfig, *, setup: bool) -> AsyncPostgresStore:
    store = ServerStore(pool, **store_options(config))
    if setup:
        await store.setup()
    return store


# Held while the checkpointer's and store's setup() run, so that processes starting together migrate in turn.
# Waiters poll with pg_try_advisory_lock: a statement blocked in pg_advisory_lock keeps a snapshot open, and the
# checkpointer's CREATE INDEX CONCURRENTLY waits for every open snapshot - a deadlock Postgres cannot detect.
SETUP_LOCK_ID = 7_343_210_992
SETUP_LOCK_POLL_SECONDS = 0.1


async def _try_setup_lock(conn: AsyncConnection[Any]) -> bool:
    row = await (await conn.execute("SELECT pg_try_advisory_lock(%s) AS locked", (SETUP_LOCK_ID,))).fetchone()
    return bool(row and row["locked"])


async def open_persistence(
    pool: DictRowPool, config: ProjectConfig, *, setup: bool
) -> tuple[AsyncPostgresSaver, AsyncPostgresStore]:
    """The checkpointer and the store on `pool`; with `setup`, their own tables are created or upgraded first."""
    if not setup:
        return await open_checkpointer(pool, setup=False), await open_store(pool, config, setup=False)
    async with pool.connection() as conn:
        while not await _try_setup_lock(conn):
            await asyncio.sleep(SETUP_LOCK_POLL_SECONDS)
        try:
            return await open_checkpointer(pool, setup=True), await open_store(pool, config, setup=True)
        finally:
            await conn.execute("SELECT pg_advisory_unlock(%s)", (SETUP_LOCK_ID,))
