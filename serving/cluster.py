"""`make cluster`: N Rasa servers and M action servers behind nginx, with PostgreSQL and Redis, all supervised.

The production topology of docs/production.md on one machine:

    clients --> nginx :PORT --+--> Rasa server 1 .. N --> nginx :ACTIONS_PORT --> action server 1 .. M
                              |         |   |
                              |   PostgreSQL (tracker store), Redis (conversation locks)

PostgreSQL keeps its data in var/cluster/pg (created on first start), Redis
keeps nothing (it only holds locks). Their passwords are generated once into
var/cluster/secrets.env (mode 0600) unless DB_PASSWORD / REDIS_PASSWORD are set.
"""

from __future__ import annotations

import argparse
import glob
import os
import secrets
import shutil
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from knowledge.settings import ROOT
from knowledge.settings_registry import raw
from serving.settings import ServeSettings
from serving.supervise import Program, Supervisor, banner, http_ok, make_command, tcp_ok

TEMPLATE = Path(__file__).with_name("nginx.conf.in")
PRODUCTION_ENDPOINTS = "bot/endpoints-production.yml"
DB_NAME = DB_USER = "rasa"


@dataclass(frozen=True)
class Layout:
    """Every port of one cluster."""

    port: int  # nginx, the one public port
    actions_port: int  # nginx, the action endpoint of the Rasa servers
    rasa_ports: tuple[int, ...]
    action_ports: tuple[int, ...]
    pg_port: int
    redis_port: int
    single_port: int | None = None  # nginx, to Rasa server 1 only (make load-cluster compares 1 with N)

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> Layout:
        """Rasa servers on the ports after PORT, action servers on those after ACTIONS_PORT, unless given."""
        rasa_base = args.rasa_base_port or args.port + 1
        actions_base = args.actions_base_port or args.actions_port + 1
        return cls(args.port, args.actions_port, tuple(range(rasa_base, rasa_base + args.rasa_servers)),
                   tuple(range(actions_base, actions_base + args.action_servers)), args.pg_port, args.redis_port,
                   args.single_port)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The cluster's command line (the Makefile passes its variables)."""
    parser.add_argument("--port", type=int, default=5005, help="nginx: REST, web chat and Telegram")
    parser.add_argument("--actions-port", type=int, default=5055, help="nginx: the action servers, for Rasa")
    parser.add_argument("--rasa-servers", type=int, default=2)
    parser.add_argument("--action-servers", type=int, default=1)
    parser.add_argument("--rasa-base-port", type=int, default=0, help="first Rasa server's port (default PORT+1)")
    parser.add_argument("--actions-base-port", type=int, default=0,
                        help="first action server's port (default ACTIONS_PORT+1)")
    parser.add_argument("--pg-port", type=int, default=5432)
    parser.add_argument("--redis-port", type=int, default=6379)
    parser.add_argument("--single-port", type=int, default=0, help="also an nginx port to Rasa server 1 only")
    parser.add_argument("--data", type=Path, default=ROOT / "var" / "cluster",
                        help="PostgreSQL's data and the generated passwords")


# --- nginx -----------------------------------------------------------------------------------------------


def upstream_lines(addresses: list[str]) -> str:
    """`server` lines of an upstream block: a server that fails is left alone for 5 s."""
    return "\n".join(f"        server {address} max_fails=1 fail_timeout=5s;" for address in addresses)


def render_nginx(listen: str, actions_listen: str, rasa: list[str], actions: list[str], state: str,
                 access_log: str, single: tuple[str, str] | None = None) -> str:
    """nginx.conf from serving/nginx.conf.in. `single` = (listen, address): a door to one Rasa server only."""
    extra = ""
    if single is not None:
        extra = (
            "\n    # make load-cluster: the same nginx, to one Rasa server, for the 1-versus-N comparison.\n"
            f"    upstream rasa_one {{\n{upstream_lines([single[1]])}\n    }}\n\n"
            f"    server {{\n        listen {single[0]};\n        proxy_read_timeout 180s;\n\n"
            "        location / {\n            proxy_pass http://rasa_one;\n        }\n    }\n"
        )
    values = {"LISTEN": listen, "ACTIONS_LISTEN": actions_listen, "RASA_SERVERS": upstream_lines(rasa),
              "ACTION_SERVERS": upstream_lines(actions), "STATE": state, "ACCESS_LOG": access_log, "EXTRA": extra}
    text = TEMPLATE.read_text(encoding="utf-8")
    for name, value in values.items():
        text = text.replace(f"@{name}@", value)
    return text


