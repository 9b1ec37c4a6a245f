"""What the header says about the kiosk (网络正常 · 待上传 N 件) and the catalogue the guide shows:
both refreshed in workers, both shown through the ``StatusView`` (the app's properties)."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from kiosk.flows.base import Flow, FlowContext
from kiosk.flows.views import StatusView
from kiosk.localtime import shown


class KioskStatus(Flow):
    action = "status"

    def __init__(self, ctx: FlowContext, view: StatusView):
        super().__init__(ctx, view)

    def start(self, title: str = "", **options: Any) -> None:
        self.refresh_catalogue()
        self.probe_network()

    def status_line(self) -> str:
        view = self.view
        if not view.network_known:
            net = self.t("network_unknown")
        else:
            net = self.t("network_ok" if view.network_ok else "network_down")
        parts = [net]
        if view.pending_uploads >= 0:
            parts.append(self.t("pending_uploads", n=int(view.pending_uploads)))
        return " · ".join(parts)

    def refresh_catalogue(self) -> None:
        self.ctx.jobs.submit(self.ctx.services.load_catalogue, self._catalogue_loaded, self._catalogue_failed)

    def _catalogue_loaded(self, result: Any) -> None:
        snap, catalogue = result.snapshot, self.ctx.catalogue
        catalogue.items = {item.id: item for item in result.index.items}
        catalogue.index = result.index
        when = shown(datetime.fromtimestamp(snap.fetched_at, timezone.utc), self.ctx.cfg.kiosk.time_zone) if snap.fetched_at else "?"
        catalogue.message = self.t("offline_cached", t=when) if snap.from_cache else ""
        self.view.show_catalogue(result.index, catalogue.message, when)
        self.view.show_network(not snap.from_cache, self.view.pending_uploads)

    def _catalogue_failed(self, exc: BaseException) -> None:
        if self.ctx.catalogue.index is None:
            self.ctx.catalogue.message = self.t("catalogue_unavailable")
            self.view.show_catalogue(None, self.ctx.catalogue.message, "")

    def outbox_changed(self, status: dict) -> None:
        """From the outbox's threads, through the bridge: the count of uploads still waiting."""
        pending = int(status.get("pending", 0)) + int(status.get("inflight", 0))
        self.view.show_network(None, pending)

    def probe_network(self) -> None:
        services = self.ctx.services

        def probe() -> tuple[bool, int | None]:
            return services.probe_network(), services.pending_uploads()

        def done(result: tuple[bool, int | None]) -> None:
            up, pending = result
            self.view.show_network(up, -1 if pending is None else pending)
        self.ctx.jobs.submit(probe, done, lambda exc: None)  # a failed probe changes nothing on screen
