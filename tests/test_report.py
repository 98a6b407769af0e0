"""Learning from use: the usage report, pruning and the NLU review export, on a scripted tracker store.

The store is written by Rasa's own SQLTrackerStore from Rasa's own event classes, so the
rows have exactly the shape a running Rasa server writes. Every count below is exact: it
follows from the script in `conversations()`, and the comments there say where each comes from.
Clustering uses the tests' hashed bag-of-words embedder; one slow test uses the real e5 model.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sqlite3
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.events import (
    ActionExecuted,
    BotUttered,
    Event,
    SessionStarted,
    SlotSet,
    UserUttered,
)
from rasa.shared.core.slots import AnySlot
from rasa.shared.core.trackers import DialogueStateTracker

from knowledge.settings import ROOT
from tests.conftest import HashEmbedder
from tests.pg import throwaway_postgres
from usage.cluster import cluster_questions, normalise
from usage.events import Conversation, Turn, conversations, pseudonym
from usage.report import analyse, render_markdown, summary_lines, write_report
from usage.review import render_review, review_items, training_examples
from usage.settings import UsageSettings, stored_salt
from usage.store import prune, read_rows, tracker_url_from

DAY = 86400.0
NOW = time.time()
ARTICLE = "antara-kominfo-wbk-2020"
SALT = "test-salt"
# The hashed bag of words scores paraphrases lower than e5 does.
SETTINGS = UsageSettings(salt=SALT, cluster_threshold=0.6, review_min_confidence=0.6, top=10)
SENDERS = {
    "alice": "telegram-100200300", "bob": "web-5f3a9c", "carol": "web-c4r01", "frank": "web-frank",
    "dave": "telegram-777", "erin": "web-erin", "henk": "web-henk",
}
OLD = ("dave", "erin")  # last event 40 and 35 days ago


def passage(paragraph: int) -> str:
    return f"{ARTICLE}#{paragraph}"


class Script:
    """One conversation's events, built with Rasa's event classes at scripted times."""

    def __init__(self, sender: str, start: float) -> None:
        self.sender = sender
        self.t = start
        self.events: list[Event] = []
        self.user_at = start
        self.session()

    def tick(self, seconds: float = 1.0) -> float:
        self.t += seconds
        return self.t

    def session(self, carried: dict[str, Any] | None = None, at: float | None = None) -> None:
        """A session start; Rasa copies the slots over, as SlotSet events, right after it."""
        if at is not None:
            self.t = at
        self.events += [ActionExecuted("action_session_start", timestamp=self.tick()), SessionStarted(self.tick())]
        self.events += [SlotSet(k, v, timestamp=self.tick(0.001)) for k, v in (carried or {}).items()]
        self.events.append(ActionExecuted("action_listen", timestamp=self.tick(0.001)))

    def say(self, text: str, intent: str, confidence: float = 1.0,
            ranking: list[tuple[str, float]] | None = None) -> None:
        ranking = ranking or [(intent, confidence)]
        parse = {
            "intent": {"name": intent, "confidence": confidence}, "entities": [], "text": text,
            "intent_ranking": [{"name": n, "confidence": c} for n, c in ranking],
        }
        self.user_at = self.tick(5.0)
        self.events.append(UserUttered(text, parse["intent"], [], parse, timestamp=self.user_at, input_channel="rest"))

    def reply(self, action: str, text: str, buttons: list[dict[str, str]] | None = None) -> None:
        self.events += [
            ActionExecuted(action, policy="RulePolicy", confidence=1.0, timestamp=self.tick(0.05)),
            BotUttered(text, {"buttons": buttons}, {}, timestamp=self.tick(0.001)),
            ActionExecuted("action_listen", timestamp=self.tick(0.01)),
        ]

    def answer(self, question: str, latency: float, found: bool = True, paragraph: int | None = None,
               choices: tuple[int, ...] = (), action: str = "action_answer_question") -> dict[str, Any]:
        """What the answer action leaves: its action event `latency` s after the user event, the reply, the slot."""
        if not found:
            text = "Maaf, artikel ini tidak membahas itu."
        elif choices:
            text = "Maksud Anda yang mana?"
        else:
            text = f"Jawaban dari paragraf {paragraph}."
        buttons = [{"title": f"paragraf {p}", "payload": f'/choose_passage{{"article": "{ARTICLE}", '
                                                         f'"paragraph": {p}}}'} for p in choices]
        value = {
            "question": question, "resolved": question, "found": found, "article_id": ARTICLE if found else None,
            "paragraph": paragraph, "passages": [passage(paragraph)] if paragraph else [], "text": text,
            "score": 0.9,
        }
        self.t = self.user_at + latency
        self.events += [
            ActionExecuted(action, policy="RulePolicy", confidence=1.0, timestamp=self.t),
            BotUttered(text, {"buttons": buttons or None}, {"answer": {**value, "choices": buttons}},
                       timestamp=self.tick(0.001)),
            SlotSet("last_answer", value, timestamp=self.tick(0.001)),
            ActionExecuted("action_listen", timestamp=self.tick(0.01)),
        ]
        return value

    def rate(self, rating: str, answered: dict[str, Any], next_best: int | None = None,
             typed: str | None = None) -> dict[str, Any]:
        """A 👍/👎 click (or typed rating): the feedback slot; after a 👎, maybe the next best passage's answer."""
        if typed:
            self.say(typed, "feedback", 0.88)
        else:
            self.say(f'/feedback{{"rating": "{rating}"}}', "feedback")
        record = {
            "rating": rating, "question": answered["question"], "answer": answered["text"],
            "article_id": answered["article_id"], "paragraph": answered["paragraph"], "passages": answered["passages"],
        }
        self.events += [
            ActionExecuted("action_feedback", timestamp=self.tick(0.1)),
            SlotSet("feedback", record, timestamp=self.tick(0.001)),
            BotUttered("Terima kasih atas penilaiannya!", {}, {}, timestamp=self.tick(0.001)),
        ]
        if next_best is not None:
            value = {**answered, "paragraph": next_best, "passages": [passage(next_best)], "text": "Berikutnya."}
            self.events += [BotUttered("Berikutnya.", {}, {}, timestamp=self.tick(0.001)),
                            SlotSet("last_answer", value, timestamp=self.tick(0.001))]
        self.events.append(ActionExecuted("action_listen", timestamp=self.tick(0.01)))
        return record

    def tracker(self) -> DialogueStateTracker:
        slots = [AnySlot(name, mappings=[]) for name in ("last_answer", "feedback")]
        return DialogueStateTracker.from_events(self.sender, self.events, slots=slots)


