"""The ``eal-sandbox`` command group: every command is defined in its own module and added here."""

from __future__ import annotations

import click

from . import control, serve


@click.group()
def main() -> None:
    """EAL Sandbox: the test-mode server of the Expert AI Labs v1 API."""


for command in (serve.serve, serve.keys, control.clock, control.reset, control.trigger, control.scenarios,
                control.journal, control.check_receiver):
    main.add_command(command)

if __name__ == "__main__":
    main()
