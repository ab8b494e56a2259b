"""EAL Sandbox: the stateful, spec-driven test-mode server of the Expert AI Labs v1 API."""

from .app import create_app
from .webhooks import verify_signature

__all__ = ["create_app", "verify_signature"]
