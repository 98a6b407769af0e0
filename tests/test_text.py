"""Normalisation that lets chat spelling meet the article's formal Indonesian, without joining unrelated words."""

from __future__ import annotations

import pytest

from knowledge.text import content_terms, light_stem, loose_terms, normalize, spelled_number, stem, words


def test_chat_spellings_expand() -> None:
    assert words("brp unit yg ga diusulkan, gimana?") == ["berapa", "unit", "yang", "tidak", "diusulkan", "bagaimana"]


def test_apostrophes_inside_names_disappear() -> None:
    assert normalize("Ma’ruf") == normalize("Ma'ruf") == "maruf"


def test_content_terms_are_light_stems_without_question_words() -> None:
    assert content_terms("Siapa yang menerima predikat WBK?") == ["terima", "predikat", "wbk"]
    assert content_terms("brp unit kerja yg diusulkan?") == ["unit", "kerja", "usul"]


def test_numbers_stay_whole() -> None:
    assert "3.691" in words("Ada 3.691 unit kerja")


@pytest.mark.parametrize(("word", "light"), [
    ("penghargaan", "penghargaan"),  # an award; its root "harga" is a price
    ("pemerintah", "pemerintah"),  # not "perintah", an order
    ("ketua", "ketua"),  # not "tua", old
    ("kebakaran", "kebakaran"),
    ("diusulkan", "usul"), ("mengusulkan", "usul"),  # verb affixes change nothing of the meaning
    ("menerima", "terima"), ("diterima", "terima"),
    ("terendam", "rendam"),
    ("rumah-rumah", "rumah"),
])
def test_light_stems_strip_verb_affixes_but_keep_derived_nouns(word: str, light: str) -> None:
    assert light_stem(word) == light


def test_a_shared_full_stem_is_not_a_shared_word() -> None:
    """Sastrawi takes both to "harga"; matching must not."""
    assert stem("penghargaan") == stem("harga") == "harga"
    assert content_terms("berapa harga beras") == ["harga", "beras"]
    assert "harga" not in content_terms("Kominfo menerima penghargaan")
    assert "harga" in loose_terms("Kominfo menerima penghargaan")  # the weaker signal still sees it


@pytest.mark.parametrize(
    ("n", "words"),
    [(1, "satu"), (5, "lima"), (10, "sepuluh"), (11, "sebelas"), (12, "dua belas"), (20, "dua puluh"),
     (47, "empat puluh tujuh"), (100, "seratus"), (115, "seratus lima belas"), (250, "dua ratus lima puluh"),
     (1000, "seribu"), (0, None), (1001, None)],
)
def test_spelled_number(n: int, words: str | None) -> None:
    assert spelled_number(n) == words
