"""`python -m serving run | shell | cluster`: what `make run`, `make shell` and `make cluster` call.

The servers are started through their Makefile targets, so each `rasa` command
and its flags stay written once, in the Makefile.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from serving import cluster
from serving.supervise import Program, Supervisor, banner, http_ok, make_command


def single(rasa_port: int, actions_port: int, endpoints: str | None, with_rasa: bool = True) -> list[Program]:
    """The action server and (unless the shell replaces it) one Rasa server, as for `make run`."""
    extra = {"ENDPOINTS": endpoints} if endpoints else {}
    programs = [Program(
        "actions", "the action server", make_command("actions-server", ACTIONS_PORT=actions_port),
        {actions_port: ""}, lambda: http_ok(f"http://127.0.0.1:{actions_port}/health"),
    )]
    if with_rasa:
        programs.append(Program(
            "rasa", "the Rasa server",
            make_command("rasa-server", RASA_PORT=rasa_port, ACTIONS_PORT=actions_port, **extra),
            {rasa_port: ""}, lambda: http_ok(f"http://127.0.0.1:{rasa_port}/webhooks/rest/"),
        ))
    return programs


def descendants(pid: int) -> list[int]:
    """Every process below `pid`, children first."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError, ValueError):
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
                children.setdefault(ppid, []).append(int(entry.name))
    out: list[int] = []
    stack = [pid]
    while stack:
        for child in children.get(stack.pop(), []):
            out.append(child)
            stack.append(child)
    return out


def end(proc: subprocess.Popen[bytes], timeout: float = 6) -> None:
    """SIGTERM a foreground child and everything it started (it shares our process group, for the terminal)."""
    if proc.poll() is not None:
        return
    family = [proc.pid, *descendants(proc.pid)]
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in family:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
        try:
            proc.wait(timeout)
            return
        except subprocess.TimeoutExpired:
            continue


def shell(supervisor: Supervisor, rasa_port: int, actions_port: int, endpoints: str | None) -> int:
    """rasa shell in the foreground (it needs the terminal), while supervisord keeps the action server up."""
    extra = {"ENDPOINTS": endpoints} if endpoints else {}
    proc = subprocess.Popen(make_command("rasa-shell", RASA_PORT=rasa_port, ACTIONS_PORT=actions_port, **extra))
    try:
        return proc.wait()
    finally:
        end(proc)


def main() -> int:
    """Parse the command line and run one set-up until it is stopped."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="mode", required=True)
    for mode in ("run", "shell"):
        p = sub.add_parser(mode)
        p.add_argument("--rasa-port", type=int, default=5005)
        p.add_argument("--actions-port", type=int, default=5055)
        p.add_argument("--endpoints", default=None, help="Rasa endpoints file (the Makefile's ENDPOINTS)")
    cluster.add_arguments(sub.add_parser("cluster", help=cluster.__doc__.splitlines()[0]))
    args = parser.parse_args()

    if args.mode == "cluster":
        return cluster.run(args)
    if args.mode == "shell":
        programs = single(args.rasa_port, args.actions_port, args.endpoints, with_rasa=False)
        # rasa shell binds the Rasa port too: checked with the others, before anything starts.
        supervisor = Supervisor(f"shell-{args.actions_port}", programs, extra_ports={args.rasa_port: "rasa shell"})
        return supervisor.run(
            lambda took: print(f"Action server ready ({took:.0f}s); starting rasa shell (type /stop to leave) ...",
                               flush=True),
            foreground=lambda: shell(supervisor, args.rasa_port, args.actions_port, args.endpoints),
            announce="Starting the action server (rasa shell follows once it answers) ...",
        )
    supervisor = Supervisor(f"run-{args.rasa_port}", single(args.rasa_port, args.actions_port, args.endpoints))
    started = time.monotonic()
    return supervisor.run(
        lambda _: print(banner(f"http://127.0.0.1:{args.rasa_port}", time.monotonic() - started), flush=True),
        announce=f"Starting the action server and the Rasa server (about a minute; logs in "
                 f"{supervisor.shown_log('rasa').parent}) ...",
    )


if __name__ == "__main__":
    sys.exit(main())
