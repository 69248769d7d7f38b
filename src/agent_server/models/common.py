"""Shapes shared by several resources."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

MAX_PAGE_SIZE = 1000

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
