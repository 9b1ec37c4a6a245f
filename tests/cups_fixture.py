"""A private CUPS server with CUPS-PDF queues, for tests and the benchmark.

It never touches the system's cupsd: its own ServerRoot, spool, cache, state and log folders in a
temporary directory, ``Listen 127.0.0.1:<free port>`` plus a domain socket in that directory.
Queues use Debian's CUPS-PDF backend (``printer-driver-cups-pdf``). CUPS-PDF reads its settings
only from ``/etc/cups``: for a device URI ``cups-pdf:/NAME`` it reads
``/etc/cups/cups-pdf-NAME.conf``, so each queue gets its own uniquely named file there, pointing
its output at the temporary directory; the file is removed when the server stops (and files left
by a killed run are removed by the next one).

Without cupsd, CUPS-PDF, lpadmin, pycups or root (CUPS runs the CUPS-PDF backend as root only),
the tests skip with the reason — and fail with it when ``CI`` is set, so CI cannot go green by
skipping them. ``make setup`` installs the packages.
"""
from __future__ import annotations

import glob
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import pytest

CUPSD_CANDIDATES = ("/usr/sbin/cupsd", "/sbin/cupsd")
CUPS_PDF_BACKEND = Path("/usr/lib/cups/backend/cups-pdf")
CUPS_PDF_PPD = Path("/usr/share/ppd/cups-pdf/CUPS-PDF_opt.ppd")
CUPS_PDF_CONF_DIR = Path("/etc/cups")
INSTANCE_PREFIX = "kiosktest"
PACKAGES = "cups-daemon cups-client printer-driver-cups-pdf (and pycups, built with libcups2-dev)"


def sample_pdf(pages: int = 1, *, label: str = "kiosk test") -> bytes:
    """A real multi-page A4 PDF (Pillow's writer, with an xref table), small and made in memory."""
    import io

    from PIL import Image, ImageDraw

    images = []
    for number in range(1, pages + 1):
        image = Image.new("L", (248, 351), 255)  # A4 at 30 dpi
        ImageDraw.Draw(image).text((20, 20), f"{label} page {number}/{pages}", fill=0)
        images.append(image)
    out = io.BytesIO()
    images[0].save(out, "PDF", resolution=30.0, save_all=True, append_images=images[1:])
    return out.getvalue()


class CupsUnavailable(Exception):
    """What is missing to run a private CUPS here, in one line."""


def _cupsd() -> str | None:
    found = shutil.which("cupsd")
    return found or next((p for p in CUPSD_CANDIDATES if os.access(p, os.X_OK)), None)


