"""The sender: drains the outbox to the platform, one leased item at a time.

Delivery rules (DESIGN.md §6): every attempt carries the item's ``Idempotency-Key`` and the kiosk's
bearer token; 2xx or 409 → done; 408, 429, 5xx, timeouts and connection errors → retry with capped
exponential backoff and jitter, honouring ``Retry-After``; any other answer → dead (kept, visible).
Redirects are not followed: requests would turn a redirected POST into a GET and lose the body.

When the network is down the sender keeps a cheap TCP probe of the platform's host and port, and
``wake()`` (the probe's, or anyone's, e.g. a network-manager hook) makes items that failed only on
the network due at once instead of sitting out their backoff.
"""
from __future__ import annotations

import logging
import socket
import threading
import time
from typing import Callable
from urllib.parse import urlsplit

import requests

from offline_queue.errors import UndeliverableItem
from offline_queue.items import ErrorKind, LeasedItem, StoredRequest
from offline_queue.retry import Backoff, parse_retry_after
from offline_queue.store import DEFAULT_LEASE_S, Outbox

log = logging.getLogger(__name__)

USER_AGENT = "kiosk-outbox/1"


class Sender:
    """Sends outbox items to ``base_url``; ``run_once``/``run_until_empty`` in the caller's thread, or
    ``start()`` a background thread and ``stop()`` it. Use one mode at a time per Sender.

    ``on_change(status_dict)`` is called after every change to the outbox made in this process
    (puts included), on the thread that made it, until ``stop()``.
    """

    def __init__(self, outbox: Outbox, base_url: str, token: str | None = None, *,
                 session: requests.Session | None = None, clock: Callable[[], float] | None = None,
                 on_change: Callable[[dict], None] | None = None, backoff: Backoff | None = None,
                 connect_timeout_s: float = 5.0, read_timeout_s: float = 30.0,
                 lease_s: float = DEFAULT_LEASE_S, batch: int = 8, idle_poll_s: float = 10.0,
                 probe_interval_s: float | None = 5.0, prune_every_s: float = 3600.0) -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"platform base URL {base_url!r} must look like https://host[:port][/prefix]")
        if lease_s <= connect_timeout_s + read_timeout_s:
            raise ValueError("the lease must outlast one attempt (connect + read timeouts)")
        self.outbox = outbox
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.clock = clock or outbox.clock
        self.backoff = backoff or Backoff()
        self.timeout = (connect_timeout_s, read_timeout_s)
        self.lease_s, self.batch = lease_s, max(1, int(batch))
        self.idle_poll_s, self.probe_interval_s, self.prune_every_s = idle_poll_s, probe_interval_s, prune_every_s
        self.stats = {"sent": 0, "retried": 0, "dead": 0, "network_errors": 0}
        self.last_error: str | None = None
        self._probe_address = (parts.hostname, parts.port or (443 if parts.scheme == "https" else 80))
        self._session, self._own_session = session or requests.Session(), session is None
        self._wakeup = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._next_prune = time.monotonic()
        # While the platform is unreachable the whole sender pauses (growing with consecutive
        # network failures), so that untried items don't each burn an attempt on a dead link.
        self._network_failures = 0
        self._paused_until = 0.0
        self._unsubscribe = outbox.subscribe(on_change) if on_change else None
        self._stop_waking_on_put: Callable[[], None] | None = None

    # ----------------------------------------------------------------- one pass

    @property
    def network_down(self) -> bool:
        """True after a connection error or timeout, until the platform answers again."""
        return self._network_failures > 0

    def paused_for(self) -> float:
        """Seconds left in the pause that follows a network failure (0 when not paused)."""
        return max(0.0, self._paused_until - self.clock())

    def run_once(self) -> int:
        """Lease the due items (up to ``batch``) and try each once; returns how many were tried.

        Does nothing while paused after a network failure (see ``wake``)."""
        if self.paused_for() > 0:
            return 0
        if time.monotonic() >= self._next_prune:
            self._next_prune = time.monotonic() + self.prune_every_s
            self.outbox.prune_expired()
        items = self.outbox.lease(self.batch, self.lease_s)
        delivered: list[tuple[LeasedItem, int]] = []  # marked done together: one commit per batch
        index = 0
        try:
            for index, item in enumerate(items):
                lease_left = item.lease_expires_at - self.clock()
                if self._stopping.is_set() or (index and lease_left <= sum(self.timeout)):
                    self.outbox.release(items[index:])  # stopping, or too little lease left for an attempt
                    return index
                if self._deliver(item, delivered) is ErrorKind.NETWORK:
                    self.outbox.release(items[index + 1:])  # the platform is unreachable: don't burn attempts
                    return index + 1
        except BaseException:
            # Ctrl-C or a failure mid-send: hand back what we hold now rather than when the lease
            # expires. Sending one again is safe: it keeps its Idempotency-Key.
            try:
                self.outbox.release(items[index:])
            except Exception:
                log.exception("outbox sender: could not release leased items")
            raise
        finally:
            # Delivered items are recorded even when the loop is cut short. Should this process die
            # first, they are sent again under the same key, and the platform answers "already have it".
            if delivered:
                self.outbox.mark_done_many(delivered)
        return len(items)

    def _deliver(self, item: LeasedItem, delivered: list[tuple[LeasedItem, int]]) -> ErrorKind | None:
        try:
            request = self.outbox.load(item)
        except UndeliverableItem as exc:
            self._dead(item, str(exc), ErrorKind.LOCAL, None)
            return ErrorKind.LOCAL
        try:
            body, content_type = _body(request)
            headers = self._headers(request)
            if content_type:
                headers["Content-Type"] = content_type
            response = self._session.request(request.method, self.base_url + request.path, headers=headers,
                                             timeout=self.timeout, allow_redirects=False, **body)
            try:
                response.content  # read it all inside the timeout, so the connection can be reused
            finally:
                response.close()
        except requests.RequestException as exc:
            self.stats["network_errors"] += 1
            self._network_failures += 1
            pause = self.backoff.delay(self._network_failures)
            self._paused_until = self.clock() + pause
            self._retry(item, _reason(exc), ErrorKind.NETWORK, None,
                        max(pause, self.backoff.delay(item.attempts + 1)))
            return ErrorKind.NETWORK
        self._network_failures = 0
        code = response.status_code
        if 200 <= code < 300 or code == 409:
            delivered.append((item, code))
            self.stats["sent"] += 1
            log.info("outbox: %s delivered (%d)", item.id, code)
            return None
        if code in (408, 429) or code >= 500:
            wait = parse_retry_after(response.headers.get("Retry-After"), self.clock())
            delay = wait if wait is not None else self.backoff.delay(item.attempts + 1)
            self._retry(item, f"HTTP {code} {response.reason or ''}".strip(), ErrorKind.HTTP, code, delay)
            return ErrorKind.HTTP
        detail = f"HTTP {code} {response.reason or ''}".strip()
        if 300 <= code < 400:
            detail += " (redirect not followed; check the platform base URL)"
        self._dead(item, detail, ErrorKind.HTTP, code)
        return ErrorKind.HTTP

    def _headers(self, request: StoredRequest) -> dict:
        headers = {"Idempotency-Key": request.idempotency_key, "Accept": "application/json",
                   "User-Agent": USER_AGENT}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        return headers

    def _retry(self, item: LeasedItem, error: str, kind: ErrorKind, code: int | None, delay: float) -> None:
        self.stats["retried"] += 1
        self.last_error = error
        log.info("outbox: %s not delivered (%s); retry in %.1f s", item.id, error, delay)
        self.outbox.mark_retry(item, delay, error, kind, code)

    def _dead(self, item: LeasedItem, error: str, kind: ErrorKind, code: int | None) -> None:
        self.stats["dead"] += 1
        self.last_error = error
        self.outbox.mark_dead(item, error, kind, code)

    # ----------------------------------------------------------------- loops

    def run_until_empty(self, timeout: float) -> bool:
        """Send until nothing is pending or in flight (True), or give up when the next attempt would
        fall after ``timeout`` seconds (False). State is kept either way."""
        deadline = time.monotonic() + timeout
        while not self._stopping.is_set():  # stop() from another thread ends it early
            self._wakeup.clear()
            tried = self.run_once()
            counts = self.outbox.status()
            if counts["pending"] + counts["inflight"] == 0:
                return True
            if tried and not self.network_down:
                continue
            due_in = max(self.outbox.next_due_in() or 0.0, self.paused_for())
            if due_in > deadline - time.monotonic():
                return False
            self._wakeup.wait(due_in)
        return False

    def run_forever(self) -> None:
        """The background loop: send what is due, then sleep until the next item is due, a put or
        ``wake()`` arrives, or (network down) the probe sees the platform's port answer again."""
        while not self._stopping.is_set():
            self._wakeup.clear()
            try:
                if self.run_once() and not self.network_down:
                    continue
                delay = self._idle_delay()
            except Exception:  # the database or disk failed; keep the thread alive and try later
                log.exception("outbox sender: pass failed")
                delay = self.idle_poll_s
            if self._sleep(delay) or self._stopping.is_set():
                continue
            if self.network_down and self.probe_interval_s and self._platform_port_answers():
                log.info("outbox: platform reachable again; sending now")
                self.wake()

    def _sleep(self, delay: float) -> bool:
        """Wait ``delay`` seconds; return early (True) on ``wake()``, a put in this process, or a
        commit by another process (a ``kiosk queue enqueue``), which is looked for every second."""
        deadline = time.monotonic() + delay
        self.outbox.changed_elsewhere()  # take the baseline
        while (left := deadline - time.monotonic()) > 0:
            if self._wakeup.wait(min(left, 1.0)):
                return True
            try:
                if self.outbox.changed_elsewhere():
                    return True
            except Exception:
                log.exception("outbox sender: could not look for changes")
        return False

    def _idle_delay(self) -> float:
        due_in = self.outbox.next_due_in()
        delay = self.idle_poll_s if due_in is None else min(due_in, self.idle_poll_s)
        delay = max(delay, self.paused_for())
        if self.network_down and self.probe_interval_s:
            delay = min(delay, self.probe_interval_s)
        return max(delay, 0.01)

    def _platform_port_answers(self) -> bool:
        try:
            with socket.create_connection(self._probe_address, timeout=min(2.0, self.timeout[0])):
                return True
        except OSError:
            return False

    def wake(self) -> None:
        """The network is back (or something was queued): items that failed on the network are due now."""
        self._paused_until = 0.0
        try:
            self.outbox.expedite_network_failures()
        except Exception:
            log.exception("outbox sender: could not expedite items")
        self._wakeup.set()

    def start(self) -> "Sender":
        if self._thread is not None and self._thread.is_alive():
            return self
        self._stopping.clear()
        self._stop_waking_on_put = self.outbox.subscribe(lambda _status: self._wakeup.set())
        self._thread = threading.Thread(target=self.run_forever, name="outbox-sender", daemon=True)
        self._thread.start()
        return self

    def request_stop(self) -> None:
        """Ask ``run_forever`` to return after the attempt in progress; safe in a signal handler."""
        self._stopping.set()
        self._wakeup.set()

    def stop(self, timeout: float | None = None) -> None:
        """Stop the background thread; an attempt in progress finishes first (bounded by the timeouts)."""
        self._stopping.set()
        self._wakeup.set()
        if self._thread is not None:
            self._thread.join(timeout if timeout is not None else sum(self.timeout) + 5)
            self._thread = None
        if self._stop_waking_on_put is not None:
            self._stop_waking_on_put()
            self._stop_waking_on_put = None
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        if self._own_session:
            self._session.close()


