"""``kiosk doctor`` against healthy simulators, silent and absent devices, and a platform on loopback."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from conftest import run_kiosk
from kiosk.operate.devices import holder_of

DEVICES = ("idcard", "qr", "camera", "receipt_printer", "document_printer")


class SilentServer:
    """Accepts TCP connections and never says a word: a device that hangs."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.conns: list[socket.socket] = []
        self._stop = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self._stop:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(conn)

    def close(self) -> None:
        self._stop = True
        self.sock.close()
        for c in self.conns:
            c.close()


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Platform(BaseHTTPRequestHandler):
    token = "site-token"

    def do_HEAD(self):  # noqa: N802 - http.server API
        ok = self.path == "/api/v1/catalogue" and self.headers.get("Authorization") == f"Bearer {self.token}"
        self.send_response(200 if ok else 401)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def platform():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Platform)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://localhost:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


def write_config(tmp_path, devices: dict[str, str], platform: str = "", token: str = "") -> str:
    lines = ["[paths]", f'data_dir = "{tmp_path}/data"', f'log_dir = "{tmp_path}/log"',
             f'key_file = "{tmp_path}/keys/outbox.key"', "[devices]"]
    lines += [f'{k} = "{v}"' for k, v in devices.items()]
    if platform:
        lines += ["[platform]", f'base_url = "{platform}"', f'token = "{token}"', "[kiosk]", "number = 7"]
    path = tmp_path / "kiosk.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return str(path)


def doctor(config: str, *extra: str):
    proc = run_kiosk("--config", config, "doctor", "--json", *extra, timeout=60)
    assert proc.stdout, proc.stderr
    return proc, {c["name"]: c for c in json.loads(proc.stdout)["checks"]}


def test_healthy_simulators_exit_0_with_a_table_and_json(tmp_path):
    config = write_config(tmp_path, {name: "sim://" for name in DEVICES})
    proc, checks = doctor(config, "--timeout", "30")  # correctness here; deadlines are the next test's
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for name in DEVICES:
        assert checks[name]["status"] == "ok", checks[name]
        assert checks[name]["data"]["url"].startswith("sim://")
    assert checks["camera"]["data"]["sharpness"] > 0 and 0 < checks["camera"]["data"]["brightness"] < 255
    assert checks["network"]["status"] == "skip"  # demo profile
    table = run_kiosk("--config", config, "doctor", "--only", "device", "--timeout", "30", timeout=90)
    assert table.returncode == 0 and "all well" in table.stdout
    assert "document_printer  ok" in table.stdout
    assert not (tmp_path / "data" / "outbox").exists(), "doctor must not create an outbox"


def test_silent_and_absent_devices_fail_within_their_deadline_and_exit_4(tmp_path):
    silent = SilentServer()
    try:
        config = write_config(tmp_path, {
            "idcard": f"socket://127.0.0.1:{silent.port}",
            "qr": f"socket://127.0.0.1:{closed_port()}",
            "camera": f"v4l2://{tmp_path}/no-such-video0",
            "receipt_printer": f"socket://127.0.0.1:{silent.port}",
            "document_printer": f"cups://A4?server=127.0.0.1:{silent.port}",
        })
        proc, checks = doctor(config, "--timeout", "1.5", "--only", "device")
    finally:
        silent.close()
    assert proc.returncode == 4, proc.stderr
    for name in DEVICES:
        assert checks[name]["status"] == "fail", checks[name]
        assert checks[name]["data"].get("last_error") or checks[name]["data"].get("timed_out"), checks[name]
        # How long each check took is measured by bench/doctor.py, not asserted here (the machine may be loaded).
    assert "Traceback" not in proc.stderr


def test_platform_on_loopback_dns_tcp_https_and_a_refused_token(tmp_path, platform):
    config = write_config(tmp_path, {}, platform=platform, token="site-token")
    proc, checks = doctor(config, "--only", "network", "--timeout", "20")
    assert proc.returncode == 0, proc.stdout
    assert checks["network.dns"]["status"] == "ok" and checks["network.tcp"]["status"] == "ok"
    assert checks["network.https"]["data"]["status"] == 200 and checks["network.https"]["data"]["ms"] >= 0
    wrong = write_config(tmp_path, {}, platform=platform, token="stolen")
    proc, checks = doctor(wrong, "--only", "network", "--timeout", "20")
    assert proc.returncode == 4
    assert checks["network.https"]["status"] == "fail" and "token" in checks["network.https"]["summary_en"]
    assert "stolen" not in proc.stdout


def test_platform_down(tmp_path):
    config = write_config(tmp_path, {}, platform=f"http://127.0.0.1:{closed_port()}/", token="t")
    proc, checks = doctor(config, "--only", "network", "--timeout", "20")
    assert proc.returncode == 4
    assert checks["network.tcp"]["status"] == "fail" and checks["network.https"]["status"] == "fail"


@pytest.mark.parametrize("args, message", [
    (("--timeout", "0"), "--timeout"),
    (("--timeout", "nan"), "--timeout"),
    (("--only", "toaster"), "unknown group"),
    (("--only", "disk", "--skip", "disk"), "unknown group"),
    (("--only", "system", "--skip", "system"), "nothing left"),
])
def test_bad_usage_exits_2_with_one_line(tmp_path, args, message):
    proc = run_kiosk("--config", write_config(tmp_path, {}), "doctor", *args)
    assert proc.returncode == 2
    assert message in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


def test_outbox_with_a_dead_item_is_not_well(tmp_path):
    config = write_config(tmp_path, {})
    put = run_kiosk("--config", config, "queue", "enqueue", "--path", "/api/v1/ratings", "--json", '{"score": 5}')
    assert put.returncode == 0, put.stderr
    from offline_queue import Outbox

    box = Outbox(tmp_path / "data" / "outbox", key_file=tmp_path / "keys" / "outbox.key")
    [item] = box.lease()
    box.mark_dead(item, "HTTP 422: 13812345678 is not a valid field")
    box.close()
    proc, checks = doctor(config, "--only", "outbox", "--timeout", "20")
    assert proc.returncode == 4
    outbox = checks["outbox"]
    assert outbox["status"] == "warn" and outbox["data"]["dead"] == 1
    assert "13812345678" not in proc.stdout and "138****5678" in proc.stdout


def test_a_device_the_running_kiosk_holds_is_not_opened(tmp_path):
    """A serial line another process has open (here a pty held by a child) is reported, never touched."""
    master, slave = os.openpty()
    path = os.ttyname(slave)
    link = tmp_path / "idcard"
    link.symlink_to(path)
    holder = subprocess.Popen([sys.executable, "-c", f"import time; f = open({path!r}, 'rb'); time.sleep(60)"])
    try:
        os.close(slave)
        for _ in range(100):  # until the child has opened it
            if holder_of(str(link)) == holder.pid:
                break
            time.sleep(0.1)
        config = write_config(tmp_path, {"idcard": f"serial://{link}?baud=115200"})
        proc, checks = doctor(config, "--only", "device", "--timeout", "20")
        idcard = checks["idcard"]
        assert idcard["status"] == "skip" and idcard["data"]["holder_pid"] == holder.pid, idcard
        os.set_blocking(master, False)
        try:
            written = os.read(master, 4096)
        except BlockingIOError:
            written = b""
        assert written == b"", "doctor wrote to a line the kiosk holds"
    finally:
        holder.kill()
        holder.wait()
        os.close(master)
