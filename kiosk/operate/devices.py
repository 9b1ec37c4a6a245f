"""Per-device diagnostics: state, URL, last error in plain words, and the live tests.

Two ways in: ``probe_from_config(cfg, name, timeout)`` opens the device from its configured URL,
checks it and closes it (``kiosk doctor``); ``probe(name, driver, timeout)`` checks a driver the
running app already holds (service mode, where the port is already open). The live tests
(``read_card``, ``scan_code``, ``camera_figures``, ``print_test_receipt``, ``print_a4_test_page``)
take an open driver. Results never carry personal data: a card read comes back masked.
"""
from __future__ import annotations

import time
from datetime import datetime
from typing import Any

from kiosk.operate.checks import FAIL, OK, WARN, CheckResult

DEVICE_NAMES = ("idcard", "qr", "camera", "receipt_printer", "document_printer")
LABELS = {  # name -> (English, Chinese)
    "idcard": ("ID-card reader", "身份证阅读器"),
    "qr": ("QR scanner", "扫码器"),
    "camera": ("document camera", "高拍仪"),
    "receipt_printer": ("receipt printer", "凭条打印机"),
    "document_printer": ("A4 printer", "A4 打印机"),
}


def device_url(cfg, name: str) -> str:
    """The URL the app opens for ``name`` (the receipt printer's carries its encoding and paper width)."""
    if name not in DEVICE_NAMES:
        raise ValueError(f"unknown device {name!r} (known: {', '.join(DEVICE_NAMES)})")
    url = getattr(cfg.devices, name)
    if name == "receipt_printer":
        from devices.receipt_printer.urls import with_settings

        url = with_settings(url, encoding=cfg.devices.receipt_printer_encoding,
                            paper_mm=cfg.devices.receipt_printer_paper_mm)
    return url


def open_device(name: str, url: str) -> Any:
    """A driver for ``url``, not started. Raises ValueError (the drivers' URL errors) for a bad URL."""
    if name == "idcard":
        from devices.idcard.reader import IdCardReader

        return IdCardReader(url)  # DeviceUrlError is a ValueError
    if name == "qr":
        from devices.qr.scanner import QrScanner

        return QrScanner(url)
    if name == "camera":
        from devices.camera.driver import DocumentCamera

        return DocumentCamera(url)
    if name == "receipt_printer":
        from devices.receipt_printer.driver import ReceiptPrinter

        return ReceiptPrinter(url, poll_interval=3600.0)
    if name == "document_printer":
        from devices.document_printer.driver import DocumentPrinter

        return DocumentPrinter(url)
    raise ValueError(f"unknown device {name!r}")


def _result(name: str, url: str, ok: bool, state: str, en: str, zh: str, counters: dict | None,
            warn: bool = False, **extra: Any) -> CheckResult:
    status = (WARN if warn else OK) if ok else FAIL
    label_en, label_zh = LABELS[name]
    data = {"device": name, "label_en": label_en, "label_zh": label_zh, "url": redact_url(url), "state": state,
            "last_error": None if ok and not warn else en, "counters": dict(counters or {}), **extra}
    return CheckResult(name, status, en, zh, data, group="device")


def redact_url(url: str) -> str:
    """A device URL for display: any user:password@ part is dropped (CUPS and TCP URLs may carry one)."""
    from urllib.parse import urlsplit, urlunsplit

    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    if parts.username or parts.password:
        host = parts.hostname or ""
        if parts.port:
            host += f":{parts.port}"
        return urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))
    return url