def conversations_script() -> dict[str, Script]:
    """Seven conversations; the comments give each one's contribution to the expected figures."""
    recent = NOW - 2 * DAY
    s: dict[str, Script] = {}

    # alice: 6 turns (2 payloads), 3 questions: 2 answered, 1 abstained (confidence 0.55: to review);
    # 1 👍 clicked, 1 👎 typed, answered with the next best passage (an answer, but no new question).
    a = s["alice"] = Script(SENDERS["alice"], recent)
    a.say("/greet", "greet")
    a.reply("action_greet", "Halo!", [{"title": "Apa kata Ismail?", "payload": "Apa kata Ismail?"}])
    a.say("Berapa yang dapat WBBM?", "ask_article", 0.98)
    wbbm = a.answer("Berapa yang dapat WBBM?", 0.2, paragraph=10)
    a.rate("up", wbbm)
    a.say("Ada berapa WBBM?", "ask_article", 0.95)
    more = a.answer("Ada berapa WBBM?", 0.4, paragraph=10)
    a.rate("down", more, next_best=9, typed="kurang tepat")
    a.say("Berapa gaji pegawai BBPPT?", "ask_article", 0.55)
    a.answer("Berapa gaji pegawai BBPPT?", 0.1, found=False)

    # bob: 7 turns (4 payloads), 2 questions: 1 answered (via nlu_fallback: to review), 1 "which one?";
    # 2 answers to clicks (the next best after 👎, a passage picked); a 👎 kept, a 👎 changed to 👍;
    # a second session whose carried-over slots must not count again.
    b = s["bob"] = Script(SENDERS["bob"], recent + 600)
    b.say("brp unit yg dapet WBBM?", "nlu_fallback", 0.6,
          [("nlu_fallback", 0.6), ("ask_article", 0.45), ("help", 0.3)])
    unit = b.answer("brp unit yg dapet WBBM?", 0.5, paragraph=10)
    b.rate("down", unit, next_best=9)
    b.say("Apa kata Ismail?", "ask_article", 0.97)
    b.answer("Apa kata Ismail?", 0.3, paragraph=None, choices=(2, 4))
    b.say(f'/choose_passage{{"article": "{ARTICLE}", "paragraph": 4}}', "choose_passage")
    ismail = b.answer("Apa kata Ismail?", 0.2, paragraph=4)
    b.rate("down", ismail)
    changed = b.rate("up", ismail)
    b.session(carried={"last_answer": ismail, "feedback": changed}, at=recent + 3600)
    b.say("makasih", "thanks", 0.99)
    b.reply("utter_thanks", "Sama-sama!")

    # carol: 5 turns, 4 questions: 2 answered (one from the byline, no paragraph), 2 abstained
    # (one via nlu_fallback, predicted out_of_scope: to review); an out-of-scope decline is no question.
    c = s["carol"] = Script(SENDERS["carol"], recent + 1200)
    c.say("Berapa yang dapat WBBM?", "ask_article", 0.96)
    c.answer("Berapa yang dapat WBBM?", 0.3, paragraph=10)
    c.say("gaji pegawai BBPPT berapa ya?", "ask_article", 0.9)
    c.answer("gaji pegawai BBPPT berapa ya?", 0.15, found=False)
    c.say("Siapa juara Liga Inggris?", "out_of_scope", 0.85)
    c.reply("action_out_of_scope", "Maaf, saya hanya menjawab tentang artikelnya.")
    c.say("Hari ini hujan gak ya", "nlu_fallback", 0.6, [("nlu_fallback", 0.6), ("out_of_scope", 0.41),
                                                         ("ask_article", 0.3)])
    c.answer("Hari ini hujan gak ya", 0.12, found=False)
    c.say("Siapa penulis artikel ini?", "ask_article", 0.5)
    c.answer("Siapa penulis artikel ini?", 0.05, paragraph=None)

    # frank opened the chat and wrote nothing.
    s["frank"] = Script(SENDERS["frank"], recent + 1800)

    # dave, 40 days ago: 2 turns (1 payload), 1 question answered, then 👎 (to review).
    d = s["dave"] = Script(SENDERS["dave"], NOW - 40 * DAY)
    d.say("WBK itu penghargaan dari siapa?", "ask_article", 0.99)
    d.rate("down", d.answer("WBK itu penghargaan dari siapa?", 0.25, paragraph=5))

    # erin, 35 days ago: 1 turn.
    e = s["erin"] = Script(SENDERS["erin"], NOW - 35 * DAY)
    e.say("halo", "greet", 0.99)
    e.reply("action_greet", "Halo!")

    # henk: began 50 days ago, came back yesterday: old events, but a live conversation. 2 turns.
    h = s["henk"] = Script(SENDERS["henk"], NOW - 50 * DAY)
    h.say("halo", "greet", 0.99)
    h.reply("action_greet", "Halo!")
    h.session(at=NOW - DAY)
    h.say("dadah", "goodbye", 0.98)
    h.reply("utter_goodbye", "Sampai jumpa!")
    return s


