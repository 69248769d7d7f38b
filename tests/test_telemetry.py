"""FastAPI's OpenTelemetry instrumentation: off when no provider is configured as the app is built."""

from __future__ import annotations

from typing import Any

import pytest
from opentelemetry import trace

from agent_server import telemetry
from agent_server.telemetry import TELEMETRY_OFF, fastapi_telemetry_options, provider_configured


class ConfiguredTracerProvider(trace.NoOpTracerProvider):
    """Stands for an SDK provider someone has set: any provider other than the API's stand-ins."""


def test_without_a_provider_fastapi_telemetry_is_switched_off() -> None:
    assert not provider_configured()  # the OpenTelemetry API as installed, nothing set
    assert fastapi_telemetry_options() == {"telemetry": TELEMETRY_OFF}


def test_a_configured_provider_leaves_fastapi_its_own_telemetry(monkeypatch: pytest.MonkeyPatch) -> None:
    unset = telemetry.global_providers()

    def with_tracer() -> list[Any]:
        return [ConfiguredTracerProvider(), *unset[1:]]

    monkeypatch.setattr(telemetry, "global_providers", with_tracer)
    assert provider_configured()
    assert fastapi_telemetry_options() == {}


def test_a_fastapi_without_telemetry_gets_no_option(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(telemetry, "fastapi_supports_telemetry", lambda: False)
    assert fastapi_telemetry_options() == {}
