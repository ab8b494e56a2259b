"""What the client commands share: the control API client, the ``--url``/``--key``/``--json``
options, parameter types that fail in one clear line, and output helpers.

Client commands talk to a running sandbox over HTTP (httpx): ``--url`` (``EAL_SANDBOX_URL``,
default ``http://127.0.0.1:4010``; the ``serve`` banner's ``…/api/v1`` is accepted too) and
``--key`` (``EAL_SANDBOX_KEY``; default: the admin key of the first location, or of the network
for ``reset --world``, read from ``/_sandbox/keys``). Exit codes: 0 done, 1 the sandbox or
receiver said no, 2 bad input.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable, Iterable, Iterator
from typing import Any
from urllib.parse import urlsplit

import click
import httpx

DEFAULT_URL = "http://127.0.0.1:4010"
URL_ENV = "EAL_SANDBOX_URL"
KEY_ENV = "EAL_SANDBOX_KEY"
API_PREFIX = "/api/v1"
MAX_PAGES = 50  # a bound on following next_cursor (50 pages of 200 records)


def base_url(raw: str) -> str:
    """The sandbox's root URL from what a person types: ``host:port``, the root, or the banner's
    ``…/api/v1`` (the control API lives at the root, next to ``/api/v1``)."""
    text = raw.strip()
    if "://" not in text:
        text = "http://" + text
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"'{raw}' is not an http:// or https:// URL of a sandbox (like {DEFAULT_URL})")
    path = parts.path.rstrip("/")
    if path.endswith(API_PREFIX):
        path = path[: -len(API_PREFIX)]
    return f"{parts.scheme}://{parts.netloc}{path}"


class Control:
    """A small client of a running sandbox: the control plane (``/_sandbox/…``) and ``/api/v1``."""

    def __init__(self, url: str, key: str | None, *, network: bool = False) -> None:
        self.url = url.rstrip("/")
        self.http = httpx.Client(base_url=self.url, timeout=30.0, trust_env=False)
        self._key = key
        self._network = network

    @property
    def key(self) -> str:
        """The ``--key`` given, else the default admin key (looked up once, when first needed)."""
        if self._key is None:
            self._key = self._default_key()
        return self._key

    def _default_key(self) -> str:
        keys = self._send("GET", "/_sandbox/keys", keyed=False)["data"]
        admins = [key for key in keys if "admin" in key["scopes"]]
        wanted = [key for key in admins if (key.get("parent_organization_id") is None) == self._network]
        if not wanted:
            raise click.ClickException("the sandbox lists no suitable admin key; pass --key")
        chosen = wanted[0]  # the network's admin key for world-wide actions, else the first location's
        click.echo(
            f"(using the admin key of {chosen.get('organization_name') or chosen['organization_id']})",
            err=True,
        )
        return str(chosen["token"])

    def _send(self, method: str, path: str, *, keyed: bool | None = True, **kwargs: Any) -> Any:
        """``keyed``: True sends the key (the default one if none was given), None only a key given."""
        key = self.key if keyed else (self._key if keyed is None else None)
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        try:
            response = self.http.request(method, path, headers=headers, **kwargs)
        except httpx.HTTPError as error:
            raise click.ClickException(f"cannot reach the sandbox at {self.url}: {error}") from None
        if response.status_code == 204:
            return {}
        try:
            body = response.json() if "json" in response.headers.get("content-type", "") else None
        except ValueError:
            body = None
        if body is None:
            raise click.ClickException(
                f"{method} {self.url}{path} -> {response.status_code}, not the sandbox's JSON: is --url the "
                f"sandbox's base URL (like {DEFAULT_URL})?"
            )
        if response.status_code >= 400:
            raise click.ClickException(_problem(method, path, response.status_code, body))
        return body

    def get(self, path: str, **kwargs: Any) -> Any:
        return self._send("GET", path, **kwargs)

    def post(self, path: str, body: Any = None, *, keyed: bool | None = True) -> Any:
        return self._send("POST", path, keyed=keyed, json=body)

    def delete(self, path: str) -> Any:
        return self._send("DELETE", path)

    def pages(self, path: str, params: dict[str, Any] | None = None) -> Iterator[dict[str, Any]]:
        """Every record of a list, following ``next_cursor`` (bounded by MAX_PAGES)."""
        query = {**(params or {}), "limit": 200}
        for _ in range(MAX_PAGES):
            body = self.get(path, params=query)
            yield from body["data"]
            if not body.get("next_cursor"):
                return
            query["cursor"] = body["next_cursor"]


def _problem(method: str, path: str, status: int, body: Any) -> str:
    """One line from the error envelope: code, message and any field problem it does not name."""
    error = body.get("error", {}) if isinstance(body, dict) else {}
    message = str(error.get("message") or body)
    fields = (error.get("details") or {}).get("fields") or []
    extra = [f"{f['location']}: {f['message']}" for f in fields if f"{f['location']}: {f['message']}" not in message]
    return f"{method} {path} -> {status} {error.get('code', '')}: {message}" + "".join(f"; {e}" for e in extra)


# Options --------------------------------------------------------------------------------------


def _url_callback(ctx: click.Context, param: click.Parameter, value: str) -> str:
    try:
        return base_url(value)
    except ValueError as error:
        raise click.BadParameter(str(error), ctx=ctx, param=param) from None


def connection_options(function: Callable[..., Any]) -> Callable[..., Any]:
    """``--url`` and ``--key``, with their environment variables shown in ``-h``."""
    function = click.option(
        "--key",
        envvar=KEY_ENV,
        show_envvar=True,
        default=None,
        metavar="KEY",
        help="an eal_test_ key (default: the first location's admin key; the network's for reset --world)",
    )(function)
    return click.option(
        "--url",
        envvar=URL_ENV,
        show_envvar=True,
        default=DEFAULT_URL,
        show_default=True,
        metavar="URL",
        callback=_url_callback,
        help="the sandbox's base URL (the serve banner's …/api/v1 works too)",
    )(function)


def json_option(function: Callable[..., Any]) -> Callable[..., Any]:
    """``--json``: the API's answer as JSON, for scripts, instead of the human summary."""
    return click.option("--json", "as_json", is_flag=True, help="print the API's JSON answer instead")(function)


