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

Authorization, as in the reference: every operation first runs the `@auth.on.store` handler (or the global one)
with langgraph_sdk's value for the action (`StorePut`, `StoreGet`, `StoreSearch`, `StoreListNamespaces`,
`StoreDelete`; the namespace as a tuple) and then uses that value, as the handler may have rewritten it.
A handler raising `Auth.exceptions.HTTPException` answers with its status; `False` or a failed `assert` is a 403.
A filter dict returned by a handler is ignored, as the reference ignores it: store items have no metadata to
filter on, and a global `@auth.on` that returns `{"owner": ...}` for threads must not break the store.
Then, with a user and the config's `auth.store` at "user" (the default), namespaces must start with the user's
identity (see `config.AuthConfig`).
"""

from __future__ import annotations

import logging
from typing import Any, Literal, cast

from langgraph.store.base import (
    GetOp,
    InvalidNamespaceError,
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
from agent_server.services.auth import Actor, Forbidden
from agent_server.state import AppState

logger = logging.getLogger(__name__)

DEFAULT_SEARCH_LIMIT = 10
StoreAction = Literal["put", "get", "search", "list_namespaces", "delete"]
LISTING_ACTIONS = ("search", "list_namespaces")


async def run(state: AppState, op: Op) -> Result:
    """One operation now, on a connection of its own from the pool.

    The store's `aget`/`aput`/... queue every call for LangGraph's one consumer task, which runs one batch at a
    time on one connection: concurrent requests waited for each other. `abatch` runs at once (graphs keep the
    queue, whose batching suits many calls from one run).
    """
    try:
        validate_op_namespace(op)
    except InvalidNamespaceError as exc:  # e.g. an auth handler rewrote it into labels the store refuses
        raise Unprocessable(f"namespace: {exc}") from None
    return (await state.store.abatch([op]))[0]


def ttl_config(state: AppState, key: str, default: Any) -> Any:
    config = state.store.ttl_config
    return config.get(key, default) if config else default


# --- authorization ---------------------------------------------------------------------------------------


async def authorize(state: AppState, actor: Actor, action: StoreAction, value: dict[str, Any]) -> dict[str, Any]:
    """The handler for `store.<action>`, then the per-user namespace rule; returns `value` as they left it."""
    await run_handler(actor, action, value)
    value["namespace"] = as_namespace(value.get("namespace"), action)
    if actor.user is not None and state.config.auth.store == "user":
        scope_to_user(user_label(actor.user.identity), action, value)
    return value


async def run_handler(actor: Actor, action: StoreAction, value: dict[str, Any]) -> None:
    filters = await actor.authorize("store", action, value)
    if filters:
        logger.debug("store.%s: the auth handler's filters %s are ignored (store handlers cannot filter)",
                     action, filters)


def as_namespace(namespace: Any, action: StoreAction) -> tuple[str, ...] | None:
    """A handler may have set a list; a listing without a prefix keeps `None`, as the reference passes it."""
    if namespace is None:
        return None if action == "list_namespaces" else ()
    return tuple(namespace)


def user_label(identity: str) -> str:
    try:
        return check_label(identity)
    except ValueError as exc:
        raise Forbidden(f"The user's identity cannot start a store namespace: {exc}") from None


def scope_to_user(identity: str, action: StoreAction, value: dict[str, Any]) -> None:
    """A listing without a prefix covers the user's namespaces; any other namespace must start with the user."""
    namespace = value["namespace"]
    if not namespace and action in LISTING_ACTIONS:
        value["namespace"] = (identity,)
    elif not namespace or namespace[0] != identity:
        raise Forbidden(f"The store namespace must start with the user's identity ('{identity}')")


# --- operations --------------------------------------------------------------------------------------------


async def put_item(state: AppState, actor: Actor, body: StorePut) -> None:
    """A `ttl` left out takes the config's `store.ttl.default_ttl`; an explicit `null` means no expiry."""
    value = await authorize(state, actor, "put", {
        "namespace": tuple(body.namespace), "key": body.key, "value": body.value, "index": body.index,
    })
    ttl = body.ttl if "ttl" in body.model_fields_set else ttl_config(state, "default_ttl", None)
    await run(state, PutOp(value["namespace"], value["key"], value["value"], value["index"], ttl=ttl))


def parse_dotted_namespace(namespace: str | None) -> tuple[str, ...]:
    """The query-string form of a namespace: labels joined with '.'."""
    try:
        return tuple(check_label(label) for label in (namespace or "").split("."))
    except ValueError as exc:
        raise Unprocessable(f"namespace: {exc}") from None


async def get_item(
    state: AppState, actor: Actor, namespace: str | None, key: str | None, refresh_ttl: bool | None
) -> dict[str, Any] | None:
    labels = parse_dotted_namespace(namespace)
    if not key:
        raise BadRequest("Key is required")
    try:
        check_text(key)
    except ValueError as exc:
        raise Unprocessable(f"key: {exc}") from None
    value = await authorize(state, actor, "get", {"namespace": labels, "key": key})
    if refresh_ttl is None:
        refresh_ttl = ttl_config(state, "refresh_on_read", True)
    item = cast(Item | None, await run(state, GetOp(value["namespace"], value["key"], refresh_ttl=refresh_ttl)))
    return None if item is None else item.dict()


async def delete_item(state: AppState, actor: Actor, body: StoreDelete) -> None:
    value = await authorize(state, actor, "delete", {"namespace": tuple(body.namespace), "key": body.key})
    await run(state, PutOp(value["namespace"], value["key"], None))


def store_filter(filter_: dict[str, Any] | None) -> dict[str, Any] | None:
    """A plain nested object is compared as a whole (`$eq`): the Postgres store reads any dict as operators."""
    if not filter_:
        return None
    return {
        field: condition if is_operator_clause(condition) or not isinstance(condition, dict) else {"$eq": condition}
        for field, condition in filter_.items()
    }


async def search_items(state: AppState, actor: Actor, body: StoreSearch) -> dict[str, Any]:
    value = await authorize(state, actor, "search", {
        "namespace": tuple(body.namespace_prefix or ()), "filter": body.filter,
        "limit": body.limit or DEFAULT_SEARCH_LIMIT, "offset": body.offset, "query": body.query or None,
    })
    refresh_ttl = body.refresh_ttl
    if refresh_ttl is None:
        refresh_ttl = ttl_config(state, "refresh_on_read", True)
    op = SearchOp(value["namespace"], store_filter(value["filter"]), value["limit"], value["offset"],
                  value["query"], refresh_ttl=refresh_ttl)
    items = cast(list[SearchItem], await run(state, op))
    return {"items": [item.dict() for item in items]}


async def list_namespaces(state: AppState, actor: Actor, body: StoreListNamespaces) -> dict[str, Any]:
    value = await authorize(state, actor, "list_namespaces", {
        "namespace": tuple(body.prefix) if body.prefix else None,
        "suffix": tuple(body.suffix) if body.suffix else None,
        "max_depth": body.max_depth, "limit": body.limit, "offset": body.offset,
    })
    conditions = [MatchCondition(match_type="prefix", path=value["namespace"])] if value["namespace"] else []
    if value["suffix"]:
        conditions.append(MatchCondition(match_type="suffix", path=tuple(value["suffix"])))
    op = ListNamespacesOp(tuple(conditions), value["max_depth"], value["limit"], value["offset"])
    namespaces = cast(list[tuple[str, ...]], await run(state, op))
    return {"namespaces": [list(ns) for ns in namespaces]}
