"""``kiosk device camera scan|capture|status|self-test``: the technician's document-camera tools.

Exit codes: 0 done; 2 bad usage or input; 3 no document found (scan: in none of the images;
capture: in the frame, or the page never held still with --wait-still) — the straightened full
frame is still written, so the 3 only says "no page outline was found"; 4 the camera failed.
"""
from __future__ import annotations

import json
import math
import os
import shutil
import time
from pathlib import Path
from typing import Any

from kiosk.commands.device_cli import (add_options, check_timeout, device_actions, device_url, open_driver,
                                       report_self_test, report_status)
from kiosk.errors import DeviceFailure, NothingFound, UsageError

URL_HELP = ("camera URL: v4l2:///dev/video0?width=3264&height=2448&fourcc=MJPG&fps=15, "
            "file:///path/images/ (a folder or one image), sim://?seed=1 "
            "(default: devices.camera from the configuration)")


def register(parsers) -> None:
    sub = device_actions(parsers, "camera", help="document camera (高拍仪): scan pages, capture, status")

    scan = sub.add_parser("scan", help="find, straighten and enhance the page in every image (or one frame)",
                          epilog="Exit status 3 when no page was found in any image: the straightened full "
                                 "frames are written all the same.")
    scan.add_argument("--url", help=URL_HELP)
    scan.add_argument("--out", required=True, metavar="PATH",
                      help="output folder (one JPEG per image), a .jpg file for a single image, "
                           "or a .pdf file for all pages in one document")
    _mode_arguments(scan)
    scan.add_argument("--json", action="store_true",
                      help="one JSON object per image: source, corners (TL, TR, BR, BL or null), out, width, height, ms")
    scan.add_argument("--timeout", type=float, default=10.0, metavar="SECONDS",
                      help="for a live camera: how long to wait for a frame (default 10)")
    scan.set_defaults(func=cmd_scan)

    capture = sub.add_parser("capture", help="take one frame from the camera and save the page",
                             epilog="Exit status 3 when no page was found, or it did not lie still within "
                                    "--wait-still: the frame is written all the same. 4 when the camera fails.")
    capture.add_argument("--url", help=URL_HELP)
    capture.add_argument("--out", required=True, metavar="FILE", help="where to write it (.jpg, or .pdf)")
    _mode_arguments(capture)
    capture.add_argument("--raw", action="store_true", help="save the frame as the camera gave it (no page processing)")
    capture.add_argument("--wait-still", type=float, default=0.0, metavar="SECONDS",
                         help="wait up to this long for a page to lie still, then capture (default: capture at once)")
    capture.add_argument("--timeout", type=float, default=10.0, metavar="SECONDS",
                         help="how long to wait for the camera (default 10)")
    capture.add_argument("--json", action="store_true", help="print one JSON object")
    capture.set_defaults(func=cmd_capture)

    status = sub.add_parser("status", help="open the camera and report what it delivers")
    add_options(status, URL_HELP, timeout=10.0, timeout_help="how long to wait")
    status.set_defaults(func=cmd_status)

    test = sub.add_parser("self-test", help="check connection, frame rate, picture and format")
    add_options(test, URL_HELP, timeout=10.0, timeout_help="how long to wait")
    test.set_defaults(func=cmd_self_test)


def _mode_arguments(parser) -> None:
    parser.add_argument("--mode", choices=("color", "gray", "bw"), default="color",
                        help="enhancement: color (default), gray, or bw (black text on white)")
    parser.add_argument("--quality", type=int, default=85, metavar="Q", help="JPEG quality 30..100 (default 85)")
    parser.add_argument("--no-deskew", dest="deskew", action="store_false", help="do not straighten the text")


# -- helpers -----------------------------------------------------------------------------------
def _url(args) -> str:
    return device_url(args, "camera", "document camera")


def _check_common(args) -> None:
    if not (30 <= getattr(args, "quality", 85) <= 100):
        raise UsageError("--quality must be between 30 and 100")
    check_timeout(args)


def _spec(url: str):
    from devices.camera.urls import parse_camera_url

    return open_driver(lambda: parse_camera_url(url))


def _camera(url: str):
    from devices.camera.driver import DocumentCamera

    return open_driver(lambda: DocumentCamera(url))


