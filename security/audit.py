"""`make audit`: known vulnerabilities of the pinned packages, checked against a reviewed list.

The lock files are audited as text (pip-audit `-r LOCK --no-deps --disable-pip`):
nothing is installed or resolved, so what is checked is exactly what `make setup` installs.

Findings come from pip-audit's online services, tried in the order given (`--service
pypi,osv`), or from an OSV export on disk (`--osv-db`: OSV's `PyPI/all.zip`, or a
folder of OSV `.json`/`.yaml` records such as a checkout of pypa/advisory-database),
for machines that reach no vulnerability service.

Exit status:
  0  every finding is reviewed in the allowlist (security/advisories.toml);
  1  at least one finding is not reviewed there (a ready-to-fill entry is printed);
  2  the audit could not run: no service reachable, or a package could not be audited.

A service that answers "not found" for every package (PyPI's JSON API behind a
proxy that only serves project pages does that) makes pip-audit report
"No known vulnerabilities found"; here that counts as "could not audit", never as clean.
"""

from __future__ import annotations

import argparse
import io
import json
import re
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import tomli
import yaml
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

ROOT = Path(__file__).resolve().parent.parent
PIP_AUDIT = Path(sys.executable).with_name("pip-audit")
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;#]+)")


class AuditUnavailable(Exception):
    """No source of advisories could audit every package."""


@dataclass(frozen=True)
class Finding:
    """One advisory that affects one pinned package."""

    package: str
    version: str
    id: str
    aliases: frozenset[str] = frozenset()
    fixed_in: tuple[str, ...] = ()
    summary: str = ""

    @property
    def ids(self) -> frozenset[str]:
        return self.aliases | {self.id}


@dataclass
class Reviewed:
    """One entry of the allowlist: an advisory somebody read and judged for this project."""

    package: str
    version: str
    id: str
    aliases: frozenset[str]
    reachable: bool
    reason: str
    summary: str = ""
    matched: bool = field(default=False, compare=False)

    def covers(self, finding: Finding) -> bool:
        """Same package, same pinned version (a new version needs a new review), same advisory."""
        return (
            canonicalize_name(self.package) == canonicalize_name(finding.package)
            and self.version == finding.version
            and bool((self.aliases | {self.id}) & finding.ids)
        )


# --- inputs -------------------------------------------------------------------------------------


