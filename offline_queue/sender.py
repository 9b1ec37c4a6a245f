"""The sender: drains the outbox to the platform, a few requests at a time.

Delivery rules: every attempt carries the item's ``Idempotency-Key`` (the same on every retry) and
the kiosk's bearer token. 2xx → done. 408, 429, 5xx and a broken exchange → this item is tried
again after its own backoff, honouring ``Retry-After``, while the other items go on. 409 (the
platform refuses the request as it stands, e.g. ``{"error": "receipt_no_taken"}``), any other 4xx
and 3xx → dead: kept, visible, with the reason, never retried on its own. Redirects are not
followed: requests would turn a redirected POST into a GET and lose the body.

Two kinds of failure are told apart (``classify``):

- the link is down: connection refused, no route, DNS failure, connect timeout, TLS or proxy
  failure, or a broken exchange after which a TCP probe of the platform's port fails (no probe when
  the platform answered another request while this one was under way: it is reachable). Nothing can
  get through, so the whole sender pauses (growing with consecutive failures), the items not yet
  tried are handed back untried, and only one request at a time is sent until the platform answers
  again;
- this request failed: a reset after the request was sent, a read timeout on a slow answer, an
  error status. Only that item waits.

Up to ``concurrency`` requests use the link at once (small by default: rural uplinks are thin). A
request that has handed over its whole body and then waits on the platform much longer than
answers usually take (``patience``) stops counting, so that a slow answer does not hold the link
idle: up to ``WAITING_PER_SLOT`` times ``concurrency`` such requests may wait on their answers besides
the ones using the link (they hold a socket and a thread, not the link). An item is sent by one worker at a
time: workers only send items this sender holds a lease on, a lease is held until the attempt's
outcome is recorded, and it is renewed while the attempt runs. Outcomes are recorded in small
groups, one transaction each, together with the next lease when one is due; a delivered item not
yet recorded when the process dies is sent again under the same key, and the platform answers
"already have it".

When the link is down the sender keeps a cheap TCP probe of the platform's host and port, and
``wake()`` (the probe's, or anyone's, e.g. a network-manager hook) makes items that failed only on
the link due at once instead of sitting out their backoff.
"""
from __future__ import annotations

import collections
import json
import logging
import re
import socket
import ssl
import threading
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Callable

import requests
import urllib3.exceptions
from urllib3.filepost import encode_multipart_formdata

from offline_queue.errors import UndeliverableItem
from offline_queue.items import ErrorKind, ItemState, LeasedItem, Outcome, StoredRequest
from offline_queue.retry import Backoff, parse_retry_after
from offline_queue.store import DEFAULT_LEASE_S, Outbox

log = logging.getLogger(__name__)

USER_AGENT = "kiosk-outbox/1"
DEFAULT_CONCURRENCY = 4
MAX_CONCURRENCY = 32
RETRYABLE_4XX = frozenset({408, 425, 429})
SETTLE_EVERY = 32          # record outcomes after this many …
SETTLE_AFTER_S = 0.25      # … or when the oldest unrecorded one is this old
MIN_PATIENCE_S = 0.1       # a request waiting on its answer longer than this, and than …
PATIENCE_FACTOR = 4        # … this many times the recent median wait, no longer counts as using the link
WAITING_PER_SLOT = 4       # requests waiting on overdue answers, per place on the link, besides those using it


