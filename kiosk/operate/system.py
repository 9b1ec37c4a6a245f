"""Diagnostics beyond the devices: network, outbox, disk, ledger, versions, uptime, recent logs.

Each ``check_*`` returns a ``CheckResult`` and may block; ``kiosk.operate.doctor`` runs them under
deadlines. Nothing here returns personal data: outbox bodies stay sealed, log lines are redacted.
"""
from __future__ import annotations

import hashlib
import os
import platform as pyplatform
import shutil
import socket
import time
from collections import deque
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from kiosk.operate.checks import FAIL, OK, SKIP, WARN, CheckResult
from kiosk.operate.redact import redact_text

PROCESS_STARTED = time.time()


# -- network ------------------------------------------------------------------------------------


def platform_endpoint(cfg) -> tuple[str, str, int] | None:
    """(scheme, host, port) of the configured platform; None in the demo profile."""
    if not cfg.platform.base_url:
        return None
    parts = urlsplit(cfg.platform.base_url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return parts.scheme, parts.hostname or "", port


def check_dns(host: str) -> CheckResult:
    started = time.monotonic()
    try:
        infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        return CheckResult("network.dns", FAIL, f"cannot resolve {host}: {exc.strerror or exc}",
                           f"域名解析失败：{host}", {"host": host}, "network")
    ms = (time.monotonic() - started) * 1000
    addresses = sorted({info[4][0] for info in infos})
    return CheckResult("network.dns", OK, f"{host} → {', '.join(addresses[:3])} ({ms:.0f} ms)",
                       f"域名解析正常（{ms:.0f} 毫秒）", {"host": host, "addresses": addresses, "ms": round(ms, 1)},
                       "network")


def check_tcp(host: str, port: int, name: str = "network.tcp", timeout: float = 5.0) -> CheckResult:
    started = time.monotonic()
    try:
        with socket.create_connection((host, port), timeout=timeout):
            pass
    except OSError as exc:
        return CheckResult(name, FAIL, f"cannot connect to {host}:{port}: {exc.strerror or exc}",
                           f"无法连接 {host}:{port}", {"host": host, "port": port}, "network")
    ms = (time.monotonic() - started) * 1000
    return CheckResult(name, OK, f"{host}:{port} connected in {ms:.0f} ms", f"连接正常（{ms:.0f} 毫秒）",
                       {"host": host, "port": port, "ms": round(ms, 1)}, "network")


def check_platform_http(base_url: str, token: str, timeout: float = 5.0) -> CheckResult:
    """An authenticated HEAD of the catalogue: TLS, the platform's answer and its latency."""
    import requests

    url = base_url.rstrip("/") + "/api/v1/catalogue"
    started = time.monotonic()
    try:
        response = requests.head(url, headers={"Authorization": f"Bearer {token}"}, timeout=timeout,
                                 allow_redirects=False)
    except requests.exceptions.SSLError as exc:
        reason = exc.args[0] if exc.args else exc
        return CheckResult("network.https", FAIL, f"TLS failed: {_short(reason)}", "证书或加密连接有误",
                           {"url": base_url}, "network")
    except requests.exceptions.Timeout:
        return CheckResult("network.https", FAIL, f"the platform did not answer within {timeout:g} s", "平台无应答",
                           {"url": base_url}, "network")
    except requests.RequestException as exc:
        return CheckResult("network.https", FAIL, f"cannot reach the platform: {_root_cause(exc)}", "无法连接平台",
                           {"url": base_url}, "network")
    ms = (time.monotonic() - started) * 1000
    data = {"url": base_url, "status": response.status_code, "ms": round(ms, 1)}
    if response.status_code in (401, 403):
        return CheckResult("network.https", FAIL, f"the platform refused the kiosk's token (HTTP {response.status_code})",
                           "平台拒绝了本机的令牌", data, "network")
    if response.status_code >= 500:
        return CheckResult("network.https", FAIL, f"the platform answered HTTP {response.status_code}",
                           f"平台故障（{response.status_code}）", data, "network")
    status = WARN if ms > 2000 else OK
    return CheckResult("network.https", status, f"platform answered HTTP {response.status_code} in {ms:.0f} ms",
                       f"平台连接正常（{ms:.0f} 毫秒）", data, "network")


def _root_cause(exc: BaseException) -> str:
    """The innermost reason of a requests/urllib3 error, in one short line (not the whole chain)."""
    seen = exc
    while True:
        reason = getattr(seen, "reason", None)
        nxt = reason if isinstance(reason, BaseException) else (seen.__cause__ or seen.__context__)
        if nxt is None or nxt is seen:
            break
        seen = nxt
    text = str(seen).split(": ", 1)[-1] if ": " in str(seen) else str(seen)
    return _short(text or type(seen).__name__)


def _short(exc: Any) -> str:
    text = str(exc)
    return text if len(text) <= 160 else text[:157] + "…"


def check_broker(url: str) -> CheckResult:
    """The fleet message broker, when one is configured: a TCP connect to its host and port."""
    if not url:
        return CheckResult("network.broker", SKIP, "no broker configured", "未配置消息服务", {}, "network")
    parts = urlsplit(url)
    default = {"mqtts": 8883, "mqtt": 1883, "ssl": 8883, "tcp": 1883}.get(parts.scheme, 1883)
    result = check_tcp(parts.hostname or "", parts.port or default, "network.broker")
    return result


# -- outbox -------------------------------------------------------------------------------------


def outbox_summary(outbox: Any, dead_limit: int = 20) -> dict[str, Any]:
    """Pending count, the oldest undelivered item's age, dead items with their (redacted) errors."""
    status = outbox.status()
    dead = [{"id": i.id, "path": i.path, "attempts": i.attempts, "last_status": i.last_status,
             "error": redact_text(i.last_error or "")} for i in outbox.list(states=["dead"], limit=dead_limit)]
    return {**status, "dead_items": dead}


def check_outbox(cfg, outbox: Any = None) -> CheckResult:
    """The outbox's state; opens it from the configuration when the caller has none (never creates one)."""
    opened_here = False
    if outbox is None:
        folder = cfg.paths.data_dir / "outbox"
        if not folder.exists() or not Path(cfg.paths.key_file).exists():
            return CheckResult("outbox", OK, "no outbox yet (nothing was queued on this machine)", "暂无待上传数据",
                               {"pending": 0}, "outbox")
        from offline_queue import Outbox

        outbox = Outbox(folder, key_file=cfg.paths.key_file, quota_bytes=cfg.outbox.quota_mb * 1024 * 1024,
                        retention_s=cfg.outbox.retention_days * 86400.0)
        opened_here = True
    try:
        summary = outbox_summary(outbox)
    finally:
        if opened_here:
            outbox.close()
    pending = summary.get("pending", 0) + summary.get("inflight", 0)
    age = summary.get("oldest_pending_age_s")
    dead = summary.get("dead", 0)
    en = f"{pending} waiting" + (f", oldest {_age(age)}" if age is not None else "") + f", {dead} dead"
    zh = f"待上传 {pending} 条，失败 {dead} 条"
    status = OK
    if dead:
        status = WARN
        en += f" (last error: {summary['dead_items'][0]['error'] or 'none'})" if summary["dead_items"] else ""
    if age is not None and age > 86400:
        status = WARN
    return CheckResult("outbox", status, en, zh, summary, "outbox")


def retry_dead(outbox: Any) -> int:
    """Send every dead item again (service mode's retry button); returns how many."""
    return outbox.retry_dead()


def _age(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    if seconds < 172800:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} d"


# -- disk, ledger, versions, uptime --------------------------------------------------------------


def _existing(path: Path) -> Path:
    path = Path(path)
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def check_disk(data_dir: Path, warn_free_mb: int = 1024, fail_free_mb: int = 200) -> CheckResult:
    usage = shutil.disk_usage(_existing(data_dir))
    free_mb = usage.free // (1024 * 1024)
    pct = 100.0 * usage.free / usage.total if usage.total else 0.0
    data = {"path": str(data_dir), "free_mb": free_mb, "total_mb": usage.total // (1024 * 1024),
            "free_percent": round(pct, 1)}
    status = FAIL if free_mb < fail_free_mb else WARN if free_mb < warn_free_mb else OK
    return CheckResult("disk", status, f"{free_mb} MB free ({pct:.0f}%) on {data_dir}",
                       f"剩余空间 {free_mb} MB（{pct:.0f}%）", data, "system")


def check_ledger(cfg) -> CheckResult:
    from kiosk.ledger import LedgerError, open_ledger

    try:
        ledger = open_ledger(cfg)
        if not ledger.exists():
            return CheckResult("ledger", OK, "no print ledger yet", "暂无打印记录", {"entries": 0}, "system")
        report = ledger.verify()
    except (LedgerError, OSError) as exc:
        return CheckResult("ledger", FAIL, f"cannot read the ledger: {exc}", "打印台账无法读取", {}, "system")
    data = report.as_dict()
    if report.ok:
        return CheckResult("ledger", OK, f"{report.entries} entries, chain intact"
                           + ("" if report.sealed else " (head seal not checked: no key)"),
                           f"打印台账完整（{report.entries} 条）", data, "system")
    return CheckResult("ledger", FAIL, f"ledger broken at entry {report.problem.seq}: {report.problem.message}",
                       "打印台账校验失败", data, "system")


def file_digest(path: Path) -> str | None:
    try:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16]
    except OSError:
        return None


