"""Drive `make run`, `make shell` and `make cluster` as a user does, and talk to the bot on every channel.

A `Launch` runs one make target in a session of its own (its process group is what
a terminal would signal), with its output in a file the test reads as it comes.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import signal
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import socketio

from knowledge.settings import ROOT
from serving.ports import holders, port_free


class Launch:
    """`make <target> VAR=...` started like a user's terminal job; output in `log`."""

    def __init__(self, args: Sequence[str], log: Path, env: dict[str, str] | None = None) -> None:
        self.log = log
        self.args = list(args)
        out = open(log, "wb")  # noqa: SIM115 - closed in stop()
        self._out = out
        self.started = time.monotonic()
        self.proc = subprocess.Popen(self.args, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, env={**os.environ, **(env or {})},
                                     start_new_session=True)

    @property
    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_for(self, pattern: str, timeout: float) -> re.Match[str]:
        """The first match of `pattern` in the output, waiting for it; fails if the job ends or time runs out."""
        deadline = time.monotonic() + timeout
        while True:
            found = re.search(pattern, self.output, re.MULTILINE)
            if found:
                return found
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"no {pattern!r} in the output of {' '.join(self.args)} "
                                     f"(exit {self.proc.poll()}):\n{self.output[-4000:]}")
            time.sleep(0.2)

    def signal_group(self, sig: signal.Signals) -> float:
        """Send `sig` to the job's process group, as a terminal does; returns the moment it was sent."""
        os.killpg(self.proc.pid, sig)
        return time.monotonic()

    def wait(self, timeout: float) -> int:
        """The job's exit code, waiting at most `timeout` seconds."""
        return self.proc.wait(timeout)

    def stop(self) -> None:
        """SIGTERM the job (it stops its servers), then SIGKILL what is left of its group."""
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(20)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                pass
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self._out.close()


def processes_with(text: str) -> list[int]:
    """Pids whose command line contains `text` (e.g. a port flag only this test uses)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if text in cmd:
            found.append(int(entry.name))
    return found


def wait_gone(ports: Sequence[int], marks: Sequence[str], since: float, limit: float) -> float:
    """Wait until every port is free and no process has any of `marks` in its command line.

    Returns the seconds since `since`; fails past `limit` seconds, naming what is left.
    """
    while True:
        busy = [p for p in ports if not port_free(p)]
        alive = {m: processes_with(m) for m in marks}
        alive = {m: pids for m, pids in alive.items() if pids}
        took = time.monotonic() - since
        if not busy and not alive:
            return took
        if took > limit:
            raise AssertionError(f"after {took:.1f}s: ports still bound {busy} "
                                 f"({[holders(p) for p in busy]}), processes left {alive}")
        time.sleep(0.2)


def server_pid(port: int) -> int:
    """The process listening on `port` (the lowest pid: the server itself, not a forked worker)."""
    found = sorted(h.pid for h in holders(port))
    assert found, f"nothing listens on {port}"
    return found[0]


def crash(port: int, timeout: float = 10.0) -> int:
    """SIGKILL the server on `port` and return its pid once it is gone.

    `kill` returns before the kernel has torn a large process down; until then its listening socket still
    accepts connections and then resets them. nginx cannot retry a POST it has already sent (it may have been
    processed), so a message that reaches a server in that instant fails with 502, as any request in flight on
    a dying server does (`make load-cluster` counts them). The tests check what comes after the crash.
    """
    pid = server_pid(port)
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and _alive(pid):
        time.sleep(0.01)
    assert not _alive(pid), f"pid {pid} (port {port}) still runs {timeout:.0f}s after SIGKILL"
    return pid


def _alive(pid: int) -> bool:
    """True until the process has exited (a zombie waiting for its parent has closed its sockets)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return not re.search(r"^State:\s+[ZX]", status, re.M)


def wait_http(url: str, timeout: float) -> float:
    """Seconds until GET `url` answers 200."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                if resp.status == 200:
                    return time.monotonic() - started
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
            pass
        time.sleep(0.3)
    raise AssertionError(f"{url} did not answer within {timeout:.0f}s")


# --- the channels ----------------------------------------------------------------------------------------


def rest(base: str, sender: str, text: str, timeout: float = 120) -> str:
    """One REST message; the bot's texts joined."""
    body = json.dumps({"sender": sender, "message": text}).encode()
    req = urllib.request.Request(base + "/webhooks/rest/webhook", data=body,
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        return "\n".join(str(m.get("text", "")) for m in json.loads(resp.read()))


async def _web(base: str, session_id: str, text: str, timeout: float, transports: list[str]) -> str:
    client = socketio.AsyncClient(reconnection=False)
    confirmed: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    said: list[str] = []
    got = asyncio.Event()

    @client.on("session_confirm")
    async def on_confirm(sid: str) -> None:
        if not confirmed.done():
            confirmed.set_result(sid)

    @client.on("bot_uttered")
    async def on_bot(data: dict[str, Any]) -> None:
        said.append(str(data.get("text", "")))
        got.set()

    await client.connect(base, socketio_path="/socket.io", transports=transports, wait_timeout=30)
    try:
        await client.emit("session_request", {"session_id": session_id})
        assert await asyncio.wait_for(confirmed, 30) == session_id
        await client.emit("user_uttered", {"message": text, "session_id": session_id})
        await asyncio.wait_for(got.wait(), timeout)
        await asyncio.sleep(0.5)  # an answer may come as more than one bubble
        return "\n".join(said)
    finally:
        await client.disconnect()


def web(base: str, session_id: str, text: str, timeout: float = 120, transports: Sequence[str] = ("polling",)) -> str:
    """One web chat message over Socket.IO (python-socketio's client; polling by default, see DESIGN)."""
    return asyncio.run(_web(base, session_id, text, timeout, list(transports)))


def telegram(base: str, update: dict[str, Any], secret: str) -> tuple[int, str]:
    """POST one update to the Telegram webhook, as Telegram does; (status, body)."""
    req = urllib.request.Request(base + "/webhooks/telegram/webhook", data=json.dumps(update).encode(),
                                 headers={"Content-Type": "application/json",
                                          "X-Telegram-Bot-Api-Secret-Token": secret})
    try:
        with urllib.request.urlopen(req, timeout=120) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()