class Sender:
    """Sends outbox items to ``base_url``; ``run_once``/``run_until_empty`` in the caller's thread, or
    ``start()`` a background thread and ``stop()`` it. Use one mode at a time per Sender.

    ``concurrency`` is how many requests may be in flight at once; ``batch`` how many items are
    leased at a time. ``on_change(status_dict)`` is called after every change to the outbox made in
    this process (puts included), on the thread that made it, until ``stop()``.
    """

    def __init__(self, outbox: Outbox, base_url: str, token: str | None = None, *,
                 session: requests.Session | None = None, clock: Callable[[], float] | None = None,
                 on_change: Callable[[dict], None] | None = None, backoff: Backoff | None = None,
                 connect_timeout_s: float = 5.0, read_timeout_s: float = 30.0,
                 lease_s: float = DEFAULT_LEASE_S, batch: int = 16, concurrency: int = DEFAULT_CONCURRENCY,
                 idle_poll_s: float = 10.0, probe_interval_s: float | None = 5.0,
                 prune_every_s: float = 3600.0) -> None:
        parts = urlsplit_checked(base_url)
        if lease_s <= connect_timeout_s + read_timeout_s:
            raise ValueError("the lease must outlast one attempt (connect + read timeouts)")
        if isinstance(concurrency, bool) or not isinstance(concurrency, int) or not 1 <= concurrency <= MAX_CONCURRENCY:
            raise ValueError(f"concurrency must be a whole number from 1 to {MAX_CONCURRENCY}, got {concurrency!r}")
        self.outbox = outbox
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.clock = clock or outbox.clock
        self.backoff = backoff or Backoff()
        self.timeout = (connect_timeout_s, read_timeout_s)
        self.lease_s, self.batch, self.concurrency = lease_s, max(1, int(batch)), concurrency
        self.idle_poll_s, self.probe_interval_s, self.prune_every_s = idle_poll_s, probe_interval_s, prune_every_s
        # network_errors: attempts that got no answer (either kind); link_down: those that meant the link
        self.stats = {"sent": 0, "retried": 0, "dead": 0, "network_errors": 0, "link_down": 0}
        self.last_error: str | None = None
        self._probe_address = (parts.hostname, parts.port or (443 if parts.scheme == "https" else 80))
        self._given_session = session
        self._sessions: list[requests.Session] = []
        self._local = threading.local()
        self._pool: ThreadPoolExecutor | None = None
        self._pool_lock = threading.Lock()
        self._wakeup = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._next_prune = time.monotonic()
        # While the link is down the whole sender pauses (growing with consecutive link failures), so
        # that untried items don't each burn an attempt on a dead link.
        self._network_failures = 0
        self._paused_until = 0.0
        # Whether the platform answered the latest attempt; until it has, one request at a time.
        self._platform_answered = False
        self._answer_waits: collections.deque[float] = collections.deque(maxlen=32)  # body sent → answer, s
        self._last_answer_at = float("-inf")  # time.monotonic() of the latest answer from the platform
        self._unsubscribe = outbox.subscribe(on_change) if on_change else None
        self._stop_waking_on_put: Callable[[], None] | None = None

    # ----------------------------------------------------------------- state

    @property
    def network_down(self) -> bool:
        """True after the link was found down, until the platform answers again."""
        return self._network_failures > 0

    def paused_for(self) -> float:
        """Seconds left in the pause that follows a link failure (0 when not paused)."""
        return max(0.0, self._paused_until - self.clock())

    def _window(self) -> int:
        """Requests allowed on the link: ``concurrency`` while the platform answers, else one (a probe)."""
        return self.concurrency if self._platform_answered and not self.network_down else 1

    def patience(self) -> float:
        """How long a request may wait for its answer, its body sent, before it stops counting as
        using the link: ``PATIENCE_FACTOR`` times the recent median wait, at least ``MIN_PATIENCE_S``."""
        waits = sorted(self._answer_waits.copy())  # appended to by the workers
        return max(MIN_PATIENCE_S, PATIENCE_FACTOR * waits[len(waits) // 2]) if waits else MIN_PATIENCE_S

    def most_in_flight(self) -> int:
        """Requests that may be in flight at once: ``concurrency`` using the link, and up to
        ``WAITING_PER_SLOT`` times as many waiting on overdue answers."""
        return self.concurrency * (1 + WAITING_PER_SLOT)

    def _room(self, running: dict[Future, "_Flight"]) -> bool:
        """May one more request start? Counted: requests still sending, and those whose answer is not
        overdue; all of them at most ``most_in_flight()``."""
        if len(running) >= self.most_in_flight():
            return False
        now, patience = time.monotonic(), self.patience()
        busy = sum(1 for f in running.values() if f.sent_at is None or now - f.sent_at < patience)
        return busy < self._window()

    def _room_frees_in(self, running: dict[Future, "_Flight"]) -> float:
        """Seconds until the next request in flight becomes overdue and frees its place on the link; at
        most 0.1 s (one still sending its body may finish any moment)."""
        now, patience, soonest = time.monotonic(), self.patience(), 0.1
        for flight in running.values():
            if flight.sent_at is not None and now - flight.sent_at < patience:
                soonest = min(soonest, flight.sent_at + patience - now)
        return max(0.001, soonest)

    # ----------------------------------------------------------------- passes

    def run_once(self) -> int:
        """Lease the due items (up to ``batch``) and try each once, up to ``concurrency`` at a time;
        returns how many were tried. Does nothing while paused after a link failure (see ``wake``)."""
        return self._pump(one_lease=True)

    def _pump(self, one_lease: bool = False) -> int:
        """Send due items until none is due (or, with ``one_lease``, until one lease's worth is tried),
        the link is found down, or ``stop()``; returns how many attempts were made."""
        if self.paused_for() > 0:
            return 0
        if time.monotonic() >= self._next_prune:
            self._next_prune = time.monotonic() + self.prune_every_s
            self.outbox.prune_expired()
        backlog: collections.deque[LeasedItem] = collections.deque()
        running: dict[Future, _Flight] = {}
        unsettled: list[Outcome] = []
        first_unsettled = 0.0
        tried, leased, may_lease = 0, False, True
        try:
            while True:
                halted = self._stopping.is_set() or self.paused_for() > 0
                if (not halted and may_lease and len(backlog) < self._window()
                        and not (one_lease and leased)):
                    fresh = self.outbox.lease(self.batch, self.lease_s, settle=unsettled)  # one commit for both
                    unsettled.clear()
                    leased, may_lease = True, bool(fresh)  # nothing due: look again once an attempt ends
                    backlog.extend(fresh)
                while not halted and backlog and self._room(running):
                    item = backlog.popleft()
                    if item.lease_expires_at - self.clock() <= sum(self.timeout) and (tried or running):
                        self.outbox.release([item])  # too little lease left for a whole attempt
                        continue
                    flight = _Flight(item)
                    running[self._executor().submit(self._attempt, flight)] = flight
                    tried += 1
                if not running:
                    break
                self._renew(running)
                # look again when a request waiting on the platform becomes overdue and frees a place
                waiting_for_room = not halted and (backlog or may_lease) and len(running) < self.most_in_flight()
                timeout = self._room_frees_in(running) if waiting_for_room else SETTLE_AFTER_S
                finished, _ = wait(running, timeout=timeout, return_when=FIRST_COMPLETED)
                for future in finished:
                    running.pop(future)
                    if not unsettled:
                        first_unsettled = time.monotonic()
                    unsettled.append(self._note(future.result()))
                    may_lease = True
                if unsettled and (len(unsettled) >= SETTLE_EVERY or not running
                                  or time.monotonic() - first_unsettled >= SETTLE_AFTER_S):
                    self._settle(unsettled)
        except BaseException:
            # Ctrl-C or a failure mid-pass: let the attempts in flight end (bounded by the timeouts)
            # and record them if we can; hand back what was not tried. Sending an item again is
            # safe: it keeps its Idempotency-Key.
            self._salvage(running, unsettled)
            raise
        finally:
            if backlog:
                try:
                    self.outbox.release(list(backlog))  # stopping, or the link is down: not tried
                except Exception:
                    log.exception("outbox sender: could not release leased items")
        self._settle(unsettled)
        return tried

    def _renew(self, running: dict[Future, "_Flight"]) -> None:
        """Renew the leases of attempts that have used half of theirs (a large upload on a thin link),
        so that no other sender claims an item while it is being sent."""
        now = self.clock()
        due = [f for f in running.values() if f.lease_expires_at - now < self.lease_s / 2]
        if due:
            until, held = self.outbox.extend([f.item for f in due], self.lease_s)
            for flight in due:
                if flight.item.seq in held:
                    flight.lease_expires_at = until
                else:  # reclaimed by another sender; this attempt's outcome will not be recorded
                    flight.lease_expires_at = float("inf")
                    log.warning("outbox: lease on %s was lost while it was being sent", flight.item.id)

    def _salvage(self, running: dict[Future, "_Flight"], unsettled: list[Outcome]) -> None:
        try:
            for future in wait(running, timeout=sum(self.timeout) + 1).done:
                unsettled.append(self._note(future.result()))
            self._settle(unsettled)
        except BaseException:
            log.exception("outbox sender: could not record the attempts in flight; their leases will expire")

    def _settle(self, unsettled: list[Outcome]) -> None:
        if unsettled:
            self.outbox.settle(unsettled)
            unsettled.clear()

    def _note(self, result: tuple[Outcome, bool | None]) -> Outcome:
        """Update the sender's view of the link from one attempt (in the pass's thread)."""
        outcome, answered = result
        if answered is True:
            self._network_failures = 0
            self._platform_answered = True
        elif answered is False and outcome.kind is ErrorKind.NETWORK:
            self.stats["link_down"] += 1
            self._platform_answered = False
            self._network_failures += 1
            pause = self.backoff.delay(self._network_failures)
            self._paused_until = max(self._paused_until, self.clock() + pause)
        if answered is False:
            self.stats["network_errors"] += 1
        if outcome.state is ItemState.DONE:
            self.stats["sent"] += 1
        elif outcome.state is ItemState.PENDING:
            self.stats["retried"] += 1
            self.last_error = outcome.error
        else:
            self.stats["dead"] += 1
            self.last_error = outcome.error
        return outcome

    # ----------------------------------------------------------------- one attempt (in a worker)

    def _attempt(self, flight: "_Flight") -> tuple[Outcome, bool | None]:
        """Send one item once; returns its outcome and whether the platform answered (None: not asked)."""
        try:
            return self._send(flight)
        except Exception as exc:  # e.g. the disk failed reading its files: try again later, keep the others going
            log.exception("outbox: %s could not be sent", flight.item.id)
            due = self.clock() + self.backoff.delay(flight.item.attempts + 1)
            error = f"{type(exc).__name__}: {exc}"[:200]
            return Outcome(flight.item, ItemState.PENDING, None, error, ErrorKind.LOCAL, due), None

    def _send(self, flight: "_Flight") -> tuple[Outcome, bool | None]:
        item = flight.item
        try:
            request = self.outbox.load(item)
        except UndeliverableItem as exc:
            return Outcome(item, ItemState.DEAD, None, str(exc), ErrorKind.LOCAL), None
        try:
            data, content_type = _body(request)
            headers = self._headers(request)
            if content_type:
                headers["Content-Type"] = content_type
            body = {} if data is None else {"data": _Body(data, flight)}
            started = time.monotonic()
            response = self._session().request(request.method, self.base_url + request.path, headers=headers,
                                               timeout=self.timeout, allow_redirects=False, **body)
            try:
                response.content  # read it all inside the timeout, so the connection can be reused
            finally:
                response.close()
            answered_at = time.monotonic()
            self._last_answer_at = max(self._last_answer_at, answered_at)
            if flight.sent_at is not None:
                self._answer_waits.append(answered_at - flight.sent_at)
        except requests.RequestException as exc:
            reason = _reason(exc)
            link_down = classify(exc) is ErrorKind.NETWORK
            # a broken exchange: the link went, or only this request failed. The platform answered
            # another request meanwhile → it is reachable; else ask its port (one round trip).
            if not link_down and self._last_answer_at < started and not self._platform_port_answers():
                link_down, reason = True, f"{reason}; the platform's port does not answer"
            if link_down:
                delay = max(self.backoff.delay(self._network_failures + 1), self.backoff.delay(item.attempts + 1))
                log.info("outbox: %s not sent, the link is down (%s)", item.id, reason)
                return Outcome(item, ItemState.PENDING, None, reason, ErrorKind.NETWORK, self.clock() + delay), False
            delay = self.backoff.delay(item.attempts + 1)
            log.info("outbox: %s failed (%s); retry in %.1f s", item.id, reason, delay)
            return Outcome(item, ItemState.PENDING, None, reason, ErrorKind.HTTP, self.clock() + delay), False
        return self._judge(item, response), True

    def _judge(self, item: LeasedItem, response: requests.Response) -> Outcome:
        code = response.status_code
        if 200 <= code < 300:
            log.info("outbox: %s delivered (%d)", item.id, code)
            return Outcome(item, ItemState.DONE, code)
        detail = _answer_reason(response)
        if code in RETRYABLE_4XX or code >= 500:
            wait_s = parse_retry_after(response.headers.get("Retry-After"), self.clock())
            delay = wait_s if wait_s is not None else self.backoff.delay(item.attempts + 1)
            log.info("outbox: %s not delivered (%s); retry in %.1f s", item.id, detail, delay)
            return Outcome(item, ItemState.PENDING, code, detail, ErrorKind.HTTP, self.clock() + delay)
        if 300 <= code < 400:
            detail += " (redirect not followed; check the platform base URL)"
        return Outcome(item, ItemState.DEAD, code, detail, ErrorKind.HTTP)

    def _headers(self, request: StoredRequest) -> dict:
        headers = {"Idempotency-Key": request.idempotency_key, "Accept": "application/json",
                   "User-Agent": USER_AGENT}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        return headers

    def _session(self) -> requests.Session:
        """The caller's session if one was given, else one per worker thread (keep-alive to the platform)."""
        if self._given_session is not None:
            return self._given_session
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
            with self._pool_lock:
                self._sessions.append(session)
        return session

    def _executor(self) -> ThreadPoolExecutor:
        with self._pool_lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self.most_in_flight(), thread_name_prefix="outbox-send")
            return self._pool

    # ----------------------------------------------------------------- loops

    def run_until_empty(self, timeout: float) -> bool:
        """Send until nothing is pending or in flight (True), or give up when the next attempt would
        fall after ``timeout`` seconds (False). State is kept either way."""
        deadline = time.monotonic() + timeout
        while not self._stopping.is_set():  # stop() from another thread ends it early
            self._wakeup.clear()
            self._pump()
            counts = self.outbox.status()
            if counts["pending"] + counts["inflight"] == 0:
                return True
            due_in = max(self.outbox.next_due_in() or 0.0, self.paused_for())
            if due_in > deadline - time.monotonic():
                return False
            self._wakeup.wait(due_in)
        return False

    def run_forever(self) -> None:
        """The background loop: send what is due, then sleep until the next item is due, a put or
        ``wake()`` arrives, or (link down) the probe sees the platform's port answer again."""
        while not self._stopping.is_set():
            self._wakeup.clear()
            try:
                self._pump()
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
        """The network is back (or something was queued): items that failed on the link are due now."""
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
        """Ask ``run_forever`` to return after the attempts in progress; safe in a signal handler."""
        self._stopping.set()
        self._wakeup.set()

    def stop(self, timeout: float | None = None) -> None:
        """Stop the background thread; attempts in progress finish first (bounded by the timeouts)."""
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
        with self._pool_lock:
            pool, self._pool = self._pool, None
            sessions, self._sessions = self._sessions, []
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)
        for session in sessions:
            session.close()


