"""Build, store, check and load the FAISS index and its manifest.

The manifest records the passages with their spans, the model and a hash of
each article, so a stale index is detected instead of silently answering from
old text. Each build goes into its own folder and a `current` symlink is
swapped atomically: a reader never sees a half-written index.

Builds are incremental. The vectors of each article are cached under
`INDEX_DIR/cache/`, keyed by the article's sha256 and what the vectors depend
on (model, weights, passage prefix, index format), so adding, changing or
removing one article embeds only that article; the FAISS index itself is
reassembled from all vectors, which takes milliseconds.
"""

from __future__ import annotations

import fcntl
import hashlib
import io
import json
import logging
import os
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

import faiss
import numpy as np

from . import ann
from .chunk import Passage, chunk_article
from .embed import Embedder, model_fingerprint
from .parse import Article, ArticleParseError, article_paths, load_articles
from .progress import Progress
from .settings import Settings

logger = logging.getLogger(__name__)

INDEX_FORMAT = 3  # 3: initials ("K.R.M.T.") no longer end a sentence
MANIFEST = "manifest.json"
VECTORS = "index.faiss"
CACHE = "cache"
LOCK = ".build.lock"
BUILD_HINT = "make index"
EMBED_GROUP = 128  # passages per embedding call at least (whole articles): four full batches


class IndexNotReady(RuntimeError):
    """The index is missing, stale or unreadable; the message says how to rebuild it."""


def article_hashes(articles_dir: Path) -> dict[str, str]:
    """sha256 of each article file, keyed by article id."""
    return {p.stem: hashlib.sha256(p.read_bytes()).hexdigest() for p in article_paths(articles_dir)}


def _article_meta(article: Article) -> dict[str, object]:
    return {
        "path": article.path.name, "sha256": article.sha256, "title": article.title, "source": article.source,
        "city": article.city, "date": article.date, "year": article.year, "reporter": article.reporter,
        "editor": article.editor, "url": article.url, "related": list(article.related),
        "paragraphs": len(article.paragraphs),
    }


@dataclass(frozen=True)
class LoadedIndex:
    """The FAISS index with the manifest that explains each of its rows."""

    path: Path
    manifest: dict[str, object]
    passages: list[Passage]
    vectors: faiss.Index


@dataclass(frozen=True)
class BuildReport:
    """What a build did: which articles cost embedding time and which came from the cache."""

    path: Path
    embedded: dict[str, int]  # article id -> passages embedded now
    reused: dict[str, int]  # article id -> passages whose vectors came from the cache
    removed: tuple[str, ...]  # articles of the previous index that this one no longer holds

    @property
    def passages(self) -> int:
        """Rows of the new index."""
        return sum(self.embedded.values()) + sum(self.reused.values())

    def summary(self) -> str:
        """One line for the CLI, e.g. "embedded 1 article (45 passages): x; reused 1 (53 passages)"."""
        ids = f": {', '.join(self.embedded)}" if self.embedded else ""
        parts = [
            f"embedded {_count(len(self.embedded), 'article')} ({sum(self.embedded.values())} passages){ids}",
            f"reused {len(self.reused)} ({sum(self.reused.values())} passages)",
        ]
        if self.removed:
            parts.append(f"removed {', '.join(self.removed)}")
        return "; ".join(parts)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def build_index(settings: Settings, embedder: Embedder, show_progress: bool = True) -> Path:
    """Build or update the index and return the new build's folder; `update_index` also says what it re-embedded."""
    report = update_index(settings, embedder, show_progress=show_progress)
    logger.info("index %s: %s", report.path.name, report.summary())
    return report.path


