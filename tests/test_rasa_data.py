"""Rasa's own checks, run through the Makefile targets so the flags are written once."""

from __future__ import annotations

import subprocess

import pytest

from knowledge.settings import ROOT

pytestmark = pytest.mark.slow


def make(target: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["make", "--no-print-directory", "-s", target], cwd=ROOT, capture_output=True, text=True, timeout=900
    )


def test_rasa_data_validate_passes() -> None:
    result = make("validate")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]


def test_rasa_test_stories_pass_without_prediction_errors() -> None:
    result = make("rasa-test")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    report = (ROOT / "var" / "results" / "failed_test_stories.yml").read_text(encoding="utf-8")
    assert "None of the test stories failed" in report
