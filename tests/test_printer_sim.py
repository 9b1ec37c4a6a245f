"""The simulator as a printer: what it parses, how it draws, how it answers, how its paper runs out."""
from __future__ import annotations

import json
import socket

import numpy as np
import pytest
import zxingcpp
from PIL import Image, ImageDraw

from devices.receipt_printer.escpos_writer import JobBuilder, writer_class
from devices.receipt_printer.layout import Cut, Qr, Text, render
from devices.receipt_printer.profiles import get_profile
from devices.receipt_printer.sim_parser import EscposParser
from devices.receipt_printer.simulator import ControlServer, PrinterSimulator

P80 = get_profile("80mm")


def escpos(profile=P80):
    out: list[bytes] = []
    return writer_class()(profile, sink=out.append), out


def one_job(data: bytes, **kw):
    sim = PrinterSimulator(**kw)
    sim.feed(data)
    sim.end_of_stream()
    assert len(sim.jobs) == 1
    return sim.jobs[0]


def ink(image) -> np.ndarray:
    return np.asarray(image.convert("L")) < 128


def test_byte_by_byte_equals_all_at_once():
    data = render([Text("回执 ABC", align="center", bold=True, size=2), Text("第二行 ¥5"), Qr("https://a.b/c"), Cut()], P80)
    whole = one_job(data)
    sim = PrinterSimulator()
    for i in range(len(data)):
        sim.feed(data[i:i + 1])
    sim.end_of_stream()
    assert len(sim.jobs) == 1
    assert sim.jobs[0].text == whole.text
    assert np.array_equal(ink(sim.jobs[0].image), ink(whole.image))
    parser = EscposParser()
    assert parser.feed(data[:-1]) and parser.pending == 2  # GS V waits for its argument


def test_chinese_mode_and_encodings():
    for encoding in ("gb18030", "gbk"):
        data = b"\x1b@\x1c&" + "受理回执".encode(encoding) + b"\x1c.\n"
        assert one_job(data, encoding=encoding).text == "受理回执"
    utf8 = b"\x1b@\x1c(C\x02\x000\x02\x1c&" + "受理回执".encode("utf-8") + b"\x1c.\n"
    assert one_job(utf8).text == "受理回执"
    # without FS & the bytes are code page characters, as on an Epson-like printer
    assert one_job(b"\x1b@" + "受理".encode("gb18030") + b"\n").text != "受理"
    assert one_job(b"\x1b@" + "受理".encode("gb18030") + b"\n", chinese_default=True).text == "受理"


def test_python_escpos_chinese_text_prints_garbage_and_ours_does_not():
    p, out = escpos()
    p.hw("INIT")
    p.text("费用¥5\n")  # python-escpos: GB18030 without FS &, ¥ as a 4-byte code
    theirs = one_job(b"".join(out))
    assert "费用" not in theirs.text
    ours = one_job(JobBuilder(P80).init().line("费用¥5").bytes())
    assert ours.text == "费用￥5" and ours.garbage == 0


def test_4_byte_codes_are_garbage_on_a_gbk_font_only():
    data = b"\x1b@\x1c&" + "¥䶮".encode("gb18030") + b"\x1c.\n"
    assert one_job(data, font_charset="gbk").garbage >= 2
    full = one_job(data, font_charset="gb18030")
    assert full.garbage == 0 and full.text == "¥䶮"


def test_character_size_bold_and_alignment():
    data = (b"\x1b@\x1ba\x00AB\n\x1ba\x01AB\n\x1ba\x02AB\n\x1d!\x11AB\n\x1d!\x00"
            b"\x1c&\xb9\xfa\x1c.\n\x1bE\x01\x1c&\xb9\xfa\x1c.\n")
    job = one_job(data)
    left, centre, right, big, kanji, bold = job.lines
    assert left.box[0] == 0 and left.box[2] == 24
    assert centre.box[0] == (576 - 24) // 2 and right.box[2] == 576
    assert big.box[2] - big.box[0] == 48 and big.box[3] - big.box[1] == 48
    assert kanji.box[2] - kanji.box[0] == 24
    px = ink(job.image)
    region = lambda box: px[box[1]:box[3], box[0]:box[2]]  # noqa: E731
    thin, thick = region(kanji.box).sum(), region(bold.box).sum()
    assert thin > 50
    assert thick > thin * 1.15


