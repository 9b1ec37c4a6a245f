"""IdCardReader against the simulator over a real TCP socket (socket://) and a real pty.

The simulator speaks the SAM_V bytes; the driver runs unchanged. Timings are never asserted:
tests wait for events, or for the simulator to have answered a number of requests.
"""
import datetime as dt
import logging
import os
import queue
import time

import pytest

from devices.base import Backoff, DeviceState, StatusChanged
from devices.idcard.card import parse_card
from devices.idcard.fixtures import fixture_names, load_card
from devices.idcard.reader import CardPresent, CardReadFailed, CardRemoved, IdCardReader, NoCard, ReaderFailure
from devices.idcard.sim_links import PtySimulator, TcpSimulatorServer
from devices.idcard.simulator import SamSimulator
from devices.urls import DeviceUrlError

TODAY = dt.date(2026, 6, 1)


class Events:
    """Collects a reader's events and waits for the one a test expects."""

    def __init__(self, reader):
        self.queue = queue.Queue()
        self.seen = []
        reader.subscribe(self.queue.put)

    def wait(self, kind, timeout=8.0, where=lambda event: True):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                event = self.queue.get(timeout=0.05)
            except queue.Empty:
                continue
            self.seen.append(event)
            if isinstance(event, kind) and where(event):
                return event
        raise AssertionError(f"no {kind.__name__} within {timeout}s; saw {[self._name(e) for e in self.seen]}")

    def wait_state(self, state, timeout=8.0):
        return self.wait(StatusChanged, timeout, lambda e: e.status.state == state).status

    def drain(self):
        """Events that arrived and were not waited for yet."""
        fresh = []
        while True:
            try:
                fresh.append(self.queue.get_nowait())
            except queue.Empty:
                self.seen += fresh
                return fresh

    @staticmethod
    def _name(event):
        if isinstance(event, StatusChanged):
            return f"status:{event.status.state.value}:{event.status.detail_en}"
        return type(event).__name__


def wait_requests(sim, count, timeout=8.0):
    """Wait until the simulator has answered ``count`` more requests (polls happened)."""
    target = sim.requests + count
    deadline = time.monotonic() + timeout
    while sim.requests < target:
        assert time.monotonic() < deadline, "the reader stopped polling"
        time.sleep(0.01)


def make_reader(url, **kwargs):
    kwargs.setdefault("poll_interval", 0.02)
    kwargs.setdefault("backoff", Backoff(base=0.01, cap=0.05))
    kwargs.setdefault("today", lambda: TODAY)
    # find/select get more than the reader's 100 ms: this machine is shared, and a late reply is
    # not what these tests are about (the CLI tests and the benchmark run the real timeouts)
    kwargs.setdefault("timeouts", {"find": 0.4, "select": 0.4})
    return IdCardReader(url, **kwargs)


@pytest.fixture(params=["tcp", "pty"])
def link(request):
    """A simulator served over TCP (socket://) or over a pty (a tty path), and the URL to it."""
    sim = SamSimulator(seed=1)
    if request.param == "tcp":
        server = TcpSimulatorServer(sim).start()
        yield sim, server.url
        server.stop()
    else:
        pty = PtySimulator(sim).start()
        yield sim, pty.path
        pty.stop()


@pytest.fixture
def tcp():
    sim = SamSimulator(seed=2)
    server = TcpSimulatorServer(sim).start()
    yield sim, server
    server.stop()


def expected(name):
    blocks = load_card(name).blocks
    return parse_card(blocks.text, blocks.photo, TODAY)


@pytest.mark.parametrize("name", fixture_names())
def test_every_card_type_reads_over_both_links(link, name):
    sim, url = link
    sim.present(name)
    with make_reader(url) as reader:
        events = Events(reader)
        event = events.wait(CardPresent)
    assert event.card == expected(name)
    assert event.photo_image is None  # no decoder configured: the UI shows a placeholder
    assert reader.sam_id == "05.01-20181128-0012345678-3000011234"


