"""catalog.yml over HTTP: export as YAML, import (upsert by name, all or nothing), the round trip through an empty
registry, and LiteLLM's `model_list` config."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
import yaml
from conftest import ServedApp, hub_config, make_settings, scratch_database

from agent_server.app import create_app


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@asynccontextmanager
async def empty_hub() -> AsyncIterator[httpx.AsyncClient]:
    """A client of a server with the hub mounted on a database of its own (an empty registry)."""
    with scratch_database("olg_catalog") as url:
        async with ServedApp(create_app(make_settings(url), hub_config())) as served, \
                httpx.AsyncClient(base_url=served.url, timeout=30) as client:
            yield client


async def import_yaml(hub: httpx.AsyncClient, text: str | bytes) -> httpx.Response:
    return await hub.post("/hub/catalog", content=text, headers={"Content-Type": "application/yaml"})


async def export(hub: httpx.AsyncClient) -> str:
    response = await hub.get("/hub/catalog")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/yaml")
    return response.text


CATALOG = """\
models:
  gpt-4o:
    provider: openai
    model: gpt-4o
    capabilities: [code, vision]
    args:
      api_key: ${OPENAI_API_KEY}
      base_url: https://api.openai.com/v1
    param_spec:
      exclude: [temperature]
      map: {max_tokens: max_completion_tokens}
    description: OpenAI's flagship
  qwen-coder:
    provider: ollama
    model_name: "qwen2.5-coder:7b"
    args: {host: "http://localhost:11434"}
  nomic:
    provider: ollama
    model_name: nomic-embed-text
    model_type: text-embedding
    is_active: false
aliases:
  llm-default:
    model: gpt-4o
    fallbacks: [llm-local]
    description: the default chat model
  llm-local:
    model: qwen-coder
  embedding-default:
    model: nomic
groups:
  llm-models:
    members: [llm-default, llm-local]
    default: llm-default
  embedding-models:
    model_type: text-embedding
    members: [embedding-default]
"""


async def test_export_import_export_round_trips_through_an_empty_registry() -> None:
    async with empty_hub() as source:
        imported = await import_yaml(source, CATALOG)
        assert imported.status_code == 200, imported.text
        assert imported.json() == {"models": {"created": 3, "updated": 0}, "aliases": {"created": 3, "updated": 0},
                                   "groups": {"created": 2, "updated": 0}}
        first = await export(source)
        again = await import_yaml(source, first)  # importing the same again only updates
        assert again.json() == {"models": {"created": 0, "updated": 3}, "aliases": {"created": 0, "updated": 3},
                                "groups": {"created": 0, "updated": 2}}
        assert await export(source) == first
    async with empty_hub() as target:
        assert yaml.safe_load(await export(target)) == {"models": {}, "aliases": {}, "groups": {}}
        assert (await import_yaml(target, first)).status_code == 200
        assert await export(target) == first

    catalog = yaml.safe_load(first)
    assert list(catalog) == ["models", "aliases", "groups"]
    assert catalog["models"]["gpt-4o"] == {
        "provider": "openai", "model_name": "gpt-4o", "model_type": "llm", "description": "OpenAI's flagship",
        "capabilities": ["code", "vision"],
        "args": {"api_key": "${OPENAI_API_KEY}", "base_url": "https://api.openai.com/v1"},
        "param_spec": {"exclude": ["temperature"], "map": {"max_tokens": "max_completion_tokens"}},
        "is_active": True}
    assert catalog["models"]["nomic"]["is_active"] is False
    assert catalog["aliases"]["llm-default"] == {"model": "gpt-4o", "model_type": "llm", "fallbacks": ["llm-local"],
                                                 "description": "the default chat model", "is_active": True}
    assert catalog["aliases"]["embedding-default"]["model_type"] == "text-embedding"  # the model's
    assert catalog["groups"] == {
        "embedding-models": {"model_type": "text-embedding", "members": ["embedding-default"]},
        "llm-models": {"model_type": "llm", "members": ["llm-default", "llm-local"], "default": "llm-default"}}


async def test_import_upserts_by_name_and_leaves_the_rest(hub: httpx.AsyncClient) -> None:
    kept, changed = unique("kept"), unique("changed")
    for name in (kept, changed):
        response = await hub.post("/hub/models", json={"name": name, "provider": "openai", "model_name": "old",
                                                       "description": "before"})
        assert response.status_code == 201, response.text
    response = await import_yaml(hub, f"models:\n  {changed}:\n    provider: google\n    model: gemini-2.5-flash\n")
    assert response.json()["models"] == {"created": 0, "updated": 1}
    updated = (await hub.get(f"/hub/models/{changed}")).json()
    assert (updated["provider"], updated["model_name"], updated["description"]) == ("google", "gemini-2.5-flash",
                                                                                    None)
    assert (await hub.get(f"/hub/models/{kept}")).json()["description"] == "before"
    exported = yaml.safe_load(await export(hub))
    assert exported["models"][changed]["provider"] == "google"
    assert exported["models"][kept]["model_name"] == "old"


@pytest.mark.parametrize(("text", "expected"), [
    ("models: [unclosed", "not valid YAML"),
    ("- a list\n- not a mapping\n", "expected a mapping"),
    ("models:\n  NAME:\n    model_name: m\n", "models.NAME.provider"),
    ("models:\n  NAME:\n    provider: p\n    model_name: m\n    args: {since: 2024-01-01}\n", "date"),
    ("models:\n  NAME:\n    provider: p\n    model_name: m\naliases:\n  NAME-a:\n    model: nowhere\n", "nowhere"),
    ("models:\n  NAME:\n    provider: p\n    model_name: m\naliases:\n  NAME-a:\n    model: NAME\n"
     "    fallbacks: [NAME-b]\n  NAME-b:\n    model: NAME\n    fallbacks: [NAME-a]\n", "cycle"),
    ("models:\n  NAME:\n    provider: p\n    model_name: m\naliases:\n  NAME-a:\n    model: NAME\n"
     "    fallbacks: [NAME-a]\n", "itself"),
    ("models:\n  NAME:\n    provider: p\n    model_name: m\ngroups:\n  NAME-g:\n    members: [NAME-none]\n",
     "NAME-none"),
    ("models:\n  NAME:\n    provider: p\n    model_name: m\nmodel_list:\n  - model_name: x\n"
     "    litellm_params: {model: gpt-4o}\n", "names no provider"),
    ("models:\n  NAME:\n    provider: p\n    model_name: m\n  1: {provider: p, model_name: m}\n", "not a string"),
])
async def test_a_bad_catalog_is_422_and_writes_nothing(hub: httpx.AsyncClient, text: str, expected: str) -> None:
    name = unique("bad")
    response = await import_yaml(hub, text.replace("NAME", name))
    assert response.status_code == 422, response.text
    assert expected.replace("NAME", name) in response.json()["detail"]
    assert (await hub.get(f"/hub/models/{name}")).status_code == 404


async def test_a_body_that_is_not_utf8_is_400(hub: httpx.AsyncClient) -> None:
    response = await import_yaml(hub, b"models: {\xff: 1}")
    assert response.status_code == 400, response.text


LITELLM = """\
model_list:
  - model_name: NAME-gpt
    litellm_params:
      model: openai/gpt-4o
      api_key: os.environ/OPENAI_API_KEY
      api_base: https://api.openai.com/v1
      extra_headers: {X-Org: os.environ/OPENAI_ORG}
  - model_name: NAME-gpt
    litellm_params:
      model: azure/gpt-4o-deployment
      api_key: os.environ/AZURE_API_KEY
      rpm: 60
  - model_name: NAME-claude
    litellm_params:
      model: anthropic/claude-3-5-sonnet
      api_key: os.environ/ANTHROPIC_API_KEY
  - model_name: NAME-embed
    litellm_params:
      model: text-embedding-3-small
      custom_llm_provider: openai
    model_info: {mode: embedding}
