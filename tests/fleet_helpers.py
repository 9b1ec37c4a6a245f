"""Shared pieces of the fleet tests: a fleet repository served over loopback HTTP, documents, a broker."""
from __future__ import annotations

import functools
import hashlib
import getpass
import http.server
import shutil
import socket
import subprocess
import threading
import time
from pathlib import Path

from backend.fleet.repository import FleetRepository, load_key


def token_for(kiosk_id: str) -> str:
    """A strong, repeatable bearer token for a test kiosk."""
    return hashlib.sha256(f"fleet-test:{kiosk_id}".encode()).hexdigest()


def document(scope: str, version: int, body: str = "", note: str = "") -> bytes:
    return (f'[document]\nscope = "{scope}"\nversion = {version}\nnote = "{note}"\n\n{body}').encode()


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:  # noqa: D401 - keep test output clean
        pass


class StaticServer:
    """A plain static HTTP server on a free loopback port (what nginx would be in production)."""

    def __init__(self, directory: Path) -> None:
        handler = functools.partial(QuietHandler, directory=str(directory))
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_port}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> "StaticServer":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def make_repo(tmp: Path) -> tuple[FleetRepository, Path]:
    keys = tmp / "keys"
    return FleetRepository.create(tmp / "fleet", keys), keys


def publish(repo: FleetRepository, keys: Path, scope: str, version: int, body: str) -> bytes:
    raw = document(scope, version, body)
    repo.add_document(f"config/{scope}/{version}.toml", raw, load_key(keys / "targets.pem"))
    return raw


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Mosquitto:
    """A real Mosquitto broker on a free loopback port, persistence on, in a temporary folder."""

    def __init__(self, folder: Path, port: int | None = None) -> None:
        self.folder = folder
        self.port = port or free_port()
        self.proc: subprocess.Popen | None = None
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "mosquitto.conf").write_text(
            # Started as root, mosquitto would switch to its own user, who cannot write our folder.
            f"user {getpass.getuser()}\n"
            f"listener {self.port} 127.0.0.1\nallow_anonymous true\npersistence true\n"
            f"persistence_location {folder}/\nautosave_interval 1\nlog_dest stderr\n")

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    def start(self) -> "Mosquitto":
        binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        self.proc = subprocess.Popen([binary, "-c", str(self.folder / "mosquitto.conf")],
                                     stdout=subprocess.DEVNULL, stderr=open(self.folder / "log", "ab"))
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.2).close()
                return self
            except OSError:
                if self.proc.poll() is not None:
                    raise RuntimeError((self.folder / "log").read_text()[-500:])
                time.sleep(0.05)
        raise RuntimeError("mosquitto did not start")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)
        self.proc = None


def mosquitto_available() -> bool:
    return bool(shutil.which("mosquitto") or Path("/usr/sbin/mosquitto").exists())


class Platform:
    """The reference platform on loopback (SQLite) with a fleet, and an administrator's handle on it."""

    def __init__(self, tmp: Path, kiosks: dict[str, str] | None = None, mqtt_url: str = "") -> None:
        from backend.db import Database
        from backend.fleet.service import Fleet

        self.tmp = tmp
        tmp.mkdir(parents=True, exist_ok=True)
        self.db_url = f"sqlite:///{tmp / 'platform.db'}"
        db = Database(self.db_url)
        db.initialise()
        for kiosk_id, town in (kiosks or {}).items():
            db.register_kiosks({kiosk_id: token_for(kiosk_id)}, group=town)
        self.fleet = Fleet(db)
        self.fleet.init(tmp / "fleet", tmp / "keys", mqtt_url)
        self.fleet.set_setting("tick_s", "3600")  # the tests tick by hand
        self.keys = tmp / "keys"
        self.backend = None

    def start(self) -> "Platform":
        from backend.server import BackendThread

        self.backend = BackendThread(db_url=self.db_url, demo=False).start()
        return self

    @property
    def url(self) -> str:
        return self.backend.url

    @property
    def repository_url(self) -> str:
        return self.backend.url + "/fleet/repository"

    def publish(self, scope: str, version: int, body: str, **plan) -> dict:
        from backend.fleet.service import Plan

        plan.setdefault("soak_s", 0)
        return self.fleet.publish(document(scope, version, body), f"{scope}-{version}.toml", self.keys, Plan(**plan))

    def stop(self) -> None:
        if self.backend is not None:
            self.backend.stop()


