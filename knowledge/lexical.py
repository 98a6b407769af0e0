"""Lexical evidence: which of the question's content words a paragraph contains.

Words are compared as Sastrawi stems after chat spellings are expanded. An
abbreviation that the article defines ("Wilayah Bebas Korupsi (WBK)") counts
as present wherever its long form is, and the other way round, so "WBK"
matches a paragraph that only spells the name out.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable

from .parse import Article
from .text import content_terms

DEFINITION = re.compile(
    r"(?P<long>(?:[A-Z][\w-]*\s+)(?:(?:[a-z]{2,6}\s+)?[A-Z][\w-]*\s+){1,8})\((?P<abbr>[A-Z]{2,}[A-Za-z]*)\)"
)


def abbreviations(articles: Iterable[Article]) -> dict[str, str]:
    """ABBR -> long form, from every "Long Name (ABBR)" in the articles."""
    found: dict[str, str] = {}
    for article in articles:
        for para in article.paragraphs:
            for m in DEFINITION.finditer(para.text):
                found.setdefault(m["abbr"], m["long"].strip())
    return found


class LexicalIndex:
    """Stemmed term sets per paragraph with IDF weights, for coverage scores."""

    def __init__(self, articles: Iterable[Article]) -> None:
        articles = list(articles)
        self.abbreviations = abbreviations(articles)
        self._long_terms = {a.lower(): set(content_terms(long)) for a, long in self.abbreviations.items()}
        self.terms: dict[tuple[str, int], set[str]] = {}
        for article in articles:
            for para in article.paragraphs:
                self.terms[(article.id, para.number)] = self._with_abbreviations(set(content_terms(para.text)))
        n = len(self.terms)
        df = Counter(t for terms in self.terms.values() for t in terms)
        self.idf = {t: math.log(1 + (n - c + 0.5) / (c + 0.5)) for t, c in df.items()}
        self.unseen_idf = math.log(1 + (n + 0.5) / 0.5)

    def _with_abbreviations(self, terms: set[str]) -> set[str]:
        out = set(terms)
        for abbr, long in self._long_terms.items():
            if abbr in terms:
                out |= long
            elif long and long <= terms:
                out.add(abbr)
        return out

    def weight(self, term: str) -> float:
        """IDF of a term; words the articles never use weigh the most."""
        return self.idf.get(term, self.unseen_idf)

    def coverage(self, question_terms: Iterable[str], key: tuple[str, int]) -> float:
        """IDF-weighted share of the question's content words present in the paragraph."""
        wanted = set(question_terms)
        if not wanted:
            return 0.0
        have = self.terms.get(key, set())
        total = sum(self.weight(t) for t in wanted)
        return sum(self.weight(t) for t in wanted if t in have) / total
