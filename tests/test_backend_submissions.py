"""``POST /api/v1/submissions`` over real HTTP on loopback: pages stored byte for byte, exactly once per
Idempotency-Key, refused with a clear reason, due by the working-day deadline, and never logged."""
from __future__ import annotations

import contextlib
import hashlib
import io
import json
import logging
import re
import sqlite3
import threading
import uuid
from datetime import date, datetime, timedelta, timezone

import pytest
import requests
from PIL import Image

from backend import seed
from backend.clock import add_working_days
from backend.db import Database
from backend.server import ServingThread, bind_socket, build_app, url_for
from kiosk.qr_content import RECEIPT_NO_RE
from offline_queue import Backoff, Outbox, Sender

AUTH = {"Authorization": "Bearer demo-token"}
NAME = "韦岚"
ID_NUMBER = "450329198802140427"
PHONE = "13877310427"
ADDRESS = "广西壮族自治区桂林市资源县资源镇测试新村2号"
# Monday 2026-11-23 10:00 in China (02:00 UTC).
MONDAY = datetime(2026, 11, 23, 2, 0, tzinfo=timezone.utc)


class Clock:
    """The backend's clock, set by the test."""

    def __init__(self, moment: datetime) -> None:
        self.moment = moment

    def __call__(self) -> datetime:
        return self.moment


@contextlib.contextmanager
def serve(db_path, clock):
    """The backend over ``db_path`` on a free loopback port, with ``clock`` as its time."""
    db = Database(f"sqlite:///{db_path}", clock=clock)
    db.initialise()
    seed.seed_demo(db)
    sock = bind_socket("127.0.0.1", 0)
    serving = ServingThread(build_app(db, public_url=url_for(sock)), sock)
    serving.start()
    try:
        yield serving
    finally:
        serving.stop()


@pytest.fixture(scope="module")
def db_path(tmp_path_factory):
    return tmp_path_factory.mktemp("submissions") / "backend.sqlite3"


@pytest.fixture(scope="module")
def clock():
    return Clock(MONDAY)


@pytest.fixture(scope="module")
def backend(db_path, clock):
    with serve(db_path, clock) as server:
        yield server


def jpeg(seed: int, size=(480, 640)) -> bytes:
    picture = Image.new("RGB", size, (250, 250, 245))
    for x in range(0, size[0], 7):
        picture.putpixel((x, (x * seed) % size[1]), (seed % 255, 20, 40))
    buffer = io.BytesIO()
    picture.save(buffer, "JPEG", quality=85)
    return buffer.getvalue()


def pdf_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.new("L", (200, 280), 255).save(buffer, "PDF")
    return buffer.getvalue()


def payload(**changes):
    body = {
        "item_id": "SB-001",
        "applicant": {"name": NAME, "id_number": ID_NUMBER, "phone": PHONE},
        "materials": [{"name": "居民户口簿", "pages": ["hukou-1.jpg", "hukou-2.jpg"]},
                      {"name": "城乡居民基本养老保险参保登记表", "pages": ["form.pdf"]}],
        "delivery": {"method": "post", "address": ADDRESS},
        "kiosk_id": "demo-kiosk-001",
    }
    body.update(changes)
    return body


def standard_files():
    return [("hukou-1.jpg", jpeg(1)), ("hukou-2.jpg", jpeg(2)), ("form.pdf", pdf_bytes())]


def submit(server, body, files=(), key=None, headers=None):
    hdrs = {**AUTH, **(headers or {})}
    if key is not False:
        hdrs["Idempotency-Key"] = key or str(uuid.uuid4())
    if not files:
        return requests.post(server.url + "/api/v1/submissions", json=body, headers=hdrs, timeout=30)
    parts = [("payload", (None, json.dumps(body, ensure_ascii=False).encode(), "application/json"))]
    parts += [("files", (name, data, "application/octet-stream")) for name, data in files]
    return requests.post(server.url + "/api/v1/submissions", files=parts, headers=hdrs, timeout=30)


