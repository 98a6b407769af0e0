"""The "Cannot write to closing transport" action-call failures of `make load`, reproduced and fixed.

Rasa 3.6 opens a new connection for every action call. Under load its event
loop is busy, so the request may be written seconds after the connection was
made. An action server that closes connections that bring no request for a
while (Sanic's keep-alive timeout, 5 s unless set) closes that one first, and
the call fails at the connection: the reader gets the apology, and the action
server logs nothing (no request ever reached it).

Here the Rasa side is the real, patched `RemoteAction.run` (channels/resilience.py)
on uvloop, as in the Rasa server; the busy loop is simulated where it hurts:
right after a connection is made, the loop is blocked for a few seconds, then
polls once (so it sees the action server's close) before the request is written.
The action servers are real, started through the Makefile target: one with the
project's idle limit (ACTIONS_IDLE_TIMEOUT, default 75 s) and one with a 1-second
limit, which stands for any action server with a short one.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import time
from collections.abc import Iterator
from typing import Any

import aiohttp
import pytest
import uvloop
from rasa.core.actions.action import RemoteAction
from rasa.core.channels.channel import CollectingOutputChannel
from rasa.core.nlg import TemplatedNaturalLanguageGenerator
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import EndpointConfig
from serve import Servers

import channels  # noqa: F401 - installs channels.resilience, as the Rasa server does
from channels import resilience
from knowledge.settings import ROOT
from tests.test_production import start_or_fail

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

PROJECT_PORT = int(os.environ.get("TEST_RACE_ACTIONS_PORT", "7155"))  # the project's idle limit
SHORT_PORT = int(os.environ.get("TEST_RACE_SHORT_ACTIONS_PORT", "7156"))  # a 1-second idle limit
SHORT_IDLE = 1
QUESTION = "Siapa yang menerima predikat WBK?"
ANSWER = "Balai Besar Pengujian Perangkat Telekomunikasi"
CANNOT_LOOKUP = "utter_cannot_lookup"


@pytest.fixture(scope="module")
def action_servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Servers]]:
    """Both action servers, through `make actions-server`; only the second gets ACTIONS_IDLE_TIMEOUT=1."""
    logs = tmp_path_factory.mktemp("race-logs")
    with Servers(actions_port=PROJECT_PORT, log_dir=logs / "project") as project, \
            Servers(actions_port=SHORT_PORT, log_dir=logs / "short") as short:
        start_or_fail({"project": project.start_actions}, logs)
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("ACTIONS_IDLE_TIMEOUT", str(SHORT_IDLE))
            start_or_fail({"short": short.start_actions}, logs)
        yield {"project": project, "short": short}


class BusyLoop:
    """Blocks the event loop for `stall` seconds right after each of the next `times` connections is made.

    Then it lets the loop poll once (a busy Rasa server's loop does, between the
    callbacks of other messages) before the request is written: that poll is where
    the client learns that the action server closed the connection.
    """

    def __init__(self, stall: float, times: int) -> None:
        self.stall = stall
        self.times = times

    def trace(self) -> aiohttp.TraceConfig:
        config = aiohttp.TraceConfig()

        async def connected(*_: Any) -> None:
            if self.times > 0:
                self.times -= 1
                time.sleep(self.stall)  # the loop is busy: nothing else runs
                await asyncio.sleep(0)

        config.on_connection_create_end.append(connected)
        return config


def call_action(port: int, busy: BusyLoop, monkeypatch: pytest.MonkeyPatch,
                name: str = "action_answer_question") -> list[Any]:
    """Rasa's RemoteAction.run (as patched by channels/resilience.py) for one question, on uvloop."""
    init = aiohttp.ClientSession.__init__
    monkeypatch.setattr(aiohttp.ClientSession, "__init__",
                        functools.partialmethod(init, trace_configs=[busy.trace()]))
    domain = Domain.load(str(ROOT / "bot" / "domain.yml"))
    parse = {"text": QUESTION, "intent": {"name": "ask_article", "confidence": 0.9}, "entities": []}
    tracker = DialogueStateTracker.from_events(
        "race", [ActionExecuted("action_listen"), UserUttered(QUESTION, parse["intent"], [], parse)])
    action = RemoteAction(name, EndpointConfig(f"http://127.0.0.1:{port}/webhook"))
    loop = uvloop.new_event_loop()
    try:
        return loop.run_until_complete(action.run(
            CollectingOutputChannel(), TemplatedNaturalLanguageGenerator(domain.responses), tracker, domain))
    finally:
        loop.close()


def replied(events: list[Any]) -> str:
    """The reply's text, or CANNOT_LOOKUP for the apology."""
    bot = [e for e in events if isinstance(e, BotUttered)]
    assert len(bot) == 1, events
    if bot[0].metadata.get("utter_action") == CANNOT_LOOKUP:
        return CANNOT_LOOKUP
    return bot[0].text or ""


def test_a_short_idle_limit_and_a_busy_loop_fail_the_call(
    action_servers: dict[str, Servers], monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
) -> None:
    """The failure of `make load`, on demand: the loop is busy longer than the action server waits."""
    monkeypatch.setattr(resilience, "RETRIES", 0)
    with caplog.at_level(logging.ERROR):
        events = call_action(SHORT_PORT, BusyLoop(SHORT_IDLE + 1, times=1), monkeypatch)
    assert replied(events) == CANNOT_LOOKUP
    assert "Cannot write to closing transport" in caplog.text


def test_the_projects_idle_limit_outlasts_a_busy_loop(
    action_servers: dict[str, Servers], monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The fix at the root: the action server waits longer than Sanic's default 5 s (ACTIONS_IDLE_TIMEOUT), so a
    Rasa server that writes its request 6 s after connecting is still answered, with no retry at all."""
    monkeypatch.setattr(resilience, "RETRIES", 0)
    events = call_action(PROJECT_PORT, BusyLoop(6, times=1), monkeypatch)
    assert ANSWER in replied(events)
    assert any(isinstance(e, SlotSet) and e.key == "last_question" for e in events)


def test_a_read_only_action_is_called_again_after_a_connection_failure(
    action_servers: dict[str, Servers], monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
) -> None:
    """Against an action server with a short idle limit, the second call of a read-only action answers."""
    with caplog.at_level(logging.WARNING):
        events = call_action(SHORT_PORT, BusyLoop(SHORT_IDLE + 1, times=1), monkeypatch)
    assert ANSWER in replied(events)
    assert "calling it again, it is read-only" in caplog.text
    # One call's events only: the failed call brought none, so nothing is applied twice.
    assert sum(isinstance(e, SlotSet) and e.key == "last_question" for e in events) == 1


def test_an_action_not_known_to_be_read_only_is_not_repeated(
    action_servers: dict[str, Servers], monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setattr(resilience, "READ_ONLY_ACTIONS", frozenset())
    with caplog.at_level(logging.WARNING):
        events = call_action(SHORT_PORT, BusyLoop(SHORT_IDLE + 1, times=1), monkeypatch)
    assert replied(events) == CANNOT_LOOKUP
    assert "calling it again" not in caplog.text


def test_every_action_of_the_action_server_declares_whether_it_is_read_only() -> None:
    """READ_ONLY_ACTIONS (Rasa server side) names exactly the actions whose class says `read_only = True`."""
    from rasa_sdk.executor import ActionExecutor

    executor = ActionExecutor()
    executor.register_package("actions")
    declared = {name for name, run in executor.actions.items()
                if getattr(getattr(run, "__self__", None), "read_only", False)}
    assert declared == resilience.READ_ONLY_ACTIONS, (declared, set(executor.actions))

