"""The model registry's API shapes: models, aliases, groups, skills, MCP servers, configured agents, executions,
and model resolution.

Named objects are addressed by id or name in paths; an alias's or agent's `model` is a model's name (or id).
Patch bodies change only the fields they carry; `null` clears a nullable field.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from agent_server.models.common import ApiModel, Limit, Offset, StorableObject, StorableValue

# No control characters, and no whitespace at either end: names are typed on command lines and in YAML.
NAME_PATTERN = r"^[^\s\x00-\x1f\x7f](?:[^\x00-\x1f\x7f]*[^\s\x00-\x1f\x7f])?$"
Name = Annotated[str, StringConstraints(min_length=1, max_length=100, pattern=NAME_PATTERN)]
Label = Annotated[str, StringConstraints(min_length=1, max_length=50, pattern=NAME_PATTERN)]
ModelRef = Annotated[str, Field(min_length=1, max_length=100, description="a model's name (or id)")]
ExecutionStatus = Literal["pending", "running", "success", "failed", "cancelled", "timeout"]
AgentType = Literal["configured", "graph"]


def unique(values: list[Any], what: str) -> None:
    seen = set()
    for value in values:
        if value in seen:
            raise ValueError(f"{what} lists {value!r} twice")
        seen.add(value)


class ParamSpec(ApiModel):
    """How a model takes call parameters: `exclude` drops them, `map` renames them (after `exclude`)."""

    model_config = ConfigDict(extra="forbid")

    exclude: list[Annotated[str, Field(min_length=1)]] = []
    map: dict[str, Annotated[str, Field(min_length=1)]] = {}


class Stamped(BaseModel):
    id: UUID
    created_at: datetime
    updated_at: datetime


# Models


class ModelFields(ApiModel):
    description: str | None = None
    capabilities: list[Annotated[str, Field(min_length=1, max_length=100)]] = []
    args: StorableObject = Field(default={}, description="connection arguments; `${ENV}` references stay as text")
    param_spec: ParamSpec | None = None
    is_active: bool = True


class ModelCreate(ModelFields):
    name: Name
    provider: Label = Field(description="ollama, openai, openai-compatible, google, ...")
    model_name: str = Field(min_length=1, max_length=100, description="the provider's model id")
    model_type: Label = "llm"


class ModelPatch(ApiModel):
    name: Name | None = None
    provider: Label | None = None
    model_name: str | None = Field(default=None, min_length=1, max_length=100)
    model_type: Label | None = None
    description: str | None = None
    capabilities: list[Annotated[str, Field(min_length=1, max_length=100)]] | None = None
    args: StorableObject | None = None
    param_spec: ParamSpec | None = None
    is_active: bool | None = None


class Model(Stamped):
    name: str
    provider: str
    model_name: str
    model_type: str
    description: str | None
    capabilities: list[str]
    args: dict[str, Any]
    param_spec: dict[str, Any] | None
    is_active: bool


class ModelFilters(BaseModel):
    provider: str | None = None
    model_type: str | None = None
    is_active: bool | None = None
    capability: str | None = Field(default=None, description="models whose capabilities include this one")
    limit: Limit = 100
    offset: Offset = 0


# Aliases


class AliasCreate(ApiModel):
    name: Name
    model: ModelRef
    model_type: Label | None = Field(default=None, description="defaults to the model's type")
    fallbacks: list[Name] = Field(default=[], description="alias names tried in order after this one")
    description: str | None = None
    is_active: bool = True

    @model_validator(mode="after")
    def _fallbacks_once(self) -> AliasCreate:
        unique(self.fallbacks, "fallbacks")
        return self


class AliasPatch(ApiModel):
    name: Name | None = None
    model: ModelRef | None = None
    model_type: Label | None = None
    fallbacks: list[Name] | None = None
    description: str | None = None
    is_active: bool | None = None

    @model_validator(mode="after")
    def _fallbacks_once(self) -> AliasPatch:
        unique(self.fallbacks or [], "fallbacks")
        return self


class Alias(Stamped):
    name: str
    model: str = Field(description="the target model's name")
    target_model_id: UUID
    model_type: str
    fallbacks: list[str]
    description: str | None
    is_active: bool


class AliasFilters(BaseModel):
    model_type: str | None = None
    is_active: bool | None = None
    model: str | None = Field(default=None, description="aliases of this model (name or id)")
    limit: Limit = 100
    offset: Offset = 0


# Groups


class GroupCreate(ApiModel):
    name: Name
    model_type: Label = "llm"
    members: list[Name] = Field(default=[], description="alias names")
    default: Name | None = Field(default=None, description="one of the members")
    description: str | None = None

    @model_validator(mode="after")
    def _members_once(self) -> GroupCreate:
        unique(self.members, "members")
        return self


class GroupPatch(ApiModel):
    name: Name | None = None
    model_type: Label | None = None
    members: list[Name] | None = None
    default: Name | None = None
    description: str | None = None

    @model_validator(mode="after")
    def _members_once(self) -> GroupPatch:
        unique(self.members or [], "members")
        return self


class Group(Stamped):
    name: str
    model_type: str
    members: list[str]
    default: str | None
    default_alias_id: UUID | None
    description: str | None


class GroupFilters(BaseModel):
    model_type: str | None = None
    limit: Limit = 100
    offset: Offset = 0


# Skills


class SkillCreate(ApiModel):
    name: Name
    description: str | None = None
    skill_path: str = Field(min_length=1, max_length=500, description="path of the SKILL.md file")
    version: str = Field(default="1.0.0", min_length=1, max_length=20)
    is_active: bool = True


class SkillPatch(ApiModel):
    name: Name | None = None
    description: str | None = None
    skill_path: str | None = Field(default=None, min_length=1, max_length=500)
    version: str | None = Field(default=None, min_length=1, max_length=20)
    is_active: bool | None = None


class Skill(Stamped):
    name: str
    description: str | None
    skill_path: str
    version: str
    is_active: bool


class SkillFilters(BaseModel):
    is_active: bool | None = None
    limit: Limit = 100
    offset: Offset = 0


# MCP servers


class McpCreate(ApiModel):
    name: Name
    description: str | None = None
    mcp_type: Label = Field(description="dagster, github, filesystem, custom, ...")
    connection_config: StorableObject = Field(default={}, description="`${ENV}` references stay as text")
    is_active: bool = True


class McpPatch(ApiModel):
    name: Name | None = None
    description: str | None = None
    mcp_type: Label | None = None
    connection_config: StorableObject | None = None
    is_active: bool | None = None


class Mcp(Stamped):
    name: str
    description: str | None
    mcp_type: str
    connection_config: dict[str, Any]
    is_active: bool


class McpFilters(BaseModel):
    mcp_type: str | None = None
    is_active: bool | None = None
    limit: Limit = 100
    offset: Offset = 0


# Configured agents


class AgentCreate(ApiModel):
    name: Name
    description: str | None = None
    model: ModelRef
    system_prompt: str | None = None
    config: StorableObject = {}
    is_active: bool = True
    skill_ids: list[UUID] = []
    mcp_ids: list[UUID] = []

    @model_validator(mode="after")
    def _links_once(self) -> AgentCreate:
        unique(self.skill_ids, "skill_ids")
        unique(self.mcp_ids, "mcp_ids")
        return self


class AgentPatch(ApiModel):
    """`skill_ids` and `mcp_ids`, when given, replace the agent's links."""

    name: Name | None = None
    description: str | None = None
    model: ModelRef | None = None
    system_prompt: str | None = None
    config: StorableObject | None = None
    is_active: bool | None = None
    skill_ids: list[UUID] | None = None
    mcp_ids: list[UUID] | None = None

    @model_validator(mode="after")
    def _links_once(self) -> AgentPatch:
        unique(self.skill_ids or [], "skill_ids")
        unique(self.mcp_ids or [], "mcp_ids")
        return self


