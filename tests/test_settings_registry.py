"""Every environment variable the project reads is in knowledge/settings_registry.py, and only those.

The scanner reads the project's own files (Python, the Makefile, shell scripts, the Docker files and the
endpoints files) for environment reads, and for variables the project sets for the tools it runs. It fails
naming a variable that is not registered, a registered one nothing reads any more, a default written in
the code that differs from the registered one, and a docs/settings.md that is out of date.
"""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from knowledge import settings_registry
from knowledge.settings_registry import BY_NAME, GROUPS, SETTINGS, SYSTEM_VARIABLES

ROOT = Path(__file__).resolve().parent.parent
NAME = r"[A-Z][A-Z0-9_]*"
Q = r"[\"']"

# The registry lists the names as data, and this file holds snippets with unregistered names.
NOT_SCANNED = {"knowledge/settings_registry.py", "tests/test_settings_registry.py"}


@dataclass(frozen=True)
class Read:
    """One place that reads (or sets, for a tool it runs) an environment variable; `default` when written there."""

    name: str
    where: str
    default: str | None = None


# --- Python ------------------------------------------------------------------------------------------

_PY_WITH_DEFAULT = [
    rf"os\.environ\.get\(\s*{Q}({NAME}){Q}(?:\s*,\s*{Q}([^\"']*){Q})?",
    rf"os\.getenv\(\s*{Q}({NAME}){Q}(?:\s*,\s*{Q}([^\"']*){Q})?",
    rf"os\.environ\.setdefault\(\s*{Q}({NAME}){Q}(?:\s*,\s*{Q}([^\"']*){Q})?",
]
_PY_NAME_ONLY = [
    rf"os\.environ\[\s*{Q}({NAME}){Q}\s*\]",
    rf"os\.environ\.pop\(\s*{Q}({NAME}){Q}",
    rf"{Q}({NAME}){Q}\s+(?:not\s+)?in\s+os\.environ",
    # the project's helpers (knowledge/settings.py, knowledge/settings_registry.py) and pytest's monkeypatch
    rf"\b(?:env_float|env_path|_env_path|_env_str|env|raw|default|setting|setenv|delenv)\(\s*{Q}({NAME}){Q}",
]


def python_reads(text: str, where: str) -> list[Read]:
    """Reads of os.environ, os.getenv and the settings helpers, and the keys of `{**os.environ, "X": ...}`.

    Only `os.environ`: a bare `environ` is a WSGI request's (channels/web.py), not the process's."""
    reads = []
    for pattern in _PY_WITH_DEFAULT:
        reads += [Read(m.group(1), where, m.group(2)) for m in re.finditer(pattern, text)]
    for pattern in _PY_NAME_ONLY:
        reads += [Read(m.group(1), where) for m in re.finditer(pattern, text)]
    for m in re.finditer(r"\*\*os\.environ\s*,([^}]*)\}", text):
        reads += [Read(name, where) for name in re.findall(rf"{Q}({NAME}){Q}\s*:", m.group(1))]
    return reads


def _without_comment_lines(text: str) -> str:
    return "\n".join("" if line.lstrip().startswith("#") else line for line in text.splitlines())


# --- the Makefile ------------------------------------------------------------------------------------


def makefile_reads(text: str, where: str = "Makefile") -> list[Read]:
    """`X ?= default` (overridable), `export X := value` (set for every command), `X=value cmd` in a recipe,
    `$(X)` of a variable the Makefile does not define itself (so the environment or the command line does),
    and `$$X` (the recipe's shell reads it). Comment lines are prose, not reads."""
    text = _without_comment_lines(text.replace("\\\n", " "))
    reads: list[Read] = []
    internal = set()
    for line in text.splitlines():
        if m := re.match(rf"({NAME})\s*\?=\s*(.*)$", line):
            value = m.group(2).strip()
            reads.append(Read(m.group(1), where, None if "$(" in value else value))
        elif m := re.match(rf"export\s+({NAME})\s*:?=\s*(.*)$", line):
            reads.append(Read(m.group(1), where, m.group(2).strip()))
        elif m := re.match(rf"({NAME})\s*:?=", line):
            internal.add(m.group(1))  # the Makefile's own: `:=` and `=` win over the environment
        elif line.startswith("\t"):
            reads += [Read(n, where) for n in re.findall(rf"(?:^|[\s;&|(])({NAME})=", line)]
    for name in re.findall(rf"(?<!\$)\$[({{]({NAME})[)}}:]", text):
        if name not in internal:
            reads.append(Read(name, where))
    reads += [Read(name, where) for name in re.findall(rf"\$\$\{{?({NAME})", text)]
    return reads


# --- shell scripts, the Docker files and the endpoints files -------------------------------------------


