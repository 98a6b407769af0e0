"""Run servers under supervisord and watch them from the foreground: `make run`, `make shell`, `make cluster`.

supervisord (PyPI `supervisor`) does the process work: it starts each server in
its own process group, restarts one that dies (after a pause that grows, 1 s,
2 s, 3 s ..., when it dies during start-up), logs each to its own file, and
stops them all with SIGTERM, then SIGKILL, on shutdown. This module is the
foreground part that a terminal needs and supervisord does not give:

- every port is checked before anything starts; a taken port is one line that
  names it and the process holding it, and nothing starts;
- "Ready" is printed only once every server really answers (its health URL, or
  a TCP connect for PostgreSQL and Redis), and later restarts are reported;
- a server that keeps dying before it ever answers (supervisord's FATAL, or
  more restarts than SERVE_START_RETRIES without answering) ends the run with
  one line naming its log;
- Ctrl-C, SIGTERM and SIGHUP (a closed terminal), at any moment including
  start-up, stop supervisord and with it every server; whatever is left after
  SERVE_STOP_SECONDS is killed, and the run ends only when its ports are free.

supervisord runs in a session of its own, so a terminal's signals reach it
only through this module; it gets SIGTERM if this process dies (PR_SET_PDEATHSIG).
"""

from __future__ import annotations

import contextlib
import ctypes
import http.client
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import xmlrpc.client
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

from supervisor.xmlrpc import SupervisorTransport

from knowledge.settings import ROOT
from serving.ports import port_free, taken
from serving.settings import ServeSettings

GROUP = "tanya"
PR_SET_PDEATHSIG = 1
EXITED_STATES = {"EXITED", "BACKOFF", "FATAL", "STOPPED", "UNKNOWN"}
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def http_ok(url: str, timeout: float = 2) -> bool:
    """True if GET `url` answers 2xx."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return 200 <= resp.status < 300
    except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
        return False


def tcp_ok(port: int, host: str = "127.0.0.1", timeout: float = 1) -> bool:
    """True if something accepts connections on `host:port`."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def make_command(target: str, **variables: object) -> list[str]:
    """A Makefile target with variables: every `rasa` command and its flags stay written once, in the Makefile."""
    return [shutil.which("make") or "make", "--no-print-directory", "-s", target,
            *(f"{name}={value}" for name, value in variables.items())]


def banner(url: str, took: float, what: str = "both servers", more: str = "") -> str:
    """How to talk to the bot, once every server answers."""
    return (
        f"\nReady ({took:.0f}s). Chat with the bot:\n"
        f"  REST:     curl -s {url}/webhooks/rest/webhook -H 'Content-Type: application/json' "
        f"-d '{{\"sender\": \"me\", \"message\": \"Siapa yang menerima predikat WBK?\"}}'\n"
        f"  Web chat: {url}/webhooks/web/chat\n{more}"
        f"Press Ctrl-C to stop {what}."
    )


@dataclass
class Program:
    """One supervised server."""

    name: str  # supervisord's program name, and the log file's name
    title: str  # for people: "the action server"
    command: list[str]
    ports: dict[int, str]  # every port it binds -> what for
    ready: Callable[[], bool]
    after: tuple[str, ...] = ()  # started only once these answer
    user: str | None = None  # run as this user (only when supervisord runs as root)
    stop_signal: str = "TERM"
    environment: dict[str, str] = field(default_factory=dict)
    directory: Path = ROOT


class StopRequested(Exception):
    """Ctrl-C, SIGTERM or SIGHUP arrived."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


class CrashLoop(Exception):
    """A server keeps dying before it ever answers."""


def _pdeathsig() -> None:
    """In the child before exec: SIGTERM when the parent (this module) dies, whatever killed it."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def _ini_value(value: str) -> str:
    """A value for supervisord's ini file: `%` is its interpolation sign."""
    if "\n" in value:
        raise ValueError(f"a supervisord setting cannot span lines: {value!r}")
    return value.replace("%", "%%")


def _environment(env: dict[str, str]) -> str:
    for name, value in env.items():
        if '"' in value or "\\" in value or not name.isidentifier():
            raise ValueError(f"environment variable {name} cannot be passed to supervisord as is")
    return ",".join(f'{name}="{_ini_value(value)}"' for name, value in env.items())


