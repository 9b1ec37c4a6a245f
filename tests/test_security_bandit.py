"""bandit over the project's packages: every finding is either fixed or written down with its reason
in bandit.toml (written-down findings that no longer occur are reported for tidying)."""
from __future__ import annotations

import json
import subprocess
import sys
import tomllib

from conftest import ROOT

PACKAGES = ("kiosk", "devices", "offline_queue", "backend", "screens")


def test_bandit_finds_nothing_that_is_not_accepted_with_a_reason(tmp_path):
    config = ROOT / "bandit.toml"
    accepted = tomllib.loads(config.read_text(encoding="utf-8"))["accepted"]
    assert all(entry.get("reason", "").strip() for entry in accepted), "every accepted finding says why"
    report = tmp_path / "bandit.json"
    proc = subprocess.run([sys.executable, "-m", "bandit", "-q", "-c", str(config), "-r", *PACKAGES,
                           "-f", "json", "-o", str(report)], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode in (0, 1), proc.stderr[-2000:]
    data = json.loads(report.read_text(encoding="utf-8"))
    assert data["errors"] == [], data["errors"]
    found = {(r["test_id"], r["filename"].removeprefix("./")) for r in data["results"]}
    listed = {(entry["test"], entry["file"]) for entry in accepted}
    new = sorted(f"{test} {file}: " + next(r["issue_text"] for r in data["results"]
                                          if (r["test_id"], r["filename"].removeprefix("./")) == (test, file))
                 for test, file in found - listed)
    assert new == [], "fix these or accept them in bandit.toml with a reason:\n" + "\n".join(new)
    stale = sorted(f"{test} {file}" for test, file in listed - found)
    if stale:  # code changed under an accepted finding: worth tidying, not worth a red suite
        print("bandit no longer finds these; remove them from bandit.toml:\n" + "\n".join(stale))