# Parameter types ------------------------------------------------------------------------------


def _event_types() -> tuple[str, ...]:
    from ..services.webhooks import EVENT_TYPES

    return tuple(EVENT_TYPES)


def _known_event(value: Any, fail: Callable[[str], Any]) -> str:
    known = _event_types()
    if value not in known:
        fail(f"'{value}' is not an event type; valid: {', '.join(known)}")
    return str(value)


class EventType(click.ParamType[str]):
    """One webhook event type; a wrong one is named with the valid ones, in one line."""

    name = "event"

    def get_metavar(self, param: click.Parameter, ctx: click.Context | None = None) -> str:
        return "EVENT"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        return _known_event(value, lambda message: self.fail(message, param, ctx))


class EventTypes(click.ParamType[list[str]]):
    """A comma-separated list of event types, or ``all``."""

    name = "events"

    def get_metavar(self, param: click.Parameter, ctx: click.Context | None = None) -> str:
        return "TYPE,…|all"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> list[str]:
        if isinstance(value, list):
            return value
        names = [name.strip() for name in str(value).split(",") if name.strip()]
        if names == ["all"]:
            return list(_event_types())
        if not names:
            self.fail(f"give event types separated by commas, or all; valid: {', '.join(_event_types())}", param, ctx)
        return [_known_event(name, lambda message: self.fail(message, param, ctx)) for name in dict.fromkeys(names)]


# What POST /_sandbox/clock/advance accepts (its pattern in openapi.yaml), said in words.
_SPEC_DURATION = re.compile(r"^(\d{1,4}(\.\d{1,3})?(ms|s|m|h|d|w)){1,4}$")
DURATION_FORM = "a number and a unit (ms, s, m, h, d, w), up to four parts: 90s, 5m, 24h, 7d, 1h30m"


class Duration(click.ParamType[str]):
    name = "duration"

    def get_metavar(self, param: click.Parameter, ctx: click.Context | None = None) -> str:
        return "DURATION"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        text = str(value).strip().lower()
        if not _SPEC_DURATION.fullmatch(text):
            self.fail(f"'{value}' is not a duration: write {DURATION_FORM}", param, ctx)
        return text


# Output ---------------------------------------------------------------------------------------


def show_json(body: Any) -> None:
    click.echo(json.dumps(body, indent=2))


def output(body: Any, as_json: bool, summary: Callable[[Any], Iterable[str]]) -> None:
    """The JSON answer for scripts, or the lines a person reads."""
    if as_json:
        show_json(body)
        return
    for line in summary(body):
        click.echo(line)


def table(headers: tuple[str, ...], rows: Iterable[tuple[Any, ...]]) -> list[str]:
    """Aligned columns (the last one is not padded)."""
    cells = [tuple(headers)] + [tuple("-" if cell is None else str(cell) for cell in row) for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    return ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in cells]


def scenario_or_exit(name_or_path: str) -> Any:
    """The loaded scenario, or its error on stderr and exit code 2."""
    from ..services.scenarios import ScenarioError, load

    try:
        return load(name_or_path)
    except ScenarioError as error:
        click.echo(str(error), err=True)
        sys.exit(2)
