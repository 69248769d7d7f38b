"""Shapes shared by several resources."""

from __future__ import annotations

import math
import re
from functools import cache
from types import NoneType, UnionType
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, create_model, model_validator

MAX_PAGE_SIZE = 1000
MAX_OFFSET = 2**62  # beyond any row count; keeps the value inside Postgres' bigint
MAX_JSON_DEPTH = 100
# NUL, which Postgres text and jsonb refuse, and lone UTF-16 surrogates ("\ud800" in JSON), which are not Unicode
# text: no database column or JSON encoder takes them.
UNSTORABLE_CHARACTER = re.compile("[\x00\ud800-\udfff]")


def check_characters(value: str, what: str) -> None:
    found = UNSTORABLE_CHARACTER.search(value)
    if found is None:
        return
    if found.group() == "\x00":
        raise ValueError(f"{what} must not contain NUL characters")
    raise ValueError(f"{what} must be valid Unicode (no lone surrogates such as \\ud800)")


def check_storable(value: Any, path: str = "value", depth: int = 0) -> Any:
    """What jsonb and our JSON rendering can hold: a 422 for NUL, lone surrogates, NaN/Infinity, integers beyond
    64 bits and nesting deeper than MAX_JSON_DEPTH, instead of a database error."""
    if depth > MAX_JSON_DEPTH:
        raise ValueError(f"{path} is nested deeper than {MAX_JSON_DEPTH} levels")
    if isinstance(value, str):
        check_characters(value, path)
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
            if isinstance(key, str):
                check_characters(key, "object keys")
            check_storable(item, f"{path}.{key}", depth + 1)
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            check_storable(item, f"{path}[{index}]", depth + 1)
    return value


StorableObject = Annotated[dict[str, Any], AfterValidator(check_storable)]
StorableValue = Annotated[Any, AfterValidator(check_storable)]

Metadata = dict[str, Any]
Limit = Annotated[int, Field(ge=1, le=MAX_PAGE_SIZE, description="page size (1-1000)")]
Offset = Annotated[int, Field(ge=0, le=MAX_OFFSET, description="rows to skip")]
SortOrder = Literal["asc", "desc"]
IfExists = Literal["raise", "do_nothing"]


def _checked_by_annotation(annotation: Any) -> bool:
    """Whether a field's type runs check_storable on every value it takes (StorableObject, StorableValue, or a
    union of those and None)."""
    if get_origin(annotation) is Annotated:
        return any(isinstance(m, AfterValidator) and m.func is check_storable for m in annotation.__metadata__)
    if get_origin(annotation) in (Union, UnionType):
        return all(arg is NoneType or _checked_by_annotation(arg) for arg in get_args(annotation))
    return False


class ApiModel(BaseModel):
    """Request bodies: unknown fields are ignored, as the reference server does. Every field's value passes
    check_storable (a name, an id or a label with NUL or a lone surrogate is a 422, not a database error)."""

    model_config = ConfigDict(extra="ignore")

    @classmethod
    @cache
    def _fields_to_check(cls) -> tuple[str, ...]:
        return tuple(
            name for name, field in cls.model_fields.items()
            if not _checked_by_annotation(field.annotation)
            and not any(isinstance(m, AfterValidator) and m.func is check_storable for m in field.metadata)
        )

    @model_validator(mode="after")
    def _check_storable(self) -> ApiModel:
        for name in self._fields_to_check():
            value = getattr(self, name)
            if not isinstance(value, BaseModel):  # a nested model checked itself
                check_storable(value, name)
        return self


def selection_of(model: type[BaseModel]) -> type[BaseModel]:
    """`model` with every field optional: what a search answers for each row when its `select` names fields."""
    annotations: dict[str, Any] = {name: field.annotation for name, field in model.model_fields.items()}
    fields: dict[str, Any] = {name: (annotation | None, None) for name, annotation in annotations.items()}
    doc = f"The fields of {model.__name__} that the search's `select` named."
    return create_model(f"{model.__name__}Selection", __doc__=doc, **fields)


class ErrorBody(BaseModel):
    """Every error response: the reference server's shape."""

    detail: str


class ValidationIssue(BaseModel):
    loc: list[str | int]
    msg: str
    type: str


class ValidationErrorBody(ErrorBody):
    """A 422: `detail` sums the issues up; request validation also lists them in `errors`."""

    errors: list[ValidationIssue] | None = None
