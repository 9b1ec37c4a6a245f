"""SAM_V commands, status words and reply payloads, as plain values.

A request body is ``CMD PARA DATA…``; a reply body is ``SW1 SW2 SW3 DATA…``. SW3 carries the
status code. Everything here is pure so the driver and the simulator share one definition.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass

from devices.idcard.frames import LengthError, decode_frame, encode_frame

TEXT_SIZE = 256
PHOTO_SIZE = 1024
EXTRA_ADDRESS_SIZE = 70
SAM_ID_SIZE = 16
SELECT_DATA_SIZE = 8
FIND_DATA = b"\x00\x00\x00\x00"


class Sw3(enum.IntEnum):
    """Status codes in SW3 of a reply."""

    SUCCESS = 0x90
    FIND_OK = 0x9F
    NO_CONTENT = 0x91
    CHECKSUM_ERROR = 0x10
    LENGTH_ERROR = 0x11
    COMMAND_ERROR = 0x21
    NOT_PERMITTED = 0x23
    UNKNOWN_ERROR = 0x24
    CARD_AUTH_FAILED = 0x31
    SAM_AUTH_FAILED = 0x32
    VERIFY_ERROR = 0x33
    UNKNOWN_CARD_TYPE = 0x40
    READ_FAILED = 0x41
    RANDOM_FAILED = 0x47
    SAM_SELF_TEST_FAILED = 0x60
    SAM_NOT_AUTHORISED = 0x66
    NO_CARD = 0x80
    SELECT_FAILED = 0x81


SW3_MEANING = {
    Sw3.SUCCESS: "success",
    Sw3.FIND_OK: "card found",
    Sw3.NO_CONTENT: "no content for this item",
    Sw3.CHECKSUM_ERROR: "checksum error",
    Sw3.LENGTH_ERROR: "length error",
    Sw3.COMMAND_ERROR: "command error",
    Sw3.NOT_PERMITTED: "not permitted",
    Sw3.UNKNOWN_ERROR: "unknown error",
    Sw3.CARD_AUTH_FAILED: "card-to-SAM authentication failed",
    Sw3.SAM_AUTH_FAILED: "SAM-to-card authentication failed",
    Sw3.VERIFY_ERROR: "verification error",
    Sw3.UNKNOWN_CARD_TYPE: "unknown card type",
    Sw3.READ_FAILED: "card read failed",
    Sw3.RANDOM_FAILED: "random number failed",
    Sw3.SAM_SELF_TEST_FAILED: "SAM self-test failed",
    Sw3.SAM_NOT_AUTHORISED: "SAM not authorised",
    Sw3.NO_CARD: "no card",
    Sw3.SELECT_FAILED: "select card failed",
}


def describe_sw3(code: int) -> str:
    return SW3_MEANING.get(code, f"unknown status 0x{code:02X}")  # type: ignore[call-overload]


@dataclass(frozen=True)
class Request:
    cmd: int
    para: int
    data: bytes = b""

    def to_bytes(self) -> bytes:
        return encode_frame(bytes([self.cmd, self.para]) + self.data)

    @classmethod
    def from_body(cls, body: bytes) -> "Request":
        if len(body) < 2:
            raise LengthError("request body shorter than CMD PARA")
        return cls(body[0], body[1], bytes(body[2:]))

    @property
    def name(self) -> str:
        return COMMAND_NAMES.get((self.cmd, self.para), f"{self.cmd:02X} {self.para:02X}")


@dataclass(frozen=True)
class Reply:
    sw1: int
    sw2: int
    sw3: int
    data: bytes = b""

    def to_bytes(self) -> bytes:
        return encode_frame(bytes([self.sw1, self.sw2, self.sw3]) + self.data)

    @classmethod
    def from_body(cls, body: bytes) -> "Reply":
        if len(body) < 3:
            raise LengthError("reply body shorter than SW1 SW2 SW3")
        return cls(body[0], body[1], body[2], bytes(body[3:]))

    @classmethod
    def from_frame(cls, frame: bytes) -> "Reply":
        return cls.from_body(decode_frame(frame))

    @classmethod
    def status(cls, sw3: int, data: bytes = b"") -> "Reply":
        return cls(0x00, 0x00, sw3, data)


RESET_SAM = Request(0x10, 0xFF)
SAM_STATUS = Request(0x11, 0xFF)
SAM_ID = Request(0x12, 0xFF)
FIND_CARD = Request(0x20, 0x01)
SELECT_CARD = Request(0x20, 0x02)
READ_TEXT_PHOTO = Request(0x30, 0x01)
READ_WITH_FINGERPRINT = Request(0x30, 0x10)
READ_EXTRA_ADDRESS = Request(0x30, 0x03)

BAUD_CODES = {115200: 0x00, 57600: 0x01, 38400: 0x02, 19200: 0x03, 9600: 0x04}
BAUD_BY_CODE = {code: baud for baud, code in BAUD_CODES.items()}


def set_baud(baud: int) -> Request:
    """The request that switches the reader's UART rate; the host must follow with the same rate."""
    try:
        return Request(0x60, BAUD_CODES[baud])
    except KeyError:
        raise ValueError(f"the reader cannot run at {baud} baud (use {sorted(BAUD_CODES)})") from None


