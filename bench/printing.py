"""Receipt printing: time to build, send and render a submission receipt, against baselines in the same run.

- build: kiosk.receipts -> ESC/POS bytes (python-escpos commands, our Chinese encoder),
  against python-escpos ``Dummy`` generating the same lines with its own ``text()`` and QR;
- job: build + send through the production driver (status checked before and after) + render
  to a PNG by the simulator, in-process (``sim://``) and over TCP;
- bytes: native Chinese text against the same receipt sent as a raster image (``GS v 0``).

Run: ``python bench/printing.py`` (about 20 s). Prints medians and ratios.
"""
from __future__ import annotations

import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from devices.receipt_printer.driver import ReceiptPrinter  # noqa: E402
from devices.receipt_printer.escpos_writer import _escpos_module, writer_class  # noqa: E402
from devices.receipt_printer.profiles import get_profile  # noqa: E402
from devices.receipt_printer.simulator import PrinterSimulator, SimulatorServer  # noqa: E402
from kiosk import receipts as R  # noqa: E402

RUNS = 50
RECEIPT = R.SubmissionReceipt(
    receipt_no="ZW20250123000042", item_name="城乡居民基本养老保险参保登记",
    submitted_at=datetime(2025, 1, 23, 9, 41), lookup_url="https://zwfw.example.gov.cn/progress/ZW20250123000042",
    materials=(R.Material("居民身份证", "original", 1), R.Material("户口簿首页及本人页", "copy", 2),
               R.Material("社会保障卡", "both", 1, required=False)),
    delivery="post", applicant="张三丰", centre_name="青山镇便民服务中心", department="青山镇社会保障服务所",
    time_limit_days=5, kiosk_id="QS-001")


def other_receipts() -> dict[str, R.Receipt]:
    at = datetime(2025, 1, 23, 9, 41)
    return {
        "one-time notice": R.OneTimeNotice(
            item_name="城乡居民基本养老保险参保登记", printed_at=at, department="县人力资源和社会保障局",
            conditions=("年满16周岁（不含在校学生）", "非国家机关和事业单位工作人员", "未参加城镇职工基本养老保险"),
            materials=(R.Material("居民身份证", "原件", 1), R.Material("户口簿", "原件及复印件", 1),
                       R.Material("近期一寸免冠照片", "原件", 2, required=False, note="白底")),
            time_limit_days=5, legal_time_limit_days=20, enquiry_phone="0731-12345678", supervision_phone="12345",
            centre_name="青山镇便民服务中心", guide_url="https://zwfw.example.gov.cn/guide/RS-0101"),
        "certificate slip": R.CertificateSlip(
            certificate_name="城乡居民养老保险参保缴费证明", verification_code="7K3P9QXA22MD", printed_at=at, pages=2,
            holder="李四", verify_url="https://zwfw.example.gov.cn/verify/7K3P9QXA22MD", kiosk_id="QS-001"),
        "request receipt": R.RequestReceipt(
            request_no="FW20250123000003", kind="door", submitted_at=at, item_name="残疾人证换领",
            contact_phone="13812341234", lookup_url="https://zwfw.example.gov.cn/progress/FW20250123000003"),
        "test page": R.TestPage(kiosk_id="QS-001", printed_at=at),
    }


def median_ms(fn, runs=RUNS) -> float:
    fn()  # warm-up (imports, glyph cache)
    samples = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t) * 1000)
    return statistics.median(samples)


def dummy_same_text(profile) -> bytes:
    """What python-escpos alone would send for the same receipt lines (its text(), its QR)."""
    from escpos.printer import Dummy

    _escpos_module()
    from devices.receipt_printer.layout import Field, Qr, Row, Rule, Text

    p = Dummy()
    for block in R.submission_blocks(RECEIPT):
        if isinstance(block, Text):
            p.set(align=block.align, bold=block.bold, double_width=block.size > 1, double_height=block.size > 1)
            p.textln(block.text)
            p.set(normal_textsize=True, bold=False, align="left")
        elif isinstance(block, Field):
            p.textln(f"{block.label}：{block.value}")
        elif isinstance(block, Row):
            p.textln(f"{block.marker}{block.left}  {block.right}")
        elif isinstance(block, Rule):
            p.textln("-" * profile.columns)
        elif isinstance(block, Qr):
            p.qr(block.data, size=profile.qr_module, native=True)
            p.textln(block.caption)
    p.cut()
    return p.output


