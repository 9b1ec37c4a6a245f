"""The print ledger: chained appends, every kind of tampering found and named, no personal data."""
from __future__ import annotations

import json
import multiprocessing

import pytest

from conftest import run_kiosk
from kiosk.ledger import GENESIS, LedgerError, PrintLedger, entry_hash

ID_NUMBER = "11010519491231002X"
OTHER_ID = "440300199001011234"


@pytest.fixture
def dirs(tmp_path):
    return tmp_path / "data", tmp_path / "keys" / "ledger.key"


def make(dirs, **kw) -> PrintLedger:
    data, key = dirs
    return PrintLedger(data, key, kiosk_id="kiosk-007", **kw)


def fill(ledger: PrintLedger, n: int, id_number: str = ID_NUMBER) -> list[dict]:
    return [ledger.append(certificate_id=f"CERT-{i:04d}", document=f"%PDF-1.4 doc {i}".encode(), pages=1 + i % 3,
                          printer="cups://a4", result="completed" if i % 4 else "failed:media-empty",
                          id_number=id_number) for i in range(n)]


def lines(ledger: PrintLedger) -> list[str]:
    return ledger.path.read_text(encoding="utf-8").splitlines(keepends=True)


def rewrite(ledger: PrintLedger, new_lines: list[str]) -> None:
    ledger.path.write_text("".join(new_lines), encoding="utf-8")


def test_appends_chain_and_verify(dirs):
    ledger = make(dirs)
    entries = fill(ledger, 6)
    assert [e["seq"] for e in entries] == [1, 2, 3, 4, 5, 6]
    assert entries[0]["prev_hash"] == GENESIS
    for prev, entry in zip(entries, entries[1:]):
        assert entry["prev_hash"] == prev["hash"]
    for entry in entries:
        assert entry["hash"] == entry_hash(entry)
        assert set(entry) == {"seq", "at", "kiosk_id", "certificate_id", "document_sha256", "pages", "printer",
                              "result", "subject", "prev_hash", "hash"}
    report = ledger.verify()
    assert report.ok and report.sealed and report.entries == 6 and report.head_hash == entries[-1]["hash"]
    assert entries[4]["result"] == "failed:media-empty"
    # a new ledger object (another process, after a restart) continues the same chain
    more = make(dirs).append(certificate_id="CERT-X", document=b"x", pages=2, printer="sim://",
                             result="completed", id_number=ID_NUMBER)
    assert more["seq"] == 7 and more["prev_hash"] == entries[-1]["hash"]
    assert make(dirs).verify().ok


def test_no_personal_data_on_disk(dirs):
    ledger = make(dirs)
    fill(ledger, 3)
    ledger.append(certificate_id="CERT-Y", document=b"y", pages=1, printer="cups://a4", result="completed",
                  id_number=OTHER_ID)
    files = [p for p in ledger.folder.rglob("*") if p.is_file()]
    assert files
    for path in files:
        raw = path.read_bytes()
        for number in (ID_NUMBER, OTHER_ID, ID_NUMBER.lower(), ID_NUMBER[-8:], OTHER_ID[6:14]):
            assert number.encode() not in raw, f"{number} in {path.name}"
    subjects = [e["subject"] for e in ledger.entries()]
    assert subjects[0] == subjects[1] == subjects[2] == ledger.subject_of(ID_NUMBER.lower())
    assert subjects[3] != subjects[0]
    # the subject is keyed: another kiosk (another key) gives another pseudonym
    other = PrintLedger(dirs[0].parent / "other", dirs[0].parent / "otherkeys" / "ledger.key")
    assert other.subject_of(ID_NUMBER) != subjects[0]
    assert oct(ledger.key_file.stat().st_mode & 0o777) == "0o600"
    assert oct(ledger.path.stat().st_mode & 0o777) == "0o600"


def test_key_inside_data_folder_refused(tmp_path):
    with pytest.raises(LedgerError, match="outside the data folder"):
        PrintLedger(tmp_path / "data", tmp_path / "data" / "ledger.key")


def _edit_field(ledger):
    rows = lines(ledger)
    entry = json.loads(rows[2])
    entry["pages"] = 9
    rows[2] = json.dumps(entry, sort_keys=True, separators=(",", ":"), ensure_ascii=False) + "\n"
    rewrite(ledger, rows)


def _edit_and_rehash(ledger):
    rows = lines(ledger)
    entry = json.loads(rows[2])
    entry["certificate_id"] = "CERT-FORGED"
    entry["hash"] = entry_hash(entry)
    rows[2] = json.dumps(entry, sort_keys=True, separators=(",", ":"), ensure_ascii=False) + "\n"
    rewrite(ledger, rows)


def _delete_line(ledger):
    rows = lines(ledger)
    del rows[2]
    rewrite(ledger, rows)


def _reorder(ledger):
    rows = lines(ledger)
    rows[2], rows[3] = rows[3], rows[2]
    rewrite(ledger, rows)