def test_lines_wrap_at_the_head_width():
    job = one_job(b"\x1b@" + b"x" * 60 + b"\n", paper_mm=80)
    assert [len(line.text) for line in job.lines] == [48, 12]
    job = one_job(b"\x1b@" + b"x" * 40 + b"\n", paper_mm=58)
    assert [len(line.text) for line in job.lines] == [32, 8]


def test_raster_image_is_drawn_dot_for_dot():
    pattern = Image.new("1", (64, 32), 1)
    ImageDraw.Draw(pattern).rectangle((8, 4, 40, 20), fill=0)
    p, out = escpos()
    p.image(pattern, center=False)
    job = one_job(b"".join(out))
    drawn = ink(job.image)
    assert drawn.shape == (32, 576)
    assert np.array_equal(drawn[:, :64], np.asarray(pattern) == 0)
    assert not drawn[:, 64:].any()


@pytest.mark.parametrize("module, ec", [(3, "L"), (6, "M"), (8, "H")])
def test_native_qr_is_a_real_qr(module, ec):
    from devices.receipt_printer.escpos_writer import qr_ec_constant

    p, out = escpos()
    p.set(align="center")
    p.qr("https://zwfw.example.gov.cn/progress/ZW20250123000042", size=module, ec=qr_ec_constant(ec), native=True)
    p.ln(3)
    job = one_job(b"".join(out))
    found = zxingcpp.read_barcodes(np.asarray(job.image.convert("L")))
    assert [r.text for r in found] == ["https://zwfw.example.gov.cn/progress/ZW20250123000042"]
    assert job.qr_payloads == [b"https://zwfw.example.gov.cn/progress/ZW20250123000042"]
    cols = np.where(ink(job.image).any(axis=0))[0]
    assert abs((cols.min() + cols.max()) / 2 - 288) <= module  # centred


def test_raster_qr_profile_decodes_too():
    profile = get_profile("ZJ-5870")
    data = render([Qr("KIOSK-TEST 1"), Cut()], profile)
    assert b"\x1d(k" not in data and b"\x1dv0" in data
    job = one_job(data, paper_mm=58)
    assert [r.text for r in zxingcpp.read_barcodes(np.asarray(job.image.convert("L")))] == ["KIOSK-TEST 1"]


def test_job_boundaries():
    sim = PrinterSimulator()
    sim.feed(b"\x1b@one\n\x1dV\x00")  # cut
    sim.feed(b"\x1b@two\n")
    sim.feed(b"\x1b@three\n")  # a new ESC @ after content ends the previous job
    sim.end_of_stream()
    assert [(j.text, j.cut) for j in sim.jobs] == [("one", True), ("two", False), ("three", False)]
    sim.feed(b"\x1b@\x10\x04\x01")
    sim.end_of_stream()
    assert len(sim.jobs) == 3  # status queries alone are no job


def test_unknown_and_oversized_commands_do_not_wedge_the_parser():
    data = b"\x1b@\x1b\x99ok\n\x1dv0\x00\xff\xff\xff\xffafter\n"
    job = one_job(data)
    assert job.unknown and "ok" in job.text and "after" in job.text


def test_status_answers_follow_the_condition():
    sim = PrinterSimulator(paper_cm=10, near_end_cm=5)
    q = lambda: sim.feed(b"\x10\x04\x01\x10\x04\x02\x10\x04\x04")  # noqa: E731
    assert q() == b"\x12\x12\x12"
    sim.open_cover()
    assert q() == b"\x1a\x16\x12"
    sim.close_cover()
    sim.set_error("autocutter")
    assert q() == b"\x1a\x52\x12" and sim.feed(b"\x10\x04\x03") == b"\x1a"
    sim.set_error(None)
    sim.set_offline(True)
    assert q() == b"\x1a\x12\x12"
    sim.set_offline(False)
    sim.set_silent(True)
    assert q() == b""
    sim.set_silent(False)
    sim.set_reply(b"\xff")
    assert q() == b"\xff\xff\xff"
    sim.set_reply(None)
    sim.feed(b"\x1b@" + b"\x1bd\x14" * 4)  # 4 x 20 lines x 30 dots = 2400 dots = 30 cm > 10 cm
    assert q() == b"\x1a\x32\x7e"  # offline, stopped at paper end, near end + paper end


