"""Signed webhooks: subscriptions, HMAC signatures, SSRF-guarded background delivery.

The signature format receivers verify is documented in ``signing.SIGNATURE_FORMAT_DOC``.
"""

from .schedule import RetrySchedule
from .service import Transport, WebhookService
from .signing import (
    SIGNATURE_FORMAT_DOC,
    SignatureVerificationError,
    sign,
    signature_header,
    signature_headers,
    verify_signature,
    verify_signature_or_raise,
)
from .subscriptions import EVENT_TYPES
from .urls import EndpointRefused, check_endpoint_url

__all__ = [
    "EVENT_TYPES",
    "SIGNATURE_FORMAT_DOC",
    "EndpointRefused",
    "RetrySchedule",
    "SignatureVerificationError",
    "Transport",
    "WebhookService",
    "check_endpoint_url",
    "sign",
    "signature_header",
    "signature_headers",
    "verify_signature",
    "verify_signature_or_raise",
]
