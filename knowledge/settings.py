"""Every setting of the project, read from the environment once, with defaults.

The variables, their defaults and meanings are listed in knowledge/settings_registry.py (`make settings`);
this module turns them into typed values. Paths are built from this file's location, never from the
current directory, so the action server, the tests and the CLI agree wherever they are started.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from knowledge.settings_registry import default, raw

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_EMBEDDER_DIR = ROOT / default("EMBEDDING_MODEL")


def env_path(name: str) -> Path:
    """A folder from the environment (relative to the current directory), or the registered default (relative
    to the project) when unset."""
    value = raw(name)
    return Path(value).expanduser().resolve() if value else ROOT / default(name)


def env_float(name: str, fallback: float | None = None) -> float:
    """A number from the environment, or the registered default (or `fallback`) when unset; a clear error naming
    the variable otherwise."""
    value = raw(name)
    if not value:
        return float(default(name)) if fallback is None else fallback
    try:
        return float(value)
    except ValueError as exc:
        raise ValueError(f"{name} must be a number, got {value!r}") from exc


@dataclass(frozen=True)
class Settings:
    """Where the articles, the index and the model live.

    How strict answering is is not a setting: the answer model fitted on the dev split
    (knowledge/model/, `make fit`) decides, with the threshold it was fitted with.
    """

    articles_dir: Path
    index_dir: Path
    embedding_model: str
    query_prefix: str
    passage_prefix: str
    suggestions: int

    @classmethod
    def from_env(cls) -> Settings:
        """Read the environment; unset variables fall back to the defaults."""
        model = raw("EMBEDDING_MODEL") or str(DEFAULT_EMBEDDER_DIR)
        # e5 models were trained with these prefixes; other models were not.
        is_e5 = "e5" in Path(model).name.lower()
        return cls(
            articles_dir=env_path("KNOWLEDGE_DIR"),
            index_dir=env_path("INDEX_DIR"),
            embedding_model=model,
            # An empty prefix is a choice (none), so only an unset variable falls back.
            query_prefix=_or(raw("EMBEDDING_QUERY_PREFIX"), "query: " if is_e5 else ""),
            passage_prefix=_or(raw("EMBEDDING_PASSAGE_PREFIX"), "passage: " if is_e5 else ""),
            suggestions=int(env_float("ANSWER_SUGGESTIONS")),
        )


def _or(value: str | None, fallback: str) -> str:
    return fallback if value is None else value


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings.from_env()


# --- how the embedding model runs (knowledge/embed.py) --------------------------------------------

EMBEDDING_RUNTIMES = ("auto", "onnx", "torch")


def embedding_runtime() -> str:
    """`EMBEDDING_RUNTIME`: `auto` (default: onnxruntime when the model folder has its ONNX export, else
    sentence-transformers on torch), `onnx` (the export is required) or `torch` (the reference)."""
    value = (raw("EMBEDDING_RUNTIME") or default("EMBEDDING_RUNTIME")).strip().lower()
    if value not in EMBEDDING_RUNTIMES:
        raise ValueError(f"EMBEDDING_RUNTIME must be one of {', '.join(EMBEDDING_RUNTIMES)}, got {value!r}")
    return value


def embedding_threads() -> int:
    """Threads per process for the embedding model: `EMBEDDING_THREADS` (or its older name `TORCH_THREADS`), 1 by
    default. Both servers embed and share the cores; one thread each kept single queries fastest under load."""
    for name, given in (("EMBEDDING_THREADS", raw("EMBEDDING_THREADS")), ("TORCH_THREADS", raw("TORCH_THREADS"))):
        value = (given or "").strip()
        if value:
            threads = env_float(name, 1.0)
            if threads != int(threads) or threads < 1:
                raise ValueError(f"{name} must be a whole number of at least 1, got {value!r}")
            return int(threads)
    return int(default("EMBEDDING_THREADS"))


# --- Telegram ------------------------------------------------------------------------------------
# Read here like every other setting, never from bot/credentials.yml: Rasa's ${VAR} substitution
# there fails when a variable is unset, and secrets do not belong in a committed file.

TELEGRAM_DEFAULT_API_BASE = default("TELEGRAM_API_BASE")
_SECRET_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")


def _env_str(name: str) -> str | None:
    value = (raw(name) or "").strip()
    return value or None


@dataclass(frozen=True, repr=False)
class TelegramSettings:
    """The Telegram channel's settings. The channel is on only when `token` is set.

    `repr` masks the token and the secret, so logging the settings never leaks them.
    """

    token: str | None
    verify: str | None  # the bot's username, without "@"
    webhook_url: str | None
    secret_token: str | None
    api_base: str = TELEGRAM_DEFAULT_API_BASE

    @property
    def enabled(self) -> bool:
        """Without a token there is no bot to talk to, so the channel stays off."""
        return self.token is not None

    def __repr__(self) -> str:
        hidden = {"token": self.token, "secret_token": self.secret_token}
        shown = ", ".join(f"{k}={'***' if v else None}" for k, v in hidden.items())
        return (
            f"TelegramSettings({shown}, verify={self.verify!r}, webhook_url={self.webhook_url!r}, "
            f"api_base={self.api_base!r})"
        )

    @classmethod
    def from_env(cls) -> TelegramSettings:
        """Read TELEGRAM_* variables; a malformed token or secret fails here, with the variable's name.

        Failing at start-up beats a bot that silently never answers: Telegram would
        reject the token, or the webhook registration would fail on a bad secret.
        """
        token = _env_str("TELEGRAM_TOKEN")
        if token is not None:
            left, sep, right = token.partition(":")
            if not (sep and left.isdigit() and right and set(right) <= _SECRET_CHARS):
                raise ValueError("TELEGRAM_TOKEN must look like 123456:ABC-def (the token from @BotFather)")
        secret = _env_str("TELEGRAM_SECRET_TOKEN")
        if secret is not None and not (len(secret) <= 256 and set(secret) <= _SECRET_CHARS):
            raise ValueError("TELEGRAM_SECRET_TOKEN must be 1-256 characters of A-Z, a-z, 0-9, _ and -")
        verify = _env_str("TELEGRAM_VERIFY")
        return cls(
            token=token,
            verify=verify.lstrip("@") if verify else None,
            webhook_url=_env_str("TELEGRAM_WEBHOOK_URL"),
            secret_token=secret,
            api_base=(_env_str("TELEGRAM_API_BASE") or TELEGRAM_DEFAULT_API_BASE).rstrip("/"),
        )


@lru_cache(maxsize=1)
def get_telegram_settings() -> TelegramSettings:
    """The process-wide Telegram settings, read once."""
    return TelegramSettings.from_env()


# --- Rasa server side ------------------------------------------------------------------------------


def action_timeout() -> float:
    """Seconds the Rasa server waits for the action server (`ACTION_TIMEOUT`, default 20).

    Rasa's own limit is five minutes, far longer than anyone waits for a chat
    reply; past this limit the reader is told the article cannot be looked up
    right now (channels/resilience.py).
    """
    return env_float("ACTION_TIMEOUT")


TRACKER_SQLITE_SYNC_CHOICES = ("normal", "full")


def tracker_sqlite_sync() -> str:
    """`TRACKER_SQLITE_SYNC` for a SQLite tracker store (stores/sql.py): `normal` (default; WAL, a commit does not
    wait for the disk) or `full` (every commit waits for the disk, safe against power cuts too)."""
    value = (raw("TRACKER_SQLITE_SYNC") or default("TRACKER_SQLITE_SYNC")).strip().lower()
    if value not in TRACKER_SQLITE_SYNC_CHOICES:
        raise ValueError(f"TRACKER_SQLITE_SYNC must be one of {', '.join(TRACKER_SQLITE_SYNC_CHOICES)}, got {value!r}")
    return value


@dataclass(frozen=True)
class ChannelSettings:
    """What the Rasa server's channels let in: per-sender rate and the web chat's allowed origins."""

    rate_burst: int
    rate_per_minute: float
    allowed_origins: tuple[str, ...]

    @property
    def rate_limited(self) -> bool:
        """`RATE_LIMIT_BURST=0` turns the limit off (a load test of Rasa itself, say)."""
        return self.rate_burst > 0 and self.rate_per_minute > 0

    @classmethod
    def from_env(cls) -> ChannelSettings:
        """RATE_LIMIT_BURST (default 20 messages at once), RATE_LIMIT_PER_MINUTE (default 30 after that),
        WEB_ALLOWED_ORIGINS (space- or comma-separated; default none: only the page's own origin)."""
        origins = (raw("WEB_ALLOWED_ORIGINS") or "").replace(",", " ").split()
        return cls(
            rate_burst=int(env_float("RATE_LIMIT_BURST")),
            rate_per_minute=env_float("RATE_LIMIT_PER_MINUTE"),
            allowed_origins=tuple(o.rstrip("/") for o in origins),
        )


@lru_cache(maxsize=1)
def get_channel_settings() -> ChannelSettings:
    """The process-wide channel settings, read once."""
    return ChannelSettings.from_env()
