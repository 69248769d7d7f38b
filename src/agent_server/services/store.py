"""Store: delegates to LangGraph's AsyncPostgresStore on the app state, the same store graphs see.

Behaviours chosen to match the reference server (`langgraph dev`):
- a missing item reads as `null` (200), not 404;
- search results always carry `score`: a number for a semantic query on an indexed store, else `null`;
- a `query` on a store without `store.index` is not an error: it is ignored, and the items are listed
  newest-updated first with `score: null`, as the reference's store does;
- a search `limit` of 0 means the default (10), as in the reference.

Where Postgres differs from the reference's in-memory store:
- with a query, only items that have vectors (not put with `index=False`, and holding an indexed field)
  are returned; the in-memory store pads the page with unscored items;
- a filter on a nested object (`{"meta": {"a": 1}}`) matches that object exactly, not as a subset;
- `$gt`/`$gte`/`$lt`/`$lte` compare the field's text form (LangGraph's Postgres store casts to text),
  so numbers of different digit counts do not order numerically.
"""

from __future__ import annotations

from typing import Any, cast

from langgraph.store.base import (
    GetOp,
    Item,
    ListNamespacesOp,
    MatchCondition,
    Op,
    PutOp,
    Result,
    SearchItem,
    SearchOp,
    validate_op_namespace,
)

from agent_server.errors import BadRequest, Unprocessable
from agent_server.models.store import (
    StoreDelete,
    StoreListNamespaces,
    StorePut,
    StoreSearch,
    check_label,
    check_text,
    is_operator_clause,
)
from agent_server.state import AppState

DEFAULT_SEARCH_LIMIT = 10


async def run(state: AppState, op: Op) -> Result:
    """One operation now, on a connection of its own from the pool.

    The store's `aget`/`aput`/... queue every call for LangGraph's one consumer task, which runs one batch at a
    time on one connection: concurrent requests waited for each other. `abatch` runs at once (graphs keep the
    queue, whose batching suits many calls from one run).
    """
    validate_op_namespace(op)
    return (await state.store.abatch([op]))[0]


def ttl_config(state: AppState, key: str, default: Any) -> Any:
    config = state.store.ttl_config
    return config.get(key, default) if config else default


async def put_item(state: AppState, body: StorePut) -> None:
    """A `ttl` left out takes the config's `store.ttl.default_ttl`; an explicit `null` means no expiry."""
    ttl = body.ttl if "ttl" in body.model_fields_set else ttl_config(state, "default_ttl", None)
    await run(state, PutOp(tuple(body.namespace), body.key, body.value, body.index, ttl=ttl))


def parse_dotted_namespace(namespace: str | None) -> tuple[str, ...]:
    """The query-string form of a namespace: labels joined with '.'."""
    try:
        return tuple(check_label(label) for label in (namespace or "").split("."))
    except ValueError as exc:
        raise Unprocessable(f"namespace: {exc}") from None


async def get_item(
    state: AppState, namespace: str | None, key: str | None, refresh_ttl: bool | None
) -> dict[str, Any] | None:
    labels = parse_dotted_namespace(namespace)
    if not key:
        raise BadRequest("Key is required")
    try:
        check_text(key)
    except ValueError as exc:
        raise Unprocessable(f"key: {exc}") from None
    if refresh_ttl is None:
        refresh_ttl = ttl_config(state, "refresh_on_read", True)
    item = cast(Item | None, await run(state, GetOp(labels, key, refresh_ttl=refresh_ttl)))
    return None if item is None else item.dict()


async def delete_item(state: AppState, body: StoreDelete) -> None:
    await run(state, PutOp(tuple(body.namespace), body.key, None))


def store_filter(filter_: dict[str, Any] | None) -> dict[str, Any] | None:
    """A plain nested object is compared as a whole (`$eq`): the Postgres store reads any dict as operators."""
    if not filter_:
        return None
    return {
        field: condition if is_operator_clause(condition) or not isinstance(condition, dict) else {"$eq": condition}
        for field, condition in filter_.items()
    }


async def search_items(state: AppState, body: StoreSearch) -> dict[str, Any]:
    refresh_ttl = body.refresh_ttl
    if refresh_ttl is None:
        refresh_ttl = ttl_config(state, "refresh_on_read", True)
    op = SearchOp(
        tuple(body.namespace_prefix or ()),
        store_filter(body.filter),
        body.limit or DEFAULT_SEARCH_LIMIT,
        body.offset,
        body.query or None,
        refresh_ttl=refresh_ttl,
    )
    items = cast(list[SearchItem], await run(state, op))
    return {"items": [item.dict() for item in items]}


async def list_namespaces(state: AppState, body: StoreListNamespaces) -> dict[str, Any]:
    conditions = [MatchCondition(match_type="prefix", path=tuple(body.prefix))] if body.prefix else []
    if body.suffix:
        conditions.append(MatchCondition(match_type="suffix", path=tuple(body.suffix)))
    op = ListNamespacesOp(tuple(conditions), body.max_depth, body.limit, body.offset)
    namespaces = cast(list[tuple[str, ...]], await run(state, op))
    return {"namespaces": [list(ns) for ns in namespaces]}
