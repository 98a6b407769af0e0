"""Questions about the article itself are answered from the byline, dateline and copyright line."""

from __future__ import annotations

import dataclasses

import pytest

from knowledge.lexical import LexicalIndex, abbreviations, definitions, long_form
from knowledge.meta import meta_answer
from knowledge.parse import Paragraph


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("Siapa wartawan yang menulis berita ini?", "Natisha Andarningtyas"),
        ("yg nulis beritanya siapa sih?", "Natisha Andarningtyas"),
        ("Who wrote this article?", "Natisha Andarningtyas"),
        ("siapa editornya?", "Maria Rosari Dwi Putri"),
        ("Artikel ini bersumber dari media apa?", "ANTARA"),
        ("Berita ini dari kantor berita apa?", "ANTARA"),
        ("Tahun berapa berita ini ditulis?", "2020"),
        ("Berita ini ditulis dari kota mana?", "Jakarta"),
        ("Apa topik utama artikel ini?", "Kementerian Komunikasi dan Informatika mendapat penghargaan"),
        ("Siapa saja narasumber yang dikutip dalam artikel ini?", "Ismail, Ma'ruf Amin"),
    ],
)
def test_meta_questions_get_byline_facts(article, question: str, expected: str) -> None:
    assert expected in (meta_answer(question, article) or "")


@pytest.mark.parametrize(
    "question",
    ["Kapan berita ini diterbitkan?", "When was this article published?", "Tahun berapa artikel ini terbit?"],
)
def test_when_the_article_was_published_is_its_date_not_its_source(article, question: str) -> None:
    """"Diterbitkan" and "published" also ask for the publisher, but with "kapan" or "when" they ask for the date."""
    dated = dataclasses.replace(article, date="Kamis, 25 April 2024")
    assert meta_answer(question, dated) == "Artikel ini terbit pada Kamis, 25 April 2024."
    assert meta_answer(question, article) == "Artikel ini terbit tahun 2020."  # the Kominfo file gives only the year
    assert "ANTARA" in (meta_answer("Siapa yang menerbitkan berita ini?", dated) or "")


@pytest.mark.parametrize(
    "question",
    [
        "Siapa yang menerima predikat WBK?",
        "Direktorat Operasi Sumber Daya berada di bawah direktorat jenderal apa?",
        "Pada hari apa Ismail memberikan keterangan pers?",
        "Acara penganugerahan itu untuk tahun berapa?",
    ],
)
def test_content_questions_are_not_meta(article, question: str) -> None:
    assert meta_answer(question, article) is None


def test_abbreviations_are_learned_from_the_article(article) -> None:
    found = abbreviations([article])
    assert found["WBK"] == "Wilayah Bebas Korupsi"
    assert found["WBBM"] == "Wilayah Birokrasi Bersih Melayani"


@pytest.mark.parametrize(
    ("written", "abbr", "long"),
    [
        ("Komisi I Dewan Perwakilan Rakyat", "DPR", "Dewan Perwakilan Rakyat"),  # the words it stands for only
        ("Semarang - Dinas Kesehatan", "Dinkes", "Dinas Kesehatan"),  # syllables, not capitals
        ("Dinas Perindustrian dan Perdagangan", "Disperindag", "Dinas Perindustrian dan Perdagangan"),
        ("Majelis hakim Pengadilan Tindak Pidana Korupsi", "Tipikor", "Tindak Pidana Korupsi"),
        ("PT Kereta Api Indonesia", "Persero", None),  # a legal form, not an abbreviation
        ("Produk Wisata dan Penyelenggara Kegiatan", "Events", None),  # a translation
    ],
)
def test_the_long_form_is_the_run_of_words_the_abbreviation_spells(written: str, abbr: str, long: str | None) -> None:
    assert long_form(abbr, written) == long


def test_syllable_abbreviations_are_definitions_and_parentheses_of_other_kinds_are_not() -> None:
    text = ("Dinas Kesehatan (Dinkes) Kota Semarang mencatat 1.126 kasus, kata PT Kereta Api Indonesia (Persero) "
            "dan Kepala Biro (Humas).")
    assert definitions(text) == [("Dinkes", "Dinas Kesehatan")]


def test_a_paragraph_that_writes_only_the_syllable_abbreviation_matches_its_long_form(article) -> None:
    paragraphs = (
        Paragraph(1, "Dinas Kesehatan (Dinkes) Kota Semarang mencatat 1.126 kasus DBD.", 0, 0, 1),
        Paragraph(2, '"Kenaikannya sangat tajam," kata Kepala Dinkes Kota Semarang, Bambang Suryo Wibowo.', 0, 0, 2),
    )
    lexical = LexicalIndex([dataclasses.replace(article, paragraphs=paragraphs)])
    assert lexical.coverage(["dinas", "kesehatan"], (article.id, 2)) == 1.0


def test_an_abbreviation_matches_a_paragraph_that_spells_it_out(article) -> None:
    lexical = LexicalIndex([article])
    # Paragraph 3 says "Wilayah Bebas Korupsi" but never "WBK".
    assert lexical.coverage(["wbk"], (article.id, 3)) == 1.0


def test_a_name_the_article_writes_only_in_its_title_is_known(article) -> None:
    titled = dataclasses.replace(article, title="Nawasena Sabrang raih penghargaan WBK")
    assert LexicalIndex([titled]).knows_name("Nawasena Sabrang", article.id)
    assert not LexicalIndex([article]).knows_name("Nawasena Sabrang", article.id)


