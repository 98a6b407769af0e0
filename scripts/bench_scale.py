"""Scale of the knowledge base: exact (flat) against approximate FAISS indexes at 1k-100k passages.

The passages are synthetic Indonesian news sentences (bench_corpus.py) embedded
with the product's e5 model. Their vectors are cached in var/bench/vectors/,
keyed by a hash of the generator, the seed, the model's fingerprint and the
prefix, in chunks, so a re-run (or an interrupted run) skips what is done.
Index building and searching go through knowledge/ann.py, the code that
`knowledge/index.py` uses.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import faiss
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import bench_corpus  # noqa: E402

from knowledge import ann  # noqa: E402
from knowledge.embed import Embedder, model_fingerprint  # noqa: E402
from knowledge.progress import Progress  # noqa: E402
from knowledge.settings import Settings  # noqa: E402

CHUNK = 5_000
K = 10
IVF = "ivf-ip"


@dataclass
class ScaleRow:
    """One index type at one corpus size."""

    size: int
    index_type: str
    params: str
    build_s: float
    disk_mb: float
    p50_ms: float
    p99_ms: float
    recall: float
    chosen: bool = False


@dataclass
class Vectors:
    """The corpus and query vectors, and what embedding them costs on this machine."""

    passages: np.ndarray
    queries: np.ndarray
    passages_per_s: float
    tokens_per_s: float
    embedded_now: int  # passages embedded in this run (the rest came from the cache)
    embed_s: float


def _key(settings: Settings, kind: str, seed: int) -> str:
    raw = f"{bench_corpus.GENERATOR_VERSION}|{kind}|{seed}|{model_fingerprint(settings.embedding_model)}|" \
          f"{settings.query_prefix}|{settings.passage_prefix}"
    return hashlib.sha256(raw.encode()).hexdigest()[:16]


def _cached(path: Path, make: Callable[[], np.ndarray]) -> tuple[np.ndarray, bool]:
    if path.is_file():
        return np.load(path), False
    vectors = make()
    tmp = path.with_suffix(".tmp.npy")
    np.save(tmp, vectors)
    tmp.replace(path)
    return vectors, True


def _embed_chunk(job: tuple[str, str, int, int, str]) -> float:
    """In a worker process: embed passages[start:start + size] and save them; seconds taken."""
    model, prefix, start, size, path = job
    started = time.perf_counter()
    embedder = Embedder(model, passage_prefix=prefix)
    embedder.warm_up()  # once per worker: load_model is cached per process
    vectors = embedder.embed_passages(bench_corpus.passages(start + size)[start:])
    tmp = Path(path).with_suffix(".tmp.npy")
    np.save(tmp, vectors)
    tmp.replace(path)
    return time.perf_counter() - started


def embed_corpus(
    settings: Settings, embedder: Embedder, n: int, n_queries: int, cache: Path, log: Callable[[str], None]
) -> Vectors:
    """Vectors for the first n synthetic passages and n_queries questions, from the cache when possible.

    Missing chunks are embedded by one single-threaded process per core: on a
    shared machine that degrades gracefully when another process takes a core,
    where one process with two torch threads slows down several-fold. The
    embedding rate is always measured in this run on a fresh sample, so the
    figures do not depend on whether the cache was warm.
    """
    folder = cache / _key(settings, "passages", 2020)
    folder.mkdir(parents=True, exist_ok=True)
    paths = {start: folder / f"{start:07d}-{min(CHUNK, n - start)}.npy" for start in range(0, n, CHUNK)}
    missing = [start for start, path in paths.items() if not path.is_file()]
    embedded, spent = 0, 0.0
    if missing:
        started = time.perf_counter()
        jobs = [(settings.embedding_model, settings.passage_prefix, start, min(CHUNK, n - start), str(paths[start]))
                for start in missing]
        workers = min(os.cpu_count() or 1, len(jobs))
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool, \
                Progress(sum(job[3] for job in jobs), "  embedding the synthetic corpus", "passages") as bar:
            for done, _ in enumerate(pool.map(_embed_chunk, jobs), 1):
                embedded = sum(job[3] for job in jobs[:done])
                bar.update(jobs[done - 1][3])
        spent = time.perf_counter() - started
        log(f"  embedded {embedded:,} passages ({embedded / spent:.0f}/s, {workers} processes)")
    passages = np.concatenate([np.load(paths[start]) for start in sorted(paths)])[:n]
    questions = bench_corpus.questions(n_queries)
    qfile = cache / f"{_key(settings, 'queries', 7)}-{n_queries}.npy"
    queries, _ = _cached(qfile, lambda: embedder.embed_queries(questions))
    # Rate on a fresh sample (never cached): passages and tokens per second, one process, one thread.
    sample = bench_corpus.passages(n + 512)[n:]
    tokens = sum(embedder.count_tokens(settings.passage_prefix + t) for t in sample)
    started = time.perf_counter()
    embedder.embed_passages(sample)
    took = time.perf_counter() - started
    return Vectors(passages, queries, len(sample) / took, tokens / took, embedded, spent)


def _ivf(vectors: np.ndarray, nprobe: int) -> faiss.Index:
    nlist = int(4 * np.sqrt(len(vectors)))
    quantizer = faiss.IndexFlatIP(vectors.shape[1])
    index = faiss.IndexIVFFlat(quantizer, vectors.shape[1], nlist, faiss.METRIC_INNER_PRODUCT)
    index.train(vectors)
    index.add(vectors)
    index.nprobe = nprobe
    return index


def _disk_mb(index: faiss.Index) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "index.faiss"
        faiss.write_index(index, str(path))
        return path.stat().st_size / 1e6


def _time_queries(
    index: faiss.Index, queries: np.ndarray, threads: int | None = None
) -> tuple[np.ndarray, list[float]]:
    """One query at a time, in milliseconds: through `ann.search` as the product asks, or raw FAISS on `threads`."""
    ids = np.empty((len(queries), K), dtype=np.int64)
    times: list[float] = []
    if threads is not None:
        faiss.omp_set_num_threads(threads)
    search = ann.search if threads is None else lambda idx, q, k: idx.search(q, k)
    for i in range(len(queries)):
        started = time.perf_counter_ns()
        _, found = search(index, queries[i:i + 1], K)
        times.append((time.perf_counter_ns() - started) / 1e6)
        ids[i] = found[0]
    return ids, times


def _recall(found: np.ndarray, exact: np.ndarray) -> float:
    return float(np.mean([len(set(f) & set(e)) / K for f, e in zip(found, exact, strict=True)]))


def measure(vectors: np.ndarray, queries: np.ndarray, sweep: bool = False) -> list[ScaleRow]:
    """Flat, HNSW and IVF at one size: build time, size on disk, query p50/p99, recall@10 against flat."""
    n = len(vectors)
    rows: list[ScaleRow] = []
    chosen = ann.choose_index_type(n)
    exact: np.ndarray | None = None
    configs: list[tuple[str, str, Callable[[], faiss.Index]]] = [
        (ann.FLAT, "exact", lambda: ann.build(vectors, ann.FLAT)[0]),
        (ann.HNSW, f"M={ann.HNSW_M}, efC={ann.HNSW_EF_CONSTRUCTION}, efSearch={ann.HNSW_EF_SEARCH}",
         lambda: ann.build(vectors, ann.HNSW)[0]),
        (IVF, f"nlist={int(4 * np.sqrt(n))}, nprobe=16", lambda: _ivf(vectors, 16)),
    ]
    built: dict[str, faiss.Index] = {}
    for name, params, make in configs:
        started = time.perf_counter()
        index = make()
        build_s = time.perf_counter() - started
        built[name] = index
        _time_queries(index, queries[:20])  # first touches of the memory are not part of a query
        found, times = _time_queries(index, queries)
        if exact is None:
            exact = found
        rows.append(ScaleRow(n, name, params, build_s, _disk_mb(index), float(np.percentile(times, 50)),
                             float(np.percentile(times, 99)), _recall(found, exact), name == chosen))
    if sweep:
        assert exact is not None
        threads = faiss.omp_get_max_threads()
        team = os.cpu_count() or 2
        # Raw FAISS with OpenMP's default team (every core) against ann.search (one thread), on an idle
        # machine and with one core kept busy by another process, as on a shared machine.
        for busy in (False, True):
            burner = subprocess.Popen([sys.executable, "-c", "while True: pass"]) if busy else None
            try:
                for name in (ann.FLAT, ann.HNSW):
                    for label, count in ((f"{team} FAISS threads", team), ("1 thread (ann.search)", None)):
                        found, times = _time_queries(built[name], queries, threads=count)
                        rows.append(ScaleRow(n, name, f"{label}{', one core busy' if busy else ''} (sweep)",
                                             float("nan"), float("nan"), float(np.percentile(times, 50)),
                                             float(np.percentile(times, 99)), _recall(found, exact)))
            finally:
                if burner is not None:
                    burner.kill()
                    burner.wait()
        faiss.omp_set_num_threads(threads)
        hnsw = built[ann.HNSW]
        for ef in (16, 32, 64, 128, 256):
            hnsw.hnsw.efSearch = ef
            found, times = _time_queries(hnsw, queries)
            rows.append(ScaleRow(n, ann.HNSW, f"efSearch={ef} (sweep)", float("nan"), float("nan"),
                                 float(np.percentile(times, 50)), float(np.percentile(times, 99)),
                                 _recall(found, exact)))
        ann.configure(hnsw)
        ivf = built[IVF]
        for nprobe in (4, 8, 32, 64):
            ivf.nprobe = nprobe
            found, times = _time_queries(ivf, queries)
            rows.append(ScaleRow(n, IVF, f"nprobe={nprobe} (sweep)", float("nan"), float("nan"),
                                 float(np.percentile(times, 50)), float(np.percentile(times, 99)),
                                 _recall(found, exact)))
    return rows


def reload_check(vectors: np.ndarray, queries: np.ndarray) -> bool:
    """The auto-chosen index, written and read back, is configured and answers like before writing."""
    index, chosen = ann.build(vectors)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "index.faiss"
        faiss.write_index(index, str(path))
        loaded = faiss.read_index(str(path))
    if ann.check_loaded(loaded, chosen) is not None:
        return False
    _, before = index.search(queries[:100], K)
    _, after = loaded.search(queries[:100], K)
    return bool((before == after).all())
