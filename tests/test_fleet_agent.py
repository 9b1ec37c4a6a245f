"""The kiosk's agent against the real platform on loopback: apply, refuse, roll back by itself."""
from __future__ import annotations

import socket

import pytest
import sqlalchemy as sa

from backend.fleet import tables as t
from fleet_helpers import Platform, make_agent
from kiosk.config import load_config
from kiosk.fleet.agent import Probes, startup_config


@pytest.fixture
def platform(tmp_path):
    p = Platform(tmp_path / "platform", {"k-001": "pingan", "k-002": "pingan", "k-003": "other"}).start()
    yield p
    p.stop()


def reports(platform, kiosk_id):
    with platform.fleet.db.read() as conn:
        return [(r.kind, r.scope, r.version, r.reason) for r in conn.execute(
            sa.select(t.fleet_reports).where(t.fleet_reports.c.kiosk_id == kiosk_id).order_by(t.fleet_reports.c.id))]


def cycle(agent):
    agent.refresh()
    agent.try_apply()
    agent.heartbeat()


class AppProbes(Probes):
    """What the app would answer: devices are checked against the configuration it was told to run."""

    def __init__(self, site):
        self.cfg = load_config(site)
        self.applied = []
        self.in_session = False
        super().__init__(session_active=lambda: self.in_session, apply_config=self._apply,
                         device_health=self._devices, outbox_backlog=lambda: 3, paper_left_m=lambda: 41.5)

    def _apply(self, cfg):
        self.cfg = cfg
        self.applied.append(cfg)

    def _devices(self):
        url = self.cfg.devices.receipt_printer
        if url.startswith("tcp://"):
            host, _, port = url[6:].partition(":")
            try:
                socket.create_connection((host, int(port)), 0.5).close()
                return {"receipt_printer": True}
            except OSError:
                return {"receipt_printer": False}
        return {"receipt_printer": True}


def test_a_published_document_is_applied_reported_and_kept_over_a_restart(platform, tmp_path):
    agent = make_agent(platform, tmp_path, "k-001", town="pingan")
    probes = AppProbes(agent.s.site_path)
    agent.probes = probes
    platform.publish("county", 1, '[kiosk]\nnotices = ["冬季开放时间调整"]\n[session]\nidle_timeout_s = 90\n',
                     canary="k-001")
    probes.in_session = True
    cycle(agent)
    assert agent.status()["staged"] == {"county": 1} and probes.applied == []  # a citizen is being served
    probes.in_session = False
    cycle(agent)
    assert agent.status()["active"] == {"county": 1} == agent.status()["last_good"]
    assert probes.applied[-1].session.idle_timeout_s == 90
    assert reports(platform, "k-001") == [("applied", "county", 1, "health gate passed")]
    status = {k["id"]: k for k in platform.fleet.status()["kiosks"]}
    assert status["k-001"]["config_applied"] == {"county": 1}
    assert status["k-001"]["outbox_backlog"] == 3 and status["k-001"]["paper_left_m"] == 41.5
    assert status["k-001"]["healthy"] is True and status["k-001"]["software_version"]
    cfg = startup_config(agent.s.site_path)
    assert cfg.kiosk.notices == ("冬季开放时间调整",) and cfg.session.idle_timeout_s == 90
    assert cfg.platform.base_url == platform.url  # the site file's own values stay


