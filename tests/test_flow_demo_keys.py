"""The demo's hotkeys act only on simulated devices."""
from __future__ import annotations

from kiosk.demo_keys import KEY_F2, KEY_F3, KEY_F4, KEY_F5, DemoKeys
from kiosk.flows import Devices
from kiosk.qr_content import interpret


class Sim:
    def __init__(self):
        self.calls = []

    def __getattr__(self, name):
        return lambda *args: self.calls.append((name, args))


class Simulated:
    def __init__(self):
        self.simulator = Sim()


def test_hotkeys_drive_the_simulators():
    devices = Devices(reader=Simulated(), scanner=Simulated())
    keys = DemoKeys(devices, lambda: "http://127.0.0.1:8000", lambda: "ZW0001261201-73920155")
    assert keys.press(KEY_F2) and devices.reader.simulator.calls == [("toggle", ())]
    assert keys.press(KEY_F3) and keys.press(KEY_F3)
    first, second = devices.reader.simulator.calls[1:]
    assert first[0] == second[0] == "present" and first[1] != second[1]   # the next card each time
    assert keys.press(KEY_F4) and keys.press(KEY_F5)
    (_, (ours,)), (_, (theirs,)) = devices.scanner.simulator.calls
    assert interpret(ours, "http://127.0.0.1:8000").receipt_no == "ZW0001261201-73920155"
    assert interpret(theirs, "http://127.0.0.1:8000").kind == "unrecognised"
    assert not keys.press(65)


def test_real_devices_ignore_the_hotkeys():
    keys = DemoKeys(Devices(reader=object(), scanner=None), lambda: "", lambda: None)
    assert not any(keys.press(key) for key in (KEY_F2, KEY_F3, KEY_F4, KEY_F5))


def test_f2_on_a_fresh_start_places_the_first_demo_persons_card():
    from devices.idcard.simulator import SamSimulator

    reader = Simulated()
    reader.simulator = SamSimulator()            # the demo's simulated reader, no card yet
    keys = DemoKeys(Devices(reader=reader), lambda: "", lambda: None)
    assert keys.press(KEY_F2)
    assert reader.simulator.card_present         # F2 put the first demo person's card on the reader
    assert keys.press(KEY_F2) and not reader.simulator.card_present      # and takes it away
    assert keys.press(KEY_F2) and reader.simulator.card_present          # and puts it back
