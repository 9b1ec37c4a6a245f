"""Receipt numbers: ZW + kiosk number + YYMMDD + '-' + 8 random digits, unique by construction.

Unique across kiosks (the kiosk part), across days (the date) and within a kiosk's day (the
receipt book, a durable record checked before a number is shown), across restarts and a killed
process; unpredictable (the digits come from ``secrets``, not from a sequence).
"""
from __future__ import annotations

import os
import random
import re
import signal
import subprocess
import sys
from datetime import date, datetime

import pytest

from conftest import ROOT
from kiosk.qr_content import interpret, parse_receipt_no, receipt_parts, receipt_qr_text
from kiosk.submission import ReceiptBook, new_receipt_no, use_receipt_book

NOW = datetime(2026, 12, 1, 9, 30)
SHAPE = re.compile(r"ZW0042261201-[0-9]{8}")


class Replaying:
    """A seeded source that gives the same draws to two kiosks (or after a restart), as a broken RNG would."""

    def __init__(self, seed: int) -> None:
        self._random = random.Random(seed)

    def randbelow(self, n: int) -> int:
        return self._random.randrange(n)


class Few:
    """A seeded source with only ``k`` values: collisions are certain, so only the record keeps numbers apart."""

    def __init__(self, k: int, seed: int = 7) -> None:
        self._random, self.k, self.draws = random.Random(seed), k, 0

    def randbelow(self, n: int) -> int:
        self.draws += 1
        return self._random.randrange(self.k)


@pytest.fixture
def book(tmp_path):
    b = ReceiptBook(tmp_path / "data" / "receipts.db", 42)
    yield b
    b.close()


def test_shape_kiosk_part_and_date(book):
    number = book.issue(NOW)
    assert SHAPE.fullmatch(number), number
    parts = receipt_parts(number)
    assert (parts.issuer, parts.day) == (42, date(2026, 12, 1)) and number.endswith(parts.suffix)
    assert parse_receipt_no(number) == number
    base = "https://zwfw.example.gov.cn"
    assert interpret(receipt_qr_text(number, base), base).receipt_no == number
    assert interpret(number, None).receipt_no == number


def test_two_kiosks_never_share_a_number_even_with_the_same_draws(tmp_path):
    a = ReceiptBook(tmp_path / "a.db", 1, rng=Replaying(5))
    b = ReceiptBook(tmp_path / "b.db", 2, rng=Replaying(5))
    numbers_a = {a.issue(NOW) for _ in range(60)}
    numbers_b = {b.issue(NOW) for _ in range(60)}
    assert len(numbers_a) == len(numbers_b) == 60 and not numbers_a & numbers_b
    assert {receipt_parts(n).suffix for n in numbers_a} == {receipt_parts(n).suffix for n in numbers_b}


def test_many_numbers_in_a_day_are_unique(book):
    numbers = [book.issue(NOW) for _ in range(500)]
    assert len(set(numbers)) == 500 and all(SHAPE.fullmatch(n) for n in numbers)
    assert book.issued_on(NOW.date()) == set(numbers)


def test_a_taken_number_is_drawn_again(tmp_path):
    few = ReceiptBook(tmp_path / "few.db", 42, rng=Few(30))
    numbers = [few.issue(NOW) for _ in range(30)]
    assert len(set(numbers)) == 30  # every one of the 30 possible numbers, none twice
    with pytest.raises(RuntimeError, match="no free receipt number"):
        few.issue(NOW)
    assert few.issue(datetime(2026, 12, 2, 8, 0)).startswith("ZW0042261202-")  # a new day starts afresh


def test_unique_across_a_restart(tmp_path):
    path = tmp_path / "receipts.db"
    first = ReceiptBook(path, 42, rng=Few(1000, seed=1))
    before = [first.issue(NOW) for _ in range(150)]
    first.close()
    source = Few(1000, seed=2)
    second = ReceiptBook(path, 42, rng=source)  # a new run that knows nothing but the record on disk
    after = [second.issue(NOW) for _ in range(150)]
    second.close()
    assert len(set(before + after)) == 300
    assert source.draws > 150 + 10  # its draws hit the first run's numbers often; the record caught each


