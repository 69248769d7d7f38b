"""Store: long-term memory items addressed by a namespace (a list of labels) and a key.

Request bodies are validated strictly (no string-to-number coercion), the way the reference validates
them against its JSON schema. Every check that protects the database (NUL characters, non-finite numbers,
integer ranges) is made here, so bad input is a 422 and never reaches the store.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictBool, field_validator

from agent_server.models.common import MAX_OFFSET, MAX_PAGE_SIZE, ApiModel, StorableObject, check_storable

MAX_DEPTH = 2**31 - 1  # the store casts max_depth to a Postgres integer
MAX_TTL_MINUTES = 10**9  # about 1900 years; keeps NOW() + ttl inside Postgres' timestamp range
# 0.6 ms. The store writes the TTL into SQL as f"{seconds} seconds", which Postgres cannot read once Python
# writes the float with an exponent (below 1e-4 seconds).
MIN_TTL_MINUTES = 1e-5
RESERVED_ROOT = "langgraph"


def check_label(label: str) -> str:
    if not label:
        raise ValueError("namespace labels must be non-empty strings")
    if "." in label:
        raise ValueError(f"namespace label {label!r} must not contain periods ('.')")
    if "\x00" in label:
        raise ValueError("namespace labels must not contain NUL characters")
    return label


def check_namespace(namespace: list[str]) -> list[str]:
    """The namespace of an item: at least one label, and not under the store's reserved root."""
    if not namespace:
        raise ValueError("namespace must have at least one label")
    if namespace[0] == RESERVED_ROOT:
        raise ValueError(f"the root label {RESERVED_ROOT!r} is reserved")
    return namespace


def check_text(text: str) -> str:
    if "\x00" in text:
        raise ValueError("must not contain NUL characters")
    return text


COMPARISONS = ("$gt", "$gte", "$lt", "$lte")
OPERATORS = ("$eq", "$ne", *COMPARISONS)


def is_operator_clause(condition: Any) -> bool:
    return isinstance(condition, dict) and any(k.startswith("$") for k in condition)


def check_filter(filter_: dict[str, Any]) -> dict[str, Any]:
    """`{field: value}` matches equal values; `{field: {"$op": value}}` applies the store's operators."""
    check_storable(filter_, "filter")
    for field, condition in filter_.items():
        if not is_operator_clause(condition):
            continue
        for op, operand in condition.items():
            if op not in OPERATORS:
                raise ValueError(f"filter on {field!r}: operator {op!r} is not one of {', '.join(OPERATORS)}")
            if op in COMPARISONS and (isinstance(operand, bool) or not isinstance(operand, int | float | str)):
                raise ValueError(f"filter on {field!r}: {op} needs a number or a string")
    return filter_


def capped(maximum: int) -> AfterValidator:
    return AfterValidator(lambda v: min(v, maximum))


Label = Annotated[str, AfterValidator(check_label)]
Labels = list[Label]
ItemNamespace = Annotated[Labels, AfterValidator(check_namespace)]
Key = Annotated[str, Field(min_length=1), AfterValidator(check_text)]
JsonObject = StorableObject
IndexFields = list[Annotated[str, Field(min_length=1), AfterValidator(check_text)]]


class StoreRequest(ApiModel):
    """Unknown fields are ignored, as the reference server does; types are not coerced."""

    model_config = ConfigDict(extra="ignore", strict=True)


class StorePut(StoreRequest):
    namespace: ItemNamespace
    key: Key
    value: JsonObject
    index: Literal[False] | IndexFields | None = Field(
        default=None, description="null: the configured fields; false: not indexed; a list: these fields"
    )
    ttl: Annotated[float, Field(ge=MIN_TTL_MINUTES, le=MAX_TTL_MINUTES, allow_inf_nan=False)] | None = Field(
        default=None, description="minutes until the item expires; null: never; left out: the configured default"
    )

    @field_validator("index", mode="before")
    @classmethod
    def _index_false_is_a_boolean(cls, index: Any) -> Any:
        if index is not None and index is not False and not isinstance(index, list):
            raise ValueError("index must be false, a list of field paths, or null")
        return index


class StoreDelete(StoreRequest):
    namespace: ItemNamespace
    key: Key


class StoreSearch(StoreRequest):
    namespace_prefix: Labels | None = None
    filter: Annotated[dict[str, Any], AfterValidator(check_filter)] | None = Field(
        default=None, description='field equality, or {"field": {"$gt": 1}} with $eq $ne $gt $gte $lt $lte'
    )
    limit: Annotated[int, Field(ge=0), capped(MAX_PAGE_SIZE)] = Field(
        default=10, description=f"page size; 0 means the default (10), larger than {MAX_PAGE_SIZE} is capped"
    )
    offset: Annotated[int, Field(ge=0), capped(MAX_OFFSET)] = 0
    query: Annotated[str, AfterValidator(check_text)] | None = None
    refresh_ttl: StrictBool | None = None


class StoreListNamespaces(StoreRequest):
    prefix: Labels | None = None
    suffix: Labels | None = None
    max_depth: Annotated[int, Field(ge=1), capped(MAX_DEPTH)] | None = None
    limit: Annotated[int, Field(ge=0), capped(MAX_PAGE_SIZE)] = 100
    offset: Annotated[int, Field(ge=0), capped(MAX_OFFSET)] = 0


class Item(BaseModel):
    namespace: list[str]
    key: str
    value: dict[str, Any]
    created_at: str
    updated_at: str


class SearchItem(Item):
    score: float | None = None


class SearchItemsResponse(BaseModel):
    items: list[SearchItem]


class ListNamespacesResponse(BaseModel):
    namespaces: list[list[str]]