def _truncate_hash(ledger):
    rows = lines(ledger)
    entry = json.loads(rows[2])
    entry["hash"] = entry["hash"][:40]
    rows[2] = json.dumps(entry, sort_keys=True, separators=(",", ":")) + "\n"
    rewrite(ledger, rows)


def _duplicate(ledger):
    rows = lines(ledger)
    rows.insert(3, rows[2])
    rewrite(ledger, rows)


def _garble(ledger):
    rows = lines(ledger)
    rows[2] = rows[2][:30] + "\n"
    rewrite(ledger, rows)


def _drop_field(ledger):
    rows = lines(ledger)
    entry = json.loads(rows[2])
    del entry["subject"]
    rows[2] = json.dumps(entry) + "\n"
    rewrite(ledger, rows)


def _cut_tail(ledger):
    rewrite(ledger, lines(ledger)[:-2])


def _rewrite_all(ledger):
    """Recompute the whole chain after an edit: only the keyed head seal can tell."""
    prev, out = GENESIS, []
    for row in lines(ledger):
        entry = json.loads(row)
        if entry["seq"] == 1:  # hide a failed print
            assert entry["result"] == "failed:media-empty"
            entry["result"] = "completed"
        entry["prev_hash"] = prev
        entry["hash"] = prev = entry_hash(entry)
        out.append(json.dumps(entry, sort_keys=True, separators=(",", ":"), ensure_ascii=False) + "\n")
    rewrite(ledger, out)


def _append_forged(ledger):
    last = json.loads(lines(ledger)[-1])
    forged = dict(last, seq=last["seq"] + 1, certificate_id="CERT-FAKE", prev_hash=last["hash"])
    forged["hash"] = entry_hash(forged)
    with open(ledger.path, "a") as fh:
        fh.write(json.dumps(forged, sort_keys=True, separators=(",", ":")) + "\n")
        fh.write(json.dumps(dict(forged, seq=forged["seq"] + 1, prev_hash=forged["hash"],
                                 hash=entry_hash(dict(forged, seq=forged["seq"] + 1, prev_hash=forged["hash"]))),
                            sort_keys=True, separators=(",", ":")) + "\n")


def _delete_file(ledger):
    ledger.path.unlink()


def _edit_head(ledger):
    head = json.loads(ledger.head_path.read_text())
    head["seq"] -= 1
    ledger.head_path.write_text(json.dumps(head))


TAMPERING = [
    (_edit_field, 3, "hash", "edited"),
    (_edit_and_rehash, 4, "chain", "changed"),
    (_delete_line, 3, "sequence", "deleted or reordered"),
    (_reorder, 3, "sequence", "deleted or reordered"),
    (_truncate_hash, 3, "hash", "64 hex"),
    (_duplicate, 4, "sequence", "duplicated"),
    (_garble, 3, "unreadable", "JSON"),
    (_drop_field, 3, "fields", "fields"),
    (_cut_tail, 5, "head", "missing"),
    (_rewrite_all, 6, "head", "seal"),
    (_append_forged, 7, "head", "added after"),
    (_delete_file, 1, "head", "missing"),
    (_edit_head, 6, "head", "seal"),
]


@pytest.mark.parametrize("tamper,seq,kind,words", TAMPERING, ids=[t[0].__name__.strip("_") for t in TAMPERING])
def test_every_tampering_is_found_and_named(dirs, tamper, seq, kind, words):
    ledger = make(dirs)
    fill(ledger, 6)
    assert ledger.verify().ok
    tamper(ledger)
    report = make(dirs).verify()
    assert not report.ok
    assert (report.problem.seq, report.problem.kind) == (seq, kind), report.problem
    assert words in report.problem.message
    # and the command line says so in one line, exit 4, naming the entry
    data, key = dirs
    done = run_kiosk("ledger", "verify", "--data-dir", str(data), "--key-file", str(key))
    assert done.returncode == 4, done.stderr
    assert done.stderr.count("\n") == 1 and f"entry {seq}" in done.stderr and "Traceback" not in done.stderr


def test_chain_is_checkable_without_the_key(dirs, tmp_path):
    ledger = make(dirs)
    fill(ledger, 4)
    auditor = PrintLedger(dirs[0], tmp_path / "no-key-here")
    report = auditor.verify()
    assert report.ok and not report.sealed and "not checked" in report.note
    _edit_field(ledger)
    assert auditor.verify().problem.seq == 3


def test_interrupted_append_is_benign(dirs):
    ledger = make(dirs)
    fill(ledger, 3)
    head = ledger.head_path.read_text()
    fill(ledger, 1)  # entry 4 written ...
    ledger.head_path.write_text(head)  # ... but the power went before its seal
    report = make(dirs).verify()
    assert report.ok and "not sealed" in report.note
    with open(ledger.path, "ab") as fh:  # a torn, unacknowledged fifth line is never left like this...
        fh.write(b'{"at":"2026')
    assert not make(dirs).verify().ok  # ... after an unsealed entry: verify refuses it
    with pytest.raises(LedgerError, match="incomplete line"):
        fill(ledger, 1)


