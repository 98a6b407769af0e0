"""A throw-away PostgreSQL server for the tests that need a real one (production cluster, usage report)."""

from __future__ import annotations

import glob
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg2
import pytest

AS_POSTGRES = ["runuser", "-u", "postgres", "--"]  # PostgreSQL refuses to run as root


def run(cmd: list[str], cwd: Path) -> None:
    """Run a set-up command; fail the test with its output if it fails."""
    result = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=120, check=False)
    if result.returncode != 0:
        pytest.fail(f"{' '.join(cmd)} failed ({result.returncode}):\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}")


@contextmanager
def throwaway_postgres(home: Path, port: int, db: dict[str, str], options: str = "") -> Iterator[dict[str, str]]:
    """A cluster in `home` (reachable by the postgres user) on 127.0.0.1:`port`, with db's role and database.

    `db` has DB_USER, DB_PASSWORD and DB_NAME; it is yielded back. The server is stopped on exit;
    the caller removes `home`.
    """
    bins = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    if not bins or shutil.which("runuser") is None:
        pytest.fail("PostgreSQL is not installed: run `make system-deps`")
    bindir = Path(bins[-1]).parent
    data, sock = home / "data", home / "sock"
    sock.mkdir(parents=True)
    shutil.chown(home, "postgres", "postgres")
    shutil.chown(sock, "postgres", "postgres")
    run([*AS_POSTGRES, str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "-E", "UTF8", "--locale=C",
         "--auth-local=trust", "--auth-host=scram-sha-256", "--no-sync"], cwd=home)
    server = f"-p {port} -k {sock} -c listen_addresses=127.0.0.1 -c fsync=off {options}".strip()
    run([*AS_POSTGRES, str(bindir / "pg_ctl"), "-D", str(data), "-l", str(home / "server.log"), "-o", server,
         "-w", "-t", "60", "start"], cwd=home)
    try:
        admin = psycopg2.connect(host=str(sock), port=port, user="postgres", dbname="postgres")
        admin.autocommit = True
        with admin.cursor() as cur:
            cur.execute(f"CREATE ROLE {db['DB_USER']} LOGIN PASSWORD %s", (db["DB_PASSWORD"],))
            cur.execute(f"CREATE DATABASE {db['DB_NAME']} OWNER {db['DB_USER']}")
        admin.close()
        yield db
    finally:
        subprocess.run([*AS_POSTGRES, str(bindir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"],
                       cwd=home, capture_output=True, timeout=60, check=False)
