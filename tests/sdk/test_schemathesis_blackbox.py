"""schemathesis, black-box, as a partner runs it: the ``st`` command against a started sandbox's
served documents over HTTP, ``--checks all``, every phase (examples, coverage, fuzzing and the
stateful phase that follows the spec's links). Each document gets a fresh server.

A finding passes only if it is one of ``KNOWN`` (the README's "Conformance" section lists them,
with their reasons): a documented answer to a request no schema can rule out. Any other failure,
and any error, fails the test. The figures of each run go to
``tests/artifacts/schemathesis-blackbox-<document>.json``.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.sdk.conftest import SDK_DIR, VENV_BIN, started_sandbox, tool_env

ARTIFACTS = SDK_DIR.parent / "artifacts"
MAX_EXAMPLES = 10
METHODS = {"GET", "POST", "PUT", "PATCH", "DELETE"}
Response = dict[str, Any]


def error_of(response: Response) -> dict[str, Any]:
    try:
        return dict(json.loads(base64.b64decode(response["content"]["$base64"])).get("error") or {})
    except (KeyError, ValueError, AttributeError):
        return {}


def field_rules(response: Response) -> set[str]:
    return {str(f.get("rule")) for f in (error_of(response).get("details") or {}).get("fields") or []}


@dataclass(frozen=True)
class Known:
    """A finding the README explains: this check, on these operations, with this answer."""

    name: str
    check: str
    operations: Callable[[str], bool]
    answer: Callable[[Response], bool]

    def covers(self, check: str, label: str, response: Response) -> bool:
        return check == self.check and self.operations(label) and self.answer(response)


def semantic_400(*rules: str) -> Callable[[Response], bool]:
    """A 400 ``validation_error`` whose every field problem is one of these documented rules."""
    return lambda response: (
        response["status_code"] == 400
        and error_of(response).get("code") == "validation_error"
        and bool(field_rules(response))
        and field_rules(response) <= set(rules)
    )


def only(*labels: str) -> Callable[[str], bool]:
    return lambda label: label in labels


KNOWN = [
    # A schema-valid cursor the sandbox never issued: a documented 400 invalid_cursor, on every list.
    Known(
        "random cursor",
        "positive_data_acceptance",
        lambda label: label.startswith("GET "),
        lambda response: response["status_code"] == 400 and error_of(response).get("code") == "invalid_cursor",
    ),
    # The SSRF guard: a webhook URL's host must resolve, and only to public (or loopback) addresses.
    Known("webhook endpoint", "positive_data_acceptance", only("POST /api/v1/webhooks"), semantic_400("endpoint")),
    # A grant goes to the organization's own parent: any other parent_organization_id is refused.
    Known(
        "grant parent",
        "positive_data_acceptance",
        only("POST /api/v1/organizations/{id}/grants"),
        semantic_400("parent"),
    ),
    # A review names scope items of that claim (the seed's scope_a1… are not on a generated claim).
    Known(
        "scope item of the claim",
        "positive_data_acceptance",
        only("POST /api/v1/claims/{id}/review"),
        semantic_400("exists"),
    ),
    # A sandbox's ttl is a duration string from 1m to 7d: the bounds are in its description, not its pattern.
    Known("sandbox ttl bounds", "positive_data_acceptance", only("POST /_sandbox/sandboxes"), semantic_400("range")),
    # An inline scenario is checked by the scenario loader (globs must match operationIds, …).
    Known(
        "scenario loader", "positive_data_acceptance", only("POST /_sandbox/scenarios/active"), semantic_400("scenario")
    ),
]


def run_schemathesis(path: str, name: str, tmp_path: Path, hooks: str | None = None) -> dict[str, Any]:
    """Start a sandbox, run ``st`` on one served document, and summarize the NDJSON events."""
    events = tmp_path / f"{name}.ndjson"
    # An event stream lasts as long as its lifetime: a short one, so each generated call to it ends.
    with started_sandbox("--stream-lifetime", "0.2") as served:
        env = {
            **tool_env(),
            "EAL_ADMIN_KEY": served.admin_key,
            "EAL_PARENT_ADMIN_KEY": served.parent_admin_key,
            "PYTHONPATH": str(SDK_DIR.parent.parent),
        }
        if hooks:
            env["SCHEMATHESIS_HOOKS"] = hooks
        command = [
            str(VENV_BIN / "st"),
            "--config-file",
            str(SDK_DIR / "schemathesis.toml"),
            "run",
            f"{served.base_url}{path}",
            "--checks",
            "all",
            "--max-examples",
            str(MAX_EXAMPLES),
            "--phases",
            "examples,coverage,fuzzing,stateful",
            "--generation-deterministic",
            # one worker: two threads of schemathesis on CPython 3.11 can trip its "AST constructor
            # recursion depth mismatch" (a CPython threading bug, not the sandbox's)
            "--workers",
            "1",
            "--report",
            "ndjson",
            "--report-ndjson-path",
            str(events),
            "--no-color",
        ]
        # run from the temporary folder: schemathesis keeps a crash cache (.schemathesis/) in its working
        # directory and replays it first, which would make one run depend on the last
        result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=600, cwd=tmp_path)
    assert events.is_file(), result.stdout[-3000:] + result.stderr[-3000:]
    summary = summarize(events)
    summary["exit_code"] = result.returncode
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / f"schemathesis-blackbox-{name}.json").write_text(json.dumps(summary, indent=2))
    print(
        f"\nschemathesis black-box on {path}: {summary['operations']} operations, {summary['cases']} cases "
        f"({summary['cases_per_phase']}), known findings {summary['known']}, unknown {len(summary['unknown'])}"
    )
    return summary


def summarize(events: Path) -> dict[str, Any]:
    cases: dict[str, set[str]] = {}
    labels: set[str] = set()
    known: Counter[str] = Counter()
    unknown: list[dict[str, Any]] = []
    errors: list[str] = []
    for line in events.read_text(encoding="utf-8").splitlines():
        event = json.loads(line)
        if "NonFatalError" in event or "FatalError" in event:
            errors.append(line[:2000])
        finished = event.get("ScenarioFinished")
        if not finished:
            continue
        recorder = finished["recorder"]
        if "cases" not in recorder:  # a skipped scenario (no examples in the schema, nothing to chain)
            continue
        cases.setdefault(finished["phase"], set()).update(recorder["cases"])
        labels.add(recorder["label"])
        for case_id, checks in recorder.get("checks", {}).items():
            interaction = recorder["interactions"].get(case_id) or {}
            response = interaction.get("response") or {}
            label = " ".join(str(interaction.get("request", {}).get(key, "")) for key in ("method", "uri"))
            label = _operation_label(recorder, case_id) or label
            for check in checks:
                if check["status"] != "failure":
                    continue
                match = next((k for k in KNOWN if response and k.covers(check["name"], label, response)), None)
                if match:
                    known[match.name] += 1
                else:
                    unknown.append(
                        {
                            "operation": label,
                            "check": check["name"],
                            "status": response.get("status_code"),
                            "error": error_of(response) if response else None,
                            "message": (check.get("failure_info") or {}).get("failure", {}).get("message"),
                        }
                    )
    per_phase = {phase: len(ids) for phase, ids in sorted(cases.items())}
    return {
        "operations": len({label for label in labels if label.split(" ")[0] in METHODS}),
        "cases": sum(per_phase.values()),
        "cases_per_phase": per_phase,
        "known": dict(known),
        "unknown": unknown,
        "errors": errors,
    }


def _operation_label(recorder: dict[str, Any], case_id: str) -> str | None:
    """``METHOD /path`` of a case: a stateful scenario records several operations in one recorder."""
    case = recorder["cases"].get(case_id, {}).get("value") or {}
    template = (case.get("meta") or {}).get("operation") or case.get("operation")
    if template:
        return str(template)
    if case.get("method") and case.get("path"):
        return f"{case['method']} {_template_of(recorder, case)}"
    return None


def _template_of(recorder: dict[str, Any], case: dict[str, Any]) -> str:
    label = str(recorder["label"])
    method, _, path = label.partition(" ")
    if method == case["method"] and " -> " not in label:
        return path
    return str(case["path"])


@pytest.mark.parametrize(
    ("name", "path", "hooks"),
    [
        ("v1", "/openapi.json", None),
        ("control-plane", "/_sandbox/openapi.json", "tests.sdk.schemathesis_hooks"),
    ],
)
def test_the_only_findings_are_the_known_ones(tmp_path: Path, name: str, path: str, hooks: str | None) -> None:
    if not os.access(VENV_BIN / "st", os.X_OK):
        pytest.fail("schemathesis is missing: pip install -e '.[test]'")
    summary = run_schemathesis(path, name, tmp_path, hooks)
    assert not summary["errors"], summary["errors"][:3]
    assert summary["unknown"] == [], json.dumps(summary["unknown"][:10], indent=1)
    assert {"examples", "coverage", "fuzzing", "stateful"} <= set(summary["cases_per_phase"]), summary
    assert summary["cases_per_phase"]["stateful"] > 0