def seed(store: SQLTrackerStore) -> dict[str, int]:
    """Save every scripted conversation; returns the number of events stored per sender id."""
    stored = {}
    for script in conversations_script().values():
        tracker = script.tracker()
        asyncio.run(store.save(tracker))
        stored[script.sender] = len(tracker.events)
    return stored


@pytest.fixture
def tracker_db(tmp_path: Path) -> Iterator[tuple[str, dict[str, int]]]:
    """A fresh SQLite tracker store, written by Rasa's SQLTrackerStore; its URL and the events per sender."""
    path = tmp_path / "tracker.db"
    store = SQLTrackerStore(dialect="sqlite", db=str(path))
    stored = seed(store)
    store.engine.dispose()
    yield f"sqlite:///{path}", stored


def usage_of(url: str) -> Any:
    return analyse(conversations(read_rows(url)), HashEmbedder(), SETTINGS, source="test")


# --- the report ---------------------------------------------------------------------------------


def test_counts_conversations_turns_questions_and_outcomes(tracker_db: tuple[str, dict[str, int]]) -> None:
    usage = usage_of(tracker_db[0])
    assert (usage.conversations, usage.opened_only) == (6, 1)
    assert (usage.turns, usage.payload_turns) == (23, 7)
    assert usage.questions == 10
    assert dict(usage.outcomes) == {"answered": 6, "clarified": 1, "abstained": 3}
    assert usage.rate("answered") == pytest.approx(0.6) and usage.rate("abstained") == pytest.approx(0.3)
    assert usage.answers_to_buttons == 3
    assert dict(usage.intents) == {"ask_article": 8, "feedback": 6, "greet": 3, "nlu_fallback": 2, "goodbye": 1,
                                   "choose_passage": 1, "out_of_scope": 1, "thanks": 1}


