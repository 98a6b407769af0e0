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

from .parse import Article, Paragraph

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
    kind: str  # "paragraph", "sentence" or "clause"
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
    initials = re.fullmatch(r"(?:[a-z]\.)+[a-z]", token) is not None  # "K.R.M.T." before a name
    return token in ABBREVIATIONS or (len(token) == 1 and token.isalpha()) or initials


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


MIN_CLAUSE_WORDS = 4


def split_clauses(sentence: str) -> list[tuple[int, int]]:
    """Clause spans split at commas and semicolons; pieces under four words join their neighbour.

    News sentences here are long and pack several facts; a question about one
    fact matches its clause far better than the whole sentence.
    """
    spans: list[tuple[int, int]] = []
    start = 0
    for m in re.finditer(r"[,;]\s+", sentence):
        if re.search(r"\d$", sentence[: m.start()]) and sentence[m.end():m.end() + 1].isdigit():
            continue  # "2,3GHz" and "1,5 juta" are numbers, not clause breaks
        spans.append((start, m.start()))
        start = m.end()
    spans.append((start, len(sentence)))
    merged: list[tuple[int, int]] = []
    for s, e in spans:
        if merged and (len(sentence[s:e].split()) < MIN_CLAUSE_WORDS or
                       len(sentence[merged[-1][0]:merged[-1][1]].split()) < MIN_CLAUSE_WORDS):
            merged[-1] = (merged[-1][0], e)
        else:
            merged.append((s, e))
    return merged


def chunk_article(article: Article, first_id: int = 0) -> list[Passage]:
    """Every paragraph, its sentences (when several) and their clauses (when several), with spans in the file."""
    passages: list[Passage] = []
    for para in article.paragraphs:

        def add(kind: str, sentence: int, start: int, end: int, para: Paragraph = para) -> None:
            """Offsets are relative to the paragraph; the passage stores them relative to the file."""
            passages.append(Passage(
                first_id + len(passages), article.id, kind, para.number, sentence,
                para.start + start, para.start + end, para.text[start:end],
            ))

        add("paragraph", -1, 0, len(para.text))
        sentences = split_sentences(para.text)
        for i, (s, e) in enumerate(sentences):
            if len(sentences) > 1:
                add("sentence", i, s, e)
            clauses = split_clauses(para.text[s:e])
            if len(clauses) > 1:
                for cs, ce in clauses:
                    add("clause", i, s + cs, s + ce)
    return passages


def chunk_articles(articles: Iterable[Article]) -> list[Passage]:
    """Chunk several articles with ids that are unique across all of them."""
    passages: list[Passage] = []
    for article in articles:
        passages.extend(chunk_article(article, first_id=len(passages)))
    return passages