def _live_frame(url: str, timeout: float):
    """One fresh frame from a live camera (v4l2 or sim), or DeviceFailure."""
    from devices.base import DeviceState

    camera = _camera(url)
    try:
        camera.start()
        status = camera.wait_settled(timeout)
        frame = camera.capture(timeout) if status.state in (DeviceState.READY, DeviceState.DEGRADED) else None
        if frame is None:
            raise DeviceFailure(camera.status().detail_en if camera.status().state != DeviceState.READY
                                else f"no frame from the camera within {timeout:g} s")
        return frame.image
    finally:
        camera.stop()


class _Staging:
    """Files written under temporary names next to their targets and renamed into place together at
    the end, so a failure halfway leaves none of them behind."""

    def __init__(self) -> None:
        self.pending: list[tuple[Path, Path]] = []
        self.made_dirs: list[Path] = []

    def ensure_dir(self, folder: Path) -> None:
        if folder.exists():
            if not folder.is_dir():
                raise UsageError(f"{folder} exists and is not a folder")
            return
        if not folder.parent.is_dir():
            raise UsageError(f"cannot create {folder}: {folder.parent} is not a folder")
        folder.mkdir()
        self.made_dirs.append(folder)

    def write(self, target: Path, data: bytes | None = None, writer=None) -> None:
        tmp = target.with_name(f".{target.name}.{os.getpid()}.part")
        try:
            if writer is not None:
                writer(tmp)
            else:
                with open(tmp, "wb") as fh:
                    fh.write(data)
                    fh.flush()
                    os.fsync(fh.fileno())
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise UsageError(f"cannot write {target}: {exc.strerror or exc}") from None
        self.pending.append((tmp, target))

    def commit(self) -> None:
        for tmp, target in self.pending:
            os.replace(tmp, target)
        self.pending = []

    def abort(self) -> None:
        for tmp, _ in self.pending:
            tmp.unlink(missing_ok=True)
        for folder in reversed(self.made_dirs):
            shutil.rmtree(folder, ignore_errors=True)


def _record(source: str, result, out: Path) -> dict[str, Any]:
    return {"source": source, "corners": result.corners_list(), "out": str(out), "width": result.width,
            "height": result.height, "ms": round(result.timings_ms["total"], 1)}


def _print_record(args, record: dict[str, Any]) -> None:
    if args.json:
        print(json.dumps(record, ensure_ascii=False), flush=True)
        return
    found = "page found" if record["corners"] is not None else "no page found, full frame used"
    print(f"{record['source']}: {found}, {record['width']}x{record['height']} "
          f"({record['ms']:.1f} ms) -> {record['out']}", flush=True)


# -- scan --------------------------------------------------------------------------------------
def cmd_scan(args) -> int:
    _check_common(args)
    url = _url(args)
    spec = _spec(url)
    out = Path(args.out)
    from devices.camera.pipeline import process
    from devices.camera.sources import list_images, read_image
    from devices.images import ImageError

    if spec.scheme == "file":
        folder = Path(spec.path)
        if not folder.exists():
            raise UsageError(f"{folder} does not exist")
        files = list_images(folder)
        if not files:
            raise UsageError(f"no images in {folder}")
        inputs = [(str(p), p) for p in files]
    else:
        inputs = [(url, None)]

    as_pdf = out.suffix.lower() == ".pdf"
    single_file = not as_pdf and len(inputs) == 1 and out.suffix.lower() in (".jpg", ".jpeg")
    if not as_pdf and not single_file and out.suffix.lower() in (".jpg", ".jpeg"):
        raise UsageError(f"{len(inputs)} images cannot go into one JPEG; give a folder or a .pdf as --out")

    staging = _Staging()
    records: list[dict[str, Any]] = []
    pages: list[bytes] = []
    used: set[str] = set()
    found = 0
    try:
        if not as_pdf and not single_file:
            staging.ensure_dir(out)
        elif not out.parent.is_dir():
            raise UsageError(f"{out.parent} is not a folder")
        for source, path in inputs:
            if path is None:
                image = _live_frame(url, args.timeout)
            else:
                try:
                    image = read_image(path)
                except ImageError as exc:
                    raise UsageError(f"cannot read {path} as an image: {exc}") from None
            result = process(image, args.mode, quality=args.quality, deskew=args.deskew)
            found += result.found
            if as_pdf or single_file:
                target = out
            else:
                stem = path.stem if path is not None else "frame"
                name, n = f"{stem}.jpg", 2
                while name in used:
                    name, n = f"{stem}_{n}.jpg", n + 1
                used.add(name)
                target = out / name
            if as_pdf:
                pages.append(result.jpeg)
            else:
                staging.write(target, result.jpeg)
            records.append(_record(source, result, target))
        if as_pdf:
            from devices.camera.pdf import write_pdf

            staging.write(out, writer=lambda tmp: write_pdf(pages, tmp))
        staging.commit()
    except BaseException:
        staging.abort()
        raise
    for record in records:
        _print_record(args, record)
    if not found:
        raise NothingFound("no document found" + (" in any image" if len(records) > 1 else "")
                           + "; the full frame was used")
    return 0