litellm_settings:
  drop_params: true
  fallbacks: [{NAME-gpt: [NAME-claude]}]
general_settings: {master_key: sk-1234}
"""


async def test_litellm_model_list_is_imported(hub: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch) -> None:
    name = unique("lite")
    response = await import_yaml(hub, LITELLM.replace("NAME", name))
    assert response.status_code == 200, response.text
    assert response.json() == {"models": {"created": 4, "updated": 0}, "aliases": {"created": 3, "updated": 0},
                               "groups": {"created": 0, "updated": 0}}

    gpt = (await hub.get(f"/hub/models/{name}-gpt")).json()
    assert (gpt["provider"], gpt["model_name"], gpt["model_type"]) == ("openai", "gpt-4o", "llm")
    assert gpt["args"] == {"api_key": "${OPENAI_API_KEY}", "api_base": "https://api.openai.com/v1",
                           "extra_headers": {"X-Org": "${OPENAI_ORG}"}}
    azure = (await hub.get(f"/hub/models/{name}-gpt-2")).json()
    assert (azure["provider"], azure["model_name"]) == ("azure", "gpt-4o-deployment")
    assert azure["args"] == {"api_key": "${AZURE_API_KEY}", "rpm": 60}
    embed = (await hub.get(f"/hub/models/{name}-embed")).json()
    assert (embed["provider"], embed["model_name"], embed["model_type"]) == (
        "openai", "text-embedding-3-small", "text-embedding")

    alias = (await hub.get(f"/hub/aliases/{name}-gpt")).json()
    assert alias["model"] == f"{name}-gpt"
    assert alias["fallbacks"] == [f"{name}-claude"]
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant")
    resolution = (await hub.post("/hub/models/resolve", json={"name": f"{name}-gpt"})).json()
    assert [(c["alias"], c["provider"]) for c in resolution["candidates"]] == [
        (f"{name}-gpt", "openai"), (f"{name}-claude", "anthropic")]
    assert resolution["candidates"][1]["args"] == {"api_key": "sk-ant"}

    # the same config again updates what it made
    again = await import_yaml(hub, LITELLM.replace("NAME", name))
    assert again.json()["models"] == {"created": 0, "updated": 4}


async def test_litellm_names_may_not_clash_with_the_models_section(hub: httpx.AsyncClient) -> None:
    name = unique("clash")
    text = (f"models:\n  {name}:\n    provider: p\n    model_name: m\n"
            f"model_list:\n  - model_name: {name}\n    litellm_params: {{model: openai/gpt-4o}}\n")
    response = await import_yaml(hub, text)
    assert response.status_code == 422, response.text
    assert name in response.json()["detail"]


async def test_export_is_yaml_of_the_registry(hub: httpx.AsyncClient) -> None:
    name = unique("exported")
    await hub.post("/hub/models", json={"name": name, "provider": "openai", "model_name": "gpt-4o",
                                        "args": {"api_key": "${OPENAI_API_KEY}"}})
    catalog: dict[str, Any] = yaml.safe_load(await export(hub))
    assert catalog["models"][name]["args"] == {"api_key": "${OPENAI_API_KEY}"}
