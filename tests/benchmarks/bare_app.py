"""A bare Flask app serving a constant JSON body: the benchmark's baseline."""

from __future__ import annotations

import orjson
from flask import Flask, Response

LEAD = {
    "id": "9f1c8a32-4d65-4e2b-8a91-3c0e7d4b2f18",
    "organization_id": "8c2f0a14-0c8a-4a3a-9a4d-3e0f1d6c2a91",
    "name": "Sarah Mitchell",
    "company": None,
    "email": "sarah.mitchell@example.com",
    "source": "google_ads",
    "lead_score": 87,
    "pipeline_stage": "qualified",
    "industry": None,
    "company_size": None,
    "created_at": "2026-04-27T13:22:05.114Z",
    "updated_at": "2026-04-27T13:22:09.218Z",
}


def create_bare_app(page_size: int = 50) -> Flask:
    app = Flask("bare")
    page = orjson.dumps({"data": [LEAD] * page_size, "next_cursor": None})
    one = orjson.dumps(LEAD)

    @app.route("/api/v1/leads", methods=["GET"])
    def list_leads() -> Response:
        return Response(page, mimetype="application/json")

    @app.route("/api/v1/leads", methods=["POST"])
    def create_lead() -> Response:
        return Response(one, status=201, mimetype="application/json")

    return app
