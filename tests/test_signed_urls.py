"""Signed URLs: stable within a sandbox, keyed per sandbox (a URL opens in no other), refused when tampered,
gone when expired; served over HTTP."""

from __future__ import annotations

import io
import re
import wave
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from sandbox.base.errors import ApiError
from sandbox.services.bundle import SandboxServices
from sandbox.services.files import claim_summary_text, recording_bytes
from sandbox.web.app import runtime_of
from tests.support import FROZEN_AT

pytestmark = pytest.mark.both_stores

BASE = "http://localhost"


def first(sandbox: SandboxServices, kind: str, **wanted: Any) -> dict[str, Any]:
    org_id = sandbox.world.child_org_ids[0]
    return next(r for r in sandbox.store.scan(kind, org_id) if all(r[k] == v for k, v in wanted.items()))


def signed_parts(url: str) -> tuple[str, str, str]:
    """The path, exp and sig of a signed URL."""
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    return parts.path, query["exp"][0], query["sig"][0]


def fetch(client: Any, url: str) -> Any:
    """GET a signed URL the way a partner's HTTP client would (no key: the URL is the credential)."""
    parts = urlsplit(url)
    return client.get(parts.path, query_string=parts.query)


def refusal(action: Any) -> ApiError:
    with pytest.raises(ApiError) as caught:
        action()
    return caught.value


def sign(sandbox: SandboxServices, path: str) -> str:
    return sandbox.signed_urls.sign(BASE, path)


def test_url_shape_and_one_hour_expiry(sandbox):
    url = sign(sandbox, "/_sandbox/recordings/call_abc")
    assert re.fullmatch(rf"{BASE}/_sandbox/recordings/call_abc\?sandbox={sandbox.id}&exp=\d+&sig=[0-9a-f]{{64}}", url)
    assert int(signed_parts(url)[1]) == int(FROZEN_AT.timestamp()) + 3600


def test_urls_are_stable_within_a_sandbox_and_keyed_per_sandbox(app, client, sandbox):
    path = "/_sandbox/recordings/call_abc"
    assert sign(sandbox, path) == sign(sandbox, path)
    assert parse_qs(urlsplit(sign(sandbox, path)).query)["sandbox"] == [sandbox.id]
    other = runtime_of(app).sandboxes.create(seed=sandbox.settings.SEED)  # the same seed, the same records
    try:
        assert signed_parts(sign(other, path))[2] != signed_parts(sign(sandbox, path))[2]
        call_record = first(sandbox, "call", status="completed")
        mine = sign(sandbox, f"/_sandbox/recordings/{call_record['id']}")
        forged = mine.replace(sandbox.id, other.id)  # another sandbox's key does not verify this signature
        assert fetch(client, mine).status_code == 200 and fetch(client, forged).status_code == 403
    finally:
        runtime_of(app).sandboxes.delete(other)
    before = sign(sandbox, path)
    sandbox.clock.advance(timedelta(seconds=1))
    assert sign(sandbox, path) != before


def test_valid_recording_is_a_wav(client, sandbox):
    call_record = first(sandbox, "call", status="completed")
    response = fetch(client, sign(sandbox, f"/_sandbox/recordings/{call_record['id']}"))
    audio = response.get_data()
    assert response.mimetype == "audio/wav" and audio == recording_bytes(call_record)
    with wave.open(io.BytesIO(audio)) as reader:
        assert (reader.getnchannels(), reader.getframerate()) == (1, 8000)
        assert reader.getnframes() == 4000


def test_expired_url_is_gone(client, sandbox):
    call_record = first(sandbox, "call", status="completed")
    url = sign(sandbox, f"/_sandbox/recordings/{call_record['id']}")
    sandbox.clock.advance(timedelta(minutes=59))
    assert fetch(client, url).status_code == 200
    sandbox.clock.advance(timedelta(minutes=1))
    response = fetch(client, url)
    assert (response.status_code, response.get_json()["error"]["code"]) == (410, "url_expired")


@pytest.mark.parametrize("tamper", ["sig", "exp", "path", "missing_sig", "missing_exp", "junk_exp"])
def test_tampered_or_unsigned_url_is_forbidden(sandbox, tamper):
    path = "/_sandbox/recordings/call_abc"
    _, exp, sig = signed_parts(sign(sandbox, path))
    changed = {
        "sig": (path, exp, sig[:-1] + ("0" if sig[-1] != "0" else "1")),
        "exp": (path, str(int(exp) + 3600), sig),
        "path": ("/_sandbox/recordings/call_abd", exp, sig),
        "missing_sig": (path, exp, None),
        "missing_exp": (path, None, sig),
        "junk_exp": (path, "tomorrow", sig),
    }[tamper]
    error = refusal(lambda: sandbox.signed_urls.check(*changed))
    assert (error.status, error.code) == (403, "invalid_signature")


def test_recording_of_an_unknown_call_is_404(client, sandbox):
    assert fetch(client, sign(sandbox, "/_sandbox/recordings/call_nothere")).status_code == 404


@pytest.mark.parametrize("fmt", ["txt", "pdf"])
def test_claim_summary_is_served_in_both_formats(client, sandbox, fmt):
    claim = first(sandbox, "claim", status="ready_for_review")
    response = fetch(client, sign(sandbox, f"/_sandbox/claims/{claim['id']}/summary.{fmt}"))
    body, mimetype = response.get_data(), response.mimetype
    if fmt == "txt":
        assert mimetype == "text/plain" and body.decode() == claim_summary_text(claim)
    else:
        assert mimetype == "application/pdf"
        check_pdf(body)
        assert claim["id"].encode() in body


def test_summary_url_for_one_format_does_not_open_the_other(client, sandbox):
    claim = first(sandbox, "claim", status="ready_for_review")
    url = sign(sandbox, f"/_sandbox/claims/{claim['id']}/summary.txt")
    assert fetch(client, url.replace("summary.txt", "summary.pdf")).status_code == 403


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
