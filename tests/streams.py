"""A test client of the sandbox's event stream (``GET /_sandbox/events/stream``): it reads the
server-sent events on a thread of its own, and the test waits on what arrives (bounded waits, no
sleeps). Keep-alive comments are noted too, as messages of kind ``: keep-alive``."""

from __future__ import annotations

import json
import queue
import threading
import time
from dataclasses import dataclass
from typing import Any

import httpx

WAIT = 10.0  # seconds a test waits for one message at most


@dataclass(frozen=True)
class Message:
    event: str
    data: str
    id: str | None

    def json(self) -> Any:
        return json.loads(self.data)


class StreamClient:
    """One open stream; ``status`` and ``headers`` are the response's, ``error`` a refusal's body."""

    def __init__(self, base_url: str, token: str, *, last_event_id: str | None = None, **params: Any) -> None:
        headers = {"Authorization": f"Bearer {token}"}
        if last_event_id is not None:
            headers["Last-Event-ID"] = last_event_id
        self.http = httpx.Client(base_url=base_url, timeout=httpx.Timeout(10.0, read=60.0), trust_env=False)
        query = {name: str(value).lower() if isinstance(value, bool) else str(value) for name, value in params.items()}
        self.response = self.http.send(
            self.http.build_request("GET", "/_sandbox/events/stream", params=query, headers=headers), stream=True
        )
        self.status, self.headers = self.response.status_code, self.response.headers
        self.messages: queue.Queue[Message | None] = queue.Queue()
        self.error: Any = None
        if self.status != 200:
            self.response.read()
            self.error = self.response.json()
            self.close()
            return
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        event, data, event_id = "message", [], None
        try:
            for line in self.response.iter_lines():
                if line.startswith(":"):
                    self.messages.put(Message(": " + line[1:].strip(), "", None))
                elif line == "":
                    if data:
                        self.messages.put(Message(event, "\n".join(data), event_id))
                    event, data, event_id = "message", [], None
                else:
                    name, _, value = line.partition(":")
                    value = value.removeprefix(" ")
                    if name == "event":
                        event = value
                    elif name == "data":
                        data.append(value)
                    elif name == "id":
                        event_id = value
        except httpx.HTTPError:
            pass
        finally:
            self.messages.put(None)  # the stream ended

    def next(self, *events: str, timeout: float = WAIT) -> Message:
        """The next message of one of ``events`` (any kind if none given), skipping the others."""
        deadline = time.monotonic() + timeout
        while True:
            message = self.messages.get(timeout=max(0.0, deadline - time.monotonic()))
            if message is None:
                raise EOFError("the stream ended")
            if not events or message.event in events:
                return message

    def webhooks(self, count: int, timeout: float = WAIT) -> list[Message]:
        return [self.next("webhook", timeout=timeout) for _ in range(count)]

    def until_end(self, timeout: float = WAIT) -> Message:
        return self.next("end", timeout=timeout)

    def ended(self, timeout: float = WAIT) -> bool:
        """Whether the response ended (after whatever is still queued)."""
        deadline = time.monotonic() + timeout
        while True:
            if self.messages.get(timeout=max(0.0, deadline - time.monotonic())) is None:
                return True

    def close(self) -> None:
        self.response.close()
        self.http.close()
