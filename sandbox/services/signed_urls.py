"""Signed, expiring URLs the sandbox serves itself: call recordings and claim summaries.

A URL is ``{base_url}{path}?sandbox=<sandbox id>&exp=<unix seconds>&sig=<hex HMAC-SHA256 of
"path\\nexp">`` under the sandbox's own signing key (random per sandbox, never derived from anything
public). ``sandbox`` says which sandbox serves the file; a URL signed by one sandbox's key verifies
in no other. A bad or missing signature is 403 ``invalid_signature``; a good one past ``exp``
(sandbox clock) is 410 ``url_expired``.
"""

from __future__ import annotations

import hashlib
import hmac
import math
from typing import Any

from ..base.clock import Clock
from ..base.errors import ApiError, Forbidden

URL_TTL_SECONDS = 3600


SANDBOX_PARAMETER = "sandbox"


class SignedUrls:
    """Signs and checks the URLs of one sandbox."""

    def __init__(self, clock: Clock, sandbox_id: str, key: bytes) -> None:
        self.clock, self.sandbox_id, self._key = clock, sandbox_id, key

    def _signature(self, path: str, exp: int) -> str:
        return hmac.new(self._key, f"{path}\n{exp}".encode(), hashlib.sha256).hexdigest()

    def sign(self, base_url: str, path: str, ttl_seconds: int = URL_TTL_SECONDS) -> str:
        """An absolute URL for ``path`` that stays valid for ``ttl_seconds`` of sandbox time."""
        exp = math.floor(self.clock.now().timestamp()) + ttl_seconds
        return f"{base_url}{path}?{SANDBOX_PARAMETER}={self.sandbox_id}&exp={exp}&sig={self._signature(path, exp)}"

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
            raise ApiError(
                "Signed URL has expired; fetch the resource again for a fresh one",
                status=410,
                code="url_expired",
                details={"expired_at": expires},
            )
