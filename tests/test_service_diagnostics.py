"""Service mode's live tests against the simulators (and a device that is down), and the diagnostics
bundle: its contents, grepped for the personal data fed in during the test."""
from __future__ import annotations

import io
import json
import logging
import socket
import zipfile

import pytest

from kiosk.config import load_config
from kiosk.counters import Counters
from kiosk.operate import devices as diag
from kiosk.operate.access import AuditLog
from kiosk.operate.bundle import build_bundle, bundle_name, save_bundle, send_bundle, usb_mounts, zip_bundle

CARD = {"name": "韦岚", "id_number": "450329198802140427", "address": "广西壮族自治区桂林市资源县资源镇示例路1号",
        "birth": "19880214"}
PHONE = "13877123456"


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_read_card_is_masked_and_timed():
    reader = diag.open_device("idcard", "sim://?card=resident")
    try:
        result = diag.read_card(reader, timeout=10)
    finally:
        reader.stop()
    assert result["ok"] and result["seconds"] > 0
    text = json.dumps(result, ensure_ascii=False)
    assert CARD["id_number"] not in text and CARD["name"] not in text
    assert result["card"]["id_number"] == "450329********0427" and result["card"]["name"] == "韦*"


def test_read_card_without_a_card_and_on_a_reader_that_is_down():
    reader = diag.open_device("idcard", "sim://")
    try:
        assert diag.read_card(reader, timeout=1)["error_zh"] == "未读到身份证"
    finally:
        reader.stop()
    down = diag.open_device("idcard", f"socket://127.0.0.1:{closed_port()}")
    try:
        result = diag.read_card(down, timeout=2)
    finally:
        down.stop()
    assert not result["ok"] and result["error_en"]


def test_scan_code_masks_id_numbers_in_what_was_scanned():
    # a code held in front of the scanner is one scan: the simulator shows it again every 2 s, a new scan
    scanner = diag.open_device("qr", f"sim://?code=ID{CARD['id_number']}&every=2")
    scanner.start()
    try:
        result = diag.scan_code(scanner, timeout=10)
    finally:
        scanner.stop()
    assert result["ok"] and result["length"] == 20
    assert CARD["id_number"] not in result["text"] and "450329********0427" in result["text"]


def test_camera_figures_and_a_camera_that_is_not_there(tmp_path):
    camera = diag.open_device("camera", "sim://")
    camera.start()
    try:
        figures = diag.camera_figures(camera, timeout=10)
    finally:
        camera.stop()
    assert figures["ok"] and figures["sharpness"] > 0 and 0 < figures["brightness"] < 255
    missing = diag.open_device("camera", f"v4l2://{tmp_path}/video9")
    result = diag.probe("camera", missing, 2.0)
    assert result.status == "fail" and result.data["last_error"]


def test_print_test_receipt_and_a4_page_on_the_simulators(tmp_path):
    printer = diag.open_device("receipt_printer", f"sim://?out={tmp_path}")
    try:
        result = diag.print_test_receipt(printer, "gx-pingan-001")
    finally:
        printer.stop()
    assert result["ok"] and result["bytes"] > 100
    assert printer.simulator.jobs and printer.simulator.jobs[-1].cut
    docprinter = diag.open_device("document_printer", f"sim://?out={tmp_path}")
    try:
        a4 = diag.print_a4_test_page(docprinter, "gx-pingan-001", timeout=30)
    finally:
        docprinter.stop()
    assert a4["ok"] and a4["pages"] == 1
    assert list(tmp_path.glob("*.pdf"))


def test_printer_that_is_down_answers_in_plain_words():
    printer = diag.open_device("receipt_printer", f"socket://127.0.0.1:{closed_port()}")
    try:
        result = diag.print_test_receipt(printer, "gx-pingan-001", timeout=5)
        probe = diag.probe("receipt_printer", printer, 3.0)
    finally:
        printer.stop()
    assert not result["ok"] and result["error_zh"]
    assert probe.status == "fail" and probe.data["last_error"]


