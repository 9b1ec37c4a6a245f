"""The platform in this process on a free loopback port, with the demo data, a clock the test sets,
and the access policy or verifier the test wants."""
from __future__ import annotations

import contextlib
import secrets
from datetime import datetime, timezone
from typing import Any, Iterator

from backend import seed
from backend.db import Database
from backend.server import ServingThread, bind_socket, build_app, url_for

DEMO = {"Authorization": "Bearer demo-token"}
_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


class Clock:
    def __init__(self, moment: datetime | None = None) -> None:
        self.moment = moment or datetime(2026, 11, 23, 2, 0, tzinfo=timezone.utc)

    def __call__(self) -> datetime:
        return self.moment


def id_number(serial: int) -> str:
    """A valid 18-character ID number (correct check character) that belongs to nobody we seed."""
    body = f"110105199001{serial:05d}"
    total = sum(int(d) * w for d, w in zip(body, _WEIGHTS))
    return body + "10X98765432"[total % 11]


@contextlib.contextmanager
def platform(db_path, *, clock: Clock | None = None, **app_options: Any) -> Iterator[Any]:
    """Yields the serving thread; ``.db`` is its Database, ``.app`` its app."""
    db = Database(f"sqlite:///{db_path}", clock=clock or Clock())
    db.initialise()
    seed.seed_demo(db)
    sock = bind_socket("127.0.0.1", 0)
    app = build_app(db, public_url=app_options.pop("public_url", None) or url_for(sock), **app_options)
    serving = ServingThread(app, sock)
    serving.db, serving.app = db, app
    serving.start()
    try:
        yield serving
    finally:
        serving.stop()


def second_kiosk(db: Database, kiosk_id: str = "kiosk-42") -> dict[str, str]:
    """Register another kiosk; its auth headers."""
    token = secrets.token_urlsafe(32)
    db.register_kiosks({kiosk_id: token})
    return {"Authorization": f"Bearer {token}"}
