"""Text normalisation for matching: chat spelling, stemming and stopwords.

Users write "brp unit yg diusulkan?"; the article writes "berapa unit kerja
yang diusulkan". Lexical matching works on stems of content words after chat
spellings are expanded, so both sides meet in the middle.

Two stems, because a full stemmer joins words of different meaning: Sastrawi
takes "penghargaan" (award) to "harga" (price), "pemerintah" to "perintah",
"ketua" to "tua". `light_stem` strips only what leaves the meaning alone
(verb affixes me-/di-/ber-/ter-, -kan, -i, and -nya, -lah, -kah); a noun made
with pe-/ke- or -an keeps its own form. Matching uses light stems; the full
stem is one weaker signal among others (`loose_terms`).
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from .lexicon import chat_spellings, function_words, question_words


@lru_cache(maxsize=1)
def stopwords() -> frozenset[str]:
    """Sastrawi's Indonesian stopwords plus question words, particles and English function words."""
    from Sastrawi.StopWordRemover.StopWordRemoverFactory import StopWordRemoverFactory

    return frozenset(StopWordRemoverFactory().get_stop_words()) | function_words()


@lru_cache(maxsize=1)
def _stemmer():  # type: ignore[no-untyped-def]
    from Sastrawi.Stemmer.StemmerFactory import StemmerFactory

    stemmer = StemmerFactory().create_stemmer()
    # Sastrawi keeps its 30k root words in a list and scans it on every lookup; a word it does not
    # know (a name, English) needs hundreds of lookups, up to 300 ms per word. A set gives the same
    # answers in constant time (make bench, bench/results.md).
    dictionary = stemmer.delegatedStemmer.get_dictionary()
    dictionary.words = frozenset(dictionary.words)
    return stemmer


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """The Sastrawi root of one lowercase word; numbers and abbreviations stay as they are."""
    if not word.isalpha() or len(word) <= 3:
        return word
    return _stemmer().stem(word) or word


def is_root(word: str) -> bool:
    """Whether Sastrawi's dictionary of Indonesian root words has this word."""
    return bool(word) and _stemmer().delegatedStemmer.get_dictionary().contains(word)


@lru_cache(maxsize=65536)
def light_stem(word: str) -> str:
    """The root when only verb affixes were removed; a pe-/ke-/-an noun keeps its form.

    "diusulkan", "mengusulkan" -> "usul"; "penghargaan" stays (its root "harga" means price),
    "pemerintah" stays (not "perintah"), "ketua" stays (not "tua").
    """
    if "-" in word:  # reduplication: "rumah-rumah" -> "rumah"
        first, _, second = word.partition("-")
        if first == second:
            word = first
    root = stem(word)
    if root == word:
        return word
    nominal = word.startswith(("pe", "ke")) or (word.endswith("an") and not word.endswith("kan"))
    return word if nominal else root


def normalize(text: str) -> str:
    """Lowercase, unify quotes and dashes, drop apostrophes inside names (Ma’ruf -> maruf)."""
    text = unicodedata.normalize("NFKC", text).lower()
    text = re.sub(r"(?<=\w)['’]s\b", "", text)  # English possessive: Ismail's -> ismail
    text = re.sub(r"(?<=\w)['’`](?=\w)", "", text)
    return re.sub(r"[“”\"‘’`]", " ", text)


# 1-9 in words; extract.py builds its number phrases from the same list.
DIGIT_WORDS = ("satu", "dua", "tiga", "empat", "lima", "enam", "tujuh", "delapan", "sembilan")
_ONES = ("", *DIGIT_WORDS)


def spelled_number(n: int) -> str | None:
    """Indonesian words for 1-1000 ("lima", "dua belas", "seratus dua puluh"): news style spells small numbers.

    A reader types "5 kilo" where the article writes "lima kilogram"; the number is there all the same.
    """
    if not 0 < n <= 1000:
        return None
    if n == 1000:
        return "seribu"
    parts: list[str] = []
    hundreds, rest = divmod(n, 100)
    if hundreds:
        parts.append("seratus" if hundreds == 1 else f"{_ONES[hundreds]} ratus")
    tens, ones = divmod(rest, 10)
    if tens == 1:
        parts.append({0: "sepuluh", 1: "sebelas"}.get(ones, f"{_ONES[ones]} belas"))
    else:
        if tens:
            parts.append(f"{_ONES[tens]} puluh")
        if ones:
            parts.append(_ONES[ones])
    return " ".join(parts)


JOINED_MANA = re.compile(r"(di|ke|dari)mana(?:kah)?")  # "dimana", "kemanakah": "di mana", "ke mana"
TOKEN = re.compile(r"\d+(?:[.,]\d+)*|[^\W\d_]+(?:-[^\W\d_]+)*")


def words(text: str) -> list[str]:
    """Normalised words with chat spellings expanded; reduplications (kata-kata) kept whole."""
    chat = chat_spellings()
    out: list[str] = []
    for token in TOKEN.findall(normalize(text)):
        out.extend(_question_word(chat.get(token, token)).split())
    return [strip_clitic(w) for w in out]


def _question_word(token: str) -> str:
    """A question word as its table writes it: apart from a preposition written onto it ("dimana", "kemana",
    "darimana") and without the particle -kah ("siapakah", "dimanakah"). "Apakah" asks yes or no and stays.
    """
    if joined := JOINED_MANA.fullmatch(token):
        return f"{joined[1]} mana"
    if token.endswith("kah") and token != "apakah" and token[:-3] in question_words():
        return token[:-3]
    return token


def strip_clitic(word: str) -> str:
    """'pemenangnya' -> 'pemenang', 'WBK-nya' -> 'wbk': the possessive -nya carries no topic."""
    if word.endswith("-nya"):
        return word[:-4]
    if word.endswith("nya") and len(word) >= 7:
        return word[:-3]
    return word


# "berapa banyak", "seberapa lama": after "berapa" these words say how the question asks, not what about
ASKING_AFTER_BERAPA = frozenset({"banyak", "lama"})


def content_words(text: str) -> list[str]:
    """The words that carry meaning, as written (normalised): no stopwords, no question words."""
    sw = stopwords()
    found = words(text)
    return [w for i, w in enumerate(found) if w not in sw and len(w) > 1
            and not (w in ASKING_AFTER_BERAPA and i > 0 and found[i - 1] in ("berapa", "seberapa"))]


def content_terms(text: str) -> list[str]:
    """Light stems of the content words: what lexical matching compares."""
    return [light_stem(w) for w in content_words(text)]


def loose_terms(text: str) -> list[str]:
    """Full Sastrawi stems of the content words: a weaker match that also joins derived nouns."""
    return [stem(w) for w in content_words(text)]