def count(db_path, table):
    with sqlite3.connect(db_path) as conn:
        return conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]


def stored_files(db_path, receipt_no):
    with sqlite3.connect(db_path) as conn:
        return conn.execute(
            "SELECT f.material, f.position, f.name, f.content_type, f.size, f.sha256, f.data "
            "FROM submission_files f JOIN applications a ON a.id = f.application_id "
            "WHERE a.receipt_no = ? ORDER BY f.id", (receipt_no,)).fetchall()


# -- the round trip ----------------------------------------------------------------------------

def test_a_submission_with_pages_is_stored_byte_for_byte(backend, db_path):
    files = standard_files()
    response = submit(backend, payload(), files)
    assert response.status_code == 201, response.text
    answer = response.json()
    assert set(answer) == {"receipt_no", "item_id", "item_name", "status", "received_at", "deadline", "materials"}
    assert RECEIPT_NO_RE.fullmatch(answer["receipt_no"])
    assert re.fullmatch(r"ZW0000261123-\d{8}", answer["receipt_no"]), "the platform's own number space"
    assert answer["item_id"] == "SB-001" and answer["item_name"] == "城乡居民基本养老保险参保登记"
    assert answer["status"] == "受理"
    assert answer["received_at"] == "2026-11-23T10:00:00+08:00"
    assert answer["deadline"] == "2026-11-30"  # 5 working days after a Monday: the next Monday
    assert answer["materials"] == [{"name": "居民户口簿", "pages": 2},
                                   {"name": "城乡居民基本养老保险参保登记表", "pages": 1}]

    rows = stored_files(db_path, answer["receipt_no"])
    assert [(r[0], r[1], r[2], r[3]) for r in rows] == [
        ("居民户口簿", 0, "hukou-1.jpg", "image/jpeg"), ("居民户口簿", 1, "hukou-2.jpg", "image/jpeg"),
        ("城乡居民基本养老保险参保登记表", 0, "form.pdf", "application/pdf")]
    for (name, data), row in zip(files, rows):
        assert row[4] == len(data)
        assert row[5] == hashlib.sha256(data).hexdigest() == hashlib.sha256(row[6]).hexdigest()

    shown = requests.get(backend.url + f"/api/v1/applications/{answer['receipt_no']}", headers=AUTH, timeout=10)
    assert shown.status_code == 200
    assert shown.json()["deadline"] == "2026-11-30" and shown.json()["status"] == "受理"


def test_a_repeated_key_answers_the_first_answer_and_stores_once(backend, db_path):
    key = str(uuid.uuid4())
    before = count(db_path, "applications"), count(db_path, "submission_files")
    files = standard_files()   # made once: Pillow stamps a PDF with the second it was made
    first = submit(backend, payload(), files, key=key)
    again = submit(backend, payload(), files, key=key)  # a new multipart boundary
    assert first.status_code == again.status_code == 201
    assert again.content == first.content
    assert again.headers["Idempotent-Replay"] == "true"
    assert (count(db_path, "applications"), count(db_path, "submission_files")) == (before[0] + 1, before[1] + 3)

    changed = submit(backend, payload(), [*files[:2], ("form.pdf", files[2][1] + b"\n")], key=key)
    assert changed.status_code == 422 and "Idempotency-Key" in changed.json()["error"]

    other = submit(backend, payload(), standard_files())
    assert other.status_code == 201 and other.json()["receipt_no"] != first.json()["receipt_no"]


