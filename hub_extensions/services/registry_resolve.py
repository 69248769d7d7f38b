"""Resolving a name to the models to call, in order: an alias's model, then its fallbacks' (depth first, each
alias once); a model's name (when no alias has it) gives that model alone.

Each candidate's `args` get their `${NAME}` references replaced from the process environment now, at call time;
a variable that is not set is left as `${NAME}` and listed in `missing_env` (the caller skips to the next
candidate) rather than failing the whole chain. Nothing resolved is stored. The call `params` pass through each
model's `param_spec`: `exclude` drops keys, then `map` renames them.

An inactive alias contributes no candidate, but its fallbacks are still tried; an inactive model is left out.
Both are reported under `skipped`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from agent_server.errors import NotFound
from hub_extensions.models.registry import ResolveRequest
from hub_extensions.services import registry_queries as repo
from hub_extensions.services.registry_queries import Row
from hub_extensions.tables.registry import AiModel, AiModelAlias

ENV_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def env_references(value: Any) -> list[str]:
    """The variables `value` refers to as `${NAME}`, in order of first appearance."""
    if isinstance(value, str):
        return ENV_REFERENCE.findall(value)
    items = value.values() if isinstance(value, Mapping) else value if isinstance(value, list) else []
    return [name for item in items for name in env_references(item)]


def with_env(value: Any, environ: Mapping[str, str]) -> Any:
    """`value` with every `${NAME}` that `environ` has replaced by its value (the others left as written)."""
    if isinstance(value, str):
        return ENV_REFERENCE.sub(lambda match: environ.get(match.group(1), match.group(0)), value)
    if isinstance(value, Mapping):
        return {key: with_env(item, environ) for key, item in value.items()}
    if isinstance(value, list):
        return [with_env(item, environ) for item in value]
    return value


def apply_param_spec(params: Mapping[str, Any], spec: Mapping[str, Any] | None) -> dict[str, Any]:
    """`params` without the keys `spec["exclude"]` names, then with keys renamed as `spec["map"]` says."""
    if not spec:
        return dict(params)
    excluded = set(spec.get("exclude") or [])
    renames = spec.get("map") or {}
    return {renames.get(key, key): value for key, value in params.items() if key not in excluded}


def candidate(alias: str | None, model: Row, request: ResolveRequest, environ: Mapping[str, str]) -> dict[str, Any]:
    missing = sorted({name for name in env_references(model["args"]) if name not in environ})
    return {
        "alias": alias, "model": model["name"], "provider": model["provider"], "model_name": model["model_name"],
        "model_type": model["model_type"], "capabilities": model["capabilities"],
        "args": with_env(model["args"], environ) if request.resolve_env else model["args"],
        "params": apply_param_spec(request.params, model["param_spec"]), "missing_env": missing,
    }


def alias_chain(name: str, aliases: dict[str, Row]) -> list[Row]:
    """The alias and, depth first, the aliases it falls back to; each once (cycles are refused at write time)."""
    order: list[Row] = []
    seen: set[str] = set()

    def visit(current: str) -> None:
        if current in seen or current not in aliases:
            return
        seen.add(current)
        order.append(aliases[current])
        for fallback in aliases[current]["fallbacks"] or []:
            visit(fallback)

    visit(name)
    return order


async def resolve(session: AsyncSession, request: ResolveRequest) -> dict[str, Any]:
    aliases = {row["name"]: row for row in await repo.all_rows(session, AiModelAlias)}
    models = {row["id"]: row for row in await repo.all_rows(session, AiModel)}
    environ = dict(os.environ)
    if request.name in aliases:
        # Two reads: an alias deleted (and its model with it) between them is left out.
        kind, chain = "alias", [(row["name"], models[row["target_model_id"]], row["is_active"])
                                for row in alias_chain(request.name, aliases) if row["target_model_id"] in models]
    else:
        named = [model for model in models.values() if model["name"] == request.name]
        if not named:
            raise NotFound(f"No alias or model named '{request.name}'")
        kind, chain = "model", [(None, named[0], True)]
    candidates, skipped = [], []
    for alias, model, alias_active in chain:
        if not alias_active:
            skipped.append({"alias": alias, "model": model["name"], "reason": "the alias is inactive"})
        elif not model["is_active"]:
            skipped.append({"alias": alias, "model": model["name"], "reason": "the model is inactive"})
        else:
            candidates.append(candidate(alias, model, request, environ))
    return {"name": request.name, "kind": kind, "candidates": candidates, "skipped": skipped}
