"""Suggested questions are derived from the article's own patterns."""

from __future__ import annotations

from knowledge.suggest import suggestions


def test_speakers_counts_and_abbreviations_become_questions(article) -> None:
    questions = {s.question: s.paragraphs for s in suggestions(article)}
    assert questions["Apa kata Ismail?"] == (2, 4, 5)
    assert questions["Apa kata Ma'ruf Amin?"] == (9,)
    assert questions["Berapa unit kerja yang diusulkan?"] == (10,)
    assert questions["Apa itu WBK?"] == (2, 6)
    assert questions["Apa itu WBBM?"] == (6,)
    assert len(questions) == len(set(q.lower() for q in questions))
