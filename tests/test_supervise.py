"""`make run` and `make shell` under supervisord, driven as a user drives them, with real faults.

One `make run` serves the fault tests: the action server and then the Rasa server
are killed with SIGKILL mid-conversation, while a reader talks on REST, the web
chat (Socket.IO) and Telegram (a fake Bot API), and the tracker store (SQLite,
var/tracker.db) is read directly afterwards. Separate runs check the signals
(Ctrl-C during start-up, SIGTERM a second after the Rasa server first answers,
a closed terminal for `make shell`), a taken port and a crash loop.

Every port is overridable (TEST_SUP_*); the defaults are 72xx-74xx.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pexpect
import pytest

from knowledge.settings import ROOT
from serving.ports import port_free
from tests.fake_telegram import FakeTelegram
from tests.supervised import Launch, processes_with, rest, server_pid, telegram, wait_gone, wait_http, web
from tests.test_telegram import SECRET, TOKEN, USERNAME, message_update, new_chat

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

RASA_PORT = int(os.environ.get("TEST_SUP_RASA_PORT", "7205"))
ACTIONS_PORT = int(os.environ.get("TEST_SUP_ACTIONS_PORT", "7255"))
SIGNAL_RASA_PORT = int(os.environ.get("TEST_SUP_SIGNAL_RASA_PORT", "7305"))
SIGNAL_ACTIONS_PORT = int(os.environ.get("TEST_SUP_SIGNAL_ACTIONS_PORT", "7355"))
SHELL_RASA_PORT = int(os.environ.get("TEST_SUP_SHELL_RASA_PORT", "7405"))
SHELL_ACTIONS_PORT = int(os.environ.get("TEST_SUP_SHELL_ACTIONS_PORT", "7455"))
STOP_LIMIT = 15  # seconds: every process stopped and every port free (the limit)
START_LIMIT = 400  # seconds for "Ready" on a busy day
RECOVERY_LIMIT = float(os.environ.get("TEST_SUP_RECOVERY_LIMIT", "20"))  # from SIGKILL to answers again
TRACKER_DB = ROOT / "var" / "tracker.db"  # bot/endpoints.yml, what make run uses

WBK, WBBM_FOLLOWUP, WBK_FOLLOWUP = "Berapa instansi yang dapat WBK?", "kalau WBBM?", "kalau WBK?"
DOWN_QUESTION = "Berapa unit kerja yang diusulkan?"
APOLOGY = "Maaf, saya sedang tidak bisa membuka artikelnya"


def env_for(tmp: Path, **extra: str) -> dict[str, str]:
    """supervisord's files and the logs in the test's own folder."""
    return {"SERVE_DIR": str(tmp / "serve"), "SERVE_LOG_DIR": str(tmp / "logs"), **extra}


def make_run(tmp: Path, rasa_port: int, actions_port: int, target: str = "run", **extra: str) -> Launch:
    return Launch(["make", "--no-print-directory", target, f"RASA_PORT={rasa_port}", f"ACTIONS_PORT={actions_port}"],
                  tmp / f"{target}-{rasa_port}.out", env_for(tmp, **extra))


def marks(rasa_port: int, actions_port: int) -> list[str]:
    """Command-line fragments of every process one run starts (servers, make, supervisord)."""
    return [f"--port {rasa_port}", f"--port {actions_port}", f"RASA_PORT={rasa_port}",
            f"ACTIONS_PORT={actions_port}", f"run-{rasa_port}/supervisord.conf", f"shell-{actions_port}/supervisord"]


# --- the fault tests' run -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def api() -> Iterator[FakeTelegram]:
    with FakeTelegram(username=USERNAME, bot_id=int(TOKEN.split(":")[0])) as fake:
        yield fake


@pytest.fixture(scope="module")
def bot(api: FakeTelegram, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Launch]:
    """`make run` with Telegram on (against the fake Bot API), until every fault test is done."""
    tmp = tmp_path_factory.mktemp("supervised")
    launch = make_run(tmp, RASA_PORT, ACTIONS_PORT, TELEGRAM_TOKEN=TOKEN, TELEGRAM_VERIFY=USERNAME,
                      TELEGRAM_SECRET_TOKEN=SECRET, TELEGRAM_API_BASE=api.base_url)
    try:
        launch.wait_for(r"^Ready \(", START_LIMIT)
        yield launch
    finally:
        launch.stop()


def base() -> str:
    return f"http://127.0.0.1:{RASA_PORT}"


def stored(sender: str) -> list[tuple[str, str]]:
    """(type, what) of a conversation's user, bot and action events, read from the SQLite tracker store."""
    with sqlite3.connect(TRACKER_DB) as db:
        rows = db.execute("SELECT type_name, action_name, data FROM events WHERE sender_id = ? ORDER BY id",
                          (sender,)).fetchall()
    out = []
    for kind, action, data in rows:
        if kind in ("user", "bot"):
            out.append((kind, json.loads(data).get("text") or ""))
        elif kind == "action" and action not in ("action_listen", "action_session_start"):
            out.append((kind, action))
    return out


