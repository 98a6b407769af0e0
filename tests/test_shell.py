"""`make shell` as a user types it: rasa shell with the action server, driven through a pty."""

from __future__ import annotations

import os
import re

import pexpect
import pytest

from knowledge.settings import ROOT

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

RASA_PORT = os.environ.get("TEST_SHELL_RASA_PORT", "5705")
ACTIONS_PORT = os.environ.get("TEST_SHELL_ACTIONS_PORT", "5755")
FREE_TEXT = "Type out your own message"
UP = "\x1b[A"


def plain(text: str) -> str:
    """Terminal output without colours and cursor moves."""
    return re.sub(r"\x1b\[[0-9;?]*[a-zA-Z]", "", text)


def test_shell_answers_offers_suggestions_and_stops_cleanly() -> None:
    child = pexpect.spawn(
        str(ROOT / ".venv" / "bin" / "python"),
        ["scripts/serve.py", "--shell", "--rasa-port", RASA_PORT, "--actions-port", ACTIONS_PORT],
        cwd=str(ROOT), encoding="utf-8", timeout=240, dimensions=(50, 200),
    )
    try:
        child.expect("Your input ->")
        child.sendline("Siapa yang menerima predikat WBK?")
        child.expect("Balai Besar Pengujian Perangkat Telekomunikasi")
        child.expect(r"\(Sumber: paragraf 2")
        # The suggestions come as Rasa's button menu; Enter picks the first one.
        child.expect(FREE_TEXT)
        menu = plain(child.before)
        assert "?" in menu
        child.send("\r")
        child.expect(r"\(Sumber: ")
        child.expect(FREE_TEXT)
        child.send(UP)  # the last choice types a message of one's own
        child.send("\r")
        child.expect("Your input ->")
        child.sendline("Siapa pemenang Liga Inggris musim lalu?")
        child.expect("tidak membahas")
        child.expect(FREE_TEXT)
        child.send(UP)
        child.send("\r")
        child.expect("Your input ->")
        child.sendline("/stop")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    assert child.exitstatus == 0