def test_a_document_that_kills_the_printer_is_rolled_back_by_the_health_gate(platform, tmp_path):
    agent = make_agent(platform, tmp_path, "k-001", town="pingan")
    probes = AppProbes(agent.s.site_path)
    agent.probes = probes
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = s.getsockname()[1]  # closed again: nothing listens there
    platform.publish("county", 1, '[kiosk]\nhotline = "12345"\n', canary="k-001")
    cycle(agent)
    platform.publish("county", 2, f'[devices]\nreceipt_printer = "tcp://127.0.0.1:{dead}"\n', canary="k-001")
    cycle(agent)
    status = agent.status()
    assert status["active"] == {"county": 1} and status["refused"]["county"] == [2]
    assert status["history"][-1]["result"] == "rolled back: device not healthy after the change: receipt_printer"
    assert probes.cfg.devices.receipt_printer == "sim://"  # the app was handed the last good one again
    assert ("rolled_back", "county", 2, "device not healthy after the change: receipt_printer") in reports(platform, "k-001")
    cycle(agent)  # the same version is not tried again
    assert agent.status()["history"][-1]["after"] == {"county": 2} and len(agent.status()["history"]) == 2
    platform.fleet.tick()
    rollout = platform.fleet.status()["rollouts"][0]
    assert rollout["state"] == "halted" and "1 of 1 kiosks unhealthy or rolled back" in rollout["reason"]
    platform.publish("county", 3, '[kiosk]\nhotline = "12366"\n', canary="k-001")
    cycle(agent)
    assert agent.status()["active"] == {"county": 3}


def test_other_groups_other_kiosks_and_invalid_documents_are_refused_and_reported(platform, tmp_path):
    agent = make_agent(platform, tmp_path, "k-001", town="pingan",
                       extra="")
    probes = AppProbes(agent.s.site_path)
    agent.probes = probes
    platform.publish("county", 1, '[kiosk]\nhotline = "12345"\n', canary="k-001")
    cycle(agent)
    assert agent.status()["active"] == {"county": 1}
    # The online side (a stolen key or a bad database) points this kiosk at documents not for it.
    platform.publish("town/other", 1, '[kiosk]\nhotline = "11111"\n', canary="k-003")
    platform.publish("kiosk/k-002", 1, '[kiosk]\nhotline = "22222"\n')
    admission = platform.fleet.admission()
    admission["kiosks"]["k-001"].update({"town/other": 1, "kiosk/k-002": 1})
    platform.fleet.repository().set_admission(admission)
    cycle(agent)
    got = reports(platform, "k-001")
    assert ("refused", "town/other", 1, "another group's document (town/other), not for k-001") in got
    assert ("refused", "kiosk/k-002", 1, "another kiosk's document (kiosk/k-002), not for k-001") in got
    assert agent.status()["active"] == {"county": 1}
    assert startup_config(agent.s.site_path).kiosk.hotline == "12345"


def test_a_document_failing_this_kiosks_own_checks_is_refused(platform, tmp_path):
    # Valid over the defaults (so the administrator could sign it) but not over this kiosk's site
    # file, which shortens the idle timeout below the document's warning time.
    agent = make_agent(platform, tmp_path, "k-001", town="pingan",
                       extra='\n[session]\nidle_timeout_s = 30\nwarning_s = 10\n')
    agent.probes = AppProbes(agent.s.site_path)
    platform.publish("town/pingan", 1, '[session]\nwarning_s = 45\n', canary="k-001")
    cycle(agent)
    (kind, scope, version, reason), = reports(platform, "k-001")
    assert (kind, scope, version) == ("refused", "town/pingan", 1)
    assert reason.endswith("session.warning_s: must be at least 5 and less than session.idle_timeout_s, got 45")
    assert agent.status()["active"] == {} and agent.probes.applied == []


def test_a_compromised_database_cannot_point_a_kiosk_at_unsigned_content(platform, tmp_path):
    agent = make_agent(platform, tmp_path, "k-001", town="pingan")
    agent.probes = AppProbes(agent.s.site_path)
    platform.publish("county", 1, '[kiosk]\nhotline = "12345"\n', canary="k-001")
    cycle(agent)
    with platform.fleet.db.write() as conn:  # the attacker rewrites the records
        conn.execute(sa.update(t.fleet_rollouts).values(version=9))
        conn.execute(sa.update(t.fleet_documents).values(version=9, target_path="config/county/9.toml"))
    platform.fleet.reconcile()
    assert platform.fleet.repository().admission()["kiosks"]["k-001"] == {"county": 9}
    cycle(agent)
    assert agent.status()["active"] == {"county": 1}
    assert reports(platform, "k-001")[-1][:3] == ("refused", "county", 9)


