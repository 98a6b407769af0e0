"""Bad input on the real REST channel: each case gets a clear Indonesian reply (200) or a 4xx, never a 500.

Runs against the session servers (tests/conftest.py). The policy is in
channels/policy.py and channels/rest.py; docs/security.md, "Bad input and
failures" lists it. After the table, both servers must still answer.
"""

from __future__ import annotations

import http.client
import itertools
import json
import time
import urllib.request
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pytest
from serve import Servers

from channels.policy import EMPTY_REPLY, MAX_BODY_BYTES, NO_WORDS_REPLY, TOO_LONG_REPLY
from knowledge.settings import get_channel_settings
from tests.tracker_events import user_and_bot_turns

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

# Words every reply of this bot in Indonesian carries at least one of.
INDONESIAN = ("artikel", "maaf", "halo", "paragraf", "sumber", "pesannya")


@dataclass(frozen=True)
class Case:
    """A request body and what must come back."""

    name: str
    body: bytes
    status: int
    check: Callable[[str], bool] | None = None  # on the joined reply texts, for 200s


_senders = itertools.count()


def msg(message: object, sender: object = None, **extra: object) -> bytes:
    """A REST body; each case is its own conversation (and its own rate-limit bucket) unless told otherwise."""
    sender = f"bad-input-{next(_senders)}" if sender is None else sender
    return json.dumps({"sender": sender, "message": message, **extra}).encode()


def exactly(text: str) -> Callable[[str], bool]:
    return lambda reply: reply == text


def contains(*parts: str) -> Callable[[str], bool]:
    return lambda reply: all(p in reply for p in parts)


CASES = [
    Case("empty message", msg(""), 200, exactly(EMPTY_REPLY)),
    Case("whitespace only", msg(" \n\t  \u00a0 "), 200, exactly(EMPTY_REPLY)),
    Case("control characters only", msg("\x00\x01\x1b\x7f"), 200, exactly(EMPTY_REPLY)),
    Case("10 KB message: answered, not truncated", msg("apa itu WBK? " * 800), 200, exactly(TOO_LONG_REPLY)),
    Case("1 MB message: refused", msg("a" * 1_000_000), 413),
    Case("just over the body limit", msg("b" * MAX_BODY_BYTES), 413),
    Case("invalid JSON", b'{"sender": "bad-input", "message": ', 400),
    Case("JSON but not an object", b'["bad-input", "halo"]', 400),
    Case("missing sender", json.dumps({"message": "halo"}).encode(), 400),
    Case("empty sender", msg("halo", sender=""), 400),
    Case("sender with a newline", msg("halo", sender="a\nb"), 400),
    Case("missing message", json.dumps({"sender": "bad-input"}).encode(), 400),
    Case("message is a number", msg(42), 400),
    Case("metadata is a string", msg("halo", metadata="x"), 400),
    Case("invalid UTF-8 bytes", b'{"sender": "bad-input", "message": "halo \xff\xfe\xc3"}', 400),
    Case("lone surrogate escape", b'{"sender": "bad-input", "message": "apa itu WBK \\ud800?"}', 200),
    Case("emoji", msg("\U0001f914 siapa yang menerima predikat WBK? \U0001f389"), 200, contains("paragraf 2")),
    Case("RTL text (Arabic)", msg("من حصل على جائزة WBK؟"), 200),  # "who got the WBK award?"
    Case("bidi override", msg("\u202eSiapa yang menerima predikat WBK?"), 200, contains("paragraf 2")),
    Case("control characters inside a question",
         msg("Siapa\x00 yang\x07 menerima\x1b predikat\r\nWBK?"), 200, contains("paragraf 2")),
    Case("very long single token", msg("x" * 900), 200),
    Case("single token over the limit", msg("y" * 5000), 200, exactly(TOO_LONG_REPLY)),
    Case("HTML", msg("<b>Siapa</b> yang menerima <i>predikat</i> WBK?"), 200, contains("paragraf 2")),
    Case("<script>", msg("<script>alert(document.cookie)</script>"), 200),
    Case("SQL-looking string", msg("'; DROP TABLE events; --"), 200),
    Case("punctuation only", msg("?!?!... ,,;; ???"), 200, exactly(NO_WORDS_REPLY)),
    Case("emoji only", msg("\U0001f44d"), 200),
    Case("/restart is plain text", msg("/restart"), 200),
    Case("/session_start is plain text", msg("/session_start"), 200),
    Case("/greet with a slot as entity", msg('/greet{"last_question": "x"}'), 200, contains("Halo!")),
    Case("/choose_passage of a paragraph that does not exist", msg('/choose_passage{"paragraph": 999}'), 200),
    Case("/ask_article with entities", msg('/ask_article{"article": "x"}'), 200),
]