def test_card_must_leave_before_the_next_read_and_removal_is_seen(link):
    sim, url = link
    reader = make_reader(url)
    events = Events(reader)
    sim.present("resident")
    with reader:
        events.wait(CardPresent)
        wait_requests(sim, 20)  # the card stays: many polls, no second read, no removal
        assert not [e for e in events.drain() if isinstance(e, (CardPresent, CardRemoved))]
        assert reader.status().state == DeviceState.READY
        sim.remove()
        events.wait(CardRemoved)
        sim.present("hkmt_permit")
        assert events.wait(CardPresent).card.card_type == "hkmt_permit"
        assert reader.status().counters["reads"] == 2


def test_a_card_swapped_between_polls_is_read_again(tcp):
    sim, server = tcp
    reader = make_reader(server.url, poll_interval=0.3)
    events = Events(reader)
    sim.present("resident")
    with reader:
        events.wait(CardPresent)
        sim.remove()
        sim.present("foreign_2017")  # out and back in before the next poll
        events.wait(CardRemoved)
        assert events.wait(CardPresent).card.card_type == "foreign_permanent_2017"


@pytest.mark.parametrize("mode", ["slow", "chunked", "noisy", "chunked,noisy"])
def test_misbehaving_lines_still_read_correctly(link, mode):
    sim, url = link
    sim.set_modes(mode.split(","))
    sim.present("foreign_2023")
    with make_reader(url) as reader:
        event = Events(reader).wait(CardPresent)
    assert event.card == expected("foreign_2023")
    if "noisy" in mode:
        assert reader.status().state == DeviceState.READY


def test_a_damaged_read_is_retried_not_passed_on(link):
    sim, url = link
    sim.set_modes(["corrupt"])  # every second read reply has a flipped bit (the first is damaged)
    sim.present("resident")
    with make_reader(url) as reader:
        event = Events(reader).wait(CardPresent)
        counters = reader.status().counters
    assert event.card == expected("resident")
    assert counters["read_retries"] >= 1 and counters["damaged_replies"] >= 1


def test_a_card_that_never_reads_cleanly_fails_once_and_waits_for_removal(tcp):
    sim, server = tcp
    sim.corrupt_every = 1
    sim.set_modes(["corrupt"])
    sim.present("resident")
    reader = make_reader(server.url)
    events = Events(reader)
    with reader:
        failed = events.wait(CardReadFailed)
        assert "重新放置" in failed.reason_zh
        wait_requests(sim, 20)
        assert not [e for e in events.drain() if isinstance(e, (CardPresent, CardReadFailed))]
        sim.set_modes([])
        sim.remove()
        events.wait(CardRemoved)   # the app's "take your card" alert closes on it (it waited for ever)
        sim.present("resident")
        assert events.wait(CardPresent).card == expected("resident")
        assert reader.status().counters["read_failures"] == 1


def test_silent_reader_goes_offline_and_comes_back(link):
    sim, url = link
    sim.set_modes(["silent"])
    reader = make_reader(url, timeouts={"sam": 0.15, "find": 0.4, "select": 0.4})
    events = Events(reader)
    with reader:
        status = events.wait_state(DeviceState.OFFLINE)
        assert status.detail_en == "reader not answering"
        sim.set_modes([])
        events.wait_state(DeviceState.READY)
        sim.present("resident")
        events.wait(CardPresent)


def test_reader_that_falls_silent_while_polling_goes_offline(tcp):
    sim, server = tcp
    reader = make_reader(server.url)
    events = Events(reader)
    with reader:
        events.wait_state(DeviceState.READY)
        sim.set_modes(["silent"])
        assert events.wait_state(DeviceState.OFFLINE).detail_en == "reader not answering"


def test_no_sam_is_an_error_state(link):
    sim, url = link
    sim.set_modes(["nosam"])
    sim.present("resident")
    reader = make_reader(url)
    events = Events(reader)
    with reader:
        status = events.wait_state(DeviceState.ERROR)
        assert "SAM" in status.detail_en and status.detail_zh
        sim.set_modes([])
        events.wait_state(DeviceState.READY)
        events.wait(CardPresent)


def test_tcp_port_disappears_and_comes_back(tcp):
    sim, server = tcp
    host, port = server.address
    sim.present("resident")
    reader = make_reader(server.url)
    events = Events(reader)
    with reader:
        events.wait(CardPresent)
        server.stop()  # the reader is unplugged
        status = events.wait_state(DeviceState.OFFLINE)
        assert "unavailable" in status.detail_en
        sim.remove()
        again = TcpSimulatorServer(sim, host, port).start()
        try:
            events.wait_state(DeviceState.READY)
            assert reader.status().counters["reconnects"] >= 1
            events.wait(CardRemoved)  # the card that was on it is gone now
            sim.present("hkmt_permit")
            assert events.wait(CardPresent).card.card_type == "hkmt_permit"
        finally:
            again.stop()


