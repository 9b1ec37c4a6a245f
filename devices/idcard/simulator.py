"""A simulated SAM_V reader that speaks the real bytes, with a card field you control.

``SamSimulator`` is the reader: it answers request bodies with reply frames and paces them at a
baud rate, and it can misbehave on request (slow, chunked, noisy, corrupt, silent, nosam).
sim_links.py carries it over TCP (for pyserial ``socket://``) or a pty (what ``sim://`` uses).

Card model: find succeeds once per presentation; after a successful read the
card is latched and find answers "no card" until it leaves the field. Select still answers
success while a latched card stays in the field and "select failed" once it is gone; the driver
uses that to tell a card left on the reader from one taken away.
"""
from __future__ import annotations

import random
import threading
import time
from typing import Callable, Iterable

from devices.idcard import commands as c
from devices.idcard.commands import Reply, Request, Sw3
from devices.idcard.fixtures import SimCard, load_card
from devices.idcard.frames import PREAMBLE, ChecksumError, FrameDecoder, LengthError
from devices.idcard.transport import DEFAULT_BAUD, SIM_MODES


SLOW_BAUD = 9600
SLOW_DELAY = 0.03  # seconds the "slow" reader thinks before answering
SAM_ID_BYTES = b"".join((
    (5).to_bytes(2, "little"), (1).to_bytes(2, "little"), (20181128).to_bytes(4, "little"),
    (12345678).to_bytes(4, "little"), (3000011234).to_bytes(4, "little"),
))


