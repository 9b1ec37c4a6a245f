"""Fleet configuration on the platform: a TUF repository of signed documents, staged rollouts,
kiosk heartbeats and reports. The tables are described in ``backend.fleet.tables``.

:func:`install` mounts it on the app: the static repository at ``/fleet/repository/`` (any static
server such as nginx can serve the same folder), ``POST /api/v1/fleet/reports`` for kiosks, and the
rollout controller thread, which runs while the app is served.
"""
from __future__ import annotations

import contextlib
from typing import Any, AsyncIterator

from fastapi import FastAPI


def install(app: FastAPI, db: Any) -> None:
    """Create the fleet tables, mount the routes and run the controller for the app's lifetime."""
    from backend.fleet.controller import ControllerThread
    from backend.fleet.routes import public_router, router
    from backend.fleet.service import Fleet

    fleet = Fleet(db)
    app.state.fleet = fleet
    app.include_router(router, prefix="/api/v1")
    app.include_router(public_router)
    original = app.router.lifespan_context

    @contextlib.asynccontextmanager
    async def lifespan(a: FastAPI) -> AsyncIterator[Any]:
        controller = ControllerThread(fleet)
        controller.start()
        try:
            async with original(a) as state:
                yield state
        finally:
            controller.stop()

    app.router.lifespan_context = lifespan
