"""POST the finished run to its webhook: policy-checked, retried, and never able to fail the run."""

from __future__ import annotations

import asyncio
import ipaddress
import logging
from typing import Any
from urllib.parse import urlsplit

import httpx

from agent_server.config import WebhookUrlPolicy
from agent_server.responses import dumps

logger = logging.getLogger(__name__)

ATTEMPTS = 3
BACKOFF_SECONDS = 0.5


class WebhookRejected(ValueError):
    pass


def check_webhook_url(url: str, policy: WebhookUrlPolicy) -> None:
    """Raise WebhookRejected when the URL breaks the config's `webhooks.url` policy."""
    if len(url) > policy.max_url_length:
        raise WebhookRejected("webhook URL is too long")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise WebhookRejected("webhook must be an absolute http(s) URL")
    if policy.require_https and parts.scheme != "https":
        raise WebhookRejected("webhook must use https")
    if policy.allowed_domains and not any(
        parts.hostname == d or (d.startswith("*.") and parts.hostname.endswith(d[1:])) for d in policy.allowed_domains
    ):
        raise WebhookRejected(f"webhook host {parts.hostname!r} is not allowed")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    if policy.allowed_ports and port not in policy.allowed_ports:
        raise WebhookRejected(f"webhook port {port} is not allowed")
    if policy.disable_loopback and _is_loopback(parts.hostname):
        raise WebhookRejected("webhook must not point at a loopback address")


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


async def send_webhook(state: Any, run: dict[str, Any], status: str, values: Any, error: Any) -> None:
    body = dumps({
        "run_id": str(run["run_id"]), "thread_id": str(run["thread_id"]),
        "assistant_id": str(run["assistant_id"]), "status": status, "metadata": run["metadata"],
        "kwargs": run["kwargs"], "created_at": run.get("created_at"), "values": values, "error": error,
    })
    headers = {"content-type": "application/json", **state.config.webhooks.headers}
    for attempt in range(1, ATTEMPTS + 1):
        try:
            response = await state.http.post(run["kwargs"]["webhook"], content=body, headers=headers, timeout=10)
            if response.status_code < 500:
                return
            logger.warning("webhook answered %s (attempt %d)", response.status_code, attempt)
        except httpx.HTTPError as exc:
            logger.warning("webhook failed (attempt %d): %r", attempt, exc)
        await asyncio.sleep(BACKOFF_SECONDS * 2 ** (attempt - 1))
