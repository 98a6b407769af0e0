"""The action server goes down, hangs, and comes back: the bot says it cannot look up the article, then answers again.

Real servers on their own ports (5905 Rasa, 5955 actions), because this test
stops and restarts the action server and must not disturb the session servers.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from serve import Servers, stop

from tests.conftest import start_or_fail

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

RASA_PORT = int(os.environ.get("TEST_FAILURES_RASA_PORT", "5905"))
ACTIONS_PORT = int(os.environ.get("TEST_FAILURES_ACTIONS_PORT", "5955"))
ACTION_TIMEOUT = 4  # seconds; the Rasa server's deadline for the action server in this test
QUESTION = "Siapa yang menerima predikat WBK?"
CANNOT_LOOKUP = "Maaf, saya sedang tidak bisa membuka artikelnya. Coba tanyakan lagi sebentar lagi."


def ask(servers: Servers, text: str) -> tuple[int, list[dict[str, object]], float]:
    body = json.dumps({"sender": f"f-{uuid.uuid4().hex[:8]}", "message": text}).encode()
    req = urllib.request.Request(
        servers.rasa_url + "/webhooks/rest/webhook", data=body, headers={"Content-Type": "application/json"}
    )
    started = time.monotonic()
    with urllib.request.urlopen(req, timeout=90) as resp:
        return resp.status, json.loads(resp.read()), time.monotonic() - started


def texts(messages: list[dict[str, object]]) -> str:
    return "\n".join(str(m.get("text", "")) for m in messages)


class HangingServer:
    """Accepts connections on the action server's port and never answers: a stuck action server."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_server(("127.0.0.1", port))
        self.conns: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(conn)

    def close(self) -> None:
        self.sock.close()
        for conn in self.conns:
            conn.close()


@pytest.fixture(scope="module")
def failing_servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Servers, Path]]:
    logs = tmp_path_factory.mktemp("failure-logs")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ACTION_TIMEOUT", str(ACTION_TIMEOUT))
        with Servers(RASA_PORT, ACTIONS_PORT, log_dir=logs) as s:
            start_or_fail(s, logs)
            yield s, logs


def test_action_server_down_slow_and_back(failing_servers: tuple[Servers, Path]) -> None:
    servers, logs = failing_servers
    actions = servers.procs[0]

    status, reply, _ = ask(servers, QUESTION)
    assert status == 200 and "paragraf 2" in texts(reply), reply

    # Down: connection refused.
    stop(actions)
    servers.procs.remove(actions)
    status, reply, took = ask(servers, QUESTION)
    assert status == 200
    assert texts(reply) == CANNOT_LOOKUP, reply
    print(f"down: cannot-lookup reply in {took:.1f}s")

    # Stuck: the port accepts but never answers; the reply comes after ACTION_TIMEOUT, not Rasa's 5 minutes.
    hanging = HangingServer(ACTIONS_PORT)
    try:
        status, reply, took = ask(servers, QUESTION)
    finally:
        hanging.close()
    assert status == 200
    assert texts(reply) == CANNOT_LOOKUP, reply
    assert ACTION_TIMEOUT - 0.5 <= took < ACTION_TIMEOUT + 10, took
    print(f"hanging: cannot-lookup reply in {took:.1f}s")

    # Back: normal answers again, with no restart of the Rasa server.
    servers.start_actions()
    status, reply, _ = ask(servers, QUESTION)
    assert status == 200 and "paragraf 2" in texts(reply), reply

    log = (logs / "rasa-server.log").read_text(errors="replace")
    assert "Custom action 'action_answer_question' failed" in log
    assert "got no answer from the action server within" in log
    assert "Encountered an exception while running action" not in log  # Rasa's traceback path was not taken
    assert "Traceback" not in log