def compose_nginx(rasa_servers: int = 2, action_servers: int = 1) -> str:
    """docker/nginx.conf: the same nginx for docker/compose.yml, its servers named by service
    (tests/test_images.py checks the committed file is this)."""
    return render_nginx("8080", "5055", [f"rasa-{i}:5005" for i in range(1, rasa_servers + 1)],
                        [f"actions-{i}:5055" for i in range(1, action_servers + 1)], "/var/lib/nginx/tanya",
                        "/dev/stdout")


# --- PostgreSQL and Redis ------------------------------------------------------------------------------------


def postgres_bin() -> Path:
    """The newest installed PostgreSQL's bin folder (Debian keeps them under /usr/lib/postgresql/<version>)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/postgres"), key=lambda p: int(Path(p).parts[4]))
    if not found:
        raise RuntimeError("PostgreSQL is not installed: run `make cluster-deps`")
    return Path(found[-1]).parent


def as_postgres() -> list[str]:
    """PostgreSQL refuses to run as root: as root, commands run as the `postgres` user."""
    return ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []


def secrets_file(data: Path) -> dict[str, str]:
    """DB_PASSWORD and REDIS_PASSWORD, kept in secrets.env (0600): generated at the first start unless set then.

    The database keeps the password it was created with, so a different one set later is refused.
    """
    path = data / "secrets.env"
    stored: dict[str, str] = {}
    if path.exists():
        for line in path.read_text().splitlines():
            name, _, value = line.partition("=")
            stored[name] = value
    for name in ("DB_PASSWORD", "REDIS_PASSWORD"):
        given = raw(name)
        if given and stored.get(name) and given != stored[name]:
            raise RuntimeError(f"{name} differs from the one the cluster was created with ({path}); "
                               "unset it, or remove that folder to start afresh")
        stored[name] = stored.get(name) or given or secrets.token_hex(16)
    data.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600)
    path.chmod(0o600)
    path.write_text("".join(f"{k}={v}\n" for k, v in stored.items()))
    return stored


def init_postgres(home: Path, password: str, say: Callable[[str], None]) -> None:
    """A database cluster in home/data with the `rasa` role (password) and database, the first time only.

    The superuser can log in only through the local socket as the OS user `postgres`; Rasa's role owns
    its database and nothing else.
    """
    data = home / "data"
    if (data / "PG_VERSION").exists():
        return
    say(f"Creating the PostgreSQL database in {home} (first start only) ...")
    bindir = postgres_bin()
    (home / "sock").mkdir(parents=True, exist_ok=True)
    for folder in (home.parent, home):
        folder.chmod(0o755)  # the postgres user must reach its data
    if os.geteuid() == 0:
        for folder in (home, home / "sock"):
            shutil.chown(folder, "postgres", "postgres")
    quoted = password.replace("'", "''")
    steps = [
        ([str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "-E", "UTF8", "--locale=C",
          "--auth-local=peer", "--auth-host=scram-sha-256"], None),
        # A single-user backend: no server, no port; one statement per line.
        ([str(bindir / "postgres"), "--single", "-D", str(data), "template1"],
         f"CREATE ROLE {DB_USER} LOGIN PASSWORD '{quoted}';\nCREATE DATABASE {DB_NAME} OWNER {DB_USER};\n"),
    ]
    for command, stdin in steps:
        result = subprocess.run([*as_postgres(), *command], input=stdin.encode() if stdin else None,
                                capture_output=True, cwd=home, check=False)
        if result.returncode != 0 or b"ERROR" in result.stderr:
            shutil.rmtree(data, ignore_errors=True)
            raise RuntimeError(f"{Path(command[0]).name} failed: {result.stderr.decode(errors='replace')[-1500:]}")


def redis_config(path: Path, port: int, password: str) -> Path:
    """redis.conf (0600, it holds the password): loopback only, nothing saved (it only holds locks)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600)
    path.chmod(0o600)
    path.write_text(f"port {port}\nbind 127.0.0.1\nprotected-mode yes\nsave \"\"\nappendonly no\n"
                    f"daemonize no\ndir {path.parent}\nrequirepass {password}\n")
    return path


# --- the whole set-up -------------------------------------------------------------------------------------------