@pytest.fixture
def kiosk_with_personal_data(tmp_path):
    """A kiosk data folder after a citizen's visit: logs, an upload, a ledger entry, counters, an audit."""
    site = tmp_path / "kiosk.toml"
    site.write_text(f'[paths]\ndata_dir = "{tmp_path}/data"\nlog_dir = "{tmp_path}/log"\n'
                    f'key_file = "{tmp_path}/keys/outbox.key"\n'
                    f'[platform]\nbase_url = "http://127.0.0.1:{closed_port()}/"\ntoken = "{"s3cr3t-" * 4}"\n'
                    '[kiosk]\nnumber = 7\n', encoding="utf-8")
    cfg = load_config(site)
    (tmp_path / "log").mkdir()
    # a log line that slipped through unmasked, and one with a phone number
    (tmp_path / "log" / "kiosk.log").write_text(
        f"2026-03-02 09:00:00 INFO kiosk.flow: card {CARD['id_number']} read\n"
        f"2026-03-02 09:00:05 INFO kiosk.flow: callback number {PHONE}\n"
        "2026-03-02 09:00:06 INFO kiosk.flow: Authorization: Bearer abcdefabcdefabcdef\n", encoding="utf-8")
    from offline_queue import Outbox

    box = Outbox(cfg.paths.data_dir / "outbox", key_file=cfg.paths.key_file)
    box.put("POST", "/api/v1/service-requests", json={"name": CARD["name"], "id_number": CARD["id_number"],
                                                      "phone": PHONE, "address": CARD["address"]})
    [item] = box.lease()
    box.mark_dead(item, f"HTTP 422: phone {PHONE} rejected for {CARD['id_number']}")
    box.close()
    from kiosk.ledger import open_ledger

    open_ledger(cfg).append(certificate_id="cert-1", document=b"%PDF-1.4 " + CARD["name"].encode(), pages=1,
                            printer="sim://", result="completed", id_number=CARD["id_number"])
    counters = Counters(cfg.paths.data_dir)
    counters.add("idcard.cards_read")
    counters.close()
    audit = AuditLog(cfg.paths.data_dir)
    audit.record("李工", "live_test", device="idcard", ok=True)
    audit.close()
    return cfg


def test_bundle_has_everything_and_no_personal_data(kiosk_with_personal_data, tmp_path, caplog):
    cfg = kiosk_with_personal_data
    # a live card read during the same visit of the technician, with logging on
    reader = diag.open_device("idcard", "sim://?card=resident")
    with caplog.at_level(logging.DEBUG):
        try:
            diag.read_card(reader, timeout=10)
        finally:
            reader.stop()
    files = build_bundle(cfg)
    assert set(files) == {"manifest.json", "config.json", "versions.json", "checks.json", "counters.json",
                          "outbox.json", "ledger.json", "audit.json", "logs.txt"}
    data = zip_bundle(files)
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        everything = "\n".join(z.read(n).decode("utf-8") for n in z.namelist())
    for secret in (CARD["id_number"], CARD["name"], CARD["address"], "资源镇", PHONE, "s3cr3t-",
                   "abcdefabcdefabcdef", CARD["birth"]):
        assert secret not in everything, secret
    assert "450329********0427" in everything and "138****3456" in everything  # masked, still useful
    checks = {c["name"]: c for c in json.loads(files["checks.json"])}
    assert checks["idcard"]["data"]["url"] == "sim://" and "state" in checks["idcard"]["data"]
    assert checks["network.tcp"]["status"] == "fail"
    assert json.loads(files["outbox.json"])["dead"] == 1
    assert json.loads(files["ledger.json"])["data"]["entries"] == 1
    assert json.loads(files["counters.json"])["counters"]["idcard.cards_read"] == 1
    assert json.loads(files["audit.json"])[0]["technician"] == "李工"
    assert json.loads(files["config.json"])["platform"]["token"] == "<removed>"
    # to a USB stick, whole or not at all
    stick = tmp_path / "media" / "USB"
    stick.mkdir(parents=True)
    saved = save_bundle(data, stick, bundle_name(cfg.kiosk.id))
    assert saved.read_bytes() == data and not list(stick.glob(".*.part"))


def test_usb_mounts_reads_proc_mounts(tmp_path):
    media = tmp_path / "media"
    for name in ("U DISK", "RO", "CDROM"):
        (media / name).mkdir(parents=True)
    mounts = tmp_path / "mounts"
    mounts.write_text(f"/dev/sda1 {media}/U\\040DISK vfat rw,nosuid 0 0\n"
                      f"/dev/sdb1 {media}/RO vfat ro 0 0\n"
                      f"/dev/sr0 {media}/CDROM iso9660 rw 0 0\n"
                      f"/dev/sdc1 {tmp_path} ext4 rw 0 0\nproc /proc proc rw 0 0\n")
    assert usb_mounts(str(mounts), roots=(f"{media}/",)) == [media / "U DISK"]
    assert usb_mounts(str(tmp_path / "no-such-file")) == []


def test_bundle_through_the_outbox(kiosk_with_personal_data):
    cfg = kiosk_with_personal_data
    from kiosk.operate.doctor import run_doctor
    from offline_queue import Outbox

    data = zip_bundle(build_bundle(cfg, results=run_doctor(cfg, groups=("outbox", "system"))))
    box = Outbox(cfg.paths.data_dir / "outbox", key_file=cfg.paths.key_file)
    try:
        item = send_bundle(box, cfg.kiosk.id, data, "bundle.zip")
        [info] = [i for i in box.list(states=["pending"]) if i.id == item]
    finally:
        box.close()
    assert info.path == f"/api/v1/kiosks/{cfg.kiosk.id}/diagnostics" and info.file_count == 1
