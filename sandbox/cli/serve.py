"""``eal-sandbox serve`` and ``eal-sandbox keys``: commands that build a sandbox in this process."""

from __future__ import annotations

import os
import sys
from typing import Any

import click
from click.core import ParameterSource

from ..base.settings import HOSTED_DEFAULTS, Settings, settings_from_environ
from .common import scenario_or_exit

DEFAULT_PORT = 4010


def _print_keys(keys: list[dict[str, Any]], names: dict[str, str]) -> None:
    click.echo("API keys (Authorization: Bearer <token>):")
    for key in keys:
        org = names.get(key["organization_id"], key["organization_id"])
        click.echo(f"  {key['token']}  {','.join(key['scopes']):<16} {org}")


def _world_names(sandbox: Any) -> dict[str, str]:
    return {org["id"]: org["name"] for org in sandbox.store.scan("organization")}


def _settings(context: click.Context, flags: dict[str, tuple[str, Any]]) -> dict[str, Any]:
    """Every ``EAL_SANDBOX_<SETTING>`` of the environment, then the flags given (a flag given wins; a
    flag's default only fills a setting the environment leaves out, and not one ``--hosted`` defaults)."""
    try:
        config = settings_from_environ(os.environ)
    except ValueError as error:
        raise click.UsageError(str(error)) from None
    defaulted: set[str] = set()
    for setting, (parameter, value) in flags.items():
        given = context.get_parameter_source(parameter) not in (ParameterSource.DEFAULT, None)
        if given or setting not in config:
            config[setting] = value
            if not given:
                defaulted.add(setting)
    if config.get("HOSTED"):  # a hosted server's own defaults win over the flags' local ones
        for setting in defaulted & HOSTED_DEFAULTS.keys():
            del config[setting]
    return config


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=DEFAULT_PORT, show_default=True, type=int)
@click.option("--seed", default=Settings.SEED, show_default=True, type=int)
@click.option(
    "--rate-limit", default=Settings.RATE_LIMIT, show_default=True, type=int, help="requests per key per minute"
)
@click.option("--leads-per-org", default=Settings.LEADS_PER_ORG, show_default=True, type=int)
@click.option(
    "--threads",
    default=4,
    show_default=True,
    type=click.IntRange(min=1),
    help="threads that may run the app: one does, the others step in while it waits",
)
@click.option(
    "--cors-origins",
    default=Settings.CORS_ORIGINS,
    show_default=True,
    metavar="ORIGINS",
    help="origins browsers may call from: * or a comma-separated list",
)
@click.option(
    "--scenario",
    default=None,
    metavar="NAME|PATH",
    help="put a scenario in force for every organization and play its timeline",
)
@click.option(
    "--store",
    default=Settings.STORE,
    show_default=True,
    envvar="EAL_SANDBOX_STORE",
    show_envvar=True,
    metavar="memory|redis://HOST:PORT/DB",
    help="where sandboxes live: this process's memory, or a Redis that any number of sandbox "
    "processes share (fleet mode; redis-cluster://HOST:PORT for a Redis Cluster)",
)
@click.option(
    "--workers",
    default=1,
    show_default=True,
    type=click.IntRange(1, 64),
    help="server processes on the one port (fleet store only: an in-memory world lives in one process)",
)
@click.option(
    "--hosted",
    is_flag=True,
    default=False,
    help="a server anyone can reach: no public keys (/_sandbox/keys is 404), each docs visitor "
    'mints a sandbox, the hosted quotas (README "Hosting")  [env var: EAL_SANDBOX_HOSTED]',
)
@click.option(
    "--trusted-proxies",
    default=Settings.TRUSTED_PROXIES,
    metavar="ADDRESSES",
    help="addresses or CIDR ranges (comma-separated) whose X-Forwarded-For names the client  "
    "[env var: EAL_SANDBOX_TRUSTED_PROXIES; default: none]",
)
@click.option(
    "--max-streams",
    default=Settings.STREAMS_MAX,
    show_default=True,
    type=click.IntRange(1, 1000),
    help="event streams open at once (eal-sandbox listen, /docs/webhooks); each gets a thread of its own",
)
@click.option(
    "--stream-lifetime",
    default=Settings.STREAM_LIFETIME,
    show_default=True,
    type=click.FloatRange(0.1, 86400),
    metavar="SECONDS",
    help="how long one event stream lasts before its client resumes it",
)
def serve(
    host: str,
    port: int,
    seed: int,
    rate_limit: int,
    leads_per_org: int,
    threads: int,
    cors_origins: str,
    scenario: str | None,
    store: str,
    workers: int,
    hosted: bool,
    trusted_proxies: str,
    max_streams: int,
    stream_lifetime: float,
) -> None:
    """Run the sandbox on granian's HTTP core and print its base URL and keys."""
    from ..server import ServeError
    from ..server import serve as run_server
    from ..web.app import create_app, runtime_of

    chosen = scenario_or_exit(scenario) if scenario else None
    config = _settings(
        click.get_current_context(),
        {
            "SEED": ("seed", seed),
            "RATE_LIMIT": ("rate_limit", rate_limit),
            "LEADS_PER_ORG": ("leads_per_org", leads_per_org),
            "CORS_ORIGINS": ("cors_origins", cors_origins),
            "STREAMS_MAX": ("max_streams", max_streams),
            "STREAM_LIFETIME": ("stream_lifetime", stream_lifetime),
            "STORE": ("store", store),
            "HOSTED": ("hosted", hosted),
            "TRUSTED_PROXIES": ("trusted_proxies", trusted_proxies),
        },
    )
    seed = config["SEED"]
    streams = Settings.from_mapping(config).STREAMS_MAX
    if workers > 1 and config["STORE"] == "memory":
        raise click.UsageError(
            f"--workers {workers} needs a fleet store (--store redis://HOST:PORT/DB): "
            "an in-memory world lives in one process"
        )
    _check_store(config["STORE"])

    def load_app(bound_port: int, announce: bool) -> Any:
        app = create_app(config)
        if not announce:
            return app
        runtime = runtime_of(app)
        sandbox = runtime.sandbox
        click.echo(f"EAL Sandbox listening on http://{host}:{bound_port}/api/v1  (seed {seed})")
        click.echo(f"Spec: http://{host}:{bound_port}/openapi.yaml")
        if workers > 1:
            click.echo(f"Workers: {workers} processes on this port, sharing the store {_shown(config['STORE'])}")
        if chosen is not None:
            run = runtime.control.scenarios.start(sandbox, chosen, None, base_url=f"http://{host}:{bound_port}")
            click.echo(
                f"Scenario '{chosen.name}' in force for every organization "
                f"(timeline: {run.state}, {run.next_step}/{len(chosen.timeline)} steps)"
            )
        if sandbox.settings.HOSTED:  # no key is printed either: a server's output ends up in logs
            click.echo(
                f"Hosted: no key is public; each visitor mints a sandbox of their own "
                f"(POST /_sandbox/sandboxes, or http://{host}:{bound_port}/docs)"
            )
        else:
            _print_keys(sandbox.world.keys, _world_names(sandbox))
        sys.stdout.flush()
        return app

    try:
        code = run_server(
            load_app,
            host,
            port,
            threads + streams,
            workers=workers,  # streams: threads of their own
            concurrent=config["STORE"] != "memory",
        )  # a fleet's requests wait on Redis
    except ServeError as error:
        click.echo(f"eal-sandbox serve: {error}", err=True)
        sys.exit(2)
    sys.exit(code)


def _check_store(url: str) -> None:
    """A store that cannot be reached (or named) is one line and exit code 2, before the port is bound."""
    if url == "memory":
        return
    import redis

    from ..composition.fleet import connect

    try:
        client = connect(url)
        try:
            client.ping()
        finally:
            client.close()
    except (ValueError, redis.RedisError, redis.exceptions.RedisClusterException) as error:
        click.echo(f"eal-sandbox serve: cannot use the store {_shown(url)}: {error}", err=True)
        sys.exit(2)


def _shown(url: str) -> str:
    """A store URL without its password."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if parts.password is None:
        return url
    return url.replace(f":{parts.password}@", ":***@", 1)


@click.command()
@click.option("--seed", default=Settings.SEED, show_default=True, type=int)
def keys(seed: int) -> None:
    """Print the seeded API keys of a world."""
    from ..web.app import create_app, sandbox_of

    sandbox = sandbox_of(create_app({"SEED": seed, "LEADS_PER_ORG": 1}))
    _print_keys(sandbox.world.keys, _world_names(sandbox))