def site_file(folder: Path, kiosk_id: str, platform_url: str, repository_url: str, root: Path,
              town: str = "", number: int = 1, extra: str = "") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "kiosk.toml"
    path.write_text(
        f'[kiosk]\nid = "{kiosk_id}"\nnumber = {number}\n\n'
        f'[platform]\nbase_url = "{platform_url}"\ntoken = "{token_for(kiosk_id)}"\n\n'
        f'[paths]\ndata_dir = "{folder / "data"}"\nlog_dir = "{folder / "log"}"\nkey_file = "{folder / "outbox.key"}"\n\n'
        f'[fleet]\nrepository_url = "{repository_url}"\ntrusted_root = "{root}"\ntown = "{town}"\n'
        f'poll_interval_s = 5\nhealth_window_s = 5\n{extra}')
    return path


def make_agent(platform: Platform, tmp: Path, kiosk_id: str, town: str = "", probes=None, number: int = 1,
               extra: str = "", **overrides):
    from kiosk.config import load_config
    from kiosk.fleet.agent import AgentSettings, FleetAgent

    site = site_file(tmp / kiosk_id, kiosk_id, platform.url, platform.repository_url,
                     platform.fleet.repository().dir / "root.json", town=town, number=number, extra=extra)
    cfg = load_config(site)
    overrides.setdefault("health_window_s", 2.0)
    overrides.setdefault("settle_s", 0.2)
    settings = AgentSettings.from_config(cfg, str(site), **overrides)
    return FleetAgent(settings, probes)


class PostgresServer:
    """A throwaway PostgreSQL server on a free loopback port (as the backend's PostgreSQL tests do).

    ``url`` is None when the server binaries or psycopg are missing; ``skip_reason`` says why.
    """

    def __init__(self) -> None:
        self.url: str | None = None
        self.skip_reason = ""
        self._base = ""
        self._data = ""
        self._as_user: list[str] = []
        self._pg_ctl = ""

    @staticmethod
    def _binary(name: str) -> str | None:
        import glob

        found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
        return found[-1] if found else shutil.which(name)

    def start(self, max_connections: int = 60) -> "PostgresServer":
        import os
        import pwd
        import tempfile

        try:
            import psycopg  # noqa: F401
        except ImportError:
            self.skip_reason = "psycopg is not installed"
            return self
        initdb, self._pg_ctl = self._binary("initdb"), self._binary("pg_ctl")
        if not initdb or not self._pg_ctl:
            self.skip_reason = "PostgreSQL server binaries are not installed"
            return self
        self._base = tempfile.mkdtemp(prefix="kiosk-fleet-pg-")
        if os.geteuid() == 0:  # PostgreSQL refuses to run as root
            try:
                owner = pwd.getpwnam("postgres")
            except KeyError:
                self.skip_reason = "running as root and there is no 'postgres' user"
                return self
            os.chown(self._base, owner.pw_uid, owner.pw_gid)
            self._as_user = ["runuser", "-u", "postgres", "--"]
        self._data = os.path.join(self._base, "data")
        port = free_port()
        subprocess.run([*self._as_user, initdb, "-D", self._data, "-U", "kiosk", "--auth=trust", "-E", "UTF8",
                        "--no-sync"], check=True, capture_output=True, timeout=120)
        options = f"-h 127.0.0.1 -p {port} -k {self._base} -c fsync=off -c max_connections={max_connections}"
        subprocess.run([*self._as_user, self._pg_ctl, "-D", self._data, "-o", options, "-l",
                        os.path.join(self._base, "log"), "-w", "start"], check=True, capture_output=True, timeout=120)
        self.url = f"postgresql://kiosk@127.0.0.1:{port}/postgres"
        return self

    def stop(self) -> None:
        if self._data and self.url:
            subprocess.run([*self._as_user, self._pg_ctl, "-D", self._data, "-m", "immediate", "stop"],
                           capture_output=True, timeout=60)
        if self._base:
            shutil.rmtree(self._base, ignore_errors=True)