def test_ratings_per_passage_count_each_answer_once_with_its_last_rating(
    tracker_db: tuple[str, dict[str, int]],
) -> None:
    usage = usage_of(tracker_db[0])
    assert dict(usage.ratings) == {"up": 2, "down": 3}
    assert {p: dict(c) for p, c in usage.per_passage.items()} == {
        passage(10): {"up": 1, "down": 2}, passage(4): {"up": 1}, passage(5): {"down": 1},
    }
    # Newest first: bob's 👎 and alice's typed one (two days ago), then dave's (40 days ago).
    assert [(who, f.question, f.passages) for who, f in usage.downvoted] == [
        (pseudonym(SENDERS["bob"], SALT), "brp unit yg dapet WBBM?", (passage(10),)),
        (pseudonym(SENDERS["alice"], SALT), "Ada berapa WBBM?", (passage(10),)),
        (pseudonym(SENDERS["dave"], SALT), "WBK itu penghargaan dari siapa?", (passage(5),)),
    ]


def test_latency_runs_from_the_user_event_to_the_answer_action(tracker_db: tuple[str, dict[str, int]]) -> None:
    usage = usage_of(tracker_db[0])
    # Eleven answer actions, 0.05 to 0.5 s after their user event (the 👎's next best is not one of them).
    assert sorted(round(s, 3) for s in usage.latencies) == [0.05, 0.1, 0.12, 0.15, 0.2, 0.2, 0.25, 0.3, 0.3, 0.4, 0.5]
    assert usage.latency(50) == pytest.approx(200, abs=0.01)
    assert usage.latency(95) == pytest.approx(400, abs=0.01)


def test_questions_are_clustered_by_meaning(tracker_db: tuple[str, dict[str, int]]) -> None:
    usage = usage_of(tracker_db[0])
    asked = {c.representative: (c.count, {v for v, _ in c.variants}) for c in usage.asked}
    assert asked == {
        # Two phrasings, one asked twice (by alice and carol): that one represents the group. The chat
        # spelling "dapet" means "mendapat", a content word the hashed test embedder weighs like any other,
        # so "brp unit yg dapet WBBM?" stays apart under it.
        "Berapa yang dapat WBBM?": (3, {"Berapa yang dapat WBBM?", "Ada berapa WBBM?"}),
        "brp unit yg dapet WBBM?": (1, {"brp unit yg dapet WBBM?"}),
        "Berapa gaji pegawai BBPPT?": (2, {"Berapa gaji pegawai BBPPT?", "gaji pegawai BBPPT berapa ya?"}),
        "Apa kata Ismail?": (1, {"Apa kata Ismail?"}),
        "Hari ini hujan gak ya": (1, {"Hari ini hujan gak ya"}),
        "Siapa penulis artikel ini?": (1, {"Siapa penulis artikel ini?"}),
        "WBK itu penghargaan dari siapa?": (1, {"WBK itu penghargaan dari siapa?"}),
    }
    assert [c.representative for c in usage.asked][:2] == ["Berapa yang dapat WBBM?", "Berapa gaji pegawai BBPPT?"]
    assert [(c.representative, c.count) for c in usage.unanswered] == [
        ("Berapa gaji pegawai BBPPT?", 2), ("Hari ini hujan gak ya", 1),
    ]


