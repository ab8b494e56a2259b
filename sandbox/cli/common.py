"""What the client commands share: the control API client, ``--url``/``--key`` and scenario loading.

Client commands talk to the control API over HTTP (httpx): ``--url`` (default
``http://127.0.0.1:4010``, or ``EAL_SANDBOX_URL``) and ``--key`` (or ``EAL_SANDBOX_KEY``; default:
the admin key of the first location, or of the network for ``reset --world``, read from
``/_sandbox/keys``). Exit codes: 0 done, 1 the sandbox or receiver said no, 2 bad input.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Any

import click
import httpx

DEFAULT_URL = "http://127.0.0.1:4010"



class Control:
    """A small client of the sandbox control API."""

    def __init__(self, url: str, key: str | None, *, network: bool = False) -> None:
        self.url = url.rstrip("/")
        self.http = httpx.Client(base_url=self.url, timeout=30.0, trust_env=False)
        self.key = key or self._default_key(network)

    def _default_key(self, network: bool) -> str:
        keys = self._send("GET", "/_sandbox/keys", keyed=False)["data"]
        admins = [key for key in keys if "admin" in key["scopes"]]
        wanted = [key for key in admins if (key.get("parent_organization_id") is None) == network]
        if not wanted:
            raise click.ClickException("the sandbox lists no suitable admin key; pass --key")
        chosen = wanted[0]  # the network's admin key for world-wide actions, else the first location's
        click.echo(
            f"(using the admin key of {chosen.get('organization_name') or chosen['organization_id']})",
            err=True,
        )
        return str(chosen["token"])

    def _send(self, method: str, path: str, *, keyed: bool = True, **kwargs: Any) -> Any:
        headers = {"Authorization": f"Bearer {self.key}"} if keyed else {}
        try:
            response = self.http.request(method, path, headers=headers, **kwargs)
        except httpx.HTTPError as error:
            raise click.ClickException(f"cannot reach the sandbox at {self.url}: {error}") from None
        body = (
            response.json() if response.headers.get("content-type", "").startswith("application/json") else {}
        )
        if response.status_code >= 400:
            problem = body.get("error", {}) if isinstance(body, dict) else {}
            message = problem.get("message") or response.text[:300]
            fields = (problem.get("details") or {}).get("fields") or []
            extra = "".join(f"\n  {f['location']}: {f['message']}" for f in fields)
            raise click.ClickException(
                f"{method} {path} -> {response.status_code} {problem.get('code', '')}: {message}{extra}"
            )
        return body

    def get(self, path: str, **kwargs: Any) -> Any:
        return self._send("GET", path, **kwargs)

    def post(self, path: str, body: Any = None) -> Any:
        return self._send("POST", path, json=body)

    def delete(self, path: str) -> Any:
        return self._send("DELETE", path)


def connection_options(function: Callable[..., Any]) -> Callable[..., Any]:
    function = click.option(
        "--key",
        envvar="EAL_SANDBOX_KEY",
        default=None,
        help="an eal_test_ key (default: the first location's admin key; the network's for reset --world)",
    )(function)
    return click.option(
        "--url",
        envvar="EAL_SANDBOX_URL",
        default=DEFAULT_URL,
        show_default=True,
        help="the sandbox's base URL",
    )(function)


def show_json(body: Any) -> None:
    click.echo(json.dumps(body, indent=2))


def scenario_or_exit(name_or_path: str) -> Any:
    """The loaded scenario, or its error on stderr and exit code 2."""
    from ..services.scenarios import ScenarioError, load

    try:
        return load(name_or_path)
    except ScenarioError as error:
        click.echo(str(error), err=True)
        sys.exit(2)
