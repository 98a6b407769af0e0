"""The language data of knowledge/language/, read once: chat spellings, question words, function words,
verbs of saying and titles.

The tables are data, not code, and hold only general language: an entry stays when
it is ordinary Indonesian (or an English question word) and readers of more than one
dev article used it (tests/test_language.py). No content word is translated: English
questions reach the article through the multilingual embedding, and through the
names and numbers they share with it (with the month, day and compass words of
names and dates in Indonesian spelling: english_names.tsv).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

LANGUAGE_DIR = Path(__file__).resolve().parent / "language"
KINDS = ("count", "who", "when", "where", "why", "how", "define", "quote", "what")


def _lines(name: str) -> list[str]:
    """The file's lines without comments and blank lines."""
    text = (LANGUAGE_DIR / name).read_text(encoding="utf-8")
    return [line.rstrip("\n") for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]


def _pairs(name: str) -> dict[str, str]:
    pairs: dict[str, str] = {}
    for n, line in enumerate(_lines(name), 1):
        key, sep, value = line.partition("\t")
        if not sep or not key.strip() or not value.strip():
            raise ValueError(f"{LANGUAGE_DIR / name}: entry {n} must be 'key<TAB>value', got {line!r}")
        pairs[key.strip()] = value.strip()
    return pairs


@lru_cache(maxsize=1)
def chat_spellings() -> dict[str, str]:
    """Informal spelling -> the formal word news text uses ("brp" -> "berapa")."""
    return _pairs("chat.tsv")


@lru_cache(maxsize=1)
def question_words() -> dict[str, str]:
    """Question word or phrase (Indonesian, chat or English) -> the kind of answer it asks for."""
    words = _pairs("question_words.tsv")
    unknown = {k: v for k, v in words.items() if v not in KINDS}
    if unknown:
        raise ValueError(f"{LANGUAGE_DIR / 'question_words.tsv'}: unknown kinds {unknown}; kinds are {KINDS}")
    return words


@lru_cache(maxsize=1)
def speech_verbs() -> tuple[frozenset[str], frozenset[str]]:
    """Verbs of saying (speech.txt): those written after a quote ("kata"), and those after a subject."""
    after: set[str] = set()
    subject: set[str] = set()
    for line in _lines("speech.txt"):
        key, sep, rest = line.partition(":")
        if sep:
            (after if key.strip() == "after" else subject).update(rest.split())
    return frozenset(after), frozenset(subject)


@lru_cache(maxsize=1)
def titles() -> frozenset[str]:
    """Office and rank words written before names (titles.txt)."""
    return frozenset(w for line in _lines("titles.txt") for w in line.split())


@lru_cache(maxsize=1)
def function_words() -> frozenset[str]:
    """Words that carry no topic, on top of Sastrawi's stopwords."""
    return frozenset(w for line in _lines("function_words.txt") for w in line.split())


@lru_cache(maxsize=1)
def money_words() -> frozenset[str]:
    """Nouns of price, cost and payment (money.txt): a question about one asks for an amount of money."""
    return frozenset(w for line in _lines("money.txt") for w in line.split())


@lru_cache(maxsize=1)
def english_markers() -> frozenset[str]:
    """Common English function words."""
    return frozenset(w for line in _lines("english.txt") for w in line.split())


@lru_cache(maxsize=1)
def english_names() -> dict[str, str]:
    """English month, day and compass words -> the Indonesian word a name or date is written with."""
    return _pairs("english_names.tsv")


def looks_english(words: list[str]) -> bool:
    """True when at least two tokens, and a quarter of them, are English function words, or when the first is
    an English wh-word ("Which river overflowed?" has only that one).
    """
    if len(words) < 2:
        return False
    markers = english_markers()
    if words[0] in markers and (words[0].startswith("wh") or words[0] == "how"):
        return True
    hits = sum(w in markers for w in words)
    return hits >= 2 and hits >= 0.25 * len(words)
