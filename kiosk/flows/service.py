"""维护模式: the technician's service mode, on top of ``kiosk.operate.service_mode.ServiceMode``.

How a technician gets in, without a keyboard: five taps on the header within three seconds open a
big PIN pad (``header_tap``); or they scan the technician code the platform signed for them
(``KIOSKTECH1.…``, routed here by the app). A wrong PIN says how many tries are left, then how long
the pad must wait; the wait is counted down on the pad. Entering ends the citizen's visit first (it
is wiped), so nothing of a citizen is ever on the service screens.

The diagnostics screen shows one panel per device (state, URL, last error in plain words, counters,
a live test), the network, the outbox (with a retry of dead items), disk, versions, uptime, the
paper forecast with its counter resets, the last log lines (redacted), restart and export. Every
call to ``ServiceMode`` runs in a worker (they block, write the audit log, fsync); the answers come
back through the bridge. ``tick()`` (the UI clock) leaves service mode after ``service.idle_exit_s``
without a touch and counts the pad's wait down; ``touch()`` on every tap keeps it open.
"""
from __future__ import annotations

import logging
import threading
import time
from collections import deque
from typing import Any, Callable

from kiosk.flows.base import Flow, FlowContext
from kiosk.flows.views import ServicePanel, ServicePinView, ServiceRow, ServiceView
from kiosk.operate.devices import DEVICE_NAMES, LABELS

log = logging.getLogger(__name__)

TAPS_TO_OPEN = 5
TAP_WINDOW_S = 3.0
PAD_IDLE_S = 60.0            # an untouched PIN pad closes itself
MIN_PIN, MAX_PIN = 6, 12
FIGURES_EVERY_S = 1.0        # the live camera view's sharpness and brightness are measured this often
RESTART_CONFIRM_S = 5.0      # restart asks for a second tap within this time
CODE_PREFIX = "KIOSKTECH1."  # kiosk.operate.access.QR_PREFIX
SCREENS = ("service-pin", "service")

TEST_LABELS = {"idcard": "读卡测试", "qr": "扫码测试", "camera": "实时画面", "receipt_printer": "打印测试凭条",
               "document_printer": "打印 A4 测试页"}
CAMERA_CLOSE = "关闭画面"
WAITING_TEXT = {"idcard": "请在 {s} 秒内放上身份证…", "qr": "请在 {s} 秒内扫码…", "camera": "正在打开摄像头…",
                "receipt_printer": "正在打印测试凭条…", "document_printer": "正在打印 A4 测试页…"}
STATE_WORDS = {"ready": "就绪", "busy": "工作中", "degraded": "可用，有告警", "offline": "离线", "error": "故障",
               "in_use": "被占用", "unknown": "未知", "idle": "空闲", "processing": "打印中", "stopped": "已停止",
               "unreachable": "连不上", "missing": "无此队列"}
SECTION_NAMES = {"network": "网络", "network.dns": "域名解析 DNS", "network.tcp": "TCP 连接",
                 "network.https": "HTTPS 平台", "network.broker": "消息服务", "outbox": "上传队列",
                 "disk": "磁盘", "ledger": "打印台账", "versions": "版本", "uptime": "运行时间",
                 "paper": "纸张预测"}


def _seconds(value: Any) -> str:
    try:
        return f"{float(value):.1f}"
    except (TypeError, ValueError):
        return "?"


def _both(zh: str, en: str) -> str:
    """Chinese first, the English detail after it (the words a technician can look up)."""
    zh, en = (zh or "").strip(), (en or "").strip()
    if zh and en and zh != en:
        return f"{zh}（{en}）"
    return zh or en


def _age(seconds: Any) -> str:
    try:
        s = float(seconds)
    except (TypeError, ValueError):
        return "—"
    if s < 120:
        return f"{s:.0f} 秒"
    if s < 7200:
        return f"{s / 60:.0f} 分钟"
    if s < 172800:
        return f"{s / 3600:.1f} 小时"
    return f"{s / 86400:.1f} 天"