def test_clustering_groups_paraphrases_and_keeps_topics_apart() -> None:
    questions = ["Berapa yang dapat WBBM?", "berapa yang dapat wbbm", "ada berapa WBBM?", "Apa kata Ismail?",
                 "Ismail bilang apa?", "Berapa gaji pegawai BBPPT?"]
    clusters = cluster_questions(questions, HashEmbedder(), threshold=0.6)
    assert [(c.representative, c.count, len(c.variants)) for c in clusters] == [
        ("Berapa yang dapat WBBM?", 3, 2), ("Apa kata Ismail?", 2, 2), ("Berapa gaji pegawai BBPPT?", 1, 1),
    ]
    assert normalise("  Berapa yang  dapat WBBM ?! ") == normalise("berapa yang dapat wbbm")
    assert cluster_questions([], HashEmbedder(), 0.6) == []


def test_the_report_shows_pseudonyms_never_sender_ids(tracker_db: tuple[str, dict[str, int]], tmp_path: Path) -> None:
    usage = usage_of(tracker_db[0])
    out = tmp_path / "reports" / "usage.md"
    plot = write_report(usage, SETTINGS, out)
    text = out.read_text(encoding="utf-8")
    assert plot is not None and plot.read_bytes().startswith(b"\x89PNG")
    assert "![Usage](usage.png)" in text
    for sender in SENDERS.values():
        assert sender not in text
    assert "100200300" not in text and "5f3a9c" not in text
    assert pseudonym(SENDERS["bob"], SALT) in text
    assert "| questions about the articles | 10 |" in text
    assert '| abstained ("not in the article") | 3 (30.0 %) |' in text
    assert f"| {passage(10)} | 1 | 2 |" in text
    lines = "\n".join(summary_lines(usage))
    assert "answer action latency p50 / p95" in lines and "200 / 400 ms (n = 11)" in lines
    assert all(sender not in lines for sender in SENDERS.values())


def test_pseudonyms_are_keyed_and_stable(tmp_path: Path) -> None:
    one = pseudonym("telegram-100200300", "salt-a")
    assert one == pseudonym("telegram-100200300", "salt-a") != pseudonym("telegram-100200300", "salt-b")
    assert one.startswith("r-") and "100200300" not in one
    salt_file = tmp_path / "var" / "report-salt"
    first = stored_salt(salt_file)
    assert stored_salt(salt_file) == first and len(first) == 64
    assert salt_file.stat().st_mode & 0o777 == 0o600
    assert "***" in repr(UsageSettings(salt=first, cluster_threshold=0.9, review_min_confidence=0.6, top=10))


def test_an_empty_tracker_store_gives_an_empty_report(tmp_path: Path) -> None:
    path = tmp_path / "empty.db"
    SQLTrackerStore(dialect="sqlite", db=str(path)).engine.dispose()
    usage = usage_of(f"sqlite:///{path}")
    assert (usage.conversations, usage.questions, usage.latency(50)) == (0, 0, None)
    assert "No questions yet." in render_markdown(usage, SETTINGS, None)


# --- pruning ------------------------------------------------------------------------------------


def senders_in(url: str) -> set[str]:
    with sqlite3.connect(url.removeprefix("sqlite:///")) as conn:
        return {row[0] for row in conn.execute("SELECT DISTINCT sender_id FROM events")}


