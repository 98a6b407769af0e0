"""Every third-party import is declared in pyproject.toml, and everything declared is pinned in requirements.lock.

Each tracked *.py is parsed with `ast` (nothing is imported); the top-level
names of its absolute imports, less the standard library and the project's
own modules, are mapped to distributions and checked against pyproject.toml:

- runtime code (every package, and scripts/ but DEV_ONLY): `[project].dependencies`;
- tests/ and DEV_ONLY scripts: `[project].dependencies` or the `dev` extra;
- security/: its own venv (`make audit`), so security/requirements-audit.lock.

Imports inside `try: ... except ImportError` (or ModuleNotFoundError) are
optional: the code runs without them, so they need not be declared, but each
third-party one must be listed in OPTIONAL with the reason, so that making an
import optional is a choice someone wrote down. Imports by string
(`importlib.import_module`, SQLAlchemy's database drivers) are not seen:
those packages (psycopg2-binary, redis) are declared by hand.
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cache
from importlib.metadata import distributions, packages_distributions
from pathlib import Path

import pytest
import tomli

# packaging 20.9 (pinned for Rasa) calls pyparsing's old names, which warn on import and on every requirement.
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    from packaging.requirements import Requirement
    from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent
LOCK = ROOT / "requirements.lock"
AUDIT_LOCK = ROOT / "security" / "requirements-audit.lock"
# Developer tools that may use the dev extra: fitting the answer model offline (scikit-learn).
DEV_ONLY = {"scripts/fit_answer_model.py"}
# Third-party modules imported under `except ImportError`, with why the code runs without them. None today.
OPTIONAL: dict[str, str] = {}


@dataclass(frozen=True)
class Import:
    module: str  # the top-level name: `yaml` for `from yaml.loader import X`
    line: int
    optional: bool  # inside a try whose handlers catch ImportError


def _catches_import_error(node: ast.Try) -> bool:
    names = {"ImportError", "ModuleNotFoundError"}
    for handler in node.handlers:
        caught = handler.type
        kinds = caught.elts if isinstance(caught, ast.Tuple) else [caught]
        if any(isinstance(k, ast.Name) and k.id in names for k in kinds):
            return True
    return False


def imports(source: str) -> list[Import]:
    """The absolute imports of a module's source, wherever they are (functions, TYPE_CHECKING blocks included)."""
    found: list[Import] = []

    def visit(node: ast.AST, optional: bool) -> None:
        if isinstance(node, ast.Import):
            found.extend(Import(a.name.split(".")[0], node.lineno, optional) for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append(Import(node.module.split(".")[0], node.lineno, optional))
        if isinstance(node, ast.Try) and _catches_import_error(node):
            for child in node.body:
                visit(child, True)
            for child in [*node.handlers, *node.orelse, *node.finalbody]:
                visit(child, optional)
            return
        for child in ast.iter_child_nodes(node):
            visit(child, optional)

    visit(ast.parse(source), False)
    return found


def normalize(name: str) -> str:
    """A distribution name as PEP 503 compares them: `PyYAML` and `pyyaml`, `rasa_sdk` and `rasa-sdk`."""
    return re.sub(r"[-_.]+", "-", name).lower()


@cache
def tracked() -> tuple[str, ...]:
    out = subprocess.run(["git", "ls-files", "*.py"], cwd=ROOT, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        pytest.skip("not a git checkout")
    return tuple(out.stdout.split())


def local_modules(paths: Iterable[str]) -> set[str]:
    """The project's own top-level names: its packages and top-level modules, and the modules of the folders
    that put themselves on sys.path (scripts/ and scripts/bench_patches/ for the scripts, tests/ for the tests)."""
    names: set[str] = set()
    for path in map(Path, paths):
        names.add(path.parts[0] if len(path.parts) > 1 else path.stem)
        if len(path.parts) > 1 and path.parts[0] in ("scripts", "tests"):
            names.add(path.stem)
    return names


@cache
def module_distributions() -> dict[str, frozenset[str]]:
    """Top-level module -> the (normalised) distributions that install it.

    Python 3.10's packages_distributions() reads only top_level.txt, which wheels built by
    maturin, poetry or flit lack (rasa, tokenizers, jsonschema...); those are inferred from RECORD.
    """
    out: dict[str, set[str]] = {m: {normalize(d) for d in ds} for m, ds in packages_distributions().items()}
    for dist in distributions():
        name = normalize(dist.metadata["Name"] or "")
        for file in dist.files or []:
            parts = file.parts
            if not parts or parts[0] in ("..", "__pycache__") or parts[0].endswith((".dist-info", ".data")):
                continue
            if len(parts) > 1 or file.suffix in (".py", ".so", ".pyd"):
                out.setdefault(parts[0] if len(parts) > 1 else parts[0].split(".")[0], set()).add(name)
    return {m: frozenset(ds) for m, ds in out.items()}


def undeclared(sources: dict[str, str], allowed: set[str], local: set[str]) -> list[str]:
    """Problems: third-party, non-optional imports whose distribution is not in `allowed` (normalised names)."""
    problems = []
    provides = module_distributions()
    for path, source in sorted(sources.items()):
        for imp in imports(source):
            if imp.optional or imp.module in sys.stdlib_module_names or imp.module in local:
                continue
            dists = provides.get(imp.module)
            if not dists:
                problems.append(f"{path}:{imp.line}: imports {imp.module}, which no installed distribution provides")
            elif not dists & allowed:
                problems.append(f"{path}:{imp.line}: imports {imp.module} ({', '.join(sorted(dists))}), "
                                f"which is not declared")
    return problems


@cache
def pyproject() -> dict:
    return tomli.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def requirements(extra: str | None = None) -> list[Requirement]:
    project = pyproject()["project"]
    raw = project["dependencies"] if extra is None else project["optional-dependencies"][extra]
    return [Requirement(r) for r in raw]


def runtime_declared() -> set[str]:
    return {normalize(r.name) for r in requirements()}


def dev_declared() -> set[str]:
    return runtime_declared() | {normalize(r.name) for r in requirements("dev")}


def pins(lock: Path) -> dict[str, str]:
    """Normalised name -> pinned version of a `name==version` lock file."""
    out = {}
    for line in lock.read_text(encoding="utf-8").splitlines():
        match = re.match(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;#]+)", line)
        if match:
            out[normalize(match.group(1))] = match.group(2)
    return out


def sources(keep: Callable[[str], bool]) -> dict[str, str]:
    return {p: (ROOT / p).read_text(encoding="utf-8") for p in tracked() if keep(p)}


def is_runtime(path: str) -> bool:
    return not path.startswith(("tests/", "security/")) and path not in DEV_ONLY


def test_runtime_imports_are_declared_in_the_project_dependencies() -> None:
    assert undeclared(sources(is_runtime), runtime_declared(), local_modules(tracked())) == []


def test_test_and_dev_imports_are_declared_in_the_dependencies_or_the_dev_extra() -> None:
    dev = sources(lambda p: p.startswith("tests/") or p in DEV_ONLY)
    assert undeclared(dev, dev_declared(), local_modules(tracked())) == []


def test_the_audit_script_imports_only_what_its_own_lock_pins() -> None:
    audit = sources(lambda p: p.startswith("security/"))
    assert audit, "security/ has no Python files any more: drop this test"
    assert undeclared(audit, set(pins(AUDIT_LOCK)), local_modules(tracked())) == []


def test_every_declared_package_is_pinned_in_the_lock_within_its_range() -> None:
    pinned = pins(LOCK)
    problems = []
    for req in requirements() + requirements("dev"):
        version = pinned.get(normalize(req.name))
        if version is None:
            problems.append(f"{req.name} is declared but not pinned in requirements.lock")
        elif req.specifier and Version(version) not in req.specifier:
            problems.append(f"{req.name}{req.specifier} does not allow the locked {version}")
    assert problems == []


def test_optional_imports_are_the_documented_ones() -> None:
    local = local_modules(tracked())
    optional = {imp.module for src in sources(lambda p: True).values() for imp in imports(src)
                if imp.optional and imp.module not in sys.stdlib_module_names and imp.module not in local}
    assert optional == set(OPTIONAL)


def test_the_checker_reports_an_undeclared_import() -> None:
    """A synthetic module: boto3 is installed (Rasa brings it) but not declared; the rest is fine or skipped."""
    source = (
        "import os\nimport yaml\nfrom knowledge.text import stem\nfrom . import sibling\n"
        "def f():\n    import boto3.session\n"
        "try:\n    import no_such_module_anywhere\nexcept ImportError:\n    pass\n"
        "import no_such_module_either\n"
    )
    problems = undeclared({"scripts/new.py": source}, runtime_declared(), local_modules(tracked()))
    assert problems == [
        "scripts/new.py:6: imports boto3 (boto3), which is not declared",
        "scripts/new.py:11: imports no_such_module_either, which no installed distribution provides",
    ]
    assert [i.module for i in imports(source) if i.optional] == ["no_such_module_anywhere"]
