"""What `jr` prints: JSON envelopes under `--json`, Rich text otherwise; errors always on stderr.

Under `--json` stdout carries only envelopes, one JSON document per line:
`{"kind": <what data is>, "version": 1, "data": <the server's answer, or null>}`. An error is one envelope of
kind `error` on stderr: `{"kind": "error", "version": 1, "data": {"exit_code", "message", ...}}`.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Any, TextIO

from rich.console import Console

from hub_extensions.cli.client import JrError

ENVELOPE_VERSION = 1

Renderer = Callable[[Console, Any], None]


def envelope(kind: str, data: Any) -> dict[str, Any]:
    return {"kind": kind, "version": ENVELOPE_VERSION, "data": data}


def write_json_line(stream: TextIO, document: Any) -> None:
    stream.write(json.dumps(document, ensure_ascii=False, default=str) + "\n")
    stream.flush()


class Output:
    def __init__(self, json_mode: bool) -> None:
        self.json_mode = json_mode
        self.console = Console(soft_wrap=False, highlight=False)
        self.errors = Console(stderr=True, highlight=False)

    def emit(self, kind: str, data: Any, render: Renderer) -> None:
        """The envelope under --json, else the human rendering."""
        if self.json_mode:
            write_json_line(sys.stdout, envelope(kind, data))
        else:
            render(self.console, data)

    def note(self, text: str) -> None:
        """A human remark on stderr (kept off stdout so that --json output stays pure)."""
        if not self.json_mode:
            self.errors.print(text, markup=False)

    def error(self, error: JrError) -> None:
        if self.json_mode:
            write_json_line(sys.stderr, envelope("error", {"exit_code": error.exit_code, "message": error.message,
                                                           **error.data}))
        else:
            self.errors.print(f"Error: {error.message}", markup=False, soft_wrap=True)
