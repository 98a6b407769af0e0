"""Sentence embeddings through sentence-transformers, loaded once per process.

`__init__` only stores settings; `warm_up()` loads the model through a cached
factory, so constructing an Embedder is free and two of them share one model.
"""

from __future__ import annotations

import os
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer


class ModelNotFoundError(RuntimeError):
    """The embedding model is not on disk; says which command provides it."""


def _limit_threads() -> None:
    """Keep torch from oversubscribing the cores; set TORCH_THREADS to use more."""
    import torch

    # One thread by default: the Rasa server and the action server each run torch, and on a
    # small machine two threads each made single queries 20-50x slower under load.
    threads = int(os.environ.get("TORCH_THREADS", "0") or 0) or 1
    torch.set_num_threads(threads)


@lru_cache(maxsize=4)
def load_model(name_or_path: str) -> SentenceTransformer:
    """Load a sentence-transformers model once per process, never from the network."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    looks_like_path = name_or_path.startswith(("/", ".", "~")) or os.sep in name_or_path.strip("/")
    if looks_like_path and not os.path.isdir(os.path.expanduser(name_or_path)):
        raise ModelNotFoundError(
            f"embedding model folder {name_or_path} does not exist; build it with `make embedder`"
        )
    from sentence_transformers import SentenceTransformer

    _limit_threads()
    return SentenceTransformer(name_or_path, device="cpu")


class Embedder:
    """Turns queries and passages into unit vectors with the prefixes the model expects."""

    def __init__(self, model: str, query_prefix: str = "", passage_prefix: str = "") -> None:
        self.model_name = model
        self.query_prefix = query_prefix
        self.passage_prefix = passage_prefix
        self._model: SentenceTransformer | None = None

    def warm_up(self) -> None:
        """Load the model (shared across instances) if not loaded yet."""
        if self._model is None:
            self._model = load_model(self.model_name)

    @property
    def dimension(self) -> int:
        """Length of the vectors this model produces."""
        model = self._require()
        dim = model.get_sentence_embedding_dimension()
        if dim is None:
            raise RuntimeError(f"model {self.model_name} does not report its embedding size")
        return int(dim)

    def _require(self) -> SentenceTransformer:
        if self._model is None:
            raise RuntimeError("Embedder used before warm_up(); call warm_up() first")
        return self._model

    def _encode(self, texts: list[str], show_progress: bool) -> np.ndarray:
        model = self._require()
        vectors = model.encode(
            texts, batch_size=32, normalize_embeddings=True, convert_to_numpy=True,
            show_progress_bar=show_progress,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        """Vectors for questions (with the query prefix)."""
        return self._encode([self.query_prefix + t for t in texts], show_progress=False)

    def embed_passages(self, texts: list[str], show_progress: bool = False) -> np.ndarray:
        """Vectors for passages (with the passage prefix)."""
        return self._encode([self.passage_prefix + t for t in texts], show_progress=show_progress)
