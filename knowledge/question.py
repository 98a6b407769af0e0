"""What kind of answer a question wants, read from its question words.

"Berapa" wants a number, "siapa" a person or organisation, "apa kata X" the
words of X. The kind steers which paragraph wins a near tie and which span of
the sentence leads the reply. English question words are mapped first, so
"how many" is read like "berapa".
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from itertools import pairwise

from .lexicon import looks_english, translate
from .text import TOKEN, content_terms, normalize, stopwords, words

COUNT = {"berapa", "berapakah", "jumlah", "seberapa", "banyaknya", "total"}
WHO = {"siapa", "siapakah"}
WHEN = {"kapan", "kapankah", "tanggal"}
WHY = {"mengapa", "kenapa"}
HOW = {"bagaimana", "bagaimanakah"}
DEFINE = {"kepanjangan", "singkatan", "akronim", "artinya", "arti", "definisi", "pengertian", "maksud", "maksudnya"}
FREQUENCY = re.compile(r"\b(seberapa sering|berapa kali|how often|tiap berapa|setiap berapa|sering)\b")
FOCUS_AFTER = {"berapa", "jumlah", "siapa", "siapakah", "berapakah", "mana"}
VERB = re.compile(r"^(?:di|me[mnr]?|meng|meny|ber|ter|per)\w{3,}(?:kan|i|an)?$")
FILLERS = {"banyak", "total", "sih", "jumlah", "sebenarnya"}
QUOTE = {"kata", "dikatakan", "mengatakan", "disampaikan", "menyampaikan", "dinyatakan", "menyatakan", "pesan",
         "pernyataan", "pernyataannya", "ucapan", "harapan", "berharap", "menurut", "pendapat", "berpendapat",
         "menyebut", "disebut", "bilang", "ngomong"}


@dataclass(frozen=True)
class Question:
    """A question with its expected answer kind and its content terms."""

    text: str
    kind: str  # count, who, who_said, when, where, why, how, define, quote or what
    words: tuple[str, ...]
    terms: tuple[str, ...]
    english: bool
    size: int  # content words as typed, before expansions: how specific the question is

    @property
    def frequency(self) -> bool:
        """'Seberapa sering', 'berapa kali', 'how often': the answer is a frequency, not a count."""
        return bool(FREQUENCY.search(" ".join(self.words)))

    @property
    def listing(self) -> list[str]:
        """For 'pemerintah provinsi mana saja ...': the words naming what should be listed."""
        for i, (a, b) in enumerate(pairwise(self.words)):
            if b == "saja" and a in {"mana", "siapa", "apa"}:
                sw = stopwords()
                return [w for w in self.words[max(0, i - 2):i] if w not in sw]
        return []

    @property
    def verbs(self) -> list[str]:
        """Affixed words (di-/me-/ber-/ter-...), the predicates that short questions hinge on."""
        sw = stopwords()
        return [w for w in self.words if VERB.match(w) and w not in sw and w not in QUOTE]

    @property
    def focus(self) -> str | None:
        """The word right after 'berapa'/'jumlah'/'siapa': what is counted or who is meant."""
        sw = stopwords()
        for i, word in enumerate(self.words[:-1]):
            if word in FOCUS_AFTER:
                for nxt in self.words[i + 1:i + 3]:
                    if nxt == "yang":  # "siapa yang menerima": a verb follows, not a noun
                        return None
                    if nxt not in sw and nxt not in FILLERS:
                        return nxt
                return None
        return None


def analyse(text: str) -> Question:
    """Classify the question and extract the terms used for lexical matching."""
    raw = words(text)
    english = looks_english(raw)
    tokens = translate(raw, english=english)
    said = set(tokens)
    pairs = set(pairwise(tokens))
    if said & DEFINE or ("apa", "itu") in pairs:
        kind = "define"
    elif said & COUNT or ("tahun", "berapa") in pairs:
        kind = "when" if ("tahun", "berapa") in pairs or ("hari", "apa") in pairs else "count"
    elif said & WHEN or ("hari", "apa") in pairs:
        kind = "when"
    elif ("di", "mana") in pairs or ("ke", "mana") in pairs:
        kind = "where"
    elif said & QUOTE:
        kind = "who_said" if said & WHO else "quote"
    elif said & WHO:
        kind = "who"
    elif said & WHY:
        kind = "why"
    elif said & HOW:
        kind = "how"
    else:
        kind = "what"
    sw = stopwords()
    size = sum(1 for t in TOKEN.findall(normalize(text)) if t not in sw)
    return Question(text, kind, tuple(tokens), tuple(content_terms(" ".join(tokens))), english, size)
