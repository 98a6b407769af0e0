"""Is a TCP port free, and if not, which process holds it.

Checked before anything starts, so a taken port gives one line that names the
port and its holder, instead of a server that dies later with the bind error
buried in its log.
"""

from __future__ import annotations

import errno
import os
import socket
from dataclasses import dataclass
from pathlib import Path

LISTEN = "0A"  # the socket state "listening" in /proc/net/tcp


@dataclass(frozen=True)
class Holder:
    """A process that listens on a port."""

    pid: int
    command: str


def port_free(port: int, host: str = "0.0.0.0") -> bool:
    """True if a server could bind `host:port` now (as Sanic, nginx, PostgreSQL and Redis do, with SO_REUSEADDR)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            if exc.errno in (errno.EADDRINUSE, errno.EACCES):
                return False
            raise
    return True


def listening_inodes(port: int) -> set[str]:
    """Socket inodes listening on `port`, on any address, IPv4 or IPv6."""
    inodes: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if len(fields) > 9 and fields[3] == LISTEN and int(fields[1].rsplit(":", 1)[1], 16) == port:
                inodes.add(fields[9])
    return inodes


def holders(port: int) -> list[Holder]:
    """The processes with a listening socket on `port`; empty when none can be seen (another user's)."""
    wanted = {f"socket:[{inode}]" for inode in listening_inodes(port)}
    found: list[Holder] = []
    if not wanted:
        return found
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            fds = list((proc / "fd").iterdir())
        except OSError:
            continue
        for fd in fds:
            try:
                target = os.readlink(fd)
            except OSError:
                continue
            if target in wanted:
                try:
                    raw = (proc / "cmdline").read_bytes()
                except OSError:
                    raw = b""
                command = raw.replace(b"\0", b" ").decode(errors="replace").strip() or "?"
                found.append(Holder(int(proc.name), command))
                break
    return found


def describe_taken(port: int, what: str) -> str:
    """One line: the port, what needed it, and who holds it (the lowest pid: the parent of a pre-forked server)."""
    found = sorted(holders(port), key=lambda h: h.pid)
    if found:
        holder = found[0]
        command = holder.command if len(holder.command) <= 100 else holder.command[:97] + "..."
        who = f"held by pid {holder.pid} ({command})"
    else:
        who = "held by a process this user cannot see"
    return f"port {port} ({what}) is taken, {who}"


def taken(ports: dict[int, str]) -> list[str]:
    """A line for every port of `ports` (port -> what needs it) that is not free; empty when all are."""
    return [describe_taken(port, what) for port, what in sorted(ports.items()) if not port_free(port)]
