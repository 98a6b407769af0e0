"""Persistence and scale-out with real servers.

Production (bot/endpoints-production.yml): real PostgreSQL (tracker store) and Redis (lock store), from
the Debian packages `make system-deps` installs, started on loopback ports in a temporary folder; two Rasa
servers and one action server against them, started once for the module through the Makefile targets.
Embedded default (bot/endpoints.yml): one Rasa server with the SQLite tracker store in var/, restarted
mid-conversation.

Ports are overridable, so this module can share the machine with other test sessions.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import sqlite3
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg2
import pytest
import redis
import yaml
from load import check_tracker, run_load
from rasa.utils.endpoints import EndpointConfig
from serve import Servers

from knowledge.settings import ROOT
from stores.redis_lock import AtomicRedisLockStore
from tests.pg import throwaway_postgres
from usage.store import SQL_STORES

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

RASA_A_PORT = int(os.environ.get("TEST_PROD_RASA_A_PORT", "5805"))
RASA_B_PORT = int(os.environ.get("TEST_PROD_RASA_B_PORT", "5815"))
RASA_SQLITE_PORT = int(os.environ.get("TEST_PROD_RASA_SQLITE_PORT", "5825"))
ACTIONS_PORT = int(os.environ.get("TEST_PROD_ACTIONS_PORT", "5855"))
PG_PORT = int(os.environ.get("TEST_PROD_PG_PORT", "5832"))
REDIS_PORT = int(os.environ.get("TEST_PROD_REDIS_PORT", "5837"))

PRODUCTION = "bot/endpoints-production.yml"
DB = {"DB_HOST": "127.0.0.1", "DB_PORT": str(PG_PORT), "DB_NAME": "rasa", "DB_USER": "rasa",
      "DB_PASSWORD": "rasa-test-pw"}
REDIS = {"REDIS_HOST": "127.0.0.1", "REDIS_PORT": str(REDIS_PORT), "REDIS_DB": "1",
         "REDIS_PASSWORD": "redis-test-pw"}

# The production servers run Rasa's HTTP API, which the Makefile turns on only with a token.
API_TOKEN = "prod-api-token-for-tests"

# Standalone questions whose answers differ by one number, and follow-ups that need the previous turn.
WBK, WBBM, PROPOSED = "Berapa instansi yang dapat WBK?", "Berapa yang dapat WBBM?", \
    "berapa unit kerja yang diusulkan ke Tim Penilai Nasional?"
EXPECTED = {WBK: "681", WBBM: "82", PROPOSED: "3.691"}


# --- helpers ----------------------------------------------------------------------------------------


def ask(servers: Servers, sender: str, text: str, timeout: float = 180) -> str:
    """Send one message over REST; returns the bot's texts joined."""
    body = json.dumps({"sender": sender, "message": text}).encode()
    req = urllib.request.Request(
        servers.rasa_url + "/webhooks/rest/webhook", data=body, headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        messages = json.loads(resp.read())
    return "\n".join(str(m.get("text", "")) for m in messages)


def new_sender() -> str:
    return f"prod-{uuid.uuid4().hex[:10]}"


def start_or_fail(what: dict[str, Any], logs: Path) -> dict[str, float]:
    """Run start functions in parallel (two cores: overlapping start-ups saves about a third)."""
    with ThreadPoolExecutor(len(what)) as pool:
        futures = {name: pool.submit(fn) for name, fn in what.items()}
        try:
            return {name: f.result() for name, f in futures.items()}
        except (RuntimeError, TimeoutError) as exc:
            tails = {str(p.relative_to(logs)): p.read_text(errors="replace")[-3000:] for p in logs.rglob("*.log")}
            pytest.fail(f"servers did not start: {exc}\n{tails}")


def user_bot_events(rows: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """(type, text) of the user and bot events, in the order the tracker store holds them."""
    return [(kind, json.loads(data).get("text") or "") for kind, data in rows if kind in ("user", "bot")]


def assert_turns(events: list[tuple[str, str]], asked: list[str]) -> None:
    """Every question is stored once, each followed by exactly its own answer: user, bot, user, bot..."""
    kinds = [kind for kind, _ in events]
    assert kinds == ["user", "bot"] * len(asked), kinds
    users = [text for kind, text in events if kind == "user"]
    assert sorted(users) == sorted(asked), "a message was lost or duplicated"
    for (_, question), (_, answer) in zip(events[::2], events[1::2], strict=True):
        assert EXPECTED[question] in answer, (question, answer)


# --- PostgreSQL, Redis and the servers ------------------------------------------------------------------


@pytest.fixture(scope="module")
def scratch() -> Iterator[Path]:
    """A folder outside pytest's root-only tmp tree, so the postgres user can reach its data dir."""
    path = Path(tempfile.mkdtemp(prefix="tanya-prod-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="module")
def postgres(scratch: Path) -> Iterator[dict[str, str]]:
    """A throw-away PostgreSQL cluster on 127.0.0.1:PG_PORT with a `rasa` role (password) and database."""
    with throwaway_postgres(scratch / "pg", PG_PORT, DB, options="-c max_connections=50") as db:
        yield db


@pytest.fixture(scope="module")
def redis_server(scratch: Path) -> Iterator[dict[str, str]]:
    """redis-server on 127.0.0.1:REDIS_PORT with a password and no persistence."""
    exe = shutil.which("redis-server")
    if exe is None:
        pytest.fail("redis-server is not installed: run `make system-deps`")
    log = open(scratch / "redis.log", "wb")  # noqa: SIM115 - lives as long as the server
    proc = subprocess.Popen(
        [exe, "--port", str(REDIS_PORT), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", str(scratch), "--requirepass", REDIS["REDIS_PASSWORD"]],
        stdout=log, stderr=subprocess.STDOUT,
    )
    client = redis.Redis(host="127.0.0.1", port=REDIS_PORT, password=REDIS["REDIS_PASSWORD"], socket_timeout=2)
    try:
        for _ in range(100):
            if proc.poll() is not None:
                pytest.fail(f"redis-server exited: {(scratch / 'redis.log').read_text(errors='replace')}")
            try:
                if client.ping():
                    break
            except redis.exceptions.ConnectionError:
                time.sleep(0.1)
        else:
            pytest.fail("redis-server did not answer PING within 10 s")
        yield REDIS
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
        log.close()


@pytest.fixture(scope="module")
def logs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("production-logs")


@pytest.fixture(scope="module")
def actions(logs: Path) -> Iterator[Servers]:
    """One stateless action server, shared by every Rasa server of this module."""
    with Servers(RASA_A_PORT, ACTIONS_PORT, log_dir=logs / "actions") as s:
        start_or_fail({"actions": s.start_actions}, logs)
        yield s


@dataclass
class Cluster:
    a: Servers
    b: Servers
    db: dict[str, str]
    started: dict[str, float]

    def events(self, sender: str) -> list[tuple[str, str]]:
        """The sender's user and bot events, read from PostgreSQL directly."""
        conn = psycopg2.connect(host=self.db["DB_HOST"], port=int(self.db["DB_PORT"]), dbname=self.db["DB_NAME"],
                                user=self.db["DB_USER"], password=self.db["DB_PASSWORD"])
        try:
            with conn.cursor() as cur:
                cur.execute("SELECT type_name, data FROM events WHERE sender_id = %s ORDER BY id", (sender,))
                return user_bot_events(cur.fetchall())
        finally:
            conn.close()


@pytest.fixture(scope="module")
def cluster(
    actions: Servers, postgres: dict[str, str], redis_server: dict[str, str], logs: Path,
) -> Iterator[Cluster]:
    """Two Rasa servers with bot/endpoints-production.yml, configured only through environment variables."""
    with pytest.MonkeyPatch.context() as mp:
        for name, value in {**postgres, **redis_server, "RASA_API_TOKEN": API_TOKEN}.items():
            mp.setenv(name, value)
        a = Servers(RASA_A_PORT, ACTIONS_PORT, log_dir=logs / "rasa-a", endpoints=PRODUCTION)
        b = Servers(RASA_B_PORT, ACTIONS_PORT, log_dir=logs / "rasa-b", endpoints=PRODUCTION)
        with a, b:
            started = start_or_fail({"a": a.start_rasa, "b": b.start_rasa}, logs)
            yield Cluster(a, b, postgres, started)


# --- production: PostgreSQL + Redis, two Rasa servers ------------------------------------------------


def test_lock_store_issues_each_ticket_once_across_processes(redis_server: dict[str, str]) -> None:
    """Eight stores (as eight Rasa servers would have) take tickets for one conversation at once, twice over:
    every ticket number is unique, and finishing them all removes the lock."""
    config = EndpointConfig(url=redis_server["REDIS_HOST"], port=redis_server["REDIS_PORT"],
                            db=redis_server["REDIS_DB"], password=redis_server["REDIS_PASSWORD"])
    stores = [AtomicRedisLockStore(endpoint_config=config) for _ in range(8)]
    conversation = new_sender()
    with ThreadPoolExecutor(len(stores)) as pool:
        tickets = list(pool.map(lambda s: s.issue_ticket(conversation, 60), stores * 2))
    assert sorted(tickets) == list(range(min(tickets), min(tickets) + 16)), tickets
    with ThreadPoolExecutor(len(stores)) as pool:
        list(pool.map(lambda st: st[0].cleanup(conversation, st[1]), zip(stores * 2, tickets, strict=True)))
    assert stores[0].get_lock(conversation) is None


def test_the_http_api_refuses_calls_without_the_token(cluster: Cluster) -> None:
    url = cluster.a.rasa_url + "/status"
    for query in ("", "?token=wrong"):
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(url + query, timeout=30)
        assert refused.value.code == 401, query
    with urllib.request.urlopen(f"{url}?token={API_TOKEN}", timeout=30) as resp:
        assert resp.status == 200 and "model_file" in json.loads(resp.read())


def test_a_conversation_continues_on_the_other_server(cluster: Cluster) -> None:
    """The follow-up on B needs the turn A answered: B reads it from PostgreSQL."""
    sender = new_sender()
    assert "681" in ask(cluster.a, sender, WBK)
    reply = ask(cluster.b, sender, "kalau WBBM?")
    assert "82" in reply, reply
    assert "681" not in reply.split("\n")[0], reply
    assert [text for kind, text in cluster.events(sender) if kind == "user"] == [WBK, "kalau WBBM?"]


def test_concurrent_messages_to_both_servers_are_serialised(cluster: Cluster) -> None:
    """Six messages of one sender, sent at once, alternately to A and B: the Redis lock makes them take
    turns, so every question and its answer is stored, each answer right after its own question."""
    sender = new_sender()
    asked = [WBK, WBBM, PROPOSED, WBBM, WBK, PROPOSED]
    servers = [cluster.a if i % 2 == 0 else cluster.b for i in range(len(asked))]
    with ThreadPoolExecutor(len(asked)) as pool:
        replies = list(pool.map(lambda pair: ask(pair[0], sender, pair[1]), zip(servers, asked, strict=True)))
    for question, reply in zip(asked, replies, strict=True):
        assert EXPECTED[question] in reply, (question, reply)
    assert_turns(cluster.events(sender), asked)


def test_five_readers_spread_over_both_servers_lose_nothing(cluster: Cluster) -> None:
    """The small `make load`: each reader's messages go to A or B, the tracker store in PostgreSQL keeps all."""
    result, scripts = asyncio.run(
        run_load([cluster.a.rasa_url, cluster.b.rasa_url], senders=5, messages=5, max_seconds=300)
    )
    db = cluster.db
    check_tracker(
        f"postgresql://{db['DB_USER']}:{db['DB_PASSWORD']}@{db['DB_HOST']}:{db['DB_PORT']}/{db['DB_NAME']}",
        scripts, result,
    )
    summary = result.summary()
    print(summary)
    assert summary["errors"] == 0 and summary["lost"] == 0, (summary, result.loss_examples)


def test_restarting_a_server_keeps_the_history(cluster: Cluster) -> None:
    sender = new_sender()
    assert "82" in ask(cluster.b, sender, WBBM)
    cluster.b.stop()
    took = cluster.b.start_rasa()
    reply = ask(cluster.b, sender, "kalau WBK?")
    assert "681" in reply, (reply, f"restart took {took:.0f}s")
    events = cluster.events(sender)
    assert [kind for kind, _ in events] == ["user", "bot", "user", "bot"]
    assert "82" in events[1][1] and "681" in events[3][1], events


# --- embedded default: SQLite in var/ ----------------------------------------------------------------------


def sqlite_path() -> Path:
    """Where bot/endpoints.yml keeps conversations (relative to the repository root, where make runs rasa)."""
    config = yaml.safe_load((ROOT / "bot" / "endpoints.yml").read_text())
    assert config["tracker_store"]["type"] in SQL_STORES and config["tracker_store"]["dialect"] == "sqlite"
    return ROOT / config["tracker_store"]["db"]


def test_sqlite_default_keeps_the_conversation_across_a_restart(actions: Servers, logs: Path) -> None:
    sender = new_sender()
    with Servers(RASA_SQLITE_PORT, ACTIONS_PORT, log_dir=logs / "rasa-sqlite") as rasa:
        start_or_fail({"sqlite": rasa.start_rasa}, logs)
        assert "82" in ask(rasa, sender, WBBM)
        rasa.stop()
        start_or_fail({"sqlite": rasa.start_rasa}, logs)
        reply = ask(rasa, sender, "kalau WBK?")
        assert "681" in reply, reply
    with sqlite3.connect(sqlite_path()) as db:
        rows = db.execute("SELECT type_name, data FROM events WHERE sender_id = ? ORDER BY id", (sender,)).fetchall()
    assert [kind for kind, _ in user_bot_events(rows)] == ["user", "bot", "user", "bot"]