def versions(cfg) -> dict[str, Any]:
    """Software and configuration versions: the kiosk package, Python, key libraries, the config layers."""
    from importlib import metadata

    def version_of(dist: str) -> str | None:
        try:
            return metadata.version(dist)
        except metadata.PackageNotFoundError:
            return None

    layers = [{"source": s, "sha256_16": file_digest(Path(s)) if s.startswith("/") else None} for s in cfg.sources]
    return {"kiosk": version_of("kiosk"), "python": pyplatform.python_version(),
            "kivy": version_of("kivy"), "opencv": version_of("opencv-python-headless"),
            "os": _os_release(), "kernel": pyplatform.release(), "config_layers": layers}


def _os_release() -> str:
    try:
        for line in Path("/etc/os-release").read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                return line.split("=", 1)[1].strip('"')
    except OSError:
        pass
    return pyplatform.system()


def check_versions(cfg) -> CheckResult:
    v = versions(cfg)
    return CheckResult("versions", OK, f"kiosk {v['kiosk']}, Python {v['python']}, {v['os']}",
                       f"软件版本 {v['kiosk']}", v, "system")


def uptime(started: float | None = None) -> dict[str, float]:
    """Seconds since the machine booted and since this process (or ``started``) began."""
    try:
        system_s = float(Path("/proc/uptime").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        system_s = -1.0
    return {"system_s": system_s, "process_s": round(time.time() - (started or PROCESS_STARTED), 1)}


def check_uptime(started: float | None = None) -> CheckResult:
    u = uptime(started)
    return CheckResult("uptime", OK, f"system up {_age(u['system_s'])}, this process {_age(u['process_s'])}",
                       f"已运行 {_age(u['system_s'])}", u, "system")


def recent_log_lines(log_dir: Path, count: int = 200) -> list[str]:
    """The last ``count`` lines of the kiosk's log file (and its last rotation), redacted."""
    lines: deque[str] = deque(maxlen=count)
    for path in (Path(log_dir) / "kiosk.log.1", Path(log_dir) / "kiosk.log"):
        try:
            with open(path, encoding="utf-8", errors="replace") as fh:
                for line in fh:
                    lines.append(redact_text(line.rstrip("\n")))
        except OSError:
            continue
    return list(lines)


def machine_id() -> str:
    try:
        return Path("/etc/machine-id").read_text().strip()[:8]
    except OSError:
        return os.uname().nodename


