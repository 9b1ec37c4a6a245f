"""The counters as the running app keeps them: a citizen's certificate visit in the real UI (under
Xvfb, with the simulators) leaves a card read, an A4 page, a slip with its paper length, a session."""
from __future__ import annotations

import pytest

from kiosk.counters import Counters
from test_ui import run_scenario

pytestmark = pytest.mark.ui


def test_a_certificate_visit_is_counted(tmp_path, display):
    r = run_scenario("certificates", tmp_path, display)
    assert r["a4_printed"] >= 1 and r["slips"] >= 1
    counts = Counters(tmp_path / "data").all()
    assert counts["idcard.cards_read"] >= 1
    assert counts["document_printer.pages"] >= 1
    assert counts["receipt_printer.receipts"] >= 1
    assert counts["receipt_printer.paper_mm"] > 30 * counts["receipt_printer.receipts"]  # a slip is paper, not 0
    assert counts["kiosk.sessions"] >= 1
