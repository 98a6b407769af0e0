"""`make image-smoke`: the images of `make image`, started with docker/compose.yml, answer over REST.

Not part of `make test` (its name does not start with test_): building the images takes many minutes,
and starting three Python servers in containers takes several more. Run `make image` first.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest

from knowledge.settings import ROOT

PORT = int(os.environ.get("IMAGE_SMOKE_PORT", "7805"))
PROJECT = f"tanya-smoke-{PORT}"
COMPOSE = [shutil.which("docker-compose") or "docker-compose", "-f", str(ROOT / "docker" / "compose.yml"),
           "-p", PROJECT]
START_LIMIT = 900  # seconds: three Python servers starting at once on a busy 2-core machine


@pytest.fixture(scope="module")
def stack() -> Iterator[dict[str, str]]:
    env = {**os.environ, "PORT": str(PORT), "DB_PASSWORD": secrets.token_hex(12),
           "REDIS_PASSWORD": secrets.token_hex(12)}
    up = subprocess.run([*COMPOSE, "up", "-d"], env=env, capture_output=True, text=True, timeout=600, check=False)
    try:
        assert up.returncode == 0, up.stdout + up.stderr
        yield env
    finally:
        logs = subprocess.run([*COMPOSE, "logs", "--no-color", "--tail", "40"], env=env, capture_output=True,
                              text=True, timeout=120, check=False)
        print(logs.stdout[-6000:])
        subprocess.run([*COMPOSE, "down", "-v", "--timeout", "15"], env=env, capture_output=True, timeout=300,
                       check=False)


def ask(text: str, sender: str) -> str:
    body = json.dumps({"sender": sender, "message": text}).encode()
    req = urllib.request.Request(f"http://127.0.0.1:{PORT}/webhooks/rest/webhook", data=body,
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=120) as resp:
        return "\n".join(str(m.get("text", "")) for m in json.loads(resp.read()))


def test_the_containers_answer_over_rest_through_nginx(stack: dict[str, str]) -> None:
    started = time.monotonic()
    reply = ""
    while time.monotonic() - started < START_LIMIT:
        try:
            reply = ask("Berapa instansi yang dapat WBK?", "smoke")
            if "681" in reply:
                break
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(3)
    print(f"first answer {time.monotonic() - started:.0f}s after `up`: {reply[:120]!r}")
    assert "681" in reply, reply
    assert "82" in ask("kalau WBBM?", "smoke")  # the follow-up, from PostgreSQL, whichever server takes it