def assert_each_turn_once(sender: str, asked: list[str], expected: list[str]) -> None:
    """Every message stored once, in order, with one run of its action and one reply that holds `expected`."""
    events = stored(sender)
    turns: list[list[tuple[str, str]]] = []
    for event in events:
        if event[0] == "user":
            turns.append([event])
        elif turns:
            turns[-1].append(event)
    assert [t[0][1] for t in turns] == asked, events
    for turn, want in zip(turns, expected, strict=True):
        actions = [what for kind, what in turn if kind == "action"]
        replies = [what for kind, what in turn if kind == "bot"]
        assert len(actions) == 1 and len(replies) == 1, turn
        assert want in replies[0], (want, turn)


def tg(api: FakeTelegram, chat: int, text: str) -> str:
    """One Telegram message; the bot's texts sent for it."""
    before = len(api.sent_to(chat))
    status, body = telegram(base(), message_update(chat, text), SECRET)
    assert (status, body) == (200, "success")
    return "\n".join(str(c.params.get("text", "")) for c in api.sent_to(chat)[before:])


def test_ready_is_printed_once_both_servers_answer(bot: Launch) -> None:
    bot.wait_for(r"^Ready \(", 1)
    wait_http(f"http://127.0.0.1:{ACTIONS_PORT}/health", 2)
    wait_http(f"{base()}/webhooks/rest/", 2)
    assert "The action server answers" in bot.output and "The Rasa server answers" in bot.output


