"""``eal-sandbox check-receiver``: send signed, forged, stale and altered deliveries to a webhook
receiver and print each verdict as it comes (the checks are in ``sandbox.receiver_check``)."""

from __future__ import annotations

import json
import sys

import click

SECRET_ENV = "EAL_WEBHOOK_SECRET"


def _url(ctx: click.Context, param: click.Parameter, value: str) -> str:
    from .receiver_check import check_url

    try:
        return check_url(value)
    except ValueError as error:
        raise click.BadParameter(str(error), ctx=ctx, param=param) from None


@click.command("check-receiver")
@click.argument("url", callback=_url)
@click.option(
    "--secret",
    required=True,
    envvar=SECRET_ENV,
    show_envvar=True,
    metavar="WHSEC",
    help="the receiver's whsec_ signing secret",
)
@click.option(
    "--timeout", default=5.0, show_default=True, type=click.FloatRange(0.1, 60), help="seconds to wait for each answer"
)
@click.option("--json", "as_json", is_flag=True, help="print the results as JSON (progress goes to stderr)")
def check_receiver(url: str, secret: str, timeout: float, as_json: bool) -> None:
    """Send nine deliveries to the receiver at URL and judge each answer; exit 1 on any FAIL.

    A correct receiver accepts a valid delivery, one re-spaced but signed over its bytes, and one
    whose secret is only in X-EAL-Signature-Previous (a rotation); it refuses (4xx) a forged
    signature, a timestamp 10 minutes old or ahead, a replayed event id, an altered body and
    missing signature headers. If the valid delivery is refused, the rest are SKIP."""
    from .receiver_check import header, row_end, row_start, run_checks, summary, totals

    for line in header():
        click.echo(line, err=as_json)
    results = []
    for result in run_checks(
        url, secret, timeout=timeout, on_start=lambda check: click.echo(row_start(check), nl=False, err=as_json)
    ):
        click.echo(row_end(result), err=as_json)
        results.append(result)
    click.echo(f"\n{totals(results)}", err=as_json)
    if as_json:
        click.echo(json.dumps(summary(results), indent=2))
    if not all(result.passed for result in results):
        sys.exit(1)
