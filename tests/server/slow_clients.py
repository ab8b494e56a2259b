"""Slow and idle clients against a running sandbox, while a normal client keeps calling it.

Idle sockets send nothing; header tricklers send a request head one byte at a time; body tricklers
send a complete head and then a body one byte at a time. Whenever the server closes one of them,
it reconnects, so the pressure lasts the whole run. Meanwhile a normal client (its own thread, a
fresh connection per call) alternates GET /api/v1/health and GET /api/v1/leads?limit=20, each with a
per-request deadline. Used by ``tests/server/test_slow_clients.py`` and ``tests/benchmarks/bench_slow_clients.py``.
Every loop is bounded by the run's duration; everything is on loopback.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import statistics
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

TRICKLE_SECONDS = 0.5  # one byte per trickler this often


@dataclass
class Report:
    seconds: float
    probe_seconds: list[float] = field(default_factory=list)  # every answered call, in order
    probe_failures: list[str] = field(default_factory=list)  # refused, timed out, slow or not 200
    closed_by_server: Counter[str] = field(default_factory=Counter)  # kind of slow client -> closes
    body_answers: Counter[str] = field(default_factory=Counter)  # "408 request_timeout" -> count
    connect_failures: Counter[str] = field(default_factory=Counter)

    def percentile_ms(self, share: float) -> float:
        ordered = sorted(self.probe_seconds)
        if not ordered:
            return float("nan")
        return ordered[min(len(ordered) - 1, int(share * len(ordered)))] * 1000

    def summary(self) -> dict[str, object]:
        return {
            "seconds": round(self.seconds, 1),
            "probes": len(self.probe_seconds),
            "probe_failures": len(self.probe_failures),
            "p50_ms": round(self.percentile_ms(0.50), 2),
            "p99_ms": round(self.percentile_ms(0.99), 2),
            "max_ms": round(self.percentile_ms(1.0), 2),
            "mean_ms": round(statistics.fmean(self.probe_seconds) * 1000, 2) if self.probe_seconds else None,
            "closed_by_server": dict(self.closed_by_server),
            "body_answers": dict(self.body_answers),
            "connect_failures": dict(self.connect_failures),
        }


def run(
    port: int,
    token: str,
    seconds: float = 30,
    idle: int = 200,
    header_tricklers: int = 50,
    body_tricklers: int = 20,
    probe_deadline: float = 1.0,
    probe_every: float = 0.05,
) -> Report:
    """Hold the slow clients open for ``seconds`` while probing; return what was seen."""
    report = Report(seconds)
    started = threading.Event()
    stop = threading.Event()

    def pressure() -> None:
        asyncio.run(_pressure(port, token, seconds, idle, header_tricklers, body_tricklers, report, started))
        stop.set()

    slow = threading.Thread(target=pressure, name="slow-clients")
    slow.start()
    started.wait(seconds)
    try:
        _probe(port, token, probe_deadline, probe_every, report, stop)
    finally:
        slow.join(seconds + 30)
    return report


async def _pressure(
    port: int,
    token: str,
    seconds: float,
    idle: int,
    header_tricklers: int,
    body_tricklers: int,
    report: Report,
    started: threading.Event,
) -> None:
    deadline = time.monotonic() + seconds
    opened = asyncio.Event()
    remaining = [idle + header_tricklers + body_tricklers]

    def connected() -> None:
        remaining[0] -= 1
        if remaining[0] == 0:
            opened.set()

    head = b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\nX-Trickle: "
    post = (
        b"POST /api/v1/leads HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
        + token.encode()
        + b"\r\nContent-Type: application/json\r\nContent-Length: 4096\r\n\r\n"
    )
    clients = (
        [_slow_client(port, "idle", b"", False, deadline, report, connected) for _ in range(idle)]
        + [_slow_client(port, "header", head, True, deadline, report, connected) for _ in range(header_tricklers)]
        + [_slow_client(port, "body", post, True, deadline, report, connected) for _ in range(body_tricklers)]
    )
    tasks = [asyncio.ensure_future(client) for client in clients]
    try:
        await asyncio.wait_for(opened.wait(), timeout=seconds)
    except TimeoutError:
        pass
    started.set()
    await asyncio.gather(*tasks)


async def _slow_client(
    port: int, kind: str, first: bytes, trickle: bool, deadline: float, report: Report, connected: object
) -> None:
    """One slow client, reconnecting each time the server closes it, until the deadline."""
    first_time = True
    while time.monotonic() < deadline:
        try:
            reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), 5)
        except (OSError, TimeoutError) as error:
            report.connect_failures[f"{kind}: {type(error).__name__}"] += 1
            await asyncio.sleep(0.5)
            continue
        if first_time:
            first_time = False
            connected()  # type: ignore[operator]
        try:
            answer = await _hold(reader, writer, first, trickle, deadline)
        finally:
            writer.close()
        if answer is None:
            return  # the run ended with the connection still held
        report.closed_by_server[kind] += 1
        if kind == "body" and answer:
            report.body_answers[_describe(answer)] += 1


async def _hold(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, first: bytes, trickle: bool, deadline: float
) -> bytes | None:
    """Send ``first``, then a byte every so often; what the server sent before closing, or None."""
    try:
        writer.write(first)
        await writer.drain()
        while (left := deadline - time.monotonic()) > 0:
            try:
                data = await asyncio.wait_for(reader.read(65536), min(left, TRICKLE_SECONDS))
            except TimeoutError:
                if trickle:
                    writer.write(b"a")
                    await writer.drain()
                continue
            return data + await _rest(reader) if data else b""
    except (ConnectionError, OSError):
        return b""
    return None


async def _rest(reader: asyncio.StreamReader) -> bytes:
    try:
        return await asyncio.wait_for(reader.read(65536), 1)
    except (TimeoutError, ConnectionError, OSError):
        return b""


def _describe(answer: bytes) -> str:
    status_line, _, rest = answer.partition(b"\r\n")
    parts = status_line.split(b" ")
    status = parts[1].decode() if len(parts) > 1 else "?"
    _, _, body = rest.partition(b"\r\n\r\n")
    try:
        code = json.loads(body)["error"]["code"]
    except (ValueError, KeyError, TypeError):
        code = "no envelope"
    return f"{status} {code}"


def _probe(port: int, token: str, deadline_s: float, every: float, report: Report, stop: threading.Event) -> None:
    """The normal client: one call at a time, a fresh connection each, until the slow clients stop."""
    paths = ["/api/v1/health", "/api/v1/leads?limit=20"]
    count = 0
    end = time.monotonic() + report.seconds
    while not stop.is_set() and time.monotonic() < end:
        path = paths[count % 2]
        count += 1
        started = time.perf_counter()
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=deadline_s)
            connection.request("GET", path, headers={"Authorization": f"Bearer {token}"})
            response = connection.getresponse()
            response.read()
            connection.close()
            took = time.perf_counter() - started
            if response.status != 200:
                report.probe_failures.append(f"{path}: {response.status}")
            elif took > deadline_s:
                report.probe_failures.append(f"{path}: answered after {took:.2f} s")
            else:
                report.probe_seconds.append(took)
        except (OSError, http.client.HTTPException) as error:
            report.probe_failures.append(f"{path}: {type(error).__name__}: {error}")
        stop.wait(every)
