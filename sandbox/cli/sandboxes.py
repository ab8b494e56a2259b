"""``eal-sandbox sandboxes``: mint an isolated sandbox, show the key's sandbox, delete it.

``create`` needs no key (``POST /_sandbox/sandboxes``) and prints the new keys once; ``show`` and
``delete`` act on the sandbox of ``--key`` (``delete`` takes its network's admin key).
"""

from __future__ import annotations

from typing import Any

import click

from .common import Control, Duration, connection_options, json_option, output, table


def _keys(body: dict[str, Any]) -> list[str]:
    rows = (
        (
            key.get("token", "(hidden)"),
            ",".join(key["scopes"]),
            key.get("organization_name") or "",
            "network" if key.get("parent_organization_id") is None else "location",
        )
        for key in body["keys"]
    )
    return table(("TOKEN", "SCOPES", "ORGANIZATION", "LEVEL"), rows)


def _lifetime(body: dict[str, Any]) -> str:
    expires = body["expires_at"] or "never (the start-up sandbox)"
    return f"sandbox {body['id']}  seed {body['seed']}  {body['leads_per_org']} leads per location  expires {expires}"


@click.group()
def sandboxes() -> None:
    """Mint isolated sandboxes (one per CI job or test), show or delete the key's sandbox."""


@sandboxes.command("create")
@click.option("--seed", type=click.IntRange(0, 2**31 - 1), default=None, help="world seed (default: the server's)")
@click.option("--ttl", type=Duration(), default=None, help="idle lifetime, 1m to 7d (default 2h)")
@click.option("--leads-per-org", type=click.IntRange(1, 1000), default=None)
@click.option("--scenario", default=None, metavar="NAME", help="a shipped scenario, in force for every organization")
@connection_options
@json_option
def sandboxes_create(
    seed: int | None,
    ttl: str | None,
    leads_per_org: int | None,
    scenario: str | None,
    url: str,
    key: str | None,
    as_json: bool,
) -> None:
    """Mint a sandbox and print its keys (shown this once; --json for scripts)."""
    options = {"seed": seed, "ttl": ttl, "leads_per_org": leads_per_org, "scenario": scenario}
    chosen = {name: value for name, value in options.items() if value is not None}
    body = Control(url, key).post("/_sandbox/sandboxes", chosen, keyed=False)

    def summary(body: dict[str, Any]) -> list[str]:
        admin = next(k["token"] for k in body["keys"] if k["parent_organization_id"] and "admin" in k["scopes"])
        return [_lifetime(body), *_keys(body), "", f"export EAL_SANDBOX_KEY={admin}   # a location's admin key"]

    output(body, as_json, summary)


@sandboxes.command("show")
@connection_options
@json_option
def sandboxes_show(url: str, key: str | None, as_json: bool) -> None:
    """The key's sandbox: id, seed, lifetime and keys (without tokens)."""
    output(Control(url, key).get("/_sandbox/sandboxes/current"), as_json, lambda body: [_lifetime(body), *_keys(body)])


@sandboxes.command("delete")
@connection_options
@json_option
def sandboxes_delete(url: str, key: str | None, as_json: bool) -> None:
    """Delete the key's sandbox (its network's admin key): every key of it stops working."""
    control = Control(url, key, network=True)
    sandbox_id = control.get("/_sandbox/sandboxes/current")["id"]
    control.delete("/_sandbox/sandboxes/current")
    output({"deleted": sandbox_id}, as_json, lambda body: [f"deleted sandbox {body['deleted']}"])