def probe(name: str, driver: Any, timeout: float, counters: dict | None = None) -> CheckResult:
    """Check an open (or not yet started) driver: its state, the last error and a light self-test."""
    url = _url_text(driver)
    if name == "idcard":
        report = driver.self_test(timeout)
        status = driver.status()
        return _result(name, url, report.ok, status.state.value, status.detail_en, status.detail_zh,
                       counters or status.counters, sam_id=report.properties.get("sam_id"))
    if name == "qr":
        started_here = getattr(driver, "_thread", None) is None
        if started_here:
            driver.start()
        try:
            status = driver.wait_settled(timeout)
            report = driver.self_test()
        finally:
            if started_here:
                driver.stop()
        failed = [c for c in report.checks if not c.ok]
        en = failed[0].detail_en if failed else status.detail_en
        zh = failed[0].detail_zh if failed else status.detail_zh
        return _result(name, url, report.ok, status.state.value, en, zh, counters or status.counters)
    if name == "camera":
        return _probe_camera(driver, url, timeout, counters)
    if name == "receipt_printer":
        cond = driver.refresh(timeout=timeout)
        near_end = cond.paper == "near_end"
        return _result(name, url, cond.answered and cond.can_print, cond.state.value, cond.detail_en, cond.detail_zh,
                       counters or driver.status().counters, warn=near_end, paper=cond.paper)
    if name == "document_printer":
        cond = driver.refresh(timeout=timeout)
        zh, en = cond.detail
        return _result(name, url, cond.can_print, cond.state.value, en, zh, counters or driver.status().counters,
                       warn=bool(cond.warnings), queued_jobs=cond.queued_jobs)
    raise ValueError(f"unknown device {name!r}")


def _probe_camera(camera: Any, url: str, timeout: float, counters: dict | None) -> CheckResult:
    """Connected, a frame arrives, it is a picture (not a capped lens), the format is as asked;
    with the frame's sharpness and brightness."""
    import time as _time

    started_here = getattr(camera, "_thread", None) is None
    deadline = _time.monotonic() + timeout
    if started_here:
        camera.start()
    try:
        status = camera.wait_settled(timeout)
        counters = counters or status.counters
        if status.state.value not in ("ready", "degraded", "busy"):
            return _result("camera", url, False, status.state.value, status.detail_en, status.detail_zh, counters)
        frame = camera.wait_for_frame(0, max(0.05, deadline - _time.monotonic()))
        if frame is None:
            return _result("camera", url, False, "error", f"no frames arrived within {timeout:g} s", "没有取得画面",
                           counters)
        figures = image_figures(frame.image)
        h, w = frame.image.shape[:2]
        props = camera.properties()
        mismatch = props.get("mismatch") or []
        if figures["brightness"] < 8 or figures["brightness"] > 247:
            return _result("camera", url, False, status.state.value,
                           f"the picture is all black or all white (brightness {figures['brightness']})",
                           "画面全黑或全白，请检查镜头", counters, **figures)
        if mismatch:
            return _result("camera", url, True, status.state.value,
                           f"camera differs from the request in {', '.join(mismatch)}", "摄像头格式与设定不符",
                           counters, warn=True, **figures)
        return _result("camera", url, True, status.state.value,
                       f"{w}x{h}, sharpness {figures['sharpness']}, brightness {figures['brightness']}",
                       status.detail_zh, counters, width=w, height=h, **figures)
    finally:
        if started_here:
            camera.stop()


def _url_text(driver: Any) -> str:
    """The driver's URL as text (some drivers keep it parsed, with the original under ``.text``)."""
    url = getattr(driver, "url", "")
    return url if isinstance(url, str) else (getattr(url, "text", "") or str(url))


def device_path(url: str) -> str | None:
    """The device node (or file) a URL opens: ``serial:///dev/kiosk/idcard?…`` → ``/dev/kiosk/idcard``."""
    from urllib.parse import unquote, urlsplit

    if url.startswith("/"):
        return url.split("?", 1)[0]
    parts = urlsplit(url)
    if parts.scheme in ("serial", "v4l2", "hid", "file", "camera"):
        path = unquote(parts.netloc + parts.path)
        return path if path.startswith("/") else None
    return None


