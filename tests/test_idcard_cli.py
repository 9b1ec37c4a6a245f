"""``kiosk device idcard read|status`` and ``kiosk sim idcard`` run as a technician would run them."""
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
JSON_KEYS = ["card_type", "name", "name_en", "sex", "nation", "birth_date", "address", "id_number", "issuer",
             "valid_from", "valid_to", "expired", "id_number_valid", "nationality", "pass_number",
             "issue_count", "photo_bytes"]


def kiosk(*args, timeout=30):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "kiosk.cli", *args], capture_output=True, text=True,
                          timeout=timeout, cwd=ROOT, env=env)


def one_line_error(result, code):
    assert result.returncode == code, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("kiosk: "), result.stderr
    assert "Traceback" not in result.stderr
    return lines[0]


def test_read_json_is_masked_by_default():
    result = kiosk("device", "idcard", "read", "--url", "sim://?card=resident", "--json")
    assert result.returncode == 0, result.stderr
    card = json.loads(result.stdout)
    assert list(card) == JSON_KEYS
    assert card["name"] == "韦*" and card["id_number"] == "450329********0427"
    assert card["address"] == "广西壮族自治区****" and card["birth_date"] == "1988-**-**"
    assert (card["card_type"], card["sex"], card["nation"], card["valid_to"]) == ("resident", "女", "壮", "2038-03-01")
    assert card["id_number_valid"] is True and card["expired"] is False and card["photo_bytes"] == 1024
    assert card["name_en"] is None and card["pass_number"] is None


def test_read_reveal_prints_in_clear_and_logs_stay_masked():
    result = kiosk("-v", "device", "idcard", "read", "--url", "sim://?card=hkmt_permit&mode=noisy", "--json", "--reveal")
    assert result.returncode == 0, result.stderr
    card = json.loads(result.stdout)
    assert card["name"] == "陈嘉欣" and card["id_number"] == "810000198503160522"
    assert card["pass_number"] == "H60123456" and card["issue_count"] == 2
    assert "DEBUG" in result.stderr and "read text+photo" in result.stderr  # -v did log the exchange
    for secret in ("陈嘉欣", "810000198503160522", "H60123456", "示例路88号"):
        assert secret not in result.stderr


def test_read_plain_text():
    result = kiosk("device", "idcard", "read", "--url", "sim://?card=foreign_2017")
    assert result.returncode == 0, result.stderr
    assert "foreign_permanent_2017" in result.stdout and "USA310*****0015" in result.stdout
    assert "T******************" in result.stdout and "TESTER" not in result.stdout


def test_no_card_before_the_timeout_exits_3():
    line = one_line_error(kiosk("device", "idcard", "read", "--url", "sim://", "--timeout", "0.5"), 3)
    assert "no card" in line


@pytest.mark.parametrize("url, words", [
    ("sim://?card=resident&mode=nosam", "SAM"),
    ("sim://?card=resident&mode=silent", "not answering"),
    ("/dev/no-such-reader", "unavailable"),
])
def test_reader_failures_exit_4(url, words):
    assert words in one_line_error(kiosk("device", "idcard", "read", "--url", url, "--timeout", "3"), 4)


@pytest.mark.parametrize("args", [
    ["--url", "sim://?card=resident", "--timeout", "-1"],
    ["--url", "sim://?card=resident", "--timeout", "nan"],
    ["--url", "gopher://reader"],
    ["--url", "sim://?card=nobody"],
    ["--url", "serial:///dev/ttyUSB0?baud=300"],
])
def test_bad_usage_exits_2(args):
    one_line_error(kiosk("device", "idcard", "read", *args), 2)


def test_status_json_and_failure():
    result = kiosk("device", "idcard", "status", "--url", "sim://", "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["state"] == "ready" and report["sam_id"] == "05.01-20181128-0012345678-3000011234"
    failed = kiosk("device", "idcard", "status", "--url", "sim://?mode=nosam", "--json")
    one_line_error(failed, 4)
    assert json.loads(failed.stdout)["state"] == "error"


def test_simulator_server_serves_socket_clients():
    sim = subprocess.Popen([sys.executable, "-m", "kiosk.cli", "sim", "idcard", "--listen", "127.0.0.1:0",
                            "--card", str(ROOT / "devices/idcard/fixtures/foreign_2023.json")],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
                           env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        banner = sim.stdout.readline()
        url = next(word for word in banner.split() if word.startswith("socket://"))
        result = kiosk("device", "idcard", "read", "--url", url, "--json")
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout)["card_type"] == "foreign_permanent_2023"
        # the card was read and stays on the reader: it must leave before it is read again
        one_line_error(kiosk("device", "idcard", "read", "--url", url, "--timeout", "0.6"), 3)
        assert kiosk("device", "idcard", "status", "--url", url).returncode == 0
    finally:
        sim.send_signal(signal.SIGTERM)
        assert sim.wait(timeout=10) == 0


def test_simulator_refuses_bad_arguments():
    one_line_error(kiosk("sim", "idcard", "--listen", "localhost"), 2)
    one_line_error(kiosk("sim", "idcard", "--listen", "127.0.0.1:0", "--mode", "wobbly"), 2)
    one_line_error(kiosk("sim", "idcard", "--listen", "127.0.0.1:0", "--card", "/nonexistent/card.json"), 2)
