"""Signed URLs: deterministic per seed and clock, refused when tampered, gone when expired."""

from __future__ import annotations

import io
import re
import wave
from collections.abc import Iterator
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from sandbox.errors import ApiError
from sandbox.runtime import Sandbox
from sandbox.settings import Settings
from sandbox.signed_urls import (
    check_signed,
    claim_summary_text,
    recording_bytes,
    serve_claim_summary,
    serve_recording,
    sign_url,
)
from tests.conftest import FROZEN_AT

BASE = "http://localhost:4010"


def make_sandbox(seed: int = 7) -> Sandbox:
    return Sandbox(Settings(SEED=seed, LEADS_PER_ORG=10, CLOCK_START=FROZEN_AT, CLOCK_FROZEN=True))


@pytest.fixture(scope="module")
def world() -> Iterator[Sandbox]:
    sandbox = make_sandbox()
    yield sandbox
    sandbox.close()


@pytest.fixture
def sandbox(world: Sandbox) -> Iterator[Sandbox]:
    yield world
    world.reset()


def first(sandbox: Sandbox, kind: str, **wanted: Any) -> dict[str, Any]:
    org_id = sandbox.world.child_org_ids[0]
    return next(r for r in sandbox.store.scan(kind, org_id) if all(r[k] == v for k, v in wanted.items()))


def signed_parts(url: str) -> tuple[str, str, str]:
    """The path, exp and sig of a signed URL."""
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    return parts.path, query["exp"][0], query["sig"][0]


def refusal(action: Any) -> ApiError:
    with pytest.raises(ApiError) as caught:
        action()
    return caught.value


def test_url_shape_and_one_hour_expiry(sandbox):
    url = sign_url(sandbox, BASE, "/_sandbox/recordings/call_abc")
    assert re.fullmatch(rf"{BASE}/_sandbox/recordings/call_abc\?exp=\d+&sig=[0-9a-f]{{64}}", url)
    assert int(signed_parts(url)[1]) == int(FROZEN_AT.timestamp()) + 3600


def test_urls_are_deterministic_per_seed_and_clock(sandbox):
    path = "/_sandbox/recordings/call_abc"
    assert sign_url(sandbox, BASE, path) == sign_url(sandbox, BASE, path)
    other = make_sandbox(seed=8)
    try:
        assert signed_parts(sign_url(other, BASE, path))[2] != signed_parts(sign_url(sandbox, BASE, path))[2]
    finally:
        other.close()
    before = sign_url(sandbox, BASE, path)
    sandbox.clock.advance(timedelta(seconds=1))
    assert sign_url(sandbox, BASE, path) != before


def test_valid_recording_is_a_wav(sandbox):
    call_record = first(sandbox, "call", status="completed")
    _, exp, sig = signed_parts(sign_url(sandbox, BASE, f"/_sandbox/recordings/{call_record['id']}"))
    audio, mimetype = serve_recording(sandbox, call_record["id"], exp, sig)
    assert mimetype == "audio/wav" and audio == recording_bytes(call_record)
    with wave.open(io.BytesIO(audio)) as reader:
        assert (reader.getnchannels(), reader.getframerate()) == (1, 8000)
        assert reader.getnframes() == 4000


def test_expired_url_is_gone(sandbox):
    call_record = first(sandbox, "call", status="completed")
    _, exp, sig = signed_parts(sign_url(sandbox, BASE, f"/_sandbox/recordings/{call_record['id']}"))
    sandbox.clock.advance(timedelta(minutes=59))
    serve_recording(sandbox, call_record["id"], exp, sig)
    sandbox.clock.advance(timedelta(minutes=1))
    error = refusal(lambda: serve_recording(sandbox, call_record["id"], exp, sig))
    assert (error.status, error.code) == (410, "url_expired")


@pytest.mark.parametrize("tamper", ["sig", "exp", "path", "missing_sig", "missing_exp", "junk_exp"])
def test_tampered_or_unsigned_url_is_forbidden(sandbox, tamper):
    path = "/_sandbox/recordings/call_abc"
    _, exp, sig = signed_parts(sign_url(sandbox, BASE, path))
    changed = {
        "sig": (path, exp, sig[:-1] + ("0" if sig[-1] != "0" else "1")),
        "exp": (path, str(int(exp) + 3600), sig),
        "path": ("/_sandbox/recordings/call_abd", exp, sig),
        "missing_sig": (path, exp, None),
        "missing_exp": (path, None, sig),
        "junk_exp": (path, "tomorrow", sig),
    }[tamper]
    error = refusal(lambda: check_signed(sandbox, *changed))
    assert (error.status, error.code) == (403, "invalid_signature")


def test_recording_of_an_unknown_call_is_404(sandbox):
    _, exp, sig = signed_parts(sign_url(sandbox, BASE, "/_sandbox/recordings/call_nothere"))
    assert refusal(lambda: serve_recording(sandbox, "call_nothere", exp, sig)).status == 404


@pytest.mark.parametrize("fmt", ["txt", "pdf"])
def test_claim_summary_is_served_in_both_formats(sandbox, fmt):
    claim = first(sandbox, "claim", status="ready_for_review")
    _, exp, sig = signed_parts(sign_url(sandbox, BASE, f"/_sandbox/claims/{claim['id']}/summary.{fmt}"))
    body, mimetype = serve_claim_summary(sandbox, claim["id"], fmt, exp, sig)
    if fmt == "txt":
        assert mimetype == "text/plain" and body.decode() == claim_summary_text(claim)
    else:
        assert mimetype == "application/pdf"
        check_pdf(body)
        assert claim["id"].encode() in body


def test_summary_url_for_one_format_does_not_open_the_other(sandbox):
    claim = first(sandbox, "claim", status="ready_for_review")
    _, exp, sig = signed_parts(sign_url(sandbox, BASE, f"/_sandbox/claims/{claim['id']}/summary.txt"))
    error = refusal(lambda: serve_claim_summary(sandbox, claim["id"], "pdf", exp, sig))
    assert error.status == 403


def test_summary_text_lists_every_scope_item(sandbox):
    claim = first(sandbox, "claim", status="ready_for_review")
    text = claim_summary_text(claim)
    for room in claim["rooms"]:
        assert room["name"] in text
        for item in room["scope_items"]:
            assert item["code"] in text and item["description"] in text


def check_pdf(body: bytes) -> None:
    """Header, one page, and an xref table whose offsets point at each object."""
    assert body.startswith(b"%PDF-1.4\n") and body.rstrip().endswith(b"%%EOF")
    assert body.count(b"/Type /Page ") == 1
    startxref = int(body.rsplit(b"startxref\n", 1)[1].split(b"\n", 1)[0])
    assert body[startxref:].startswith(b"xref\n")
    entries = body[startxref:].split(b"\n")[3:8]
    for number, entry in enumerate(entries, start=1):
        offset = int(entry.split()[0])
        assert body[offset:].startswith(b"%d 0 obj" % number)
