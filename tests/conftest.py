"""Shared fixtures: the real article, a tiny deterministic embedder, and real servers.

The fake embedder (a hashed bag of stems) lets the index and search code paths
run in milliseconds; tests marked `slow` use the real exported e5 model.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from knowledge.index import build_index
from knowledge.parse import Article, parse_article
from knowledge.search import Retriever
from knowledge.settings import ROOT, Settings, get_settings
from knowledge.text import content_terms

ARTICLE = ROOT / "knowledge" / "articles" / "antara-kominfo-wbk-2020.txt"
sys.path.insert(0, str(ROOT / "scripts"))

from serve import Servers  # noqa: E402

# Overridable so two test sessions (or a developer's `make run`) can share the machine.
RASA_PORT = int(os.environ.get("TEST_RASA_PORT", "5105"))
ACTIONS_PORT = int(os.environ.get("TEST_ACTIONS_PORT", "5155"))


class HashEmbedder:
    """Deterministic stand-in for a sentence model: hashed, stemmed bag of words."""

    def __init__(self, dim: int = 256) -> None:
        self.model_name = "fake-hash"
        self.dim = dim
        self.warmed = False

    def warm_up(self) -> None:
        self.warmed = True

    @property
    def dimension(self) -> int:
        return self.dim

    def _embed(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for term in content_terms(text) or ["<empty>"]:
                out[row, int(hashlib.md5(term.encode()).hexdigest(), 16) % self.dim] += 1.0
        return out / np.linalg.norm(out, axis=1, keepdims=True)

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        return self._embed(texts)

    def embed_passages(self, texts: list[str], show_progress: bool = False) -> np.ndarray:
        return self._embed(texts)


@pytest.fixture(scope="session")
def article() -> Article:
    return parse_article(ARTICLE)


@pytest.fixture
def fake_settings(tmp_path: Path) -> Settings:
    """Settings with a private copy of the articles and index, and the fake model."""
    articles = tmp_path / "articles"
    articles.mkdir()
    shutil.copy(ARTICLE, articles / ARTICLE.name)
    return replace(
        get_settings(), articles_dir=articles, index_dir=tmp_path / "index", embedding_model="fake-hash",
        query_prefix="", passage_prefix="",
    )


@pytest.fixture
def fake_retriever(fake_settings: Settings) -> Retriever:
    embedder = HashEmbedder()
    build_index(fake_settings, embedder, show_progress=False)  # type: ignore[arg-type]
    retriever = Retriever(fake_settings, embedder)  # type: ignore[arg-type]
    retriever.warm_up()
    return retriever


@pytest.fixture(scope="session")
def retriever() -> Retriever:
    """The real retriever over the real index built by `make index`."""
    r = Retriever(get_settings())
    r.warm_up()
    return r


@pytest.fixture(scope="session")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Servers]:
    """The action server and the Rasa server, started once per session through the Makefile targets."""
    logs = tmp_path_factory.mktemp("server-logs")
    with Servers(RASA_PORT, ACTIONS_PORT, log_dir=logs) as s:
        start_or_fail(s, logs)
        yield s


def start_or_fail(servers: Servers, logs: Path) -> None:
    """Start the action server, then the Rasa server; fail the test with their log tails if either won't."""
    try:
        servers.start_actions()
        servers.start_rasa()
    except (RuntimeError, TimeoutError) as exc:
        tails = {p.name: p.read_text(errors="replace")[-3000:] for p in logs.iterdir()}
        pytest.fail(f"servers did not start: {exc}\n{tails}")
