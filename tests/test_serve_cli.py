"""``eal-sandbox serve``: its flags reach the app it serves (the HTTP server itself is not started here)."""

from __future__ import annotations

from typing import Any

import pytest
from click.testing import CliRunner

import sandbox.server
from sandbox.base.settings import HOSTED_DEFAULTS, Settings
from sandbox.cli import main
from sandbox.web.app import sandbox_of


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """Run ``serve``, but load the app in-process instead of serving it."""
    seen: dict[str, Any] = {}

    def fake_server(
        load_app: Any, host: str, port: int, threads: int = 4, workers: int = 1, concurrent: bool = False
    ) -> int:
        seen.update(app=load_app(port, True), host=host, port=port, threads=threads, workers=workers)
        return 0

    monkeypatch.setattr(sandbox.server, "serve", fake_server)
    return seen


def test_serve_prints_the_base_url_and_keys_and_applies_its_flags(served: dict[str, Any]) -> None:
    result = CliRunner().invoke(
        main,
        [
            "serve",
            "--port",
            "4999",
            "--seed",
            "7",
            "--rate-limit",
            "90",
            "--leads-per-org",
            "3",
            "--threads",
            "2",
            "--cors-origins",
            "https://app.example",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "listening on http://127.0.0.1:4999/api/v1  (seed 7)" in result.output
    assert result.output.count("eal_test_") == 12
    assert (served["port"], served["threads"]) == (4999, 2 + Settings.STREAMS_MAX)  # a thread per stream on top
    app = served["app"]
    settings = sandbox_of(app).settings
    assert (settings.SEED, settings.RATE_LIMIT, settings.LEADS_PER_ORG) == (7, 90, 3)
    client = app.test_client()
    allowed = client.get("/api/v1/health", headers={"Origin": "https://app.example"})
    assert allowed.headers["Access-Control-Allow-Origin"] == "https://app.example"
    refused = client.get("/api/v1/health", headers={"Origin": "https://elsewhere.example"})
    assert "Access-Control-Allow-Origin" not in refused.headers


def test_serve_with_a_scenario_puts_it_in_force(served: dict[str, Any]) -> None:
    result = CliRunner().invoke(main, ["serve", "--leads-per-org", "3", "--scenario", "rate-limit"])
    assert result.exit_code == 0, result.output
    assert "Scenario 'rate-limit' in force for every organization" in result.output
    token = next(line.split()[0] for line in result.output.splitlines() if line.strip().startswith("eal_test_"))
    response = served["app"].test_client().get("/api/v1/leads", headers={"Authorization": f"Bearer {token}"})
    assert int(response.headers["X-RateLimit-Limit"]) < 6000


def test_serve_hosted_prints_no_key_and_takes_the_hosted_defaults(served: dict[str, Any]) -> None:
    result = CliRunner().invoke(
        main,
        ["serve", "--hosted", "--trusted-proxies", "10.0.0.0/8,127.0.0.1", "--leads-per-org", "3"],
        env={"EAL_SANDBOX_HOSTED": None},
    )
    assert result.exit_code == 0, result.output
    assert "eal_test_" not in result.output and "Hosted: no key is public" in result.output
    settings = sandbox_of(served["app"]).settings
    assert settings.HOSTED and settings.TRUSTED_PROXIES == "10.0.0.0/8,127.0.0.1"
    # --rate-limit and --max-streams were not given: the hosted defaults hold, not the flags' local ones.
    assert settings.RATE_LIMIT == HOSTED_DEFAULTS["RATE_LIMIT"]
    assert settings.STREAMS_MAX == HOSTED_DEFAULTS["STREAMS_MAX"]
    assert served["threads"] == 4 + HOSTED_DEFAULTS["STREAMS_MAX"]
    assert served["app"].test_client().get("/_sandbox/keys").status_code == 404
    given = CliRunner().invoke(main, ["serve", "--hosted", "--rate-limit", "50", "--leads-per-org", "3"])
    assert given.exit_code == 0, given.output
    assert sandbox_of(served["app"]).settings.RATE_LIMIT == 50  # a flag given still wins


def test_serve_hosted_from_the_environment(served: dict[str, Any]) -> None:
    result = CliRunner().invoke(
        main,
        ["serve", "--leads-per-org", "3"],
        env={"EAL_SANDBOX_HOSTED": "true", "EAL_SANDBOX_TRUSTED_PROXIES": "127.0.0.1"},
    )
    assert result.exit_code == 0, result.output
    settings = sandbox_of(served["app"]).settings
    assert settings.HOSTED and settings.TRUSTED_PROXIES == "127.0.0.1" and "eal_test_" not in result.output
