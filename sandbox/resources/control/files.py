"""Files behind signed, expiring URLs: call recordings and claim summaries (tag ``sandbox-files``)."""

from __future__ import annotations

from ...base.errors import Conflict, NotFound
from ...services.files import SUMMARY_MIMETYPES, claim_summary_text, recording_bytes, summary_pdf
from ..request import ApiRequest, Reply


def get_recording(request: ApiRequest) -> Reply:
    """A call recording behind a signed, expiring URL."""
    call_id = request.path["call_id"]
    request.sandbox.signed_urls.check(
        f"/_sandbox/recordings/{call_id}", request.query.get("exp"), request.query.get("sig")
    )
    call_record = request.sandbox.store.get("call", None, call_id)
    if call_record is None:
        raise NotFound(f"No recording for call '{call_id}'", details={"id": call_id})
    return Reply(recording_bytes(call_record), 200, mimetype="audio/wav")


def get_claim_summary_txt(request: ApiRequest) -> Reply:
    """A claim's plain-text summary behind a signed URL."""
    return _claim_summary(request, "txt")


def get_claim_summary_pdf(request: ApiRequest) -> Reply:
    """A claim's PDF summary behind a signed URL."""
    return _claim_summary(request, "pdf")


def _claim_summary(request: ApiRequest, fmt: str) -> Reply:
    claim_id = request.path["claim_id"]
    request.sandbox.signed_urls.check(
        f"/_sandbox/claims/{claim_id}/summary.{fmt}", request.query.get("exp"), request.query.get("sig")
    )
    claim = request.sandbox.store.get("claim", None, claim_id)
    if claim is None:
        raise NotFound(f"No claim with id '{claim_id}'", details={"id": claim_id})
    if claim["status"] == "extracting":
        raise Conflict("Claim is still extracting; its summary is not ready")
    text = claim_summary_text(claim)
    body = text.encode() if fmt == "txt" else summary_pdf(text)
    return Reply(body, 200, mimetype=SUMMARY_MIMETYPES[fmt])
