"""Suggested questions are derived from the article's own patterns."""

from __future__ import annotations

import dataclasses

from knowledge.parse import Paragraph
from knowledge.suggest import speakers, suggestions


def test_speakers_counts_and_abbreviations_become_questions(article) -> None:
    questions = {s.question: s.paragraphs for s in suggestions(article)}
    assert questions["Apa kata Ismail?"] == (2, 4, 5)
    # Paragraph 7 reports what he stated, 8 goes on "menurut dia", 9 quotes him.
    assert questions["Apa kata Ma'ruf Amin?"] == (7, 8, 9)
    assert questions["Berapa unit kerja yang diusulkan?"] == (10,)
    assert questions["Apa itu WBK?"] == (2, 6)
    assert questions["Apa itu WBBM?"] == (6,)
    assert len(questions) == len(set(q.lower() for q in questions))


def test_speakers_are_named_in_full_as_the_answers_name_them(article) -> None:
    assert speakers(article) == ["Ismail", "Ma'ruf Amin"]
    paragraphs = (
        Paragraph(1, "Ekonom Universitas Sriwijaya (Unsri), Yulia Kartika, menilai kenaikan itu musiman.", 0, 0, 1),
        Paragraph(2, '"Tren tahunan kita masih akan negatif," kata Yulia.', 0, 0, 2),
        # Where it was said is not who said it.
        Paragraph(3, "Di Pasar Flamboyan, pedagang beras Yanti Lestari mengatakan harga beli naik.", 0, 0, 3),
    )
    assert speakers(dataclasses.replace(article, paragraphs=paragraphs)) == ["Yulia Kartika", "Yanti Lestari"]