# --------------------------------------------------------------------- helpers

def urlsplit_checked(base_url: str):
    from urllib.parse import urlsplit

    parts = urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"platform base URL {base_url!r} must look like https://host[:port][/prefix]")
    return parts


def classify(exc: BaseException) -> ErrorKind:
    """``NETWORK`` when a failed attempt means the link is down (the platform could not be reached:
    refused, no route, DNS failure, connect timeout, TLS or proxy failure); ``HTTP`` when only this
    request failed after it was sent (reset, read timeout, a broken or undecodable answer)."""
    if isinstance(exc, (requests.ConnectTimeout, requests.exceptions.ProxyError, requests.exceptions.SSLError)):
        return ErrorKind.NETWORK
    for cause in _causes(exc):
        if isinstance(cause, (urllib3.exceptions.NewConnectionError, urllib3.exceptions.ConnectTimeoutError,
                              urllib3.exceptions.NameResolutionError, urllib3.exceptions.ProxyError,
                              urllib3.exceptions.SSLError, socket.gaierror, ssl.SSLError)):
            return ErrorKind.NETWORK
    return ErrorKind.HTTP


def _causes(exc: BaseException):
    """The exception and everything it wraps (urllib3's ``reason``, causes, contexts, arguments)."""
    seen, queue = set(), [exc]
    while queue:
        current = queue.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        inner = [getattr(current, "reason", None), current.__cause__, current.__context__, *current.args]
        queue.extend(e for e in inner if isinstance(e, BaseException))


