"""Statement helpers shared by the repositories."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

from psycopg import AsyncConnection
from psycopg.rows import dict_row
from sqlalchemy import ColumnElement, Select, Text, asc, cast, desc, literal
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from agent_server.db.engine import DictRowPool


async def fetch_one(session: AsyncSession, sql: str, params: Mapping[str, Any]) -> dict[str, Any] | None:
    """One row of a prebuilt statement (psycopg `%(name)s` parameters), run on the session's own connection in its
    transaction but without the ORM's execution path (about 0.5 ms of CPU less per statement)."""
    connection = await (await session.connection()).get_raw_connection()
    async with connection.driver_connection.cursor(row_factory=dict_row) as cursor:  # type: ignore[union-attr]
        await cursor.execute(sql, params)
        row: dict[str, Any] | None = await cursor.fetchone()
        return row


async def fetch_one_committed(pool: DictRowPool, sql: str, params: Mapping[str, Any]) -> dict[str, Any] | None:
    """`fetch_one` outside any unit of work: one autocommit statement on the psycopg pool (no session at all)."""
    async with pool.connection() as conn, conn.cursor(row_factory=dict_row) as cursor:
        await cursor.execute(sql, params)
        return await cursor.fetchone()


@asynccontextmanager
async def transaction_in_one_round_trip(pool: DictRowPool) -> AsyncIterator[AsyncConnection[Any]]:
    """A transaction whose statements go out with BEGIN and COMMIT as one pipeline: read the cursors' rows after
    the block. On an error nothing is committed (the pool connection's exit rolls the transaction back)."""
    async with pool.connection() as conn:
        async with conn.pipeline():
            await conn.execute("BEGIN")
            yield conn
            await conn.execute("COMMIT")


def jsonb_contains(column: InstrumentedAttribute[Any], value: dict[str, Any]) -> ColumnElement[bool]:
    """`column @> value` — every key/value of `value` is present (nested objects match partially)."""
    return column.op("@>")(cast(literal(value, JSONB), JSONB))


Scope = Mapping[str, Any] | None
"""An auth handler's filters on an object's metadata; None for the server itself (and an open server)."""


def metadata_scope(column: InstrumentedAttribute[Any] | ColumnElement[Any],
                   filters: Scope) -> list[ColumnElement[bool]]:
    """SQL for an auth handler's filters on a metadata column: `key: value` / `$eq` equality, `$contains` items.

    None (no handler, or the server itself) restricts nothing.
    """
    conditions: list[ColumnElement[bool]] = []
    for key, condition in (filters or {}).items():
        field = column.op("->")(cast(literal(key), Text))
        if isinstance(condition, Mapping) and "$contains" in condition:
            wanted = condition["$contains"]
            items = wanted if isinstance(wanted, list) else [wanted]
            conditions.append(field.op("@>")(cast(literal(items, JSONB), JSONB)))
        else:
            value = condition["$eq"] if isinstance(condition, Mapping) else condition
            conditions.append(field == cast(literal(value, JSONB), JSONB))
    return conditions


def metadata_matches(filters: Scope, metadata: Mapping[str, Any]) -> bool:
    """Whether an object's metadata passes an auth handler's filters (the same rules as the SQL filters)."""
    for key, condition in (filters or {}).items():
        actual = metadata.get(key)
        if isinstance(condition, Mapping) and "$contains" in condition:
            wanted = condition["$contains"]
            items = wanted if isinstance(wanted, list) else [wanted]
            if not isinstance(actual, list) or any(item not in actual for item in items):
                return False
        elif actual != (condition["$eq"] if isinstance(condition, Mapping) else condition):
            return False
    return True


def escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def paginate(stmt: Select[Any], limit: int, offset: int) -> Select[Any]:
    return stmt.limit(limit).offset(offset)


def order(stmt: Select[Any], column: InstrumentedAttribute[Any], sort_order: str | None,
          tiebreak: InstrumentedAttribute[Any] | None = None) -> Select[Any]:
    direction = asc if sort_order == "asc" else desc
    stmt = stmt.order_by(direction(column))
    return stmt.order_by(direction(tiebreak)) if tiebreak is not None else stmt


def pick(row: dict[str, Any], fields: list[str] | None) -> dict[str, Any]:
    """Keep only the `select`ed fields of a response object, in the order asked."""
    return row if not fields else {f: row[f] for f in fields if f in row}
