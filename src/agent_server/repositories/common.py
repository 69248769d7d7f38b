"""Statement helpers shared by the repositories."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Select, asc, cast, desc, literal
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import InstrumentedAttribute


def jsonb_contains(column: InstrumentedAttribute[Any], value: dict[str, Any]) -> ColumnElement[bool]:
    """`column @> value` — every key/value of `value` is present (nested objects match partially)."""
    return column.op("@>")(cast(literal(value, JSONB), JSONB))


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
