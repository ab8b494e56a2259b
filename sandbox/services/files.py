"""The files the sandbox renders itself: a call recording (WAV), a claim's summary (text, PDF).

No real audio or document is kept: a recording is half a second of a quiet tone, and a summary is
made from the claim's rooms and scope items each time it is fetched.
"""

from __future__ import annotations

import io
import math
import struct
import wave
from typing import Any

SUMMARY_MIMETYPES = {"txt": "text/plain", "pdf": "application/pdf"}
SAMPLE_RATE, TONE_HZ, TONE_SECONDS = 8000, 440, 0.5


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
    lines = [
        f"Claim {claim['id']} ({claim['loss_type']} loss)",
        f"Job: {claim.get('job_external_ref') or '-'}",
        f"Status: {claim['status']}",
        f"Scope items: {claim.get('scope_item_count', 0)}",
        "",
    ]
    for room in claim.get("rooms") or []:
        size = room["dimensions"]
        lines.append(f"{room['name']} ({size['length_ft']} x {size['width_ft']} x {size['height_ft']} ft)")
        lines.extend(_item_line(item) for item in room["scope_items"])
        lines.append("")
    lines.append("Sandbox test data - not for submission to a carrier.")
    return "\n".join(lines) + "\n"


def _item_line(item: dict[str, Any]) -> str:
    line = (
        f"  {item['code']:<10} {item['qty']:>6} {item['unit']:<3} {item['description']}"
        f" (confidence {item['confidence']:.2f})"
    )
    decision = item.get("decision")
    return f"{line} [{decision}]" if decision else line


def summary_pdf(text: str) -> bytes:
    """A minimal valid one-page PDF (Helvetica 9 pt) showing ``text``, clipped to the page."""
    lines = text.splitlines()
    if len(lines) > 70:
        lines = [*lines[:69], f"... {len(lines) - 69} more lines in summary.txt"]
    shown = "".join(f"({_pdf_string(line[:115])}) Tj T* " for line in lines)
    stream = f"BT /F1 9 Tf 11 TL 40 760 Td {shown}ET".encode("latin-1")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
        b"/Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
    ]
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
