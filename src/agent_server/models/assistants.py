"""Assistants: a graph plus a saved config/context, versioned on every change."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, Field

from agent_server.models.common import (
    ApiModel,
    IfExists,
    Limit,
    Metadata,
    Offset,
    SortOrder,
    StorableObject,
    selection_of,
)

AssistantField = Literal[
    "assistant_id", "graph_id", "name", "description", "config", "context", "metadata", "version",
    "created_at", "updated_at",
]
MAX_VERSION = 2**31 - 1  # versions are Postgres integers
AssistantSortBy = Literal["assistant_id", "graph_id", "name", "created_at", "updated_at"]


class AssistantCreate(ApiModel):
    graph_id: str = Field(min_length=1)
    assistant_id: UUID | None = None
    config: StorableObject = Field(default_factory=dict)
    context: StorableObject = Field(default_factory=dict)
    metadata: StorableObject = Field(default_factory=dict)
    if_exists: IfExists = "raise"
    name: str | None = None
    description: str | None = None


class AssistantPatch(ApiModel):
    graph_id: str | None = Field(default=None, min_length=1)
    config: StorableObject | None = None
    context: StorableObject | None = None
    metadata: StorableObject | None = None
    name: str | None = None
    description: str | None = None


class AssistantFilter(ApiModel):
    metadata: StorableObject | None = None
    graph_id: str | None = None
    name: str | None = None


class AssistantSearch(AssistantFilter):
    limit: Limit = 10
    offset: Offset = 0
    sort_by: AssistantSortBy | None = None
    sort_order: SortOrder | None = None
    select: list[AssistantField] | None = None


class AssistantVersionsSearch(ApiModel):
    metadata: StorableObject | None = None
    limit: Limit = 10
    offset: Offset = 0


class AssistantSetLatest(ApiModel):
    version: int = Field(ge=1, le=MAX_VERSION)


class Assistant(BaseModel):
    assistant_id: UUID
    graph_id: str
    name: str
    description: str | None
    config: dict[str, Any]
    context: dict[str, Any]
    metadata: Metadata
    version: int
    created_at: datetime
    updated_at: datetime


AssistantSelection = selection_of(Assistant)
# What search answers: whole assistants, or the fields `select` names.
AssistantSearchResult = list[Assistant | AssistantSelection]  # type: ignore[valid-type]


class AssistantVersion(BaseModel):
    assistant_id: UUID
    graph_id: str
    name: str
    description: str | None
    config: dict[str, Any]
    context: dict[str, Any]
    metadata: Metadata
    version: int
    created_at: datetime


class GraphSchemas(BaseModel):
    graph_id: str
    input_schema: dict[str, Any] | None
    output_schema: dict[str, Any] | None
    state_schema: dict[str, Any] | None
    config_schema: dict[str, Any] | None
    context_schema: dict[str, Any] | None