def programs(layout: Layout, data: Path, state: Path, log_dir: Path, passwords: dict[str, str]) -> list[Program]:
    """PostgreSQL, Redis, the action servers, the Rasa servers (once both stores answer) and nginx."""
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    if not Path(nginx).exists():
        raise RuntimeError("nginx is not installed: run `make cluster-deps`")
    redis = shutil.which("redis-server")
    if redis is None:
        raise RuntimeError("redis-server is not installed: run `make cluster-deps`")
    pg = data / "pg"
    conf = state / "nginx.conf"
    state.mkdir(parents=True, exist_ok=True)
    conf.write_text(render_nginx(
        f"{layout.port}", f"127.0.0.1:{layout.actions_port}",
        [f"127.0.0.1:{p}" for p in layout.rasa_ports], [f"127.0.0.1:{p}" for p in layout.action_ports],
        str(state), str(log_dir / "nginx-access.log"),
        (f"127.0.0.1:{layout.single_port}", f"127.0.0.1:{layout.rasa_ports[0]}") if layout.single_port else None,
    ))
    stores = {
        "DB_HOST": "127.0.0.1", "DB_PORT": str(layout.pg_port), "DB_NAME": DB_NAME, "DB_USER": DB_USER,
        "DB_PASSWORD": passwords["DB_PASSWORD"], "REDIS_HOST": "127.0.0.1", "REDIS_PORT": str(layout.redis_port),
        "REDIS_DB": "0", "REDIS_PASSWORD": passwords["REDIS_PASSWORD"],
    }
    out = [
        Program("postgres", "PostgreSQL", [str(postgres_bin() / "postgres"), "-D", str(pg / "data"), "-p",
                                           str(layout.pg_port), "-k", str(pg / "sock"),
                                           "-c", "listen_addresses=127.0.0.1"],
                {layout.pg_port: "tracker store"}, lambda: tcp_ok(layout.pg_port), user="postgres",
                stop_signal="INT", directory=pg),
        Program("redis", "Redis", [redis, str(redis_config(state / "redis" / "redis.conf", layout.redis_port,
                                                           passwords["REDIS_PASSWORD"]))],
                {layout.redis_port: "lock store"}, lambda: tcp_ok(layout.redis_port)),
    ]
    for i, port in enumerate(layout.action_ports, 1):
        out.append(Program(f"actions-{i}", f"action server {i}", make_command("actions-server", ACTIONS_PORT=port),
                           {port: ""}, _http(f"http://127.0.0.1:{port}/health")))
    for i, port in enumerate(layout.rasa_ports, 1):
        out.append(Program(
            f"rasa-{i}", f"Rasa server {i}",
            make_command("rasa-server", RASA_PORT=port, ACTIONS_PORT=layout.actions_port,
                         ENDPOINTS=PRODUCTION_ENDPOINTS),
            {port: ""}, _http(f"http://127.0.0.1:{port}/webhooks/rest/"), after=("postgres", "redis"),
            environment=stores,
        ))
    ports = {layout.port: "public port", layout.actions_port: "action endpoint"}
    if layout.single_port:
        ports[layout.single_port] = "door to Rasa server 1"
    out.append(Program("nginx", "nginx", [nginx, "-e", "stderr", "-c", str(conf), "-p", str(state)], ports,
                       _http(f"http://127.0.0.1:{layout.port}/nginx-health")))
    return out


def _http(url: str) -> Callable[[], bool]:
    return lambda: http_ok(url)


def run(args: argparse.Namespace) -> int:
    """`make cluster`: start, wait until the public port serves a Rasa server, watch until stopped."""
    layout = Layout.from_args(args)
    data = args.data if args.data.is_absolute() else ROOT / args.data  # CLUSTER_DATA is relative to the project
    settings = ServeSettings.from_env()
    label = f"cluster-{layout.port}"

    def say(line: str) -> None:
        print(line, flush=True)

    supervisor = Supervisor(label, [], settings, say=say)
    try:
        passwords = secrets_file(data)
        supervisor.programs = {p.name: p for p in programs(layout, data, supervisor.dir, supervisor.log_dir,
                                                           passwords)}
        problems = supervisor.check_ports()
        if not problems:
            init_postgres(data / "pg", passwords["DB_PASSWORD"], say)
    except (RuntimeError, OSError, subprocess.CalledProcessError) as exc:
        say(f"error: {exc}")
        return 1
    started = time.monotonic()

    def ready(_: float) -> None:
        url = f"http://127.0.0.1:{layout.port}"
        if not http_ok(url + "/webhooks/rest/"):
            raise RuntimeError(f"nginx on :{layout.port} does not reach a Rasa server")
        telegram = f"  Telegram: {url}/webhooks/telegram/webhook (with TELEGRAM_* set, docs/channels.md)\n"
        say(banner(url, time.monotonic() - started, "the cluster", telegram))

    return supervisor.run(ready, announce=(
        f"Starting {len(layout.rasa_ports)} Rasa server(s), {len(layout.action_ports)} action server(s), "
        f"PostgreSQL, Redis and nginx (logs in {supervisor.shown_log('nginx').parent}) ..."))
