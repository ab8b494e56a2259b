"""EAL Sandbox: the stateful, spec-driven test-mode server of the Expert AI Labs v1 API."""

from __future__ import annotations

from typing import Any

__all__ = ["create_app", "verify_signature"]


def __getattr__(name: str) -> Any:
    # Imported lazily so `import sandbox.world` (or the pytest plugin) stays light.
    if name == "create_app":
        from .web.app import create_app

        return create_app
    if name == "verify_signature":
        from .services.webhooks import verify_signature

        return verify_signature
    raise AttributeError(f"module 'sandbox' has no attribute {name!r}")
