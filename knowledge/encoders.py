"""The two runtimes an embedding model can run on, behind one small interface.

* ``OnnxEncoder``: the project's e5 model as ONNX (knowledge/export_onnx.py) on
  onnxruntime, tokenised by the folder's own ``tokenizer.json`` with the
  ``tokenizers`` library, then mean pooling and L2 normalisation in numpy, as
  the folder's sentence-transformers modules do. It imports neither torch nor
  transformers: both servers run it, and each saves about 1.3 GB of peak
  memory and half the time of a query (docs/performance.md).
* ``SentenceTransformerEncoder``: any other sentence-transformers model
  (``EMBEDDING_MODEL``), or this one on torch with ``EMBEDDING_RUNTIME=torch``,
  which the vector comparison test uses as its reference.

knowledge/embed.py picks one per model (``resolve_runtime``) and loads it once
per process.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, cast

import numpy as np

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

logger = logging.getLogger(__name__)

# One text's subword vectors and their character offsets into the text (for per-token features).
TokenVectors = tuple[list[tuple[int, int]], np.ndarray]


class Encoder(Protocol):
    """What the Embedder and the NLU featurizer need of a loaded model."""

    runtime: str
    dimension: int

    def encode(self, texts: list[str], batch_size: int = 32, show_progress: bool = False) -> np.ndarray:
        """Unit vectors (float32, one row per text)."""
        ...

    def token_vectors(self, texts: list[str], batch_size: int = 32) -> list[TokenVectors]:
        """Per text: the contextual subword vectors and their character offsets (special tokens have (0, 0))."""
        ...

    def count_tokens(self, text: str) -> int:
        """Subword tokens the model reads for a text, special tokens included (for the benchmark's rates)."""
        ...


def _unit_rows(vectors: np.ndarray) -> np.ndarray:
    """L2-normalise each row, as sentence-transformers' Normalize module does (eps 1e-12)."""
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return (vectors / np.maximum(norms, 1e-12)).astype(np.float32)


class OnnxEncoder:
    """The ONNX model of a sentence-transformers folder on onnxruntime; no torch in the process.

    One session per process, single-threaded by default (``EMBEDDING_THREADS``):
    the Rasa server and the action server share two cores, and one thread each
    kept single queries fastest under load. The intra-op pool never spins, so an
    idle server leaves its core to the other.
    """

    runtime = "onnxruntime"

    def __init__(self, folder: Path, model_file: Path, threads: int = 1) -> None:
        """Load the tokenizer and the session now: this is the cached factory's one load per process."""
        import onnxruntime as ort
        from tokenizers import Tokenizer

        folder = Path(folder)
        self._check_pooling(folder)
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
        self.dimension = int(config["hidden_size"])
        self._pad_id = int(config.get("pad_token_id") or 0)
        st_config = folder / "sentence_bert_config.json"
        max_length = json.loads(st_config.read_text(encoding="utf-8")).get("max_seq_length") \
            if st_config.is_file() else None
        self._tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        # tokenizer.json stores no truncation; sentence-transformers cuts at max_seq_length, so do the same.
        self._tokenizer.enable_truncation(int(max_length or config.get("max_position_embeddings", 512)))
        self._tokenizer.no_padding()

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.log_severity_level = 3  # the quantised graph's opset upgrade warns on every load
        self._session = ort.InferenceSession(str(model_file), options, providers=["CPUExecutionProvider"])
        self._inputs = {i.name for i in self._session.get_inputs()}

    @staticmethod
    def _check_pooling(folder: Path) -> None:
        """Refuse a folder whose sentence-transformers stack is not mean pooling then Normalize."""
        modules = json.loads((folder / "modules.json").read_text(encoding="utf-8"))
        kinds = [m["type"].rsplit(".", 1)[-1] for m in modules]
        pooling = json.loads((folder / "1_Pooling" / "config.json").read_text(encoding="utf-8"))
        if kinds != ["Transformer", "Pooling", "Normalize"] or not pooling.get("pooling_mode_mean_tokens"):
            raise ValueError(f"{folder}: the ONNX runtime pools like Transformer -> mean Pooling -> Normalize only")

    def _forward(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray, list[Any]]:
        """Token states [batch, length, dim], the attention mask and the encodings of one padded batch."""
        encodings = [self._tokenizer.encode(t) for t in texts]
        length = max(len(e.ids) for e in encodings)
        ids = np.full((len(encodings), length), self._pad_id, dtype=np.int64)
        mask = np.zeros((len(encodings), length), dtype=np.int64)
        for row, encoding in enumerate(encodings):
            ids[row, : len(encoding.ids)] = encoding.ids
            mask[row, : len(encoding.ids)] = 1
        feed = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self._inputs:
            feed["token_type_ids"] = np.zeros_like(ids)
        (states,) = self._session.run(None, feed)
        return states, mask, encodings

    def _batches(self, texts: list[str], batch_size: int) -> list[list[int]]:
        """Indices in batches of similar length (longest first, as sentence-transformers does): less padding."""
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        return [order[s : s + batch_size] for s in range(0, len(order), batch_size)]

    def encode(self, texts: list[str], batch_size: int = 32, show_progress: bool = False) -> np.ndarray:
        """Mean of the token states over the attention mask, L2-normalised."""
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        batches = self._batches(texts, batch_size)
        if show_progress:
            from tqdm import tqdm

            batches = tqdm(batches, desc="embedding", unit="batch")
        for batch in batches:
            states, mask, _ = self._forward([texts[i] for i in batch])
            weights = mask[:, :, np.newaxis].astype(np.float32)
            pooled = (states * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
            out[batch] = _unit_rows(pooled)
        return out

    def token_vectors(self, texts: list[str], batch_size: int = 32) -> list[TokenVectors]:
        """Per text, the token states of its real (unpadded) tokens with the tokenizer's character offsets."""
        out: list[TokenVectors | None] = [None] * len(texts)
        for batch in self._batches(texts, batch_size):
            states, _, encodings = self._forward([texts[i] for i in batch])
            for row, (i, encoding) in enumerate(zip(batch, encodings, strict=True)):
                n = len(encoding.ids)
                out[i] = ([tuple(span) for span in encoding.offsets], states[row, :n].astype(np.float32))
        return cast(list[TokenVectors], out)  # every index is in exactly one batch

    def count_tokens(self, text: str) -> int:
        """Subword tokens the model reads for a text, special tokens included."""
        return len(self._tokenizer.encode(text).ids)


class SentenceTransformerEncoder:
    """A sentence-transformers model on torch: for models without an ONNX export, and as the reference."""

    runtime = "sentence-transformers"

    def __init__(self, name_or_path: str, threads: int = 1) -> None:
        """Load the model now (the factory in knowledge/embed.py calls this once per process)."""
        import torch
        from sentence_transformers import SentenceTransformer

        # One thread by default: on two shared cores two threads per server made single queries 20-50x slower.
        torch.set_num_threads(threads)
        self._model: SentenceTransformer = SentenceTransformer(name_or_path, device="cpu")
        # Renamed in sentence-transformers 5.7; the old name still works there, with a warning.
        dimension_of = getattr(self._model, "get_embedding_dimension", None) or \
            self._model.get_sentence_embedding_dimension
        dimension = dimension_of()
        if dimension is None:
            raise RuntimeError(f"model {name_or_path} does not report its embedding size")
        self.dimension = int(dimension)

    def encode(self, texts: list[str], batch_size: int = 32, show_progress: bool = False) -> np.ndarray:
        """sentence-transformers' own encode, normalised."""
        vectors = self._model.encode(texts, batch_size=batch_size, normalize_embeddings=True,
                                     convert_to_numpy=True, show_progress_bar=show_progress)
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def token_vectors(self, texts: list[str], batch_size: int = 32) -> list[TokenVectors]:
        """Token embeddings, then offsets from tokenising again (sentence-transformers returns no offsets).

        A text whose two tokenisations differ in length gets no vectors, and the
        featurizer falls back to the sentence vector rather than misalign.
        """
        subwords = self._model.encode(texts, batch_size=batch_size, output_value="token_embeddings",
                                      show_progress_bar=False)
        encoded = self._model.tokenizer(texts, return_offsets_mapping=True, truncation=True,
                                        max_length=self._model.max_seq_length)
        out: list[TokenVectors] = []
        for vectors, offsets in zip(subwords, encoded["offset_mapping"], strict=True):
            if len(offsets) != len(vectors):
                logger.warning("subwords and offsets differ in length; no per-token vectors for this text")
                out.append(([], np.zeros((0, self.dimension), np.float32)))
            else:
                out.append(([tuple(o) for o in offsets], vectors.float().cpu().numpy()))
        return out

    def count_tokens(self, text: str) -> int:
        """Subword tokens the model reads for a text, special tokens included."""
        return len(self._model.tokenizer(text)["input_ids"])

