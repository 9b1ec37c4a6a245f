"""One diagnostic check and the runner that gives every check its own deadline.

A check is a function returning a ``CheckResult``. ``run_checks`` starts them all at once, each in
a daemon thread, and waits for each only until its deadline: a device that never answers is
reported as "no answer within N s" instead of making the technician wait for its driver's own
(much longer) timeouts. An abandoned thread finishes or dies with the process; it never blocks it.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable

OK, WARN, FAIL, SKIP = "ok", "warn", "fail", "skip"
STATUSES = (OK, WARN, FAIL, SKIP)


@dataclass
class CheckResult:
    """What one check found: ``status`` is ok, warn, fail or skip (not applicable here)."""

    name: str
    status: str
    summary_en: str
    summary_zh: str = ""
    data: dict[str, Any] = field(default_factory=dict)
    group: str = ""
    seconds: float = 0.0

    @property
    def well(self) -> bool:
        """All is well: ok, or a check that does not apply to this kiosk."""
        return self.status in (OK, SKIP)

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "group": self.group, "status": self.status, "summary_en": self.summary_en,
                "summary_zh": self.summary_zh, "seconds": round(self.seconds, 3), "data": self.data}


@dataclass(frozen=True)
class Check:
    """A named check with its own deadline in seconds."""

    name: str
    group: str
    run: Callable[[], CheckResult]
    timeout: float


def run_one(check: Check) -> CheckResult:
    """Run one check in the calling thread; an exception becomes a failed result (its type and message)."""
    started = time.monotonic()
    try:
        result = check.run()
    except Exception as exc:  # a check's bug or a driver's surprise is a finding, not a crash
        result = CheckResult(check.name, FAIL, f"{type(exc).__name__}: {exc}", f"检查出错：{type(exc).__name__}")
    result.name = result.name or check.name
    result.group = result.group or check.group
    result.seconds = time.monotonic() - started
    return result


def run_checks(checks: list[Check], clock: Callable[[], float] = time.monotonic) -> list[CheckResult]:
    """Run every check concurrently; a check still running at its deadline is reported as silent.

    Results come back in the order of ``checks``.
    """
    results: list[CheckResult | None] = [None] * len(checks)
    done = [threading.Event() for _ in checks]

    def worker(i: int, check: Check) -> None:
        results[i] = run_one(check)
        done[i].set()

    started = clock()
    for i, check in enumerate(checks):
        threading.Thread(target=worker, args=(i, check), name=f"check-{check.name}", daemon=True).start()
    out: list[CheckResult] = []
    for i, check in enumerate(checks):
        left = check.timeout - (clock() - started)
        if done[i].wait(max(0.0, left)) and results[i] is not None:
            out.append(results[i])  # type: ignore[arg-type]
        else:
            out.append(CheckResult(check.name, FAIL, f"no answer within {check.timeout:g} s",
                                   f"{check.timeout:g} 秒内无应答", {"timed_out": True}, check.group,
                                   clock() - started))
    return out


def overall_well(results: list[CheckResult]) -> bool:
    return all(r.well for r in results)
