"""`make shell` as a user types it: rasa shell with the action server, driven through a pty."""

from __future__ import annotations

import os
import re
import time

import pexpect
import pytest

from knowledge.settings import ROOT
from tests.tracker_events import slot_values_since

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

RASA_PORT = os.environ.get("TEST_SHELL_RASA_PORT", "5705")
ACTIONS_PORT = os.environ.get("TEST_SHELL_ACTIONS_PORT", "5755")
FREE_TEXT = "Type out your own message"
UP = "\x1b[A"


def plain(text: str) -> str:
    """Terminal output without colours and cursor moves."""
    return re.sub(r"\x1b\[[0-9;?]*[a-zA-Z]", "", text)


def test_shell_answers_takes_feedback_offers_suggestions_and_stops_cleanly() -> None:
    started = time.time()
    child = pexpect.spawn(
        str(ROOT / ".venv" / "bin" / "python"),
        ["-m", "serving", "shell", "--rasa-port", RASA_PORT, "--actions-port", ACTIONS_PORT],
        cwd=str(ROOT), encoding="utf-8", timeout=240, dimensions=(50, 200),
    )
    try:
        child.expect("Your input ->")
        child.sendline("Siapa yang menerima predikat WBK?")
        child.expect("Balai Besar Pengujian Perangkat Telekomunikasi")
        child.expect(r"\(Sumber: paragraf 2")
        # 👍, 👎 and the suggestions come as Rasa's button menu; Enter picks the first one: 👍.
        child.expect(FREE_TEXT)
        menu = plain(child.before)
        assert "👍" in menu and "?" in menu
        child.send("\r")
        child.expect("Terima kasih atas penilaiannya")
        child.expect("Your input ->")
        # The documented short reply works as well as the button.
        child.sendline("Apa itu WBBM?")
        child.expect(r"\(Sumber: ")
        child.expect(FREE_TEXT)
        child.send(UP)  # the last choice types a message of one's own
        child.send("\r")
        child.expect("Your input ->")
        child.sendline("salah")
        child.expect("Terima kasih atas masukannya")
        child.expect(r"\(Sumber: ")  # the next-best passage
        child.expect(FREE_TEXT)
        child.send(UP)
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
    asked = ("Siapa yang menerima predikat WBK?", "Apa itu WBBM?")
    ratings = [r for r in slot_values_since(started, "feedback") if r["question"] in asked]
    assert [r["rating"] for r in ratings][-2:] == ["up", "down"], ratings
    assert ratings[-2]["passages"] == ["antara-kominfo-wbk-2020#2"]

