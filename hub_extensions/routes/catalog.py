"""`catalog.yml` export and import (models, aliases, groups): thin handlers over services.catalog."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from agent_server.deps import ReadSession, Session
from agent_server.errors import ErrorResponses
from agent_server.responses import JSONResponse
from hub_extensions.models.catalog import CatalogImported
from hub_extensions.services import catalog as service

router = APIRouter(prefix="/hub", tags=["Hub model registry"], responses=ErrorResponses)

YAML_BODY = {"requestBody": {"required": True, "content": {
    "application/yaml": {"schema": {"type": "string", "description": "a catalog.yml, or a LiteLLM config"}}}}}


SECTION = {"type": "object", "additionalProperties": {"type": "object"}}
CATALOG_DOCUMENT = {"description": "catalog.yml: models, aliases and groups by name (hub_extensions.models.catalog)",
                    "content": {"application/yaml": {"schema": {
                        "type": "object", "required": ["models", "aliases", "groups"],
                        "properties": {"models": SECTION, "aliases": SECTION, "groups": SECTION}}}}}


class YamlResponse(Response):
    """A YAML document; its media type on the class, where FastAPI reads it for the OpenAPI document."""

    media_type = "application/yaml"


@router.get("/catalog", summary="Export the models, aliases and groups as catalog.yml", response_class=YamlResponse,
            responses={200: CATALOG_DOCUMENT})
async def export_catalog(session: ReadSession) -> YamlResponse:
    return YamlResponse(await service.export_catalog(session))


@router.post("/catalog", summary="Import a catalog.yml or LiteLLM config (upsert by name, all or nothing)",
             openapi_extra=YAML_BODY, responses={200: {"model": CatalogImported}})
async def import_catalog(request: Request, session: Session) -> JSONResponse:
    return JSONResponse(await service.import_catalog(session, await request.body()))
