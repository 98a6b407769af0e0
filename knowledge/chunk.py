"""Split paragraphs into sentences and make the passages that get embedded.

Two granularities go into one index: whole paragraphs (context, for questions
whose answer spans sentences) and single sentences (precision, for trimming
the reply to what was asked). Every passage keeps its character span in the
source file so a citation can point at the exact text.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass

from .parse import Article

# Titles and short forms after which a period does not end a sentence.
ABBREVIATIONS = frozenset(
    "k.h h hj dr drs ir prof st no nomor tel jl kab kec kel rp sdr bpk ibu dll dsb dst tsb yth "
    "a.n u.p s.h s.e m.si m.m mr mrs ms vs etc e.g i.e".split()
)
SENTENCE_END = re.compile(r"[.!?…]+[\"”’')\]]*(?=\s+[\"“‘(]?[A-Z0-9])")


@dataclass(frozen=True)
class Passage:
    """A unit of the index: a paragraph or one sentence of it, with its source span."""

    id: int
    article_id: str
    kind: str  # "paragraph" or "sentence"
    paragraph: int
    sentence: int  # index within the paragraph; -1 for a whole paragraph
    start: int
    end: int
    text: str

    def to_dict(self) -> dict[str, object]:
        """A JSON-ready form for the manifest."""
        return asdict(self)


def _is_abbreviation(text: str, dot: int) -> bool:
    """True when the period at `dot` closes an abbreviation or an initial, not a sentence."""
    word = re.search(r"([\w.]+)$", text[:dot])
    if not word:
        return False
    token = word.group(1).lower().rstrip(".")
    return token in ABBREVIATIONS or (len(token) == 1 and token.isalpha())


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Sentence spans (start, end) inside a paragraph; keeps "K.H." and "3.691" intact."""
    spans: list[tuple[int, int]] = []
    start = 0
    for m in SENTENCE_END.finditer(text):
        if text[m.start()] == "." and _is_abbreviation(text, m.start()):
            continue
        spans.append((start, m.end()))
        start = m.end()
        while start < len(text) and text[start].isspace():
            start += 1
    if start < len(text):
        spans.append((start, len(text.rstrip())))
    return [(s, e) for s, e in spans if text[s:e].strip()]


def chunk_article(article: Article, first_id: int = 0) -> list[Passage]:
    """Every paragraph of the article and every sentence of each, with spans in the file."""
    passages: list[Passage] = []
    for para in article.paragraphs:
        passages.append(
            Passage(first_id + len(passages), article.id, "paragraph", para.number, -1, para.start, para.end, para.text)
        )
        sentences = split_sentences(para.text)
        if len(sentences) < 2:
            continue
        for i, (s, e) in enumerate(sentences):
            passages.append(
                Passage(
                    first_id + len(passages), article.id, "sentence", para.number, i,
                    para.start + s, para.start + e, para.text[s:e],
                )
            )
    return passages


def chunk_articles(articles: Iterable[Article]) -> list[Passage]:
    """Chunk several articles with ids that are unique across all of them."""
    passages: list[Passage] = []
    for article in articles:
        passages.extend(chunk_article(article, first_id=len(passages)))
    return passages
