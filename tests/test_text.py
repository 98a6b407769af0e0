"""Normalisation that lets chat spelling meet the article's formal Indonesian."""

from __future__ import annotations

from knowledge.text import content_terms, normalize, words


def test_chat_spellings_expand() -> None:
    assert words("brp unit yg gak diusulkan, gimana?") == ["berapa", "unit", "yang", "tidak", "diusulkan", "bagaimana"]


def test_apostrophes_inside_names_disappear() -> None:
    assert normalize("Ma’ruf") == normalize("Ma'ruf") == "maruf"


def test_content_terms_are_stems_without_question_words() -> None:
    assert content_terms("Siapa yang menerima predikat WBK?") == ["terima", "predikat", "wbk"]
    assert content_terms("brp unit kerja yg diusulkan?") == ["unit", "kerja", "usul"]


def test_numbers_stay_whole() -> None:
    assert "3.691" in words("Ada 3.691 unit kerja")
