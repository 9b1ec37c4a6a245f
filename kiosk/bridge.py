"""The one way results reach the UI thread.

Workers (device threads, network calls) never touch widgets. They hand a callable to
``UiBridge.post``; the app wires ``schedule`` to Kivy's ``Clock.schedule_once``, tests wire it to
a list they drain. ``Workers`` runs blocking jobs off the UI thread and posts their outcome back.

A job that fails is logged with its traceback. When the caller gave no error handler, the failure
still reaches the UI: ``Workers`` posts it to its ``on_unhandled`` callback (the app shows the
citizen a plain message), so no failure is silent.
"""
from __future__ import annotations

import logging
import threading
import queue
from typing import Any, Callable

log = logging.getLogger(__name__)


class UiBridge:
    def __init__(self, schedule: Callable[[Callable[[], None]], None],
                 on_error: Callable[[BaseException], None] | None = None):
        self._schedule = schedule
        self.on_error = on_error   # told (on the UI thread) when a callback fails
        self.ui_thread = threading.current_thread()

    def post(self, fn: Callable[..., Any], *args: Any) -> None:
        """Run ``fn(*args)`` on the UI thread soon; safe to call from any thread."""
        def run() -> None:
            try:
                fn(*args)
            except Exception as exc:  # a screen bug must not kill the UI loop, nor pass unseen
                log.exception("UI callback %s failed", getattr(fn, "__qualname__", fn))
                if self.on_error is not None:
                    try:
                        self.on_error(exc)
                    except Exception:
                        log.exception("reporting a failed UI callback failed")
        self._schedule(run)

    def on_ui_thread(self) -> bool:
        return threading.current_thread() is self.ui_thread


class Workers:
    """A small pool of daemon threads for blocking work; outcomes come back through the bridge.

    Daemon threads, not a ThreadPoolExecutor: the executor joins its threads at exit, so a
    network call stuck on a dead link would hold the kiosk open when it is told to stop.
    ``max_workers=0`` runs each job at once in the caller's thread (tests of the flows use it with
    a bridge that delivers at once, so a whole flow runs synchronously).
    """

    def __init__(self, bridge: UiBridge, max_workers: int = 4,
                 on_unhandled: Callable[[BaseException], None] | None = None):
        self._bridge = bridge
        self.on_unhandled = on_unhandled
        self.inline = max_workers == 0
        self._jobs: queue.SimpleQueue = queue.SimpleQueue()
        for n in range(max_workers):
            threading.Thread(target=self._loop, name=f"kiosk-worker-{n}", daemon=True).start()

    def _loop(self) -> None:
        while True:
            run = self._jobs.get()
            if run is None:
                return
            run()

    def submit(self, job: Callable[[], Any], on_done: Callable[[Any], None] | None = None,
               on_error: Callable[[BaseException], None] | None = None) -> None:
        def run() -> None:
            try:
                result = job()
            except BaseException as exc:  # reported to the UI, never raised into it
                name = getattr(job, "__qualname__", None) or getattr(job, "__name__", repr(job))
                handler = on_error or self.on_unhandled
                log.error("background job %s failed%s", name, "" if on_error else " (no error handler)",
                          exc_info=exc)
                if handler is not None:
                    self._bridge.post(handler, exc)
                return
            if on_done is not None:
                self._bridge.post(on_done, result)
        if self.inline:
            run()
        else:
            self._jobs.put(run)

    def shutdown(self) -> None:
        while True:  # drop queued jobs, then tell each thread to finish
            try:
                self._jobs.get_nowait()
            except queue.Empty:
                break
        for _ in range(8):
            self._jobs.put(None)
