"""the hub's model registry: models, aliases, groups, skills, MCPs, configured agents, executions

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-21 16:20:00
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSONB = postgresql.JSONB(astext_type=sa.Text())


def _id() -> sa.Column[Any]:
    return sa.Column("id", sa.UUID(), nullable=False)


def _name() -> sa.Column[Any]:
    return sa.Column("name", sa.String(length=100), nullable=False)


def _is_active() -> sa.Column[Any]:
    return sa.Column("is_active", sa.Boolean(), server_default=sa.text("true"), nullable=False)


def _timestamps() -> list[sa.Column[Any]]:
    return [
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
    ]


def _keys(table: str) -> list[sa.Constraint]:
    return [sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{table}")),
            sa.UniqueConstraint("name", name=op.f(f"uq_{table}_name"))]


def _indexes(table: str, *columns: str) -> None:
    for column in columns:
        op.create_index(op.f(f"ix_{table}_{column}"), table, [column], unique=False)


def _create_models() -> None:
    op.create_table(
        "ai_model_registry",
        _id(),
        _name(),
        sa.Column("provider", sa.String(length=50), nullable=False),
        sa.Column("model_name", sa.String(length=100), nullable=False),
        sa.Column("model_type", sa.String(length=50), server_default=sa.text("'llm'"), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("capabilities", JSONB, server_default=sa.text("'[]'::jsonb"), nullable=False),
        sa.Column("args", JSONB, server_default=sa.text("'{}'::jsonb"), nullable=False),
        sa.Column("param_spec", JSONB, nullable=True),
        _is_active(),
        *_timestamps(),
        *_keys("ai_model_registry"),
    )
    _indexes("ai_model_registry", "provider", "model_type", "is_active")
    op.create_table(
        "ai_model_aliases",
        _id(),
        _name(),
        sa.Column("model_type", sa.String(length=50), nullable=False),
        sa.Column("target_model_id", sa.UUID(), nullable=False),
        sa.Column("fallbacks", JSONB, nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        _is_active(),
        *_timestamps(),
        sa.ForeignKeyConstraint(
            ["target_model_id"], ["ai_model_registry.id"],
            name=op.f("fk_ai_model_aliases_target_model_id_ai_model_registry"), ondelete="RESTRICT",
        ),
        *_keys("ai_model_aliases"),
    )
    _indexes("ai_model_aliases", "model_type", "target_model_id", "is_active")
    op.create_table(
        "ai_model_groups",
        _id(),
        _name(),
        sa.Column("model_type", sa.String(length=50), nullable=False),
        sa.Column("members", JSONB, nullable=False),
        sa.Column("default_alias_id", sa.UUID(), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        *_timestamps(),
        sa.ForeignKeyConstraint(
            ["default_alias_id"], ["ai_model_aliases.id"],
            name=op.f("fk_ai_model_groups_default_alias_id_ai_model_aliases"), ondelete="RESTRICT",
        ),
        *_keys("ai_model_groups"),
    )
    _indexes("ai_model_groups", "model_type", "default_alias_id")


def _create_skills_and_mcps() -> None:
    op.create_table(
        "skill_registry",
        _id(),
        _name(),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("skill_path", sa.String(length=500), nullable=False),
        sa.Column("version", sa.String(length=20), server_default=sa.text("'1.0.0'"), nullable=False),
        _is_active(),
        *_timestamps(),
        *_keys("skill_registry"),
    )
    op.create_table(
        "mcp_registry",
        _id(),
        _name(),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("mcp_type", sa.String(length=50), nullable=False),
        sa.Column("connection_config", JSONB, server_default=sa.text("'{}'::jsonb"), nullable=False),
        _is_active(),
        *_timestamps(),
        *_keys("mcp_registry"),
    )


def _create_agent_link(table: str, column: str, target: str) -> None:
    op.create_table(
        table,
        sa.Column("agent_id", sa.UUID(), nullable=False),
        sa.Column(column, sa.UUID(), nullable=False),
        sa.ForeignKeyConstraint(["agent_id"], ["configured_agents.id"],
                                name=op.f(f"fk_{table}_agent_id_configured_agents"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint([column], [f"{target}.id"], name=op.f(f"fk_{table}_{column}_{target}"),
                                ondelete="RESTRICT"),
        sa.PrimaryKeyConstraint("agent_id", column, name=op.f(f"pk_{table}")),
    )
    _indexes(table, column)


def _create_agents() -> None:
    op.create_table(
        "configured_agents",
        _id(),
        _name(),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("model_id", sa.UUID(), nullable=False),
        sa.Column("system_prompt", sa.Text(), nullable=True),
        sa.Column("config", JSONB, server_default=sa.text("'{}'::jsonb"), nullable=False),
        _is_active(),
        *_timestamps(),
        sa.ForeignKeyConstraint(["model_id"], ["ai_model_registry.id"],
                                name=op.f("fk_configured_agents_model_id_ai_model_registry"), ondelete="RESTRICT"),
        *_keys("configured_agents"),
    )
    _indexes("configured_agents", "model_id", "is_active")
    _create_agent_link("configured_agent_skills", "skill_id", "skill_registry")
    _create_agent_link("configured_agent_mcps", "mcp_id", "mcp_registry")


def _create_executions() -> None:
    op.create_table(
        "agent_executions",
        _id(),
        sa.Column("agent_type", sa.String(length=50), nullable=False),
        sa.Column("configured_agent_id", sa.UUID(), nullable=True),
        sa.Column("graph_agent_name", sa.String(length=100), nullable=True),
        sa.Column("task_id", sa.UUID(), nullable=True),
        sa.Column("execution_type", sa.String(length=50), nullable=False),
        sa.Column("status", sa.String(length=50), server_default=sa.text("'pending'"), nullable=False),
        sa.Column("input_data", JSONB, nullable=True),
        sa.Column("output_data", JSONB, nullable=True),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("token_usage", JSONB, nullable=True),
        sa.Column("dagster_run_id", sa.String(length=100), nullable=True),
        *_timestamps(),
        sa.CheckConstraint("agent_type IN ('configured', 'graph')", name=op.f("ck_agent_executions_agent_type_valid")),
        sa.CheckConstraint(
            "status IN ('pending', 'running', 'success', 'failed', 'cancelled', 'timeout')",
            name=op.f("ck_agent_executions_status_valid"),
        ),
        sa.ForeignKeyConstraint(
            ["configured_agent_id"], ["configured_agents.id"],
            name=op.f("fk_agent_executions_configured_agent_id_configured_agents"), ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(["task_id"], ["tasks.id"], name=op.f("fk_agent_executions_task_id_tasks"),
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agent_executions")),
    )
    _indexes("agent_executions", "agent_type", "configured_agent_id", "task_id", "status", "created_at",
             "dagster_run_id")


def upgrade() -> None:
    _create_models()
    _create_skills_and_mcps()
    _create_agents()
    _create_executions()


def downgrade() -> None:
    for table in ("agent_executions", "configured_agent_mcps", "configured_agent_skills", "configured_agents",
                  "mcp_registry", "skill_registry", "ai_model_groups", "ai_model_aliases", "ai_model_registry"):
        op.drop_table(table)  # its indexes go with it
