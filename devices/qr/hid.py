"""USB HID scanners read through /dev/hidraw*: keyboard-wedge boot reports and HID-POS reports. Pure.

Keyboard mode (the factory default of most scanners): the scanner "types" the code as 8-byte boot
keyboard reports (modifiers, reserved, six key usages) with the US layout, so only ASCII survives;
Chinese needs serial or HID-POS mode. A key counts when it appears in a report and
was not held in the previous one, so "11" arrives as press, release, press.

HID-POS mode (USB HID Point of Sale usage tables, barcode scanner page 0x8C): 64-byte input reports
laid out as the Honeywell / Access-IS scanners document them: report id 0x02, data length (≤ 56),
three bytes of AIM symbology identifier, 56 data bytes, a vendor symbology byte, a reserved byte and
a last byte whose bit 0 says that more reports of the same code follow. Data are raw bytes, so
UTF-8 and GB18030 content comes through intact. Other vendors' layouts are a setting to add here.
"""
from __future__ import annotations

from devices.qr.framing import AIM_SYMBOLOGIES

ENTER_KEYS = (0x28, 0x58)  # Enter, keypad Enter
TAB_KEY = 0x2B
ROLLOVER_ERROR = 0x01
_LCTRL, _LSHIFT, _LALT, _RCTRL, _RSHIFT, _RALT = 0x01, 0x02, 0x04, 0x10, 0x20, 0x40

# usage id → (unshifted, shifted) for the US layout
US_KEYMAP: dict[int, tuple[str, str]] = {}
for _i, _c in enumerate("abcdefghijklmnopqrstuvwxyz"):
    US_KEYMAP[0x04 + _i] = (_c, _c.upper())
for _i, (_c, _s) in enumerate(zip("1234567890", "!@#$%^&*()")):
    US_KEYMAP[0x1E + _i] = (_c, _s)
for _usage, _pair in {
    0x2C: (" ", " "), 0x2D: ("-", "_"), 0x2E: ("=", "+"), 0x2F: ("[", "{"), 0x30: ("]", "}"),
    0x31: ("\\", "|"), 0x33: (";", ":"), 0x34: ("'", '"'), 0x35: ("`", "~"), 0x36: (",", "<"),
    0x37: (".", ">"), 0x38: ("/", "?"),
    0x54: ("/", "/"), 0x55: ("*", "*"), 0x56: ("-", "-"), 0x57: ("+", "+"), 0x63: (".", "."),
}.items():
    US_KEYMAP[_usage] = _pair
for _i, _c in enumerate("1234567890"):
    US_KEYMAP[0x59 + _i] = (_c, _c)  # keypad digits
del _i, _c, _s, _usage, _pair

HIDPOS_REPORT_ID = 0x02
HIDPOS_REPORT_SIZE = 64
HIDPOS_MAX_DATA = 56


class KeyboardReportDecoder:
    """Boot keyboard reports → ASCII bytes, with Enter and Tab turned into CR for the line framer."""

    def __init__(self) -> None:
        self._held: set[int] = set()
        self.unmapped = 0

    def feed(self, report: bytes) -> bytes:
        if len(report) == 9:  # devices with a report id put it first
            report = report[1:]
        if len(report) != 8:
            raise ValueError(f"a boot keyboard report is 8 bytes, got {len(report)}")
        modifiers = report[0]
        keys = [k for k in report[2:8] if k]
        if ROLLOVER_ERROR in keys:  # too many keys at once: the report carries no key state
            return b""
        out = bytearray()
        shift = bool(modifiers & (_LSHIFT | _RSHIFT))
        ctrl = bool(modifiers & (_LCTRL | _RCTRL))
        alt = bool(modifiers & (_LALT | _RALT))
        for key in keys:
            if key in self._held:
                continue
            if key in ENTER_KEYS or key == TAB_KEY:
                out.append(0x0D)
            elif ctrl and key == 0x30:  # Ctrl+] is how keyboard-wedge scanners type GS (GS1 FNC1)
                out.append(0x1D)
            elif ctrl or alt:
                self.unmapped += 1
            elif key in US_KEYMAP:
                out += US_KEYMAP[key][1 if shift else 0].encode("ascii")
            else:
                self.unmapped += 1
        self._held = set(keys)
        return bytes(out)


def keyboard_reports(text: str, enter: bool = True) -> list[bytes]:
    """The boot reports a keyboard-wedge scanner sends for ``text`` (press, release per key)."""
    reverse: dict[str, tuple[int, bool]] = {}
    for usage, (plain, shifted) in sorted(US_KEYMAP.items(), reverse=True):  # main block wins
        reverse[shifted] = (usage, plain != shifted)
        reverse[plain] = (usage, False)
    reports = []
    for ch in text:
        if ch not in reverse:
            raise ValueError(f"{ch!r} cannot be typed on a US keyboard")
        usage, shifted = reverse[ch]
        reports.append(bytes([_LSHIFT if shifted else 0, 0, usage, 0, 0, 0, 0, 0]))
        reports.append(bytes(8))
    if enter:
        reports += [bytes([0, 0, ENTER_KEYS[0], 0, 0, 0, 0, 0]), bytes(8)]
    return reports


class HidPosError(ValueError):
    """A HID-POS report that does not follow the layout."""


class HidPosReassembler:
    """HID-POS input reports → (code bytes, symbology) once the last report of a code arrives."""

    def __init__(self) -> None:
        self._data = bytearray()
        self._symbology: str | None = None

    def feed(self, report: bytes) -> tuple[bytes, str] | None:
        if len(report) != HIDPOS_REPORT_SIZE:
            raise HidPosError(f"a HID-POS report is {HIDPOS_REPORT_SIZE} bytes, got {len(report)}")
        if report[0] != HIDPOS_REPORT_ID:
            return None  # another report of the device (status, settings): not scanned data
        length = report[1]
        if length > HIDPOS_MAX_DATA:
            self._data.clear()
            self._symbology = None
            raise HidPosError(f"data length {length} exceeds {HIDPOS_MAX_DATA}")
        if self._symbology is None:
            aim = report[2:5].decode("latin-1")
            self._symbology = AIM_SYMBOLOGIES.get(aim[1], "other") if aim[0] == "]" else "unknown"
        self._data += report[5:5 + length]
        if report[63] & 0x01:
            return None
        data, symbology = bytes(self._data), self._symbology
        self._data.clear()
        self._symbology = None
        return data, symbology


def hidpos_reports(data: bytes, aim: str = "]Q1", vendor_id: int = 0) -> list[bytes]:
    """The HID-POS reports a scanner sends for ``data`` (for tests and the simulator)."""
    chunks = [data[i:i + HIDPOS_MAX_DATA] for i in range(0, len(data), HIDPOS_MAX_DATA)] or [b""]
    reports = []
    for index, chunk in enumerate(chunks):
        report = bytearray(HIDPOS_REPORT_SIZE)
        report[0] = HIDPOS_REPORT_ID
        report[1] = len(chunk)
        report[2:5] = aim.encode("ascii")[:3].ljust(3, b"\0")
        report[5:5 + len(chunk)] = chunk
        report[61] = vendor_id  # e.g. Honeywell's own code id; we read the AIM one
        report[63] = 0x01 if index < len(chunks) - 1 else 0x00
        reports.append(bytes(report))
    return reports
