"""``/docs``: the interactive API reference rendered from openapi.yaml.

Swagger UI's assets come from the installed ``swagger-ui-py`` package (no CDN at run time); the
page shows the two served documents, switchable in its top bar — ``/openapi.json`` (the v1 API, the
default) and ``/_sandbox/openapi.json`` (the control plane), both cut from the spec the router
serves. Every visitor gets a personal sandbox: the page mints one (``POST /_sandbox/sandboxes``) on
the first visit, keeps it in the browser's storage, replaces it once it has expired, and
pre-authorizes "Try it out" with one of its keys; the picker lists only that sandbox's keys. The
HTML itself carries no key.

``/docs/webhooks`` is the webhook inspector of the same personal sandbox (``inspector.py``).
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path
from typing import Any

from flask import Flask, Response, abort, redirect, render_template_string, send_from_directory, url_for

from ..base.spec import load_spec
from ..services.webhooks import EVENT_TYPES
from .inspector import INSPECTOR_PAGE

OWN_ASSETS = Path(__file__).resolve().parent / "static"
SWAGGER_UI_ASSETS = Path(str(files("swagger_ui") / "static"))
ASSET_MAX_AGE = 3600
DOCUMENTS = [
    {"url": "/openapi.json", "name": "Expert AI Labs v1 API"},
    {"url": "/_sandbox/openapi.json", "name": "Sandbox control plane"},
]

PAGE = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>{{ title }} · API reference</title>
  <link rel="icon" href="/docs/assets/favicon-32x32.png">
  <link rel="stylesheet" href="/docs/assets/swagger-ui.css">
  <link rel="stylesheet" href="/docs/assets/docs.css">
</head>
<body>
  <header class="sandbox-bar">
    <strong>{{ title }}</strong> <span class="badge">test mode · no real side effects</span>
    <span id="sandbox-id" class="sandbox-id" title="Your personal sandbox">minting your sandbox…</span>
    <button id="sandbox-new" type="button" title="Forget this sandbox and mint a fresh one">New sandbox</button>
    <a href="/docs/webhooks">Webhooks inspector</a>
    <label>Sandbox key <select id="sandbox-key"></select></label>
  </header>
  <div id="swagger-ui"></div>
  <script id="sandbox-config" type="application/json">{{ config | tojson }}</script>
  <script src="/docs/assets/swagger-ui-bundle.js"></script>
  <script src="/docs/assets/swagger-ui-standalone-preset.js"></script>
  <script src="/docs/assets/personal.js"></script>
  <script src="/docs/assets/docs.js"></script>
</body>
</html>
"""


def bearer_scheme(spec: dict[str, Any]) -> str | None:
    """The name of the spec's HTTP bearer security scheme."""
    for name, scheme in spec.get("components", {}).get("securitySchemes", {}).items():
        if scheme.get("type") == "http" and scheme.get("scheme", "").lower() == "bearer":
            return str(name)
    return None


def init_app(app: Flask) -> None:
    """Register the docs routes."""
    spec = load_spec()
    title, scheme = spec.title, bearer_scheme(spec.document)

    @app.get("/docs/")
    def api_reference_slash() -> Any:
        return redirect(url_for("api_reference"), code=308)  # keeps a proxy's path prefix

    @app.get("/docs")
    def api_reference() -> str:
        config = {"documents": DOCUMENTS, "security_scheme": scheme, "sandboxes_url": "/_sandbox/sandboxes"}
        return render_template_string(PAGE, title=title, config=config)

    @app.get("/docs/webhooks")
    def webhooks_inspector() -> str:
        config = {
            "sandboxes_url": "/_sandbox/sandboxes",
            "stream_url": "/_sandbox/events/stream",
            "deliveries_url": "/_sandbox/webhooks/deliveries",
            "trigger_url": "/_sandbox/trigger",
            "replay_url": "/_sandbox/webhooks/events/{event_id}/replay",
            "event_types": list(EVENT_TYPES),
        }
        return render_template_string(INSPECTOR_PAGE, title=title, config=config, event_types=EVENT_TYPES)

    @app.get("/docs/assets/<path:name>")
    def docs_asset(name: str) -> Response:
        for folder in (OWN_ASSETS, SWAGGER_UI_ASSETS):
            if (folder / name).is_file():
                return send_from_directory(folder, name, max_age=ASSET_MAX_AGE)
        abort(404)
