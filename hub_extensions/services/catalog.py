"""`catalog.yml` export and import: models, aliases and groups by name (the shape is in models/catalog.py).

Export writes every model, alias and group, sorted by name, with keys in a fixed order, so exporting, importing
into an empty registry and exporting again gives the same text. Import upserts by name: a listed entry replaces
the registered one's fields (fields it leaves out take their defaults), entries not listed are left alone. It is
all or nothing: any problem (YAML that does not parse, a wrong shape, an unknown model, a fallback cycle) is a 422
naming it, and nothing is written.

Import also takes LiteLLM's proxy config. Each `model_list` entry becomes a model named after its `model_name`
(later entries with the same `model_name`, LiteLLM's load-balanced deployments, get `-2`, `-3`, ...), with the
provider taken from the `<provider>/<model>` prefix (or `custom_llm_provider`), the other `litellm_params` as its
`args` with `os.environ/NAME` written as `${NAME}`, and `model_info.mode: embedding` as `text-embedding` (else
`llm`). Each distinct `model_name` also becomes an alias of its first deployment, falling back as
`litellm_settings.fallbacks` (or `router_settings.fallbacks`) says.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import yaml
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from agent_server.errors import BadRequest, Unprocessable
from hub_extensions.models.catalog import (
    CatalogAlias,
    CatalogFile,
    CatalogGroup,
    CatalogImported,
    CatalogModel,
    ImportCounts,
    LiteLlmEntry,
)
from hub_extensions.services import registry_queries as repo
from hub_extensions.services.registry import ALIASES, GROUPS, MODELS, Kind, check_fallback_graph, default_alias_id
from hub_extensions.services.registry import insert as insert_row
from hub_extensions.services.registry import update as update_row
from hub_extensions.services.registry_queries import Row
from hub_extensions.tables.registry import AiModel, AiModelAlias, AiModelGroup

MAX_BYTES = 1 << 20
MAX_NODES = 100_000  # YAML anchors can make a small file a huge tree: refuse beyond this many values
LITELLM_MODES = {"embedding": "text-embedding", "chat": "llm", "completion": "llm"}
ENV_PREFIX = "os.environ/"

# Export


def _without_empty(entry: dict[str, Any], *optional: str) -> dict[str, Any]:
    return {key: value for key, value in entry.items() if key not in optional or value is not None}


def model_entry(model: Row) -> dict[str, Any]:
    return _without_empty({
        "provider": model["provider"], "model_name": model["model_name"], "model_type": model["model_type"],
        "description": model["description"], "capabilities": model["capabilities"], "args": model["args"],
        "param_spec": param_spec_entry(model["param_spec"]), "is_active": model["is_active"],
    }, "description", "param_spec")


def param_spec_entry(spec: dict[str, Any] | None) -> dict[str, Any] | None:
    """`exclude` before `map`, as they apply (jsonb keeps keys shortest first)."""
    return None if spec is None else {"exclude": spec.get("exclude", []), "map": spec.get("map", {})}


def alias_entry(alias: Row, model_names: Mapping[Any, str]) -> dict[str, Any]:
    return _without_empty({
        "model": model_names[alias["target_model_id"]], "model_type": alias["model_type"],
        "fallbacks": list(alias["fallbacks"] or []), "description": alias["description"],
        "is_active": alias["is_active"],
    }, "description")


def group_entry(group: Row, alias_names: Mapping[Any, str]) -> dict[str, Any]:
    return _without_empty({
        "model_type": group["model_type"], "members": group["members"],
        "default": alias_names.get(group["default_alias_id"]), "description": group["description"],
    }, "default", "description")


async def export_catalog(session: AsyncSession) -> str:
    models = await repo.all_rows(session, AiModel)
    aliases = await repo.all_rows(session, AiModelAlias)
    model_names = {model["id"]: model["name"] for model in models}
    alias_names = {alias["id"]: alias["name"] for alias in aliases}
    catalog = {
        "models": {model["name"]: model_entry(model) for model in models},
        "aliases": {alias["name"]: alias_entry(alias, model_names) for alias in aliases},
        "groups": {group["name"]: group_entry(group, alias_names)
                   for group in await repo.all_rows(session, AiModelGroup)},
    }
    return yaml.safe_dump(catalog, sort_keys=False, allow_unicode=True, default_flow_style=False, width=1000)


# Parsing


def check_plain_json(value: Any, path: str = "catalog", budget: list[int] | None = None) -> None:
    """422 unless `value` holds only what JSON can (YAML also has dates, sets, binary, non-string keys)."""
    budget = budget if budget is not None else [MAX_NODES]
    budget[0] -= 1
    if budget[0] < 0:
        raise Unprocessable(f"catalog: more than {MAX_NODES} values (anchors expanded)")
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise Unprocessable(f"{path}: key {key!r} is not a string; quote it")
            check_plain_json(item, f"{path}.{key}", budget)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            check_plain_json(item, f"{path}[{index}]", budget)
    elif value is not None and not isinstance(value, str | int | float | bool):
        raise Unprocessable(f"{path}: a {type(value).__name__} is not a JSON value; quote it")


def validation_detail(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors():
        location = ".".join(str(part) for part in error["loc"])
        parts.append(f"{location}: {error['msg']}" if location else error["msg"])
    return "; ".join(parts)


def parse_catalog(body: bytes) -> CatalogFile:
    if len(body) > MAX_BYTES:
        raise Unprocessable(f"catalog: larger than {MAX_BYTES} bytes")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequest("Request body is not valid UTF-8") from None
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise Unprocessable(f"catalog is not valid YAML: {exc}") from None
    if not isinstance(document, dict):
        raise Unprocessable("catalog: expected a mapping with models, aliases and groups (or a LiteLLM model_list)")
    check_plain_json(document)
    try:
        return CatalogFile.model_validate(document)
    except ValidationError as exc:
        raise Unprocessable(f"catalog: {validation_detail(exc)}") from None


# LiteLLM


def env_references_from_litellm(value: Any) -> Any:
    """LiteLLM's `os.environ/NAME` secrets as the registry writes them, `${NAME}`."""
    if isinstance(value, str) and value.startswith(ENV_PREFIX):
        return "${" + value.removeprefix(ENV_PREFIX) + "}"
    if isinstance(value, dict):
        return {key: env_references_from_litellm(item) for key, item in value.items()}
    if isinstance(value, list):
        return [env_references_from_litellm(item) for item in value]
    return value