def holder_of(path: str, proc: str = "/proc") -> int | None:
    """The pid of another process that has ``path`` (after symlinks) open, or None."""
    import os

    try:
        target = os.path.realpath(path)
        if not os.path.exists(target):
            return None
        pids = [p for p in os.listdir(proc) if p.isdigit() and int(p) != os.getpid()]
    except OSError:
        return None
    for pid in pids:
        fd_dir = f"{proc}/{pid}/fd"
        try:
            for fd in os.listdir(fd_dir):
                try:
                    if os.readlink(f"{fd_dir}/{fd}") == target:
                        return int(pid)
                except OSError:
                    continue
        except OSError:
            continue
    return None


def probe_from_config(cfg, name: str, timeout: float, counters: dict | None = None) -> CheckResult:
    """Open the configured device, check it within ``timeout`` and close it; a device another
    process (the running kiosk UI) holds open is not touched: two programs on one serial line would
    garble a citizen's card read."""
    from kiosk.operate.checks import SKIP

    url = device_url(cfg, name)
    path = device_path(url)
    pid = holder_of(path) if path else None
    if pid is not None:
        label_en, label_zh = LABELS[name]
        return CheckResult(name, SKIP, f"in use by process {pid} (the kiosk UI?): not opened; test it in service mode",
                           "设备正被自助终端使用，请在维护模式中检测",
                           {"device": name, "label_en": label_en, "label_zh": label_zh, "url": redact_url(url),
                            "state": "in_use", "holder_pid": pid, "counters": dict(counters or {})}, group="device")
    try:
        driver = open_device(name, url)
    except ValueError as exc:
        return _result(name, url, False, "error", f"bad URL: {exc}", "设备地址配置有误", counters)
    try:
        return probe(name, driver, timeout, counters)
    finally:
        try:
            driver.stop()
        except Exception:
            pass


# -- live tests (service mode) -----------------------------------------------------------------


START_GRACE_S = 3.0  # a driver started a moment ago is still connecting: wait this long before calling it down


def _down(driver: Any, grace_s: float = START_GRACE_S) -> dict[str, str] | None:
    """A started driver that is offline or failed answers within ``grace_s`` (a live test must not wait
    out its timeout on a dead device, nor refuse one that is still connecting); None when it may be tried."""
    if getattr(driver, "_thread", None) is None:
        return None
    deadline = time.monotonic() + grace_s
    status = driver.status()
    while status.state.value in ("offline", "error") and time.monotonic() < deadline:
        time.sleep(0.05)
        status = driver.status()
    if status.state.value in ("offline", "error"):
        return {"error_en": f"the device is {status.state.value}: {status.detail_en}",
                "error_zh": f"设备{'离线' if status.state.value == 'offline' else '故障'}：{status.detail_zh}"}
    return None


def read_card(reader: Any, timeout: float = 10.0) -> dict[str, Any]:
    """Wait for a card; the result is masked and says how long the read took. Never raises for no card."""
    from devices.idcard.reader import NoCard, ReaderFailure
    from kiosk.commands.idcard import mask_card_fields

    started = time.monotonic()
    down = _down(reader)
    if down is not None:
        return {"ok": False, **down, "seconds": 0.0}
    try:
        event = reader.read_once(timeout)
    except NoCard as exc:
        return {"ok": False, "error_en": str(exc), "error_zh": "未读到身份证", "seconds": time.monotonic() - started}
    except ReaderFailure as exc:
        return {"ok": False, "error_en": str(exc), "error_zh": "读卡失败", "seconds": time.monotonic() - started}
    fields = mask_card_fields(event.card.to_dict())
    shown = {k: fields.get(k) for k in ("card_type", "name", "id_number", "valid_to", "expired") if k in fields}
    return {"ok": True, "card": shown, "seconds": round(time.monotonic() - started, 3)}