def test_torn_last_line_is_trimmed_by_the_next_append(dirs):
    ledger = make(dirs)
    fill(ledger, 3)
    with open(ledger.path, "ab") as fh:
        fh.write(b'{"at":"2026-11-23T10:00:00.000+08:00","certif')
    report = make(dirs).verify()
    assert report.ok and "torn" in report.note
    entry = fill(ledger, 1)[0]
    assert entry["seq"] == 4
    assert make(dirs).verify().ok and len(lines(ledger)) == 4


def _append_many(args):
    data, key, worker, count = args
    ledger = PrintLedger(data, key, kiosk_id="kiosk-007")
    for i in range(count):
        ledger.append(certificate_id=f"W{worker}-{i}", document=b"%PDF", pages=1, printer="sim://",
                      result="completed", id_number=ID_NUMBER)


def test_concurrent_appends_from_processes_stay_one_chain(dirs):
    data, key = dirs
    make(dirs).subject_of(ID_NUMBER)  # create the key once, before the race
    # spawned, not forked: a fork copies the locks other threads of the test process hold (a logging
    # handler, a queue), and a child that needs one waits for ever (seen once in the full suite)
    with multiprocessing.get_context("spawn").Pool(4) as pool:
        pool.map(_append_many, [(data, key, w, 15) for w in range(4)])
    report = make(dirs).verify()
    assert report.ok and report.entries == 60
    assert sorted(e["certificate_id"] for e in make(dirs).entries()) == sorted(
        f"W{w}-{i}" for w in range(4) for i in range(15))


def test_bad_entries_refused(dirs):
    ledger = make(dirs)
    with pytest.raises(LedgerError):
        ledger.append(certificate_id="", document=b"", pages=1, printer="sim://", result="completed",
                      id_number=ID_NUMBER)
    with pytest.raises(LedgerError):
        ledger.append(certificate_id="C", document=b"", pages=1, printer="sim://", result="completed",
                      id_number=" ")
    assert not ledger.path.exists()


# -- the command line -----------------------------------------------------------------------------


def test_cli_verify_and_show(dirs):
    data, key = dirs
    ledger = make(dirs)
    fill(ledger, 3)
    done = run_kiosk("ledger", "verify", "--data-dir", str(data), "--key-file", str(key))
    assert done.returncode == 0, done.stderr
    assert "intact: 3 entries" in done.stdout and "seal checked" in done.stdout
    done = run_kiosk("ledger", "verify", "--data-dir", str(data), "--key-file", str(key), "--json")
    assert done.returncode == 0 and json.loads(done.stdout)["entries"] == 3
    done = run_kiosk("ledger", "show", "--data-dir", str(data), "--key-file", str(key), "--json")
    assert done.returncode == 0
    shown = json.loads(done.stdout)
    assert [e["certificate_id"] for e in shown] == ["CERT-0000", "CERT-0001", "CERT-0002"]
    done = run_kiosk("ledger", "show", "--data-dir", str(data), "--key-file", str(key), "--last", "1")
    assert done.returncode == 0 and "CERT-0002" in done.stdout and "CERT-0001" not in done.stdout
    assert ID_NUMBER not in done.stdout


def test_cli_defaults_come_from_the_configuration(dirs, tmp_path):
    data, key = dirs
    fill(PrintLedger(data, key.with_name("ledger.key")), 2)
    config = tmp_path / "kiosk.toml"
    config.write_text(f'[paths]\ndata_dir = "{data}"\nlog_dir = "{tmp_path / "log"}"\n'
                      f'key_file = "{key.with_name("outbox.key")}"\n')
    done = run_kiosk("--config", str(config), "ledger", "verify")
    assert done.returncode == 0 and "2 entries" in done.stdout and "seal checked" in done.stdout, done.stderr


def test_cli_no_ledger_and_bad_usage(tmp_path):
    done = run_kiosk("ledger", "verify", "--data-dir", str(tmp_path / "empty"), "--key-file", str(tmp_path / "k"))
    assert done.returncode == 3 and "no print ledger" in done.stderr
    done = run_kiosk("ledger", "show", "--data-dir", str(tmp_path), "--key-file", str(tmp_path / "k"),
                     "--last", "0")
    assert done.returncode == 2 and done.stderr.count("\n") == 1
    (tmp_path / "file").write_text("x")
    done = run_kiosk("ledger", "verify", "--data-dir", str(tmp_path / "file"), "--key-file", str(tmp_path / "k"))
    assert done.returncode == 2 and "not a folder" in done.stderr
    assert not any(p.name == "ledger" for p in tmp_path.iterdir())