def test_a_taken_port_is_named_with_its_holder_and_nothing_starts(bot: Launch, tmp_path: Path) -> None:
    """A second `make run` on the first one's Rasa port, with a free action port."""
    free_actions = ACTIONS_PORT + 2
    holder = server_pid(RASA_PORT)
    second = make_run(tmp_path, RASA_PORT, free_actions)
    try:
        assert second.wait(120) == 2  # make's code for a failed recipe
    finally:
        second.stop()
    errors = [line for line in second.output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, second.output
    assert f"port {RASA_PORT}" in errors[0] and f"pid {holder}" in errors[0] and "rasa run" in errors[0], errors
    assert "Starting" not in second.output
    assert port_free(free_actions) and not processes_with(f"--port {free_actions}")


def test_action_server_killed_mid_conversation(bot: Launch, api: FakeTelegram) -> None:
    """REST, web chat and Telegram: the apology at once, answers again within 20 s, and the follow-up resolves."""
    sender, session, chat = f"sup-{uuid.uuid4().hex[:8]}", uuid.uuid4().hex, new_chat()
    assert "681" in rest(base(), sender, WBK)
    assert "681" in web(base(), session, WBK)
    assert "681" in tg(api, chat, WBK)

    os.kill(server_pid(ACTIONS_PORT), signal.SIGKILL)
    killed = time.monotonic()
    assert APOLOGY in rest(base(), sender, DOWN_QUESTION)
    assert APOLOGY in web(base(), session, DOWN_QUESTION)
    assert APOLOGY in tg(api, chat, DOWN_QUESTION)

    # Then the reader just asks again; to keep the machine's two cores for the restart, the test waits for the
    # action server's /health before asking (a message sent earlier would get the apology, as above).
    wait_http(f"http://127.0.0.1:{ACTIONS_PORT}/health", RECOVERY_LIMIT + 60)
    reply = rest(base(), f"sup-probe-{uuid.uuid4().hex[:8]}", WBK)
    back = time.monotonic() - killed
    print(f"answers again {back:.1f}s after the action server was killed")
    assert "681" in reply
    assert back <= RECOVERY_LIMIT, back

    # The follow-up needs the last answered question (WBK, before the failure).
    assert "82" in rest(base(), sender, WBBM_FOLLOWUP)
    assert "82" in web(base(), session, WBBM_FOLLOWUP)
    assert "82" in tg(api, chat, WBBM_FOLLOWUP)
    bot.wait_for(r"The action server is back", 30)
    for conversation in (sender, session, str(chat)):
        assert_each_turn_once(conversation, [WBK, DOWN_QUESTION, WBBM_FOLLOWUP], ["681", APOLOGY, "82"])


def test_rasa_server_killed_restarts_and_the_conversation_continues(bot: Launch, api: FakeTelegram) -> None:
    sender, session, chat = f"sup-{uuid.uuid4().hex[:8]}", uuid.uuid4().hex, new_chat()
    assert "681" in rest(base(), sender, WBK)
    assert "681" in web(base(), session, WBK)
    assert "681" in tg(api, chat, WBK)
    assert "82" in rest(base(), sender, WBBM_FOLLOWUP)

    os.kill(server_pid(RASA_PORT), signal.SIGKILL)
    killed = time.monotonic()
    bot.wait_for(r"The Rasa server stopped", 30)
    bot.wait_for(r"The Rasa server is back", START_LIMIT)
    print(f"Rasa server answers again {time.monotonic() - killed:.0f}s after SIGKILL")

    # The history comes from the tracker store: each follow-up needs the turn before the kill.
    assert "681" in rest(base(), sender, WBK_FOLLOWUP)
    assert "82" in web(base(), session, WBBM_FOLLOWUP)
    assert "82" in tg(api, chat, WBBM_FOLLOWUP)
    assert_each_turn_once(sender, [WBK, WBBM_FOLLOWUP, WBK_FOLLOWUP], ["681", "82", "681"])
    assert_each_turn_once(session, [WBK, WBBM_FOLLOWUP], ["681", "82"])
    assert_each_turn_once(str(chat), [WBK, WBBM_FOLLOWUP], ["681", "82"])


def test_sigterm_stops_everything_and_frees_the_ports(bot: Launch) -> None:
    """Last of the module: the group SIGTERM a service manager sends."""
    sent = bot.signal_group(signal.SIGTERM)
    took = wait_gone([RASA_PORT, ACTIONS_PORT], marks(RASA_PORT, ACTIONS_PORT), sent, STOP_LIMIT)
    print(f"stopped {took:.1f}s after SIGTERM")
    bot.wait(5)
    assert "SIGTERM received: stopping" in bot.output and "Stopped (" in bot.output


# --- signals at awkward moments, a crash loop ---------------------------------------------------------------


def test_sigterm_a_second_after_the_rasa_server_first_answers(tmp_path: Path) -> None:
    """The moment the issue found servers left running: the watcher has not yet printed Ready."""
    launch = make_run(tmp_path, SIGNAL_RASA_PORT, SIGNAL_ACTIONS_PORT)
    try:
        wait_http(f"http://127.0.0.1:{SIGNAL_RASA_PORT}/", START_LIMIT)
        time.sleep(1)
        sent = launch.signal_group(signal.SIGTERM)
        took = wait_gone([SIGNAL_RASA_PORT, SIGNAL_ACTIONS_PORT], marks(SIGNAL_RASA_PORT, SIGNAL_ACTIONS_PORT),
                         sent, STOP_LIMIT)
        print(f"stopped {took:.1f}s after SIGTERM")
    finally:
        launch.stop()


def test_ctrl_c_during_start_up(tmp_path: Path) -> None:
    """SIGINT to the terminal's process group while both servers are still loading."""
    launch = make_run(tmp_path, SIGNAL_RASA_PORT, SIGNAL_ACTIONS_PORT)
    try:
        launch.wait_for(r"^Starting the action server", 120)
        time.sleep(8)  # supervisord has spawned both; neither answers yet
        assert not port_free(SIGNAL_ACTIONS_PORT) or processes_with(f"--port {SIGNAL_ACTIONS_PORT}")
        sent = launch.signal_group(signal.SIGINT)
        took = wait_gone([SIGNAL_RASA_PORT, SIGNAL_ACTIONS_PORT], marks(SIGNAL_RASA_PORT, SIGNAL_ACTIONS_PORT),
                         sent, STOP_LIMIT)
        print(f"stopped {took:.1f}s after Ctrl-C")
    finally:
        launch.stop()


def test_a_closed_terminal_stops_make_shell(tmp_path: Path) -> None:
    """`make shell` in a real terminal (a pty); closing it sends SIGHUP to everything in it."""
    child = pexpect.spawn(
        "make", ["--no-print-directory", "shell", f"RASA_PORT={SHELL_RASA_PORT}", f"ACTIONS_PORT={SHELL_ACTIONS_PORT}"],
        cwd=str(ROOT), env={**os.environ, **env_for(tmp_path)}, encoding="utf-8", timeout=START_LIMIT,
    )
    child.logfile_read = open(tmp_path / "shell.out", "w")  # noqa: SIM115 - closed below
    try:
        child.expect("Your input ->")
        child.sendline(WBK)
        child.expect("681")
        closed = time.monotonic()
        child.close(force=True)  # the terminal goes away: SIGHUP (then SIGCONT, SIGKILL to make itself)
        took = wait_gone([SHELL_RASA_PORT, SHELL_ACTIONS_PORT], marks(SHELL_RASA_PORT, SHELL_ACTIONS_PORT),
                         closed, STOP_LIMIT)
        print(f"stopped {took:.1f}s after the terminal closed")
    finally:
        child.logfile_read.close()
        if child.isalive():
            child.terminate(force=True)


def test_a_crash_loop_ends_with_one_line_naming_the_log(tmp_path: Path) -> None:
    """An action server that cannot start (no index where INDEX_DIR points) is retried, then the run ends."""
    empty = tmp_path / "no-index"
    empty.mkdir()
    launch = Launch([sys.executable, "-m", "serving", "run", f"--rasa-port={SIGNAL_RASA_PORT}",
                     f"--actions-port={SIGNAL_ACTIONS_PORT}"], tmp_path / "crash.out",
                    env_for(tmp_path, INDEX_DIR=str(empty)))
    try:
        assert launch.wait(START_LIMIT) == 1
    finally:
        launch.stop()
    errors = [line for line in launch.output.splitlines() if line.startswith("error:")]
    log = tmp_path / "logs" / f"run-{SIGNAL_RASA_PORT}" / "actions.log"
    assert len(errors) == 1 and launch.output.rstrip().splitlines()[-1] == errors[0], launch.output
    assert errors[0].startswith("error: the action server ") and errors[0].endswith(f"See its log: {log}"), errors
    assert "make index" in log.read_text(errors="replace")  # the log says how to fix it
    assert "Ready" not in launch.output
    wait_gone([SIGNAL_RASA_PORT, SIGNAL_ACTIONS_PORT], marks(SIGNAL_RASA_PORT, SIGNAL_ACTIONS_PORT),
              time.monotonic(), STOP_LIMIT)
