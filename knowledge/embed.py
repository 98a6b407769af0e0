"""Sentence embeddings through sentence-transformers, loaded once per process.

`__init__` only stores settings; `warm_up()` loads the model through a cached
factory, so constructing an Embedder is free and two of them share one model.

A question is embedded once per turn. Rasa's NLU already embeds every message
with this model and prefix (nlu_components/featurizer.py); it passes that
vector on as a `QueryVector` in the message's parse data, and retrieval uses it
instead of embedding the same text again (23 ms of every answer on this
machine, `make bench`). The vector names the text it was computed from and the
model's fingerprint, so a follow-up rewritten by retrieval, or a Rasa server
with another model, falls back to embedding here.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

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


# Where Rasa's parse data carries the NLU's vector of the message (`QueryVector.to_dict`).
QUERY_VECTOR = "query_vector"


def model_fingerprint(model: str) -> str:
    """Identify the model's weights, so an index built with other weights counts as stale."""
    folder = Path(model).expanduser()
    for name in ("export_info.json", "config.json"):
        if (folder / name).is_file():
            return hashlib.sha256((folder / name).read_bytes()).hexdigest()[:16]
    return hashlib.sha256(model.encode()).hexdigest()[:16]


@lru_cache(maxsize=8)
def vector_key(model: str, query_prefix: str) -> str:
    """What a query vector depends on besides its text: the weights and the query prefix."""
    return f"{model_fingerprint(model)}|{query_prefix}"


@dataclass(frozen=True)
class QueryVector:
    """A question's unit vector computed by another process (Rasa's NLU), and what it was computed from."""

    text: str
    key: str
    vector: np.ndarray

    def to_dict(self) -> dict[str, str]:
        """JSON-safe form: float32 bytes in base64 (2 kB for e5-small), not 384 decimal numbers."""
        raw = np.ascontiguousarray(self.vector, dtype="<f4").tobytes()
        return {"text": self.text, "key": self.key, "f32": base64.b64encode(raw).decode("ascii")}

    @classmethod
    def from_dict(cls, data: Any) -> QueryVector | None:
        """The vector in `data`, or None when it is missing or malformed (then retrieval embeds the text itself)."""
        if not isinstance(data, dict) or not all(isinstance(data.get(k), str) for k in ("text", "key", "f32")):
            return None
        try:
            raw = base64.b64decode(data["f32"], validate=True)
        except (binascii.Error, ValueError):
            return None
        if not raw or len(raw) % 4:
            return None
        vector = np.frombuffer(raw, dtype="<f4").astype(np.float32)
        if not np.all(np.isfinite(vector)) or abs(float(np.linalg.norm(vector)) - 1.0) > 1e-3:
            return None  # retrieval's vectors are unit length; anything else was not made by the featurizer
        return cls(data["text"], data["key"], vector)


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
