"""Bearer keys: ``eal_test_…`` are the sandbox's; ``eal_live_…`` are refused outright."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Protocol

from ..base.errors import Forbidden, LiveKeyRefused, Unauthorized
from ..base.ids import TEST_PREFIX, TOKEN_RANDOM_CHARS, sandbox_token, token_sandbox
from ..base.state import Read, State

LIVE_PREFIX = "eal_live_"
ApiKey = dict[str, Any]


class TokenIndex(Protocol):
    """Which sandbox holds a token: the process's directory of sandboxes implements it."""

    def claim(self, token: str, sandbox_id: str) -> None: ...

    def release(self, token: str) -> None: ...


class KeyRing:
    """One sandbox's API keys, looked up by token, in a stable order (the seed's, then as issued).

    The seed's keys are the world's (every sandbox of a seed has the same ones) with this sandbox's
    tokens: either the world's own tokens (the local start-up sandbox's, printed by ``eal-sandbox
    keys``) or tokens derived from the sandbox's secret, which name the sandbox (``sandbox_token``) —
    so they cost nothing to store, in memory or in a fleet's Redis. Keys issued at run time (a new
    organization's) live in the sandbox's ``State``. Tokens that do not name their sandbox are told
    to ``index``, so a request's key finds its sandbox among all the sandboxes.
    """

    LIST_READS: tuple[Read, ...] = (("get", "key-tokens"), ("hall", "keys"))  # what listing them reads

    def __init__(
        self,
        state: State,
        world_keys: Sequence[Mapping[str, Any]],
        secret: bytes,
        *,
        sandbox_id: str = "",
        index: TokenIndex | None = None,
    ) -> None:
        self.state, self.sandbox_id, self._index = state, sandbox_id, index
        self._world_keys, self._secret = world_keys, secret
        self._seeded: dict[str, ApiKey] | None = None  # token -> key, once the sandbox's tokens are known

    def seeded(self) -> dict[str, ApiKey]:
        """The seed's keys with this sandbox's tokens, by token, in the seed's order."""
        if self._seeded is None:
            mode = self.state.get("key-tokens")
            if mode is None:
                return {}  # not established yet, or cleared
            self._seeded = {}
            for position, key in enumerate(self._world_keys):
                token = self.token_at(position, mode == "world")
                self._seeded[token] = {**key, "token": token, "_position": position}
        return self._seeded

    def token_at(self, position: int, world_tokens: bool) -> str:
        """The token of the seed's ``position``-th key, with the world's tokens or this sandbox's."""
        return str(self._world_keys[position]["token"]) if world_tokens else self._derived(position)

    def _derived(self, position: int) -> str:
        digest = hmac.new(self._secret, f"key:{position}".encode(), hashlib.sha256).hexdigest()
        return sandbox_token(self.sandbox_id, digest[:TOKEN_RANDOM_CHARS])

    def __iter__(self) -> Iterator[ApiKey]:
        issued = sorted(self.state.hall("keys").values(), key=lambda key: key["_position"])
        return iter([*self.seeded().values(), *issued])

    def find(self, token: str) -> ApiKey | None:
        found = self.seeded().get(token)
        return found if found is not None else self.state.hget("keys", token)

    def establish(self, world_tokens: bool) -> None:
        """A new sandbox's keys: the seed's, with the world's tokens or with tokens of its own."""
        self.state.put("key-tokens", "world" if world_tokens else "derived")
        self._seeded = None
        if self._index is not None and world_tokens:
            for key in self._world_keys:
                self._index.claim(key["token"], self.sandbox_id)

    def new_token(self) -> str:
        """A token for a key issued at run time: unguessable, naming this sandbox."""
        return sandbox_token(self.sandbox_id)

    def add(self, key: Mapping[str, Any]) -> None:
        """Make a newly issued key usable at once."""
        position = len(self._world_keys) + self.state.incr("key-position")
        self.state.hput("keys", key["token"], {**key, "_position": position})
        if self._index is not None and token_sandbox(key["token"]) is None:
            self._index.claim(key["token"], self.sandbox_id)

    def restore(self) -> None:
        """Back to the seed's keys only (the organizations created since are gone)."""
        issued = list(self.state.hall("keys"))
        self.state.remove("keys", "key-position")
        if self._index is not None:
            for token in issued:
                if token_sandbox(token) is None:
                    self._index.release(token)

    def clear(self) -> None:
        """Drop every key (the sandbox is deleted): its tokens are unknown from now on."""
        self.restore()
        if self._index is not None and self.state.get("key-tokens") == "world":
            for key in self._world_keys:
                self._index.release(key["token"])
        self.state.remove("key-tokens")
        self._seeded = {}

    def authenticate(self, header: str | None) -> ApiKey:
        """The key named by an ``Authorization`` header, or an ``Unauthorized`` error."""
        key = self.find(bearer_token(header))
        if key is None:
            raise Unauthorized("Unknown API key: it is not one of this sandbox's keys")
        return key


def bearer_token(header: str | None) -> str:
    """The ``eal_test_`` token of an ``Authorization`` header, or the 401 that says what is wrong."""
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
    return token


def require_scope(key: Mapping[str, Any], scope: str | None) -> None:
    """Raise 403 naming the missing scope."""
    if scope is not None and scope not in key["scopes"]:
        raise Forbidden(
            f"This key lacks the '{scope}' scope required by this operation (it has: {', '.join(key['scopes'])})",
            details={"required_scope": scope, "granted_scopes": list(key["scopes"])},
        )