class Agent(Stamped):
    name: str
    description: str | None
    model: str = Field(description="the model's name")
    model_id: UUID
    system_prompt: str | None
    config: dict[str, Any]
    is_active: bool
    skill_ids: list[UUID]
    mcp_ids: list[UUID]


class AgentFilters(BaseModel):
    is_active: bool | None = None
    model: str | None = Field(default=None, description="agents using this model (name or id)")
    limit: Limit = 100
    offset: Offset = 0


# Executions

ShortText = Annotated[str, Field(min_length=1, max_length=100)]


class ExecutionCreate(ApiModel):
    agent_type: AgentType
    configured_agent_id: UUID | None = Field(default=None, description="required when agent_type is configured")
    graph_agent_name: ShortText | None = Field(default=None, description="required when agent_type is graph")
    task_id: UUID | None = None
    execution_type: Label = Field(description="task_processing, routing_decision, chat_response, workflow_step, ...")
    status: ExecutionStatus = "pending"
    input_data: StorableValue = None
    output_data: StorableValue = None
    error_message: str | None = None
    started_at: datetime | None = None
    completed_at: datetime | None = None
    token_usage: StorableObject | None = Field(default=None, description='{"input_tokens": 10, "output_tokens": 5}')
    dagster_run_id: ShortText | None = None

    @model_validator(mode="after")
    def _agent_named(self) -> ExecutionCreate:
        if self.agent_type == "configured" and self.configured_agent_id is None:
            raise ValueError("a configured agent's execution needs configured_agent_id")
        if self.agent_type == "graph" and self.graph_agent_name is None:
            raise ValueError("a graph agent's execution needs graph_agent_name")
        return self


