"""the hub's provider profiles and provider credentials

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-21 16:20:00
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _timestamps() -> list[sa.Column[Any]]:
    return [
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "model_api_profiles",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("tenant_id", sa.Text(), nullable=False),
        sa.Column("provider_id", sa.Text(), nullable=False),
        sa.Column("purpose", sa.Text(), nullable=False),
        sa.Column("model_id", sa.Text(), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("transport", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("response_mapping", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("workflow", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("is_active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        *_timestamps(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_model_api_profiles")),
    )
    op.create_index(op.f("ix_model_api_profiles_created_at"), "model_api_profiles", ["created_at"], unique=False)
    op.create_index(
        "ix_model_api_profiles_selection", "model_api_profiles",
        ["tenant_id", "provider_id", "purpose", "model_id", "updated_at"],
        unique=False, postgresql_where=sa.text("is_active"),
    )

    op.create_table(
        "provider_api_credentials",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("tenant_id", sa.Text(), nullable=False),
        sa.Column("provider_id", sa.Text(), nullable=False),
        sa.Column("api_key_encrypted", sa.Text(), nullable=True),
        sa.Column("api_key_hint", sa.Text(), nullable=True),
        sa.Column("endpoint_url", sa.Text(), nullable=True),
        sa.Column("is_active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        *_timestamps(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_provider_api_credentials")),
    )
    op.create_index(
        op.f("ix_provider_api_credentials_created_at"), "provider_api_credentials", ["created_at"], unique=False
    )
    op.create_index(
        "uq_provider_api_credentials_active", "provider_api_credentials", ["tenant_id", "provider_id"],
        unique=True, postgresql_where=sa.text("is_active"),
    )

    op.create_table(
        "model_api_profile_invocations",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("profile_id", sa.UUID(), nullable=False),
        sa.Column("outcome", sa.Text(), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=False),
        sa.Column("result_type", sa.Text(), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "outcome IN ('success', 'error')", name=op.f("ck_model_api_profile_invocations_outcome_valid")
        ),
        sa.ForeignKeyConstraint(
            ["profile_id"], ["model_api_profiles.id"],
            name=op.f("fk_model_api_profile_invocations_profile_id_model_api_profiles"), ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_model_api_profile_invocations")),
    )
    op.create_index(
        op.f("ix_model_api_profile_invocations_profile_id_created_at"), "model_api_profile_invocations",
        ["profile_id", "created_at"], unique=False,
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_model_api_profile_invocations_profile_id_created_at"),
                  table_name="model_api_profile_invocations")
    op.drop_table("model_api_profile_invocations")
    op.drop_index("uq_provider_api_credentials_active", table_name="provider_api_credentials",
                  postgresql_where=sa.text("is_active"))
    op.drop_index(op.f("ix_provider_api_credentials_created_at"), table_name="provider_api_credentials")
    op.drop_table("provider_api_credentials")
    op.drop_index("ix_model_api_profiles_selection", table_name="model_api_profiles",
                  postgresql_where=sa.text("is_active"))
    op.drop_index(op.f("ix_model_api_profiles_created_at"), table_name="model_api_profiles")
    op.drop_table("model_api_profiles")