def scan_code(scanner: Any, timeout: float = 10.0) -> dict[str, Any]:
    """Wait for the next code scanned after this call (never one a citizen scanned before); ID-number-like
    and phone-like digits in it are masked."""
    import queue

    from devices.qr.events import CodeScanned
    from kiosk.operate.redact import redact_text

    started = time.monotonic()
    down = _down(scanner)
    if down is not None:
        return {"ok": False, **down, "seconds": 0.0}
    codes: queue.Queue = queue.Queue()
    unsubscribe = scanner.subscribe(lambda e: codes.put(e) if isinstance(e, CodeScanned) else None)
    try:
        event = codes.get(timeout=timeout)
    except queue.Empty:
        event = None
    finally:
        unsubscribe()
    if event is None:
        return {"ok": False, "error_en": f"no code within {timeout:g} s", "error_zh": "未扫到二维码",
                "seconds": time.monotonic() - started}
    text = redact_text(event.text)
    return {"ok": True, "text": text[:64] + ("…" if len(text) > 64 else ""), "length": len(event.text),
            "symbology": event.symbology, "seconds": round(time.monotonic() - started, 3)}


def image_figures(image: Any) -> dict[str, float]:
    """Sharpness (variance of the Laplacian) and brightness (mean grey, 0-255) of one frame."""
    import cv2
    import numpy as np

    grey = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    return {"sharpness": round(float(cv2.Laplacian(grey, cv2.CV_64F).var()), 1),
            "brightness": round(float(np.mean(grey)), 1)}


def camera_figures(camera: Any, timeout: float = 5.0) -> dict[str, Any]:
    """A fresh frame's sharpness and brightness, and its size (for the live view's caption)."""
    frame = camera.capture(timeout)
    if frame is None:
        return {"ok": False, "error_en": f"no frame within {timeout:g} s", "error_zh": "没有取得画面"}
    h, w = frame.image.shape[:2]
    return {"ok": True, "width": w, "height": h, **image_figures(frame.image)}


def print_test_receipt(printer: Any, kiosk_id: str, timeout: float = 30.0,
                       now: datetime | None = None) -> dict[str, Any]:
    """Print the receipt test page; answers how many bytes and the printer's state afterwards."""
    from kiosk.receipts import TestPage, build

    page = TestPage(kiosk_id=kiosk_id, printed_at=(now or datetime.now()).replace(microsecond=0))
    job = build(page, printer.profile)
    result = printer.print_job(job, timeout=timeout)
    if not result.ok:
        cond = result.error.condition
        return {"ok": False, "error_en": cond.detail_en, "error_zh": cond.detail_zh, "bytes": len(job)}
    from kiosk import counters

    counters.count_receipt(job, printer.profile)  # a test slip uses paper like any other
    return {"ok": True, "bytes": len(job), "state": result.after.state.value if result.after else "unknown"}


def a4_test_page_pdf(kiosk_id: str, now: datetime | None = None) -> bytes:
    """A one-page A4 PDF: border, a grey scale and the kiosk id (checks margins, toner and the queue)."""
    import io

    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    buffer = io.BytesIO()
    c = canvas.Canvas(buffer, pagesize=A4)
    width, height = A4
    c.setTitle("kiosk A4 test page")
    c.rect(36, 36, width - 72, height - 72)
    c.setFont("Helvetica-Bold", 28)
    c.drawCentredString(width / 2, height - 120, "A4 TEST PAGE")
    c.setFont("Helvetica", 14)
    c.drawCentredString(width / 2, height - 150, f"kiosk {kiosk_id}  {(now or datetime.now()):%Y-%m-%d %H:%M}")
    for i in range(10):
        c.setFillGray(i / 10)
        c.rect(72 + i * (width - 144) / 10, height / 2, (width - 144) / 10, 60, stroke=0, fill=1)
    c.showPage()
    c.save()
    return buffer.getvalue()


def print_a4_test_page(docprinter: Any, kiosk_id: str, timeout: float = 60.0) -> dict[str, Any]:
    """Print the A4 test page through the document printer's queue."""
    pdf = a4_test_page_pdf(kiosk_id)
    result = docprinter.print_job(pdf, "kiosk test page", timeout=timeout)
    out: dict[str, Any] = {"ok": result.completed, "bytes": len(pdf), "pages": result.pages,
                           "seconds": round(result.elapsed, 3)}
    if not result.completed:
        out["error_en"] = result.reason_en or str(result.reason)
        out["error_zh"] = result.reason_zh or "打印失败"
    return out
