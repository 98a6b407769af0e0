"""Questions the article can answer, derived from its own text.

The bot offers these as buttons. They come from general patterns (who is
quoted, what is counted, which abbreviations are defined), so a new article
gets its own suggestions without anyone writing them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from itertools import zip_longest

from .extract import paragraph_speakers
from .lexical import definitions
from .parse import Article
from .text import stopwords

COUNT = re.compile(r"\b\d[\d.,]*\s+(?P<noun>[a-z]+(?:\s+[a-z]+)?)\s+yang\s+(?P<rest>[a-z]+(?:\s+[a-z]+){0,2})")


@dataclass(frozen=True)
class Suggestion:
    """A question the article answers, and the paragraphs it was derived from."""

    question: str
    paragraphs: tuple[int, ...]
    kind: str

    @property
    def paragraph(self) -> int:
        """The first paragraph it was derived from."""
        return self.paragraphs[0]


def speakers(article: Article) -> list[str]:
    """Everyone the article quotes, in order of first appearance, named in full ("Yulia Kartika", not "Yulia").

    The same reading of who speaks as the answers use (extract.py): "kata X", "menurut X" and "X, menilai".
    """
    return list(dict.fromkeys(s.name for s in paragraph_speakers(article).values()))


def suggestions(article: Article) -> list[Suggestion]:
    """Who said what, how many, and what abbreviations stand for; kinds interleaved, no repeats."""
    found: dict[str, tuple[str, str, list[int]]] = {}

    def add(question: str, paragraph: int, kind: str) -> None:
        _, _, paragraphs = found.setdefault(question.lower(), (question, kind, []))
        if paragraph not in paragraphs:
            paragraphs.append(paragraph)

    quoted = paragraph_speakers(article)
    for para in article.paragraphs:
        if para.number in quoted:
            add(f"Apa kata {quoted[para.number].name}?", para.number, "quote")
        for m in COUNT.finditer(para.text):
            rest = m["rest"].split()
            while rest and rest[-1] in stopwords():
                rest.pop()
            if rest:
                add(f"Berapa {m['noun']} yang {' '.join(rest)}?", para.number, "count")
        for abbr, _ in definitions(para.text):
            add(f"Apa itu {abbr}?", para.number, "definition")
    by_kind: dict[str, list[Suggestion]] = {}
    for question, kind, paragraphs in found.values():
        by_kind.setdefault(kind, []).append(Suggestion(question, tuple(paragraphs), kind))
    # Interleave the kinds, so the first few buttons show different ways of asking.
    return [s for group in zip_longest(*by_kind.values()) for s in group if s is not None]
