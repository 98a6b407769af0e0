"""Questions grouped by meaning: the same embedder as retrieval, greedy clustering on cosine similarity.

Two questions can only be the same question when they ask for the same kind of answer
("siapa" and "di mana" never are, however close their words) and about the same time
("tahun ini" and "tahun lalu" never are). Within that, greedy complete linkage, most-asked
phrasing first: a distinct question joins the group whose least similar member is most
similar to it, if that similarity reaches the threshold; otherwise it starts a new group.
So every two questions of a group have a cosine of at least the threshold. The threshold is
chosen on the benchmark's dev questions and checked on its test questions
(scripts/question_groups.py, reports/question-groups.md). Deterministic, and needs no number
of groups in advance.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from knowledge.question import analyse


class QueryEmbedder(Protocol):
    """What clustering needs of knowledge.embed.Embedder (and of the tests' fake)."""

    def warm_up(self) -> None: ...

    def embed_queries(self, texts: list[str]) -> np.ndarray: ...


@dataclass(frozen=True)
class Cluster:
    """A group of questions that mean the same; `representative` is its most-asked phrasing."""

    representative: str
    count: int
    variants: tuple[tuple[str, int], ...]  # (phrasing, times asked), most-asked first


def normalise(text: str) -> str:
    """The key under which the same question, typed with other capitals, spaces or final marks, is counted."""
    return re.sub(r"\s+", " ", text).strip().strip("?!.,;: ").casefold()


def question_kind(text: str) -> tuple[str, bool]:
    """What a question must share with another to be the same question: its answer kind and its tense."""
    q = analyse(text)
    return q.kind, q.past


def cluster_questions(questions: Iterable[str], embedder: QueryEmbedder, threshold: float) -> list[Cluster]:
    """Groups of questions, the largest first; one embedding per distinct phrasing."""
    counts: Counter[str] = Counter()
    shown: dict[str, Counter[str]] = {}
    for question in questions:
        key = normalise(question)
        if not key:
            continue
        counts[key] += 1
        shown.setdefault(key, Counter())[re.sub(r"\s+", " ", question).strip()] += 1
    if not counts:
        return []
    # Most-asked first, so groups form around the most common phrasings.
    keys = sorted(counts, key=lambda k: (-counts[k], k))
    phrasing = {k: shown[k].most_common(1)[0][0] for k in keys}
    embedder.warm_up()
    vectors = np.asarray(embedder.embed_queries([phrasing[k] for k in keys]), dtype=np.float32)
    kinds = [question_kind(phrasing[k]) for k in keys]
    labels = np.zeros(len(keys), dtype=np.int64)
    members: list[list[str]] = []
    group_kind: list[tuple[str, bool]] = []
    for i, (key, vector) in enumerate(zip(keys, vectors, strict=True)):
        if members:
            # The lowest similarity to each group's members so far (complete linkage).
            lowest = np.full(len(members), np.inf, dtype=np.float32)
            np.minimum.at(lowest, labels[:i], vectors[:i] @ vector)
            lowest[[g for g, kind in enumerate(group_kind) if kind != kinds[i]]] = -np.inf
            best = int(lowest.argmax())
            if lowest[best] >= threshold:
                labels[i] = best
                members[best].append(key)
                continue
        labels[i] = len(members)
        members.append([key])
        group_kind.append(kinds[i])
    clusters = []
    for group in members:
        variants = sorted(((phrasing[k], counts[k]) for k in group), key=lambda v: (-v[1], v[0]))
        clusters.append(Cluster(variants[0][0], sum(counts[k] for k in group), tuple(variants)))
    return sorted(clusters, key=lambda c: (-c.count, c.representative))