COMMAND_NAMES = {
    (0x10, 0xFF): "reset SAM",
    (0x11, 0xFF): "SAM status",
    (0x12, 0xFF): "read SAM id",
    (0x20, 0x01): "find card",
    (0x20, 0x02): "select card",
    (0x30, 0x01): "read text+photo",
    (0x30, 0x10): "read text+photo+fingerprint",
    (0x30, 0x03): "read extra address",
    **{(0x60, code): f"set baud {baud}" for code, baud in BAUD_BY_CODE.items()},
}


@dataclass(frozen=True)
class CardBlocks:
    """The raw blocks of a read reply: 256-byte UTF-16LE text, 1024-byte WLT photo, fingerprint."""

    text: bytes
    photo: bytes
    fingerprint: bytes = b""


def encode_read_data(blocks: CardBlocks, with_fingerprint: bool = False) -> bytes:
    """Reply DATA for 30 01 (or 30 10): the length words, then the blocks."""
    head = len(blocks.text).to_bytes(2, "big") + len(blocks.photo).to_bytes(2, "big")
    if with_fingerprint:
        head += len(blocks.fingerprint).to_bytes(2, "big")
        return head + blocks.text + blocks.photo + blocks.fingerprint
    return head + blocks.text + blocks.photo


def parse_read_data(data: bytes, with_fingerprint: bool = False) -> CardBlocks:
    """Split a read reply's DATA by its length words, checking they add up exactly."""
    head = 6 if with_fingerprint else 4
    if len(data) < head:
        raise LengthError("read reply too short for its length words")
    text_len = int.from_bytes(data[0:2], "big")
    photo_len = int.from_bytes(data[2:4], "big")
    finger_len = int.from_bytes(data[4:6], "big") if with_fingerprint else 0
    if text_len != TEXT_SIZE or photo_len != PHOTO_SIZE:
        raise LengthError(f"read reply declares text {text_len} and photo {photo_len} bytes")
    if len(data) != head + text_len + photo_len + finger_len:
        raise LengthError("read reply length words do not add up to its size")
    text_end = head + text_len
    photo_end = text_end + photo_len
    return CardBlocks(bytes(data[head:text_end]), bytes(data[text_end:photo_end]), bytes(data[photo_end:]))


def parse_extra_address(data: bytes) -> str:
    """The latest extra address (追加住址), UCS-2LE padded with spaces."""
    if len(data) != EXTRA_ADDRESS_SIZE:
        raise LengthError(f"extra address is {len(data)} bytes, expected {EXTRA_ADDRESS_SIZE}")
    return data.decode("utf-16-le", errors="replace").strip(" \x00")


def format_sam_id(data: bytes) -> str:
    """SAM id the way vendor tools print it, e.g. ``05.01-20101215-0012345678-1234567890``.

    The 16 bytes are little-endian unsigned words of 2, 2, 4, 4 and 4 bytes.
    """
    if len(data) != SAM_ID_SIZE:
        raise LengthError(f"SAM id is {len(data)} bytes, expected {SAM_ID_SIZE}")
    words = [int.from_bytes(data[a:b], "little") for a, b in ((0, 2), (2, 4), (4, 8), (8, 12), (12, 16))]
    return "{:02d}.{:02d}-{:08d}-{:010d}-{:010d}".format(*words)
