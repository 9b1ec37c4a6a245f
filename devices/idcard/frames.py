"""SAM_V framing: ``AA AA AA 96 69 | LEN_H LEN_L | body | CHK``, bytes in, bytes out.

LEN is big-endian and counts every byte after itself, CHK included; CHK is the XOR of the LEN
bytes and the body. Requests and replies share the framing, so one decoder serves the driver
(reading replies) and the simulator (reading requests). Pure: no I/O, no clock.
"""
from __future__ import annotations

PREAMBLE = b"\xAA\xAA\xAA\x96\x69"
HEADER_SIZE = len(PREAMBLE) + 2
MIN_LEN = 3  # a request's CMD PARA CHK; a reply needs 4 (SW1 SW2 SW3 CHK)
MAX_LEN = 4096  # the longest real reply (text + photo + 1024-byte fingerprint) is 2314


class ProtocolError(Exception):
    """A frame or payload that breaks the SAM_V protocol."""


class ChecksumError(ProtocolError):
    """The XOR checksum does not match: the bytes were damaged on the line."""


class LengthError(ProtocolError):
    """LEN is outside what any SAM_V frame can carry, or a payload is the wrong size."""


def checksum(data: bytes) -> int:
    """XOR of all bytes."""
    value = 0
    for byte in data:
        value ^= byte
    return value


def encode_frame(body: bytes) -> bytes:
    """Wrap a body (CMD PARA DATA, or SW1 SW2 SW3 DATA) into a complete frame."""
    length = len(body) + 1
    if not MIN_LEN <= length <= MAX_LEN:
        raise LengthError(f"frame body of {len(body)} bytes cannot be framed")
    head = length.to_bytes(2, "big")
    return PREAMBLE + head + body + bytes([checksum(head + body)])


def decode_frame(frame: bytes) -> bytes:
    """Return the body of exactly one complete frame, or raise a ProtocolError."""
    if not frame.startswith(PREAMBLE):
        raise ProtocolError("frame does not start with the preamble AA AA AA 96 69")
    if len(frame) < HEADER_SIZE:
        raise LengthError("frame shorter than its header")
    length = int.from_bytes(frame[5:7], "big")
    if not MIN_LEN <= length <= MAX_LEN or len(frame) != HEADER_SIZE + length:
        raise LengthError(f"LEN {length} does not match a frame of {len(frame)} bytes")
    if checksum(frame[5:-1]) != frame[-1]:
        raise ChecksumError("checksum mismatch")
    return bytes(frame[HEADER_SIZE:-1])


class FrameDecoder:
    """Streaming decoder: feed bytes as they arrive, take complete frame bodies out.

    Bytes before a preamble are line noise and are dropped. A frame with a bad checksum or an
    impossible LEN raises from ``next_body()`` once; the decoder has then skipped that preamble
    and resynchronises on the next one, so calling again carries on with the bytes after it.
    """

    def __init__(self) -> None:
        self._buffer = bytearray()
        self.noise_bytes = 0  # bytes dropped while hunting for a preamble

    def feed(self, data: bytes) -> None:
        self._buffer += data

    def clear(self) -> None:
        self._buffer.clear()

    @property
    def pending(self) -> int:
        return len(self._buffer)

    def next_body(self) -> bytes | None:
        """The next complete frame's body, None when more bytes are needed."""
        buffer = self._buffer
        start = buffer.find(PREAMBLE)
        if start < 0:
            # keep a tail that could be the start of a preamble split across reads
            keep = _partial_preamble_tail(buffer)
            self.noise_bytes += len(buffer) - keep
            del buffer[: len(buffer) - keep]
            return None
        if start:
            self.noise_bytes += start
            del buffer[:start]
        if len(buffer) < HEADER_SIZE:
            return None
        length = int.from_bytes(buffer[5:7], "big")
        if not MIN_LEN <= length <= MAX_LEN:
            del buffer[: len(PREAMBLE)]
            raise LengthError(f"impossible LEN {length}")
        end = HEADER_SIZE + length
        if len(buffer) < end:
            return None
        frame = bytes(buffer[:end])
        if checksum(frame[5:-1]) != frame[-1]:
            del buffer[: len(PREAMBLE)]
            raise ChecksumError("checksum mismatch")
        del buffer[:end]
        return frame[HEADER_SIZE:-1]


def _partial_preamble_tail(buffer: bytearray) -> int:
    """Length of the longest buffer suffix that is a proper prefix of the preamble."""
    for size in range(min(len(PREAMBLE) - 1, len(buffer)), 0, -1):
        if buffer[-size:] == PREAMBLE[:size]:
            return size
    return 0
