"""The backend app and its two runners: ``kiosk backend`` (a process) and :class:`BackendThread`.

:func:`create_app` opens and prepares the database when called, so a bad URL fails before any port
is bound. Every error is JSON ``{"error": "..."}`` in one line. uvicorn's access log is off: some
endpoints take ``?id_number=`` and a request log would write ID numbers in clear.

The app's settings come from whoever starts it, never from a request: the public URL printed on
certificates, and whether the test-only endpoints (``/api/v1/echo``) are mounted.
"""
from __future__ import annotations

import contextlib
import importlib
import logging
import signal
import socket
import threading
import time
from typing import AsyncIterator, Callable

import uvicorn
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.gzip import GZipMiddleware

from backend import api_docs
from backend.access import AccessPolicy, KioskCardRead, SubjectVerifier
from backend.auth import AuthThrottle
from backend.db import Database
from backend.idempotency import error_body
from backend.limits import BodyLimit
from backend.routes import DEMO_PAYMENT_MODULES, ROUTER_MODULES, TEST_ROUTER_MODULES, UPLOAD_PATHS

log = logging.getLogger(__name__)

API_PREFIX = "/api/v1"


def _http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
    return JSONResponse(error_body(exc.detail), status_code=exc.status_code,
                        headers=getattr(exc, "headers", None))


def _validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
    """A query, path or header parameter of the wrong shape: 400 with one line."""
    first = exc.errors()[0] if exc.errors() else {}
    where = ".".join(str(part) for part in first.get("loc", ()))
    return JSONResponse({"error": f"invalid request: {where}: {first.get('msg', 'invalid')}"},
                        status_code=400)


def _unexpected_error(_request: Request, exc: Exception) -> JSONResponse:
    log.error("unexpected error", exc_info=exc)
    return JSONResponse({"error": "internal error"}, status_code=500)


def build_app(db: Database, *, public_url: str, test_endpoints: bool = False,
              verifier: SubjectVerifier | None = None, access_policy: AccessPolicy | None = None,
              auth_throttle: AuthThrottle | None = None, demo_payments: bool = False) -> FastAPI:
    """The FastAPI app over an initialised :class:`Database` (which it disposes at shutdown).

    ``public_url`` is where citizens' phones reach the platform (printed in certificates' QR
    codes); ``test_endpoints`` mounts the endpoints that only tests use; ``verifier`` checks the
    person at the kiosk before their records are read (``backend.access``; the reference platform
    takes the kiosk's word that it read the card). ``demo_payments`` (the demo only, on loopback):
    the payment QR opens the demo pay page and the provider's test endpoint is mounted, so a demo
    order can actually be paid (``backend.routes.demo_pay``).
    """

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        db.dispose()

    app = FastAPI(title="Kiosk reference platform", version="1", lifespan=lifespan,
                  docs_url=None, redoc_url=None, openapi_url=f"{API_PREFIX}/openapi.json")
    app.state.db = db
    app.state.public_url = public_url.rstrip("/")
    app.state.auth_throttle = auth_throttle or AuthThrottle()
    app.state.subject_verifier = verifier or KioskCardRead()
    app.state.access_policy = access_policy or AccessPolicy()
    app.add_middleware(GZipMiddleware, minimum_size=2048)
    app.add_middleware(BodyLimit, upload_paths=tuple(API_PREFIX + path for path in UPLOAD_PATHS))
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(Exception, _unexpected_error)

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict:
        return {"status": "ok"}

    api_docs.install(app)
    if demo_payments:
        from backend.payments import ReferenceProvider
        app.state.payment_provider = ReferenceProvider(page_url=app.state.public_url + "/demo-pay")
    demo_modules = DEMO_PAYMENT_MODULES if demo_payments else ()
    for name in ROUTER_MODULES + tuple(dict.fromkeys((TEST_ROUTER_MODULES if test_endpoints else ()) + demo_modules)):
        module = importlib.import_module(name)
        app.include_router(module.router, prefix=API_PREFIX)
        if hasattr(module, "public_router"):
            app.include_router(module.public_router)
    from backend.fleet import install as install_fleet  # fleet configuration: backend/fleet/
    install_fleet(app, db)
    from backend.fleet import dashboard  # the administrator's fleet dashboard under /admin/
    dashboard.install(app, db)
    from backend import callbacks_admin  # staff's call-back tasks (回访), under the same sign-in
    app.include_router(callbacks_admin.router)
    return app


