"""Scenario files: every shipped one loads; a bad one fails with file, line, key path and reason."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from sandbox.cli import main
from sandbox.services.scenarios import ScenarioError, available, load, parse

SHIPPED = ["claim-lifecycle", "flaky-api", "rate-limit", "secret-rotation", "storm-night", "webhook-replay"]


def test_the_six_scenarios_of_the_issue_ship_and_load() -> None:
    assert set(SHIPPED) <= set(available())
    for name in SHIPPED:
        assert load(name).name == name


@pytest.mark.parametrize(
    ("text", "line", "location", "message"),
    [
        ("version: 1\nname: x\n", 1, "(top level)", '"description" is a required property'),
        (
            "version: 1\nname: x\ndescription: d\nbehaviour:\n  rate_limit:\n    limit: 0\n",
            6,
            "behaviour.rate_limit.limit",
            "0 is less than the minimum of 1",
        ),
        (
            "version: 1\nname: x\ndescription: d\nbehaviour:\n  faults:\n    - status: 418\n      every: 2\n",
            6,
            "behaviour.faults[0].status",
            "418 is not one of: 400, 401",
        ),
        (
            "version: 1\nname: x\ndescription: d\nbehaviour:\n  faults:\n    - status: 503\n",
            6,
            "behaviour.faults[0]",
            "needs exactly one of every, first, probability",
        ),
        (
            "version: 1\nname: x\ndescription: d\nbehaviour:\n  latency:\n"
            "    - operations: [no_such_op]\n      ms: 5\n",
            6,
            "behaviour.latency[0].operations[0]",
            "matches no operationId in openapi.yaml",
        ),
        (
            "version: 1\nname: x\ndescription: d\ntimeline:\n  - trigger: call.exploded\n",
            5,
            "timeline[0].trigger",
            "'call.exploded' is not one of: call.received",
        ),
        (
            "version: 1\nname: x\ndescription: d\ntimeline:\n  - advance: 1 day\n",
            5,
            "timeline[0].advance",
            "'1 day' is not a duration: write a number and a unit (ms, s, m, h, d, w), like 90s, 5m",
        ),
        (
            "version: 1\nname: x\ndescription: d\ntimeline:\n  - sleep: 5m\n",
            5,
            "timeline[0]",
            "a step needs exactly one of trigger, create, replay",
        ),
        (
            "version: 1\nname: x\ndescription: d\ntimeline:\n  - wait: 5m\n  - advance: 1h\n",
            6,
            "timeline[1]",
            "cannot follow a wait",
        ),
        ("version: 1\nname: x\ndescription: d\nsurprise: 1\n", 1, "(top level)", "'surprise' was unexpected"),
        ("version: 1\nname: [unclosed\n", 3, "(top level)", "not valid YAML"),
    ],
)
def test_a_bad_scenario_names_the_line_key_and_problem(text: str, line: int, location: str, message: str) -> None:
    with pytest.raises(ScenarioError) as caught:
        parse(text, "mine.yaml")
    rendered = str(caught.value)
    assert rendered.startswith("mine.yaml: invalid scenario")
    assert f"line {line}, {location}: " in rendered and message in rendered, rendered


def test_every_problem_is_reported_at_once() -> None:
    text = "version: 2\nname: Bad Name\ndescription: d\ntimeline:\n  - trigger: nope\n    count: 0\n"
    with pytest.raises(ScenarioError) as caught:
        parse(text, "mine.yaml")
    assert len(caught.value.problems) == 4


def test_the_cli_prints_the_problems_and_exits_2_without_a_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: 1\nname: bad\ndescription: d\nbehaviour:\n  faults:\n    - status: 503\n      every: 0\n")
    for args in (["scenarios", "validate", str(bad)], ["serve", "--scenario", str(bad)]):
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 2
        assert f"{bad}: invalid scenario" in result.output
        assert "line 7, behaviour.faults[0].every: 0 is less than the minimum of 1" in result.output
        assert "Traceback" not in result.output


def test_unknown_names_and_missing_files_are_clear() -> None:
    with pytest.raises(ScenarioError, match="available: .*rate-limit"):
        load("no-such-scenario")
    with pytest.raises(ScenarioError, match="no such file"):
        load("./nowhere/storm.yaml")
    result = CliRunner().invoke(main, ["scenarios", "validate", "rate-limit"])
    assert result.exit_code == 0 and "valid scenario 'rate-limit'" in result.output