def update_index(settings: Settings, embedder: Embedder, show_progress: bool = True) -> BuildReport:
    """Parse and chunk every article, embed only those the cache lacks, then swap the new index in atomically.

    Every article is parsed before anything is written, so one broken file
    aborts the build with its file:line and `current` keeps serving.
    """
    root = settings.index_dir
    with _build_lock(root):
        articles = load_articles(settings.articles_dir)
        _refuse_clashing_ids(articles)
        if not articles:
            raise IndexNotReady(
                f"no article files (.txt, .md) in {settings.articles_dir}; add one with `make add-article FILE=...`"
            )
        previous = indexed_articles(root)
        key = embedding_key(settings)
        cache = root / CACHE
        chunks = {a.id: chunk_article(a) for a in articles}
        vectors: dict[str, np.ndarray] = {}
        for article in articles:
            cached = _read_cached(cache / _entry_name(article, key), [p.text for p in chunks[article.id]])
            if cached is not None:
                vectors[article.id] = cached
        missing = [a for a in articles if a.id not in vectors]
        if missing:
            vectors.update(_embed(embedder, missing, chunks, show_progress))
        if len({v.shape[1] for v in vectors.values()}) > 1:
            # Cached by another embedder under the same model name: its vectors cannot share an index with these.
            logger.warning("cached vectors have another dimension than the model's; re-embedding every article")
            missing = list(articles)
            vectors = _embed(embedder, missing, chunks, show_progress)
        for article in missing:
            _write_cached(cache / _entry_name(article, key), article, chunks[article.id], vectors[article.id], settings)

        # Ids run across articles in article order, exactly as a build from scratch numbers them.
        passages = [replace(p, id=n) for n, p in enumerate(p for a in articles for p in chunks[a.id])]
        matrix = np.ascontiguousarray(np.vstack([vectors[a.id] for a in articles]), dtype=np.float32)
        index, index_type = ann.build(matrix)  # exact for an article or a few; HNSW for a large corpus
        manifest = {
            "format": INDEX_FORMAT,
            "built_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "model": settings.embedding_model,
            "model_fingerprint": model_fingerprint(settings.embedding_model),
            "query_prefix": settings.query_prefix,
            "passage_prefix": settings.passage_prefix,
            "dimension": int(matrix.shape[1]),
            "index_type": index_type,
            "articles": {a.id: _article_meta(a) for a in articles},
            "passages": [p.to_dict() for p in passages],
        }
        build = root / f"build-{time.strftime('%Y%m%d-%H%M%S')}-{time.time_ns() % 10**9:09d}-{os.getpid()}"
        build.mkdir()
        faiss.write_index(index, str(build / VECTORS))
        (build / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8")
        _swap_current(root, build)
        _collect_garbage(cache, {_entry_name(a, key) for a in articles})

    fresh = {a.id for a in missing}
    return BuildReport(
        path=build,
        embedded={a.id: len(chunks[a.id]) for a in articles if a.id in fresh},
        reused={a.id: len(chunks[a.id]) for a in articles if a.id not in fresh},
        removed=tuple(sorted(set(previous) - {a.id for a in articles})),
    )


@contextmanager
def _build_lock(root: Path) -> Iterator[None]:
    """One build at a time per index folder: a second one would delete the first one's folder when it swaps."""
    root.mkdir(parents=True, exist_ok=True)
    with open(root / LOCK, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _refuse_clashing_ids(articles: list[Article]) -> None:
    """`x.txt` and `x.md` would both be article `x`: their passages would be indistinguishable."""
    seen: dict[str, Article] = {}
    for article in articles:
        if article.id in seen:
            raise ArticleParseError(
                article.path, 1, f"same article id {article.id!r} as {seen[article.id].path.name}; keep one of them"
            )
        seen[article.id] = article


def indexed_articles(index_dir: Path) -> dict[str, str]:
    """Article id -> sha256 of what the current index holds; empty when there is no readable index."""
    try:
        manifest = json.loads((index_dir / "current" / MANIFEST).read_text(encoding="utf-8"))
        return {aid: str(meta["sha256"]) for aid, meta in manifest["articles"].items()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return {}


def embedding_key(settings: Settings) -> str:
    """What a passage's vector depends on besides its text: model name, weights and passage prefix."""
    raw = "\0".join((settings.embedding_model, model_fingerprint(settings.embedding_model), settings.passage_prefix))
    return hashlib.sha256(raw.encode()).hexdigest()[:16]


def _entry_name(article: Article, key: str) -> str:
    return f"{article.sha256}-{key}-{INDEX_FORMAT}"


def _embed(
    embedder: Embedder, articles: list[Article], chunks: dict[str, list[Passage]], show_progress: bool
) -> dict[str, np.ndarray]:
    """Embed the passages of several articles a group at a time (the model batches them), then split per article.

    Groups of whole articles of at least EMBED_GROUP passages keep the batches
    full and let a bar count articles; the groups do not depend on
    `show_progress`, so the vectors do not either. The bar only shows for more
    than one article.
    """
    embedder.warm_up()
    out: dict[str, np.ndarray] = {}
    groups: list[list[Article]] = [[]]
    for article in articles:
        if sum(len(chunks[a.id]) for a in groups[-1]) >= EMBED_GROUP:
            groups.append([])
        groups[-1].append(article)
    bar = Progress(len(articles), "embedding", "articles") if show_progress and len(articles) > 1 else None
    try:
        for group in groups:
            texts = [p.text for a in group for p in chunks[a.id]]
            matrix = np.asarray(embedder.embed_passages(texts), dtype=np.float32)
            if matrix.ndim != 2 or len(matrix) != len(texts):
                raise RuntimeError(f"the embedder returned {matrix.shape} vectors for {len(texts)} passages")
            start = 0
            for article in group:
                out[article.id] = matrix[start:start + len(chunks[article.id])]
                start += len(chunks[article.id])
            if bar is not None:
                bar.update(len(group))
    finally:
        if bar is not None:
            bar.close()
    return out


def _read_cached(entry: Path, texts: list[str]) -> np.ndarray | None:
    """An article's cached vectors, or None when absent or not for exactly these passages (then it is re-embedded).

    Comparing the passage texts catches a changed chunker, which the article's hash alone would not.
    """
    vectors_path, passages_path = entry.with_suffix(".npy"), entry.with_suffix(".json")
    if not (vectors_path.is_file() and passages_path.is_file()):
        return None
    try:
        stored = json.loads(passages_path.read_text(encoding="utf-8"))
        vectors = np.load(vectors_path, allow_pickle=False)
        cached_texts = [p["text"] for p in stored["passages"]]
    except (OSError, ValueError, EOFError, KeyError, TypeError) as exc:
        logger.warning("ignoring unreadable cache entry %s (%s)", entry.name, exc)
        return None
    if cached_texts != texts or vectors.dtype != np.float32 or vectors.ndim != 2 or len(vectors) != len(texts):
        logger.warning("ignoring cache entry %s: it does not match the article's passages", entry.name)
        return None
    return vectors


def _write_cached(
    entry: Path, article: Article, passages: list[Passage], vectors: np.ndarray, settings: Settings
) -> None:
    """Store an article's vectors and passages; each file is renamed into place, so a reader sees all or nothing."""
    entry.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    np.save(buffer, np.ascontiguousarray(vectors, dtype=np.float32), allow_pickle=False)
    _write_atomic(entry.with_suffix(".npy"), buffer.getvalue())
    described = {
        "article": article.id, "path": article.path.name, "sha256": article.sha256,
        "model": settings.embedding_model, "model_fingerprint": model_fingerprint(settings.embedding_model),
        "passage_prefix": settings.passage_prefix, "format": INDEX_FORMAT, "dimension": int(vectors.shape[1]),
        "passages": [p.to_dict() for p in passages],
    }
    _write_atomic(entry.with_suffix(".json"), json.dumps(described, ensure_ascii=False, indent=1).encode("utf-8"))


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def _collect_garbage(cache: Path, keep: set[str]) -> None:
    """Drop cache entries this build did not use: removed or changed articles, another model, crashed writes."""
    if not cache.is_dir():
        return
    for path in cache.iterdir():
        if path.is_file() and not (path.suffix in (".npy", ".json") and path.stem in keep):
            path.unlink(missing_ok=True)


def _swap_current(root: Path, build: Path) -> None:
    """Point `current` at the new build in one rename, then drop builds nobody points at."""
    tmp_link = root / f".current-{os.getpid()}"
    tmp_link.unlink(missing_ok=True)
    tmp_link.symlink_to(build.name)
    os.replace(tmp_link, root / "current")
    for old in root.glob("build-*"):
        if old != build and old.is_dir():
            shutil.rmtree(old, ignore_errors=True)


def problems(settings: Settings) -> list[str]:
    """Why the index cannot serve these settings and articles; empty when it is up to date."""
    current = settings.index_dir / "current"
    manifest_path = current / MANIFEST
    if not manifest_path.is_file() or not (current / VECTORS).is_file():
        return [f"no index at {settings.index_dir}"]
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        return [f"the index manifest is unreadable ({exc})"]
    found: list[str] = []
    if manifest.get("format") != INDEX_FORMAT:
        found.append(f"index format {manifest.get('format')} is not the current {INDEX_FORMAT}")
    if manifest.get("model") != settings.embedding_model:
        found.append(f"index was built with model {manifest.get('model')}, settings ask for {settings.embedding_model}")
    elif manifest.get("model_fingerprint") != model_fingerprint(settings.embedding_model):
        found.append("the embedding model's weights changed since the index was built")
    built = {k: v["sha256"] for k, v in manifest.get("articles", {}).items()}
    if not settings.articles_dir.is_dir():
        found.append(f"the article folder {settings.articles_dir} does not exist")
    elif built != article_hashes(settings.articles_dir):
        found.append(f"the articles in {settings.articles_dir} changed since the index was built")
    return found


def load_index(settings: Settings) -> LoadedIndex:
    """Load the current index, refusing a stale or corrupt one with the command that fixes it."""
    found = problems(settings)
    if found:
        raise IndexNotReady(f"{'; '.join(found)}. Build it with `{BUILD_HINT}`.")
    current = (settings.index_dir / "current").resolve()
    manifest = json.loads((current / MANIFEST).read_text(encoding="utf-8"))
    try:
        vectors = faiss.read_index(str(current / VECTORS))
    except RuntimeError as exc:
        raise IndexNotReady(f"the FAISS index in {current} is corrupt ({exc}). Build it with `{BUILD_HINT}`.") from exc
    passages = [Passage(**p) for p in manifest["passages"]]
    mismatch = ann.check_loaded(vectors, manifest.get("index_type"))
    if mismatch:
        raise IndexNotReady(f"{mismatch} in {current}. Build it with `{BUILD_HINT}`.")
    if vectors.ntotal != len(passages) or vectors.d != manifest["dimension"]:
        raise IndexNotReady(
            f"the FAISS index in {current} does not match its manifest. Build it with `{BUILD_HINT}`."
        )
    return LoadedIndex(current, manifest, passages, vectors)