def litellm_model(index: int, entry: LiteLlmEntry) -> dict[str, Any]:
    params = entry.litellm_params
    prefix, slash, rest = params.model.partition("/")
    provider = params.custom_llm_provider or (prefix if slash else None)
    if provider is None:
        raise Unprocessable(f"catalog: model_list[{index}].litellm_params.model: '{params.model}' names no provider; "
                            f"write it as '<provider>/{params.model}'")
    args = dict(params.model_extra or {})
    mode = entry.model_info.get("mode")
    return {"provider": provider, "model_name": rest if slash and prefix == provider else params.model,
            "model_type": LITELLM_MODES.get(mode, mode) if isinstance(mode, str) else "llm",
            "args": env_references_from_litellm(args)}


def litellm_fallbacks(catalog: CatalogFile) -> dict[str, list[str]]:
    fallbacks: dict[str, list[str]] = {}
    for rule in catalog.litellm_settings.fallbacks + catalog.router_settings.fallbacks:
        for name, targets in rule.items():
            chain = fallbacks.setdefault(name, [])
            chain.extend(target for target in targets if target not in chain)
    return fallbacks


def from_litellm(catalog: CatalogFile) -> tuple[dict[str, CatalogModel], dict[str, CatalogAlias]]:
    """The models and aliases a LiteLLM `model_list` stands for."""
    models: dict[str, CatalogModel] = {}
    aliases: dict[str, CatalogAlias] = {}
    fallbacks = litellm_fallbacks(catalog)
    for index, entry in enumerate(catalog.model_list):
        deployment = 1
        name = entry.model_name
        while name in models:
            deployment += 1
            name = f"{entry.model_name}-{deployment}"
        try:
            models[name] = CatalogModel.model_validate(litellm_model(index, entry))
        except ValidationError as exc:
            raise Unprocessable(f"catalog: model_list[{index}]: {validation_detail(exc)}") from None
        aliases.setdefault(entry.model_name, CatalogAlias(
            model=name, model_type=models[name].model_type, fallbacks=fallbacks.get(entry.model_name, [])))
    return models, aliases


