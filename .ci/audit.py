"""Dependency audit for CI: pip-audit over the project's virtual environment, bounded in time.

Prints every known vulnerability. Exits 1 (which .ci/run reports without failing CI) only for an advisory that
has a fixed version to move to and is not listed in .ci/audit-ignore.txt (one advisory id per line, then why); an advisory with no fix is reported, not
failed on. pip-audit asks PyPI's vulnerability data over the network: if that cannot be reached, or the audit
runs past --timeout, CI says so and goes on (a hung audit must not hang CI).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timeout", type=float, default=300.0)
    args = parser.parse_args()
    ignore_file = ROOT / ".ci" / "audit-ignore.txt"
    ignored = {line.split()[0] for line in ignore_file.read_text().splitlines() if line.strip() and not line.startswith("#")} \
        if ignore_file.exists() else set()
    command = [sys.executable, "-m", "pip_audit", "--skip-editable", "--format", "json", "--progress-spinner", "off"]
    try:
        run = subprocess.run(command, capture_output=True, text=True, timeout=args.timeout)
    except subprocess.TimeoutExpired:
        print(f"audit: pip-audit ran past {args.timeout:g} s; not audited this time")
        return 0
    try:
        report = json.loads(run.stdout)
    except ValueError:
        print(f"audit: pip-audit could not run (exit {run.returncode}): {run.stderr.strip()[-500:]}")
        return 0
    findings = [(dep["name"], dep["version"], vuln) for dep in report.get("dependencies", []) for vuln in dep.get("vulns", [])]
    blocking = []
    for name, version, vuln in findings:
        fixes = ", ".join(vuln.get("fix_versions") or []) or "no fix yet"
        state = "ignored" if vuln["id"] in ignored else ("BLOCKS" if vuln.get("fix_versions") else "reported")
        print(f"audit: {name} {version}: {vuln['id']} (fixed in: {fixes}) [{state}]")
        if state == "BLOCKS":
            blocking.append(vuln["id"])
    print(f"audit: {len(report.get('dependencies', []))} packages, {len(findings)} known vulnerabilities, "
          f"{len(blocking)} with a fix to take")
    return 1 if blocking else 0


if __name__ == "__main__":
    sys.exit(main())
