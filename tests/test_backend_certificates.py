"""Certificates (证明打印) over real HTTP on loopback: the list, the header rule, a real PDF with Chinese
text, a verification code and a QR code, and the public verification page."""
from __future__ import annotations

import io
import re
import sqlite3
from datetime import date
from pathlib import Path

import pypdf
import pytest
import requests
import zxingcpp

from backend.certificate_pdf import FALLBACK_FONT, FONT_CANDIDATES, CertificatePage, cjk_font, render_certificate
from backend.server import BackendThread

AUTH = {"Authorization": "Bearer demo-token"}
WEI = "450329198802140427"
MENG = "450329195503020018"
HUANG = "44030419750610003X"
SOMEONE_ELSE = "requests for someone else's records are refused"
CODE = re.compile(r"^[A-Z2-7]{4}-[A-Z2-7]{4}-[A-Z2-7]{4}-[A-Z2-7]{4}$")
HAVE_TTF = any(Path(path).is_file() for path, _ in FONT_CANDIDATES)


@pytest.fixture(scope="module")
def db_path(tmp_path_factory):
    return tmp_path_factory.mktemp("certificates") / "backend.sqlite3"


@pytest.fixture(scope="module")
def backend(db_path):
    with BackendThread(db_url=f"sqlite:///{db_path}") as server:
        yield server


def as_subject(id_number):
    return {**AUTH, "X-Subject-Id-Number": id_number}


def listing(server, id_number, headers):
    return requests.get(server.url + "/api/v1/certificates", params={"id_number": id_number},
                        headers=headers, timeout=10)


def certificates_of(server, id_number):
    response = listing(server, id_number, as_subject(id_number))
    assert response.status_code == 200, response.text
    return response.json()["items"]


def document(server, certificate_id, headers):
    return requests.get(server.url + f"/api/v1/certificates/{certificate_id}/document", headers=headers, timeout=30)


@pytest.fixture(scope="module")
def pension(backend):
    """Wei Lan's pension contribution certificate: its list entry and its PDF."""
    entry = next(c for c in certificates_of(backend, WEI) if c["kind"] == "resident_pension_contribution")
    response = document(backend, entry["id"], as_subject(WEI))
    assert response.status_code == 200, response.text
    return entry, response


def page_text(pdf: bytes) -> str:
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    return "\n".join(page.extract_text() for page in reader.pages)


# -- the list and the header rule ------------------------------------------------------------------

def test_each_demo_person_has_township_certificates(backend):
    titles = {c["title"] for c in certificates_of(backend, WEI)}
    assert titles == {"城乡居民基本养老保险参保缴费证明", "城乡居民基本医疗保险参保证明", "婚育情况证明"}
    assert {c["title"] for c in certificates_of(backend, MENG)} >= {"城乡居民基本养老保险待遇领取证明", "最低生活保障对象证明"}
    assert {c["title"] for c in certificates_of(backend, HUANG)} >= {"居住证明", "无犯罪记录证明", "社会保险参保缴费证明（个人）"}
    assert certificates_of(backend, "931840198001010025") == []
    for entry in certificates_of(backend, WEI):
        assert set(entry) == {"id", "kind", "title", "department", "issued_on", "valid_until", "expired", "document"}
        assert entry["document"] == f"/api/v1/certificates/{entry['id']}/document"
        assert entry["expired"] is False


@pytest.mark.parametrize("headers", [
    AUTH,                                           # no header: the kiosk read no card
    as_subject(MENG),                               # another person's card
    as_subject(WEI[:-1] + "8"),                     # not a valid number at all
    as_subject(""),
])
def test_someone_elses_certificates_are_refused(backend, headers):
    response = listing(backend, WEI, headers)
    assert response.status_code == 403
    assert response.json() == {"error": SOMEONE_ELSE}


def test_the_header_compares_numbers_not_spelling(backend):
    lower = HUANG.lower()
    response = listing(backend, lower, as_subject(HUANG))
    assert response.status_code == 200 and len(response.json()["items"]) == 3


@pytest.mark.parametrize("params", [{}, {"id_number": "450329198802140428"}, {"id_number": "abc"}])
def test_the_list_needs_a_valid_id_number(backend, params):
    response = requests.get(backend.url + "/api/v1/certificates", params=params, headers=as_subject(WEI), timeout=10)
    assert response.status_code == 400 and "id_number" in response.json()["error"]


def test_a_document_is_only_for_its_holder(backend, pension):
    entry, _ = pension
    for headers in (AUTH, as_subject(MENG), as_subject("not-a-number")):
        refused = document(backend, entry["id"], headers)
        assert refused.status_code == 403 and refused.json() == {"error": SOMEONE_ELSE}
        assert b"%PDF" not in refused.content
    assert document(backend, "ZM0000000000000000", as_subject(WEI)).status_code == 404
    assert requests.get(backend.url + f"/api/v1/certificates/{entry['id']}/document",
                        headers={"X-Subject-Id-Number": WEI}, timeout=10).status_code == 401


# -- the PDF ---------------------------------------------------------------------------------------

def test_the_document_is_a_pdf_with_extractable_chinese(pension):
    entry, response = pension
    assert response.headers["Content-Type"] == "application/pdf"
    assert response.headers["Cache-Control"] == "no-store"
    assert CODE.match(response.headers["X-Verification-Code"])
    assert f"核验码：{response.headers['X-Verification-Code']}" in page_text(response.content)
    pdf = response.content
    assert pdf.startswith(b"%PDF-") and pdf.rstrip().endswith(b"%%EOF")
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) == 1
    text = page_text(pdf)
    for expected in ("城乡居民基本养老保险参保缴费证明", "韦岚", WEI, "资源县社会保险事业管理中心", "特此证明", entry["id"]):
        assert expected in text, expected
    assert "2025" in text and "500.00" in text  # the table of payments
    issued = date.fromisoformat(entry["issued_on"])
    assert f"{issued.year}年{issued.month}月{issued.day}日" in text
    assert reader.metadata.title == "城乡居民基本养老保险参保缴费证明"


