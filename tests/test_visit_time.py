"""Times on screen and on paper are China time (or the configured zone) whatever the system's zone:
run with the machine in Los Angeles, the slips and the history still say Beijing's time."""
from __future__ import annotations

import time
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest

from flow_fakes import FakeReceiptPrinter, Services, make_kiosk
from flow_fakes import platform  # noqa: F401  (fixture)
from kiosk.config import ConfigError, load_config
from kiosk.flows import Devices
from kiosk.localtime import shown

CHINA = timezone(timedelta(hours=8))


@pytest.fixture
def far_away(monkeypatch):
    """The system's zone set to Los Angeles for the test (as a machine left on its factory zone)."""
    monkeypatch.setenv("TZ", "America/Los_Angeles")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def minutes(zone) -> set[bytes]:
    """``YYYY-MM-DD HH:MM`` now in ``zone``, and a minute later (a test may cross a minute)."""
    now = datetime.now(timezone.utc)
    return {(now + timedelta(minutes=m)).astimezone(zone).strftime("%Y-%m-%d %H:%M").encode() for m in (0, 1)}


def test_a_printed_notice_says_china_time_on_a_machine_in_another_zone(tmp_path, platform, far_away):
    _server, client, catalogue = platform
    printer = FakeReceiptPrinter()
    k = make_kiosk(tmp_path, services=Services(client), catalogue=catalogue, devices=Devices(printer=printer))
    guide = k.flows["guide"]
    item = next(catalogue.items[r.key] for r in guide.search("").rows if r.flag)
    guide.open_item(item.id)
    china, local = minutes(CHINA), {datetime.now().strftime("%Y-%m-%d %H:%M").encode()}
    assert not china & local                              # the system's zone really is another one
    guide.print_notice()
    (job,) = printer.jobs
    assert any(stamp in job for stamp in china), "the slip does not say China time"
    assert not any(stamp in job for stamp in local)


def test_the_configured_zone_is_used_and_a_bad_one_refused(tmp_path, platform, far_away):
    _server, client, catalogue = platform
    cfg = load_config(None)
    cfg = replace(cfg, kiosk=replace(cfg.kiosk, time_zone="Asia/Urumqi"))
    k = make_kiosk(tmp_path, services=Services(client), catalogue=catalogue, cfg=cfg)
    assert k.flows["guide"].now().utcoffset() == timedelta(hours=6)
    path = tmp_path / "kiosk.toml"
    path.write_text('[kiosk]\ntime_zone = "Mars/Olympus"\n', encoding="utf-8")
    with pytest.raises(ConfigError) as refused:
        load_config(path)
    assert "kiosk.time_zone" in str(refused.value)


def test_progress_history_is_shown_in_china_time(tmp_path, platform, far_away):
    from flow_fakes import card

    _server, client, catalogue = platform
    k = make_kiosk(tmp_path, services=Services(client), catalogue=catalogue)
    k.present(card())
    k.shell.open_task("progress_card", "办件查询")
    applications = k.views["progress"].last("show_results")[0]
    steps = [s for a in applications for s in a.get("history") or []]
    assert steps
    for step in steps:
        assert len(step["at"]) == 16 and "T" not in step["at"] and "+" not in step["at"]
    # an instant from a platform in UTC is still shown in China time
    assert shown("2026-12-01T05:16:00+00:00") == "2026-12-01 13:16"
    assert shown("2026-12-01T13:16:00+08:00") == "2026-12-01 13:16"
