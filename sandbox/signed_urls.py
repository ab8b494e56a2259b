"""Signed, expiring URLs the sandbox serves itself: call recordings and claim summaries.

A URL is ``{base_url}{path}?exp=<unix seconds>&sig=<hex HMAC-SHA256 of "path\\nexp">``, keyed
from the world seed, so the same seed and clock give the same URL. A bad or missing signature
is 403 ``invalid_signature``; a good one past ``exp`` is 410 ``url_expired``.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import math
import struct
import wave
from typing import TYPE_CHECKING, Any

from .errors import ApiError, Conflict, Forbidden, NotFound

if TYPE_CHECKING:
    from .runtime import Sandbox

URL_TTL_SECONDS = 3600
SUMMARY_MIMETYPES = {"txt": "text/plain", "pdf": "application/pdf"}
SAMPLE_RATE, TONE_HZ, TONE_SECONDS = 8000, 440, 0.5


def _signing_key(sandbox: Sandbox) -> bytes:
    return hashlib.sha256(f"eal-sandbox/signed-urls/{sandbox.settings.SEED}".encode()).digest()


def _signature(sandbox: Sandbox, path: str, exp: int) -> str:
    return hmac.new(_signing_key(sandbox), f"{path}\n{exp}".encode(), hashlib.sha256).hexdigest()


def sign_url(sandbox: Sandbox, base_url: str, path: str, ttl_seconds: int = URL_TTL_SECONDS) -> str:
    """An absolute URL for ``path`` that stays valid for ``ttl_seconds`` of sandbox time."""
    exp = math.floor(sandbox.clock.now().timestamp()) + ttl_seconds
    return f"{base_url}{path}?exp={exp}&sig={_signature(sandbox, path, exp)}"


def check_signed(sandbox: Sandbox, path: str, exp: Any, sig: Any) -> None:
    """Refuse a tampered or unsigned URL (403) and an expired one (410)."""
    try:
        expires = int(exp)
    except (TypeError, ValueError):
        raise Forbidden("URL is not signed: exp and sig are required", code="invalid_signature") from None
    expected = _signature(sandbox, path, expires)
    if not isinstance(sig, str) or not hmac.compare_digest(expected.encode(), sig.encode()):
        raise Forbidden("URL signature does not match", code="invalid_signature")
    if sandbox.clock.now().timestamp() >= expires:
        raise ApiError("Signed URL has expired; fetch the resource again for a fresh one",
                       status=410, code="url_expired", details={"expired_at": expires})


def recording_bytes(call_record: dict[str, Any]) -> bytes:
    """A tiny, deterministic WAV: half a second of a quiet tone (no real audio is kept)."""
    frames = int(SAMPLE_RATE * TONE_SECONDS)
    samples = (int(1200 * math.sin(2 * math.pi * TONE_HZ * n / SAMPLE_RATE)) for n in range(frames))
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as audio:
        audio.setnchannels(1)
        audio.setsampwidth(2)
        audio.setframerate(SAMPLE_RATE)
        audio.writeframes(b"".join(struct.pack("<h", sample) for sample in samples))
    return buffer.getvalue()


def claim_summary_text(claim: dict[str, Any]) -> str:
    """The plain-text scope summary an operator pastes into Xactimate or a carrier portal."""
    lines = [f"Claim {claim['id']} ({claim['loss_type']} loss)",
             f"Job: {claim.get('job_external_ref') or '-'}",
             f"Status: {claim['status']}",
             f"Scope items: {claim.get('scope_item_count', 0)}", ""]
    for room in claim.get("rooms") or []:
        size = room["dimensions"]
        lines.append(f"{room['name']} ({size['length_ft']} x {size['width_ft']} x {size['height_ft']} ft)")
        lines.extend(_item_line(item) for item in room["scope_items"])
        lines.append("")
    lines.append("Sandbox test data - not for submission to a carrier.")
    return "\n".join(lines) + "\n"


def _item_line(item: dict[str, Any]) -> str:
    line = f"  {item['code']:<10} {item['qty']:>6} {item['unit']:<3} {item['description']}" \
           f" (confidence {item['confidence']:.2f})"
    decision = item.get("decision")
    return f"{line} [{decision}]" if decision else line


def summary_pdf(text: str) -> bytes:
    """A minimal valid one-page PDF (Helvetica 9 pt) showing ``text``, clipped to the page."""
    lines = text.splitlines()
    if len(lines) > 70:
        lines = [*lines[:69], f"... {len(lines) - 69} more lines in summary.txt"]
    shown = "".join(f"({_pdf_string(line[:115])}) Tj T* " for line in lines)
    stream = f"BT /F1 9 Tf 11 TL 40 760 Td {shown}ET".encode("latin-1")
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>",
               b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
               b"/Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
               b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
               b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream"]
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def _pdf_string(line: str) -> str:
    safe = line.encode("latin-1", "replace").decode("latin-1")
    return safe.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def serve_recording(sandbox: Sandbox, call_id: str, exp: Any, sig: Any) -> tuple[bytes, str]:
    """The WAV behind a signed ``/_sandbox/recordings/{call_id}`` URL."""
    check_signed(sandbox, f"/_sandbox/recordings/{call_id}", exp, sig)
    call_record = sandbox.store.get("call", None, call_id)
    if call_record is None:
        raise NotFound(f"No recording for call '{call_id}'", details={"id": call_id})
    return recording_bytes(call_record), "audio/wav"


def serve_claim_summary(sandbox: Sandbox, claim_id: str, fmt: str, exp: Any, sig: Any) -> tuple[bytes, str]:
    """The scope summary behind a signed ``/_sandbox/claims/{id}/summary.{txt|pdf}`` URL."""
    if fmt not in SUMMARY_MIMETYPES:
        raise NotFound(f"No summary format '{fmt}'; use txt or pdf")
    check_signed(sandbox, f"/_sandbox/claims/{claim_id}/summary.{fmt}", exp, sig)
    claim = sandbox.store.get("claim", None, claim_id)
    if claim is None:
        raise NotFound(f"No claim with id '{claim_id}'", details={"id": claim_id})
    if claim["status"] == "extracting":
        raise Conflict("Claim is still extracting; its summary is not ready")
    text = claim_summary_text(claim)
    body = text.encode() if fmt == "txt" else summary_pdf(text)
    return body, SUMMARY_MIMETYPES[fmt]
