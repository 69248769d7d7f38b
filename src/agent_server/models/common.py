"""Shapes shared by several resources."""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

MAX_PAGE_SIZE = 1000
MAX_OFFSET = 2**62  # beyond any row count; keeps the value inside Postgres' bigint
MAX_JSON_DEPTH = 100


def check_storable(value: Any, path: str = "value", depth: int = 0) -> Any:
    """What jsonb and our JSON rendering can hold: a 422 for NUL, NaN/Infinity, integers beyond 64 bits and
    nesting deeper than MAX_JSON_DEPTH, instead of a database error."""
    if depth > MAX_JSON_DEPTH:
        raise ValueError(f"{path} is nested deeper than {MAX_JSON_DEPTH} levels")
    if isinstance(value, str):
        if "\x00" in value:
            raise ValueError(f"{path} must not contain NUL characters")
    elif isinstance(value, bool):
        pass
    elif isinstance(value, int):
        if not -(2**63) <= value < 2**64:
            raise ValueError(f"{path}: integers must fit in 64 bits")
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{path} must be a finite number")
    elif isinstance(value, dict):
        for key, item in value.items():
            if isinstance(key, str) and "\x00" in key:
                raise ValueError("object keys must not contain NUL characters")
            check_storable(item, f"{path}.{key}", depth + 1)
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            check_storable(item, f"{path}[{index}]", depth + 1)
    return value


StorableObject = Annotated[dict[str, Any], AfterValidator(check_storable)]
StorableValue = Annotated[Any, AfterValidator(check_storable)]

Metadata = dict[str, Any]
Limit = Annotated[int, Field(ge=1, le=MAX_PAGE_SIZE, description="page size (1-1000)")]
Offset = Annotated[int, Field(ge=0, description="rows to skip")]
SortOrder = Literal["asc", "desc"]
IfExists = Literal["raise", "do_nothing"]


class ApiModel(BaseModel):
    """Request bodies: unknown fields are ignored, as the reference server does."""

    model_config = ConfigDict(extra="ignore")


class ErrorBody(BaseModel):
    detail: str
