"""HMAC-SHA256 signatures on webhook deliveries, and the helper partners verify them with.

In short: ``X-EAL-Signature`` is always the single hex signature under the current secret;
for 24 hours after a rotation ``X-EAL-Signature-Previous`` also carries the old secret's.
The full text is written once, in ``SIGNATURE_FORMAT_DOC`` below (the lead copies it
into ``openapi.yaml``), and appended to this docstring so ``help()`` shows it too.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Iterable, Mapping

SIGNATURE_FORMAT_DOC = """\
``X-EAL-Signature`` always carries exactly ONE lowercase hex HMAC-SHA256, made with the
subscription's CURRENT signing secret, of ``f"{X-EAL-Timestamp}.{raw body}"``. Outside a
rotation window it is the only signature, so the published Node sample
(``signature !== expected``) verifies byte for byte.

During the 24 hours after a rotation, ``X-EAL-Signature-Previous`` is added: the hex signature
made with each still-valid previous secret (newest first, comma-separated if the secret was
rotated more than once in the window). After 24 hours the header disappears and the old secret
verifies nothing.

Why two headers, not ``new,old`` in one: a receiver doing strict equality on a comma list would
fail for the whole 24 hours whatever secret it holds. With this format a strict-equality
receiver keeps working as soon as it deploys the new secret; only a receiver still on the old
secret must also look at ``X-EAL-Signature-Previous``.

Receivers should: accept the delivery if the signature computed with their secret equals, in
constant time, ``X-EAL-Signature`` or any comma-separated value of ``X-EAL-Signature-Previous``;
and reject timestamps more than 5 minutes from their clock. ``verify_signature`` does both.
The Node sample becomes, during an overlap::

    const previous = (req.headers["x-eal-signature-previous"] || "").split(",")
    const ok = [signature, ...previous].some((s) => s.length === expected.length &&
      crypto.timingSafeEqual(Buffer.from(s), Buffer.from(expected)))
"""

if __doc__:  # absent under python -OO
    __doc__ += "\nSignature format\n----------------\n" + SIGNATURE_FORMAT_DOC

SIGNATURE_HEADER = "X-EAL-Signature"
PREVIOUS_SIGNATURE_HEADER = "X-EAL-Signature-Previous"
TIMESTAMP_HEADER = "X-EAL-Timestamp"
DEFAULT_TOLERANCE = 300  # seconds either side of the receiver's clock


class SignatureVerificationError(Exception):
    """A delivery's signature did not verify; the message says why."""


def sign(secret: str, timestamp: int | str, body: bytes) -> str:
    """Return the lowercase hex HMAC-SHA256 of ``{timestamp}.{body}`` under ``secret``."""
    message = str(timestamp).encode() + b"." + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signature_header(secrets: list[str], timestamp: int | str, body: bytes) -> str:
    """Return the ``X-EAL-Signature`` value: the signature under the current (first) secret."""
    return sign(secrets[0], timestamp, body)


def signature_headers(secrets: list[str], timestamp: int | str, body: bytes) -> dict[str, str]:
    """Return every signature header for a delivery signed with ``secrets`` (current first)."""
    headers = {SIGNATURE_HEADER: signature_header(secrets, timestamp, body)}
    if len(secrets) > 1:
        headers[PREVIOUS_SIGNATURE_HEADER] = ",".join(sign(s, timestamp, body) for s in secrets[1:])
    return headers


def verify_signature(
    body: bytes | str,
    headers: Mapping[str, str],
    secrets: str | Iterable[str],
    *,
    tolerance: int = DEFAULT_TOLERANCE,
    now: float | None = None,
) -> bool:
    """Return whether the delivery is fresh and signed with any of ``secrets``. ``body`` is the raw
    request body; text is taken as its UTF-8 encoding (what the sandbox sends)."""
    try:
        verify_signature_or_raise(body, headers, secrets, tolerance=tolerance, now=now)
    except SignatureVerificationError:
        return False
    return True


def verify_signature_or_raise(
    body: bytes | str,
    headers: Mapping[str, str],
    secrets: str | Iterable[str],
    *,
    tolerance: int = DEFAULT_TOLERANCE,
    now: float | None = None,
) -> None:
    """Raise ``SignatureVerificationError`` unless the delivery is fresh and correctly signed."""
    if isinstance(body, str):
        body = body.encode("utf-8")
    lowered = {name.lower(): value for name, value in headers.items()}
    timestamp = _timestamp(lowered, tolerance, time.time() if now is None else now)
    received = _received_signatures(lowered)
    candidates = [secrets] if isinstance(secrets, str) else list(secrets)
    if not candidates:
        raise SignatureVerificationError("no signing secret given to verify with")
    # Compare every pair (no early exit) so timing says nothing about which one matched.
    matched = False
    for secret in candidates:
        expected = sign(secret, timestamp, body)
        for signature in received:
            matched |= hmac.compare_digest(expected.encode(), signature.encode())
    if not matched:
        raise SignatureVerificationError("no signature matches the signing secret")


def _timestamp(headers: Mapping[str, str], tolerance: int, now: float) -> str:
    """Return the raw timestamp header once it is present, numeric and within tolerance."""
    raw = headers.get(TIMESTAMP_HEADER.lower())
    if raw is None:
        raise SignatureVerificationError(f"missing {TIMESTAMP_HEADER} header")
    try:
        value = int(raw.strip())
    except ValueError:
        raise SignatureVerificationError(f"{TIMESTAMP_HEADER} is not unix seconds: {raw!r}") from None
    if abs(now - value) > tolerance:
        raise SignatureVerificationError(
            f"stale timestamp: {TIMESTAMP_HEADER} is {int(now - value)} s from now (tolerance {tolerance} s)"
        )
    return raw.strip()


def _received_signatures(headers: Mapping[str, str]) -> list[str]:
    """Return every signature the delivery carries, current first."""
    current = headers.get(SIGNATURE_HEADER.lower())
    if not current:
        raise SignatureVerificationError(f"missing {SIGNATURE_HEADER} header")
    values = [current, headers.get(PREVIOUS_SIGNATURE_HEADER.lower(), "")]
    return [part.strip() for value in values for part in value.split(",") if part.strip()]
