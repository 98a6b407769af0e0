"""Sentence embeddings, with the model loaded once per process.

`__init__` only stores settings; `warm_up()` loads the model through a cached
factory, so constructing an Embedder is free and two of them share one model.
The project's e5 model runs on onnxruntime from its ONNX export
(knowledge/export_onnx.py), with no torch in the process; any other
sentence-transformers model runs on torch (knowledge/encoders.py).

A question is embedded once per turn. Rasa's NLU already embeds every message
with this model and prefix (nlu_components/featurizer.py); it passes that
vector on as a `QueryVector` in the message's parse data, and retrieval uses it
instead of embedding the same text again. The vector names the text it was
computed from and the model's fingerprint, so a follow-up rewritten by
retrieval, or a Rasa server with another model or runtime, falls back to
embedding here.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import logging
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from .encoders import Encoder, TokenVectors
from .export_onnx import onnx_path
from .settings import embedding_runtime, embedding_threads

logger = logging.getLogger(__name__)


class ModelNotFoundError(RuntimeError):
    """The embedding model is not on disk; says which command provides it."""


# Where Rasa's parse data carries the NLU's vector of the message (`QueryVector.to_dict`).
QUERY_VECTOR = "query_vector"


def resolve_runtime(model: str) -> tuple[str, Path | None]:
    """Which runtime loads `model` under `EMBEDDING_RUNTIME`: ("onnx", its ONNX file) or ("torch", None)."""
    wanted = embedding_runtime()
    onnx_file = onnx_path(Path(model).expanduser())
    if wanted == "torch":
        return "torch", None
    if onnx_file.is_file():
        return "onnx", onnx_file
    if wanted == "onnx":
        raise ModelNotFoundError(f"no ONNX export at {onnx_file}; build it with `make embedder`")
    return "torch", None


@lru_cache(maxsize=8)
def _file_sha256(path: Path, size: int, mtime_ns: int) -> str:
    """A file's sha256, computed once per version of the file (size and mtime are part of the cache key)."""
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def model_fingerprint(model: str) -> str:
    """Identify what computes the vectors, so an index built by other weights or another runtime counts as stale.

    For the ONNX runtime that is the ONNX file itself as well as the folder's record; for torch, the folder's
    record (knowledge/export_e5.py) or config, as before the ONNX runtime existed.
    """
    folder = Path(model).expanduser()
    base = hashlib.sha256(model.encode()).hexdigest()[:16]
    for name in ("export_info.json", "config.json"):
        if (folder / name).is_file():
            base = hashlib.sha256((folder / name).read_bytes()).hexdigest()[:16]
            break
    runtime, onnx_file = resolve_runtime(model)
    if onnx_file is None:
        return base
    stat = onnx_file.stat()
    weights = _file_sha256(onnx_file.resolve(), stat.st_size, stat.st_mtime_ns)
    return hashlib.sha256(f"{base}|{runtime}|{weights}".encode()).hexdigest()[:16]


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
def load_model(name_or_path: str) -> Encoder:
    """Load a model once per process, never from the network: onnxruntime when it has an ONNX export."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    looks_like_path = name_or_path.startswith(("/", ".", "~")) or os.sep in name_or_path.strip("/")
    folder = Path(name_or_path).expanduser()
    if looks_like_path and not folder.is_dir():
        raise ModelNotFoundError(
            f"embedding model folder {name_or_path} does not exist; build it with `make embedder`"
        )
    _, onnx_file = resolve_runtime(name_or_path)
    if onnx_file is not None:
        from .encoders import OnnxEncoder

        return OnnxEncoder(folder, onnx_file, threads=embedding_threads())
    if embedding_runtime() == "auto" and looks_like_path and (folder / "export_info.json").is_file():
        logger.warning("e5 runs on torch (%s has no ONNX export): `make embedder` builds it, for half the time per "
                       "query and about 1.3 GB less memory per process", name_or_path)
    from .encoders import SentenceTransformerEncoder

    return SentenceTransformerEncoder(name_or_path, threads=embedding_threads())


class Embedder:
    """Turns queries and passages into unit vectors with the prefixes the model expects."""

    def __init__(self, model: str, query_prefix: str = "", passage_prefix: str = "") -> None:
        self.model_name = model
        self.query_prefix = query_prefix
        self.passage_prefix = passage_prefix
        self._model: Encoder | None = None

    def warm_up(self) -> None:
        """Load the model (shared across instances) if not loaded yet."""
        if self._model is None:
            self._model = load_model(self.model_name)

    @property
    def dimension(self) -> int:
        """Length of the vectors this model produces."""
        return self._require().dimension

    @property
    def runtime(self) -> str:
        """What runs the model: onnxruntime or sentence-transformers."""
        return self._require().runtime

    def _require(self) -> Encoder:
        if self._model is None:
            raise RuntimeError("Embedder used before warm_up(); call warm_up() first")
        return self._model

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        """Vectors for questions (with the query prefix)."""
        return self._require().encode([self.query_prefix + t for t in texts])

    def embed_passages(self, texts: list[str], show_progress: bool = False) -> np.ndarray:
        """Vectors for passages (with the passage prefix)."""
        return self._require().encode([self.passage_prefix + t for t in texts], show_progress=show_progress)

    def token_vectors(self, texts: list[str]) -> list[TokenVectors]:
        """Subword vectors and offsets of the texts as given (no prefix added)."""
        return self._require().token_vectors(texts)

    def count_tokens(self, text: str) -> int:
        """Tokens the model reads for a text as given, special tokens included."""
        return self._require().count_tokens(text)
