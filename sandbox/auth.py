"""Bearer keys: ``eal_test_…`` are the sandbox's; ``eal_live_…`` are refused outright."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from .errors import Forbidden, LiveKeyRefused, Unauthorized

TEST_PREFIX = "eal_test_"
LIVE_PREFIX = "eal_live_"
SCOPES = ("read", "write", "admin")


class KeyRing:
    """The seeded API keys, looked up by token."""

    def __init__(self, keys: Iterable[Mapping[str, Any]]) -> None:
        self._by_token = {key["token"]: dict(key) for key in keys}

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self._by_token.values())

    def add(self, key: Mapping[str, Any]) -> None:
        """Make a newly issued key usable at once."""
        self._by_token[key["token"]] = dict(key)

    def authenticate(self, header: str | None) -> dict[str, Any]:
        """The key named by an ``Authorization`` header, or an ``Unauthorized`` error."""
        if not header:
            raise Unauthorized(
                "Missing Authorization header: send 'Authorization: Bearer eal_test_…' "
                "(run 'eal-sandbox keys' to list the sandbox keys)",
            )
        scheme, _, token = header.strip().partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise Unauthorized("Malformed Authorization header: expected 'Bearer eal_test_…'")
        if token.startswith(LIVE_PREFIX):
            raise LiveKeyRefused(
                "This is the EAL Sandbox: live keys (eal_live_…) are never accepted here. "
                "Use an eal_test_… key (run 'eal-sandbox keys' to list them)",
            )
        if not token.startswith(TEST_PREFIX):
            raise Unauthorized("Malformed API key: sandbox keys start with 'eal_test_'")
        key = self._by_token.get(token)
        if key is None:
            raise Unauthorized("Unknown API key: it is not one of this sandbox's keys")
        return key


def require_scope(key: Mapping[str, Any], scope: str | None) -> None:
    """Raise 403 naming the missing scope."""
    if scope is not None and scope not in key["scopes"]:
        raise Forbidden(
            f"This key lacks the '{scope}' scope required by this operation "
            f"(it has: {', '.join(key['scopes'])})",
            details={"required_scope": scope, "granted_scopes": list(key["scopes"])},
        )