class SamSimulator:
    """The reader's side of the protocol. Thread-safe: connections and the control API share it."""

    def __init__(self, card: SimCard | str | None = None, modes: Iterable[str] = (),
                 baud: int = DEFAULT_BAUD, corrupt_every: int = 2, seed: int | None = None) -> None:
        self._lock = threading.Lock()
        self._rng = random.Random(seed)
        self._card: SimCard | None = None
        self._last_card: SimCard | None = None
        self._selected = False
        self._latched = False
        self._reads = 0
        self._pending_baud: int | None = None
        self.baud = baud
        self.corrupt_every = corrupt_every
        self.modes: frozenset[str] = frozenset()
        self.set_modes(modes)
        self.requests = 0
        if card is not None:
            self.present(card)

    # -- control API (tests, the demo hotkey, the sim CLI) --

    def present(self, card: SimCard | str) -> SimCard:
        """Put a card in the field (a SimCard or a fixture name)."""
        if isinstance(card, str):
            card = load_card(card)
        with self._lock:
            self._card = self._last_card = card
            self._selected = self._latched = False
        return card

    def remove(self) -> None:
        """Take the card out of the field."""
        with self._lock:
            self._card = None
            self._selected = self._latched = False

    def toggle(self) -> bool:
        """Present the last card again, or remove the one present; True when a card is now present."""
        with self._lock:
            card = self._card
            last = self._last_card
        if card is not None:
            self.remove()
            return False
        if last is None:
            return False
        self.present(last)
        return True

    @property
    def card_present(self) -> bool:
        with self._lock:
            return self._card is not None

    def set_modes(self, modes: Iterable[str]) -> None:
        modes = frozenset(modes)
        unknown = modes - SIM_MODES
        if unknown:
            raise ValueError(f"unknown simulator mode {sorted(unknown)[0]!r}")
        with self._lock:
            self.modes = modes

    # -- the protocol --

    def respond(self, body: bytes) -> bytes | None:
        """The bytes the reader sends for one request body; None when it says nothing."""
        with self._lock:
            self.requests += 1
            if "silent" in self.modes:
                return None
            try:
                request = Request.from_body(body)
            except LengthError:
                return self._noisy(Reply.status(Sw3.LENGTH_ERROR).to_bytes())
            reply = self._answer(request)
            frame = reply.to_bytes()
            if request in (c.READ_TEXT_PHOTO, c.READ_WITH_FINGERPRINT) and reply.sw3 == Sw3.SUCCESS:
                self._reads += 1
                # the card was read (and latched); only the line damaged the reply
                if "corrupt" in self.modes and (self._reads - 1) % self.corrupt_every == 0:
                    frame = _damage(frame, self._rng)
            return self._noisy(frame)

    def respond_to_bad_frame(self, error: Exception) -> bytes | None:
        if "silent" in self.modes:
            return None
        code = Sw3.CHECKSUM_ERROR if isinstance(error, ChecksumError) else Sw3.LENGTH_ERROR
        return self._noisy(Reply.status(code).to_bytes())

    def _answer(self, request: Request) -> Reply:
        card = self._card
        if request.cmd in (0x10, 0x11, 0x12, 0x20, 0x30) and "nosam" in self.modes:
            return Reply.status(Sw3.SAM_SELF_TEST_FAILED)
        if request in (c.RESET_SAM, c.SAM_STATUS):
            return Reply.status(Sw3.SUCCESS)
        if request == c.SAM_ID:
            return Reply.status(Sw3.SUCCESS, SAM_ID_BYTES)
        if request == c.FIND_CARD:
            if card is None or self._latched:
                return Reply.status(Sw3.NO_CARD)
            return Reply.status(Sw3.FIND_OK, c.FIND_DATA)
        if request == c.SELECT_CARD:
            if card is None:
                return Reply.status(Sw3.SELECT_FAILED)
            self._selected = True
            return Reply.status(Sw3.SUCCESS, bytes(c.SELECT_DATA_SIZE))
        if request in (c.READ_TEXT_PHOTO, c.READ_WITH_FINGERPRINT):
            if card is None or not self._selected:
                return Reply.status(Sw3.READ_FAILED)
            self._latched = True
            with_finger = request == c.READ_WITH_FINGERPRINT
            return Reply.status(Sw3.SUCCESS, c.encode_read_data(card.blocks, with_finger))
        if request == c.READ_EXTRA_ADDRESS:
            if card is None or not self._selected:
                return Reply.status(Sw3.READ_FAILED)
            if card.extra_address is None:
                return Reply.status(Sw3.NO_CONTENT)
            data = card.extra_address.ljust(c.EXTRA_ADDRESS_SIZE // 2).encode("utf-16-le")
            return Reply.status(Sw3.SUCCESS, data)
        if request.cmd == 0x60 and request.para in c.BAUD_BY_CODE and not request.data:
            self._pending_baud = c.BAUD_BY_CODE[request.para]
            return Reply.status(Sw3.SUCCESS)
        return Reply.status(Sw3.COMMAND_ERROR)

    def _noisy(self, frame: bytes) -> bytes:
        if "noisy" not in self.modes:
            return frame
        return _line_noise(self._rng) + frame

    # -- the wire --

    def transmit(self, data: bytes, write: Callable[[bytes], object]) -> None:
        """Send bytes no faster than the baud rate allows; slow/chunked modes change the pacing."""
        with self._lock:
            modes = self.modes
            baud = SLOW_BAUD if "slow" in modes else self.baud
            chunked = "chunked" in modes
            pieces = _split(data, self._rng) if chunked else [data[i:i + 32] for i in range(0, len(data), 32)]
            gaps = [self._rng.uniform(0, 0.003) if chunked else 0.0 for _ in pieces]
        if "slow" in modes:
            time.sleep(SLOW_DELAY)
        byte_time = 10.0 / baud if baud else 0.0
        start = time.monotonic()
        sent = 0
        for piece, gap in zip(pieces, gaps):
            sent += len(piece)
            due = max(start + sent * byte_time, time.monotonic() + gap)
            delay = due - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            write(piece)
        with self._lock:
            if self._pending_baud:
                self.baud, self._pending_baud = self._pending_baud, None

    def serve(self, read: Callable[[], bytes | None], write: Callable[[bytes], object],
              stop: threading.Event) -> None:
        """Answer requests on one connection until it closes or ``stop`` is set.

        ``read`` returns bytes, b"" when nothing came for a while, or None when the peer is gone.
        """
        decoder = FrameDecoder()
        while not stop.is_set():
            data = read()
            if data is None:
                return
            decoder.feed(data)
            while True:
                try:
                    body = decoder.next_body()
                except (ChecksumError, LengthError) as exc:
                    out = self.respond_to_bad_frame(exc)
                else:
                    if body is None:
                        break
                    out = self.respond(body)
                if out:
                    self.transmit(out, write)


def _damage(frame: bytes, rng: random.Random) -> bytes:
    """Flip one bit in the data of a frame, leaving its checksum as it was."""
    damaged = bytearray(frame)
    index = rng.randrange(10, len(frame) - 1)
    damaged[index] ^= 1 << rng.randrange(8)
    return bytes(damaged)


def _line_noise(rng: random.Random) -> bytes:
    """Garbage as a line picks up: random bytes and broken preambles, never a whole preamble."""
    noise = bytearray(rng.randbytes(rng.randint(1, 12)))
    if rng.random() < 0.5:
        noise += PREAMBLE[: rng.randint(1, len(PREAMBLE) - 1)] + bytes([rng.choice((0x00, 0x55, 0xFF))])
    return bytes(noise.replace(PREAMBLE[:4], b"\x00"))


def _split(data: bytes, rng: random.Random) -> list[bytes]:
    pieces = []
    index = 0
    while index < len(data):
        size = rng.randint(1, 97)
        pieces.append(data[index:index + size])
        index += size
    return pieces
