"""Printer URLs and profiles: every scheme, its settings, and one clear line for each mistake."""
from __future__ import annotations

import pytest

from devices.receipt_printer.profiles import ProfileError, all_profiles, get_profile
from devices.receipt_printer.urls import parse_printer_url, with_settings
from devices.urls import DeviceUrlError


def test_serial_url_becomes_path_and_baud():
    u = parse_printer_url("serial:///dev/ttyS0?baud=9600&rtscts=1")
    assert (u.kind, u.target, u.options) == ("serial", "/dev/ttyS0", {"baudrate": 9600, "rtscts": True})
    assert parse_printer_url("/dev/ttyUSB0").target == "/dev/ttyUSB0"


@pytest.mark.parametrize("url, target", [
    ("socket://127.0.0.1:9100", "socket://127.0.0.1:9100"),
    ("loop://", "loop://"),
    ("spy://loop://?file=/dev/null", "spy://loop://?file=/dev/null"),
    ("socket://10.0.0.5:4001?logging=debug&profile=58mm&encoding=gbk", "socket://10.0.0.5:4001?logging=debug"),
    ("rfc2217://10.0.0.5:2217", "rfc2217://10.0.0.5:2217"),
])
def test_other_pyserial_urls_pass_through_without_our_settings(url, target):
    u = parse_printer_url(url)
    assert u.kind == "serial" and u.target == target


def test_tcp_file_usb_sim():
    u = parse_printer_url("tcp://printer.local?profile=58mm&qr=raster")
    assert (u.kind, u.target, u.port, u.profile.dots, u.profile.qr) == ("tcp", "printer.local", 9100, 384, "raster")
    assert parse_printer_url("tcp://127.0.0.1:9101").port == 9101
    f = parse_printer_url("file:///tmp/job.bin")
    assert f.kind == "file" and f.target == "/tmp/job.bin" and not f.readable
    usb = parse_printer_url("usb://0x0416:0x5011?out_ep=0x03")
    assert usb.options == {"idVendor": 0x0416, "idProduct": 0x5011, "out_ep": 3}
    sim = parse_printer_url("sim://?paper=58&paper_cm=30")
    assert sim.profile.name == "58mm" and sim.options["paper_mm"] == 58 and sim.options["paper_cm"] == 30.0


def test_settings_override_the_profile():
    u = parse_printer_url("tcp://h?profile=RP326&encoding=utf-8&font=gb18030&qr_module=4&cutter=false")
    p = u.profile
    assert (p.name, p.encoding, p.font_charset, p.qr_module, p.cutter) == ("RP326", "utf-8", "gb18030", 4, False)


@pytest.mark.parametrize("url, message", [
    ("", "empty"),
    ("lpt://1", "unknown printer URL scheme"),
    ("serial://", "device path"),
    ("serial:///dev/ttyS0?baud=fast", "baud"),
    ("serial:///dev/ttyS0?parity=E", "unknown serial option"),
    ("tcp://", "needs a host"),
    ("tcp://h:99999", "bad port"),
    ("tcp://h?encoding=big5", "encoding"),
    ("tcp://h?profile=TM-U220", "unknown printer profile"),
    ("tcp://h?qr_module=40", "qr_module"),
    ("file://relative.bin", "absolute path"),
    ("usb://printer", "VID:PID"),
    ("sim://?paper=76", "58 or 80"),
    ("sim://?colour=red", "unknown sim option"),
])
def test_bad_urls_say_why(url, message):
    with pytest.raises(DeviceUrlError, match=message):
        parse_printer_url(url)


def test_site_settings_apply_where_the_url_is_silent():
    assert with_settings("sim://", encoding="gbk", paper_mm=58) == "sim://?profile=58mm&encoding=gbk"
    assert with_settings("tcp://h?encoding=utf-8", encoding="gbk", paper_mm=80) == "tcp://h?encoding=utf-8"
    assert with_settings("tcp://h?profile=ZJ-5870", encoding="gb18030", paper_mm=58) == "tcp://h?profile=ZJ-5870"
    assert with_settings("/dev/ttyS0", encoding="gbk", paper_mm=58) == "/dev/ttyS0"
    assert parse_printer_url(with_settings("serial:///dev/ttyS0?baud=19200", encoding="gbk", paper_mm=58)).profile.encoding == "gbk"


def test_profiles_are_consistent_data():
    profiles = all_profiles()
    assert {"80mm", "58mm"} <= set(profiles)
    for p in profiles.values():
        assert p.dots in (384, 576) and p.columns * 12 == p.dots
    with pytest.raises(ProfileError):
        get_profile("nope")
