"""Build, store, check and load the FAISS index and its manifest.

The manifest records the passages with their spans, the model and a hash of
each article, so a stale index is detected instead of silently answering from
old text. Each build goes into its own folder and a `current` symlink is
swapped atomically: a reader never sees a half-written index.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import faiss

from .chunk import Passage, chunk_articles
from .embed import Embedder
from .parse import Article, article_paths, load_articles
from .settings import Settings

INDEX_FORMAT = 2
MANIFEST = "manifest.json"
VECTORS = "index.faiss"
BUILD_HINT = "make index"


class IndexNotReady(RuntimeError):
    """The index is missing, stale or unreadable; the message says how to rebuild it."""


def model_fingerprint(model: str) -> str:
    """Identify the model's weights, so an index built with other weights counts as stale."""
    folder = Path(model).expanduser()
    for name in ("export_info.json", "config.json"):
        if (folder / name).is_file():
            return hashlib.sha256((folder / name).read_bytes()).hexdigest()[:16]
    return hashlib.sha256(model.encode()).hexdigest()[:16]


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


def build_index(settings: Settings, embedder: Embedder, show_progress: bool = True) -> Path:
    """Parse, chunk and embed every article, then swap the new index in atomically."""
    articles = load_articles(settings.articles_dir)
    passages = chunk_articles(articles)
    embedder.warm_up()
    vectors = embedder.embed_passages([p.text for p in passages], show_progress=show_progress)
    index = faiss.IndexFlatIP(vectors.shape[1])
    index.add(vectors)

    manifest = {
        "format": INDEX_FORMAT,
        "built_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "model": settings.embedding_model,
        "model_fingerprint": model_fingerprint(settings.embedding_model),
        "query_prefix": settings.query_prefix,
        "passage_prefix": settings.passage_prefix,
        "dimension": int(vectors.shape[1]),
        "index_type": "flat-ip",
        "articles": {a.id: _article_meta(a) for a in articles},
        "passages": [p.to_dict() for p in passages],
    }
    root = settings.index_dir
    root.mkdir(parents=True, exist_ok=True)
    build = root / f"build-{time.strftime('%Y%m%d-%H%M%S')}-{time.time_ns() % 10**9:09d}-{os.getpid()}"
    build.mkdir()
    faiss.write_index(index, str(build / VECTORS))
    (build / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8")
    _swap_current(root, build)
    return build


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
    if vectors.ntotal != len(passages) or vectors.d != manifest["dimension"]:
        raise IndexNotReady(
            f"the FAISS index in {current} does not match its manifest. Build it with `{BUILD_HINT}`."
        )
    return LoadedIndex(current, manifest, passages, vectors)