def create_app(db_url: str, *, public_url: str, demo: bool = False,
               test_endpoints: bool = False) -> FastAPI:
    """Open ``db_url`` (creating its tables; with ``demo``, adding the demo data) and return the
    app serving it."""
    from backend import seed

    db = Database(db_url)
    try:
        db.initialise()
        if demo:
            seed.seed_demo(db)
    except BaseException:
        db.dispose()
        raise
    return build_app(db, public_url=public_url, test_endpoints=test_endpoints)


def bind_socket(host: str, port: int) -> socket.socket:
    """A listening TCP socket; port 0 picks a free one. Raises OSError with the reason.

    The socket is made with an explicit ``IPPROTO_TCP``: asyncio sets TCP_NODELAY on accepted
    connections only when the protocol says TCP, and without it every keep-alive response whose
    headers and body go out in two writes waits ~40 ms for a delayed ACK.
    """
    family, kind, proto, _, address = socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP, flags=socket.AI_PASSIVE)[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(128)
    except BaseException:
        sock.close()
        raise
    return sock


def make_server(app: FastAPI) -> uvicorn.Server:
    config = uvicorn.Config(app, log_config=None, access_log=False, lifespan="on",
                            timeout_graceful_shutdown=5, server_header=False)
    return uvicorn.Server(config)


def url_for(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


class ServingThread:
    """uvicorn serving ``app`` on an already-bound socket from a daemon thread.

    uvicorn installs signal handlers only in the main thread, so here it installs none: whoever
    owns the process decides what a signal means.
    """

    def __init__(self, app: FastAPI, sock: socket.socket) -> None:
        self.sock = sock
        self.url = url_for(sock)
        self._server = make_server(app)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [sock]},
                                        name=f"backend:{sock.getsockname()[1]}", daemon=True)

    def start(self, ready_timeout: float = 20.0) -> None:
        """Return once requests are being served; RuntimeError if the server died or hung."""
        self._thread.start()
        deadline = time.monotonic() + ready_timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("the backend server did not start")
            time.sleep(0.005)

    def is_alive(self) -> bool:
        return self._thread.is_alive()

    def stop(self, timeout: float = 10.0) -> None:
        self._server.should_exit = True
        if self._thread.ident is not None:
            self._thread.join(timeout)
        self.sock.close()


def serve_until_signalled(app: FastAPI, sock: socket.socket, on_ready: Callable[[str], None]) -> None:
    """Serve from the main thread's point of view: SIGINT/SIGTERM stop the server gracefully."""
    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
    serving = ServingThread(app, sock)
    try:
        serving.start()
        on_ready(serving.url)
        while serving.is_alive() and not stop.wait(0.5):
            pass
    finally:
        serving.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)


class BackendThread:
    """The backend served from a background thread, for tests and benchmarks: no signal handlers.

    By default it serves the demo data and the test-only endpoints, and names its own loopback
    address as its public URL. ``start()`` opens the database, binds, and returns once the server
    answers requests; ``url`` then says where; ``stop()`` shuts it down gracefully. Also a context
    manager.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, db_url: str,
                 ready_timeout: float = 20.0, demo: bool = True, test_endpoints: bool = True,
                 public_url: str | None = None) -> None:
        self.host = host
        self.port = port
        self.db_url = db_url
        self.ready_timeout = ready_timeout
        self.demo = demo
        self.test_endpoints = test_endpoints
        self.public_url = public_url
        self.url: str | None = None
        self._serving: ServingThread | None = None

    def start(self) -> "BackendThread":
        if self._serving is not None:
            raise RuntimeError("this BackendThread was already started")
        sock = bind_socket(self.host, self.port)
        self.port = sock.getsockname()[1]
        try:
            app = create_app(self.db_url, public_url=self.public_url or url_for(sock), demo=self.demo,
                             test_endpoints=self.test_endpoints)
        except BaseException:
            sock.close()
            raise
        self._serving = ServingThread(app, sock)
        self._serving.start(self.ready_timeout)
        self.url = self._serving.url
        return self

    def stop(self) -> None:
        if self._serving is not None:
            self._serving.stop()

    def __enter__(self) -> "BackendThread":
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()
