"""Question kinds, counts, speakers and follow-ups, on the real article (no model needed)."""

from __future__ import annotations

import pytest

from knowledge.extract import best_count, count_spans, paragraph_speakers
from knowledge.followup import Context, focus_of, resolve
from knowledge.question import analyse
from knowledge.text import content_terms


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("Berapa unit kerja yang diusulkan?", "count"),
        ("How many work units were proposed?", "count"),
        ("Siapa yang menerima predikat WBK?", "who"),
        ("Siapa yang berpendapat begitu?", "who_said"),
        ("Apa kata Ismail?", "quote"),
        ("Apa kepanjangan WBK?", "define"),
        ("Kapan acara itu diadakan?", "when"),
        ("Tahun berapa acara itu?", "when"),
        ("Di mana acaranya?", "where"),
    ],
)
def test_question_kind(question: str, kind: str) -> None:
    assert analyse(question).kind == kind


def test_english_questions_are_translated_before_matching() -> None:
    q = analyse("Who received the WBK award?")
    assert q.english
    assert set(q.terms) == {"terima", "wbk", "harga"}


def test_counts_in_the_last_paragraph(article) -> None:
    text = article.paragraphs[9].text
    spans = [c.text for c in count_spans(text)]
    assert "3.691 unit kerja yang diusulkan" in spans
    assert "sembilan pemerintah kota" in spans
    assert not any(s.startswith("2020") for s in spans)  # "tahun 2020" is a date
    assert best_count(text, set(content_terms("berapa yang dapat WBBM"))).text.startswith("82 WBBM")
    assert best_count(text, set(content_terms("berapa LPNK"))).text == "19 LPNK"


def test_speakers_include_pronoun_references(article) -> None:
    speakers = {n: s.name for n, s in paragraph_speakers(article).items()}
    assert speakers == {2: "Ismail", 4: "Ismail", 5: "Ismail", 7: "Ma'ruf Amin", 8: "Ma'ruf Amin", 9: "Ma'ruf Amin"}


@pytest.mark.parametrize(
    ("question", "context", "expected", "more"),
    [
        ("selain itu beliau bilang apa lagi?", Context("Apa kata Ismail?", "Ismail"),
         "selain itu Ismail bilang apa lagi?", True),
        ("kalau WBBM?", Context("Berapa instansi yang dapat WBK?", "", "WBK"), "Berapa instansi yang dapat WBBM?",
         False),
        ("kalau pemerintah kota?", Context("Berapa kementerian yang dapat penghargaan?", "", "kementerian"),
         "Berapa pemerintah kota yang dapat penghargaan?", False),
        ("Siapa yang menerima predikat WBK?", Context("Apa kata Ismail?", "Ismail"),
         "Siapa yang menerima predikat WBK?", False),
    ],
)
def test_follow_ups_become_standalone_questions(question: str, context: Context, expected: str, more: bool) -> None:
    resolved = resolve(question, context)
    assert resolved.text == expected
    assert resolved.wants_more is more


def test_focus_is_the_abbreviation_or_the_counted_noun() -> None:
    assert focus_of("Apa kepanjangan WBK?") == "WBK"
    assert focus_of("Berapa kementerian yang dapat penghargaan?") == "kementerian"