def read_pins(lock: Path) -> list[tuple[str, str]]:
    """`name==version` lines of a `pip freeze`-style lock; anything unpinned is an error."""
    pins = []
    for number, line in enumerate(lock.read_text(encoding="utf-8").splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        match = PIN.match(line)
        if not match:
            raise SystemExit(f"{lock}:{number}: not an exact pin: {line!r}")
        pins.append((match.group(1), match.group(2)))
    return pins


def read_allowlist(path: Path) -> list[Reviewed]:
    """The reviewed advisories; every entry must say whether the vulnerable code is reachable, and why."""
    data = tomli.loads(path.read_text(encoding="utf-8"))
    entries = []
    for number, raw in enumerate(data.get("advisory", []), 1):
        missing = {"package", "version", "id", "reachable", "reason"} - raw.keys()
        if missing or not str(raw.get("reason", "")).strip():
            raise SystemExit(f"{path}: advisory #{number} ({raw.get('id')}) lacks {sorted(missing) or ['a reason']}")
        entries.append(
            Reviewed(
                package=raw["package"],
                version=str(raw["version"]),
                id=raw["id"],
                aliases=frozenset(raw.get("aliases", [])),
                reachable=bool(raw["reachable"]),
                reason=raw["reason"].strip(),
                summary=raw.get("summary", ""),
            )
        )
    return entries


# --- sources of findings ------------------------------------------------------------------------


def pip_audit(lock: Path, service: str, osv_url: str | None) -> list[Finding]:
    """Run pip-audit on one lock file with one service; raise AuditUnavailable if it could not audit."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "audit.json"
        cmd = [str(PIP_AUDIT), "-r", str(lock), "--no-deps", "--disable-pip", "--progress-spinner", "off",
               "--vulnerability-service", service, "--format", "json", "--desc", "on", "--output", str(out)]
        if osv_url and service == "osv":
            cmd += ["--osv-url", osv_url]
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if proc.returncode not in (0, 1) or not out.exists():
            last = (proc.stderr.strip().splitlines() or ["(no output)"])[-1]
            raise AuditUnavailable(f"pip-audit -s {service}: {last[:300]}")
        report = json.loads(out.read_text(encoding="utf-8"))
    deps = report.get("dependencies", [])
    skipped = [d for d in deps if d.get("skip_reason")]
    if skipped:
        raise AuditUnavailable(
            f"pip-audit -s {service} could not audit {len(skipped)} of {len(deps)} packages "
            f"(first: {skipped[0]['skip_reason']})"
        )
    return [
        Finding(
            package=dep["name"],
            version=dep["version"],
            id=vuln["id"],
            aliases=frozenset(vuln.get("aliases", [])),
            fixed_in=tuple(vuln.get("fix_versions", [])),
            summary=_first_line(vuln.get("description", "")),
        )
        for dep in deps
        for vuln in dep.get("vulns", [])
    ]


def _osv_records(source: Path) -> Iterator[dict]:
    """Every OSV record in a zip or under a folder (.json, .yaml, .yml)."""

    def parse(name: str, text: bytes) -> dict | None:
        if name.endswith(".json"):
            return json.loads(text)
        if name.endswith((".yaml", ".yml")):
            return yaml.safe_load(io.BytesIO(text))
        return None

    if source.is_file() and zipfile.is_zipfile(source):
        with zipfile.ZipFile(source) as archive:
            for name in sorted(archive.namelist()):
                record = parse(name, archive.read(name))
                if isinstance(record, dict):
                    yield record
    elif source.is_dir():
        for path in sorted(source.rglob("*")):
            if path.is_file():
                record = parse(path.name, path.read_bytes())
                if isinstance(record, dict):
                    yield record
    else:
        raise AuditUnavailable(f"--osv-db {source}: neither a zip file nor a folder")


def _version(text: str) -> Version | None:
    try:
        return Version(text)
    except InvalidVersion:
        return None


def _in_range(version: Version, events: list[dict]) -> bool:
    """OSV's range evaluation: walk the events in version order ("0" first)."""

    def key(event: dict) -> Version:
        value = next(iter(event.values()))
        return Version("0") if value == "0" else (_version(value) or Version("0"))

    affected = False
    for event in sorted(events, key=key):
        if "introduced" in event and version >= key(event):
            affected = True
        elif ("fixed" in event and version >= key(event)) or ("last_affected" in event and version > key(event)):
            affected = False
    return affected


def osv_db(source: Path, pins: Iterable[tuple[str, str]]) -> list[Finding]:
    """Match the pins against an OSV export on disk; records of the same advisory are merged by alias."""
    by_name: dict[str, list[tuple[str, str]]] = {}
    for name, version in dict.fromkeys(pins):
        by_name.setdefault(canonicalize_name(name), []).append((name, version))
    found: dict[tuple[str, str], list[Finding]] = {}
    for record in _osv_records(source):
        if record.get("withdrawn"):
            continue
        for affected in record.get("affected", []):
            package = affected.get("package", {})
            if package.get("ecosystem") != "PyPI":
                continue
            for name, version in by_name.get(canonicalize_name(package.get("name", "")), []):
                parsed = _version(version)
                listed = version in affected.get("versions", [])
                ranges = [r for r in affected.get("ranges", []) if r.get("type") in ("ECOSYSTEM", "SEMVER")]
                if not (listed or (parsed and any(_in_range(parsed, r.get("events", [])) for r in ranges))):
                    continue
                finding = Finding(
                    package=name,
                    version=version,
                    id=record["id"],
                    aliases=frozenset(record.get("aliases", [])),
                    fixed_in=tuple(e["fixed"] for r in ranges for e in r.get("events", []) if "fixed" in e),
                    summary=record.get("summary") or _first_line(record.get("details", "")),
                )
                same = found.setdefault((name, version), [])
                if not any(other.ids & finding.ids for other in same):
                    same.append(finding)
    return [finding for findings in found.values() for finding in findings]


def collect(locks: list[Path], services: list[str], osv_url: str | None, db: Path | None) -> list[Finding]:
    """Findings for every lock, from the OSV export if given, else from the first service that works."""
    pins = [pin for lock in locks for pin in read_pins(lock)]
    if db is not None:
        print(f"source: OSV export {db}")
        return osv_db(db, pins)
    problems = []
    for service in services:
        try:
            findings = [finding for lock in locks for finding in pip_audit(lock, service, osv_url)]
        except AuditUnavailable as exc:
            problems.append(str(exc))
            continue
        print(f"source: pip-audit --vulnerability-service {service}")
        return findings
    raise AuditUnavailable("\n  ".join(problems))


# --- report -------------------------------------------------------------------------------------


def _first_line(text: str) -> str:
    return next((line.strip() for line in text.splitlines() if line.strip()), "")


def _cve(finding: Finding) -> str:
    cves = sorted(alias for alias in finding.aliases if alias.startswith("CVE-"))
    return cves[0] if cves else ""


def report(findings: list[Finding], allowlist: list[Reviewed], pins: int) -> int:
    """Print every finding with its review; return the exit status."""
    unreviewed: list[Finding] = []
    rows = []
    for finding in sorted(findings, key=lambda f: (canonicalize_name(f.package), f.id)):
        review = next((entry for entry in allowlist if entry.covers(finding)), None)
        if review is None:
            unreviewed.append(finding)
            status = "NOT REVIEWED"
        else:
            review.matched = True
            status = "reachable" if review.reachable else "not reachable"
        rows.append((f"{finding.package}=={finding.version}", finding.id, _cve(finding),
                     ",".join(finding.fixed_in) or "-", status, finding.summary[:70]))
    packages = sorted({canonicalize_name(f.package) for f in findings})
    print(f"{len(findings)} known advisories in {len(packages)} of {pins} pinned packages: {', '.join(packages)}")
    if rows:
        widths = [max(len(row[i]) for row in rows) for i in range(5)]
        for row in rows:
            print("  " + "  ".join(cell.ljust(width) for cell, width in zip(row[:5], widths, strict=True)), row[5])
    reachable = [entry for entry in allowlist if entry.matched and entry.reachable]
    for entry in reachable:
        print(f"\nREACHABLE, accepted: {entry.package} {entry.id}: {entry.reason}")
    stale = [entry for entry in allowlist if not entry.matched]
    if stale:
        print(f"\n{len(stale)} reviewed advisories were not reported by this source (fixed, or not in its data):")
        for entry in stale:
            print(f"  {entry.package}=={entry.version} {entry.id}")
    if unreviewed:
        print(f"\nFAIL: {len(unreviewed)} advisories are not reviewed. Read each one, then add to "
              "security/advisories.toml:")
        for finding in unreviewed:
            aliases = ", ".join(f'"{a}"' for a in sorted(finding.aliases))
            print(f'\n[[advisory]]\npackage = "{finding.package}"\nversion = "{finding.version}"\n'
                  f'id = "{finding.id}"\naliases = [{aliases}]\nsummary = "{finding.summary[:100]}"\n'
                  'reachable = ?  # true or false\nreason = "?"  # which code path, and why it is (not) used here')
        return 1
    print("\nOK: every advisory is reviewed in security/advisories.toml.")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lock", type=Path, action="append", help="pinned requirements (repeatable)")
    parser.add_argument("--allowlist", type=Path, default=ROOT / "security" / "advisories.toml")
    parser.add_argument("--service", default="pypi,osv", help="pip-audit services to try in order (pypi, osv, esms)")
    parser.add_argument("--osv-url", default=None, help="an OSV API mirror for the osv service")
    parser.add_argument("--osv-db", type=Path, default=None, help="audit offline against an OSV export (zip or folder)")
    args = parser.parse_args(argv)
    locks = args.lock or [ROOT / "requirements.lock"]
    allowlist = read_allowlist(args.allowlist)
    pins = sum(len(read_pins(lock)) for lock in locks)
    print(f"auditing {pins} pins in {', '.join(str(lock) for lock in locks)}")
    try:
        findings = collect(locks, [s.strip() for s in args.service.split(",") if s.strip()], args.osv_url, args.osv_db)
    except AuditUnavailable as exc:
        print(f"ERROR: the audit could not run, so nothing is known to be clean:\n  {exc}\n"
              f"Reach PyPI's JSON API or api.osv.dev, or give an OSV mirror (AUDIT_OSV_URL=...) or an OSV "
              f"export on disk (AUDIT_OSV_DB=path/to/PyPI-all.zip). {len(allowlist)} advisories are reviewed "
              f"in {args.allowlist}; docs/security.md lists them.", file=sys.stderr)
        return 2
    return report(findings, allowlist, pins)


if __name__ == "__main__":
    sys.exit(main())