def missing_requirement() -> str | None:
    """Why a private CUPS with CUPS-PDF cannot run here, or None when it can."""
    if _cupsd() is None:
        return f"cupsd is not installed (Debian package cups-daemon; make setup installs {PACKAGES})"
    for tool in ("lpadmin", "cupsdisable", "cupsenable", "cupsreject", "cupsaccept"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed (Debian package cups-client; make setup installs it)"
    if not CUPS_PDF_BACKEND.exists() or not CUPS_PDF_PPD.exists():
        return "the CUPS-PDF virtual printer is not installed (Debian package printer-driver-cups-pdf)"
    if shutil.which("gs") is None:
        return "ghostscript is not installed (CUPS-PDF needs gs; Debian package ghostscript)"
    try:
        import cups  # noqa: F401
    except ImportError:
        return "pycups is not installed in this Python (pip install pycups; it builds against libcups2-dev)"
    if os.geteuid() != 0:
        return "CUPS runs the CUPS-PDF backend only as root; run these tests as root (CI does)"
    if not os.access(CUPS_PDF_CONF_DIR, os.W_OK):
        return f"{CUPS_PDF_CONF_DIR} is not writable (CUPS-PDF reads its per-queue settings only there)"
    return None


def require_cups() -> None:
    """Skip (or, under CI, fail) the calling test with the reason a private CUPS cannot run."""
    reason = missing_requirement()
    if reason is None:
        return
    if os.environ.get("CI"):
        pytest.fail(f"private CUPS needed but unavailable: {reason}", pytrace=False)
    pytest.skip(reason)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _remove_stale_instance_files() -> None:
    """Remove CUPS-PDF settings left by test runs that were killed (their pid is gone)."""
    for path in glob.glob(str(CUPS_PDF_CONF_DIR / f"cups-pdf-{INSTANCE_PREFIX}*.conf")):
        match = re.search(rf"{INSTANCE_PREFIX}(\d+)x", path)
        if match is None:
            continue
        try:
            os.kill(int(match.group(1)), 0)
        except ProcessLookupError:
            Path(path).unlink(missing_ok=True)
        except PermissionError:
            pass


class PrivateCups:
    """A cupsd of our own on 127.0.0.1:<port> and a socket; ``add_pdf_queue`` adds CUPS-PDF queues."""

    def __init__(self) -> None:
        self.base = Path(tempfile.mkdtemp(prefix="kiosk-cups-"))
        self.base.chmod(0o755)  # filters run as lp and must reach the spool's tmp folder
        self.port = _free_port()
        self.socket_path = self.base / "run" / "cups.sock"
        self.proc: subprocess.Popen | None = None
        self._instance_files: list[Path] = []

    @property
    def server(self) -> str:
        """For ``cups://QUEUE?server=…``, ``CUPS_SERVER`` and ``lp -h``."""
        return f"127.0.0.1:{self.port}"

    def url(self, queue: str, **settings) -> str:
        query = "&".join([f"server={self.server}"] + [f"{k}={v}" for k, v in settings.items()])
        return f"cups://{queue}?{query}"

    def _write_config(self) -> tuple[Path, Path]:
        b = self.base
        for sub in ("conf", "spool/tmp", "cache", "state", "log", "run", "out"):
            (b / sub).mkdir(parents=True, exist_ok=True)
        files = b / "conf" / "cups-files.conf"
        files.write_text(
            f"ServerRoot {b}/conf\nRequestRoot {b}/spool\nTempDir {b}/spool/tmp\nCacheDir {b}/cache\n"
            f"StateDir {b}/state\nErrorLog {b}/log/error_log\nAccessLog {b}/log/access_log\n"
            f"PageLog {b}/log/page_log\nServerBin /usr/lib/cups\nDataDir /usr/share/cups\n"
            "SystemGroup root\nUser lp\nGroup lp\nFileDevice No\n")
        conf = b / "conf" / "cupsd.conf"
        conf.write_text(
            f"Listen 127.0.0.1:{self.port}\nListen {self.socket_path}\nLogLevel info\nBrowsing No\n"
            "WebInterface No\nDefaultAuthType None\nPreserveJobHistory Yes\nPreserveJobFiles No\n"
            "ErrorPolicy stop-printer\nJobRetryInterval 1\n"
            "<Location />\n  Order allow,deny\n  Allow 127.0.0.1\n  Allow @LOCAL\n</Location>\n"
            "<Policy default>\n  JobPrivateAccess all\n  JobPrivateValues none\n"
            "  <Limit All>\n    Order deny,allow\n  </Limit>\n</Policy>\n")
        return conf, files

    def start(self, timeout: float = 20.0) -> "PrivateCups":
        _remove_stale_instance_files()
        conf, files = self.base / "conf" / "cupsd.conf", self.base / "conf" / "cups-files.conf"
        if not conf.exists():
            conf, files = self._write_config()
        with open(self.base / "log" / "stderr", "ab") as stderr:
            self.proc = subprocess.Popen([_cupsd(), "-f", "-c", str(conf), "-s", str(files)],
                                         stdout=subprocess.DEVNULL, stderr=stderr, start_new_session=True)
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise CupsUnavailable(f"cupsd exited with {self.proc.returncode}: {self.log_tail()}")
            if self.socket_path.exists():
                try:
                    socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                    return self
                except OSError:
                    pass
            if time.monotonic() > deadline:
                self.stop()
                raise CupsUnavailable(f"cupsd did not start within {timeout:g} s: {self.log_tail()}")
            time.sleep(0.05)

    def log_tail(self, lines: int = 8) -> str:
        text = ""
        for name in ("stderr", "error_log"):
            path = self.base / "log" / name
            if path.exists():
                text += path.read_text(errors="replace")
        return " | ".join(text.strip().splitlines()[-lines:])

    def _client(self, *args: str) -> None:
        done = subprocess.run([*args[:1], "-h", str(self.socket_path), *args[1:]], capture_output=True,
                              text=True, timeout=30)
        if done.returncode != 0:
            raise CupsUnavailable(f"{' '.join(args)}: {done.stderr.strip()}")

    def add_pdf_queue(self, name: str, *, broken: bool = False) -> Path:
        """Add a CUPS-PDF queue writing into ``base/out/NAME``; returns that folder.

        ``broken``: CUPS-PDF is pointed at a folder it cannot create, so its backend fails and the
        queue (error policy abort-job) aborts the job, as a printer that fails mid-job would.
        """
        instance = f"{INSTANCE_PREFIX}{os.getpid()}x{uuid.uuid4().hex[:8]}"
        out = self.base / "out" / name
        target = out
        if broken:
            blocker = self.base / "out" / f"{name}-not-a-folder"
            blocker.write_text("CUPS-PDF cannot create a folder inside a file\n")
            target = blocker / "pdf"
        settings = CUPS_PDF_CONF_DIR / f"cups-pdf-{instance}.conf"
        settings.write_text(f"Out {target}\nAnonDirName {target}\nSpool {self.base}/cups-pdf-spool\n"
                            f"Log {self.base}/log\nLogType 3\nGrp root\nLabel 0\n")
        self._instance_files.append(settings)
        policy = "abort-job" if broken else "stop-printer"
        self._client("lpadmin", "-p", name, "-E", "-v", f"cups-pdf:/{instance}", "-P", str(CUPS_PDF_PPD),
                     "-o", f"printer-error-policy={policy}")
        return out

    def disable(self, name: str, reason: str = "stopped by test") -> None:
        self._client("cupsdisable", "-r", reason, name)

    def enable(self, name: str) -> None:
        self._client("cupsenable", name)

    def reject(self, name: str, reason: str = "rejecting by test") -> None:
        self._client("cupsreject", "-r", reason, name)

    def accept(self, name: str) -> None:
        self._client("cupsaccept", name)

    def halt(self) -> None:
        """Stop cupsd but keep its folders and queues, so ``start()`` brings the same server back."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)

    def outputs(self, out: Path) -> list[Path]:
        return sorted(out.glob("*.pdf")) if out.exists() else []

    def stop(self) -> None:
        self.halt()
        for path in self._instance_files:
            path.unlink(missing_ok=True)
        self._instance_files.clear()
        shutil.rmtree(self.base, ignore_errors=True)

    def __enter__(self) -> "PrivateCups":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


@pytest.fixture(scope="module")
def private_cups():
    """A running private CUPS for the module (skips, or fails under CI, when it cannot run)."""
    require_cups()
    server = PrivateCups()
    try:
        server.start()
    except CupsUnavailable as exc:
        server.stop()
        if os.environ.get("CI"):
            pytest.fail(f"private CUPS could not start: {exc}", pytrace=False)
        pytest.skip(f"private CUPS could not start: {exc}")
    try:
        yield server
    finally:
        server.stop()
