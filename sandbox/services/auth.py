"""Bearer keys: ``eal_test_…`` are the sandbox's; ``eal_live_…`` are refused outright."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any, Protocol

from ..base.errors import Forbidden, LiveKeyRefused, Unauthorized
from ..base.state import State

TEST_PREFIX = "eal_test_"
LIVE_PREFIX = "eal_live_"
ApiKey = dict[str, Any]


class TokenIndex(Protocol):
    """Which sandbox holds a token: the process's directory of sandboxes implements it."""

    def claim(self, token: str, sandbox_id: str) -> None: ...

    def release(self, token: str) -> None: ...


class KeyRing:
    """One sandbox's API keys, looked up by token, in a stable order (the seed's, then as issued).

    The keys live in the sandbox's ``State`` (so every process of a fleet knows them); every token
    the ring takes or drops is told to ``index`` (when given), so a request's key finds its sandbox
    among all the sandboxes. ``establish`` sets a new sandbox's seeded keys; ``restore`` goes back to
    them (a whole-sandbox reset).
    """

    def __init__(self, state: State, *, sandbox_id: str = "", index: TokenIndex | None = None) -> None:
        self.state, self.sandbox_id, self._index = state, sandbox_id, index

    def __iter__(self) -> Iterator[ApiKey]:
        return iter(sorted(self.state.hall("keys").values(), key=lambda key: key["_position"]))

    def find(self, token: str) -> ApiKey | None:
        return self.state.hget("keys", token)  # type: ignore[no-any-return]

    def establish(self, seeded: Iterable[Mapping[str, Any]]) -> None:
        """A new sandbox's keys: the seed's (network first), with this sandbox's tokens."""
        keys = [dict(key) for key in seeded]
        self.state.put("seeded-keys", keys)
        self.replace(keys)

    def restore(self) -> None:
        """Back to the seeded keys only (the organizations created since are gone)."""
        self.replace(self.state.get("seeded-keys") or [])

    def add(self, key: Mapping[str, Any]) -> None:
        """Make a newly issued key usable at once."""
        position = self.state.incr("key-position")
        self.state.hput("keys", key["token"], {**key, "_position": position})
        if self._index is not None:
            self._index.claim(key["token"], self.sandbox_id)

    def replace(self, keys: Iterable[Mapping[str, Any]]) -> None:
        """Hold exactly ``keys`` from now on, in that order."""
        fresh = [dict(key) for key in keys]
        gone = set(self.state.hall("keys")) - {key["token"] for key in fresh}
        with self.state.lock("keys"):
            self.state.remove("keys")
            for position, key in enumerate(fresh):
                self.state.hput("keys", key["token"], {**key, "_position": position})
            self.state.put("key-position", len(fresh))
        if self._index is not None:
            for token in gone:
                self._index.release(token)
            for key in fresh:
                self._index.claim(key["token"], self.sandbox_id)

    def clear(self) -> None:
        """Drop every key (the sandbox is deleted): its tokens are unknown from now on."""
        self.replace(())

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
            f"This key lacks the '{scope}' scope required by this operation "
            f"(it has: {', '.join(key['scopes'])})",
            details={"required_scope": scope, "granted_scopes": list(key["scopes"])},
        )
