"""What the UI needs from the world, without Kivy: platform, catalogue, network state, demo backend.

Every method here may block; the app calls them only from workers (``kiosk.bridge.Workers``).
"""
from __future__ import annotations

import ctypes
import logging
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from kiosk.catalogue import CatalogueSnapshot, CatalogueStore, SearchIndex
from kiosk.config import Config
from kiosk.errors import DeviceFailure
from kiosk.platform_client import PlatformClient

log = logging.getLogger(__name__)

DEMO_TOKEN = "demo-token"


def _die_with_parent() -> None:
    """In the demo backend child: get SIGTERM when the kiosk dies, so no orphan keeps the port."""
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class DemoBackend:
    """The reference backend as its own process on loopback, with its seeded data."""

    def __init__(self, data_dir: Path, kiosk_id: str):
        self.db_path = data_dir / "demo" / "backend.sqlite3"
        self.kiosk_id = kiosk_id
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None
        self.ready = False

    def start(self) -> None:
        self.db_path.parent.mkdir(parents=True, exist_ok=True)
        cmd = [sys.executable, "-m", "kiosk.cli", "backend", "--host", "127.0.0.1", "--port", str(self.port),
               "--db", f"sqlite:///{self.db_path}", "--demo", "--kiosk-token", f"{self.kiosk_id}={DEMO_TOKEN}"]
        self.process = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                        preexec_fn=_die_with_parent, start_new_session=False)
        log.info("demo backend starting on %s", self.url)

    def wait_ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                err = (self.process.stderr.read() or b"").decode(errors="replace").strip().splitlines()
                raise DeviceFailure(f"demo backend exited: {err[-1] if err else self.process.returncode}")
            try:
                requests.get(self.url + "/api/v1/catalogue", timeout=1,
                             headers={"Authorization": f"Bearer {DEMO_TOKEN}"})
                return
            except requests.RequestException:
                time.sleep(0.1)
        raise DeviceFailure("demo backend did not start in time")

    def stop(self) -> None:
        self.ready = False
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self.process = None


@dataclass
class CatalogueResult:
    snapshot: CatalogueSnapshot
    index: SearchIndex


class Services:
    def __init__(self, cfg: Config):
        self.cfg = cfg
        self.demo: DemoBackend | None = None
        self.base_url = cfg.platform.base_url
        self.token = cfg.platform.token
        self.client: PlatformClient | None = None
        self.catalogue_store: CatalogueStore | None = None
        self.outbox: Any = None
        self.sender: Any = None
        # called from the outbox's threads with its status dict; the app routes it through the bridge
        self.on_outbox_change: Any = None
        self.receipts: Any = None  # kiosk.submission.ReceiptBook: every receipt number issued here
        self.divisions: Any = None  # kiosk.divisions.DivisionStore: addresses chosen from lists, offline too

    @property
    def data_dir(self) -> Path:
        return self.cfg.paths.data_dir

    def start(self) -> None:
        """Start what runs beside the UI; quick (does not wait for the demo backend)."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if self.cfg.demo:
            self.demo = DemoBackend(self.data_dir, self.cfg.kiosk.id)
            self.demo.start()
            self.base_url, self.token = self.demo.url, DEMO_TOKEN
        self.client = PlatformClient(self.base_url, self.token, self.cfg.kiosk.id, self.cfg.platform.timeout_s)
        self.catalogue_store = CatalogueStore(self.data_dir / "cache" / "catalogue.json",
                                              self.client.fetch_catalogue)
        self.outbox = self._open_outbox()
        from kiosk.divisions import DivisionStore

        self.divisions = DivisionStore(self.data_dir / "cache" / "divisions.json", self.client.divisions,
                                       self.cfg.kiosk.division_code)
        from kiosk.submission import ReceiptBook, use_receipt_book

        self.receipts = ReceiptBook(self.data_dir / "receipts.db", self.cfg.kiosk.number)  # opened on first use
        use_receipt_book(self.receipts)
        if self.outbox is not None:
            from offline_queue import Sender

            self.sender = Sender(self.outbox, self.base_url, self.token, concurrency=self.cfg.outbox.concurrency,
                                 on_change=lambda status: self.on_outbox_change and self.on_outbox_change(status))
            self.sender.start()

    def _open_outbox(self) -> Any:
        from offline_queue import Outbox

        try:
            return Outbox(self.data_dir / "outbox", key_file=self.cfg.paths.key_file,
                          quota_bytes=self.cfg.outbox.quota_mb * 1024 * 1024,
                          retention_s=self.cfg.outbox.retention_days * 86400)
        except Exception as exc:  # the kiosk still serves guides without an outbox
            log.error("outbox unavailable: %s", exc)
            return None

    def load_catalogue(self) -> CatalogueResult:
        """Blocking: cached copy or platform, then the search index."""
        assert self.catalogue_store is not None
        if self.demo is not None:
            try:
                self.demo.wait_ready()
            except DeviceFailure as exc:
                log.error("%s", exc)
        snapshot = self.catalogue_store.refresh()
        self.refresh_divisions()
        return CatalogueResult(snapshot, SearchIndex(snapshot.items, snapshot.places, snapshot.forms))

    def refresh_divisions(self) -> None:
        """Keep the county's divisions for the address picker (with the catalogue: public data)."""
        if self.divisions is not None:
            try:
                self.divisions.refresh()
            except Exception as exc:
                log.info("divisions not refreshed (%s); the kept copy stays", exc)

    def probe_network(self) -> bool:
        if self.demo is not None and self.demo.process is not None and not getattr(self.demo, "ready", False):
            try:  # the embedded platform is still starting: that is not "network down"
                self.demo.wait_ready()
                self.demo.ready = True
            except DeviceFailure:
                pass
        up = bool(self.client and self.client.ping())
        if up and self.sender is not None:
            self.sender.wake()  # the network is back: send what waited, now
        return up

    def pending_uploads(self) -> int | None:
        if self.outbox is None:
            return None
        try:
            status = self.outbox.status()
        except Exception:
            return None
        return int(status.get("pending", 0)) + int(status.get("inflight", 0))

    def stop(self) -> None:
        if self.sender is not None:
            self.sender.stop(timeout=5)
        if self.demo is not None:
            self.demo.stop()
        if self.receipts is not None:
            self.receipts.close()
        if self.outbox is not None:
            try:
                self.outbox.close()
            except Exception:
                pass
