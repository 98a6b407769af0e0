"""Pick, build and reload the FAISS index type by the size of the corpus.

Exact inner-product search (a flat index) reads every vector for every query,
so its cost grows with the corpus: well under a millisecond for one article or
a few thousand passages, several milliseconds at 100k passages of 384 numbers.
Past `FLAT_MAX` passages an HNSW graph answers in about a millisecond and still
finds at least 95 % of the exact top 10 (`make bench`, bench/results.md). Below
it, exact search is both fast and exact, so there is nothing to trade.

`build_index` records the chosen type in the manifest's "index_type";
`check_loaded` refuses an index file whose type does not match it, and sets the
search-time parameters (HNSW's efSearch), which belong to this code, not to
the file.
"""

from __future__ import annotations

import faiss
import numpy as np

FLAT = "flat-ip"
HNSW = "hnsw-ip"
INDEX_TYPES = (FLAT, HNSW)

# Exact search up to here; measured in bench/results.md (flat p99 stays within budget below it).
FLAT_MAX = 20_000
# Neighbours per graph node and the breadth of the search while building: recall@10 >= 0.95 at 100k e5 vectors.
HNSW_M = 32
HNSW_EF_CONSTRUCTION = 80
HNSW_EF_SEARCH = 96
# How many neighbours an approximate index returns per query; a flat index returns every passage.
SEARCH_DEPTH = 256


def choose_index_type(n_vectors: int) -> str:
    """Flat (exact) for small corpora, HNSW (approximate) once exact search gets slow."""
    return FLAT if n_vectors <= FLAT_MAX else HNSW


def build(vectors: np.ndarray, index_type: str | None = None) -> tuple[faiss.Index, str]:
    """An inner-product index over unit vectors, of the given type or the one the size calls for."""
    chosen = index_type or choose_index_type(len(vectors))
    dim = int(vectors.shape[1])
    if chosen == FLAT:
        index: faiss.Index = faiss.IndexFlatIP(dim)
    elif chosen == HNSW:
        index = faiss.IndexHNSWFlat(dim, HNSW_M, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
    else:
        raise ValueError(f"unknown index type {chosen!r}; expected one of {INDEX_TYPES}")
    index.add(np.ascontiguousarray(vectors, dtype=np.float32))
    configure(index)
    return index, chosen


def index_type_of(index: faiss.Index) -> str | None:
    """The type name of a loaded index, or None for a kind this module never builds."""
    if isinstance(index, faiss.IndexFlatIP):
        return FLAT
    if isinstance(index, faiss.IndexHNSWFlat) and index.metric_type == faiss.METRIC_INNER_PRODUCT:
        return HNSW
    return None


def configure(index: faiss.Index) -> None:
    """Set the search-time parameters, which a file written by an older build may not carry."""
    if isinstance(index, faiss.IndexHNSWFlat):
        index.hnsw.efSearch = HNSW_EF_SEARCH  # a search for more than this many neighbours widens to k


def check_loaded(index: faiss.Index, recorded: str | None) -> str | None:
    """Why a loaded index does not match the manifest's "index_type" (None when it does); configures it."""
    found = index_type_of(index)
    expected = recorded or FLAT  # manifests written before the choice existed were always flat
    if found != expected:
        return f"the manifest says {expected!r} but the index file holds {found or type(index).__name__!r}"
    configure(index)
    return None


def search(index: faiss.Index, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Scores and row ids of the k nearest rows per query, computed on the calling thread alone.

    HNSW starts an OpenMP team even for one query; when another process holds a
    core, the team waits for a thread that is not scheduled, and the p99 of a
    single query grows several-fold (make bench, "one core busy"). A server
    searches one question per thread, so one thread is right. OpenMP keeps the
    setting per thread, so it is set here, in the thread that searches, and
    given back afterwards.
    """
    previous = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    try:
        return index.search(queries, k)
    finally:
        faiss.omp_set_num_threads(previous)


def search_depth(index: faiss.Index) -> int:
    """Neighbours to ask for: every passage from an exact index, the nearest SEARCH_DEPTH from a graph."""
    if isinstance(index, faiss.IndexFlat):
        return int(index.ntotal)
    return int(min(index.ntotal, SEARCH_DEPTH))