def test_prune_removes_whole_old_conversations_only(tracker_db: tuple[str, dict[str, int]]) -> None:
    url, stored = tracker_db
    old_events = sum(stored[SENDERS[name]] for name in OLD)
    dry = prune(url, 30, dry_run=True)
    assert (dry.conversations, dry.events) == (2, old_events)
    assert senders_in(url) == set(SENDERS.values())
    done = prune(url, 30)
    assert (done.conversations, done.events) == (2, old_events)
    # henk's first events are 50 days old, but he came back yesterday: his whole conversation stays.
    assert senders_in(url) == set(SENDERS.values()) - {SENDERS[name] for name in OLD}
    with sqlite3.connect(url.removeprefix("sqlite:///")) as conn:
        kept = conn.execute("SELECT COUNT(*) FROM events WHERE sender_id = ?", (SENDERS["henk"],)).fetchone()[0]
    assert kept == stored[SENDERS["henk"]]
    assert prune(url, 30).conversations == 0
    everything = prune(url, 0)
    assert everything.conversations == 5 and senders_in(url) == set()


def make(*args: str, timeout: float = 900) -> subprocess.CompletedProcess[str]:
    """A Makefile target, with a salt of its own so the test never creates var/report-salt."""
    return subprocess.run(["make", "--no-print-directory", "-s", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, "REPORT_SALT": SALT})


def test_make_prune_refuses_a_missing_or_negative_days_and_reports_what_it_removed(
    tracker_db: tuple[str, dict[str, int]],
) -> None:
    url, stored = tracker_db
    tracker = f"USAGE_ARGS=--tracker {url}"
    missing = make("prune", tracker)
    assert missing.returncode == 2 and "usage: make prune DAYS=N" in missing.stdout
    for bad in ("-3", "abc"):
        refused = make("prune", tracker, f"DAYS={bad}")
        assert refused.returncode != 0 and "DAYS must be a number of days, 0 or more" in refused.stderr
    assert senders_in(url) == set(SENDERS.values())
    old_events = sum(stored[SENDERS[name]] for name in OLD)
    dry = make("prune", tracker, "DAYS=30", "DRY_RUN=1")
    assert dry.returncode == 0 and f"would remove 2 conversations ({old_events} events)" in dry.stdout
    done = make("prune", tracker, "DAYS=30")
    assert done.returncode == 0, done.stderr
    assert f"removed 2 conversations ({old_events} events) whose last event is older than 30 days" in done.stdout
    assert len(senders_in(url)) == 5


