"""Every environment variable the project reads, in one list: its name, default, meaning and group.

The readers (knowledge/settings.py, usage/settings.py, serving/settings.py, the scripts) take their
defaults from here, and tests/test_settings_registry.py fails when code reads a variable that is not
listed, or when a listed one is no longer read. `make settings` prints the list;
`python -m knowledge.settings_registry --write` regenerates docs/settings.md from it.

It lives in the `knowledge` package (not at the top level) because that package is installed: the Rasa
server, started as a console script, imports it whatever its working directory. It imports no Rasa.
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOCS_PAGE = ROOT / "docs" / "settings.md"
GENERATE_COMMAND = "python -m knowledge.settings_registry --write"

# The order the groups are shown in, with a line saying what each is for.
GROUPS: dict[str, str] = {
    "knowledge": "Articles, index and embedding model (the action server, `make index`, the tests).",
    "channels": "What the Rasa server's channels let in (REST, web chat, Telegram).",
    "serving": "The Rasa and action servers, `make run`/`make shell` under supervisord, and `make cluster`.",
    "stores": "The production tracker store (PostgreSQL) and lock store (Redis): bot/endpoints-production.yml.",
    "images": "Container images (`make image`, docker/compose.yml).",
    "usage/reports": "The owner's usage tools: `make report`, `make prune`, `make review`.",
    "make/tools": "Arguments of other make targets and tools.",
    "tests": "Ports and options of the test suite; change them when something else uses the port.",
    "secrets": "Secrets: no default, read only from the environment, never written in a committed file.",
}


@dataclass(frozen=True)
class Setting:
    """One environment variable: `default` is the value as a user would type it, None when it is unset."""

    name: str
    default: str | None
    meaning: str
    group: str
    secret: bool = False

    @property
    def shown_default(self) -> str:
        """How the default reads in the list: the text, `(empty)`, or `unset`."""
        if self.default is None:
            return "unset"
        return self.default if self.default else "(empty)"


def _s(name: str, default: str | None, meaning: str, group: str) -> Setting:
    return Setting(name, default, meaning, group)


def _secret(name: str, meaning: str) -> Setting:
    return Setting(name, None, meaning, "secrets", secret=True)


SETTINGS: tuple[Setting, ...] = (
    # --- knowledge ---------------------------------------------------------------------------------
    _s(
        "KNOWLEDGE_DIR",
        "knowledge/articles",
        "Folder of the article files (relative paths: to the project).",
        "knowledge",
    ),
    _s("INDEX_DIR", "var/index", "Folder of the FAISS index and its per-article vector cache.", "knowledge"),
    _s(
        "EMBEDDING_MODEL",
        "var/embedder/multilingual-e5-small",
        "The sentence-embedding model (a folder or a model name); set, `make embedder` exports nothing.",
        "knowledge",
    ),
    _s(
        "EMBEDDING_QUERY_PREFIX",
        None,
        "Text put before a question; unset: `query: ` for an e5 model, else none.",
        "knowledge",
    ),
    _s(
        "EMBEDDING_PASSAGE_PREFIX",
        None,
        "Text put before a passage; unset: `passage: ` for an e5 model, else none.",
        "knowledge",
    ),
    _s(
        "EMBEDDING_RUNTIME", "auto", "`auto` (onnxruntime when the ONNX export exists), `onnx` or `torch`.", "knowledge"
    ),
    _s("EMBEDDING_THREADS", "1", "Threads per process for the embedding model.", "knowledge"),
    _s("TORCH_THREADS", None, "Older name of EMBEDDING_THREADS, read when that is unset.", "knowledge"),
    _s("ANSWER_SUGGESTIONS", "3", "How many other questions an answer suggests.", "knowledge"),
    _s("HF_HUB_OFFLINE", "1", "Set by the Makefile and the embedder: Hugging Face never goes online.", "knowledge"),
    _s(
        "TRANSFORMERS_OFFLINE",
        "1",
        "Set by the Makefile and the embedder: transformers never goes online.",
        "knowledge",
    ),
    # --- channels ----------------------------------------------------------------------------------
    _s("RATE_LIMIT_BURST", "20", "Messages a sender may send at once; 0 turns the rate limit off.", "channels"),
    _s("RATE_LIMIT_PER_MINUTE", "30", "Messages per minute a sender may send after the burst.", "channels"),
    _s(
        "WEB_ALLOWED_ORIGINS",
        None,
        "Other origins (space- or comma-separated) allowed to use the web chat and get CORS headers.",
        "channels",
    ),
    _s("TELEGRAM_VERIFY", None, "The Telegram bot's username (without @).", "channels"),
    _s(
        "TELEGRAM_WEBHOOK_URL",
        None,
        "Public URL Telegram posts updates to; unset: use `make telegram-polling`.",
        "channels",
    ),
    _s(
        "TELEGRAM_API_BASE",
        "https://api.telegram.org",
        "Base URL of the Telegram Bot API (a fake one in tests).",
        "channels",
    ),
    # --- serving -----------------------------------------------------------------------------------
    _s("RASA_PORT", "5005", "Port of the Rasa server (of nginx in `make cluster`).", "serving"),
    _s("ACTIONS_PORT", "5055", "Port of the action server (of nginx in front of them in `make cluster`).", "serving"),
    _s("ACTIONS_HOST", "127.0.0.1", "Host the Rasa server calls the action server on.", "serving"),
    _s(
        "ACTION_ENDPOINT_URL",
        "http://$(ACTIONS_HOST):$(ACTIONS_PORT)/webhook",
        "Set by the Makefile (never inherited): the action server's URL in bot/endpoints*.yml.",
        "serving",
    ),
    _s("ENDPOINTS", "bot/endpoints.yml", "Endpoints file: SQLite in var/, or bot/endpoints-production.yml.", "serving"),
    _s(
        "MODEL",
        "models/tanya-artikel.tar.gz",
        "The trained Rasa model `make train` writes and the servers load.",
        "serving",
    ),
    _s("ACTION_TIMEOUT", "20", "Seconds the Rasa server waits for an action before apologising.", "serving"),
    _s(
        "ACTIONS_IDLE_TIMEOUT",
        "75",
        "Seconds the action server keeps an idle connection (> ACTION_TIMEOUT).",
        "serving",
    ),
    _s(
        "SANIC_KEEP_ALIVE_TIMEOUT",
        "$(ACTIONS_IDLE_TIMEOUT)",
        "Set by the Makefile for the action server (Sanic).",
        "serving",
    ),
    _s("RASA_RESPONSE_TIMEOUT", "150", "Seconds a message gets to be answered by the Rasa server.", "serving"),
    _s(
        "SANIC_RESPONSE_TIMEOUT",
        "$(RASA_RESPONSE_TIMEOUT)",
        "Set by the Makefile for the Rasa server (Sanic).",
        "serving",
    ),
    _s(
        "TRACKER_SQLITE_SYNC",
        "normal",
        "SQLite tracker store: `normal` (WAL) or `full` (safe against power cuts).",
        "serving",
    ),
    _s("TF_CPP_MIN_LOG_LEVEL", "2", "Set by the Makefile: TensorFlow logs only errors.", "serving"),
    _s("SQLALCHEMY_SILENCE_UBER_WARNING", "1", "Set by the Makefile: no SQLAlchemy 2.0 warning from Rasa.", "serving"),
    _s("RASA_TELEMETRY_ENABLED", "false", "Set by the Makefile and the images: Rasa sends no telemetry.", "serving"),
    _s(
        "RASA_MAX_CACHE_SIZE",
        None,
        "Rasa's training cache; set to 0 where a training is timed or in an image.",
        "serving",
    ),
    _s("SERVE_DIR", "var/serve", "supervisord's configuration, socket and own log.", "serving"),
    _s("SERVE_LOG_DIR", "var/log", "One log per supervised server.", "serving"),
    _s("SERVE_STOP_SECONDS", "14", "Everything is stopped and every port free within this many seconds.", "serving"),
    _s("SERVE_KILL_AFTER", "8", "Seconds a server may ignore SIGTERM before it gets SIGKILL.", "serving"),
    _s("SERVE_START_RETRIES", "3", "Restarts of a server that keeps dying before it answers.", "serving"),
    _s("SERVE_START_SECONDS", "10", "A server that dies sooner counts as a failed start.", "serving"),
    _s("SERVE_READY_TIMEOUT", "600", "Seconds to wait for every server to answer before giving up.", "serving"),
    _s("RASA_SERVERS", "2", "`make cluster`: Rasa servers behind nginx.", "serving"),
    _s("ACTION_SERVERS", "1", "`make cluster`: action servers behind nginx.", "serving"),
    _s("PG_PORT", "5432", "`make cluster`: PostgreSQL's port.", "serving"),
    _s("CLUSTER_DATA", "var/cluster", "`make cluster`: folder of its database, logs and secrets.env.", "serving"),
    # --- stores ------------------------------------------------------------------------------------
    _s("DB_HOST", None, "PostgreSQL host of the tracker store.", "stores"),
    _s("DB_PORT", None, "PostgreSQL port of the tracker store.", "stores"),
    _s("DB_NAME", None, "PostgreSQL database of the tracker store.", "stores"),
    _s("DB_USER", None, "PostgreSQL role owning that database.", "stores"),
    _s("REDIS_HOST", None, "Redis host of the lock store.", "stores"),
    _s("REDIS_PORT", "6379", "Redis port of the lock store (the default is `make cluster`'s).", "stores"),
    _s("REDIS_DB", None, "Redis database number of the lock store.", "stores"),
    # --- images ------------------------------------------------------------------------------------
    _s(
        "BASE_IMAGE",
        None,
        "Image with Python 3.10 the images start from; unset: one is made with debootstrap.",
        "images",
    ),
    _s("IMAGE_PREFIX", "tanya-artikel", "Name prefix of the images.", "images"),
    _s("IMAGE_TAG", "latest", "Tag of the images.", "images"),
    _s("DOCKER", "docker", "The docker command `make image` runs.", "images"),
    _s(
        "EXTRA_CA_DIR",
        "/usr/local/share/ca-certificates",
        "Extra CA certificates pip trusts during the build.",
        "images",
    ),
    _s("IMAGE_SMOKE_PORT", "7805", "`make image-smoke`: port of docker/compose.yml's nginx.", "images"),
    _s("PORT", "5005", "docker/compose.yml: host port of nginx (REST, web chat, Telegram).", "images"),
    _s("BIND_ADDRESS", "127.0.0.1", "docker/compose.yml: host address nginx's port is bound to.", "images"),
    # --- usage/reports -----------------------------------------------------------------------------
    _s("REPORT_CLUSTER_THRESHOLD", "0.925", "Similarity above which two questions count as the same.", "usage/reports"),
    _s("REVIEW_MIN_CONFIDENCE", "0.6", "NLU turns less sure than this go to `make review`.", "usage/reports"),
    _s("REPORT_TOP", "10", "Rows of each table in `make report`.", "usage/reports"),
    _s("USAGE_ARGS", "", "More arguments of the usage tools, e.g. `--tracker <SQLAlchemy URL>`.", "usage/reports"),
    _s("REVIEW_FILE", "reports/review-nlu.yml", "Where `make review` writes the NLU data to review.", "usage/reports"),
    _s("DAYS", None, "`make prune`: delete conversations idle for more than this many days.", "usage/reports"),
    _s("DRY_RUN", None, "`make prune`: set, only count what would be deleted.", "usage/reports"),
    # --- make/tools --------------------------------------------------------------------------------
    _s(
        "PYTHON310",
        "(found)",
        "The Python 3.10 the venvs are made with; found on PATH or in pyenv when unset.",
        "make/tools",
    ),
    _s("PYTEST_ARGS", "", "More arguments of pytest in `make test` and `make image-smoke`.", "make/tools"),
    _s("EVAL_ARGS", "", "More arguments of scripts/eval.py (`make eval`).", "make/tools"),
    _s("FIT_ARGS", "", "More arguments of scripts/fit_answer_model.py (`make fit`).", "make/tools"),
    _s("LOAD_ARGS", "", "More arguments of scripts/load.py (`make load`).", "make/tools"),
    _s("LOAD_CLUSTER_ARGS", "", "More arguments of scripts/load_cluster.py (`make load-cluster`).", "make/tools"),
    _s("BENCH_ARGS", "", "More arguments of scripts/bench.py (`make bench`).", "make/tools"),
    _s("STOCK_PORT", "6425", "Port of the stock `rasa init` bot `make bench` compares with.", "make/tools"),
    _s("VALIDATE_DIR", ".", "Folder with the config.yml and bot/ `make validate` checks.", "make/tools"),
    _s("AUDIT_SERVICE", "pypi,osv", "Vulnerability services `make audit` asks.", "make/tools"),
    _s("AUDIT_OSV_URL", "", "`make audit`: an OSV mirror to ask instead.", "make/tools"),
    _s("AUDIT_OSV_DB", "", "`make audit`: an OSV export on disk (a zip) to read instead.", "make/tools"),
    _s("FILE", None, "`make add-article`: the article file to add.", "make/tools"),
    _s("REPLACE", None, "`make add-article`: set, replace an article with the same id.", "make/tools"),
    _s("ID", None, "`make remove-article`: the id of the article to remove.", "make/tools"),
    # --- tests -------------------------------------------------------------------------------------
    _s("TEST_RASA_PORT", "5105", "Rasa server of the end-to-end tests.", "tests"),
    _s("TEST_ACTIONS_PORT", "5155", "Action server of the end-to-end tests.", "tests"),
    _s("TEST_ARTICLES_RASA_PORT", "5505", "Rasa server of tests/test_articles.py.", "tests"),
    _s("TEST_ARTICLES_ACTIONS_PORT", "5555", "Action server of tests/test_articles.py.", "tests"),
    _s("TEST_TG_RASA_PORT", "5605", "Rasa server of tests/test_telegram.py.", "tests"),
    _s("TEST_TG_ACTIONS_PORT", "5655", "Action server of tests/test_telegram.py.", "tests"),
    _s("TEST_SHELL_RASA_PORT", "5705", "Rasa server of tests/test_shell.py.", "tests"),
    _s("TEST_SHELL_ACTIONS_PORT", "5755", "Action server of tests/test_shell.py.", "tests"),
    _s("TEST_PROD_RASA_A_PORT", "5805", "First Rasa server of tests/test_production.py.", "tests"),
    _s("TEST_PROD_RASA_B_PORT", "5815", "Second Rasa server of tests/test_production.py.", "tests"),
    _s("TEST_PROD_RASA_SQLITE_PORT", "5825", "SQLite Rasa server of tests/test_production.py.", "tests"),
    _s("TEST_PROD_ACTIONS_PORT", "5855", "Action server of tests/test_production.py.", "tests"),
    _s("TEST_PROD_PG_PORT", "5832", "PostgreSQL of tests/test_production.py.", "tests"),
    _s("TEST_PROD_REDIS_PORT", "5837", "Redis of tests/test_production.py.", "tests"),
    _s("TEST_FAILURES_RASA_PORT", "5905", "Rasa server of tests/test_failures.py.", "tests"),
    _s("TEST_FAILURES_ACTIONS_PORT", "5955", "Action server of tests/test_failures.py.", "tests"),
    _s("TEST_USAGE_PG_PORT", "6632", "PostgreSQL of tests/test_report.py.", "tests"),
    _s(
        "TEST_RACE_ACTIONS_PORT",
        "7155",
        "Action server with the project's idle limit (tests/test_action_race.py).",
        "tests",
    ),
    _s(
        "TEST_RACE_SHORT_ACTIONS_PORT",
        "7156",
        "Action server with a 1-second idle limit (test_action_race.py).",
        "tests",
    ),
    _s("TEST_SUP_RASA_PORT", "7205", "Rasa server of tests/test_supervise.py.", "tests"),
    _s("TEST_SUP_ACTIONS_PORT", "7255", "Action server of tests/test_supervise.py.", "tests"),
    _s("TEST_SUP_SIGNAL_RASA_PORT", "7305", "Rasa server of test_supervise.py's signal tests.", "tests"),
    _s("TEST_SUP_SIGNAL_ACTIONS_PORT", "7355", "Action server of test_supervise.py's signal tests.", "tests"),
    _s("TEST_SUP_SHELL_RASA_PORT", "7405", "Rasa server of test_supervise.py's shell test.", "tests"),
    _s("TEST_SUP_SHELL_ACTIONS_PORT", "7455", "Action server of test_supervise.py's shell test.", "tests"),
    _s("TEST_SUP_RECOVERY_LIMIT", "20", "Seconds from a SIGKILL to answers again (tests/test_supervise.py).", "tests"),
    _s("TEST_CLUSTER_PORT", "7505", "nginx of tests/test_cluster.py (Rasa servers on the next two ports).", "tests"),
    _s("TEST_CLUSTER_ACTIONS_PORT", "7555", "nginx of the action servers of tests/test_cluster.py.", "tests"),
    _s("TEST_CLUSTER_PG_PORT", "7532", "PostgreSQL of tests/test_cluster.py.", "tests"),
    _s("TEST_CLUSTER_REDIS_PORT", "7537", "Redis of tests/test_cluster.py.", "tests"),
    _s("E5_EXPORT_DIR", None, "tests/test_export.py: an up-to-date e5 export to reuse instead of exporting.", "tests"),
    _s("WEB_CHAT_SCREENSHOT", None, "tests/test_web.py: save a screenshot of the web chat to this file.", "tests"),
    # --- secrets -----------------------------------------------------------------------------------
    _secret("TELEGRAM_TOKEN", "The Telegram bot's token from @BotFather; unset, the Telegram channel is off."),
    _secret(
        "TELEGRAM_SECRET_TOKEN", "Secret Telegram sends with every webhook call; unset, one derived from the token."
    ),
    _secret("RASA_API_TOKEN", "Opens Rasa's HTTP API, with this token only; unset, the API stays closed."),
    _secret("DB_PASSWORD", "PostgreSQL password of DB_USER; `make cluster` generates one when unset."),
    _secret("REDIS_PASSWORD", "Redis password; `make cluster` generates one when unset."),
    _secret("REPORT_SALT", "Salt of the reports' sender pseudonyms; unset, a random one kept in var/report-salt."),
)

BY_NAME: dict[str, Setting] = {s.name: s for s in SETTINGS}

# Standard variables of the system and of the tools the project runs. The project reads or sets them, but
# they are not its settings: their meaning is the tool's, documented there.
SYSTEM_VARIABLES: frozenset[str] = frozenset(
    {
        "PATH",
        "HOME",
        "CI",
        "LANG",  # the shell and the system
        "MAKE",
        "MAKEFILE_LIST",
        "CURDIR",  # make's own: the make command, the Makefiles read, the current folder
        "PYTHONPATH",
        "PYTHONUNBUFFERED",  # Python's (scripts/bench.py puts its patches on the path)
        "PIP_CERT",
        "PIP_DISABLE_PIP_VERSION_CHECK",
        "REQUESTS_CA_BUNDLE",  # pip during an image build
        "DEBIAN_FRONTEND",  # apt-get, never asking questions
    }
)


def setting(name: str) -> Setting:
    """The registered setting; a KeyError naming the variable when it is not in the list."""
    try:
        return BY_NAME[name]
    except KeyError:
        raise KeyError(f"{name} is not a registered setting: add it to knowledge/settings_registry.py") from None


def raw(name: str) -> str | None:
    """The variable as the environment has it (None when unset); only for a registered name."""
    setting(name)
    return os.environ.get(name)


def env(name: str) -> str | None:
    """The variable's value, or its registered default when unset or empty (None: no default).

    A secret never has a default: it comes from the environment or not at all.
    """
    entry = setting(name)
    value = os.environ.get(name)
    if value:
        return value
    return None if entry.secret else entry.default


def default(name: str) -> str:
    """The registered default text of a setting that has one (a ValueError otherwise)."""
    value = setting(name).default
    if value is None:
        raise ValueError(f"{name} has no default")
    return value


# --- the list, printed and as docs/settings.md -------------------------------------------------------


def by_group() -> dict[str, list[Setting]]:
    """The settings per group, in GROUPS' order, each group in the list's order."""
    groups: dict[str, list[Setting]] = {g: [] for g in GROUPS}
    for s in SETTINGS:
        groups[s.group].append(s)
    return groups


def render_text() -> str:
    """The list for a terminal: one block per group, one line per variable."""
    lines: list[str] = []
    for group, entries in by_group().items():
        lines.append(f"{group}: {GROUPS[group]}")
        width = max(len(s.name) for s in entries)
        dwidth = min(20, max(len(s.shown_default) for s in entries))
        for s in entries:
            lines.append(f"  {s.name:<{width}}  {s.shown_default:<{dwidth}}  {s.meaning}")
        lines.append("")
    lines.append(f"{len(SETTINGS)} settings. Not listed, being standard: {', '.join(sorted(SYSTEM_VARIABLES))}.")
    return "\n".join(lines) + "\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def render_markdown() -> str:
    """docs/settings.md: a table per group."""
    lines = [
        f"<!-- Generated from knowledge/settings_registry.py by `{GENERATE_COMMAND}`; do not edit by hand. -->",
        "",
        "# Settings",
        "",
        "Every environment variable the project reads, with its default and meaning. Make variables can be given",
        "on the command line too (`make run RASA_PORT=6005`). Secrets have no default and are read only from the",
        "environment. tests/test_settings_registry.py fails when code reads a variable that is not listed here.",
        "",
    ]
    for group, entries in by_group().items():
        lines += [f"## {group}", "", GROUPS[group], "", "| Variable | Default | Meaning |", "| --- | --- | --- |"]
        for s in entries:
            shown = f"`{s.default}`" if s.default else s.shown_default
            lines.append(f"| `{s.name}` | {_cell(shown)} | {_cell(s.meaning)} |")
        lines.append("")
    lines += [
        "Not listed, being standard variables of the system and of the tools the project runs: "
        + ", ".join(f"`{n}`" for n in sorted(SYSTEM_VARIABLES))
        + ".",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Print the list; `--write` regenerates docs/settings.md, `--check` fails when it is out of date."""
    parser = argparse.ArgumentParser(prog="python -m knowledge.settings_registry", description=main.__doc__)
    parser.add_argument("--write", action="store_true", help=f"write {DOCS_PAGE.relative_to(ROOT)}")
    parser.add_argument("--check", action="store_true", help=f"exit 1 when {DOCS_PAGE.relative_to(ROOT)} is stale")
    args = parser.parse_args(argv)
    if args.check:
        current = DOCS_PAGE.read_text(encoding="utf-8") if DOCS_PAGE.exists() else ""
        if current != render_markdown():
            print(f"{DOCS_PAGE.relative_to(ROOT)} is out of date: run {GENERATE_COMMAND}", file=sys.stderr)
            return 1
        return 0
    if args.write:
        DOCS_PAGE.write_text(render_markdown(), encoding="utf-8")
        print(f"wrote {DOCS_PAGE.relative_to(ROOT)} ({len(SETTINGS)} settings)")
        return 0
    sys.stdout.write(render_text())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