# -- capture -----------------------------------------------------------------------------------
def cmd_capture(args) -> int:
    _check_common(args)
    if not math.isfinite(args.wait_still) or args.wait_still < 0:
        raise UsageError("--wait-still must be zero or a positive number of seconds")
    url = _url(args)
    out = Path(args.out)
    if out.suffix.lower() not in (".jpg", ".jpeg", ".pdf"):
        raise UsageError("--out must end in .jpg, .jpeg or .pdf")
    if not out.parent.is_dir():
        raise UsageError(f"{out.parent} is not a folder")
    from devices.base import DeviceState
    from devices.camera.pipeline import encode_jpeg, process

    camera = _camera(url)
    still = True
    try:
        camera.start()
        status = camera.wait_settled(args.timeout)
        if status.state not in (DeviceState.READY, DeviceState.DEGRADED):
            raise DeviceFailure(status.detail_en)
        if args.wait_still > 0:
            image, still = _wait_still(camera, args.wait_still)
        else:
            frame = camera.capture(args.timeout)
            image = frame.image if frame is not None else None
        if image is None:
            raise DeviceFailure(f"no frame from the camera within {args.timeout:g} s")
    finally:
        camera.stop()

    if args.raw:  # no detection: corners null
        data, record = encode_jpeg(image, 95), {"source": url, "corners": None, "out": str(out),
                                                "width": image.shape[1], "height": image.shape[0], "ms": 0.0}
        found = True
    else:
        result = process(image, args.mode, quality=args.quality, deskew=args.deskew)
        data, record, found = result.jpeg, _record(url, result, out), result.found
    staging = _Staging()
    try:
        if out.suffix.lower() == ".pdf":
            from devices.camera.pdf import write_pdf

            staging.write(out, writer=lambda tmp: write_pdf([data], tmp))
        else:
            staging.write(out, data)
        staging.commit()
    except BaseException:
        staging.abort()
        raise
    if args.raw and not args.json:
        print(f"{url}: frame {record['width']}x{record['height']} -> {out}", flush=True)
    else:
        _print_record(args, record)
    if not still:
        raise NothingFound(f"the page did not lie still within {args.wait_still:g} s; the last frame was saved")
    if not found:
        raise NothingFound("no document found; the full frame was saved")
    return 0


def _wait_still(camera, seconds: float):
    """Follow the preview until a page has lain still (returns that frame, True), or until the time
    is up (returns the last frame, False)."""
    from devices.camera.preview import PreviewDetector
    from devices.camera.stability import Phase, StabilityDetector

    preview, stability = PreviewDetector(), StabilityDetector()
    deadline = time.monotonic() + seconds
    last, seq = None, 0
    while time.monotonic() < deadline:
        frame = camera.wait_for_frame(seq, max(0.05, deadline - time.monotonic()))
        if frame is None:
            break
        seq, last = frame.seq, frame.image
        small = preview.update(frame.image)
        if stability.update(frame.image, small.corners).phase == Phase.CAPTURE:
            return frame.image, True
    return last, False


# -- status / self-test ------------------------------------------------------------------------
def cmd_status(args) -> int:
    _check_common(args)
    url = _url(args)
    camera = _camera(url)
    try:
        camera.start()
        status = camera.wait_settled(args.timeout)
        props = camera.properties()
    finally:
        camera.stop()
    return report_status({"url": url, **status.as_dict(), "properties": props}, status, args.json)


def cmd_self_test(args) -> int:
    _check_common(args)
    url = _url(args)
    camera = _camera(url)
    return report_self_test(camera.self_test(args.timeout), url, args.json)
