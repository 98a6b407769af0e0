"""Actions with rasa_sdk's real Tracker and CollectingDispatcher, and the real retriever."""

from __future__ import annotations

import asyncio
import os
import subprocess
from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.actions import (
    ActionAnswerQuestion,
    ActionFeedback,
    ActionGreet,
    ActionHelp,
    ActionListArticles,
    ActionOutOfScope,
)
from knowledge.settings import ROOT

pytestmark = pytest.mark.slow


def tracker_for(text: str, intent: str = "ask_article", slots: dict[str, Any] | None = None) -> Tracker:
    latest = {"text": text, "intent": {"name": intent, "confidence": 0.9}, "entities": []}
    events: list[dict[str, Any]] = [{"event": "user", "text": text, "parse_data": latest}]
    return Tracker("reader", slots or {}, latest, events, False, None, {}, "action_listen")


def slots(events: list[dict[str, Any]]) -> dict[str, Any]:
    return {e["name"]: e["value"] for e in events if e["event"] == "slot"}


def run(action: Any, tracker: Tracker) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    dispatcher = CollectingDispatcher()
    events = asyncio.run(action.run(dispatcher, tracker, {}))
    return dispatcher.messages, events


def test_answer_names_the_unit_that_received_wbk(retriever) -> None:
    messages, events = run(ActionAnswerQuestion(retriever), tracker_for("Siapa yang menerima predikat WBK?"))
    assert slots(events)["last_question"] == "Siapa yang menerima predikat WBK?"
    assert slots(events)["last_paragraphs"] == [2]
    assert len(messages) == 1
    text = messages[0]["text"]
    assert "Balai Besar Pengujian Perangkat Telekomunikasi" in text
    assert "(Sumber: paragraf 2" in text
    rate, suggested = messages[0]["buttons"][:2], messages[0]["buttons"][2:]
    assert [b["title"] for b in rate] == ["👍", "👎"]
    assert 2 <= len(suggested) <= 3
    assert all(b["payload"] == b["title"] for b in suggested)
    assert slots(events)["last_answer"]["passages"] == ["antara-kominfo-wbk-2020#2"]


def test_answer_quotes_maruf_amin_on_public_service(retriever) -> None:
    messages, _ = run(ActionAnswerQuestion(retriever), tracker_for("Apa yang dikatakan Ma'ruf Amin?"))
    text = messages[0]["text"]
    assert "pelayanan publik" in text
    assert "paragraf 7" in text or "paragraf 9" in text


def test_follow_up_uses_the_slots_and_gives_the_speakers_other_words(retriever) -> None:
    action = ActionAnswerQuestion(retriever)
    _, events = run(action, tracker_for("Menurut Ismail, predikat itu menuntut Kominfo melakukan apa?"))
    first = slots(events)
    assert first["last_speaker"] == "Ismail"
    messages, events = run(action, tracker_for("selain itu beliau bilang apa lagi?", slots=first))
    assert "dua tahun" in messages[0]["text"] or "Balai Besar" in messages[0]["text"]
    assert "standar layanan publik" not in messages[0]["text"]
    assert len(slots(events)["last_paragraphs"]) == 2


def test_only_slots_whose_value_changes_get_an_event(retriever) -> None:
    action = ActionAnswerQuestion(retriever)
    _, events = run(action, tracker_for("Siapa yang menerima predikat WBK?"))
    first = slots(events)
    assert {"last_question", "last_paragraphs", "last_article", "last_answer"} <= set(first)
    assert "article_scope" not in first  # no scope before, none now
    _, events = run(action, tracker_for("Siapa yang menerima predikat WBK?", slots=first))
    assert set(slots(events)) == {"last_answer"}  # the same answer again: only the record of it is new
    _, events = run(action, tracker_for("Berapa instansi yang dapat WBK?", slots=first))
    assert {"last_question", "last_answer"} <= set(slots(events))
    assert "last_article" not in slots(events)  # the same article


def test_elliptic_follow_up_swaps_the_focus(retriever) -> None:
    action = ActionAnswerQuestion(retriever)
    messages, events = run(action, tracker_for("Berapa instansi yang dapat WBK?"))
    assert messages[0]["text"].startswith("681 WBK")
    messages, _ = run(action, tracker_for("kalau WBBM?", slots=slots(events)))
    assert messages[0]["text"].startswith("82 WBBM")


def test_unrelated_question_gets_the_honest_reply(retriever) -> None:
    messages, _ = run(ActionAnswerQuestion(retriever), tracker_for("Siapa pemenang Liga Inggris musim lalu?"))
    text = messages[0]["text"]
    assert text.startswith("Maaf, artikel ini tidak membahas")
    assert "Sumber" not in text
    assert messages[0]["buttons"]


def test_empty_message_gets_the_default_response(retriever) -> None:
    messages, _ = run(ActionAnswerQuestion(retriever), tracker_for("   "))
    assert len(messages) == 1
    assert messages[0]["response"] == "utter_default"
    assert messages[0]["text"] is None


@pytest.mark.parametrize(
    ("action_class", "response"),
    [(ActionGreet, "utter_greet"), (ActionHelp, "utter_help"), (ActionOutOfScope, "utter_out_of_scope")],
)
def test_suggestion_actions_send_their_response_with_article_questions(retriever, action_class, response) -> None:
    action = action_class(retriever)
    assert action.name() == response.replace("utter_", "action_")
    messages, _ = run(action, tracker_for("halo", "greet"))
    assert messages[0]["response"] == response
    titles = [b["title"] for b in messages[0]["buttons"]]
    assert len(titles) == 3
    # Every suggestion must really be answerable from the article.
    for title in titles:
        assert retriever.answer(title).found, title


