"""The hub's routers, one module per resource, all under `/hub`."""

from __future__ import annotations

from fastapi import APIRouter

ROUTERS: list[APIRouter] = []