class Supervisor:
    """supervisord for a set of programs, with the foreground watch described in the module docstring."""

    def __init__(self, label: str, programs: list[Program], settings: ServeSettings | None = None,
                 extra_ports: dict[int, str] | None = None, say: Callable[[str], None] | None = None) -> None:
        self.label = label
        self.programs = {p.name: p for p in programs}
        self.settings = settings or ServeSettings.from_env()
        self.extra_ports = extra_ports or {}  # bound by a foreground process (rasa shell), not by supervisord's
        self.say = say or (lambda line: print(line, flush=True))
        self.dir = self.settings.state_dir / label
        self.log_dir = self.settings.log_dir / label
        self.proc: subprocess.Popen[bytes] | None = None
        self.pids: set[int] = set()  # every server pid seen, to kill what supervisord might leave behind
        self._rpc: Any = None
        self._stopping = False
        self._socket = self._socket_path()

    # --- files --------------------------------------------------------------------------------------

    def log(self, name: str) -> Path:
        """A server's log file."""
        return self.log_dir / f"{name}.log"

    def shown_log(self, name: str) -> Path:
        """A server's log file as people are told it: relative to the project when inside it."""
        path = self.log(name)
        return path.relative_to(ROOT) if path.is_relative_to(ROOT) else path

    def _socket_path(self) -> Path:
        """supervisord's control socket; AF_UNIX paths are limited to 107 bytes, so a long folder gets a short one."""
        path = self.dir / "supervisor.sock"
        if len(str(path)) < 100:
            return path
        return Path(tempfile.mkdtemp(prefix="tanya-sup-")) / "supervisor.sock"

    def config(self) -> str:
        """supervisord.conf: every program in one group, so shutdown signals them all at once."""
        s = self.settings
        lines = [
            "[unix_http_server]", f"file={_ini_value(str(self._socket))}", "chmod=0700", "",
            "[supervisord]", f"logfile={_ini_value(str(self.dir / 'supervisord.log'))}",
            f"pidfile={_ini_value(str(self.dir / 'supervisord.pid'))}", "nodaemon=true", "loglevel=info",
            "logfile_maxbytes=5MB", "logfile_backups=2", "", "[rpcinterface:supervisor]",
            "supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface", "",
            "[supervisorctl]", f"serverurl=unix://{_ini_value(str(self._socket))}", "",
        ]
        for p in self.programs.values():
            lines += [
                f"[program:{p.name}]",
                f"command={_ini_value(subprocess.list2cmdline(p.command))}",
                f"directory={_ini_value(str(p.directory))}",
                f"autostart={'false' if p.after else 'true'}",
                "autorestart=true",
                f"startsecs={s.start_seconds:g}",
                f"startretries={s.start_retries}",
                f"stopsignal={p.stop_signal}",
                f"stopwaitsecs={s.kill_after:g}",
                "stopasgroup=true",
                "killasgroup=true",
                "redirect_stderr=true",
                f"stdout_logfile={_ini_value(str(self.log(p.name)))}",
                "stdout_logfile_maxbytes=20MB",
                "stdout_logfile_backups=3",
            ]
            if p.user and os.geteuid() == 0:
                lines.append(f"user={p.user}")
            if p.environment:
                lines.append(f"environment={_environment(p.environment)}")
            lines.append("")
        lines += [f"[group:{GROUP}]", f"programs={','.join(self.programs)}", ""]
        return "\n".join(lines)

    # --- supervisord --------------------------------------------------------------------------------

    def call(self, method: str, *args: Any) -> Any:
        """One XML-RPC call to supervisord over its unix socket (supervisor.getState, ...).

        The transport keeps its connection; after a failed call that connection is
        unusable, so it is dropped and the next call opens a new one.
        """
        if self._rpc is None:
            transport = SupervisorTransport(None, None, f"unix://{self._socket}")
            self._rpc = xmlrpc.client.ServerProxy("http://127.0.0.1", transport=transport)
        target = self._rpc
        for part in method.split("."):
            target = getattr(target, part)
        try:
            return target(*args)
        except (OSError, http.client.HTTPException):
            self._rpc = None
            raise

    def _launch(self) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self._socket.unlink(missing_ok=True)
        conf = self.dir / "supervisord.conf"
        conf.write_text(self.config(), encoding="utf-8")
        exe = Path(sys.executable).with_name("supervisord")
        command = [str(exe) if exe.exists() else "supervisord", "--nodaemon", "--configuration", str(conf)]
        out = open(self.dir / "supervisord.out", "ab")  # noqa: SIM115 - supervisord's own start-up errors
        self.proc = subprocess.Popen(command, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=out,
                                     stderr=subprocess.STDOUT, start_new_session=True, preexec_fn=_pdeathsig)
        out.close()
        deadline = time.monotonic() + 30
        while True:
            if self.proc.poll() is not None:
                text = (self.dir / "supervisord.out").read_text(errors="replace")[-2000:]
                raise RuntimeError(f"supervisord exited ({self.proc.returncode}): {text}")
            try:
                self.call("supervisor.getState")
                return
            except (OSError, http.client.HTTPException, xmlrpc.client.Fault):
                if time.monotonic() > deadline:
                    raise RuntimeError("supervisord did not answer on its socket within 30 s") from None
                time.sleep(0.1)

    def info(self) -> dict[str, dict[str, Any]]:
        """supervisord's view of every program, by name; pids are remembered for the final clean-up."""
        found = {i["name"]: i for i in self.call("supervisor.getAllProcessInfo")}
        self.pids.update(i["pid"] for i in found.values() if i["pid"])
        return found

    def pid(self, name: str) -> int:
        """The pid of a program's process (the group leader of that server's processes); 0 if not running."""
        return int(self.info()[name]["pid"])

    # --- signals ------------------------------------------------------------------------------------

    def _on_signal(self, signum: int, _: FrameType | None) -> None:
        if self._stopping:
            return  # already stopping; a second Ctrl-C must not cut the clean-up short
        self._stopping = True
        raise StopRequested(signum)

    @contextlib.contextmanager
    def signals(self) -> Iterator[None]:
        """While inside: Ctrl-C, SIGTERM and SIGHUP raise StopRequested (once)."""
        previous = {sig: signal.signal(sig, self._on_signal) for sig in STOP_SIGNALS}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    # --- running ------------------------------------------------------------------------------------

    def check_ports(self) -> list[str]:
        """One line per taken port; empty when all are free."""
        ports = dict(self.extra_ports)
        for p in self.programs.values():
            ports.update({port: f"{p.title}, {what}" if what else p.title for port, what in p.ports.items()})
        return taken(ports)

    def ports(self) -> list[int]:
        """Every port this set-up binds."""
        return sorted({*self.extra_ports, *(port for p in self.programs.values() for port in p.ports)})

    def start(self) -> float:
        """Start supervisord and wait until every program answers; seconds taken. Raises CrashLoop or TimeoutError."""
        started = time.monotonic()
        self._launch()
        ready: dict[str, float] = {}
        starts: dict[str, int] = {}
        last_pid: dict[str, int] = {}
        while len(ready) < len(self.programs):
            info = self.info()
            for name, p in self.programs.items():
                state = info[name]
                if state["statename"] == "STOPPED" and p.after and all(dep in ready for dep in p.after):
                    self.call("supervisor.startProcess", f"{GROUP}:{name}", False)
                    continue
                self._check_crash_loop(p, state, starts, last_pid, name in ready)
                if name not in ready and state["statename"] in ("STARTING", "RUNNING") and p.ready():
                    ready[name] = time.monotonic() - started
                    self.say(f"{p.title[0].upper()}{p.title[1:]} answers ({ready[name]:.0f}s).")
            if time.monotonic() - started > self.settings.ready_timeout:
                waiting = ", ".join(self.programs[n].title for n in self.programs if n not in ready)
                raise TimeoutError(f"{waiting} did not answer within {self.settings.ready_timeout:.0f}s "
                                   f"(logs in {self.log_dir})")
            time.sleep(0.3)
        return time.monotonic() - started

    def _check_crash_loop(self, p: Program, state: dict[str, Any], starts: dict[str, int],
                          last_pid: dict[str, int], answered: bool) -> None:
        """FATAL, or more starts than SERVE_START_RETRIES allows without an answer in between: give up."""
        log = self.shown_log(p.name)
        if state["statename"] == "FATAL":
            raise CrashLoop(f"error: {p.title} kept exiting during start-up ({self.settings.start_retries + 1} "
                            f"attempts); everything is stopped. See its log: {log}")
        pid = state["pid"]
        if pid and pid != last_pid.get(p.name):
            last_pid[p.name] = pid
            starts[p.name] = 0 if answered else starts.get(p.name, 0) + 1
            if starts[p.name] > self.settings.start_retries + 1:
                raise CrashLoop(f"error: {p.title} died {starts[p.name] - 1} times before it ever answered; "
                                f"everything is stopped. See its log: {log}")

    def watch(self) -> int:
        """After start(): report restarts and recoveries until a signal or a crash loop ends the run."""
        info = self.info()
        up = {name: info[name]["pid"] for name in self.programs}
        down_since: dict[str, float] = {}
        starts: dict[str, int] = {}
        last_pid = dict(up)
        while True:
            time.sleep(0.5)
            info = self.info()
            for name, p in self.programs.items():
                state = info[name]
                answered = name not in down_since
                self._check_crash_loop(p, state, starts, last_pid, answered)
                if name not in down_since and (state["statename"] in EXITED_STATES or state["pid"] != up[name]):
                    down_since[name] = time.monotonic()
                    self.say(f"{p.title[0].upper()}{p.title[1:]} stopped unexpectedly; supervisord restarts it. "
                             f"Log: {self.shown_log(p.name)}")
                elif name in down_since and state["statename"] in ("STARTING", "RUNNING") and p.ready():
                    self.say(f"{p.title[0].upper()}{p.title[1:]} is back, "
                             f"{time.monotonic() - down_since.pop(name):.0f}s after it stopped.")
                    up[name] = state["pid"]
                    starts[name] = 0

    def stop(self) -> float:
        """Stop supervisord and every server within SERVE_STOP_SECONDS, then wait for the ports; seconds taken."""
        self._stopping = True
        started = time.monotonic()
        budget = self.settings.stop_seconds
        if self.proc is not None and self.proc.poll() is None:
            with contextlib.suppress(OSError, http.client.HTTPException, xmlrpc.client.Fault):
                self.info()  # the latest pids, for the clean-up below
            with contextlib.suppress(ProcessLookupError):
                self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(max(1.0, budget - 2))
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        for pid in self.pids:  # each server leads its own process group (supervisord's setpgrp)
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signal.SIGKILL)
        ports = self.ports()
        while any(not port_free(port) for port in ports) and time.monotonic() - started < budget:
            time.sleep(0.2)
        if self._socket.parent != self.dir:
            shutil.rmtree(self._socket.parent, ignore_errors=True)
        return time.monotonic() - started

    def run(self, on_ready: Callable[[float], None], foreground: Callable[[], int] | None = None,
            announce: str = "") -> int:
        """Check ports, say `announce`, start, call `on_ready`, then watch (or run `foreground`) until stopped.

        Returns the exit code: 0 when stopped by a signal (or the foreground's own code), 1 on failure.
        """
        problems = self.check_ports()
        if problems:
            for line in problems:
                self.say(f"error: {line}; nothing was started. Stop it, or choose another port.")
            return 1
        if announce:
            self.say(announce)
        code, failure = 1, ""
        with self.signals():
            try:
                try:
                    took = self.start()
                    on_ready(took)
                    code = foreground() if foreground is not None else self.watch()
                except CrashLoop as exc:
                    self._stopping = True
                    failure = str(exc)
                except (RuntimeError, TimeoutError, OSError, http.client.HTTPException) as exc:
                    self._stopping = True
                    failure = f"error: {exc}"
            except StopRequested as stop:  # also when it lands while an error above is being handled
                self.say(f"\n{stop} received: stopping ...")
                code = 0
            finally:
                took_stop = self.stop()
        left = [port for port in self.ports() if not port_free(port)]
        if left:
            self.say(f"error: ports still bound after {took_stop:.0f}s: {', '.join(map(str, left))}")
            return 1
        if failure:  # the last line, after everything stopped
            self.say(failure)
            return 1
        self.say(f"Stopped ({took_stop:.1f}s).")
        return code
