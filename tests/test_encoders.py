"""Which runtime embeds, what identifies its vectors, and that the servers' path never loads torch.

The fast tests use a throw-away model folder (no model is loaded); the slow
ones use the real export in var/embedder/.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from rasa.nlu.tokenizers.whitespace_tokenizer import WhitespaceTokenizer
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message

from knowledge import export_onnx
from knowledge.embed import ModelNotFoundError, load_model, model_fingerprint, resolve_runtime
from knowledge.settings import ROOT, embedding_runtime, embedding_threads, get_settings
from nlu_components.featurizer import SentenceEmbeddingFeaturizer


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A model folder as knowledge/export_e5.py and export_onnx.py leave it (files, not a working model)."""
    root = tmp_path / "multilingual-e5-small"
    (root / "onnx").mkdir(parents=True)
    (root / "export_info.json").write_text('{"source_sha256": "abc"}', encoding="utf-8")
    (root / "onnx" / "model.onnx").write_bytes(b"onnx weights, version 1")
    return root


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("EMBEDDING_RUNTIME", "EMBEDDING_THREADS", "TORCH_THREADS"):
        monkeypatch.delenv(name, raising=False)


# --- choosing the runtime, and the fingerprint that names it ----------------------------------------------


def test_an_exported_folder_runs_on_onnx_unless_torch_is_asked_for(folder: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    assert resolve_runtime(str(folder)) == ("onnx", folder / "onnx" / "model.onnx")
    monkeypatch.setenv("EMBEDDING_RUNTIME", "torch")
    assert resolve_runtime(str(folder)) == ("torch", None)


def test_a_model_without_an_onnx_export_runs_on_torch_or_names_the_fix(folder: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    (folder / "onnx" / "model.onnx").unlink()
    assert resolve_runtime(str(folder)) == ("torch", None)  # any sentence-transformers model (EMBEDDING_MODEL)
    monkeypatch.setenv("EMBEDDING_RUNTIME", "onnx")
    with pytest.raises(ModelNotFoundError, match="make embedder"):
        resolve_runtime(str(folder))


def test_the_fingerprint_changes_with_the_onnx_file_and_the_runtime(folder: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """The stale-index check, the NLU's QueryVector key and Rasa's featurizer cache all hang on it."""
    onnx_v1 = model_fingerprint(str(folder))
    (folder / "onnx" / "model.onnx").write_bytes(b"onnx weights, version 2")
    onnx_v2 = model_fingerprint(str(folder))
    monkeypatch.setenv("EMBEDDING_RUNTIME", "torch")
    on_torch = model_fingerprint(str(folder))
    assert len({onnx_v1, onnx_v2, on_torch}) == 3
    (folder / "onnx" / "model.onnx").write_bytes(b"onnx weights, version 1")
    monkeypatch.delenv("EMBEDDING_RUNTIME")
    assert model_fingerprint(str(folder)) == onnx_v1


@pytest.mark.parametrize(("name", "value"), [("EMBEDDING_RUNTIME", "gpu"), ("EMBEDDING_THREADS", "two"),
                                             ("EMBEDDING_THREADS", "0"), ("TORCH_THREADS", "1.5")])
def test_a_bad_runtime_setting_names_the_variable(name: str, value: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(name, value)
    read = embedding_runtime if name == "EMBEDDING_RUNTIME" else embedding_threads
    with pytest.raises(ValueError, match=name):
        read()


def test_threads_default_to_one_and_keep_their_older_name(monkeypatch: pytest.MonkeyPatch) -> None:
    assert embedding_threads() == 1
    monkeypatch.setenv("TORCH_THREADS", "2")
    assert embedding_threads() == 2
    monkeypatch.setenv("EMBEDDING_THREADS", "3")
    assert embedding_threads() == 3


def test_the_onnx_export_is_stale_when_its_folder_or_onnxruntime_changes(folder: Path) -> None:
    info = export_onnx.expected_info(folder)
    (folder / "onnx" / "export_info.json").write_text(json.dumps(info), encoding="utf-8")
    assert export_onnx.is_up_to_date(folder)
    (folder / "onnx" / "export_info.json").write_text(json.dumps({**info, "onnxruntime_version": "1.22.0"}))
    assert not export_onnx.is_up_to_date(folder)
    (folder / "onnx" / "export_info.json").write_text(json.dumps(info), encoding="utf-8")
    (folder / "export_info.json").write_text('{"source_sha256": "re-exported"}', encoding="utf-8")
    assert not export_onnx.is_up_to_date(folder)


def test_rasa_train_is_told_the_packages_the_featurizer_imports() -> None:
    """Rasa imports `required_packages` when it builds the graph; naming torch there loaded it in `rasa train`."""
    assert SentenceEmbeddingFeaturizer.required_packages() == ["onnxruntime", "tokenizers"]


# --- the real model ----------------------------------------------------------------------------------------

# Runs in a fresh interpreter: everything the two servers do with e5, then which heavy modules got imported.
SERVER_PATH = r"""
import json, sys
from rasa.nlu.tokenizers.whitespace_tokenizer import WhitespaceTokenizer
from rasa.shared.nlu.training_data.message import Message
import actions.actions
from knowledge.search import get_retriever
from nlu_components.featurizer import SentenceEmbeddingFeaturizer

message = Message({"text": "Siapa yang menerima predikat WBK?"})
WhitespaceTokenizer(WhitespaceTokenizer.get_default_config()).process([message])
SentenceEmbeddingFeaturizer(SentenceEmbeddingFeaturizer.get_default_config(), "e5").process([message])
answer = get_retriever().answer("Siapa yang menerima predikat WBK?")
heavy = sorted(m for m in ("torch", "transformers", "sentence_transformers") if m in sys.modules)
print(json.dumps({"heavy": heavy, "answered": bool(answer.text), "vector": "query_vector" in message.data}))
"""


@pytest.mark.slow
def test_the_servers_embedding_path_loads_no_torch() -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("EMBEDDING_RUNTIME", "TORCH_THREADS")}
    proc = subprocess.run([sys.executable, "-c", SERVER_PATH], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    found = json.loads(proc.stdout.strip().splitlines()[-1])
    assert found == {"heavy": [], "answered": True, "vector": True}


@pytest.mark.slow
def test_one_model_per_process() -> None:
    """The featurizer and retrieval share one loaded model (the cached factory)."""
    settings = get_settings()
    featurizer = SentenceEmbeddingFeaturizer(SentenceEmbeddingFeaturizer.get_default_config(), "e5")
    assert featurizer._require_model() is load_model(settings.embedding_model)
    assert load_model(settings.embedding_model).runtime == "onnxruntime"


@pytest.mark.slow
def test_per_token_features_have_one_unit_row_per_rasa_token() -> None:
    """The `tokens` mode (not in config.yml, but offered) on the ONNX runtime: rows aligned to Rasa's tokens."""
    config = {**SentenceEmbeddingFeaturizer.get_default_config(), "sequence_features": "tokens"}
    featurizer = SentenceEmbeddingFeaturizer(config, "e5")
    message = Message({TEXT: "brp unit kerja yg diusulkan ke TPN?"})
    WhitespaceTokenizer(WhitespaceTokenizer.get_default_config()).process([message])
    featurizer.process([message])
    sequence, sentence = message.get_dense_features(TEXT)
    assert sequence is not None and sentence is not None
    rows = sequence.features
    assert rows.shape == (7, 384)  # brp unit kerja yg diusulkan ke TPN
    assert np.allclose(np.linalg.norm(rows, axis=1), 1.0, atol=1e-5)
    assert len({r.tobytes() for r in rows}) == 7  # contextual vectors, not the sentence repeated
