"""The platform's MQTT side: retained notices per scope, harmless commands, and kiosk presence.

paho-mqtt 2.x with callback API version 2. A notice carries only a revision number.
"""
from __future__ import annotations

import json
import logging
import threading
import uuid
from typing import Callable

import paho.mqtt.client as mqtt

from kiosk.fleet.protocol import COMMANDS, PRESENCE_PREFIX, broker_address, command_topic, notice_topic

log = logging.getLogger(__name__)


def _client(prefix: str) -> mqtt.Client:
    return mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"{prefix}-{uuid.uuid4().hex[:8]}",
                       protocol=mqtt.MQTTv311)


def _publish(url: str, messages: list[tuple[str, bytes, bool]], timeout: float = 5.0) -> None:
    host, port = broker_address(url)
    client = _client("platform")
    client.connect(host, port, keepalive=30)
    client.loop_start()
    try:
        infos = [client.publish(topic, payload, qos=1, retain=retain) for topic, payload, retain in messages]
        for info in infos:
            info.wait_for_publish(timeout)
            if not info.is_published():
                raise TimeoutError("the broker did not acknowledge the notice")
    finally:
        client.disconnect()
        client.loop_stop()


def publish_notices(url: str, scopes: set[str], revision: int) -> None:
    payload = json.dumps({"revision": revision}).encode()
    _publish(url, [(notice_topic(scope), payload, True) for scope in sorted(scopes)])


def send_command(url: str, kiosk_id: str, command: str) -> None:
    if command not in COMMANDS:
        raise ValueError(f"unknown command {command!r} (known: {', '.join(COMMANDS)})")
    _publish(url, [(command_topic(kiosk_id), json.dumps({"command": command}).encode(), False)])


class PresenceListener:
    """Follows ``kiosk/fleet/presence/+`` and calls ``on_presence(kiosk_id, online)``; reconnects by itself."""

    def __init__(self, url: str, on_presence: Callable[[str, bool], None]) -> None:
        self.host, self.port = broker_address(url)
        self.on_presence = on_presence
        self.client = _client("platform-presence")
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message
        self.client.reconnect_delay_set(1, 30)
        self._lock = threading.Lock()

    def _on_connect(self, client, _userdata, _flags, reason_code, _properties) -> None:
        if not reason_code.is_failure:
            client.subscribe(PRESENCE_PREFIX + "+", qos=1)

    def _on_message(self, _client, _userdata, message) -> None:
        kiosk_id = message.topic[len(PRESENCE_PREFIX):]
        state = message.payload.decode("utf-8", "replace")
        if state not in ("online", "offline"):
            return
        try:
            self.on_presence(kiosk_id, state == "online")
        except Exception:
            log.warning("presence of %s not recorded", kiosk_id, exc_info=True)

    def start(self) -> None:
        self.client.connect_async(self.host, self.port, keepalive=30)
        self.client.loop_start()

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()
