"""Redis going away under a fleet process: the answer is the 503 envelope, never a 500 or a hang."""

from __future__ import annotations

from sandbox.web.app import runtime_of, sandbox_of
from tests.support import RedisServer, auth, keys_by_role, make_app


def test_an_unreachable_store_is_a_503_envelope() -> None:
    server = RedisServer()
    app = make_app(STORE=server.url)
    try:
        keys = keys_by_role(sandbox_of(app))
        client = app.test_client()
        assert client.get("/api/v1/leads?limit=1", headers=auth(keys["read"])).status_code == 200
        server.close()  # Redis is gone
        for answer in (
            client.get("/api/v1/leads?limit=1", headers=auth(keys["read"])),
            client.post("/api/v1/leads", headers=auth(keys["write"]), json={"email": "x@example.com"}),
        ):
            assert answer.status_code == 503, answer.get_data(as_text=True)
            error = answer.get_json()["error"]
            assert error["code"] == "service_unavailable" and "store is unavailable" in error["message"]
            assert answer.headers["Retry-After"] == "1"
    finally:
        server.close()
        runtime_of(app).close()
