"""``/docs``: the API explained, with Swagger UI over the OpenAPI schema (its JSON twin)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar


@dataclass(frozen=True, slots=True)
class DocsPage:
    TEMPLATE: ClassVar[str] = "docs.html"

    json_url: str = "/openapi.json"  # the schema is this page's machine-readable twin
