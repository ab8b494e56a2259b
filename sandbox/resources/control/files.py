"""Files behind signed, expiring URLs: call recordings and claim summaries (tag ``sandbox-files``)."""

from __future__ import annotations

from ... import signed_urls
from ...call import Call, Reply


def get_recording(call: Call) -> Reply:
    """A call recording behind a signed, expiring URL."""
    audio, mimetype = signed_urls.serve_recording(call.sandbox, call.path["call_id"],
                                                  call.query.get("exp"), call.query.get("sig"))
    return Reply(audio, 200, mimetype=mimetype)


def get_claim_summary_txt(call: Call) -> Reply:
    """A claim's plain-text summary behind a signed URL."""
    return _claim_summary(call, "txt")


def get_claim_summary_pdf(call: Call) -> Reply:
    """A claim's PDF summary behind a signed URL."""
    return _claim_summary(call, "pdf")


def _claim_summary(call: Call, fmt: str) -> Reply:
    content, mimetype = signed_urls.serve_claim_summary(call.sandbox, call.path["claim_id"], fmt,
                                                        call.query.get("exp"), call.query.get("sig"))
    return Reply(content, 200, mimetype=mimetype)
