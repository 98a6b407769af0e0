"""Sentence splitting and passages with spans, on the real article."""

from __future__ import annotations

from knowledge.chunk import chunk_article, split_sentences
from tests.conftest import ARTICLE


def test_abbreviations_and_numbers_do_not_end_sentences() -> None:
    text = "Wakil Presiden K.H. Ma’ruf Amin hadir. Ada 3.691 unit dan era 4.0 dimulai. Selesai."
    parts = [text[s:e] for s, e in split_sentences(text)]
    assert parts == ["Wakil Presiden K.H. Ma’ruf Amin hadir.", "Ada 3.691 unit dan era 4.0 dimulai.", "Selesai."]


def test_quoted_sentences_split_after_the_closing_period() -> None:
    text = '"Saya harap begitu. Lakukan inovasi," kata Ma\'ruf Amin.'
    parts = [text[s:e] for s, e in split_sentences(text)]
    assert parts == ['"Saya harap begitu.', 'Lakukan inovasi," kata Ma\'ruf Amin.']


def test_every_passage_span_matches_the_file(article) -> None:
    raw = ARTICLE.read_text(encoding="utf-8")
    passages = chunk_article(article)
    assert [p.id for p in passages] == list(range(len(passages)))
    for p in passages:
        assert raw[p.start:p.end] == p.text
    paragraphs = [p for p in passages if p.kind == "paragraph"]
    assert [p.paragraph for p in paragraphs] == list(range(1, 11))


def test_multi_sentence_paragraph_gets_sentence_passages(article) -> None:
    sentences = [p for p in chunk_article(article) if p.kind == "sentence" and p.paragraph == 9]
    assert len(sentences) == 2
    assert sentences[0].text.startswith('"Saya harapkan')
    assert sentences[1].text.startswith("Lakukan inovasi terbaik")


def test_answers_never_cut_a_quotation_in_half() -> None:
    from knowledge.answer import whole_quotes

    text = 'Pembuka. "Kalimat satu. Kalimat dua," kata Ani. Penutup.'
    second = text.index("Kalimat dua")
    lo, hi = whole_quotes(text, second, text.index("Penutup") - 1)
    assert text[lo:hi] == '"Kalimat satu. Kalimat dua," kata Ani.'
    first = text.index('"Kalimat satu')
    lo, hi = whole_quotes(text, first, first + len('"Kalimat satu.'))
    assert text[lo:hi] == '"Kalimat satu. Kalimat dua," kata Ani.'
    lo, hi = whole_quotes(text, 0, len("Pembuka."))
    assert text[lo:hi] == "Pembuka."


def test_clauses_split_at_commas_but_not_inside_numbers() -> None:
    from knowledge.chunk import split_clauses

    text = "Pada tahun 2020 terdapat 3.691 unit kerja, dan 763 instansi berhasil, frekuensi 2,3GHz dipakai bersama."
    parts = [text[s:e] for s, e in split_clauses(text)]
    assert parts == ["Pada tahun 2020 terdapat 3.691 unit kerja", "dan 763 instansi berhasil",
                     "frekuensi 2,3GHz dipakai bersama."]
