"""What a newcomer meets before the bot starts: `make help`, set-up by need, and a short README.

These drive the real Makefile and scripts/system-deps.sh; fake system commands stand in only for what
must not really happen in a test (apt, sudo, root).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MAKE = shutil.which("make") or "make"


def _bare_path(tmp_path: Path, tools: tuple[str, ...]) -> str:
    """A PATH holding only `tools` (symlinks), as on a bare Debian machine without bsdextrautils."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in tools:
        found = shutil.which(tool)
        assert found, f"{tool} is needed to run this test"
        (bin_dir / tool).symlink_to(found)
    return str(bin_dir)


def test_make_help_lists_every_target_without_column(tmp_path: Path) -> None:
    path = _bare_path(tmp_path, ("bash", "awk", "grep", "sed"))
    assert not (Path(path) / "column").exists()
    done = subprocess.run([MAKE, "--no-print-directory", "-s", "help"], cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, "PATH": path}, timeout=60)
    assert done.returncode == 0, done.stderr
    documented = re.findall(r"^([a-z-]+):.*## ", (ROOT / "Makefile").read_text(encoding="utf-8"), re.M)
    listed = [line.split()[0] for line in done.stdout.splitlines() if line.strip()]
    assert listed == documented
    assert "run" in listed and "test" in listed


def _dry_run(target: str) -> str:
    done = subprocess.run([MAKE, "--no-print-directory", "-n", "-B", target], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_make_run_and_shell_install_no_debian_package() -> None:
    # -B: every prerequisite counts as out of date, so a fresh clone's whole set-up is in the plan.
    for target in ("run", "shell"):
        plan = _dry_run(target)
        assert "pip install" in plan and "rasa" in plan  # the real set-up is there...
        assert "system-deps.sh" not in plan and "apt-get" not in plan  # ...and no apt


def test_make_test_installs_the_test_packages() -> None:
    assert "scripts/system-deps.sh test" in _dry_run("test")


def _fake_system(tmp_path: Path, *, uid: int, sudo_works: bool) -> dict[str, str]:
    """dpkg-query says nothing is installed; id, sudo and apt-get are recorded, never real."""
    bin_dir = tmp_path / "fake"
    bin_dir.mkdir()
    log = tmp_path / "calls.log"
    scripts = {
        "dpkg-query": "exit 1",
        "id": f'[ "$1" = -u ] && echo {uid}',
        "sudo": f'echo "sudo $*" >> {log}; [ "$1" = -n ] && {{ {"exit 0" if sudo_works else "exit 1"}; }}; "$@"',
        "apt-get": f'echo "apt-get $*" >> {log}',
    }
    for name, body in scripts.items():
        (bin_dir / name).write_text(f"#!/bin/bash\n{body}\n")
        (bin_dir / name).chmod(0o755)
    return {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}"}


def _system_deps(env: dict[str, str], *groups: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", str(ROOT / "scripts" / "system-deps.sh"), *groups], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)


def test_without_root_or_sudo_it_names_the_packages_and_installs_nothing(tmp_path: Path) -> None:
    done = _system_deps(_fake_system(tmp_path, uid=1000, sudo_works=False), "test")
    assert done.returncode == 1
    for package in ("chromium", "chromium-driver", "postgresql", "redis-server", "nginx", "gcc"):
        assert package in done.stderr
    assert "sudo bash scripts/system-deps.sh test" in done.stderr
    calls = (tmp_path / "calls.log").read_text() if (tmp_path / "calls.log").exists() else ""
    assert "apt-get" not in calls


def test_with_passwordless_sudo_it_installs_each_missing_package_once(tmp_path: Path) -> None:
    done = _system_deps(_fake_system(tmp_path, uid=1000, sudo_works=True), "test", "cluster")
    assert done.returncode == 0, done.stderr
    calls = (tmp_path / "calls.log").read_text().splitlines()
    installs = [line for line in calls if line.startswith("apt-get install")]
    assert len(installs) == 1
    packages = installs[0].split("-qq", 1)[1].split()
    assert sorted(packages) == sorted({"gcc", "chromium", "chromium-driver", "postgresql", "redis-server", "nginx"})


def test_an_unknown_group_is_refused(tmp_path: Path) -> None:
    done = _system_deps(_fake_system(tmp_path, uid=0, sudo_works=False), "base")
    assert done.returncode == 2 and "unknown group 'base'" in done.stderr


def test_readme_is_short_and_its_links_resolve() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(readme.splitlines()) <= 200
    for target in re.findall(r"\]\(((?!https?:)[^)#]+)", readme):
        assert (ROOT / target).exists(), f"README links to {target}, which does not exist"
    for command in ("make run", "make test", "make shell", "make add-article"):
        assert command in readme
