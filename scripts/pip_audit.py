"""`make lint`'s dependency audit: pip-audit of the locked dependencies, and a clear verdict.

pip-audit asks PyPI's JSON API for each locked release (``/pypi/<name>/<version>/json``, whose
``vulnerabilities`` are PyPI's advisory data). When it cannot reach that data it does not fail:
it lists every dependency as "not found on PyPI and could not be audited" and says "No known
vulnerabilities found" with exit status 0. This wrapper runs it with JSON output and fails
unless every locked dependency was checked:

* exit 0: every dependency audited, no known vulnerability (or only the ones in ``IGNORED``,
  each with the reason);
* exit 1: a known vulnerability;
* exit 2: some dependencies could not be audited (the advisory data was not reachable, or a
  release is not on PyPI): the dependencies are NOT audited, and it says so, naming how many,
  why, and what the advisory endpoint answered. ``PHT_PIP_AUDIT=warn`` turns this case into a
  loud warning with exit 0 (for a machine without access to PyPI's JSON API; see
  docs/identity.md).

Usage: ``python scripts/pip_audit.py REQUIREMENTS`` (``make lint`` exports them from uv.lock).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

#: Advisories accepted for now, each with why (none today).
IGNORED: dict[str, str] = {}
ADVISORY_URL = "https://pypi.org/pypi/{name}/{version}/json"


def probe(name: str, version: str, timeout: float = 10.0) -> str:
    """What PyPI's per-release JSON endpoint answers for one dependency (for the message)."""
    url = ADVISORY_URL.format(name=name, version=version)
    try:
        with urllib.request.urlopen(url, timeout=timeout) as answer:
            return f"{url} answered {answer.status}"
    except urllib.error.HTTPError as err:
        return f"{url} answered {err.code}"
    except (urllib.error.URLError, OSError) as err:
        return f"{url} could not be reached ({getattr(err, 'reason', err)})"


def verdict(report: dict[str, Any], *, warn_only: bool, probe_result: str = "") -> tuple[int, str]:
    """The exit status and the message for pip-audit's JSON *report*."""
    deps = report.get("dependencies", [])
    skipped = [d for d in deps if "skip_reason" in d]
    found = [
        (d["name"], d["version"], v["id"])
        for d in deps
        for v in d.get("vulns", [])
        if v["id"] not in IGNORED and not set(v.get("aliases", [])) & set(IGNORED)
    ]
    lines: list[str] = []
    status = 0
    if found:
        status = 1
        lines.append(f"pip-audit: {len(found)} known vulnerabilities in the locked dependencies:")
        lines += [f"  {name} {version}: {vid}" for name, version, vid in found]
    for vid, why in IGNORED.items():
        lines.append(f"pip-audit: ignoring {vid}: {why}")
    if skipped:
        first = skipped[0]["skip_reason"]
        lines += [
            f"pip-audit: {len(skipped)} of {len(deps)} locked dependencies were NOT audited: "
            "PyPI's advisory data could not be fetched for them.",
            f"  first: {first}",
        ]
        if probe_result:
            lines.append(f"  probe: {probe_result}")
        lines.append(
            "  The audit is incomplete (pip-audit itself would report 'No known "
            "vulnerabilities found'). Run `make lint` where https://pypi.org/pypi/<name>/"
            "<version>/json is reachable; docs/identity.md."
        )
        if warn_only:
            lines.append("  PHT_PIP_AUDIT=warn: not failing on it.")
        elif not status:
            status = 2
    if not found and not skipped:
        lines.append(f"pip-audit: {len(deps)} locked dependencies audited, no known vulnerability")
    return status, "\n".join(lines)


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        sys.stderr.write(f"{__doc__}\n")
        return 2
    requirements = Path(argv[0])
    pip_audit = Path(sys.executable).with_name("pip-audit")
    run = subprocess.run(
        [
            str(pip_audit),
            "-r",
            str(requirements),
            "--no-deps",
            "--disable-pip",
            "--progress-spinner",
            "off",
            "-f",
            "json",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    try:
        report = json.loads(run.stdout)
    except json.JSONDecodeError:
        sys.stderr.write(run.stderr)
        sys.stderr.write(f"pip-audit failed (exit {run.returncode}) without a report\n")
        return run.returncode or 2
    skipped = [d for d in report.get("dependencies", []) if "skip_reason" in d]
    probed = ""
    if skipped:
        versions = {
            line.split("==")[0].strip().lower(): line.split("==")[1].split(";")[0].strip()
            for line in requirements.read_text(encoding="utf-8").splitlines()
            if "==" in line and not line.lstrip().startswith("#")
        }
        name = skipped[0]["name"]
        probed = probe(name, versions.get(name.lower(), "0"))
    status, message = verdict(
        report, warn_only=os.environ.get("PHT_PIP_AUDIT") == "warn", probe_result=probed
    )
    (sys.stderr if status else sys.stdout).write(f"{message}\n")
    return status


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