def test_no_line_starts_with_chinese_punctuation(backend, pension):
    for entry in certificates_of(backend, WEI) + certificates_of(backend, MENG) + certificates_of(backend, HUANG):
        pdf = document(backend, entry["id"], as_subject(entry_holder(entry, backend))).content
        for line in page_text(pdf).splitlines():
            assert not line.strip().startswith(("，", "。", "；", "：", "）", "、")), (entry["title"], line)


def entry_holder(entry, backend):
    for number in (WEI, MENG, HUANG):
        if any(c["id"] == entry["id"] for c in certificates_of(backend, number)):
            return number
    raise AssertionError("no holder")


@pytest.mark.skipif(not HAVE_TTF, reason="no CJK TrueType font installed (make setup installs fonts-wqy-microhei)")
def test_the_cjk_font_is_embedded(pension):
    _, response = pension
    reader = pypdf.PdfReader(io.BytesIO(response.content))
    fonts = reader.pages[0]["/Resources"]["/Font"]
    embedded = []
    for ref in fonts.values():
        font = ref.get_object()
        for descendant in font.get("/DescendantFonts", []):
            descriptor = descendant.get_object()["/FontDescriptor"].get_object()
            if "/FontFile2" in descriptor:
                embedded.append(str(font["/BaseFont"]))
        if "/FontDescriptor" in font and "/FontFile2" in font["/FontDescriptor"].get_object():
            embedded.append(str(font["/BaseFont"]))
    assert embedded, "the CJK font must be embedded so every printer shows the same glyphs"


def test_the_qr_code_carries_the_verification_url(backend, pension):
    _, response = pension
    text = page_text(response.content)
    code = re.search(r"核验码：([A-Z2-7]{4}(?:-[A-Z2-7]{4}){3})", text).group(1)
    images = pypdf.PdfReader(io.BytesIO(response.content)).pages[0].images
    decoded = [result.text for image in images for result in zxingcpp.read_barcodes(image.image)]
    assert decoded == [f"{backend.url}/verify/{code}"]


def test_the_same_certificate_renders_to_the_same_bytes(backend, pension):
    entry, response = pension
    assert document(backend, entry["id"], as_subject(WEI)).content == response.content


def test_without_a_truetype_font_the_builtin_cid_font_is_used():
    page = CertificatePage(
        number="ZMTEST", title="养老金领取证明", holder_name="蒙桂英", holder_id_number=MENG,
        paragraphs=("经查询，上述人员按月领取城乡居民基本养老保险待遇，现待遇状态为正常发放。",),
        table_rows=None, department="资源县社会保险事业管理中心", issued_on=date(2026, 11, 23),
        valid_until=date(2027, 2, 21), verification_code="ABCD-EFGH-IJKL-MNOP",
        verify_url="http://127.0.0.1/verify/ABCD-EFGH-IJKL-MNOP")
    missing = (("/nonexistent/font.ttc", 0),)
    assert cjk_font(missing) == FALLBACK_FONT
    pdf = render_certificate(page, font_candidates=missing)
    assert b"/STSong-Light" in pdf
    text = page_text(pdf)
    assert "养老金领取证明" in text and "2027年2月21日" in text and MENG in text


# -- verification ----------------------------------------------------------------------------------

def verify(server, code, **headers):
    return requests.get(server.url + f"/verify/{code}", headers=headers, timeout=10)


def test_a_printed_code_verifies_without_a_token_and_without_personal_data(backend, pension):
    entry, response = pension
    code = re.search(r"核验码：(\S{19})", page_text(response.content)).group(1)
    assert CODE.match(code)
    answer = verify(backend, code)
    assert answer.status_code == 200
    assert answer.json() == {"genuine": True, "code": code, "title": entry["title"], "holder": "韦*",
                             "department": entry["department"], "issued_on": entry["issued_on"],
                             "valid_until": None, "expired": False}
    assert verify(backend, code.replace("-", "").lower()).json()["genuine"] is True
    page = verify(backend, code, Accept="text/html,application/xhtml+xml")
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    assert "核验通过" in page.text and "韦*" in page.text
    for text in (answer.text, page.text):
        assert "韦岚" not in text and "0427" not in text


def test_unknown_malformed_and_tampered_codes_do_not_verify(backend, db_path, pension):
    entry, response = pension
    code = re.search(r"核验码：(\S{19})", page_text(response.content)).group(1)
    unknown = verify(backend, "AAAA-BBBB-CCCC-DDDD")
    assert unknown.status_code == 404 and unknown.json()["genuine"] is False
    html = verify(backend, "AAAA-BBBB-CCCC-DDDD", Accept="text/html")
    assert html.status_code == 404 and "未能核验" in html.text
    for malformed in ("short", "AAAA-BBBB-CCCC-DDD1", "<script>alert(1)<\\script>AAAA"):
        bad = verify(backend, malformed)
        assert bad.status_code == 400 and bad.json()["genuine"] is False
    assert "<script>" not in verify(backend, "<script>x", Accept="text/html").text

    with sqlite3.connect(db_path) as conn:  # someone edits the record behind the platform's back
        conn.execute("UPDATE certificates SET department='某某公司' WHERE id=?", (entry["id"],))
    try:
        assert verify(backend, code).status_code == 404
    finally:
        with sqlite3.connect(db_path) as conn:
            conn.execute("UPDATE certificates SET department=? WHERE id=?", (entry["department"], entry["id"]))
    assert verify(backend, code).status_code == 200