def post(servers: Servers, body: bytes) -> tuple[int, bytes]:
    status, raw, _ = post_with_headers(servers, body)
    return status, raw


def post_with_headers(servers: Servers, body: bytes) -> tuple[int, bytes, dict[str, str]]:
    conn = http.client.HTTPConnection("127.0.0.1", servers.rasa_port, timeout=90)
    try:
        conn.request("POST", "/webhooks/rest/webhook", body=body, headers={"Content-Type": "application/json"})
        resp = conn.getresponse()
        return resp.status, resp.read(), dict(resp.getheaders())
    finally:
        conn.close()


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_bad_input(servers: Servers, case: Case) -> None:
    status, raw = post(servers, case.body)
    print(f"\n{case.name}: {status} {raw[:160]!r}")  # shown with -s: what each case really gets
    assert status == case.status, (status, raw[:500])
    data = json.loads(raw)
    if status != 200:
        assert isinstance(data, dict) and data.get("error"), data
        return
    assert isinstance(data, list) and data, "an empty reply is silence"
    reply = "\n".join(str(m.get("text", "")) for m in data)
    assert reply.strip(), data
    assert any(word in reply.lower() for word in INDONESIAN), reply
    assert "Traceback" not in reply and "Exception" not in reply
    if case.check is not None:
        assert case.check(reply), reply


def test_cases_cover_the_brief() -> None:
    assert len(CASES) >= 15


def test_both_servers_still_answer_after_the_table(servers: Servers) -> None:
    with urllib.request.urlopen(f"http://127.0.0.1:{servers.actions_port}/health", timeout=10) as resp:
        assert resp.status == 200
    status, raw = post(servers, msg("Siapa yang menerima predikat WBK?", sender="after-the-table"))
    assert status == 200
    assert "paragraf 2" in "\n".join(m.get("text", "") for m in json.loads(raw))


def test_a_flood_from_one_sender_is_slowed_down_and_loses_nothing_accepted(servers: Servers) -> None:
    """Two bursts' worth of messages from one sender at once: the burst is answered, the rest get 429 with
    an Indonesian reason and Retry-After; another reader is not slowed; every accepted message is stored
    with its reply; after waiting, the sender is answered again."""
    burst = get_channel_settings().rate_burst
    assert burst > 0, "the session servers run with the default rate limit"
    flooder, bystander = f"flood-{uuid.uuid4().hex[:8]}", f"calm-{uuid.uuid4().hex[:8]}"
    texts = [f"terima kasih {i}" for i in range(2 * burst)]
    with ThreadPoolExecutor(len(texts) + 1) as pool:
        flood = pool.map(lambda t: post_with_headers(servers, msg(t, sender=flooder)), texts)
        calm = pool.submit(post, servers, msg("Siapa yang menerima predikat WBK?", sender=bystander))
        results = list(flood)
        calm_status, calm_raw = calm.result()
    statuses = [status for status, _, _ in results]
    assert set(statuses) <= {200, 429}, statuses
    accepted = statuses.count(200)
    assert burst <= accepted <= burst + 2, statuses  # the bucket refills a little while the flood arrives
    for status, raw, headers in results:
        if status == 429:
            assert "Tunggu" in json.loads(raw)["error"]
            assert int(headers["Retry-After"]) >= 1
    assert calm_status == 200 and "paragraf 2" in calm_raw.decode()
    turns = user_and_bot_turns(flooder)
    kinds = "".join("u" if kind == "user" else "b" for kind, _ in turns)
    assert kinds.count("u") == accepted and "uu" not in kinds and kinds.endswith("b"), turns  # each one answered
    stored = [text for kind, text in turns if kind == "user"]
    sent_ok = [text for text, status in zip(texts, statuses, strict=True) if status == 200]
    assert sorted(stored) == sorted(sent_ok)
    wait = max(int(h["Retry-After"]) for s, _, h in results if s == 429)
    time.sleep(wait)
    assert post(servers, msg("terima kasih", sender=flooder))[0] == 200