def test_the_production_endpoints_need_their_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("DB_HOST", "DB_PORT", "DB_NAME", "DB_USER", "DB_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(SystemExit, match="DB_HOST, DB_NAME, DB_PASSWORD, DB_PORT, DB_USER"):
        tracker_url_from(ROOT / "bot" / "endpoints-production.yml")
    monkeypatch.setenv("DB_HOST", "db.internal")
    monkeypatch.setenv("DB_PORT", "5432")
    monkeypatch.setenv("DB_NAME", "rasa")
    monkeypatch.setenv("DB_USER", "rasa")
    monkeypatch.setenv("DB_PASSWORD", "")
    assert tracker_url_from(ROOT / "bot" / "endpoints-production.yml") == "postgresql://rasa@db.internal:5432/rasa"
    assert tracker_url_from(ROOT / "bot" / "endpoints.yml") == f"sqlite:///{ROOT / 'var' / 'tracker.db'}"


# --- the review export --------------------------------------------------------------------------


def review_of(url: str, known: set[str] | None = None) -> list[Any]:
    return review_items(conversations(read_rows(url)), 0.6, known or set())


def test_review_exports_unsure_turns_and_downvoted_questions(tracker_db: tuple[str, dict[str, int]]) -> None:
    items = review_of(tracker_db[0], known={normalise("Siapa penulis artikel ini?")})
    assert [(i.intent, i.text, i.low_confidence, len(i.downvoted_answers)) for i in items] == [
        ("ask_article", "Ada berapa WBBM?", False, 1),            # 👎 typed ("kurang tepat")
        ("ask_article", "Berapa gaji pegawai BBPPT?", True, 0),   # confidence 0.55
        ("ask_article", "brp unit yg dapet WBBM?", True, 1),      # nlu_fallback, and 👎
        ("ask_article", "WBK itu penghargaan dari siapa?", False, 1),  # 👎 only
        ("out_of_scope", "Hari ini hujan gak ya", True, 0),       # nlu_fallback; out_of_scope below it
    ]
    comments = [i.comment() for i in items]
    assert comments[0] == ('# review: 👎 on "Jawaban dari paragraf 10." (antara-kominfo-wbk-2020#10); '
                           "predicted ask_article 0.95; asked 1x")
    assert comments[1] == "# review: confidence 0.55 for ask_article; asked 1x"
    assert comments[2].startswith("# review: confidence 0.45 for ask_article (nlu_fallback); next help 0.30; 👎 on")
    assert comments[3].startswith('# review: 👎 on "Jawaban dari paragraf 5." (antara-kominfo-wbk-2020#5)')
    assert comments[4] == "# review: confidence 0.41 for out_of_scope (nlu_fallback); next ask_article 0.30; asked 1x"
    # Known examples are not offered again: the byline question (confidence 0.5) is already training data.
    assert "Siapa penulis artikel ini?" in [i.text for i in review_of(tracker_db[0])]


def test_review_skips_button_payloads_and_neutralises_entity_markup() -> None:
    conv = Conversation("x", 0.0, 1.0, turns=[
        Turn('/choose_passage{"paragraph": 4}', 0.0, "choose_passage", 0.2, []),
        Turn("apa itu [WBK](article)?", 0.5, "ask_article", 0.3, []),
    ])
    items = review_items([conv], 0.6, set())
    assert [i.text for i in items] == ["apa itu (WBK)(article)?"]


def test_the_review_file_is_rasa_nlu_data(tracker_db: tuple[str, dict[str, int]], tmp_path: Path) -> None:
    from rasa.shared.nlu.training_data.loading import load_data

    items = review_of(tracker_db[0])
    path = tmp_path / "review-nlu.yml"
    path.write_text(render_review(items, "test", 0.6), encoding="utf-8")
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert data["version"] == "3.1" and len(data["nlu"]) == len(items) == 6
    loaded = load_data(str(path))
    assert sorted((m.get("intent"), m.get("text")) for m in loaded.intent_examples) == sorted(
        (i.intent, i.text) for i in items
    )
    empty = tmp_path / "empty.yml"
    empty.write_text(render_review([], "test", 0.6), encoding="utf-8")
    assert load_data(str(empty)).intent_examples == []


def test_training_examples_are_read_without_entity_markup(tmp_path: Path) -> None:
    (tmp_path / "a.yml").write_text(
        'version: "3.1"\nnlu:\n- intent: choose_article\n  examples: |\n    - di artikel [x](article) saja\n'
        "    - Apa itu WBK?\n- regex: r\n  examples: |\n    - \\d+\n", encoding="utf-8")
    assert training_examples(tmp_path) == {"di artikel x saja", "apa itu wbk", "\\d+"}


def test_make_review_writes_to_reports_never_to_bot_data(tracker_db: tuple[str, dict[str, int]],
                                                         tmp_path: Path) -> None:
    out = tmp_path / "review-nlu.yml"
    before = sorted(p.name for p in (ROOT / "bot" / "data").rglob("*"))
    result = make("review", f"USAGE_ARGS=--tracker {tracker_db[0]}", f"REVIEW_FILE={out}")
    assert result.returncode == 0, result.stderr
    assert "wrote 5 examples to review" in result.stdout
    assert sorted(p.name for p in (ROOT / "bot" / "data").rglob("*")) == before
    text = out.read_text(encoding="utf-8")
    # bot/data/nlu has "siapa penulis artikel ini?", so it is not offered again.
    assert "Siapa penulis artikel ini?" not in text and "- Hari ini hujan gak ya" in text


# --- slow: the real embedder, the Makefile targets end to end, rasa data validate, PostgreSQL ----------


@pytest.mark.slow
def test_e5_groups_paraphrases_and_keeps_topics_apart() -> None:
    from knowledge.embed import Embedder
    from knowledge.settings import get_settings

    settings = get_settings()
    embedder = Embedder(settings.embedding_model, settings.query_prefix, settings.passage_prefix)
    groups = {
        "wbbm": ["Berapa yang dapat WBBM?", "Ada berapa WBBM?"],
        "gaji": ["Berapa gaji pegawai BBPPT?", "gaji pegawai BBPPT berapa ya?", "berapa penghasilan pegawai BBPPT?"],
        "ismail": ["Apa kata Ismail?", "Ismail bilang apa?"],
        "iphone": ["Harga iPhone terbaru berapa ya?", "berapa harga iphone sekarang?"],
        "liga": ["Siapa pemenang Liga Inggris musim lalu?", "siapa juara liga inggris tahun lalu?"],
    }
    clusters = cluster_questions([q for qs in groups.values() for q in qs], embedder,
                                 UsageSettings.from_env(with_salt=False).cluster_threshold)
    assert sorted(sorted(v for v, _ in c.variants) for c in clusters) == sorted(sorted(qs) for qs in groups.values())


@pytest.mark.slow
def test_make_report_with_the_real_embedder(tracker_db: tuple[str, dict[str, int]], tmp_path: Path) -> None:
    out = tmp_path / "usage.md"
    result = make("report", f"USAGE_ARGS=--tracker {tracker_db[0]} --out {out}")
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert "questions about the articles" in result.stdout and "wrote" in result.stdout
    text = out.read_text(encoding="utf-8")
    assert "| conversations | 6 (and 1 opened without a message) |" in text
    assert (tmp_path / "usage.png").read_bytes().startswith(b"\x89PNG")
    assert all(sender not in text for sender in SENDERS.values())


@pytest.mark.slow
def test_the_review_file_passes_rasa_data_validate(tracker_db: tuple[str, dict[str, int]], tmp_path: Path) -> None:
    out = tmp_path / "review-nlu.yml"
    assert make("review", f"USAGE_ARGS=--tracker {tracker_db[0]}", f"REVIEW_FILE={out}").returncode == 0
    result = make("review-validate", f"REVIEW_FILE={out}")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]


