"""The action server refuses to start, on one line naming `make index`, when the index is corrupt or stale.

The missing-index case is in tests/test_actions.py. Each case runs the real
`make actions-server` on a private copy of var/index, so the real index is
never touched.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from knowledge.index import VECTORS
from knowledge.settings import ROOT, get_settings

pytestmark = pytest.mark.slow

PORT = "5198"  # never reached: the server must exit before it listens


def start_actions(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["make", "--no-print-directory", "-s", "actions-server", f"ACTIONS_PORT={PORT}"],
        cwd=ROOT, env={**os.environ, **env}, capture_output=True, text=True, timeout=300,
    )


def refusal_line(result: subprocess.CompletedProcess[str]) -> str:
    """The one line that says why; make's own 'Error' line and library noise are not part of it."""
    assert result.returncode != 0, result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("Action server cannot start:")]
    assert len(lines) == 1, result.stderr[-2000:]
    assert "make index" in lines[0]
    return lines[0]


@pytest.fixture
def index_copy(tmp_path: Path) -> Path:
    """A copy of the real index (with its `current` symlink), built by `make index`."""
    source = get_settings().index_dir
    if not (source / "current" / VECTORS).is_file():
        pytest.skip("no index; run `make index`")
    target = tmp_path / "index"
    shutil.copytree(source, target, symlinks=True)
    return target


def test_refuses_a_corrupt_faiss_file(index_copy: Path) -> None:
    vectors = index_copy / "current" / VECTORS
    vectors.write_bytes(b"this is not a FAISS index" + os.urandom(512))
    line = refusal_line(start_actions({"INDEX_DIR": str(index_copy)}))
    assert "corrupt" in line


def test_refuses_a_truncated_faiss_file(index_copy: Path) -> None:
    vectors = index_copy / "current" / VECTORS
    vectors.write_bytes(vectors.read_bytes()[: vectors.stat().st_size // 2])
    line = refusal_line(start_actions({"INDEX_DIR": str(index_copy)}))
    assert "corrupt" in line


def test_refuses_an_index_built_with_another_model(index_copy: Path, tmp_path: Path) -> None:
    # The same weights under another name: the manifest names the model it was built with.
    other = tmp_path / "other-e5-model"
    other.symlink_to(Path(get_settings().embedding_model).resolve(), target_is_directory=True)
    line = refusal_line(start_actions({"INDEX_DIR": str(index_copy), "EMBEDDING_MODEL": str(other)}))
    assert "index was built with model" in line
    assert str(other) in line