@pytest.mark.parametrize(
    ("name", "known"),
    [
        ("Wapres", True),  # syllables: WAkil PRESiden
        ("Dirjen", True),  # DIRektur JENderal
        ("ZI", True),  # written as such
        ("MK", False),  # two initials would spell too many runs of words
        ("KPK", False),
        ("Bambang", False),  # a person's name spells no run of the article's words
        ("Wamen", False),
        # A name of several words: each is written, or abbreviates written words.
        ("Dirjen SDPPI", True),
        ("Wapres Ma'ruf Amin", True),
        ("Kepala BBPPT", False),  # the article never writes "kepala"
        ("Dirjen Pajak", False),
        # An English question's day, month and compass words, as Indonesian writes them.
        ("Monday", True),  # "..., Senin."
        ("Tuesday", False),
    ],
)
def test_an_abbreviation_is_known_when_the_article_spells_out_its_words(article, name: str, known: bool) -> None:
    assert LexicalIndex([article]).knows_name(name, article.id) is known


@pytest.mark.parametrize(
    ("number", "known"),
    [
        ("7", True),  # "tujuh pemerintah provinsi"
        ("9", True),  # "sembilan pemerintah kota"
        ("681", True),  # in figures
        ("8", False),  # neither "8" nor "delapan"
        ("68", False),  # not a prefix of 681
    ],
)
def test_a_number_is_known_in_figures_or_in_words(article, number: str, known: bool) -> None:
    assert LexicalIndex([article]).knows_number(number, article.id) is known


def test_a_number_the_article_spells_out_is_not_refused_as_missing(retriever) -> None:
    reply = retriever.answer("Ada 7 pemerintah provinsi yang dapat penghargaan?").text
    assert "tidak membahas" not in reply
    assert "tujuh pemerintah provinsi" in reply


def test_a_title_abbreviated_before_a_name_is_answered(retriever) -> None:
    reply = retriever.answer("Siapa Dirjen SDPPI?").text
    assert "tidak membahas" not in reply
    assert "Ismail" in reply


@pytest.mark.parametrize("question", ["Apa jabatan Ismail?", "Siapa Ismail?", "What is Ismail's position?"])
def test_who_a_quoted_person_is_is_answered_with_their_title(retriever, question: str) -> None:
    answer = retriever.answer(question)
    assert answer.found
    assert answer.lead == "Ismail adalah Direktur Jenderal SDPPi."
    # ... in the middle of a conversation too: it is no follow-up of the question before it
    after = retriever.answer(question, retriever.answer("Apa kepanjangan WBK?").context)
    assert after.found and after.lead == answer.lead


def test_a_question_about_a_quoted_person_that_the_article_does_not_answer_is_still_refused(retriever) -> None:
    assert not retriever.answer("Siapa istri Ismail?").found


def test_who_holds_an_opinion_is_answered_with_the_speaker_a_pronoun_stands_for(retriever) -> None:
    # Paragraph 8 says "menurut dia"; "dia" is the Vice President of paragraph 7.
    answer = retriever.answer("Siapa yang berpendapat bahwa kepercayaan publik hanya bisa diperoleh dari kerja keras?")
    assert answer.paragraph == 8
    assert "Ma'ruf Amin" in (answer.lead or "")


def test_an_abbreviation_the_article_spells_out_is_answered_with_its_long_form(retriever) -> None:
    answer = retriever.answer("WBK sama WBBM tuh kepanjangannya apa aja?")
    assert answer.found
    assert answer.lead == ("WBK adalah singkatan dari Wilayah Bebas Korupsi; "
                           "WBBM adalah singkatan dari Wilayah Birokrasi Bersih Melayani.")


def test_an_abbreviation_the_article_writes_but_never_spells_out_is_not_guessed(retriever) -> None:
    # The article counts "19 LPNK" and never says what LPNK stands for.
    answer = retriever.answer("Apa kepanjangan LPNK?")
    assert not answer.found
    assert "tidak menuliskan kepanjangan LPNK" in answer.text


def test_besides_that_asks_something_new_without_leaving_the_speakers_paragraphs(retriever) -> None:
    first = retriever.answer("Apa kata Ismail?")
    assert first.paragraph == 4
    # "selain itu" opens a new question here, whose answer is in the paragraph just quoted
    answer = retriever.answer("selain itu, standar apa yang harus dipertahankan Kominfo?", first.context)
    assert answer.found and answer.paragraph == 4


def test_what_else_a_person_said_leaves_out_what_was_quoted(retriever) -> None:
    first = retriever.answer("Apa kata Ismail?")
    answer = retriever.answer("selain itu, apa lagi yang dikatakan tentang unit kerja Kominfo?", first.context)
    assert answer.found and answer.paragraph == 2


def test_a_question_about_last_year_is_answered_from_the_background_paragraph(retriever) -> None:
    # paragraph 3 opens "Tahun lalu, ..."; a question about now is steered away from it, one about then to it
    answer = retriever.answer("Which Kominfo unit got the WBK predicate last year?")
    assert answer.found and answer.paragraph == 3


def test_a_question_about_this_year_is_answered_from_the_paragraph_about_now(retriever) -> None:
    # paragraph 3 ("Tahun lalu, ...") names last year's unit; "tahun ini" asks for this year's (paragraph 2)
    answer = retriever.answer("Unit kerja Kominfo apa yang tahun ini dapat WBK?")
    assert answer.found and answer.paragraph == 2
