"""Settings of the supervised servers (`make run`, `make shell`, `make cluster`), from the environment.

Each has a default, listed in knowledge/settings_registry.py; the ports themselves are the Makefile's variables.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from knowledge.settings import env_float, env_path


@dataclass(frozen=True)
class ServeSettings:
    """Where supervisord keeps its files and the logs, and how patient it is."""

    state_dir: Path
    log_dir: Path
    stop_seconds: float
    kill_after: float
    start_retries: int
    start_seconds: float
    ready_timeout: float

    @classmethod
    def from_env(cls) -> ServeSettings:
        """SERVE_DIR (default var/serve): supervisord's configuration, socket and own log, one folder per set-up.
        SERVE_LOG_DIR (default var/log): one log per server. SERVE_STOP_SECONDS (default 14): everything is
        stopped and every port free within this; a server that ignores SIGTERM for SERVE_KILL_AFTER seconds
        (default 8) gets SIGKILL. SERVE_START_RETRIES (default 3): restarts of a server that keeps dying
        before it ever answers, then the run stops. SERVE_START_SECONDS (default 10): a server that dies
        sooner counts as a failed start and is retried after a growing pause (1 s, 2 s, 3 s ...).
        SERVE_READY_TIMEOUT (default 600): give up if the servers do not all answer by then."""
        return cls(
            state_dir=env_path("SERVE_DIR"),
            log_dir=env_path("SERVE_LOG_DIR"),
            stop_seconds=env_float("SERVE_STOP_SECONDS"),
            kill_after=env_float("SERVE_KILL_AFTER"),
            start_retries=int(env_float("SERVE_START_RETRIES")),
            start_seconds=env_float("SERVE_START_SECONDS"),
            ready_timeout=env_float("SERVE_READY_TIMEOUT"),
        )