PG_PORT = int(os.environ.get("TEST_USAGE_PG_PORT", "6632"))
PG = {"DB_HOST": "127.0.0.1", "DB_PORT": str(PG_PORT), "DB_NAME": "rasa", "DB_USER": "rasa",
      "DB_PASSWORD": "usage-test-pw"}


@pytest.fixture(scope="module")
def postgres_db() -> Iterator[dict[str, str]]:
    """A throw-away PostgreSQL on 127.0.0.1:PG_PORT, as in tests/test_production.py, with a `rasa` database."""
    home = Path(tempfile.mkdtemp(prefix="tanya-usage-pg-"))
    home.chmod(0o755)
    try:
        with throwaway_postgres(home, PG_PORT, PG) as db:
            yield db
    finally:
        shutil.rmtree(home, ignore_errors=True)


@pytest.mark.slow
def test_report_and_prune_on_postgresql_through_the_production_endpoints(
    postgres_db: dict[str, str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    store = SQLTrackerStore(dialect="postgresql", host=PG["DB_HOST"], port=PG_PORT, db=PG["DB_NAME"],
                            username=PG["DB_USER"], password=PG["DB_PASSWORD"])
    stored = seed(store)
    store.engine.dispose()
    for name, value in PG.items():
        monkeypatch.setenv(name, value)
    url = tracker_url_from(ROOT / "bot" / "endpoints-production.yml")
    usage = usage_of(url)
    assert (usage.conversations, usage.turns, usage.questions) == (6, 23, 10)
    assert dict(usage.outcomes) == {"answered": 6, "clarified": 1, "abstained": 3}
    assert dict(usage.ratings) == {"up": 2, "down": 3}
    old_events = sum(stored[SENDERS[name]] for name in OLD)
    # The Makefile's way: ENDPOINTS=bot/endpoints-production.yml, the DB_* variables from the environment.
    done = make("prune", "DAYS=30", "ENDPOINTS=bot/endpoints-production.yml")
    assert done.returncode == 0, done.stderr
    assert f"removed 2 conversations ({old_events} events)" in done.stdout
    assert "usage-test-pw" not in done.stdout
    assert usage_of(url).conversations == 4
