"""kill -9 at random moments while the agent fetches, stages and applies: the kiosk always starts
with a configuration that passed its health gate, and converges once left alone."""
from __future__ import annotations

import json
import random
import shutil
import signal
import subprocess
import sys
import time

from conftest import ROOT
from fleet_helpers import StaticServer, make_repo, publish
from kiosk.fleet.agent import Store, startup_config

AGENT = r"""
import json, sys, time
from pathlib import Path
from kiosk.fleet.agent import AgentSettings, FleetAgent, Probes, startup_config
args = json.loads(sys.argv[1])
startup_config(args["site"], Path(args["data"]))
probes = Probes(apply_config=lambda cfg: time.sleep(0.05))
agent = FleetAgent(AgentSettings(kiosk_id="k-001", data_dir=Path(args["data"]), site_path=args["site"],
                                 repository_url=args["url"], trusted_root=Path(args["root"]),
                                 health_window_s=1.0, settle_s=0.3), probes)
agent.refresh()
agent.try_apply()
print(json.dumps(agent.status()["active"]))
"""


def run_agent(params, kill_after=None):
    proc = subprocess.Popen([sys.executable, "-c", AGENT, json.dumps(params)], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if kill_after is not None:
        time.sleep(kill_after)
        proc.send_signal(signal.SIGKILL)
    out, err = proc.communicate(timeout=60)
    return proc.returncode, out, err


def test_kill_9_during_apply_never_leaves_a_half_applied_kiosk(tmp_path):
    repo, keys = make_repo(tmp_path)
    publish(repo, keys, "county", 1, '[kiosk]\nhotline = "11111"\n')
    repo.set_admission({"default": {"county": 1}, "kiosks": {}})
    site = tmp_path / "kiosk.toml"
    site.write_text('[kiosk]\nid = "k-001"\n')
    data = tmp_path / "data"
    with StaticServer(repo.repo) as server:
        params = {"site": str(site), "data": str(data), "url": server.url, "root": str(repo.dir / "root.json")}
        code, out, err = run_agent(params)
        assert code == 0, err
        assert json.loads(out) == {"county": 1}
        publish(repo, keys, "county", 2, '[kiosk]\nhotline = "22222"\n')
        repo.set_admission({"default": {"county": 2}, "kiosks": {}})
        shutil.copytree(data, tmp_path / "data-v1-good")
        rng = random.Random(20261201)
        outcomes = set()
        for _ in range(7):
            shutil.rmtree(data)
            shutil.copytree(tmp_path / "data-v1-good", data)
            code, _out, _err = run_agent(params, kill_after=rng.uniform(0.3, 2.5))
            state = json.loads((data / "fleet" / "state.json").read_bytes())  # never torn
            cfg = startup_config(str(site), data)
            assert cfg.kiosk.hotline in ("11111", "22222")
            after = Store(data / "fleet").load()
            assert after["gate"] is None
            good = after["last_good"]["county"]["version"]
            assert cfg.kiosk.hotline == {1: "11111", 2: "22222"}[good]
            outcomes.add((code, good, state.get("gate") is not None))
        # Left alone, it finishes the job from wherever it was killed.
        code, out, err = run_agent(params)
        assert code == 0, err
        assert json.loads(out) == {"county": 2}
        assert startup_config(str(site), data).kiosk.hotline == "22222"
    assert any(code == -9 for code, *_ in outcomes), outcomes  # some runs were really killed