class _Flight:
    """One attempt in flight: its item, when its body was wholly handed to the connection, and
    until when its lease holds."""

    __slots__ = ("item", "sent_at", "lease_expires_at")

    def __init__(self, item: LeasedItem) -> None:
        self.item = item
        self.sent_at: float | None = None  # time.monotonic(); None while sending
        self.lease_expires_at = item.lease_expires_at  # wall clock, moved on as the lease is renewed


class _Body:
    """A request body read by the HTTP connection in blocks; notes on its flight when the last block
    has been taken (from then on the request only waits for the platform's answer)."""

    def __init__(self, data: bytes, flight: _Flight) -> None:
        self._data, self._pos, self._flight = memoryview(data), 0, flight

    def __len__(self) -> int:  # requests sends Content-Length from it
        return len(self._data)

    def read(self, size: int = -1) -> bytes:
        if self._pos >= len(self._data):
            if self._flight.sent_at is None:
                self._flight.sent_at = time.monotonic()
            return b""
        end = len(self._data) if size is None or size < 0 else self._pos + size
        block = self._data[self._pos:end].tobytes()
        self._pos += len(block)
        return block


def _body(request: StoredRequest) -> tuple[bytes | None, str | None]:
    """JSON alone → ``application/json``; with files → multipart: ``payload`` part, then ``files`` parts."""
    payload = request.json_text.encode("utf-8") if request.json_text is not None else None
    if not request.files:
        return (None, None) if payload is None else (payload, "application/json")
    parts = [("payload", (None, payload if payload is not None else b"null", "application/json"))]
    parts += [("files", (f.name, f.data, f.content_type)) for f in request.files]
    return encode_multipart_formdata(parts)  # the body, and multipart/form-data with its boundary


