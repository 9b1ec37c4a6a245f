"""Push through a real Mosquitto on loopback: notices, presence with a last will, harmless commands,
and the broker going down and coming back while the kiosk still converges by polling."""
from __future__ import annotations

import json
import threading
import time

import paho.mqtt.client as mqtt
import pytest

from backend.fleet.mqtt import send_command
from fleet_helpers import Mosquitto, Platform, make_agent, mosquitto_available
from kiosk.fleet.protocol import notice_topic, presence_topic

pytestmark = pytest.mark.skipif(not mosquitto_available(), reason="mosquitto is not installed (make setup)")


def wait_for(predicate, timeout=45.0, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def retained(url_port: int, topic: str, timeout: float = 5.0) -> bytes | None:
    """What the broker keeps on ``topic`` (a fresh subscriber gets the retained message)."""
    got: list[bytes] = []
    done = threading.Event()
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
    client.on_connect = lambda c, *_: c.subscribe(topic, qos=1)

    def on_message(_c, _u, message):
        got.append(message.payload)
        done.set()
    client.on_message = on_message
    client.connect("127.0.0.1", url_port)
    client.loop_start()
    done.wait(timeout)
    client.disconnect()
    client.loop_stop()
    return got[0] if got else None


@pytest.fixture
def setup(tmp_path):
    broker = Mosquitto(tmp_path / "broker").start()
    platform = Platform(tmp_path / "platform", {"k-001": "pingan"}, mqtt_url=broker.url).start()
    agent = make_agent(platform, tmp_path, "k-001", town="pingan", mqtt_url=broker.url,
                       poll_interval_s=3600.0, heartbeat_s=1.0)
    yield broker, platform, agent
    agent.stop()
    platform.stop()
    broker.stop()


def test_notice_presence_commands_and_the_broker_down_and_back(setup):
    broker, platform, agent = setup
    agent.start()
    wait_for(lambda: agent.listener.connected, what="the kiosk's MQTT connection")
    wait_for(lambda: retained(broker.port, presence_topic("k-001")) == b"online", what="presence online")
    wait_for(lambda: any(k["online"] for k in platform.fleet.status()["kiosks"]), what="platform sees presence")

    # With a one-hour poll, only the notice can bring version 1 this fast.
    platform.publish("county", 1, '[kiosk]\nhotline = "12345"\n', canary="k-001")
    wait_for(lambda: agent.status()["active"] == {"county": 1}, what="apply after a notice")
    notice = json.loads(retained(broker.port, notice_topic("kiosk/k-001")))
    assert set(notice) == {"revision"}  # a number, never configuration

    # Commands: refresh is obeyed, anything else is ignored.
    before = agent.status()
    send_command(broker.url, "k-001", "diagnostics")
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
    client.connect("127.0.0.1", broker.port)
    client.loop_start()
    client.publish("kiosk/fleet/command/k-001", json.dumps({"command": "set_config", "hotline": "666"}), qos=1).wait_for_publish(5)
    client.disconnect()
    client.loop_stop()
    time.sleep(1.0)
    assert agent.status()["active"] == before["active"]
    with pytest.raises(ValueError):
        send_command(broker.url, "k-001", "set_config")

    # Broker down: the kiosk still converges by polling (poll interval shortened for the test).
    broker.stop()
    wait_for(lambda: not agent.listener.connected, what="the kiosk to notice the broker is gone")
    agent.s.poll_interval_s = 2.0
    agent.request_refresh()  # take the shorter interval now
    platform.publish("county", 2, '[kiosk]\nhotline = "12346"\n', canary="k-001")  # notice fails, logged
    wait_for(lambda: agent.status()["active"] == {"county": 2}, what="convergence by polling")

    # Broker back on the same port: the kiosk reconnects, says online again, notices work again.
    agent.s.poll_interval_s = 3600.0
    broker.start()
    wait_for(lambda: agent.listener.connected, timeout=60, what="reconnect")
    wait_for(lambda: retained(broker.port, presence_topic("k-001")) == b"online", what="presence after restart")
    platform.publish("county", 3, '[kiosk]\nhotline = "12347"\n', canary="k-001")
    wait_for(lambda: agent.status()["active"] == {"county": 3}, what="apply after a notice, broker back")
    status = {k["id"]: k for k in platform.fleet.status()["kiosks"]}["k-001"]
    wait_for(lambda: {k["id"]: k for k in platform.fleet.status()["kiosks"]}["k-001"]["config_applied"] == {"county": 3},
             what="the heartbeat to report version 3")
    assert status["online"]


def test_the_last_will_marks_a_vanished_kiosk_offline_and_retained_notices_survive_a_restart(setup):
    broker, platform, agent = setup
    agent.start()
    wait_for(lambda: agent.listener.connected, what="connection")
    platform.publish("county", 1, '[kiosk]\nhotline = "12345"\n', canary="k-001")
    wait_for(lambda: retained(broker.port, notice_topic("kiosk/k-001")) is not None, what="notice")
    wait_for(lambda: retained(broker.port, presence_topic("k-001")) == b"online", what="presence online")
    # The kiosk vanishes without a goodbye (power cut): its network loop stops, its socket closes.
    agent.listener.client.loop_stop()
    agent.listener.client.socket().close()
    wait_for(lambda: retained(broker.port, presence_topic("k-001")) == b"offline", what="the last will")
    wait_for(lambda: not {k["id"]: k for k in platform.fleet.status()["kiosks"]}["k-001"]["online"],
             what="the platform to see it offline")
    broker.stop()
    broker.start()  # persistence on: retained notices are still there
    assert retained(broker.port, notice_topic("kiosk/k-001")) is not None
