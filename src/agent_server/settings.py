"""Process settings read from the environment (12-factor); the graph project lives in the config file."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


def to_psycopg_url(url: str) -> str:
    """Normalise any Postgres URL to SQLAlchemy's psycopg 3 dialect."""
    for prefix in ("postgresql+psycopg://", "postgresql+asyncpg://", "postgresql+psycopg2://",
                   "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    raise ValueError(f"DATABASE_URL must be a PostgreSQL URL, got {url.split(':', 1)[0]}://...")


def to_libpq_url(url: str) -> str:
    """The plain libpq form of a SQLAlchemy URL, for psycopg pools."""
    return "postgresql://" + to_psycopg_url(url)[len("postgresql+psycopg://"):]


class JwtSettings(BaseSettings):
    """The built-in JWT authenticator (OPEN_LANGGRAPH_JWT_*): on when a secret, public key or JWKS is set."""

    model_config = SettingsConfigDict(env_prefix="OPEN_LANGGRAPH_JWT_", extra="ignore", case_sensitive=False)

    secret: SecretStr | None = Field(default=None, description="HS256 shared secret")
    public_key: str | None = Field(default=None, description="RS256/ES256 public key: PEM text or a PEM file path")
    jwks: str | None = Field(default=None, description="JWKS document: an http(s) URL or a file path")
    algorithms: list[str] | None = Field(default=None, description="Default: HS256 with a secret, else RS256, ES256")
    issuer: str | None = None
    audience: str | None = None
    leeway_seconds: float = Field(default=0.0, ge=0)
    identity_claim: str = "sub"
    name_claim: str = "name"
    tenant_claim: str = "org_id"
    permissions_claim: str = "permissions"
    api_key_header: str | None = Field(default=None, description="A header that may carry the token instead")

    @property
    def configured(self) -> bool:
        return bool(self.secret or self.public_key or self.jwks)

    @field_validator("algorithms")
    @classmethod
    def _no_unsigned_tokens(cls, value: list[str] | None) -> list[str] | None:
        if value and any(alg.lower() == "none" for alg in value):
            raise ValueError("the 'none' algorithm would accept unsigned tokens")
        return value


class HubSettings(BaseSettings):
    """The hub (OPEN_LANGGRAPH_HUB_*). A malformed key is reported without echoing it."""

    model_config = SettingsConfigDict(env_prefix="OPEN_LANGGRAPH_HUB_", extra="ignore", case_sensitive=False,
                                      hide_input_in_errors=True)

    secret_key: SecretStr | None = Field(
        default=None,
        description="Fernet key(s) that encrypt provider API keys at rest; comma-separated for rotation (the first "
        "encrypts, every one decrypts). Without it, provider credentials cannot hold an API key",
    )

    @field_validator("secret_key")
    @classmethod
    def _fernet_keys(cls, value: SecretStr | None) -> SecretStr | None:
        keys = [key.strip() for key in value.get_secret_value().split(",") if key.strip()] if value else []
        if keys:
            from cryptography.fernet import Fernet  # only with keys: cryptography costs ~9 MB of every server's RSS
        for key in keys:
            try:
                Fernet(key)
            except ValueError:
                raise ValueError(
                    "OPEN_LANGGRAPH_HUB_SECRET_KEY must be Fernet keys (32 url-safe base64-encoded bytes each), e.g. "
                    "from `python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'`"
                ) from None
        return SecretStr(",".join(keys)) if keys else None


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="", extra="ignore", case_sensitive=False)

    database_url: str | None = Field(default=None, description="External PostgreSQL; embedded when unset")
    data_dir: Path = Field(default=Path(".open_langgraph"), alias="OPEN_LANGGRAPH_DATA_DIR")
    config_path: Path = Field(default=Path("open_langgraph.json"), alias="OPEN_LANGGRAPH_CONFIG")
    db_pool_size: int = Field(default=10, alias="OPEN_LANGGRAPH_DB_POOL_SIZE", ge=1, le=200)
    max_body_bytes: int = Field(default=10 * 1024 * 1024, alias="OPEN_LANGGRAPH_MAX_BODY_BYTES", ge=1024)
    auto_migrate: bool = Field(default=True, alias="OPEN_LANGGRAPH_AUTO_MIGRATE")
    n_jobs_per_worker: int = Field(default=10, alias="OPEN_LANGGRAPH_N_JOBS_PER_WORKER", ge=0, le=1000)
    broker: Literal["auto", "memory", "postgres", "redis"] = Field(
        default="auto", alias="OPEN_LANGGRAPH_BROKER",
        description="memory: one process; postgres / redis: API and worker processes share streams; "
        "auto: redis when REDIS_URL is set, else memory",
    )
    redis_url: str | None = Field(default=None, alias="REDIS_URL")
    redis_prefix: str = Field(default="olg", alias="OPEN_LANGGRAPH_REDIS_PREFIX", min_length=1,
                              description="Namespace of our Redis keys and channels (deployments sharing a Redis)")
    lease_seconds: float = Field(default=30.0, alias="OPEN_LANGGRAPH_LEASE_SECONDS", gt=0)
    heartbeat_seconds: float = Field(default=10.0, alias="OPEN_LANGGRAPH_HEARTBEAT_SECONDS", gt=0)
    sweep_interval_seconds: float = Field(default=15.0, alias="OPEN_LANGGRAPH_SWEEP_INTERVAL_SECONDS", gt=0)
    poll_interval_seconds: float = Field(default=1.0, alias="OPEN_LANGGRAPH_POLL_INTERVAL_SECONDS", gt=0)
    max_attempts: int = Field(default=3, alias="OPEN_LANGGRAPH_MAX_ATTEMPTS", ge=1)
    cron_interval_seconds: float = Field(default=1.0, alias="OPEN_LANGGRAPH_CRON_INTERVAL_SECONDS", gt=0)
    gc_tuning: bool = Field(default=True, alias="OPEN_LANGGRAPH_GC_TUNING",
                            description="Freeze the start-up heap and collect garbage less often (see gc_tuning)")
    dev_cors: bool = Field(default=False, alias="OPEN_LANGGRAPH_DEV_CORS",
                           description="Without http.cors, allow any origin (set by `dev`, for browser tools)")

    jwt: JwtSettings = Field(default_factory=JwtSettings, exclude=True)
    hub: HubSettings = Field(default_factory=HubSettings, exclude=True)

    @property
    def stream_broker(self) -> Literal["memory", "postgres", "redis"]:
        if self.broker != "auto":
            return self.broker
        return "redis" if self.redis_url else "memory"

    @field_validator("database_url")
    @classmethod
    def _normalise_database_url(cls, value: str | None) -> str | None:
        return to_psycopg_url(value) if value else None