def shell_reads(text: str, where: str) -> list[Read]:
    """`${X}`, `${X:-default}`, `${X:?message}`, `$X` of a variable the script does not assign, `export X=`,
    and, in a Dockerfile, `ARG X` and `ENV X=...`; in a compose file, the upper-case keys of `environment`.
    Comment lines are prose, not reads."""
    text = _without_comment_lines(text.replace("\\\n", " "))
    reads: list[Read] = []
    for m in re.finditer(rf"\$\{{({NAME})(?:(:?-)([^}}]*)|:?[?=+][^}}]*)?\}}", text):
        reads.append(Read(m.group(1), where, m.group(3) if m.group(2) and m.group(3) else None))
    assigned = set(re.findall(rf"^\s*(?:export\s+|local\s+)?({NAME})=", text, re.MULTILINE))
    reads += [Read(n, where) for n in re.findall(rf"\$({NAME})\b", text) if n not in assigned]
    for line in text.splitlines():
        if m := re.search(r"\bexport\s+(.*)", line):
            reads += [Read(n, where) for n in re.findall(rf"(?:^|\s)({NAME})=", m.group(1))]
        if where.endswith("Dockerfile"):
            if m := re.match(rf"\s*ARG\s+({NAME})", line):
                reads.append(Read(m.group(1), where))
            elif m := re.match(r"\s*(ENV|RUN)\s+(.*)", line):
                found = re.findall(rf"(?:^|\s)({NAME})=", m.group(2))
                reads += [Read(n, where) for n in (found if m.group(1) == "ENV" else found[:1])]
    if where.endswith("compose.yml"):
        reads += [Read(n, where) for n in re.findall(rf"^\s+({NAME}):\s", text, re.MULTILINE)]
    return reads


# --- the project's files -------------------------------------------------------------------------------


def project_files() -> list[str]:
    """The tracked files (git), or every file outside .venv, var, models and .git when git is unavailable."""
    try:
        out = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
        files = out.splitlines()
    except (OSError, subprocess.CalledProcessError):
        skip = {".venv", "var", "models", ".git"}
        files = [str(p.relative_to(ROOT)) for p in ROOT.rglob("*") if p.is_file() and not skip & set(p.parts)]
    return sorted(f for f in files if f not in NOT_SCANNED and not f.startswith((".venv/", "var/")))


def scan(files: list[str]) -> list[Read]:
    """Every read in the files the scanner knows how to read."""
    reads: list[Read] = []
    for f in files:
        path = ROOT / f
        if not path.is_file():
            continue
        if f.endswith(".py"):
            reads += python_reads(path.read_text(encoding="utf-8"), f)
        elif f == "Makefile":
            reads += makefile_reads(path.read_text(encoding="utf-8"))
        elif (
            f.endswith(".sh")
            or f in (".ci/run", "docker/Dockerfile", "docker/compose.yml")
            or re.fullmatch(r"bot/[^/]+\.yml", f)
        ):
            reads += shell_reads(path.read_text(encoding="utf-8"), f)
    return reads


def unregistered(reads: list[Read]) -> list[str]:
    """`NAME (where)` for each read of a variable that is neither registered nor a standard one."""
    return sorted({f"{r.name} ({r.where})" for r in reads if r.name not in BY_NAME and r.name not in SYSTEM_VARIABLES})


@pytest.fixture(scope="module")
def reads() -> list[Read]:
    return scan(project_files())


def test_every_variable_the_code_reads_is_registered(reads: list[Read]) -> None:
    missing = unregistered(reads)
    assert not missing, (
        "environment variables read but not in knowledge/settings_registry.py (add them, with default and meaning,"
        " then run python -m knowledge.settings_registry --write):\n  " + "\n  ".join(missing)
    )


def test_every_registered_variable_is_still_read(reads: list[Read]) -> None:
    read = {r.name for r in reads}
    stale = sorted(s.name for s in SETTINGS if s.name not in read)
    assert not stale, f"registered but read nowhere (remove them from knowledge/settings_registry.py): {stale}"


def test_defaults_written_in_the_code_are_the_registered_ones(reads: list[Read]) -> None:
    """A default repeated where a variable is read (a test's port, a Makefile's `?=`) must be the listed one."""
    differ = set()
    for r in reads:
        entry = BY_NAME.get(r.name)
        if entry is None or r.default is None or (entry.default or "").startswith("("):
            continue
        if r.default != (entry.default or ""):
            differ.add(f"{r.name}: {r.default!r} in {r.where}, {entry.shown_default!r} in the registry")
    assert not differ, "\n".join(sorted(differ))


def test_docs_page_is_up_to_date() -> None:
    page = settings_registry.DOCS_PAGE.read_text(encoding="utf-8")
    assert page == settings_registry.render_markdown(), (
        f"docs/settings.md is out of date: run {settings_registry.GENERATE_COMMAND}"
    )
    assert page.startswith("<!-- Generated ") and settings_registry.GENERATE_COMMAND in page.splitlines()[0]