def _body(request: StoredRequest) -> tuple[dict, str | None]:
    """JSON alone → ``application/json``; with files → multipart: ``payload`` part, then ``files`` parts."""
    payload = request.json_text.encode("utf-8") if request.json_text is not None else None
    if not request.files:
        if payload is None:
            return {}, None
        return {"data": payload}, "application/json"
    parts = [("payload", (None, payload if payload is not None else b"null", "application/json"))]
    parts += [("files", (f.name, f.data, f.content_type)) for f in request.files]
    return {"files": parts}, None  # requests sets multipart/form-data with its boundary


def _reason(exc: BaseException) -> str:
    """A short cause for a failed attempt ("ConnectionError: Connection refused") instead of urllib3's essay."""
    if isinstance(exc, requests.ConnectTimeout):
        return "ConnectTimeout: no connection within the connect timeout"
    if isinstance(exc, requests.ReadTimeout):
        return "ReadTimeout: no answer within the read timeout"
    seen, queue, deepest = set(), [exc], exc
    while queue:
        current = queue.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, OSError) and current.strerror:
            return f"{type(exc).__name__}: {current.strerror}"
        deepest = current
        inner = [getattr(current, "reason", None), current.__cause__, current.__context__, *current.args]
        queue.extend(e for e in inner if isinstance(e, BaseException))
    return f"{type(exc).__name__}: {str(deepest) or type(deepest).__name__}"[:200]
