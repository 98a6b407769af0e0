"""Stage 2, retrieve: candidate paragraphs from dense (e5 + FAISS) and lexical (BM25) search together.

Dense similarity finds paraphrases and English; BM25 finds the rare words,
names and figures that dense vectors blur. A paragraph found by either is a
candidate, scored by both, with the similarity of each of its sentences and
clauses kept for extraction. Within one article (the reader's scope, or a
small knowledge base) every paragraph is a candidate.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import numpy as np

from .ann import search as ann_search
from .ann import search_depth
from .chunk import Passage
from .index import LoadedIndex
from .lexical import Key, LexicalIndex
from .question import Question
from .timing import stage

LEXICAL_DEPTH = 20  # paragraphs BM25 adds to the dense candidates when the knowledge base is large
ALL_PARAGRAPHS = 400  # up to this many paragraphs in scope, every one is a candidate


@dataclass(frozen=True)
class Candidate:
    """One paragraph that may answer, with the raw signals of both searches."""

    key: Key
    dense: float  # similarity of the whole paragraph
    best: float  # similarity of its best passage (the paragraph, a sentence or a clause)
    bm25: float
    passages: tuple[tuple[Passage, float], ...]  # its sentences and clauses with their similarity

    @property
    def article_id(self) -> str:
        """The article the paragraph belongs to."""
        return self.key[0]

    @property
    def paragraph(self) -> int:
        """The paragraph's number in its article."""
        return self.key[1]


class Retrieve:
    """Dense plus lexical candidates over a loaded index."""

    def __init__(self, index: LoadedIndex, lexical: LexicalIndex) -> None:
        self.index = index
        self.lexical = lexical
        self._by_paragraph: dict[Key, list[int]] = defaultdict(list)
        for passage in index.passages:
            self._by_paragraph[(passage.article_id, passage.paragraph)].append(passage.id)

    def run(self, q: Question, query: np.ndarray, within: str = "", exclude: tuple[Key, ...] = ()) -> list[Candidate]:
        """Candidates for the question whose (1, d) vector is `query`; `within` keeps one article's paragraphs."""
        with stage("faiss"):
            scores, ids = ann_search(self.index.vectors, query, search_depth(self.index.vectors))
        found = {int(pid): float(s) for s, pid in zip(scores[0], ids[0], strict=True) if pid >= 0}
        keys = self._keys(q, found, within, exclude)
        out = []
        for key in keys:
            pids = self._by_paragraph[key]
            missing = [pid for pid in pids if pid not in found]
            if missing:  # an approximate index returned only the nearest passages
                vectors = np.vstack([self.index.vectors.reconstruct(pid) for pid in missing])
                found.update(zip(missing, (vectors @ query[0]).tolist(), strict=True))
            passages = [(self.index.passages[pid], found[pid]) for pid in pids]
            whole = next(s for p, s in passages if p.kind == "paragraph")
            parts = tuple((p, s) for p, s in passages if p.kind != "paragraph")
            best = max([whole, *(s for _, s in parts)])
            out.append(Candidate(key, whole, best, self.lexical.bm25(q.terms, key), parts))
        return out

    def _keys(self, q: Question, found: dict[int, float], within: str, exclude: tuple[Key, ...]) -> list[Key]:
        """Every paragraph in scope when there are few; else the dense hits' paragraphs plus BM25's best."""
        scope = self.lexical.keys[within] if within else list(self.lexical.terms)
        if len(scope) <= ALL_PARAGRAPHS:
            return [k for k in scope if k not in exclude]
        keys = {(self.index.passages[pid].article_id, self.index.passages[pid].paragraph) for pid in found}
        lexical = sorted(scope, key=lambda k: -self.lexical.bm25(q.terms, k))[:LEXICAL_DEPTH]
        return [k for k in keys | set(lexical) if k not in exclude and (not within or k[0] == within)]