def test_the_entries_are_well_formed() -> None:
    assert len(BY_NAME) == len(SETTINGS), "a variable is registered twice"
    for s in SETTINGS:
        assert re.fullmatch(NAME, s.name), s.name
        assert s.group in GROUPS, f"{s.name}: unknown group {s.group!r}"
        assert s.meaning.strip() and "\n" not in s.meaning, s.name
        assert s.secret == (s.group == "secrets"), f"{s.name}: secrets, and only they, go in the secrets group"
        if s.secret:
            assert s.default is None, f"{s.name} is a secret: it has no default"
    assert not SYSTEM_VARIABLES & set(BY_NAME), "a standard variable is registered too"


# --- the scanner catches what it must (a check that cannot fail would prove nothing) -----------------------


@pytest.mark.parametrize(
    ("kind", "snippet"),
    [
        ("py", 'x = os.environ.get("NOT_A_SETTING", "1")'),
        ("py", "x = os.environ['NOT_A_SETTING']"),
        ("py", 'x = os.getenv("NOT_A_SETTING")'),
        ("py", 'os.environ.setdefault("NOT_A_SETTING", "1")'),
        ("py", 'if "NOT_A_SETTING" in os.environ: pass'),
        ("py", 'x = env_float("NOT_A_SETTING")'),
        ("py", 'x = _env_path("NOT_A_SETTING", ROOT)'),
        ("py", 'x = env("NOT_A_SETTING")'),
        ("py", 'monkeypatch.setenv("NOT_A_SETTING", "1")'),
        ("py", 'env = {**os.environ, "INDEX_DIR": "x", "NOT_A_SETTING": "1"}'),
        ("make", "NOT_A_SETTING ?= 3\n"),
        ("make", "run:\n\techo $(NOT_A_SETTING)\n"),
        ("make", "run:\n\techo $$NOT_A_SETTING\n"),
        ("make", "export NOT_A_SETTING := 1\n"),
        ("make", "run:\n\tNOT_A_SETTING=1 $(PY) x.py\n"),
        ("sh", "x=${NOT_A_SETTING:-3}\n"),
        ("sh", ': "${NOT_A_SETTING:?set it}"\n'),
        ("sh", 'echo "$NOT_A_SETTING"\n'),
        ("sh", "export NOT_A_SETTING=1\n"),
        ("endpoints.yml", "tracker_store:\n  url: ${NOT_A_SETTING}\n"),
        ("Dockerfile", "ENV A_B=1 \\\n    NOT_A_SETTING=1\n"),
        ("compose.yml", "services:\n  x:\n    environment:\n      NOT_A_SETTING: 1\n"),
    ],
)
def test_the_scanner_reports_an_unregistered_read(kind: str, snippet: str) -> None:
    if kind == "py":
        found = python_reads(snippet, "snippet.py")
    elif kind == "make":
        found = makefile_reads(snippet, "Makefile")
    else:
        found = shell_reads(snippet, f"docker/{kind}" if kind != "sh" else "snippet.sh")
    assert "NOT_A_SETTING" in " ".join(unregistered(found))


def test_the_scanner_ignores_what_is_not_an_environment_read() -> None:
    make = "PY := .venv/bin/python\nrun:\n\t$(PY) -m x $(lower) $$p\n"
    shell = 'WORK=var/x\necho "$WORK" "${#items[@]}" ${1:-base}\n'
    assert not unregistered(makefile_reads(make) + shell_reads(shell, "x.sh"))
    assert not unregistered(python_reads('x = environ.get("NOT_A_SETTING")  # a WSGI environ', "x.py"))
    assert not unregistered(shell_reads("# Every ${NOT_A_SETTING} below must be set\n", "bot/x.yml"))


def test_the_scanner_sees_the_known_reads(reads: list[Read]) -> None:
    """A scanner that silently read no file would pass the tests above; it must see these in the real files."""
    where = {(r.name, r.where) for r in reads}
    for name, path in [
        ("TEST_RASA_PORT", "tests/conftest.py"),
        ("EMBEDDING_RUNTIME", "knowledge/settings.py"),
        ("RASA_PORT", "Makefile"),
        ("RASA_API_TOKEN", "Makefile"),
        ("IMAGE_TAG", "scripts/image.sh"),
        ("DB_PASSWORD", "docker/compose.yml"),
        ("DB_HOST", "bot/endpoints-production.yml"),
    ]:
        assert (name, path) in where, f"the scanner missed {name} in {path}"


def test_env_returns_the_value_or_the_registered_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RATE_LIMIT_BURST", raising=False)
    assert settings_registry.env("RATE_LIMIT_BURST") == "20"
    monkeypatch.setenv("RATE_LIMIT_BURST", "5")
    assert settings_registry.env("RATE_LIMIT_BURST") == "5"
    monkeypatch.delenv("TELEGRAM_TOKEN", raising=False)
    assert settings_registry.env("TELEGRAM_TOKEN") is None
    with pytest.raises(KeyError, match="NOT_A_SETTING"):
        settings_registry.env("NOT_A_SETTING")
    with pytest.raises(ValueError, match="no default"):
        settings_registry.default("TELEGRAM_TOKEN")
    assert os.environ.get("RATE_LIMIT_BURST") == "5"
