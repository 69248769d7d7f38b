"""The model registry's tables: models, aliases (fallback chains), groups, skills, MCP servers, configured agents
(with their skills and MCP servers) and agent executions, as the hub's schema design lays them out.

Names are unique per table. References between named objects that the catalog writes by name (an alias's
`fallbacks`, a group's `members`) are JSONB lists of alias names, checked by the service at write time; the others
are foreign keys. Deleting something still referenced is refused (RESTRICT, and a 409 from the service that names
the referrers), except that an agent's skill and MCP links go with the agent, and executions outlive their agent
and task (SET NULL): they are history.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, CheckConstraint, DateTime, ForeignKey, Index, String, Text, func, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from agent_server.db.tables import Base

EXECUTION_STATUSES = ("pending", "running", "success", "failed", "cancelled", "timeout")
AGENT_TYPES = ("configured", "graph")


def _timestamp() -> Mapped[datetime]:
    return mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now())


def _active() -> Mapped[bool]:
    return mapped_column(Boolean, nullable=False, server_default=text("true"))


def _name() -> Mapped[str]:
    return mapped_column(String(100), nullable=False, unique=True)


class AiModel(Base):
    __tablename__ = "ai_model_registry"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    name: Mapped[str] = _name()
    provider: Mapped[str] = mapped_column(String(50), nullable=False)
    model_name: Mapped[str] = mapped_column(String(100), nullable=False)
    model_type: Mapped[str] = mapped_column(String(50), nullable=False, server_default=text("'llm'"))
    description: Mapped[str | None] = mapped_column(Text)
    capabilities: Mapped[list[str]] = mapped_column(JSONB, nullable=False, server_default=text("'[]'::jsonb"))
    args: Mapped[dict[str, Any]] = mapped_column(nullable=False, server_default=text("'{}'::jsonb"))
    param_spec: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    is_active: Mapped[bool] = _active()
    created_at: Mapped[datetime] = _timestamp()
    updated_at: Mapped[datetime] = _timestamp()

    __table_args__ = (Index(None, "provider"), Index(None, "model_type"), Index(None, "is_active"))


class AiModelAlias(Base):
    __tablename__ = "ai_model_aliases"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    name: Mapped[str] = _name()
    model_type: Mapped[str] = mapped_column(String(50), nullable=False)
    target_model_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("ai_model_registry.id", ondelete="RESTRICT"), nullable=False
    )
    fallbacks: Mapped[list[str] | None] = mapped_column(JSONB)
    description: Mapped[str | None] = mapped_column(Text)
    is_active: Mapped[bool] = _active()
    created_at: Mapped[datetime] = _timestamp()
    updated_at: Mapped[datetime] = _timestamp()

    __table_args__ = (Index(None, "model_type"), Index(None, "target_model_id"), Index(None, "is_active"))


class AiModelGroup(Base):
    __tablename__ = "ai_model_groups"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    name: Mapped[str] = _name()
    model_type: Mapped[str] = mapped_column(String(50), nullable=False)
    members: Mapped[list[str]] = mapped_column(JSONB, nullable=False)
    default_alias_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("ai_model_aliases.id", ondelete="RESTRICT")
    )
    description: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = _timestamp()
    updated_at: Mapped[datetime] = _timestamp()

    __table_args__ = (Index(None, "model_type"), Index(None, "default_alias_id"))


class Skill(Base):
    __tablename__ = "skill_registry"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    name: Mapped[str] = _name()
    description: Mapped[str | None] = mapped_column(Text)
    skill_path: Mapped[str] = mapped_column(String(500), nullable=False)
    version: Mapped[str] = mapped_column(String(20), nullable=False, server_default=text("'1.0.0'"))
    is_active: Mapped[bool] = _active()
    created_at: Mapped[datetime] = _timestamp()
    updated_at: Mapped[datetime] = _timestamp()


class Mcp(Base):
    __tablename__ = "mcp_registry"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    name: Mapped[str] = _name()
    description: Mapped[str | None] = mapped_column(Text)
    mcp_type: Mapped[str] = mapped_column(String(50), nullable=False)
    connection_config: Mapped[dict[str, Any]] = mapped_column(nullable=False, server_default=text("'{}'::jsonb"))
    is_active: Mapped[bool] = _active()
    created_at: Mapped[datetime] = _timestamp()
    updated_at: Mapped[datetime] = _timestamp()


class ConfiguredAgent(Base):
    __tablename__ = "configured_agents"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    name: Mapped[str] = _name()
    description: Mapped[str | None] = mapped_column(Text)
    model_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("ai_model_registry.id", ondelete="RESTRICT"), nullable=False)
    system_prompt: Mapped[str | None] = mapped_column(Text)
    config: Mapped[dict[str, Any]] = mapped_column(nullable=False, server_default=text("'{}'::jsonb"))
    is_active: Mapped[bool] = _active()
    created_at: Mapped[datetime] = _timestamp()
    updated_at: Mapped[datetime] = _timestamp()

    __table_args__ = (Index(None, "model_id"), Index(None, "is_active"))


class ConfiguredAgentSkill(Base):
    __tablename__ = "configured_agent_skills"

    agent_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("configured_agents.id", ondelete="CASCADE"), primary_key=True
    )
    skill_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("skill_registry.id", ondelete="RESTRICT"), primary_key=True)

    __table_args__ = (Index(None, "skill_id"),)


class ConfiguredAgentMcp(Base):
    __tablename__ = "configured_agent_mcps"

    agent_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("configured_agents.id", ondelete="CASCADE"), primary_key=True
    )
    mcp_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("mcp_registry.id", ondelete="RESTRICT"), primary_key=True)

    __table_args__ = (Index(None, "mcp_id"),)


class AgentExecution(Base):
    __tablename__ = "agent_executions"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    agent_type: Mapped[str] = mapped_column(String(50), nullable=False)
    configured_agent_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("configured_agents.id", ondelete="SET NULL")
    )
    graph_agent_name: Mapped[str | None] = mapped_column(String(100))
    task_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("tasks.id", ondelete="SET NULL"))
    execution_type: Mapped[str] = mapped_column(String(50), nullable=False)
    status: Mapped[str] = mapped_column(String(50), nullable=False, server_default=text("'pending'"))
    input_data: Mapped[Any] = mapped_column(JSONB, nullable=True)
    output_data: Mapped[Any] = mapped_column(JSONB, nullable=True)
    error_message: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    token_usage: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    dagster_run_id: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = _timestamp()
    updated_at: Mapped[datetime] = _timestamp()

    __table_args__ = (
        CheckConstraint(
            "status IN ('pending', 'running', 'success', 'failed', 'cancelled', 'timeout')", name="status_valid"
        ),
        CheckConstraint("agent_type IN ('configured', 'graph')", name="agent_type_valid"),
        Index(None, "agent_type"),
        Index(None, "configured_agent_id"),
        Index(None, "task_id"),
        Index(None, "status"),
        Index(None, "created_at"),
        Index(None, "dagster_run_id"),
    )