def test_concurrent_repeats_of_one_key_store_once(backend, db_path):
    key = str(uuid.uuid4())
    before = count(db_path, "applications")
    barrier = threading.Barrier(6)
    answers = []
    files = standard_files()  # once: a PDF made a second later carries another creation date

    def post():
        barrier.wait()
        answers.append(submit(backend, payload(), files, key=key))

    threads = [threading.Thread(target=post) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert [a.status_code for a in answers] == [201] * 6, [a.text[:200] for a in answers]
    assert len({a.content for a in answers}) == 1
    assert count(db_path, "applications") == before + 1


def test_the_number_the_kiosk_printed_is_kept_when_it_is_free(backend, db_path):
    """The kiosk numbers the receipt itself, at once, even offline (kiosk/submission.py)."""
    body = {k: v for k, v in payload().items() if k != "kiosk_id"}
    printed = "ZW0001261123-48213377"  # the demo kiosk is number 0001
    first = submit(backend, {**body, "receipt_no": printed}, standard_files())
    assert first.status_code == 201, first.text
    assert first.json()["receipt_no"] == printed
    shown = requests.get(backend.url + f"/api/v1/applications/{printed}", headers=AUTH, timeout=10)
    assert shown.status_code == 200 and shown.json()["item_id"] == "SB-001"
    # The same number from another submission is a permanent refusal, not a renumbering.
    clash = submit(backend, {**body, "receipt_no": printed.lower()}, standard_files())
    assert clash.status_code == 409
    assert clash.json()["error"] == "receipt_no_taken" and printed in clash.json()["message"]
    for bad in ("20261123-1234", "AB0001261123-12345678", 42):
        refused = submit(backend, {**body, "receipt_no": bad}, standard_files())
        assert refused.status_code == 400 and "receipt_no" in refused.json()["error"]


def test_a_json_submission_without_pages(backend):
    response = submit(backend, payload(item_id="JY-002", materials=[], delivery={"method": "pickup"}))
    assert response.status_code == 201, response.text
    assert response.json()["deadline"] == "2026-11-23"  # 即办: due the day it is received
    shown = requests.get(backend.url + f"/api/v1/applications/{response.json()['receipt_no']}",
                         headers=AUTH, timeout=10).json()
    assert shown["delivery"] == {"method": "pickup", "label": "窗口自取"} and shown["materials"] == []


def test_the_kiosk_outbox_delivers_a_submission_exactly_once(tmp_path, backend, db_path):
    """The real outbox and sender, with the first answer lost on the way back."""

    class LosesFirstAnswer(requests.Session):
        lost = False

        def request(self, *args, **kwargs):
            response = super().request(*args, **kwargs)
            if not self.lost:
                self.lost = True
                response.close()
                raise requests.ConnectionError("connection dropped before the answer arrived")
            return response

    files = standard_files()
    before = count(db_path, "applications")
    with Outbox(tmp_path / "outbox", key_file=tmp_path / "outbox.key") as box:
        box.put("POST", "/api/v1/submissions", json=payload(), files=files)
        sender = Sender(box, backend.url, "demo-token", session=LosesFirstAnswer(),
                        backoff=Backoff(base_s=0.05, cap_s=0.1))
        assert sender.run_until_empty(timeout=20)
        assert sender.stats["network_errors"] == 1 and box.status()["done"] == 1
    assert count(db_path, "applications") == before + 1
    with sqlite3.connect(db_path) as conn:
        receipt_no = conn.execute("SELECT receipt_no FROM applications ORDER BY id DESC LIMIT 1").fetchone()[0]
    assert [row[5] for row in stored_files(db_path, receipt_no)] == [
        hashlib.sha256(data).hexdigest() for _, data in files]


# -- refusals ------------------------------------------------------------------------------------

def _without_file(name):
    return [f for f in standard_files() if f[0] != name]


REFUSALS = [
    ("unknown item", payload(item_id="XX-999"), None, "unknown item_id"),
    ("not at a kiosk", payload(item_id="SB-002", materials=[]), [], "cannot be submitted at a kiosk"),
    ("bad check digit", payload(applicant={"name": NAME, "id_number": ID_NUMBER[:-1] + "8", "phone": PHONE}),
     None, "check digit"),
    ("short id number", payload(applicant={"name": NAME, "id_number": "45032919880214", "phone": PHONE}),
     None, "check digit"),
    ("no name", payload(applicant={"name": " ", "id_number": ID_NUMBER, "phone": PHONE}), None, "applicant.name"),
    ("bad phone", payload(applicant={"name": NAME, "id_number": ID_NUMBER, "phone": "12345"}), None, "applicant.phone"),
    ("page not sent", payload(), _without_file("form.pdf"), "'form.pdf' was not sent"),
    ("file not used", payload(), [*standard_files(), ("extra.jpg", jpeg(9))], "'extra.jpg' was sent but"),
    ("page used twice", payload(materials=[{"name": "居民户口簿", "pages": ["hukou-1.jpg", "hukou-1.jpg"]}]),
     [("hukou-1.jpg", jpeg(1))], "more than one page"),
    ("png", payload(materials=[{"name": "居民户口簿", "pages": ["scan.png"]}]),
     [("scan.png", b"\x89PNG\r\n\x1a\n" + b"\0" * 100)], "neither a JPEG image nor a PDF"),
    ("empty file", payload(materials=[{"name": "居民户口簿", "pages": ["empty.jpg"]}]),
     [("empty.jpg", b"")], "empty"),
    ("unknown material", payload(materials=[{"name": "房产证", "pages": ["hukou-1.jpg"]}]),
     [("hukou-1.jpg", jpeg(1))], "not a material of item SB-001"),
    ("no pages", payload(materials=[{"name": "居民户口簿", "pages": []}]), [], "non-empty list of file names"),
    ("post without address", payload(delivery={"method": "post"}), None, "delivery.address"),
    ("unknown delivery", payload(delivery={"method": "drone"}), None, "'pickup', 'post' or 'courier'"),
    ("other kiosk", payload(kiosk_id="kiosk-elsewhere"), None, "kiosk_id does not match"),
    ("unknown field", {**payload(), "priority": "high"}, None, "unknown field 'priority'"),
    ("not an object", ["SB-001"], [], "must be a JSON object"),
]


@pytest.mark.parametrize("case, body, files, words", REFUSALS, ids=[r[0] for r in REFUSALS])
def test_refusals_are_clear_and_store_nothing(backend, db_path, case, body, files, words):
    files = standard_files() if files is None else files
    before = count(db_path, "applications"), count(db_path, "submission_files")
    key = str(uuid.uuid4())
    response = submit(backend, body, files, key=key)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert words in error
    assert ID_NUMBER[:-1] not in error and PHONE not in error and NAME not in error
    assert (count(db_path, "applications"), count(db_path, "submission_files")) == before
    # The refusal is the answer to this key: a retry is refused the same way without a second look.
    again = submit(backend, body, files, key=key)
    assert again.status_code == 422 and again.content == response.content
    assert again.headers["Idempotent-Replay"] == "true"


def test_unreadable_or_oversized_bodies_are_refused_before_the_key_is_used(backend, db_path):
    key = str(uuid.uuid4())
    url = backend.url + "/api/v1/submissions"
    headers = {**AUTH, "Idempotency-Key": key}
    no_payload = requests.post(url, headers=headers, files=[("files", ("a.jpg", jpeg(1), "image/jpeg"))], timeout=30)
    assert no_payload.status_code == 400 and "payload" in no_payload.json()["error"]
    bad_json = requests.post(url, headers=headers, files=[("payload", (None, b"{nope", "application/json"))], timeout=30)
    assert bad_json.status_code == 400 and "not valid JSON" in bad_json.json()["error"]
    huge = b"\xff\xd8\xff" + bytes(16 * 1024 * 1024)
    too_big = submit(backend, payload(materials=[{"name": "居民户口簿", "pages": ["big.jpg"]}]),
                     [("big.jpg", huge)], key=key)
    assert too_big.status_code == 413 and "too large" in too_big.json()["error"]
    assert submit(backend, payload(), standard_files(), key=False).status_code == 400
    with sqlite3.connect(db_path) as conn:
        assert conn.execute("SELECT COUNT(*) FROM idempotency_keys WHERE key=?", (key,)).fetchone()[0] == 0
    assert submit(backend, payload(), standard_files(), key=key).status_code == 201


def test_submissions_need_a_token(backend):
    response = requests.post(backend.url + "/api/v1/submissions", json=payload(),
                             headers={"Idempotency-Key": str(uuid.uuid4())}, timeout=10)
    assert response.status_code == 401


# -- deadlines -----------------------------------------------------------------------------------

@pytest.mark.parametrize("start, days, due", [
    (date(2026, 11, 23), 0, date(2026, 11, 23)),   # Monday, 即办
    (date(2026, 11, 21), 0, date(2026, 11, 21)),   # Saturday, 即办: the same day, even a weekend
    (date(2026, 11, 20), 1, date(2026, 11, 23)),   # Friday + 1 → Monday
    (date(2026, 11, 21), 1, date(2026, 11, 23)),   # Saturday + 1 → Monday
    (date(2026, 11, 22), 5, date(2026, 11, 27)),   # Sunday + 5 → Friday
    (date(2026, 11, 23), 5, date(2026, 11, 30)),   # Monday + 5 → next Monday
    (date(2026, 11, 20), 10, date(2026, 12, 4)),
    (date(2026, 12, 30), 3, date(2027, 1, 4)),     # across the year end, over a weekend
    (date(2026, 11, 2), 60, date(2027, 1, 25)),    # twelve whole weeks
])
def test_working_days_skip_weekends(start, days, due):
    assert add_working_days(start, days) == due


def test_holidays_can_be_skipped_too():
    national_day = [date(2026, 10, 1) + timedelta(days=n) for n in range(7)]
    assert add_working_days(date(2026, 9, 30), 1, national_day) == date(2026, 10, 8)
    with pytest.raises(ValueError):
        add_working_days(date(2026, 9, 30), -1)


def test_deadline_and_receipt_date_follow_china_time_across_a_weekend(tmp_path):
    # Friday 23:30 UTC is Saturday 07:30 in China: the receipt is Saturday's, the clock starts Monday.
    clock = Clock(datetime(2026, 11, 20, 23, 30, tzinfo=timezone.utc))
    with serve(tmp_path / "weekend.sqlite3", clock) as server:
        five = submit(server, payload(), standard_files()).json()
        same_day = submit(server, payload(item_id="YB-005", materials=[], delivery={"method": "pickup"})).json()
        clock.moment = datetime(2026, 11, 20, 8, 0, tzinfo=timezone.utc)  # Friday 16:00 in China
        ten = submit(server, payload(item_id="SB-007", materials=[])).json()
        clock.moment = datetime(2026, 11, 22, 16, 0, tzinfo=timezone.utc)  # Monday 00:00 in China
        monday = submit(server, payload(item_id="SB-007", materials=[])).json()
    assert re.fullmatch(r"ZW0000261121-\d{8}", five["receipt_no"]) and five["deadline"] == "2026-11-27"
    assert re.fullmatch(r"ZW0000261121-\d{8}", same_day["receipt_no"]) and same_day["deadline"] == "2026-11-21"
    assert re.fullmatch(r"ZW0000261120-\d{8}", ten["receipt_no"]) and ten["deadline"] == "2026-12-04"
    assert re.fullmatch(r"ZW0000261123-\d{8}", monday["receipt_no"]) and monday["deadline"] == "2026-12-07"
    assert monday["received_at"] == "2026-11-23T00:00:00+08:00"


# -- personal data -------------------------------------------------------------------------------

class Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:  # called with the handler's lock held
        if record.name.startswith("urllib3"):
            return  # this test's own HTTP client (it logs the URLs it asks for), not the backend
        text = self.format(record)
        if record.exc_info:
            text += logging.Formatter().formatException(record.exc_info)
        self.lines.append(text)


def test_personal_data_never_reaches_the_logs(tmp_path):
    """Every endpoint that takes personal data, with logging wide open (SQL statements included)."""
    capture = Capture()
    root, engine_log = logging.getLogger(), logging.getLogger("sqlalchemy.engine")
    saved = root.level, engine_log.level
    root.addHandler(capture)
    root.setLevel(logging.DEBUG)
    engine_log.setLevel(logging.INFO)
    name, number, phone = "覃秀兰", "45032919670715002X", "13907731234"
    try:
        with serve(tmp_path / "logs.sqlite3", Clock(MONDAY)) as server:
            body = payload(applicant={"name": name, "id_number": number, "phone": phone})
            ok = submit(server, body, standard_files())
            assert ok.status_code == 201
            refused = submit(server, payload(item_id="XX-001", applicant={"name": name, "id_number": number,
                                                                         "phone": phone}), standard_files())
            assert refused.status_code == 422
            listed = requests.get(server.url + "/api/v1/applications", params={"id_number": number},
                                  headers={**AUTH, "X-Subject-Id-Number": number}, timeout=10)
            assert listed.status_code == 200 and len(listed.json()["items"]) == 1
            certificates = requests.get(server.url + "/api/v1/certificates", params={"id_number": number},
                                        headers={**AUTH, "X-Subject-Id-Number": number}, timeout=10)
            assert certificates.status_code == 200
            asked = requests.post(server.url + "/api/v1/service-requests", timeout=10,
                                  headers={**AUTH, "Idempotency-Key": str(uuid.uuid4())},
                                  json={"kind": "home_visit", "name": name, "phone": phone, "address": ADDRESS})
            assert asked.status_code == 201
    finally:
        root.removeHandler(capture)
        root.setLevel(saved[0])
        engine_log.setLevel(saved[1])
    text = "\n".join(capture.lines)
    assert ok.json()["receipt_no"] in text, "the capture must see the backend's own log lines"
    assert "INSERT INTO applications" in text, "the capture must see SQL logging"
    for secret in (name, number, number[:14], phone, ADDRESS):
        assert secret not in text, f"{secret} reached the log"
    # The platform itself keeps them (it is the system of record).
    with sqlite3.connect(tmp_path / "logs.sqlite3") as conn:
        assert conn.execute("SELECT applicant_name, applicant_id_number FROM applications WHERE receipt_no=?",
                            (ok.json()["receipt_no"],)).fetchone() == (name, number)


# -- PostgreSQL ----------------------------------------------------------------------------------

from test_backend_postgres import pg_url  # noqa: E402,F401  (the fixture: a real server on loopback)


def test_on_postgresql_concurrent_submissions_get_distinct_numbers(pg_url):  # noqa: F811
    from backend.server import BackendThread

    with BackendThread(db_url=pg_url) as server:
        demo = requests.get(server.url + "/api/v1/applications", params={"id_number": ID_NUMBER},
                            headers={**AUTH, "X-Subject-Id-Number": ID_NUMBER}, timeout=10).json()["items"]
        assert {item["status"] for item in demo} >= {"受理", "已邮寄"}, "the demo seed works on PostgreSQL"
        barrier = threading.Barrier(8)
        answers = []
        repeat_key = str(uuid.uuid4())
        files = standard_files()  # once: a PDF made a second later carries another creation date

        def post(key):
            barrier.wait()
            answers.append(submit(server, payload(), files, key=key))

        keys = [str(uuid.uuid4()) for _ in range(5)] + [repeat_key] * 3
        threads = [threading.Thread(target=post, args=(key,)) for key in keys]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert [a.status_code for a in answers] == [201] * 8
        numbers = {a.json()["receipt_no"] for a in answers}
        assert len(numbers) == 6, "five keys and one repeated key: six applications"
        assert all(re.fullmatch(r"ZW0000\d{6}-\d{8}", n) for n in numbers)
        stored = requests.get(server.url + f"/api/v1/applications/{answers[0].json()['receipt_no']}",
                              headers=AUTH, timeout=10)
        assert stored.status_code == 200 and stored.json()["materials"][0]["pages"] == 2
        certs = requests.get(server.url + "/api/v1/certificates", params={"id_number": ID_NUMBER},
                             headers={**AUTH, "X-Subject-Id-Number": ID_NUMBER}, timeout=10).json()["items"]
        pdf = requests.get(server.url + certs[0]["document"], headers={**AUTH, "X-Subject-Id-Number": ID_NUMBER},
                           timeout=30)
        assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF-")
