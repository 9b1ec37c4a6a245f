"""The print ledger: an append-only, hash-chained record of every certificate printed here.

One JSON line per print in ``DATA_DIR/ledger/print-ledger.jsonl``::

    {seq, at, kiosk_id, certificate_id, document_sha256, pages, printer, result, subject,
     prev_hash, hash}

``hash`` is SHA-256 over the canonical JSON (sorted keys, no spaces, UTF-8) of the entry without
``hash``; ``prev_hash`` is the previous entry's hash (64 zeros for the first). Editing a field,
deleting, reordering or duplicating a line, or cutting a hash short breaks the chain at a
nameable entry, and anyone can check it with no secret (``kiosk ledger verify``).

A chain alone cannot show that its *last* entries were cut off, nor that someone rewrote it whole.
So after each append the head (seq and hash) is sealed with an HMAC under the kiosk's ledger key
(``head.json``); the key file lives outside the data folder, so neither attack can be hidden
without it. An append interrupted by a power cut leaves at most one unsealed entry or one torn,
unacknowledged line; the next append reseals or trims it, and verify says which.

``subject`` is HMAC-SHA256 of the citizen's ID number under a key derived from the same key file:
the same person maps to the same subject on this kiosk (so their prints can be found), and the
file holds no personal data in clear. Appends from several processes are serialised with a file
lock; each line is fsynced before ``append`` returns.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import re
import stat
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Callable, Iterator

from offline_queue.durable import folder_lock, fsync_dir, replace_file

log = logging.getLogger(__name__)

GENESIS = "0" * 64
FIELDS = ("seq", "at", "kiosk_id", "certificate_id", "document_sha256", "pages", "printer", "result",
          "subject", "prev_hash", "hash")
KEY_BYTES = 32
LEDGER_FILE = "print-ledger.jsonl"
HEAD_FILE = "head.json"
_HEX64 = re.compile(r"[0-9a-f]{64}")


class LedgerError(Exception):
    """The ledger cannot be written or read as asked; the message says why in one line."""


def canonical(entry: dict[str, Any]) -> bytes:
    return json.dumps(entry, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def entry_hash(entry: dict[str, Any]) -> str:
    return hashlib.sha256(canonical({k: v for k, v in entry.items() if k != "hash"})).hexdigest()


# -- the key --------------------------------------------------------------------------------------


def _inside(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder.resolve())
    except ValueError:
        return False
    return True


def read_key(key_file: Path) -> bytes:
    """Read the ledger key; FileNotFoundError when there is none, LedgerError when it is unsafe."""
    st = os.stat(key_file)
    if not stat.S_ISREG(st.st_mode):
        raise LedgerError(f"ledger key {key_file} is not a regular file")
    if st.st_mode & 0o077:
        raise LedgerError(f"ledger key {key_file} has mode {stat.S_IMODE(st.st_mode):04o}; it must be 0600")
    key = Path(key_file).read_bytes()
    if len(key) != KEY_BYTES:
        raise LedgerError(f"ledger key {key_file} holds {len(key)} bytes, not {KEY_BYTES}")
    return key


def load_or_create_key(key_file: Path) -> bytes:
    try:
        return read_key(key_file)
    except FileNotFoundError:
        pass
    key_file.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = key_file.with_name(f".{key_file.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, os.urandom(KEY_BYTES))
        os.fsync(fd)
    finally:
        os.close(fd)
    try:
        os.link(tmp, key_file)  # another process may have made one first: then theirs wins
    except FileExistsError:
        pass
    finally:
        os.unlink(tmp)
    fsync_dir(key_file.parent)
    return read_key(key_file)


def _derive(key: bytes, purpose: str) -> bytes:
    return hmac.new(key, f"kiosk-ledger/{purpose}/v1".encode(), hashlib.sha256).digest()


def _seal(key: bytes, seq: int, head_hash: str) -> str:
    return hmac.new(_derive(key, "head"), f"{seq}:{head_hash}".encode(), hashlib.sha256).hexdigest()


# -- verification results ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    seq: int  # the first entry that cannot be trusted (the line's expected seq)
    line: int
    kind: str  # unreadable, fields, sequence, chain, hash, torn, head
    message: str


@dataclass(frozen=True)
class VerifyReport:
    entries: int
    head_hash: str
    problem: Problem | None
    sealed: bool  # the head seal was checked (the key was available)
    note: str = ""

    @property
    def ok(self) -> bool:
        return self.problem is None

    def as_dict(self) -> dict[str, Any]:
        p = self.problem
        return {"ok": self.ok, "entries": self.entries, "head_hash": self.head_hash, "sealed": self.sealed,
                "note": self.note,
                "problem": None if p is None else {"seq": p.seq, "line": p.line, "kind": p.kind,
                                                   "message": p.message}}


# -- the ledger -------------------------------------------------------------------------------------


class PrintLedger:
    def __init__(self, data_dir: str | os.PathLike, key_file: str | os.PathLike, *, kiosk_id: str = "",
                 clock: Callable[[], float] = time.time) -> None:
        self.folder = Path(data_dir) / "ledger"
        self.path = self.folder / LEDGER_FILE
        self.head_path = self.folder / HEAD_FILE
        self.key_file = Path(key_file).expanduser().absolute()
        self.kiosk_id = kiosk_id
        self._clock = clock
        self._key: bytes | None = None
        if _inside(self.key_file, Path(data_dir)):
            raise LedgerError(f"ledger key {self.key_file} must be outside the data folder {data_dir}")

    def _writable_key(self) -> bytes:
        if self._key is None:
            self._key = load_or_create_key(self.key_file)
        return self._key

    def subject_of(self, id_number: str) -> str:
        """The pseudonym of an ID number on this kiosk (to find a person's prints)."""
        number = (id_number or "").strip().upper()
        if not number:
            raise LedgerError("an ID number is needed for the ledger subject")
        return hmac.new(_derive(self._writable_key(), "subject"), number.encode(), hashlib.sha256).hexdigest()

    # -- append --------------------------------------------------------------------------------

    def append(self, *, certificate_id: str, document: bytes, pages: int, printer: str, result: str,
               id_number: str) -> dict[str, Any]:
        """Record one print; returns the entry once it is on disk (fsynced)."""
        if not certificate_id or not isinstance(pages, int) or pages < 0 or not result:
            raise LedgerError("a ledger entry needs a certificate id, a page count and a result")
        subject = self.subject_of(id_number)
        key = self._writable_key()
        self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        with folder_lock(self.folder / "ledger.lock"):
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600)
            try:
                last = self._last_entry(fd, key)
                entry: dict[str, Any] = {
                    "seq": last["seq"] + 1 if last else 1,
                    "at": datetime.fromtimestamp(self._clock()).astimezone().isoformat(timespec="milliseconds"),
                    "kiosk_id": self.kiosk_id,
                    "certificate_id": str(certificate_id),
                    "document_sha256": hashlib.sha256(document).hexdigest(),
                    "pages": pages,
                    "printer": printer,
                    "result": result,
                    "subject": subject,
                    "prev_hash": last["hash"] if last else GENESIS,
                }
                entry["hash"] = entry_hash(entry)
                line = canonical(entry) + b"\n"
                if os.write(fd, line) != len(line):
                    raise LedgerError(f"short write to {self.path} (disk full?)")
                os.fsync(fd)
            finally:
                os.close(fd)
            if entry["seq"] == 1:
                fsync_dir(self.folder)
            self._write_head(key, entry["seq"], entry["hash"])
        return entry

    def _last_entry(self, fd: int, key: bytes) -> dict[str, Any] | None:
        """The last whole entry; a torn line from an interrupted, never-sealed append is trimmed."""
        size = os.fstat(fd).st_size
        if size == 0:
            return None
        tail = b""
        pos = size
        while pos > 0 and tail.count(b"\n") < 2:
            step = min(65536, pos)
            pos -= step
            tail = os.pread(fd, step, pos) + tail
        if not tail.endswith(b"\n"):
            cut = tail.rfind(b"\n") + 1  # where the torn line starts, relative to pos
            previous = self._parse_last(tail[:cut]) if cut else None
            head = self._read_head()
            sealed_seq = head.get("seq") if head else 0
            if (previous["seq"] if previous else 0) != sealed_seq or (
                    head and not hmac.compare_digest(str(head.get("mac", "")), _seal(key, head["seq"], head["hash"]))):
                raise LedgerError(f"{self.path} ends in an incomplete line that was sealed or follows unsealed "
                                  f"entries; run 'kiosk ledger verify'")
            log.warning("print ledger: trimming a torn line left by an interrupted append (%d bytes)",
                        len(tail) - cut)
            os.ftruncate(fd, pos + cut)
            os.fsync(fd)
            return previous
        return self._parse_last(tail)

    def _parse_last(self, tail: bytes) -> dict[str, Any] | None:
        lines = tail.rstrip(b"\n").rsplit(b"\n", 1)
        if not lines[-1]:
            return None
        try:
            last = json.loads(lines[-1])
            if (not isinstance(last, dict) or not isinstance(last.get("seq"), int)
                    or entry_hash(last) != last.get("hash")):
                raise ValueError
        except ValueError:
            raise LedgerError(f"the last entry of {self.path} is damaged; run 'kiosk ledger verify'") from None
        return last

    def _read_head(self) -> dict[str, Any] | None:
        try:
            head = json.loads(self.head_path.read_text())
        except FileNotFoundError:
            return None
        except (OSError, ValueError):
            return {}
        return head if isinstance(head, dict) else {}

    def _write_head(self, key: bytes, seq: int, head_hash: str) -> None:
        body = json.dumps({"seq": seq, "hash": head_hash, "mac": _seal(key, seq, head_hash)}).encode()
        replace_file(self.head_path, body)

    # -- reading ---------------------------------------------------------------------------------

    def exists(self) -> bool:
        return self.path.exists() or self.head_path.exists()

    def lines(self) -> Iterator[tuple[int, bytes]]:
        """(line number, raw line) pairs; a missing ledger has none."""
        try:
            fh = open(self.path, "rb")
        except FileNotFoundError:
            return
        with fh:
            for number, raw in enumerate(fh, 1):
                yield number, raw

    def entries(self) -> list[dict[str, Any] | None]:
        """Every line as an entry, or None where a line is not a JSON object (for ``show``)."""
        out: list[dict[str, Any] | None] = []
        for _, raw in self.lines():
            try:
                item = json.loads(raw)
            except ValueError:
                item = None
            out.append(item if isinstance(item, dict) else None)
        return out

    # -- verification ------------------------------------------------------------------------------

    def verify(self) -> VerifyReport:
        """Walk the chain; report the first entry that breaks it, then check the sealed head."""
        prev, seq, hashes = GENESIS, 0, [GENESIS]
        torn: Problem | None = None
        for number, raw in self.lines():
            expected = seq + 1
            problem = self._check_line(number, raw, expected, prev)
            if problem is not None and problem.kind == "torn":
                torn = problem  # judged against the seal below: an interrupted append, or a cut
                break
            if problem is not None:
                return VerifyReport(seq, prev, problem, sealed=False)
            prev = json.loads(raw)["hash"]
            hashes.append(prev)
            seq = expected
        report = self._check_head(seq, prev, hashes)
        if torn is None or not report.ok:
            return report
        if report.sealed and not report.note:
            return VerifyReport(seq, prev, None, sealed=True,
                                note=f"line {torn.line} is a torn write of an interrupted append; "
                                     f"the next append trims it")
        return VerifyReport(seq, prev, torn, sealed=report.sealed)

    @staticmethod
    def _check_line(number: int, raw: bytes, expected: int, prev: str) -> Problem | None:
        def bad(kind: str, message: str) -> Problem:
            return Problem(expected, number, kind, f"entry {expected} (line {number}): {message}")

        if not raw.endswith(b"\n"):
            return bad("torn", "the last line is incomplete (an interrupted append, or cut off)")
        try:
            entry = json.loads(raw)
        except ValueError:
            return bad("unreadable", "not valid JSON")
        if not isinstance(entry, dict) or set(entry) != set(FIELDS):
            have = sorted(entry) if isinstance(entry, dict) else type(entry).__name__
            return bad("fields", f"fields are {have}, not the ledger's")
        if entry["seq"] != expected:
            got = entry["seq"]
            if isinstance(got, int) and got > expected:
                return bad("sequence", f"found seq {got} where entry {expected} belongs "
                                       f"(entries deleted or reordered)")
            return bad("sequence", f"found seq {got!r}: entries are out of order or duplicated")
        if entry["prev_hash"] != prev:
            return bad("chain", f"prev_hash does not match entry {expected - 1} "
                                f"(that entry was changed, or lines were reordered)")
        if not isinstance(entry["hash"], str) or not _HEX64.fullmatch(entry["hash"]):
            return bad("hash", "the hash is not 64 hex digits (cut short or edited)")
        if entry_hash(entry) != entry["hash"]:
            return bad("hash", "its content does not match its hash (a field was edited)")
        return None

    def _check_head(self, entries: int, last_hash: str, hashes: list[str]) -> VerifyReport:
        try:
            key = read_key(self.key_file)
        except FileNotFoundError:
            return VerifyReport(entries, last_hash, None, sealed=False,
                                note=f"chain intact; head seal not checked (no ledger key at {self.key_file})")

        def report(problem_seq: int | None = None, message: str = "", note: str = "") -> VerifyReport:
            problem = None if problem_seq is None else Problem(problem_seq, problem_seq, "head",
                                                               f"entry {problem_seq}: {message}")
            return VerifyReport(entries, last_hash, problem, sealed=True, note=note)

        head = self._read_head()
        if head is None:
            if entries == 0:
                return report()
            if entries == 1:
                return report(note="entry 1 was written but not sealed (interrupted append); the next append seals it")
            return report(entries, f"{HEAD_FILE} is missing but the ledger has {entries} entries")
        seq, head_hash, mac = head.get("seq"), head.get("hash"), head.get("mac")
        if (not isinstance(seq, int) or not isinstance(head_hash, str) or not isinstance(mac, str)
                or not hmac.compare_digest(mac, _seal(key, seq, head_hash))):
            return report(max(entries, 1), f"the seal in {HEAD_FILE} does not match "
                                           f"(the head was edited or the ledger rewritten)")
        if seq > entries:
            return report(entries + 1, f"entries {entries + 1}..{seq} are missing (the sealed head is entry {seq})")
        if hashes[seq] != head_hash:
            return report(seq, f"entry {seq} is not the entry that was sealed (the ledger was rewritten)")
        if entries == seq + 1:
            return report(note=f"entry {entries} was written but not sealed (interrupted append); "
                               f"the next append seals it")
        if entries > seq + 1:
            return report(seq + 1, f"entries {seq + 1}..{entries} were added after the sealed head {seq}")
        return report()


def ledger_key_file(outbox_key_file: Path) -> Path:
    """Where the ledger key lives: beside the outbox key (``paths.key_file``), outside the data folder."""
    return Path(outbox_key_file).with_name("ledger.key")


def open_ledger(cfg) -> PrintLedger:
    """The kiosk's ledger from its configuration (``kiosk.config.Config``)."""
    return PrintLedger(cfg.paths.data_dir, ledger_key_file(cfg.paths.key_file), kiosk_id=cfg.kiosk.id)
