"""Listening to a sandbox: its events as one long-lived stream, and the listener's signing secret
(tag ``sandbox-listen``). ``eal-sandbox listen`` and the ``/docs/webhooks`` inspector use them.

The stream is every event of the sandbox (every organization in it), in order, from now (or from the
``Last-Event-ID`` a client resumes after); see ``services.webhooks.feed`` for the numbering and bounds
and ``services.webhooks.sse`` for the messages. The request ends its pipeline as soon as the stream
is admitted, so an open stream never counts among the sandbox's requests in progress.
"""

from __future__ import annotations

from typing import Any

from ...base.errors import ValidationFailed, field_error
from ...services.bundle import SandboxServices
from ...services.webhooks.listeners import BadPosition
from ...services.webhooks.sse import EventStream
from ..request import ApiRequest, Reply

STREAM_PATH = "/_sandbox/events/stream"
STREAM_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}  # no proxy may buffer it


def stream_events(request: ApiRequest) -> Reply:
    """Open the sandbox's event stream (``text/event-stream``)."""
    sandbox, query = request.sandbox, request.query
    feed = sandbox.feed
    last_event_id = request.headers.get("Last-Event-ID") or None  # empty: none, as EventSource means it
    try:
        cursor = feed.resume_point(last_event_id, int(query.get("backlog", 0)))
    except BadPosition as bad:
        raise ValidationFailed([field_error("header.Last-Event-ID", str(bad), "position")]) from None
    types = [name for name in str(query.get("types", "")).split(",") if name] or None
    listener = feed.open(query.get("listener_id"), cursor, types, bool(query.get("deliveries", False)))
    ready = {
        "sandbox_id": sandbox.id,
        "listener_id": listener.id,
        "signing_secret": feed.secret,
        "resumed_after": last_event_id if last_event_id is not None else None,
        "types": sorted(listener.types) if listener.types else None,
        "deliveries": listener.deliveries,
        **_bounds(sandbox),
    }
    stream = EventStream(
        feed, listener, ready, keepalive=sandbox.settings.STREAM_KEEPALIVE, lifetime=sandbox.settings.STREAM_LIFETIME
    )
    return Reply(stream, 200, dict(STREAM_HEADERS), mimetype="text/event-stream")


def get_listener(request: ApiRequest) -> dict[str, Any]:
    """The sandbox's listener signing secret, its open streams and what its backlog holds."""
    sandbox = request.sandbox
    stats = sandbox.feed.stats()
    return {
        "sandbox_id": sandbox.id,
        "signing_secret": sandbox.feed.secret,
        "stream_url": STREAM_PATH,
        "streams": stats["streams"],
        "backlog": {"events": stats["events"], "oldest_id": stats["oldest_id"], "newest_id": stats["newest_id"]},
        **_bounds(sandbox),
    }


def _bounds(sandbox: SandboxServices) -> dict[str, Any]:
    settings = sandbox.settings
    return {
        "limits": {
            "backlog": settings.STREAM_BACKLOG,
            "streams_per_sandbox": settings.STREAMS_PER_SANDBOX,
            "streams_per_server": settings.STREAMS_MAX,
            "keepalive_seconds": settings.STREAM_KEEPALIVE,
            "lifetime_seconds": settings.STREAM_LIFETIME,
        }
    }