def test_a_staged_rollout_advances_when_healthy_and_halts_by_itself(platform, tmp_path):
    agents = {k: make_agent(platform, tmp_path, k, town=town, number=n)
              for n, (k, town) in enumerate((("k-001", "pingan"), ("k-002", "pingan"), ("k-003", "other")), 1)}
    for a in agents.values():
        a.probes = AppProbes(a.s.site_path)
    result = platform.publish("county", 1, '[kiosk]\nhotline = "12345"\n', canary="k-002", percents=[50, 100])
    assert result["kiosks"] == 3

    def run_all():
        for a in agents.values():
            cycle(a)
        return platform.fleet.tick()

    run_all()
    assert {k: a.status()["active"] for k, a in agents.items()}["k-002"] == {"county": 1}
    for _ in range(4):
        run_all()
    assert platform.fleet.status()["rollouts"][0]["state"] == "completed"
    assert all(a.status()["active"] == {"county": 1} for a in agents.values())
    assert platform.fleet.admission()["default"] == {"county": 1}

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = s.getsockname()[1]
    platform.publish("county", 2, f'[devices]\nreceipt_printer = "tcp://127.0.0.1:{dead}"\n', canary="k-001",
                     percents=[50, 100])
    for _ in range(3):
        run_all()
    rollout = platform.fleet.status()["rollouts"][0]
    assert rollout["state"] == "halted" and rollout["current_wave"] == 0
    assert "unhealthy or rolled back" in rollout["reason"]
    assert all(a.status()["active"] == {"county": 1} for a in agents.values())  # nobody else got it
    platform.fleet.control(rollout["id"], "abort")
    assert platform.fleet.admission() == {"default": {"county": 1}, "kiosks": {}}


def test_kiosk_fleet_agent_once_applies_and_reports(platform, tmp_path):
    import contextlib
    import io
    import json

    from fleet_helpers import site_file
    from kiosk.cli import main

    site = site_file(tmp_path / "cli", "k-002", platform.url, platform.repository_url,
                     platform.fleet.repository().dir / "root.json", town="pingan", number=2)
    platform.publish("town/pingan", 1, '[kiosk]\nhotline = "12399"\n', canary="k-002")
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(["--config", str(site), "fleet", "agent", "--once"])
    assert code == 0
    # The first run stages and applies; the health gate's window here is the site file's 5 s.
    assert json.loads(out.getvalue())["active"] == {"town/pingan": 1}
    assert reports(platform, "k-002") == [("applied", "town/pingan", 1, "health gate passed")]
    assert {k["id"]: k for k in platform.fleet.status()["kiosks"]}["k-002"]["config_applied"] == {"town/pingan": 1}
    with contextlib.redirect_stderr(io.StringIO()) as err:
        assert main(["--config", str(site), "fleet", "agent", "--once", "--root", str(tmp_path / "none.json")]) == 2
    assert "root.json is needed" in err.getvalue()


def test_abort_returns_the_kiosks_to_their_last_good_version(platform, tmp_path):
    agent = make_agent(platform, tmp_path, "k-001", town="pingan")
    agent.probes = AppProbes(agent.s.site_path)
    platform.publish("kiosk/k-001", 1, '[kiosk]\nhotline = "12345"\n')
    cycle(agent)
    platform.fleet.tick()
    assert platform.fleet.status()["rollouts"][0]["state"] == "completed"
    second = platform.publish("kiosk/k-001", 2, '[kiosk]\nhotline = "12399"\n')
    cycle(agent)
    assert agent.status()["active"] == {"kiosk/k-001": 2}
    platform.fleet.control(second["rollout"], "abort")
    cycle(agent)
    assert agent.status()["active"] == {"kiosk/k-001": 1}
    assert agent.probes.cfg.kiosk.hotline == "12345"
    assert agent.status()["history"][-1] == {**agent.status()["history"][-1], "before": {"kiosk/k-001": 2},
                                             "after": {"kiosk/k-001": 1}, "result": "applied"}