CHILD = r"""
import random, sys
from datetime import datetime
from kiosk.submission import ReceiptBook

class Few:
    def __init__(self, k, seed): self._random, self.k = random.Random(seed), k
    def randbelow(self, n): return self._random.randrange(self.k)

book = ReceiptBook(sys.argv[1], 42, rng=Few(1000, 3))
while True:
    number = book.issue(datetime(2026, 12, 1, 9, 30))
    sys.stdout.write(number + "\n")  # shown only once issue() returned: the number is on disk
    sys.stdout.flush()
"""


def test_unique_across_a_killed_process(tmp_path):
    path = tmp_path / "receipts.db"
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(path)], stdout=subprocess.PIPE, text=True,
                             cwd=ROOT)
    shown = []
    try:
        while len(shown) < 150:
            line = child.stdout.readline()
            assert line, "the issuing process ended early"
            shown.append(line.strip())
    finally:
        os.kill(child.pid, signal.SIGKILL)  # mid-issue, as a power cut would stop it
        child.wait(timeout=30)
        child.stdout.close()
    source = Few(1000, seed=4)
    again = ReceiptBook(path, 42, rng=source)  # the kiosk starts again after the cut
    later = [again.issue(NOW) for _ in range(200)]
    again.close()
    assert len(set(shown)) == 150 and not set(shown) & set(later) and len(set(later)) == 200
    assert source.draws > 200 + 20  # it drew numbers shown before the kill, and the record refused them


def test_consecutive_numbers_do_not_reveal_the_next(book):
    suffixes = [int(receipt_parts(book.issue(NOW)).suffix) for _ in range(200)]
    steps = [b - a for a, b in zip(suffixes, suffixes[1:])]
    rising = sum(step > 0 for step in steps)
    assert 50 < rising < 150  # about half: no order to follow
    assert len(set(steps)) > 190  # no fixed stride
    assert len({s // 10**7 for s in suffixes}) == 10  # every leading digit: the whole range is used
    assert sum(abs(step) < 10_000 for step in steps) < 5  # a neighbour of the last number is no better guess


def test_the_digits_come_from_secrets(tmp_path, monkeypatch):
    import secrets

    draws = iter([12345678, 87654321])
    monkeypatch.setattr(secrets, "randbelow", lambda n: next(draws))
    book = ReceiptBook(tmp_path / "r.db", 7)
    assert [book.issue(NOW), book.issue(NOW)] == ["ZW0007261201-12345678", "ZW0007261201-87654321"]


@pytest.mark.parametrize("number", [0, 10000, -1, True, 4.2, "42"])
def test_kiosk_number_range(tmp_path, number):
    with pytest.raises(ValueError, match="1-9999"):
        ReceiptBook(tmp_path / "r.db", number)


def test_the_record_is_private_and_holds_no_personal_data(book, tmp_path):
    book.issue(NOW)
    path = tmp_path / "data" / "receipts.db"
    assert path.stat().st_mode & 0o077 == 0 and path.parent.stat().st_mode & 0o077 == 0


def test_new_receipt_no_uses_the_book_the_kiosk_opened(tmp_path):
    book = ReceiptBook(tmp_path / "r.db", 9999)
    use_receipt_book(None)
    with pytest.raises(RuntimeError, match="no receipt book"):
        new_receipt_no(NOW)
    use_receipt_book(book)
    try:
        number = new_receipt_no(NOW)
    finally:
        use_receipt_book(None)
        book.close()
    assert number.startswith("ZW9999261201-") and book.issued_on(NOW.date()) == {number}


def test_a_failing_disk_still_gives_a_random_number(tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    book = ReceiptBook(blocker / "receipts.db", 42)
    number = new_receipt_no(NOW, book=book)
    assert SHAPE.fullmatch(number)
