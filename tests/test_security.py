"""Closed by default, on the session servers started with the default settings (no token, no origins).

Rasa's HTTP API is off, so its routes do not exist; the web chat socket refuses
a page from another origin; REST answers carry no CORS headers. The API with a
token is tested on the production cluster (tests/test_production.py).
"""

from __future__ import annotations

import http.client
import json

import pytest
from serve import Servers

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

EVIL = "https://evil.example"


def request(
    servers: Servers, method: str, path: str, headers: dict[str, str] | None = None, body: bytes | None = None,
) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", servers.rasa_port, timeout=30)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


@pytest.mark.parametrize("path", ["/status", "/version", "/conversations/someone/tracker", "/domain"])
def test_the_http_api_is_off_without_a_token(servers: Servers, path: str) -> None:
    status, _, _ = request(servers, "GET", path)
    assert status == 404, path


def test_nobody_can_inject_events_without_the_api(servers: Servers) -> None:
    body = json.dumps({"event": "slot", "name": "last_question", "value": "x"}).encode()
    status, _, _ = request(servers, "POST", "/conversations/someone/tracker/events", body=body,
                           headers={"Content-Type": "application/json"})
    assert status == 404


def test_the_socket_refuses_a_page_from_another_origin(servers: Servers) -> None:
    path = "/socket.io/?EIO=4&transport=polling"
    own = f"http://127.0.0.1:{servers.rasa_port}"
    status, headers, _ = request(servers, "GET", path, headers={"Origin": own})
    assert status == 200
    assert headers.get("access-control-allow-origin") == own
    status, headers, body = request(servers, "GET", path, headers={"Origin": EVIL})
    assert status == 400, body
    assert "access-control-allow-origin" not in headers
    assert b"not an accepted origin" in body


def test_rest_answers_carry_no_cors_headers_for_another_origin(servers: Servers) -> None:
    status, headers, _ = request(
        servers, "OPTIONS", "/webhooks/rest/webhook",
        headers={"Origin": EVIL, "Access-Control-Request-Method": "POST"},
    )
    assert headers.get("access-control-allow-origin") not in ("*", EVIL), (status, headers)
    body = json.dumps({"sender": "cors-check", "message": "halo"}).encode()
    status, headers, _ = request(servers, "POST", "/webhooks/rest/webhook", body=body,
                                 headers={"Origin": EVIL, "Content-Type": "application/json"})
    assert status == 200
    assert "access-control-allow-origin" not in headers