def test_action_server_refuses_to_start_without_an_index(tmp_path) -> None:
    env = {**os.environ, "INDEX_DIR": str(tmp_path / "no-index")}
    result = subprocess.run(
        ["make", "--no-print-directory", "-s", "actions-server", "ACTIONS_PORT=5199"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode != 0
    assert "Action server cannot start: no index at" in result.stderr
    assert "make index" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_passage_button_answers_from_that_paragraph(retriever) -> None:
    """A "which passage?" button (an older answer's, or a client's) answers the waiting question from it."""
    question = "Apa yang dikatakan tentang predikat Wilayah Bebas Korupsi?"
    latest = {
        "text": '/choose_passage{"article": "antara-kominfo-wbk-2020", "paragraph": 4}',
        "intent": {"name": "choose_passage", "confidence": 1.0},
        "entities": [{"entity": "article", "value": "antara-kominfo-wbk-2020"}, {"entity": "paragraph", "value": 4}],
    }
    tracker = Tracker("reader", {"last_question": question}, latest, [], False, None, {}, "action_listen")
    messages, events = run(ActionAnswerQuestion(retriever), tracker)
    assert "paragraf 4," in messages[0]["text"]
    assert slots(events)["last_paragraphs"] == [4]


def test_a_count_is_led_by_the_part_the_question_names(retriever) -> None:
    """"763 instansi ..., terdiri atas 681 WBK": the question restricted to WBK asks for the part."""
    assert retriever.answer("Berapa instansi yang dapat WBK?").text.startswith("681 WBK")
    assert retriever.answer("Berapa LPNK yang mendapat penghargaan?").text.startswith("19 LPNK")


def test_out_of_scope_still_answers_when_the_article_does(retriever) -> None:
    """NLU's "out of scope" knows nothing of the articles; retrieval has the last word."""
    action = ActionOutOfScope(retriever)
    messages, events = run(action, tracker_for("Siapa yang menerima predikat WBK?", "out_of_scope"))
    assert "Balai Besar Pengujian Perangkat Telekomunikasi" in messages[0]["text"]
    assert slots(events)["last_paragraphs"] == [2]
    messages, events = run(ActionOutOfScope(retriever), tracker_for("buatkan puisi tentang hujan", "out_of_scope"))
    assert messages[0]["response"] == "utter_out_of_scope" and events == []


def test_list_articles_names_the_one_article(retriever) -> None:
    messages, _ = run(ActionListArticles(retriever), tracker_for("Artikel apa saja yang kamu tahu?", "list_articles"))
    assert "satu artikel" in messages[0]["text"] and "(ANTARA, 2020)" in messages[0]["text"]
    assert messages[0]["buttons"], "questions to try"


def test_choose_article_entity_reaches_retrieval_and_sets_the_scope(retriever) -> None:
    latest = {"text": '/choose_article{"article": "antara-kominfo-wbk-2020"}',
              "intent": {"name": "choose_article", "confidence": 1.0},
              "entities": [{"entity": "article", "value": "antara-kominfo-wbk-2020"}]}
    tracker = Tracker("reader", {}, latest, [], False, None, {}, "action_listen")
    messages, events = run(ActionAnswerQuestion(retriever), tracker)
    assert slots(events)["article_scope"] == "antara-kominfo-wbk-2020"
    assert "sekarang saya menjawab dari artikel" in messages[0]["text"]


def feedback_turn(text: str, rating: str | None, last: dict[str, Any] | None) -> Tracker:
    entities = [{"entity": "rating", "value": rating}] if rating else []
    latest = {"text": text, "intent": {"name": "feedback", "confidence": 1.0}, "entities": entities}
    return Tracker("reader", {"last_answer": last} if last else {}, latest, [], False, None, {}, "action_listen")


def test_a_thumbs_up_is_recorded_against_the_answer_it_rates(retriever) -> None:
    _, events = run(ActionAnswerQuestion(retriever), tracker_for("Siapa yang menerima predikat WBK?"))
    last = slots(events)["last_answer"]
    messages, events = run(ActionFeedback(retriever), feedback_turn('/feedback{"rating": "up"}', "up", last))
    record = slots(events)["feedback"]
    assert record == {"rating": "up", "question": "Siapa yang menerima predikat WBK?", "answer": last["text"],
                      "article_id": "antara-kominfo-wbk-2020", "paragraph": 2,
                      "passages": ["antara-kominfo-wbk-2020#2"]}
    assert messages[0]["text"].startswith("Terima kasih")


def test_a_thumbs_down_offers_the_next_best_passage(retriever) -> None:
    _, events = run(ActionAnswerQuestion(retriever), tracker_for("Apa kata Ma'ruf Amin?"))
    last = slots(events)["last_answer"]
    messages, events = run(ActionFeedback(retriever), feedback_turn("jawabannya salah", None, last))  # typed
    got = slots(events)
    assert got["feedback"]["rating"] == "down" and got["feedback"]["paragraph"] == last["paragraph"]
    assert "Terima kasih atas masukannya" in messages[0]["text"]
    offered = got.get("last_answer")
    assert offered is not None and offered["passages"] != last["passages"], messages
    assert offered["paragraph"] in {7, 8, 9}, offered  # another of the paragraphs where Ma'ruf Amin speaks


def test_feedback_before_any_answer_records_nothing(retriever) -> None:
    messages, events = run(ActionFeedback(retriever), feedback_turn("👍", None, None))
    assert events == [] and "Belum ada jawaban" in messages[0]["text"]
