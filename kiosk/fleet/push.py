"""The kiosk's MQTT side (paho-mqtt 2.x, callback API version 2): notices, presence, harmless commands.

A notice only wakes the agent, which then refreshes through TUF; a command can only ask for a
refresh or a diagnostics heartbeat. paho's network thread reconnects by itself when the broker
comes back; subscriptions and the retained ``online`` are renewed on every connect.
"""
from __future__ import annotations

import json
import logging
import uuid
from typing import TYPE_CHECKING

import paho.mqtt.client as mqtt

from kiosk.fleet.protocol import COMMANDS, broker_address, command_topic, notice_topic, presence_topic

if TYPE_CHECKING:
    from kiosk.fleet.agent import FleetAgent

log = logging.getLogger(__name__)


class NoticeListener:
    def __init__(self, url: str, kiosk_id: str, scopes: list[str], agent: "FleetAgent") -> None:
        self.host, self.port = broker_address(url)
        self.kiosk_id = kiosk_id
        self.scopes = scopes
        self.agent = agent
        self.connected = False
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2,
                                  client_id=f"kiosk-{kiosk_id}-{uuid.uuid4().hex[:6]}",
                                  protocol=mqtt.MQTTv311)
        self.client.will_set(presence_topic(kiosk_id), b"offline", qos=1, retain=True)
        self.client.reconnect_delay_set(1, 10)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_message = self._on_message

    def start(self) -> None:
        self.client.connect_async(self.host, self.port, keepalive=30)
        self.client.loop_start()

    def stop(self) -> None:
        if self.connected:
            try:
                info = self.client.publish(presence_topic(self.kiosk_id), b"offline", qos=1, retain=True)
                info.wait_for_publish(2)
            except (RuntimeError, ValueError):
                pass  # the connection is gone already: the last will says offline
        self.client.disconnect()
        self.client.loop_stop()

    def _on_connect(self, client, _userdata, _flags, reason_code, _properties) -> None:
        if reason_code.is_failure:
            log.warning("fleet broker refused the connection: %s", reason_code)
            return
        self.connected = True
        client.subscribe([(notice_topic(scope), 1) for scope in self.scopes]
                         + [(command_topic(self.kiosk_id), 1)])
        client.publish(presence_topic(self.kiosk_id), b"online", qos=1, retain=True)
        self.agent.request_refresh()  # whatever was announced while we were away

    def _on_disconnect(self, _client, _userdata, _flags, _reason_code, _properties) -> None:
        self.connected = False

    def _on_message(self, _client, _userdata, message) -> None:
        try:
            data = json.loads(message.payload[:1024])
        except ValueError:
            return
        if not isinstance(data, dict):
            return
        if message.topic == command_topic(self.kiosk_id):
            command = data.get("command")
            if command not in COMMANDS:
                log.warning("fleet command %r ignored (only %s)", command, ", ".join(COMMANDS))
            elif command == "refresh":
                self.agent.request_refresh()
            else:
                self.agent.request_diagnostics()
            return
        revision = data.get("revision")
        if isinstance(revision, int) and not isinstance(revision, bool):
            self.agent.on_notice(revision)
