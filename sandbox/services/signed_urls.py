"""Signed, expiring URLs the sandbox serves itself: call recordings and claim summaries.

A URL is ``{base_url}{path}?exp=<unix seconds>&sig=<hex HMAC-SHA256 of "path\\nexp">`` under the
sandbox's signing key. A bad or missing signature is 403 ``invalid_signature``; a good one past
``exp`` (sandbox clock) is 410 ``url_expired``.
"""

from __future__ import annotations

import hashlib
import hmac
import math
from typing import Any

from ..base.clock import Clock
from ..base.errors import ApiError, Forbidden

URL_TTL_SECONDS = 3600


def seeded_signing_key(seed: int) -> bytes:
    """A signing key derived from the world seed: the same seed signs the same URLs."""
    return hashlib.sha256(f"eal-sandbox/signed-urls/{seed}".encode()).digest()


class SignedUrls:
    """Signs and checks the URLs of one sandbox."""

    def __init__(self, key: bytes, clock: Clock) -> None:
        self._key, self.clock = key, clock

    def _signature(self, path: str, exp: int) -> str:
        return hmac.new(self._key, f"{path}\n{exp}".encode(), hashlib.sha256).hexdigest()

    def sign(self, base_url: str, path: str, ttl_seconds: int = URL_TTL_SECONDS) -> str:
        """An absolute URL for ``path`` that stays valid for ``ttl_seconds`` of sandbox time."""
        exp = math.floor(self.clock.now().timestamp()) + ttl_seconds
        return f"{base_url}{path}?exp={exp}&sig={self._signature(path, exp)}"

    def check(self, path: str, exp: Any, sig: Any) -> None:
        """Refuse a tampered or unsigned URL (403) and an expired one (410)."""
        try:
            expires = int(exp)
        except (TypeError, ValueError):
            raise Forbidden("URL is not signed: exp and sig are required", code="invalid_signature") from None
        expected = self._signature(path, expires)
        if not isinstance(sig, str) or not hmac.compare_digest(expected.encode(), sig.encode()):
            raise Forbidden("URL signature does not match", code="invalid_signature")
        if self.clock.now().timestamp() >= expires:
            raise ApiError("Signed URL has expired; fetch the resource again for a fresh one",
                           status=410, code="url_expired", details={"expired_at": expires})
