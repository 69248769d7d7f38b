"""Provider profiles (DB-defined HTTP calls to model providers), the provider credentials they run with, and the
log of their invocations."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, CheckConstraint, DateTime, ForeignKey, Index, Integer, Text, func, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from agent_server.db.tables import Base


def _timestamp() -> Mapped[datetime]:
    return mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now())


class ModelApiProfile(Base):
    """How to call one provider for one purpose: `transport` (the HTTP request template), `response_mapping` (how
    to read the answer) and an optional `workflow` (async jobs: poll, then download).

    Selection: tenant + provider + purpose + exact model, then the same with model NULL; newest `updated_at` wins.
    """

    __tablename__ = "model_api_profiles"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    tenant_id: Mapped[str] = mapped_column(Text, nullable=False)
    provider_id: Mapped[str] = mapped_column(Text, nullable=False)
    purpose: Mapped[str] = mapped_column(Text, nullable=False)
    model_id: Mapped[str | None] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)
    transport: Mapped[dict[str, Any]] = mapped_column(nullable=False)
    response_mapping: Mapped[dict[str, Any]] = mapped_column(nullable=False)
    workflow: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    is_active: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=text("true"))
    created_at: Mapped[datetime] = _timestamp()
    updated_at: Mapped[datetime] = _timestamp()

    __table_args__ = (
        Index("ix_model_api_profiles_selection", "tenant_id", "provider_id", "purpose", "model_id", "updated_at",
              postgresql_where=text("is_active")),
        Index(None, "created_at"),
    )


class ProviderApiCredential(Base):
    """A tenant's access to a provider: its API key (Fernet ciphertext, never returned) and endpoint. At most one
    active credential per tenant and provider, so an invocation finds exactly one."""

    __tablename__ = "provider_api_credentials"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    tenant_id: Mapped[str] = mapped_column(Text, nullable=False)
    provider_id: Mapped[str] = mapped_column(Text, nullable=False)
    api_key_encrypted: Mapped[str | None] = mapped_column(Text)
    api_key_hint: Mapped[str | None] = mapped_column(Text)
    endpoint_url: Mapped[str | None] = mapped_column(Text)
    is_active: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=text("true"))
    created_at: Mapped[datetime] = _timestamp()
    updated_at: Mapped[datetime] = _timestamp()

    __table_args__ = (
        Index("uq_provider_api_credentials_active", "tenant_id", "provider_id", unique=True,
              postgresql_where=text("is_active")),
        Index(None, "created_at"),
    )


class ModelApiProfileInvocation(Base):
    """One call of a profile: its outcome, the status we answered and, on failure, why (never the API key)."""

    __tablename__ = "model_api_profile_invocations"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    profile_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("model_api_profiles.id", ondelete="CASCADE"), nullable=False
    )
    outcome: Mapped[str] = mapped_column(Text, nullable=False)
    status_code: Mapped[int] = mapped_column(Integer, nullable=False)
    result_type: Mapped[str | None] = mapped_column(Text)
    detail: Mapped[str | None] = mapped_column(Text)
    duration_ms: Mapped[int] = mapped_column(Integer, nullable=False)
    created_at: Mapped[datetime] = _timestamp()

    __table_args__ = (
        CheckConstraint("outcome IN ('success', 'error')", name="outcome_valid"),
        Index(None, "profile_id", "created_at"),
    )
