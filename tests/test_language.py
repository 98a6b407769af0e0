"""The language tables: data files of general language, each entry used by readers of more than one dev article.

An entry written to meet one article's wording is the answer key hidden in the code, so every entry of the
chat and question-word tables must occur in the questions of at least two dev articles of the benchmark
(tests/eval/). The test split is not read here.
"""

from __future__ import annotations

import re
import sys
from collections import defaultdict

import pytest

from knowledge.lexical import writes
from knowledge.lexicon import (
    KINDS,
    LANGUAGE_DIR,
    chat_spellings,
    english_markers,
    english_names,
    function_words,
    money_words,
    question_words,
)
from knowledge.settings import ROOT
from knowledge.text import normalize, words

sys.path.insert(0, str(ROOT / "scripts"))
from evalsets import load_sets

MIN_ARTICLES = 2


def dev_questions(expand: bool) -> dict[str, list[str]]:
    """Each dev article's questions, normalised, and with chat spellings expanded if `expand`."""
    def read(text: str) -> str:
        return " ".join(words(text)) if expand else normalize(text)

    return {es.article_id: [read(t["ask"]) for i in es.items for t in i["turns"]] for es in load_sets(("dev",))}


def used_by(phrase: str, questions: dict[str, list[str]]) -> set[str]:
    """The dev articles in whose questions the word or phrase occurs as whole words."""
    pattern = re.compile(r"(?<![\w-])" + re.escape(phrase) + r"(?![\w-])")
    return {aid for aid, asked in questions.items() if any(pattern.search(q) for q in asked)}


@pytest.mark.parametrize(("table", "expand"), [(chat_spellings, False), (question_words, True), (money_words, True)])
def test_every_entry_is_typed_by_readers_of_more_than_one_dev_article(table, expand: bool) -> None:
    """Chat spellings as typed; question words once chat spellings are expanded ("gimana" is "bagaimana")."""
    questions = dev_questions(expand)
    rare = {k: sorted(used_by(k, questions)) for k in table() if len(used_by(k, questions)) < MIN_ARTICLES}
    assert not rare, f"entries used in the questions of fewer than {MIN_ARTICLES} dev articles: {rare}"


def test_chat_spellings_are_single_words_that_expand_to_plain_words() -> None:
    for informal, formal in chat_spellings().items():
        assert re.fullmatch(r"[a-z0-9]+", informal) and re.fullmatch(r"[a-z ]+", formal), (informal, formal)
        assert informal != formal


def test_question_words_name_known_kinds_and_every_kind_has_words() -> None:
    kinds = defaultdict(list)
    for word, kind in question_words().items():
        kinds[kind].append(word)
    assert set(kinds) <= set(KINDS)
    assert set(kinds) >= {"count", "who", "when", "where", "why", "how", "quote"}


def test_function_words_are_words_of_no_topic() -> None:
    words = function_words()
    assert {"apa", "siapa", "berapa", "yang", "the", "what"} <= words
    assert not words & {"harga", "banjir", "korupsi", "penghargaan", "ekspor"}  # content words never hide here


def test_english_markers_are_english_function_words() -> None:
    assert {"the", "what", "how", "is"} <= english_markers()
    assert not english_markers() & {"yang", "dan", "di"}


def test_english_names_are_whole_closed_classes_not_an_articles_words() -> None:
    """Months, days and compass points, every one of them: the table cannot lean toward one article."""
    indonesian = set(english_names().values())
    months = {"januari", "februari", "maret", "april", "mei", "juni", "juli", "agustus", "september", "oktober",
              "november", "desember"}
    days = {"senin", "selasa", "rabu", "kamis", "jumat", "sabtu", "minggu"}
    assert indonesian == months | days | {"utara", "selatan", "timur", "barat", "tengah"}


def test_an_english_name_matches_the_indonesian_spelling_of_its_words() -> None:
    text = normalize("Inflasi Kalimantan Barat pada Januari 2024")
    assert writes("West", text) and writes("January", text) and writes("Kalimantan", text)
    assert not writes("East", text) and not writes("February", text)


def test_the_tables_are_data_files() -> None:
    assert {p.name for p in LANGUAGE_DIR.iterdir()} >= {"chat.tsv", "question_words.tsv", "function_words.txt",
                                                         "english.txt", "english_names.tsv", "speech.txt", "titles.txt",
                                                         "money.txt"}


@pytest.mark.parametrize("removed", ["dituntut", "bebas korupsi", "instansi", "virtual", "menuntut", "predikat"])
def test_no_table_maps_into_the_kominfo_articles_wording(removed: str) -> None:
    """The mappings written for the Kominfo article (harus->dituntut, antikorupsi->bebas korupsi, ...) are gone."""
    assert removed not in set(chat_spellings().values())
