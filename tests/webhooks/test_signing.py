"""Signatures: the seed's algorithm, the overlap format, and the partner-facing verifier."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from sandbox.services.webhooks import (
    SIGNATURE_FORMAT_DOC,
    SignatureVerificationError,
    sign,
    signature_header,
    signature_headers,
    signing,
    verify_signature,
    verify_signature_or_raise,
)

SECRET = "whsec_a1b2c3d4e5f6g7h8i9j0k1l2m3n4o5p6"
OLD_SECRET = "whsec_z9y8x7w6v5u4t3s2r1q0p9o8n7m6l5k4"
BODY = b'{"id":"evt_3p9w7m2q4r1a","type":"lead.created","data":{"name":"Ana"}}'
NOW = 1_777_300_000


def headers(secrets: list[str], timestamp: int = NOW, body: bytes = BODY) -> dict[str, str]:
    return {"X-EAL-Timestamp": str(timestamp), **signature_headers(secrets, timestamp, body)}


def test_sign_is_hex_hmac_of_timestamp_dot_body() -> None:
    expected = hmac.new(SECRET.encode(), f"{NOW}.{BODY.decode()}".encode(), hashlib.sha256).hexdigest()
    assert sign(SECRET, NOW, BODY) == sign(SECRET, str(NOW), BODY) == expected


def test_outside_rotation_the_header_is_exactly_the_hex_digest() -> None:
    assert signature_header([SECRET], NOW, BODY) == sign(SECRET, NOW, BODY)
    assert signature_headers([SECRET], NOW, BODY) == {"X-EAL-Signature": sign(SECRET, NOW, BODY)}


def test_during_overlap_the_previous_signature_has_its_own_header() -> None:
    sent = signature_headers([SECRET, OLD_SECRET], NOW, BODY)
    assert sent == {"X-EAL-Signature": sign(SECRET, NOW, BODY), "X-EAL-Signature-Previous": sign(OLD_SECRET, NOW, BODY)}


@pytest.mark.parametrize("secret", [SECRET, OLD_SECRET, [OLD_SECRET], ["whsec_other", SECRET]])
def test_either_secret_verifies_during_overlap(secret: str | list[str]) -> None:
    assert verify_signature(BODY, headers([SECRET, OLD_SECRET]), secret, now=NOW)


def test_header_names_are_case_insensitive() -> None:
    lowered = {name.lower(): value for name, value in headers([SECRET]).items()}
    assert verify_signature(BODY, lowered, SECRET, now=NOW)


@pytest.mark.parametrize(
    ("body", "sent", "secret", "now", "reason"),
    [
        (BODY, headers([SECRET]), SECRET, NOW + 301, "stale timestamp"),
        (BODY, headers([SECRET]), SECRET, NOW - 301, "stale timestamp"),
        (BODY.replace(b"Ana", b"Eve"), headers([SECRET]), SECRET, NOW, "no signature matches"),
        (BODY, headers([SECRET]), OLD_SECRET, NOW, "no signature matches"),
        (BODY, {"X-EAL-Timestamp": str(NOW)}, SECRET, NOW, "missing X-EAL-Signature"),
        (BODY, {"X-EAL-Signature": sign(SECRET, NOW, BODY)}, SECRET, NOW, "missing X-EAL-Timestamp"),
        (BODY, {**headers([SECRET]), "X-EAL-Timestamp": "soon"}, SECRET, NOW, "not unix seconds"),
        (BODY, headers([SECRET]), [], NOW, "no signing secret"),
    ],
    ids=[
        "future",
        "past",
        "tampered-body",
        "wrong-secret",
        "no-signature",
        "no-timestamp",
        "bad-timestamp",
        "no-secrets",
    ],
)
def test_verification_refuses_and_says_why(
    body: bytes, sent: dict[str, str], secret: str | list[str], now: int, reason: str
) -> None:
    assert not verify_signature(body, sent, secret, now=now)
    with pytest.raises(SignatureVerificationError, match=reason):
        verify_signature_or_raise(body, sent, secret, now=now)


def test_a_timestamp_re_signed_by_an_attacker_does_not_verify() -> None:
    replayed = {**headers([SECRET]), "X-EAL-Timestamp": str(NOW + 10)}
    assert not verify_signature(BODY, replayed, SECRET, now=NOW + 10)


def test_tolerance_is_configurable() -> None:
    assert verify_signature(BODY, headers([SECRET]), SECRET, now=NOW + 301, tolerance=600)


def test_the_format_decision_is_documented_for_the_spec() -> None:
    assert "X-EAL-Signature-Previous" in SIGNATURE_FORMAT_DOC
    assert SIGNATURE_FORMAT_DOC in (signing.__doc__ or SIGNATURE_FORMAT_DOC)


def test_a_text_body_is_taken_as_its_utf8_bytes() -> None:
    text = '{"name": "Zoë"}'
    signed = headers([SECRET], body=text.encode("utf-8"))
    assert verify_signature(text, signed, SECRET, now=NOW)
    assert not verify_signature(text + " ", signed, SECRET, now=NOW)