def test_paper_runs_out_mid_job_and_near_end_comes_first():
    sim = PrinterSimulator(paper_cm=12, near_end_cm=4)
    line = b"\x1c&" + "第一行文字".encode("gb18030") + b"\x1c.\n"
    sim.feed(b"\x1b@" + line * 20 + b"\x1dV\x00")  # 20 x 30 dots = 7.5 cm
    assert sim.feed(b"\x10\x04\x04") == b"\x12"
    sim.feed(b"\x1b@" + line * 6 + b"\x1dV\x00")  # 12 - 7.5 - 2.25 = 2.25 cm left
    assert sim.feed(b"\x10\x04\x04") == b"\x1e"  # near end
    sim.feed(b"\x1b@" + line * 20 + b"\x1dV\x00")
    assert sim.feed(b"\x10\x04\x04") == b"\x7e"  # both sensors see no paper
    first, _, last = sim.jobs
    assert not first.truncated and last.truncated
    assert last.image.height == pytest.approx(2.25 * 80, abs=1)
    assert len(last.lines) < 20
    sim.load_paper()
    assert sim.feed(b"\x10\x04\x04") == b"\x12"


def test_nothing_prints_while_the_cover_is_open():
    sim = PrinterSimulator()
    sim.open_cover()
    sim.feed(b"\x1b@lost\n\x1dV\x00")
    assert sim.jobs[-1].truncated and sim.jobs[-1].lines == []


def test_pngs_are_written_and_numbered_on(tmp_path):
    (tmp_path / "job-0007.png").write_bytes(b"old")
    sim = PrinterSimulator(out_dir=tmp_path)
    sim.feed(b"\x1b@hello\n\x1dV\x00")
    job = sim.jobs[0]
    assert job.png_path == tmp_path / "job-0008.png"
    with Image.open(job.png_path) as img:
        assert img.size == (576, job.image.height) and img.mode == "1"
    assert not list(tmp_path.glob("*.tmp"))


def test_only_the_last_jobs_pictures_are_kept(tmp_path):
    sim = PrinterSimulator(out_dir=tmp_path, keep_jobs=3)
    for n in range(7):
        sim.feed(b"\x1b@slip %d\n\x1dV\x00" % n)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["job-0005.png", "job-0006.png", "job-0007.png"]


def test_control_port(tmp_path):
    sim = PrinterSimulator(paper_cm=50)
    control = ControlServer(sim).start()
    try:
        with socket.create_connection(control.address, timeout=5) as conn, conn.makefile("rwb") as stream:
            def say(line):
                stream.write(line.encode() + b"\n")
                stream.flush()
                return json.loads(stream.readline())

            assert say("cover open")["cover_open"] is True
            assert say("cover close")["cover_open"] is False
            assert say("paper out")["status"]["4"] == "0x7e"
            assert say("paper load 30")["paper_left_cm"] == 30
            assert say("silent on")["silent"] is True and sim.feed(b"\x10\x04\x01") == b""
            assert say("silent off")["silent"] is False
            assert say("reply 00")["reply"] == "00" and sim.feed(b"\x10\x04\x01") == b"\x00"
            assert say("error bogus")["ok"] is False
            assert say("dance")["ok"] is False
    finally:
        control.stop()


def test_two_connections_do_not_mix_their_commands():
    from devices.receipt_printer.simulator import SimulatorServer

    sim = PrinterSimulator()
    with SimulatorServer(sim) as server:
        with socket.create_connection(server.address, timeout=5) as a, \
                socket.create_connection(server.address, timeout=5) as b:
            text = "受理".encode("gb18030")
            a.sendall(b"\x1b@\x1c&" + text[:3])  # stops inside a character
            b.sendall(b"\x10\x04\x01")
            assert b.recv(1) == b"\x12"  # answered, not swallowed as the rest of a's character
            a.sendall(text[3:] + b"\x1c.\n\x1dV\x00")
            assert sim.wait_for_jobs(1)
    assert sim.jobs[0].text == "受理" and sim.jobs[0].garbage == 0
