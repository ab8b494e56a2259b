"""``eal-sandbox serve``: its flags reach the app it serves (the HTTP server itself is not started here)."""

from __future__ import annotations

from typing import Any

import pytest
from click.testing import CliRunner

import sandbox.server
from sandbox.base.settings import Settings
from sandbox.cli import main
from sandbox.web.app import sandbox_of


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """Run ``serve``, but load the app in-process instead of serving it."""
    seen: dict[str, Any] = {}

    def fake_server(load_app: Any, host: str, port: int, threads: int = 4) -> None:
        seen.update(app=load_app(port), host=host, port=port, threads=threads)

    monkeypatch.setattr(sandbox.server, "serve", fake_server)
    return seen


def test_serve_prints_the_base_url_and_keys_and_applies_its_flags(served: dict[str, Any]) -> None:
    result = CliRunner().invoke(main, ["serve", "--port", "4999", "--seed", "7", "--rate-limit", "90",
                                       "--leads-per-org", "3", "--threads", "2",
                                       "--cors-origins", "https://app.example"])
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
