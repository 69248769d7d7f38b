"""The shapes of a `catalog.yml` (models, aliases, groups by name) and of the LiteLLM config it may be instead.

The catalog's own shape (what `GET /hub/catalog` writes; keys shown in the order written, `description`,
`param_spec` and `default` left out when empty)::

    models:
      gpt-4o:
        provider: openai
        model_name: gpt-4o            # `model` is accepted on import too
        model_type: llm
        description: ...
        capabilities: [code, vision]
        args: {api_key: "${OPENAI_API_KEY}"}
        param_spec: {exclude: [temperature], map: {max_tokens: max_completion_tokens}}
        is_active: true
    aliases:
      llm-default:
        model: gpt-4o                 # a model's name (in this file or already registered)
        model_type: llm               # defaults to the model's type
        fallbacks: [llm-local]
        description: ...
        is_active: true
    groups:
      llm-models:
        model_type: llm
        members: [llm-default, llm-local]
        default: llm-default
        description: ...

LiteLLM's proxy config (`model_list: [{model_name, litellm_params: {model: "<provider>/<model>", ...}, model_info}]`,
with `litellm_settings.fallbacks` / `router_settings.fallbacks`) may come instead of, or beside, `models`.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AliasChoices, BeforeValidator, ConfigDict, Field, model_validator

from agent_server.models.common import ApiModel, StorableObject
from hub_extensions.models.registry import Label, Name, ParamSpec, unique


def _empty_if_null(value: Any) -> Any:
    """`models:` with nothing under it reads as null in YAML: the same as an empty section."""
    return {} if value is None else value


def _list_if_null(value: Any) -> Any:
    return [] if value is None else value


Section = BeforeValidator(_empty_if_null)
Capability = Annotated[str, Field(min_length=1, max_length=100)]


class CatalogModel(ApiModel):
    provider: Label
    model_name: str = Field(min_length=1, max_length=100, validation_alias=AliasChoices("model_name", "model"))
    model_type: Label = "llm"
    description: str | None = None
    capabilities: Annotated[list[Capability], BeforeValidator(_list_if_null)] = []
    args: Annotated[StorableObject, Section] = {}
    param_spec: ParamSpec | None = None
    is_active: bool = True


class CatalogAlias(ApiModel):
    model: Name
    model_type: Label | None = None
    fallbacks: Annotated[list[Name], BeforeValidator(_list_if_null)] = []
    description: str | None = None
    is_active: bool = True

    @model_validator(mode="after")
    def _fallbacks_once(self) -> CatalogAlias:
        unique(self.fallbacks, "fallbacks")
        return self


class CatalogGroup(ApiModel):
    model_type: Label = "llm"
    members: Annotated[list[Name], BeforeValidator(_list_if_null)] = []
    default: Name | None = None
    description: str | None = None

    @model_validator(mode="after")
    def _members_once(self) -> CatalogGroup:
        unique(self.members, "members")
        return self


class LiteLlmParams(ApiModel):
    """Everything besides `model` and `custom_llm_provider` becomes the model's `args`."""

    model_config = ConfigDict(extra="allow")

    model: str = Field(min_length=1)
    custom_llm_provider: Label | None = None


class LiteLlmEntry(ApiModel):
    model_name: Name
    litellm_params: LiteLlmParams
    model_info: Annotated[StorableObject, Section] = {}


class LiteLlmSettings(ApiModel):
    fallbacks: Annotated[list[dict[str, list[Name]]], BeforeValidator(_list_if_null)] = []


class CatalogFile(ApiModel):
    models: Annotated[dict[Name, CatalogModel], Section] = {}
    aliases: Annotated[dict[Name, CatalogAlias], Section] = {}
    groups: Annotated[dict[Name, CatalogGroup], Section] = {}
    model_list: Annotated[list[LiteLlmEntry], BeforeValidator(_list_if_null)] = []
    litellm_settings: Annotated[LiteLlmSettings, Section] = LiteLlmSettings()
    router_settings: Annotated[LiteLlmSettings, Section] = LiteLlmSettings()


class ImportCounts(ApiModel):
    created: int = 0
    updated: int = 0


class CatalogImported(ApiModel):
    """How many of each the import created and updated (entries not in the file are left alone)."""

    models: ImportCounts
    aliases: ImportCounts
    groups: ImportCounts