class ExecutionPatch(ApiModel):
    """A status of running sets `started_at`, a final one `completed_at`, unless the body gives them."""

    status: ExecutionStatus | None = None
    output_data: StorableValue = None
    error_message: str | None = None
    token_usage: StorableObject | None = None
    started_at: datetime | None = None
    completed_at: datetime | None = None
    dagster_run_id: ShortText | None = None


class Execution(Stamped):
    agent_type: AgentType
    configured_agent_id: UUID | None
    graph_agent_name: str | None
    task_id: UUID | None
    execution_type: str
    status: ExecutionStatus
    input_data: Any
    output_data: Any
    error_message: str | None
    started_at: datetime | None
    completed_at: datetime | None
    token_usage: dict[str, Any] | None
    dagster_run_id: str | None


class ExecutionFilters(BaseModel):
    agent_id: UUID | None = Field(default=None, description="a configured agent's id")
    agent_type: AgentType | None = None
    graph_agent_name: str | None = None
    task_id: UUID | None = None
    status: ExecutionStatus | None = None
    execution_type: str | None = None
    dagster_run_id: str | None = None
    limit: Limit = 100
    offset: Offset = 0


# Resolution


class ResolveRequest(ApiModel):
    name: str = Field(min_length=1, max_length=100, description="an alias name, or else a model name")
    params: StorableObject = Field(default={}, description="call parameters, passed through each param_spec")
    resolve_env: bool = Field(default=True, description="false: leave `${ENV}` references in args unresolved")


class Candidate(BaseModel):
    alias: str | None = Field(description="the alias this candidate comes from; null when a model was named")
    model: str = Field(description="the registry model's name")
    provider: str
    model_name: str
    model_type: str
    capabilities: list[str]
    args: dict[str, Any] = Field(description="with `${ENV}` references resolved from the environment now")
    params: dict[str, Any] = Field(description="the call parameters after the model's param_spec")
    missing_env: list[str] = Field(description="referenced variables that are not set (left as `${NAME}` in args)")


class Skipped(BaseModel):
    alias: str | None
    model: str
    reason: str


class Resolution(BaseModel):
    name: str
    kind: Literal["alias", "model"]
    candidates: list[Candidate] = Field(description="in the order to try them: the alias, then its fallbacks")
    skipped: list[Skipped] = Field(description="inactive aliases or models left out of the chain")
