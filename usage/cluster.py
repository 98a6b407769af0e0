"""Questions grouped by meaning: the same embedder as retrieval, greedy clustering on cosine similarity.

Greedy complete linkage, most-asked phrasing first: a distinct question joins the group whose
least similar member is most similar to it, if that similarity reaches the threshold; otherwise
it starts a new group. So every two questions of a group have a cosine of at least the threshold.
Comparing with a group's centroid instead let groups drift: e5's cosines bunch together, and on
the load-test conversations one centroid gathered 33 different questions about the article.
Deterministic, and needs no number of groups in advance.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

import numpy as np


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
    labels = np.zeros(len(keys), dtype=np.int64)
    members: list[list[str]] = []
    for i, (key, vector) in enumerate(zip(keys, vectors, strict=True)):
        if members:
            # The lowest similarity to each group's members so far (complete linkage).
            lowest = np.full(len(members), np.inf, dtype=np.float32)
            np.minimum.at(lowest, labels[:i], vectors[:i] @ vector)
            best = int(lowest.argmax())
            if lowest[best] >= threshold:
                labels[i] = best
                members[best].append(key)
                continue
        labels[i] = len(members)
        members.append([key])
    clusters = []
    for group in members:
        variants = sorted(((phrasing[k], counts[k]) for k in group), key=lambda v: (-v[1], v[0]))
        clusters.append(Cluster(variants[0][0], sum(counts[k] for k in group), tuple(variants)))
    return sorted(clusters, key=lambda c: (-c.count, c.representative))