def raster_of(job_image, profile) -> bytes:
    """The same receipt as one raster image (what printing text as pictures would send), by python-escpos."""
    out: list[bytes] = []
    p = writer_class()(profile, sink=out.append)
    p.image(job_image.convert("RGB"), center=False)
    p.cut()
    return b"".join(out)


def main() -> None:
    t0 = time.perf_counter()
    profile = get_profile("80mm")
    native = R.build(RECEIPT, profile)

    build_ms = median_ms(lambda: R.build(RECEIPT, profile))
    dummy_ms = median_ms(lambda: dummy_same_text(profile))

    render_sim = PrinterSimulator()
    render_ms = median_ms(lambda: (render_sim.feed(native), render_sim.end_of_stream()))

    scratch = tempfile.TemporaryDirectory(prefix="bench-printer-")
    with ReceiptPrinter(f"sim://?out={scratch.name}", poll_interval=3600) as printer:
        assert printer.print_job(R.build(RECEIPT, printer.profile)).ok
        sim_job_ms = median_ms(lambda: printer.print_job(R.build(RECEIPT, printer.profile)))

    tcp_sim = PrinterSimulator()
    with SimulatorServer(tcp_sim) as server, ReceiptPrinter(server.url, poll_interval=3600) as printer:
        def over_tcp():
            done = tcp_sim.jobs_printed
            assert printer.print_job(R.build(RECEIPT, printer.profile)).ok
            assert tcp_sim.wait_for_jobs(done + 1)
        tcp_job_ms = median_ms(over_tcp)

    scratch.cleanup()
    image = render_sim.jobs[-1].image
    raster = raster_of(image, profile)
    dummy = dummy_same_text(profile)

    print(f"submission receipt, 80 mm ({image.width} x {image.height} dots), median of {RUNS} runs")
    print(f"  build bytes (kiosk.receipts)          {build_ms:8.2f} ms   {len(native):6d} bytes")
    print(f"  baseline python-escpos Dummy, same text {dummy_ms:6.2f} ms   {len(dummy):6d} bytes"
          f"   ratio ours/baseline {build_ms / dummy_ms:5.2f}x")
    print(f"  simulator parse + draw (no file)       {render_ms:7.2f} ms")
    print(f"  job via driver on sim:// (build, status, send, draw, PNG file, status) {sim_job_ms:7.2f} ms"
          f"   {'meets' if sim_job_ms <= 50 else 'MISSES'} the 50 ms goal")
    print(f"  job via driver over TCP to the simulator {tcp_job_ms:8.2f} ms")
    print(f"  bytes: native Chinese text {len(native)} vs raster image {len(raster)}"
          f"   = {len(raster) / len(native):5.1f}x fewer ({'meets' if len(raster) >= 10 * len(native) else 'MISSES'} the 10x goal)")

    print(f"every receipt, 80 mm: driver on sim:// (median of {RUNS // 5}), native text vs raster bytes")
    scratch = tempfile.TemporaryDirectory(prefix="bench-printer-")
    with ReceiptPrinter(f"sim://?out={scratch.name}", poll_interval=3600) as printer:
        for name, receipt in {"submission receipt": RECEIPT, **other_receipts()}.items():
            ms = median_ms(lambda: printer.print_job(R.build(receipt, printer.profile)), runs=RUNS // 5)
            data = R.build(receipt, printer.profile)
            picture = raster_of(printer.simulator.jobs[-1].image, profile)
            print(f"  {name:20s} {ms:7.2f} ms/job   {len(data):5d} vs {len(picture):6d} bytes"
                  f"   {len(picture) / len(data):5.1f}x fewer")
    scratch.cleanup()
    print(f"  (bench took {time.perf_counter() - t0:.1f} s)")


if __name__ == "__main__":
    main()