def merged(own: dict[str, Any], imported: dict[str, Any], section: str) -> dict[str, Any]:
    both = sorted(set(own) & set(imported))
    if both:
        raise Unprocessable(f"catalog: {section} {', '.join(map(repr, both))} both listed and made from model_list")
    return {**own, **imported}


# Import


async def upsert(session: AsyncSession, kind: Kind, existing: dict[str, Row], name: str, values: dict[str, Any],
                 counts: ImportCounts) -> None:
    if name in existing:
        await update_row(session, kind, existing[name], values)
        counts.updated += 1
    else:
        await insert_row(session, kind, {"name": name, **values})
        counts.created += 1


async def import_models(session: AsyncSession, models: dict[str, CatalogModel]) -> ImportCounts:
    counts = ImportCounts()
    existing = await repo.rows_named(session, AiModel, models)
    for name, model in models.items():
        await upsert(session, MODELS, existing, name, model.model_dump(), counts)
    return counts


async def import_aliases(session: AsyncSession, aliases: dict[str, CatalogAlias]) -> ImportCounts:
    counts = ImportCounts()
    existing = await repo.rows_named(session, AiModelAlias, aliases)
    models = await repo.rows_named(session, AiModel, {alias.model for alias in aliases.values()})
    for name, alias in aliases.items():
        if alias.model not in models:
            raise Unprocessable(f"catalog: aliases.{name}.model: no model named '{alias.model}'")
        model = models[alias.model]
        values = {"target_model_id": model["id"], "model_type": alias.model_type or model["model_type"],
                  "fallbacks": alias.fallbacks, "description": alias.description, "is_active": alias.is_active}
        await upsert(session, ALIASES, existing, name, values, counts)
    try:
        check_fallback_graph(await repo.fallback_graph(session), list(aliases))
    except Unprocessable as exc:
        raise Unprocessable(f"catalog: aliases: {exc.detail}") from None
    return counts


async def import_groups(session: AsyncSession, groups: dict[str, CatalogGroup]) -> ImportCounts:
    counts = ImportCounts()
    existing = await repo.rows_named(session, AiModelGroup, groups)
    for name, group in groups.items():
        try:
            default = await default_alias_id(session, group.members, group.default)
        except Unprocessable as exc:
            raise Unprocessable(f"catalog: groups.{name}.{exc.detail}") from None
        values = {"model_type": group.model_type, "members": group.members, "default_alias_id": default,
                  "description": group.description}
        await upsert(session, GROUPS, existing, name, values, counts)
    return counts


async def import_catalog(session: AsyncSession, body: bytes) -> dict[str, Any]:
    catalog = parse_catalog(body)
    litellm_models, litellm_aliases = from_litellm(catalog)
    await repo.lock_names(session)
    imported = CatalogImported(
        models=await import_models(session, merged(catalog.models, litellm_models, "models")),
        aliases=await import_aliases(session, merged(catalog.aliases, litellm_aliases, "aliases")),
        groups=await import_groups(session, catalog.groups),
    )
    return imported.model_dump()
