"""/store: thin handlers over services.store, which runs the `@auth.on.store` handlers and the per-user rule.

Store operations are small and frequent, so these handlers take the request and resolve the state and the
user from it (`state_and_actor`) instead of through FastAPI dependencies."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request, Response

from agent_server.deps import state_and_actor
from agent_server.errors import ErrorResponses
from agent_server.models.store import (
    Item,
    ListNamespacesResponse,
    SearchItemsResponse,
    StoreDelete,
    StoreListNamespaces,
    StorePut,
    StoreSearch,
)
from agent_server.responses import JSONResponse
from agent_server.services import store as service

FORBIDDEN = {"description": "Refused by an @auth.on.store handler, or a namespace outside the user's",
             "content": {"application/json": {"example": {"detail": "Forbidden"}}}}

router = APIRouter(prefix="/store", tags=["Store"], responses={**ErrorResponses, 403: FORBIDDEN})


@router.put("/items", summary="Store or update an item", status_code=204)
async def put_item(body: StorePut, request: Request) -> Response:
    await service.put_item(*state_and_actor(request), body)
    return Response(status_code=204)


@router.get("/items", summary="Retrieve an item (null when missing)", responses={200: {"model": Item | None}})
async def get_item(
    request: Request,
    namespace: str | None = Query(default=None, description="labels joined with '.'"),
    key: str | None = Query(default=None),
    refresh_ttl: bool | None = Query(default=None, description="refresh the item's TTL; null: the store's default"),
) -> JSONResponse:
    return JSONResponse(await service.get_item(*state_and_actor(request), namespace, key, refresh_ttl))


@router.delete("/items", summary="Delete an item", status_code=204)
async def delete_item(body: StoreDelete, request: Request) -> Response:
    await service.delete_item(*state_and_actor(request), body)
    return Response(status_code=204)


@router.post("/items/search", summary="Search or list items under a namespace prefix",
             responses={200: {"model": SearchItemsResponse}})
async def search_items(body: StoreSearch, request: Request) -> JSONResponse:
    return JSONResponse(await service.search_items(*state_and_actor(request), body))


@router.post("/namespaces", summary="List namespaces", responses={200: {"model": ListNamespacesResponse}})
async def list_namespaces(body: StoreListNamespaces, request: Request) -> JSONResponse:
    return JSONResponse(await service.list_namespaces(*state_and_actor(request), body))
