"""The header's status and the catalogue without Kivy: online, a cached copy when the platform is
away, nothing at all, and the uploads waiting."""
from __future__ import annotations

import time

import pytest

from flow_fakes import Recorder, make_kiosk, start_platform
from kiosk.catalogue import CatalogueSnapshot, SearchIndex
from kiosk.services import CatalogueResult


@pytest.fixture(scope="module")
def items(tmp_path_factory):
    server, _client, catalogue = start_platform(tmp_path_factory.mktemp("platform"))
    server.stop()
    return list(catalogue.items.values())


class Header(Recorder):
    """The app's side of StatusView: the three properties and the two calls."""

    def show_network(self, up, pending):
        self.calls.append(("show_network", (up, pending)))
        if up is not None:
            self.network_ok, self.network_known = up, True
        self.pending_uploads = pending


class World:
    def __init__(self, snapshot=None, up=True, pending=0):
        self.snapshot, self.up, self.pending = snapshot, up, pending

    def load_catalogue(self):
        if self.snapshot is None:
            raise OSError("no catalogue anywhere")
        return CatalogueResult(self.snapshot, SearchIndex(self.snapshot.items))

    def probe_network(self):
        return self.up

    def pending_uploads(self):
        return self.pending


def kiosk(tmp_path, world):
    k = make_kiosk(tmp_path, services=world)
    header = Header(network_ok=True, network_known=False, pending_uploads=-1)
    k.flows["status"].view = header
    return k, header


def test_online_catalogue_and_header(tmp_path, items):
    world = World(CatalogueSnapshot("1", None, time.time(), items, from_cache=False), up=True, pending=2)
    k, header = kiosk(tmp_path, world)
    status = k.flows["status"]
    assert status.status_line() == "网络检测中"
    status.start()
    index, message, updated = header.last("show_catalogue")
    assert index is k.ctx.catalogue.index and message == "" and updated
    assert len(k.ctx.catalogue.items) == len(items)
    assert header.last("show_network") == (True, 2)
    assert status.status_line() == "网络正常 · 待上传 2 件"
    status.outbox_changed({"pending": 0, "inflight": 1})
    assert header.last("show_network") == (None, 1)


def test_a_cached_catalogue_says_so_and_the_network_is_down(tmp_path, items):
    world = World(CatalogueSnapshot("1", None, 0.0, items, from_cache=True), up=False, pending=None)
    k, header = kiosk(tmp_path, world)
    k.flows["status"].start()
    assert header.last("show_catalogue")[1].startswith("网络中断，显示的是更新于 ")
    assert header.last("show_network") == (False, -1)
    assert k.flows["status"].status_line() == "网络中断"


def test_no_catalogue_at_all_says_why(tmp_path):
    k, header = kiosk(tmp_path, World(None))
    k.flows["status"].refresh_catalogue()
    index, message, _ = header.last("show_catalogue")
    assert index is None and "12345" in message
    assert k.flows["guide"].search("shebao").empty_text == message
