"""Lexical evidence: which of the question's content words a paragraph contains, weighted by rarity.

Words are compared as light stems after chat spellings are expanded (text.py).
Weights are the article's own: a word in every paragraph of one story tells
its paragraphs apart no better than a stopword. An abbreviation that the
article defines ("Wilayah Bebas Korupsi (WBK)") counts as present wherever its
long form is, and the other way round.
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from collections.abc import Iterable

from .chunk import split_sentences
from .lexicon import english_names
from .parse import Article
from .text import content_terms, loose_terms, normalize, spelled_number, stopwords

Key = tuple[str, int]
BM25_K1 = 1.2
BM25_B = 0.75
DEFINITION = re.compile(
    r"(?P<long>(?:[A-Z][\w-]*\s+)(?:(?:[a-z]{2,6}\s+)?[A-Z][\w-]*\s+){1,8})\((?P<abbr>[A-Z][A-Za-z]{1,}[A-Za-z0-9]*)\)"
)


def _spells_in_order(short: str, long: str) -> bool:
    letters = iter(long)
    return all(c in letters for c in short)


def long_form(abbr: str, written: str) -> str | None:
    """The words before "(ABBR)" that the abbreviation stands for, or None if it stands for none of them.

    The shortest run of the last words that starts with the abbreviation's first letter and holds its letters
    in order: "Komisi I Dewan Perwakilan Rakyat (DPR)" defines DPR as "Dewan Perwakilan Rakyat", "Dinas
    Kesehatan (Dinkes)" defines Dinkes, and "PT Kereta Api Indonesia (Persero)" defines nothing.
    """
    words = written.split()
    for start in range(len(words) - 1, -1, -1):
        run = words[start:]
        if run[0][0].lower() == abbr[0].lower() and _spells_in_order(abbr.lower(), "".join(run).lower()):
            return " ".join(run)
    return None


def definitions(text: str) -> list[tuple[str, str]]:
    """(ABBR, long form) for every abbreviation the text defines, in capitals ("WBK") or syllables ("Dinkes")."""
    found = []
    for m in DEFINITION.finditer(text):
        abbr = m["abbr"]
        long = long_form(abbr, m["long"].strip())
        if long is not None and (sum(c.isupper() for c in abbr) >= 2 or len(abbr) >= 4):
            found.append((abbr, long))
    return found


def abbreviations(articles: Iterable[Article]) -> dict[str, str]:
    """ABBR -> long form, from every "Long Name (ABBR)" in the articles."""
    found: dict[str, str] = {}
    for article in articles:
        for para in article.paragraphs:
            for abbr, long in definitions(para.text):
                found.setdefault(abbr, long)
    return found


def name_pieces(name: str) -> list[str]:
    """The words of a name, split at spaces and hyphens ("Corruption-Free Zone": three)."""
    return [p for p in re.split(r"[\s-]+", name.strip()) if p]


def writes(piece: str, text: str) -> bool:
    """Whether the normalised text writes this word of a name at the start of a word, in Indonesian too.

    An English question writes "October" and "West" where the article writes "Oktober" and "Barat"
    (knowledge/language/english_names.tsv).
    """
    low = normalize(piece)
    forms = {low, english_names().get(low, low)}
    return any(re.search(r"(?<!\w)" + re.escape(f), text) for f in forms)


class LexicalIndex:
    """Light-stemmed terms of every paragraph, with each article's IDF, BM25 and coverage scores."""

    def __init__(self, articles: Iterable[Article], extra: dict[Key, set[str]] | None = None) -> None:
        """`extra` adds terms a paragraph implies without writing them, e.g. who "dia" is."""
        articles = list(articles)
        extra = extra or {}
        self.abbreviations = abbreviations(articles)
        self._long_terms = {a.lower(): set(content_terms(long)) for a, long in self.abbreviations.items()}
        self.tokens: dict[Key, list[str]] = {}  # light stems in order, for term frequencies
        self.terms: dict[Key, set[str]] = {}
        self.loose: dict[Key, set[str]] = {}
        self.sentence_terms: dict[Key, list[set[str]]] = {}
        self.surface: dict[str, str] = {}  # normalised text of each article, for names and numbers
        self._words: dict[str, list[str]] = {}  # the surface's words, for abbreviations
        self.keys: dict[str, list[Key]] = defaultdict(list)
        for article in articles:
            for para in article.paragraphs:
                key = (article.id, para.number)
                self.keys[article.id].append(key)
                self.tokens[key] = content_terms(para.text)
                self.terms[key] = self._with_abbreviations(set(self.tokens[key]) | extra.get(key, set()))
                self.loose[key] = set(loose_terms(para.text))
                self.sentence_terms[key] = [set(content_terms(para.text[a:b])) for a, b in split_sentences(para.text)]
            # The title is the article's too: "Kadinsos" may be written only there.
            self.surface[article.id] = normalize(" ".join([article.title or ""] + [p.text for p in article.paragraphs]))
        self._idf: dict[str, dict[str, float]] = {}
        self._unseen: dict[str, float] = {}
        self._avg_len: dict[str, float] = {}
        self.vocabulary: dict[str, set[str]] = {}
        for aid, keys in self.keys.items():
            n = len(keys)
            df = Counter(t for k in keys for t in self.terms[k])
            self._idf[aid] = {t: math.log(1 + (n - c + 0.5) / (c + 0.5)) for t, c in df.items()}
            self._unseen[aid] = math.log(1 + (n + 0.5) / 0.5)
            self._avg_len[aid] = sum(len(self.tokens[k]) for k in keys) / max(1, n)
            self.vocabulary[aid] = set(df) | {t for k in keys for t in self.loose[k]}

    def _with_abbreviations(self, terms: set[str]) -> set[str]:
        out = set(terms)
        for abbr, long in self._long_terms.items():
            if abbr in terms:
                out |= long
            elif long and long <= terms:
                out.add(abbr)
        return out

    def idf(self, article_id: str, term: str) -> float:
        """The term's rarity among this article's paragraphs; a term the article never uses weighs the most."""
        return self._idf[article_id].get(term, self._unseen[article_id])

    def coverage(self, terms: Iterable[str], key: Key, loose: bool = False) -> float:
        """IDF-weighted share of the question's terms the paragraph contains (light stems, or full stems)."""
        wanted = set(terms)
        if not wanted:
            return 0.0
        have = self.loose[key] if loose else self.terms[key]
        weights = {t: self.idf(key[0], t) for t in wanted}
        return sum(w for t, w in weights.items() if t in have) / sum(weights.values())

    def bm25(self, terms: Iterable[str], key: Key) -> float:
        """Okapi BM25 of the paragraph for the question's terms, with the article's statistics."""
        counts = Counter(self.tokens[key])
        length = len(self.tokens[key])
        norm = BM25_K1 * (1 - BM25_B + BM25_B * length / max(1.0, self._avg_len[key[0]]))
        score = 0.0
        for t in set(terms):
            tf = counts.get(t, 0) or (1 if t in self.terms[key] else 0)  # an abbreviation's long form counts once
            if tf:
                score += self.idf(key[0], t) * tf * (BM25_K1 + 1) / (tf + norm)
        return score

    def unknown_share(self, terms: Iterable[str], article_id: str, vocabulary: set[str] | None = None) -> float:
        """IDF-weighted share of the question's terms that the article never uses."""
        wanted = set(terms)
        if not wanted:
            return 0.0
        vocab = self.vocabulary[article_id] if vocabulary is None else vocabulary
        weights = {t: self.idf(article_id, t) for t in wanted}
        return sum(w for t, w in weights.items() if t not in vocab) / sum(weights.values())

    def knows_name(self, name: str, article_id: str) -> bool:
        """Whether the article writes this name (or the abbreviation's long form, or each of its words)."""
        if name.lower() in self._long_terms and name in self.abbreviations:
            return True
        text = self.surface[article_id]
        # Each word of the name is written, or abbreviates words the article writes ("Dirjen SDPPI").
        pieces = name_pieces(name)
        return bool(pieces) and all(
            writes(p, text) or self._abbreviates(p, article_id) for p in pieces
        )

    def _abbreviates(self, name: str, article_id: str) -> bool:
        """Whether `name` is an Indonesian abbreviation of words the article writes one after another.

        Initials ("WNI": warga negara Indonesia) when the name is in capitals ("SMAN": SMA negeri), and
        otherwise syllables of at least two letters ("Dirjen": direktur jenderal, "Dinsos": dinas sosial), so
        that a person's name does not spell out a run of unrelated words. A syllable must begin its word:
        "Kabid" (kepala bidang) is not recognised.
        """
        low = name.lower()
        if not low.isalpha() or not 2 <= len(low) <= 12:
            return False
        shortest = 1 if name.isupper() else 2
        words = self._words.get(article_id)
        if words is None:
            words = self._words[article_id] = re.findall(r"\w+", self.surface[article_id])

        stop = stopwords()

        def spells(rest: str, at: int, pieces: int, initials: bool) -> bool:
            # Bare initials need three words ("MK" would spell any "mengancam kebebasan").
            if not rest:
                return pieces >= (3 if initials else 2)
            if at >= len(words) or words[at] in stop:
                return False
            word = words[at]
            for size in range(min(len(rest), len(word)), shortest - 1, -1):
                if word.startswith(rest[:size]) and spells(rest[size:], at + 1, pieces + 1, initials and size == 1):
                    return True
            return False

        return any(spells(low, i, 0, True) for i, w in enumerate(words) if w[0] == low[0])

    def knows_number(self, number: str, article_id: str) -> bool:
        """Whether the article writes this number, in figures or, for a whole number up to 1000, in words."""
        text = self.surface[article_id]
        if re.search(r"(?<![\d.,])" + re.escape(number) + r"(?![\d])", text):
            return True
        spelled = spelled_number(int(number)) if number.isdigit() else None
        return spelled is not None and re.search(rf"\b{spelled}\b", text) is not None
