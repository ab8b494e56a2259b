"""What a handler (or a forced answer) responds with, before any web framework sees it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(slots=True)
class Reply:
    """A status, a body (JSON-able unless ``mimetype`` says otherwise) and extra headers."""

    body: Any
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    mimetype: str = "application/json"
