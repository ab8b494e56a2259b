"""The ``eal-sandbox`` command group. Each command lives in its own module and is added here:
``serve`` (serve, keys), ``control`` (clock, reset, trigger, journal), ``scenarios``,
``webhooks``, ``events``, ``listen`` and ``receiver`` (check-receiver). A new client command is
one more module using ``common.connection_options`` and one more entry in COMMANDS.

Every command takes ``-h``/``--help`` and ``--version``; every usage mistake is one line on
stderr (exit 2) that names the command's help, instead of click's usage block."""

from __future__ import annotations

from importlib import metadata
from typing import Any

import click

from . import control, events, listen, receiver, sandboxes, scenarios, serve, webhooks
from .common import KEY_ENV, URL_ENV

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 110}


def version() -> str:
    try:
        return metadata.version("eal-sandbox")
    except metadata.PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown (not installed)"


class OneLineUsageError(click.UsageError):
    """A usage error shown as one line: ``Error: … (see 'eal-sandbox trigger -h')``."""

    def __init__(self, error: click.UsageError) -> None:
        super().__init__(error.format_message(), error.ctx)

    def show(self, file: Any = None) -> None:
        hint = f" (see '{self.ctx.command_path} -h')" if self.ctx is not None else ""
        message = " ".join(self.format_message().split())  # click's messages may wrap
        click.echo(f"Error: {message}{hint}", file=file, err=file is None)


class Cli(click.Group):
    """The top-level group: turns every usage error below it into OneLineUsageError."""

    def make_context(
        self, info_name: str | None, args: list[str], parent: click.Context | None = None, **extra: Any
    ) -> click.Context:
        try:
            return super().make_context(info_name, args, parent, **extra)
        except click.exceptions.NoArgsIsHelpError:
            raise
        except click.UsageError as error:
            raise OneLineUsageError(error) from None

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.exceptions.NoArgsIsHelpError, OneLineUsageError):
            raise
        except click.UsageError as error:
            raise OneLineUsageError(error) from None


@click.group(
    "eal-sandbox",
    cls=Cli,
    context_settings=CONTEXT,
    epilog=f"Client commands read {URL_ENV} (--url) and {KEY_ENV} (--key). Exit codes: 0 done, "
    "1 the sandbox or receiver said no, 2 bad input.",
)
@click.version_option(version(), "--version", prog_name="eal-sandbox", message="%(prog)s %(version)s")
def main() -> None:
    """EAL Sandbox: the test-mode server of the Expert AI Labs v1 API."""


COMMANDS: tuple[click.Command, ...] = (
    serve.serve,
    serve.keys,
    control.clock,
    control.reset,
    control.trigger,
    scenarios.scenarios,
    sandboxes.sandboxes,
    control.journal,
    webhooks.webhooks,
    events.events,
    listen.listen,
    receiver.check_receiver,
)


def _with_version(command: click.Command) -> None:
    """Give ``command`` (and, for a group, every command under it) a ``--version`` option."""
    click.version_option(version(), "--version", prog_name="eal-sandbox", message="%(prog)s %(version)s")(command)
    for sub in getattr(command, "commands", {}).values():
        _with_version(sub)


for command in COMMANDS:
    _with_version(command)
    main.add_command(command)

if __name__ == "__main__":
    main()