_LONG_NUMBER = re.compile(r"\d{6,}[\dXx]*")


def _mask_number(match: re.Match) -> str:
    """110105********002X for an ID number; 138******** for a shorter run of digits."""
    text = match.group()
    keep_head, keep_tail = (6, 4) if len(text) >= 14 else (3, 0)
    return text[:keep_head] + "*" * (len(text) - keep_head - keep_tail) + text[len(text) - keep_tail:]


def _answer_reason(response: requests.Response) -> str:
    """``HTTP 409 Conflict: receipt_no_taken``: the status, and the platform's short error if it gave one
    (long digit runs masked: an error may quote an ID number)."""
    text = f"HTTP {response.status_code} {response.reason or ''}".strip()
    try:
        body = json.loads(response.content[:4096]) if response.content else None
    except ValueError:
        body = None
    said = None
    if isinstance(body, dict):
        said = next((body[k] for k in ("error", "detail", "message") if isinstance(body.get(k), str)), None)
    if said:
        said = _LONG_NUMBER.sub(_mask_number, " ".join(said.split()))
        text += f": {said[:120]}"
    return text


def _reason(exc: BaseException) -> str:
    """A short cause for a failed attempt ("ConnectionError: Connection refused") instead of urllib3's essay."""
    if isinstance(exc, requests.ConnectTimeout):
        return "ConnectTimeout: no connection within the connect timeout"
    if isinstance(exc, requests.ReadTimeout):
        return "ReadTimeout: no answer within the read timeout"
    deepest = exc
    for current in _causes(exc):
        if isinstance(current, OSError) and current.strerror:
            return f"{type(exc).__name__}: {current.strerror}"
        deepest = current
    return f"{type(exc).__name__}: {str(deepest) or type(deepest).__name__}"[:200]