def test_tty_path_disappears_and_comes_back(tmp_path):
    """Like a USB adapter unplugged and replugged: its /dev/serial/by-id link goes and returns."""
    link_path = tmp_path / "usb-reader"
    sim = SamSimulator("resident", seed=3)
    first = PtySimulator(sim).start()
    os.symlink(first.path, link_path)
    reader = make_reader(f"serial://{link_path}?baud=115200")
    events = Events(reader)
    with reader:
        events.wait(CardPresent)
        os.unlink(link_path)
        first.stop()
        events.wait_state(DeviceState.OFFLINE)
        second = PtySimulator(sim).start()
        try:
            os.symlink(second.path, link_path)
            events.wait_state(DeviceState.READY)
            sim.remove()
            sim.present("foreign_2017")
            assert events.wait(CardPresent).card.card_type == "foreign_permanent_2017"
            assert reader.status().counters["reconnects"] >= 1
        finally:
            second.stop()


def test_sim_url_runs_an_in_process_simulator_with_a_control_api():
    reader = make_reader("sim://?card=resident_longterm&mode=chunked")
    events = Events(reader)
    with reader:
        assert events.wait(CardPresent).card.valid_to == "长期"
        reader.simulator.remove()
        events.wait(CardRemoved)
        assert reader.simulator.toggle() is True  # the demo hotkey puts the same card back
        events.wait(CardPresent)


def test_spy_url_wraps_a_native_port():
    sim = SamSimulator("hkmt_permit")
    with PtySimulator(sim) as pty:
        event = make_reader(f"spy://{pty.path}?file=/dev/null").read_once(5)
    assert event.card.card_type == "hkmt_permit"


def test_read_once_outcomes(tcp):
    sim, server = tcp
    with pytest.raises(NoCard):
        make_reader(server.url).read_once(0.3)
    sim.set_modes(["nosam"])
    with pytest.raises(ReaderFailure, match="SAM"):
        make_reader(server.url).read_once(5)
    with pytest.raises(ReaderFailure, match="not answering"):
        make_reader("loop://").read_once(5)  # hears its own requests: not a reader
    sim.set_modes([])
    sim.present("resident")
    assert make_reader(server.url).read_once(5).card == expected("resident")


def test_self_test_through_the_running_worker(tcp):
    sim, server = tcp
    with make_reader(server.url) as reader:
        Events(reader).wait_state(DeviceState.READY)
        result = reader.self_test()
        assert reader.status().state is DeviceState.READY
    assert result.ok and result.properties["sam_id"].startswith("05.01-")
    assert [c.name for c in result.checks] == ["connection", "sam"]


def test_self_test_without_a_worker_reports_failures():
    reader = make_reader("socket://127.0.0.1:9")
    result = reader.self_test()
    assert result.ok is False and reader.status().state is DeviceState.OFFLINE
    assert result.failed().name == "connection"


def test_bad_urls_fail_before_touching_a_device():
    for url in ("", "ftp://x", "serial://?baud=115200", "serial:///dev/ttyUSB0?baud=1234",
                "sim://?mode=wobbly", "sim://?colour=red"):
        with pytest.raises(DeviceUrlError):
            IdCardReader(url)


def test_logs_never_carry_the_full_number_or_name(link, caplog):
    sim, url = link
    caplog.set_level(logging.DEBUG)
    secrets = []
    reader = make_reader(url)
    events = Events(reader)
    with reader:
        for name in fixture_names():
            card = expected(name)
            secrets += [card.id_number, card.name, card.name_en, card.address]
            sim.present(name)
            events.wait(CardPresent)
            logging.getLogger("test").debug("got %r", events.seen[-1])  # as an app might log an event
            sim.remove()
            events.wait(CardRemoved)
    assert "card read" in caplog.text and "read text+photo" in caplog.text  # logging did happen
    for secret in filter(None, secrets):
        assert secret not in caplog.text
