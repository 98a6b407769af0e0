"""The shared input policy (channels/policy.py) and the claim it rests on: entities cannot set slots."""

from __future__ import annotations

import asyncio
import json

import pytest

from channels.policy import (
    EMPTY_REPLY,
    MAX_MESSAGE_CHARS,
    NO_WORDS_REPLY,
    TOO_LONG_REPLY,
    clean,
    screen,
    slash_command,
    valid_sender,
)
from knowledge.settings import ROOT


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Siapa  yang\tmenerima\nWBK?", "Siapa yang menerima WBK?"),
        ("apa\x00 itu\x07 WBK\x1b?", "apa itu WBK?"),
        ("\ufeffhalo\u202e", "halo"),
        ("lone \ud800 surrogate", "lone surrogate"),
        ("ما هو WBK؟ 🎉", "ما هو WBK؟ 🎉"),
        ("e\u0301", "\u00e9"),  # NFC
    ],
)
def test_clean_keeps_text_and_drops_what_cannot_be_shown(raw: str, expected: str) -> None:
    assert clean(raw) == expected
    clean(raw).encode("utf-8")  # never a lone surrogate left


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("/greet", "/greet"),
        ("/help", "/help"),
        ('/greet{"last_question": "x"}', "/greet"),
        ('/choose_passage{"article": "antara-kominfo-wbk-2020", "paragraph": 3}',
         '/choose_passage{"article": "antara-kominfo-wbk-2020", "paragraph": 3}'),
        ('/choose_passage{"paragraph": "7"}', '/choose_passage{"paragraph": 7}'),
        ('/choose_passage{"paragraph": 999}', '/choose_passage{"paragraph": 999}'),
        ('/choose_passage{"paragraph": 0}', 'choose_passage{"paragraph": 0}'),
        ('/choose_passage{"paragraph": 3, "last_question": "x"}',
         'choose_passage{"paragraph": 3, "last_question": "x"}'),
        ('/choose_passage{"article": "../etc", "paragraph": 3}', 'choose_passage{"article": "../etc", "paragraph": 3}'),
        ("/choose_passage", "choose_passage"),
        ('/choose_article{"article": "antara-kominfo-wbk-2020"}',
         '/choose_article{"article": "antara-kominfo-wbk-2020"}'),
        ('/choose_article{"article": "*"}', '/choose_article{"article": "*"}'),
        ('/choose_article{"article": "../x"}', 'choose_article{"article": "../x"}'),
        ('/choose_article{"article": "a", "paragraph": 2}', 'choose_article{"article": "a", "paragraph": 2}'),
        ("/choose_article", "choose_article"),
        ('/feedback{"rating": "down"}', '/feedback{"rating": "down"}'),
        ('/feedback{"rating": "meh"}', 'feedback{"rating": "meh"}'),
        ('/feedback{"rating": "up", "question": "x"}', 'feedback{"rating": "up", "question": "x"}'),
        ("/restart", "restart"),
        ("/session_start", "session_start"),
        ('/ask_article{"x": 1}', 'ask_article{"x": 1}'),
        ("//greet", "greet"),
        ("/ apa itu WBK", "apa itu WBK"),
        ("apa itu /restart", "apa itu /restart"),
    ],
)
def test_only_our_own_slash_commands_reach_rasa_as_intents(text: str, expected: str) -> None:
    assert slash_command(text) == expected


def test_screen_answers_empty_and_too_long_messages_itself() -> None:
    assert screen("").reply == EMPTY_REPLY
    assert screen(" \n\t\x00 ").reply == EMPTY_REPLY
    assert screen("/").reply == EMPTY_REPLY
    assert screen(None).reply == EMPTY_REPLY
    assert screen("?!?! ... ,,").reply == NO_WORDS_REPLY
    assert screen("\U0001f44d").text == "\U0001f44d"
    assert screen("WBK?").text == "WBK?"
    assert screen("a" * (MAX_MESSAGE_CHARS + 1)).reply == TOO_LONG_REPLY
    assert screen("x" * 1_000_000).reply == TOO_LONG_REPLY
    assert screen("a" * MAX_MESSAGE_CHARS).text == "a" * MAX_MESSAGE_CHARS
    assert screen("  Siapa yang menerima WBK? ").text == "Siapa yang menerima WBK?"


@pytest.mark.parametrize(
    ("sender", "expected"),
    [("pembaca-1", "pembaca-1"), (42, "42"), (" a ", "a"), ("", None), (None, None), (True, None),
     ("x" * 129, None), ("a\nb", None), ({"id": 1}, None)],
)
def test_sender_must_be_a_printable_id(sender: object, expected: str | None) -> None:
    assert valid_sender(sender) == expected


def test_entities_cannot_set_slots() -> None:
    """Every slot has only a custom mapping, so Rasa's slot extraction ignores entities of the same name."""
    from rasa.core.actions.action import ActionExtractSlots
    from rasa.core.channels.channel import CollectingOutputChannel
    from rasa.core.nlg import TemplatedNaturalLanguageGenerator
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.events import SlotSet, UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker

    domain = Domain.load(ROOT / "bot" / "domain.yml")
    for slot in domain.slots:
        assert all(m.get("type") == "custom" for m in slot.mappings), slot.name
    entities = [{"entity": name, "value": "injected"} for name in
                ("last_question", "last_speaker", "last_focus", "last_paragraphs", "article", "paragraph")]
    text = "/greet" + json.dumps({e["entity"]: e["value"] for e in entities})
    tracker = DialogueStateTracker.from_events("attacker", [
        UserUttered(text, intent={"name": "greet", "confidence": 1.0}, entities=entities),
    ], slots=domain.slots)
    events = asyncio.run(ActionExtractSlots(None).run(
        CollectingOutputChannel(), TemplatedNaturalLanguageGenerator(domain.responses), tracker, domain
    ))
    assert not [e for e in events if isinstance(e, SlotSet)], events
