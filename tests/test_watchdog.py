"""The watchdog's notifier outside the UI, and what reaches journald (the UI test is test_watchdog_ui.py)."""
from __future__ import annotations

import os
import subprocess
import sys

from conftest import ROOT
from kiosk.watchdog import Watchdog, _ping_interval


def test_outside_systemd_everything_is_a_no_op():
    wd = Watchdog(env={})
    assert not wd.enabled
    wd.ready()
    wd.ping()


def test_ping_interval_is_half_the_watchdog_period_and_only_for_this_process():
    assert _ping_interval({"WATCHDOG_USEC": "20000000"}) == 10.0
    assert _ping_interval({"WATCHDOG_USEC": "20000000", "WATCHDOG_PID": str(os.getpid())}) == 10.0
    assert _ping_interval({"WATCHDOG_USEC": "20000000", "WATCHDOG_PID": "1"}) is None
    assert _ping_interval({"WATCHDOG_USEC": "0"}) is None
    assert _ping_interval({}) is None


def test_under_systemd_stderr_log_lines_are_redacted_with_priorities(tmp_path):
    """What reaches journald from `kiosk …` under systemd: masked, traceback included."""
    code = (
        "import logging, os, sys\n"
        "logging.basicConfig(level=logging.INFO)\n"
        "from kiosk.operate.journal import install_journal_logging\n"
        "assert not install_journal_logging()  # JOURNAL_STREAM names another stream\n"
        "st = os.fstat(2)\n"
        "os.environ['JOURNAL_STREAM'] = f'{st.st_dev}:{st.st_ino}'  # as systemd sets it\n"
        "assert install_journal_logging()\n"
        "log = logging.getLogger('kiosk.test')\n"
        "log.info('card 11010519491231002X read for 13812345678')\n"
        "try:\n"
        "    raise ValueError('bad number 11010519491231002X')\n"
        "except ValueError:\n"
        "    log.exception('failed')\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60,
                          env=dict(os.environ, JOURNAL_STREAM="8:1234"))
    assert proc.returncode == 0, proc.stderr
    assert "11010519491231002X" not in proc.stderr and "13812345678" not in proc.stderr
    assert "<6>kiosk.test: card 110105********002X read for 138****5678" in proc.stderr
    assert "<3>kiosk.test: failed" in proc.stderr and "<3>ValueError: bad number 110105********002X" in proc.stderr
