"""Pydantic request/response shapes: the API's vocabulary."""
