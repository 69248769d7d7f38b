"""One page of a search and the reference's pagination headers (`X-Pagination-Total`, `X-Pagination-Next`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from agent_server.repositories.common import pick


def page_with_headers(found: list[dict[str, Any]], limit: int, offset: int,
                      select: Sequence[str] | None) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """`found` holds up to `limit + 1` rows: the extra one only says that another page follows."""
    page, more = found[:limit], len(found) > limit
    headers = (
        {"X-Pagination-Total": str(offset + limit + 1), "X-Pagination-Next": str(offset + limit)}
        if more else {"X-Pagination-Total": str(offset + len(page))}
    )
    return [pick(row, list(select) if select else None) for row in page], headers
