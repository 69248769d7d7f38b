"""The graph project's config file: `open_langgraph.json` or any `langgraph.json`, same keys, same meaning."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any, Literal

import orjson
from dotenv import dotenv_values
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

logger = logging.getLogger(__name__)

KNOWN_KEYS = {
    "dependencies", "graphs", "env", "store", "checkpointer", "auth", "http", "webhooks",
    # Accepted for compatibility with langgraph.json; they describe the deployment image, not us.
    "python_version", "node_version", "pip_config_file", "dockerfile_lines", "image_distro",
    "base_image", "pip_installer", "keep_pkg_tools", "api_version", "ui", "ui_config", "$schema",
}


class ConfigError(ValueError):
    """The config file is missing or malformed; the message names the key."""


class GraphSpec(BaseModel):
    graph_id: str
    path: str
    description: str | None = None


class StoreIndexConfig(BaseModel):
    model_config = ConfigDict(extra="allow")

    embed: str
    dims: int = Field(gt=0)
    fields: list[str] | None = None


class TTLConfig(BaseModel):
    model_config = ConfigDict(extra="allow")

    refresh_on_read: bool = True
    default_ttl: float | None = Field(default=None, gt=0, description="minutes")
    sweep_interval_minutes: float | None = Field(default=None, gt=0)
    strategy: str = "delete"


class StoreConfig(BaseModel):
    model_config = ConfigDict(extra="allow")

    index: StoreIndexConfig | None = None
    ttl: TTLConfig | None = None


class CheckpointerConfig(BaseModel):
    model_config = ConfigDict(extra="allow")

    ttl: TTLConfig | None = None


class AuthConfig(BaseModel):
    """`auth`: who a request acts for (`path`, else the JWT settings) and what users may reach.

    `store` scopes the /store routes when requests have a user:
    - `"user"` (the default): every namespace a user reads or writes must start with their identity (a foreign
      first label is a 403), and a search or namespace listing without a prefix covers only `(identity,)`.
      The check runs after the `@auth.on.store` handlers, so a handler may rewrite `value["namespace"]` first.
    - `"shared"`: no built-in rule; every user reaches every namespace, unless `@auth.on.store` handlers refuse.
    Without an authenticator (an open server) neither applies.
    """

    model_config = ConfigDict(extra="allow")

    path: str | None = None
    disable_studio_auth: bool = False
    store: Literal["user", "shared"] = "user"


class CorsConfig(BaseModel):
    model_config = ConfigDict(extra="allow")

    allow_origins: list[str] = Field(default_factory=list)
    allow_methods: list[str] = Field(default_factory=lambda: ["*"])
    allow_headers: list[str] = Field(default_factory=lambda: ["*"])
    allow_credentials: bool = False
    expose_headers: list[str] = Field(default_factory=list)
    max_age: int = 600


class HttpConfig(BaseModel):
    model_config = ConfigDict(extra="allow")

    app: str | None = None
    cors: CorsConfig | None = None
    enable_custom_route_auth: bool = False
    disable_assistants: bool = False
    disable_threads: bool = False
    disable_runs: bool = False
    disable_store: bool = False
    disable_meta: bool = False


class WebhookUrlPolicy(BaseModel):
    model_config = ConfigDict(extra="allow")

    require_https: bool = False
    allowed_domains: list[str] = Field(default_factory=list)
    allowed_ports: list[int] = Field(default_factory=list)
    disable_loopback: bool = False
    max_url_length: int = 4096


class WebhooksConfig(BaseModel):
    model_config = ConfigDict(extra="allow")

    url: WebhookUrlPolicy = Field(default_factory=WebhookUrlPolicy)
    headers: dict[str, str] = Field(default_factory=dict)


class ProjectConfig(BaseModel):
    """A parsed config file; every relative path is already resolved against `base_dir`."""

    base_dir: Path
    dependencies: list[Path] = Field(default_factory=list)
    graphs: list[GraphSpec] = Field(default_factory=list)
    env: dict[str, str] = Field(default_factory=dict)
    store: StoreConfig = Field(default_factory=StoreConfig)
    checkpointer: CheckpointerConfig = Field(default_factory=CheckpointerConfig)
    auth: AuthConfig = Field(default_factory=AuthConfig)
    http: HttpConfig = Field(default_factory=HttpConfig)
    webhooks: WebhooksConfig = Field(default_factory=WebhooksConfig)

    @field_validator("graphs")
    @classmethod
    def _unique_graph_ids(cls, graphs: list[GraphSpec]) -> list[GraphSpec]:
        ids = [g.graph_id for g in graphs]
        if len(ids) != len(set(ids)):
            raise ValueError("graph ids must be unique")
        return graphs

    def resolve_path(self, ref: str) -> str:
        """Make `./file.py:attr` absolute; leave `package.module:attr` as it is."""
        module, sep, attr = ref.partition(":")
        if module.endswith(".py") or module.startswith((".", "/")) or os.sep in module:
            module = str((self.base_dir / module).resolve())
        return f"{module}{sep}{attr}"


def load_config(path: Path) -> ProjectConfig:
    """Read and validate the config file, failing with a message that names the bad key."""
    path = path.resolve()
    if not path.is_file():
        raise ConfigError(f"config file not found: {path}")
    try:
        raw = orjson.loads(path.read_bytes())
    except orjson.JSONDecodeError as exc:
        raise ConfigError(f"{path.name} is not valid JSON: {exc}") from exc
    if not isinstance(raw, dict):
        raise ConfigError(f"{path.name} must hold a JSON object")
    for key in sorted(set(raw) - KNOWN_KEYS):
        logger.warning("config key %r is not known and is ignored", key)
    base_dir = path.parent
    fields: dict[str, Any] = {"base_dir": base_dir}
    fields["dependencies"] = _parse_dependencies(raw.get("dependencies", []), base_dir)
    fields["graphs"] = _parse_graphs(raw.get("graphs", {}))
    fields["env"] = _parse_env(raw.get("env", {}), base_dir)
    for key in ("store", "checkpointer", "auth", "http", "webhooks"):
        if key in raw:
            if not isinstance(raw[key], dict):
                raise ConfigError(f"config key {key!r} must be an object")
            fields[key] = raw[key]
    try:
        return ProjectConfig.model_validate(fields)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ConfigError(f"config key {where!r} is invalid: {first['msg']}") from exc


def _parse_dependencies(value: Any, base_dir: Path) -> list[Path]:
    if not isinstance(value, list) or not all(isinstance(d, str) for d in value):
        raise ConfigError("config key 'dependencies' must be a list of strings")
    return [(base_dir / d).resolve() for d in value]


def _parse_graphs(value: Any) -> list[GraphSpec]:
    if not isinstance(value, dict):
        raise ConfigError("config key 'graphs' must be an object of graph_id -> path")
    specs = []
    for graph_id, spec in value.items():
        if isinstance(spec, str):
            path, description = spec, None
        elif isinstance(spec, dict) and isinstance(spec.get("path"), str):
            path, description = spec["path"], spec.get("description")
        else:
            raise ConfigError(f"config key 'graphs.{graph_id}' must be a path string or {{\"path\": ...}}")
        if ":" not in path:
            raise ConfigError(f"config key 'graphs.{graph_id}' must look like './file.py:attr'")
        specs.append(GraphSpec(graph_id=graph_id, path=path, description=description))
    return specs


def _parse_env(value: Any, base_dir: Path) -> dict[str, str]:
    if isinstance(value, str):
        env_file = (base_dir / value).resolve()
        if not env_file.is_file():
            raise ConfigError(f"config key 'env' names a missing file: {env_file}")
        return {k: v for k, v in dotenv_values(env_file).items() if v is not None}
    if isinstance(value, dict) and all(isinstance(v, str | int | float | bool) for v in value.values()):
        return {str(k): str(v) for k, v in value.items()}
    raise ConfigError("config key 'env' must be a .env path or an object of strings")
