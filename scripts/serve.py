"""Start the action server and the Rasa server as plain child processes, for the tests, `make load` and `make bench`.

The servers are started through their Makefile targets, so each `rasa` command
and its flags stay written once. `make run`, `make shell` and `make cluster`
run them under supervisord instead (serving/).
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import TracebackType

ROOT = Path(__file__).resolve().parent.parent


def wait_http(url: str, timeout: float, proc: subprocess.Popen[bytes] | None = None) -> float:
    """Poll a URL until it answers 200; fail early if the process serving it has died."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server for {url} exited with code {proc.returncode} before it was ready")
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                if resp.status == 200:
                    return time.monotonic() - started
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.5)
    raise TimeoutError(f"{url} did not answer within {timeout:.0f}s")


def make(
    target: str, rasa_port: int, actions_port: int, endpoints: str | None = None,
    variables: dict[str, str] | None = None, **popen: object,
) -> subprocess.Popen[bytes]:
    """Run a Makefile target in its own process group, so stopping it stops rasa too.

    `endpoints` selects the Makefile's ENDPOINTS (where Rasa keeps conversations); None keeps its default.
    `variables` are further Makefile variables (STOCK_PORT for the stock bot).
    """
    cmd = ["make", "--no-print-directory", "-s", target, f"RASA_PORT={rasa_port}", f"ACTIONS_PORT={actions_port}"]
    if endpoints:
        cmd.append(f"ENDPOINTS={endpoints}")
    cmd += [f"{name}={value}" for name, value in (variables or {}).items()]
    return subprocess.Popen(cmd, cwd=ROOT, start_new_session=True, **popen)  # type: ignore[call-overload]


def stop(proc: subprocess.Popen[bytes], timeout: float = 20) -> None:
    """SIGTERM the whole process group, then SIGKILL whatever is left."""
    if proc.poll() is not None:
        return
    for sig, wait in ((signal.SIGINT, timeout / 2), (signal.SIGTERM, timeout / 2), (signal.SIGKILL, 5)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(wait)
            return
        except subprocess.TimeoutExpired:
            continue


class Servers:
    """The action server and the Rasa server as one unit: `with Servers(...) as s:`."""

    def __init__(
        self, rasa_port: int = 5005, actions_port: int = 5055, log_dir: Path | None = None,
        endpoints: str | None = None,
    ) -> None:
        self.rasa_port = rasa_port
        self.actions_port = actions_port
        self.endpoints = endpoints
        self.log_dir = log_dir
        self.procs: list[subprocess.Popen[bytes]] = []

    @property
    def rasa_url(self) -> str:
        """Base URL of the Rasa server."""
        return f"http://127.0.0.1:{self.rasa_port}"

    def _start(self, target: str, variables: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
        out: object = None
        if self.log_dir is not None:
            self.log_dir.mkdir(parents=True, exist_ok=True)
            out = open(self.log_dir / f"{target}.log", "ab")  # noqa: SIM115 - lives as long as the server
        proc = make(
            target, self.rasa_port, self.actions_port, self.endpoints, variables,
            stdout=out, stderr=subprocess.STDOUT if out else None,
        )
        self.procs.append(proc)
        return proc

    def start_actions(self, timeout: float = 180) -> float:
        """Start the action server and wait until /health answers; returns seconds taken."""
        proc = self._start("actions-server")
        return wait_http(f"http://127.0.0.1:{self.actions_port}/health", timeout, proc)

    def start_rasa(self, timeout: float = 240) -> float:
        """Start the Rasa server and wait until GET / answers; returns seconds taken."""
        proc = self._start("rasa-server")
        return wait_http(self.rasa_url + "/", timeout, proc)

    def start_stock(self, port: int, timeout: float = 240) -> float:
        """Start the stock `rasa init` bot (`make stock-server`) and wait until GET / answers; seconds taken."""
        proc = self._start("stock-server", {"STOCK_PORT": str(port)})
        return wait_http(f"http://127.0.0.1:{port}/", timeout, proc)

    def stop(self) -> None:
        """Stop everything started, newest first."""
        for proc in reversed(self.procs):
            stop(proc)
        self.procs.clear()

    def __enter__(self) -> Servers:
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.stop()
