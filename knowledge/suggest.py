"""Questions the article can answer, derived from its own text.

The bot offers these as buttons. They come from general patterns (who is
quoted, what is counted, which abbreviations are defined), so a new article
gets its own suggestions without anyone writing them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from itertools import zip_longest

from .lexical import definitions
from .parse import Article
from .text import stopwords

CAP_WORD = r"[A-Z][\w.’'-]*"
QUOTE_VERB = re.compile(r"\b(?i:kata|ujar|ucap|tutur|jelas|tegas|menurut)\s+(?P<who>(?:" + CAP_WORD + r"[ ,]*)+)")
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


def _speaker(match: re.Match[str]) -> str:
    """The name in 'kata Direktur Jenderal X, Ismail,': the last capitalised group."""
    groups = [g.strip() for g in match["who"].split(",") if g.strip()]
    return groups[-1].rstrip(".") if groups else ""


def speakers(article: Article) -> list[str]:
    """Everyone the article quotes, in order of first appearance."""
    names: list[str] = []
    for para in article.paragraphs:
        for m in QUOTE_VERB.finditer(para.text):
            name = _speaker(m).replace("’", "'")
            if name and name not in names:
                names.append(name)
    return names


def suggestions(article: Article) -> list[Suggestion]:
    """Who said what, how many, and what abbreviations stand for; kinds interleaved, no repeats."""
    found: dict[str, tuple[str, str, list[int]]] = {}

    def add(question: str, paragraph: int, kind: str) -> None:
        _, _, paragraphs = found.setdefault(question.lower(), (question, kind, []))
        if paragraph not in paragraphs:
            paragraphs.append(paragraph)

    for para in article.paragraphs:
        for m in QUOTE_VERB.finditer(para.text):
            name = _speaker(m).replace("’", "'")
            if name:
                add(f"Apa kata {name}?", para.number, "quote")
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