class ServiceFlow(Flow):
    """The PIN pad (``service-pin``) and the diagnostics screen (``service``)."""

    action = "service"
    screen = "service"

    def __init__(self, ctx: FlowContext, pin_view: ServicePinView, view: ServiceView,
                 make_mode: Callable[[], Any] | None = None):
        super().__init__(ctx)
        self.pin_view = pin_view
        self.view = view
        self.clock: Callable[[], float] = getattr(ctx.keeper, "clock", time.monotonic)
        self._make_mode = make_mode or self._default_mode
        self.mode: Any = None          # the ServiceMode, made in a worker on first use (it opens the audit log)
        self._mode_lock = threading.Lock()
        self._taps: deque[float] = deque(maxlen=TAPS_TO_OPEN)
        self._pin = ""
        self._busy = False             # a PIN or code is being checked
        self._locked_until = 0.0       # on self.clock: the pad waits until then
        self._pad_touched = 0.0
        self._pad_message = ""
        self._panels: dict[str, ServicePanel] = {}
        self._testing: set[str] = set()
        self._camera: Any = None       # the document camera while its live view is open
        self._live: Any = None
        self._figures_due = 0.0
        self._figures_busy = False
        self._restart_until = 0.0
        self._leaving = False
        self._idle_shown = -1

    # ---- entering -----------------------------------------------------------------------------
    @property
    def active(self) -> bool:
        """A technician is signed in."""
        return self.mode is not None and self.mode.active

    def on_service_screen(self) -> bool:
        return self.ctx.shell.current_screen() in SCREENS

    def start(self, title: str = "", **options: Any) -> None:
        self.open_pad()

    def header_tap(self) -> None:
        """A tap on the header: the fifth within three seconds opens the PIN pad."""
        if self.on_service_screen():
            return
        now = self.clock()
        self._taps.append(now)
        if len(self._taps) == TAPS_TO_OPEN and now - self._taps[0] <= TAP_WINDOW_S:
            self._taps.clear()
            self.open_pad()

    def open_pad(self) -> None:
        self._pin, self._pad_message, self._busy = "", "请输入维护密码", False
        self._pad_touched = self.clock()
        self.pin_view.reset()
        self._show_pin()
        self.ctx.shell.close_dialogs()  # a citizen's open question must not cover the pad
        self.ctx.shell.show("service-pin")
        self.ctx.jobs.submit(lambda: self._mode().wait_left(), self._wait_known, self._failed("密码盘"))

    def _wait_known(self, wait_s: float) -> None:
        if wait_s > 0:
            self._locked_until = self.clock() + wait_s
            self._pad_message = f"输错次数过多，请 {int(wait_s) + 1} 秒后再试"
            self._show_pin()

    def _locked(self) -> bool:
        return self._locked_until > self.clock()

    def _show_pin(self) -> None:
        self.pin_view.show_pin(len(self._pin), self._pad_message, self._locked(), self._busy)

    def press(self, digit: str) -> None:
        """A digit on the pad (the digits stay here, the screen shows dots)."""
        self._pad_touched = self.clock()
        if self._busy or self._locked() or not (len(digit) == 1 and digit.isdigit()) or len(self._pin) >= MAX_PIN:
            return
        self._pin += digit
        self._show_pin()

    def backspace(self) -> None:
        self._pad_touched = self.clock()
        self._pin = self._pin[:-1]
        self._show_pin()

    def clear(self) -> None:
        self._pad_touched = self.clock()
        self._pin = ""
        self._show_pin()

    def submit_pin(self) -> None:
        self._pad_touched = self.clock()
        if self._busy or self._locked():
            return
        pin, self._pin = self._pin, ""
        if len(pin) < MIN_PIN:
            self._pad_message = f"维护密码为 {MIN_PIN} 到 {MAX_PIN} 位数字"
            self._show_pin()
            return
        self._busy, self._pad_message = True, "正在核对…"
        self._show_pin()
        self.ctx.jobs.submit(lambda: self._mode().enter(pin), self._answered, self._check_failed)

    def cancel_pad(self) -> None:
        """取消: back where the kiosk was (the citizen's visit, if one is going on, or the attract screen)."""
        self._pin, self._busy = "", False
        self.pin_view.reset()
        self.ctx.shell.show("home" if self.session is not None else "attract")

    def wants_code(self, text: str) -> bool:
        """A scanned code is the service flow's: a technician code, or any code while service mode is open."""
        return self.active or (isinstance(text, str) and text.startswith(CODE_PREFIX))

    def scanned(self, text: str) -> None:
        """From the app's scanner routing. While service mode is open codes only feed the scan test."""
        if self.active or self._busy:
            return
        self._busy = True
        self.ctx.jobs.submit(lambda: self._mode().enter_with_code(text), self._answered, self._check_failed)

    def _check_failed(self, exc: BaseException) -> None:
        self._busy = False
        self._pad_message = "无法核对，请稍后再试"
        self._show_pin()

    def _answered(self, attempt: Any) -> None:
        self._busy = False
        if attempt.ok:
            self._enter(attempt.technician)
            return
        if attempt.wait_s:
            self._locked_until = self.clock() + attempt.wait_s
        self._pad_message = attempt.message_zh or "无法进入维护模式"
        if self.ctx.shell.current_screen() == "service-pin":
            self._show_pin()
        else:  # a refused technician code, scanned from another screen
            self.ctx.shell.message("维护模式", self._pad_message)

    def _enter(self, technician: str) -> None:
        self._pin, self._pad_message, self._locked_until = "", "", 0.0
        self.pin_view.reset()
        self.ctx.shell.end_visit("service mode")   # the citizen's visit is wiped first
        self._panels = {name: self._blank_panel(name) for name in DEVICE_NAMES}
        self._testing.clear()
        self._restart_until, self._leaving, self._idle_shown = 0.0, False, -1
        self.view.set_restart_armed(False)
        self.view.show_camera(None)
        self.view.show_notice(f"{technician}，已进入维护模式", True)
        self.view.show_header(f"维护模式 · 技术员 {technician}", "")
        self.view.show_panels(list(self._panels.values()))
        self.ctx.shell.show("service")
        self.refresh()

    # ---- the ServiceMode, in workers ------------------------------------------------------------
    def _default_mode(self) -> Any:
        from kiosk import counters
        from kiosk.operate.access import ServiceAccess
        from kiosk.operate.service_mode import ServiceMode
        from kiosk.operate.system import PROCESS_STARTED

        cfg = self.ctx.cfg
        access = ServiceAccess(cfg.service, cfg.paths.data_dir, kiosk_id=cfg.kiosk.id, monotonic=self.clock)
        return ServiceMode(cfg, drivers={}, outbox=getattr(self.ctx.services, "outbox", None),
                           counters=counters.store(), started=PROCESS_STARTED, access=access)

    def _mode(self) -> Any:
        """The ServiceMode with the app's current drivers (in a worker: making it opens a file)."""
        with self._mode_lock:  # two workers may ask first at once (the pad's wait and the first PIN)
            if self.mode is None:
                self.mode = self._make_mode()
            self.mode.drivers = self._drivers()
            return self.mode

    def _drivers(self) -> dict[str, Any]:
        devices = self.ctx.devices
        camera = self._camera
        if camera is None and devices.camera_factory is not None:
            try:
                camera = devices.camera_factory()   # not started: the check opens and closes it
            except Exception:
                log.exception("document camera cannot be made for service mode")
                camera = None
        found = {"idcard": devices.reader, "qr": devices.scanner, "camera": camera,
                 "receipt_printer": devices.printer, "document_printer": devices.docprinter}
        return {name: driver for name, driver in found.items() if driver is not None}

    def _failed(self, what: str) -> Callable[[BaseException], None]:
        def told(exc: BaseException) -> None:
            if self.active:
                self.view.show_notice(f"{what}：未完成（{type(exc).__name__}: {exc}）", False)
        return told

    def _run(self, what: str, job: Callable[[Any], Any], done: Callable[[Any], None]) -> None:
        """Run ``job(mode)`` in a worker while service mode is open; ``done`` gets the answer."""
        mode = self.mode
        if mode is None or not mode.active:
            return

        def answered(result: Any) -> None:
            if self.active:
                done(result)
        self.ctx.jobs.submit(lambda: job(self._mode()), answered, self._failed(what))

    # ---- diagnostics ----------------------------------------------------------------------------
    def refresh(self) -> None:
        """Read everything again: devices, counters, network, outbox, system, logs."""
        self._run("设备", lambda m: m.panels(), self._panels_read)
        self._run("计数器", lambda m: m.counters_view(), self._counters_read)
        self._run("网络", lambda m: m.network(), lambda results: self._rows("network", results))
        self._run("上传队列", lambda m: m.outbox_view(), self._outbox_read)
        self._run("系统", lambda m: m.system_view(), lambda results: self._rows("system", results))
        self.refresh_logs()

    def refresh_logs(self) -> None:
        self._run("日志", lambda m: m.log_lines(), self.view.show_logs)

    def _blank_panel(self, name: str) -> ServicePanel:
        label_en, label_zh = LABELS[name]
        return ServicePanel(name, f"{label_zh} · {label_en}", "wait", "正在检查…", "", "", "", TEST_LABELS[name])

    def _panels_read(self, results: list[Any]) -> None:
        for result in results:
            name = result.data.get("device", result.name)
            if name not in self._panels:
                continue
            old = self._panels[name]
            data = result.data
            state = str(data.get("state") or "unknown")
            error = "" if result.status in ("ok", "skip") else _both(result.summary_zh, result.summary_en)
            counters = data.get("counters") or {}
            self._panels[name] = ServicePanel(
                name, old.title, result.status, f"{STATE_WORDS.get(state, state)}（{state}）",
                str(data.get("url") or ""), error,
                "  ".join(f"{k} {v}" for k, v in counters.items()) or "—",
                old.test_label, old.result, old.result_status)
        self.view.show_panels(list(self._panels.values()))

    def _counters_read(self, view: dict[str, Any]) -> None:
        from kiosk.counters import KNOWN

        rows = [ServiceRow(f"{KNOWN[name][1]} · {KNOWN[name][0]}", str(value))
                for name, value in view.get("counters", {}).items() if name in KNOWN]
        for f in view.get("forecasts", []):
            receipt = f["kind"] == "receipt"
            left = f"{f['remaining'] / 1000:.1f} 米" if receipt else f"{f['remaining']:.0f} 张"
            days = "尚无用量数据" if f["days_left"] is None else f"约 {f['days_left']:.1f} 天用完"
            rows.append(ServiceRow("凭条纸剩余" if receipt else "A4 纸剩余", f"{left}，{days}",
                                   "warn" if f["warn"] else "ok"))
        self.view.show_rows("counters", rows)

    def _rows(self, section: str, results: list[Any]) -> None:
        rows = []
        for r in results:
            text = _both(r.summary_zh, r.summary_en)
            if r.name == "versions":
                v = r.data
                text = (f"kiosk {v.get('kiosk')} · Python {v.get('python')} · Kivy {v.get('kivy')} · "
                        f"OpenCV {v.get('opencv')} · {v.get('os')} · 内核 {v.get('kernel')}")
                layers = [f"{layer['source']}" + (f" ({layer['sha256_16']})" if layer.get("sha256_16") else "")
                          for layer in v.get("config_layers", [])]
                if layers:
                    text += " · 配置 " + ", ".join(layers)
            rows.append(ServiceRow(SECTION_NAMES.get(r.name, r.name), text, r.status))
        self.view.show_rows(section, rows)

    def _outbox_read(self, result: Any) -> None:
        d = result.data
        pending = int(d.get("pending", 0)) + int(d.get("inflight", 0))
        rows = [ServiceRow("待上传", f"{pending} 条", "ok"),
                ServiceRow("最早一条", _age(d.get("oldest_pending_age_s")) if d.get("oldest_pending_age_s") is not None
                           else "—", "ok" if result.status == "ok" else result.status),
                ServiceRow("失败（dead）", f"{d.get('dead', 0)} 条", "warn" if d.get("dead") else "ok")]
        for item in d.get("dead_items", []):
            status = f"HTTP {item['last_status']} · " if item.get("last_status") else ""
            rows.append(ServiceRow(f"  {item.get('path', '')}",
                                   f"{status}尝试 {item.get('attempts', 0)} 次 · {item.get('error') or '—'}", "warn"))
        self.view.show_rows("outbox", rows)

    # ---- live tests -------------------------------------------------------------------------------
    def live_test(self, device: str) -> None:
        """The panel's button: read a card, scan a code, the camera's live view, a test receipt, an A4 page."""
        if not self.active or device not in self._panels or device in self._testing:
            return
        if device == "camera":
            self.toggle_camera()
            return
        from kiosk.operate.service_mode import LIVE_TEST_TIMEOUT_S

        self._testing.add(device)
        self._set_result(device, WAITING_TEXT[device].format(s=int(LIVE_TEST_TIMEOUT_S)), "wait")
        self._run(TEST_LABELS[device], lambda m: m.live_test(device), lambda result: self._tested(device, result))

    def _tested(self, device: str, result: dict[str, Any]) -> None:
        self._testing.discard(device)
        if not result.get("ok"):
            self._set_result(device, "失败：" + _both(result.get("error_zh", ""), result.get("error_en", "")), "fail")
        elif device == "idcard":
            card = result.get("card", {})
            parts = [card.get("name") or "", card.get("id_number") or ""]
            if card.get("valid_to"):
                parts.append(f"有效期至 {card['valid_to']}" + ("（已过期）" if card.get("expired") else ""))
            self._set_result(device, f"读卡成功：{' · '.join(p for p in parts if p)} · 用时 {_seconds(result.get('seconds'))} 秒",
                             "ok")
        elif device == "qr":
            self._set_result(device, f"扫到：{result.get('text', '')}（{result.get('symbology', '')}，"
                                     f"{result.get('length', 0)} 字符，用时 {_seconds(result.get('seconds'))} 秒）", "ok")
        elif device == "camera":
            self._show_figures(result)
        elif device == "receipt_printer":
            self._set_result(device, f"已打印测试凭条（{result.get('bytes', 0)} 字节），打印机{STATE_WORDS.get(result.get('state', ''), result.get('state', ''))}",
                             "ok")
        else:
            self._set_result(device, f"已打印 A4 测试页（{result.get('pages') or 1} 页，用时 {_seconds(result.get('seconds'))} 秒）",
                             "ok")
        if device in ("receipt_printer", "document_printer", "idcard"):
            self._run("计数器", lambda m: m.counters_view(), self._counters_read)

    def _set_result(self, device: str, text: str, status: str, label: str | None = None) -> None:
        old = self._panels[device]
        self._panels[device] = ServicePanel(old.device, old.title, old.status, old.state, old.url, old.error,
                                            old.counters, label or old.test_label, text, status)
        self.view.show_panels(list(self._panels.values()))

    def toggle_camera(self) -> None:
        if self._camera is not None:
            self._close_camera()
            self._set_result("camera", "实时画面已关闭", "", TEST_LABELS["camera"])
            return
        from kiosk.live_preview import LivePreview

        factory = self.ctx.devices.camera_factory
        try:
            if factory is None:
                raise RuntimeError("no document camera configured")
            self._camera = factory()
            self._camera.start()
        except Exception as exc:
            log.error("document camera unavailable in service mode", exc_info=exc)
            self._camera = None
            self._set_result("camera", "失败：" + _both("无法打开摄像头", f"{type(exc).__name__}: {exc}"), "fail")
            return
        post = self.ctx.post
        self._live = LivePreview(self._camera, on_frame=lambda f: post(self._frame, f), on_page=lambda p: None,
                                 auto=False)
        self._live.start()
        self._set_result("camera", WAITING_TEXT["camera"], "wait", CAMERA_CLOSE)
        self._figures_busy = True
        camera = self._camera
        self._run("摄像头", lambda m: m.live_test("camera"), lambda r: self._camera_tested(camera, r))

    def _camera_tested(self, camera: Any, result: dict[str, Any]) -> None:
        self._figures_busy = False
        if camera is self._camera:
            self._tested("camera", result)
            self._figures_due = self.clock() + FIGURES_EVERY_S

    def _frame(self, frame: Any) -> None:
        if self._live is not None and self.ctx.shell.current_screen() == "service":
            self.view.show_camera(frame)

    def _show_figures(self, result: dict[str, Any]) -> None:
        if self._camera is None:
            return
        if not result.get("ok"):
            self._set_result("camera", "失败：" + _both(result.get("error_zh", ""), result.get("error_en", "")), "fail")
            return
        self._set_result("camera", f"清晰度 {result.get('sharpness')} · 亮度 {result.get('brightness')} · "
                                   f"{result.get('width')}×{result.get('height')}", "ok")

    def _measure(self) -> None:
        """The live view's figures, again (not a new test: not written to the audit log)."""
        from kiosk.operate.devices import camera_figures

        camera = self._camera
        self._figures_busy = True

        def done(result: dict[str, Any]) -> None:
            self._figures_busy = False
            self._figures_due = self.clock() + FIGURES_EVERY_S
            if camera is self._camera and self.active:
                self._show_figures(result)

        def failed(exc: BaseException) -> None:
            self._figures_busy = False
        self.ctx.jobs.submit(lambda: camera_figures(camera, 2.0), done, failed)

    def _close_camera(self) -> None:
        live, camera = self._live, self._camera
        self._live = self._camera = None
        self._figures_busy = False
        if live is not None:
            live.stop()
        if camera is not None:
            camera.stop()
        self.view.show_camera(None)

    # ---- actions ------------------------------------------------------------------------------------
    def retry_dead(self) -> None:
        def done(count: int) -> None:
            self.view.show_notice(f"已重新发送失败数据 {count} 条", True)
            self._run("上传队列", lambda m: m.outbox_view(), self._outbox_read)
        self._run("重新发送", lambda m: m.retry_dead(), done)

    def reset_counter(self, name: str) -> None:
        """换纸后清零: the receipt roll (``receipt_printer.paper_mm``) or the A4 tray (``document_printer.pages``)."""
        if name not in ("receipt_printer.paper_mm", "document_printer.pages"):
            return
        what = "凭条用纸" if name.startswith("receipt") else "A4 用纸"

        def done(old: int) -> None:
            unit = "毫米" if name.startswith("receipt") else "张"
            self.view.show_notice(f"{what}计数已清零（原 {old} {unit}）", True)
            self._run("计数器", lambda m: m.counters_view(), self._counters_read)
        self._run("清零", lambda m: m.reset_counter(name), done)

    def export_bundle(self) -> None:
        self.view.show_notice("正在生成诊断包…", True)

        def done(where: dict[str, Any]) -> None:
            size = f"{int(where.get('bytes', 0)) / 1024:.0f} KB"
            if not where.get("ok"):
                self.view.show_notice("诊断包未导出：" + _both(where.get("error_zh", ""), where.get("error_en", "")), False)
            elif where.get("to") == "usb":
                self.view.show_notice(f"诊断包已保存到U盘：{where.get('path')}（{size}）", True)
            else:
                self.view.show_notice(f"未插入U盘：诊断包已放入上传队列，将发送到平台（{size}）", True)
        self._run("导出诊断包", lambda m: m.export_bundle(), done)

    def restart_ui(self) -> None:
        """重启界面: the first tap arms it, a second within five seconds restarts."""
        if not self.active:
            return
        now = self.clock()
        if now > self._restart_until:
            self._restart_until = now + RESTART_CONFIRM_S
            self.view.set_restart_armed(True)
            self.view.show_notice("再按一次「重启界面」确认", True)
            return
        self._close_camera()
        self.view.show_notice("正在重启界面…", True)
        self._run("重启界面", lambda m: m.restart_ui(), lambda _: None)

    def leave(self) -> None:
        """退出维护: back to the attract screen."""
        self._left("button")

    def _left(self, reason: str) -> None:
        self._close_camera()
        self._testing.clear()
        mode = self.mode
        if mode is not None and mode.active:
            self.ctx.jobs.submit(lambda: mode.leave(reason), None, lambda exc: None)
        self.view.show_logs([])
        self.view.show_rows("outbox", [])
        self.ctx.shell.show("attract")

    # ---- the clock and taps ---------------------------------------------------------------------
    def touch(self) -> None:
        """Every tap on the screen (cheap: no I/O)."""
        mode = self.mode
        if mode is not None and mode.active:
            mode.touch()
        self._pad_touched = self.clock()

    def tick(self) -> None:
        """From the UI clock (a few times a second): idle exit, the pad's countdown, the camera figures."""
        now = self.clock()
        screen = self.ctx.shell.current_screen()
        if screen == "service-pin":
            if self._locked_until:
                left = self._locked_until - now
                if left > 0:
                    self._pad_message = f"输错次数过多，请 {int(left) + 1} 秒后再试"
                else:
                    self._locked_until, self._pad_message = 0.0, "请输入维护密码"
                self._show_pin()
            if now - self._pad_touched > PAD_IDLE_S and not self._busy:
                self.cancel_pad()
        if now > self._restart_until > 0:
            self._restart_until = 0.0
            self.view.set_restart_armed(False)
        mode = self.mode
        session = getattr(mode, "session", None)
        if session is None or session.ended or self._leaving:
            return
        left = session.idle_left()
        if left <= 0:
            self._leaving = True

            def ticked(ended: bool) -> None:
                self._leaving = False
                if ended:
                    self._left("idle")
            self.ctx.jobs.submit(mode.tick, ticked, lambda exc: None)
            return
        if int(left) != self._idle_shown:
            self._idle_shown = int(left)
            self.view.show_header(f"维护模式 · 技术员 {mode.technician}", f"无操作 {int(left)} 秒后自动退出")
        if self._camera is not None and not self._figures_busy and now >= self._figures_due:
            self._measure()

    def reset(self) -> None:
        """A citizen's visit ended (also when service mode begins): nothing of service mode is a visit's."""
        if not self.active:
            self._pin = ""
