"""`{{var}}` substitution on parsed JSON trees (never on JSON text, so a value can never break the document).

A string that is exactly one placeholder takes the variable's value with its type (`"{{maxTokens}}"` → 256); a
placeholder inside a longer string is replaced by the value's text (`"Bearer {{apiKey}}"`). Object keys are left
alone. A variable that is not set is an error naming it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Mapping
from typing import Any

PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")


class MissingVariable(LookupError):
    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


def as_text(value: Any) -> str:
    """A value as it reads inside a longer string: JSON spelling for everything but strings."""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


def placeholders(template: Any) -> Iterator[str]:
    """Every variable name a template uses (anywhere in the tree)."""
    if isinstance(template, str):
        yield from (match.group(1) for match in PLACEHOLDER.finditer(template))
    elif isinstance(template, Mapping):
        for item in template.values():
            yield from placeholders(item)
    elif isinstance(template, list):
        for item in template:
            yield from placeholders(item)


def _lookup(variables: Mapping[str, Any], name: str) -> Any:
    if name not in variables:
        raise MissingVariable(name)
    return variables[name]


def substitute(template: str, variables: Mapping[str, Any], escape: Callable[[str], str] | None = None) -> str:
    """Text substitution only: every placeholder becomes its value's text, passed through `escape` if given (URL
    parts quote it, so a value cannot add a path segment, a query or a host)."""
    def replacement(match: re.Match[str]) -> str:
        text = as_text(_lookup(variables, match.group(1)))
        return escape(text) if escape else text

    return PLACEHOLDER.sub(replacement, template)


def render_string(template: str, variables: Mapping[str, Any]) -> Any:
    """One string: a lone placeholder keeps the value's type; otherwise the placeholders' text is substituted."""
    lone = PLACEHOLDER.fullmatch(template)
    if lone is not None:
        return _lookup(variables, lone.group(1))
    return substitute(template, variables)


def render(template: Any, variables: Mapping[str, Any]) -> Any:
    """The template tree with every placeholder in its strings substituted."""
    if isinstance(template, str):
        return render_string(template, variables)
    if isinstance(template, Mapping):
        return {key: render(item, variables) for key, item in template.items()}
    if isinstance(template, list):
        return [render(item, variables) for item in template]
    return template
