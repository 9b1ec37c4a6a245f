"""The simulator as a peer: request bytes in, reply bytes out, with no driver in between."""
import socket
import threading
import time

import pytest

from devices.idcard import commands as c
from devices.idcard.commands import Reply, Sw3
from devices.idcard.fixtures import load_card
from devices.idcard.frames import PREAMBLE, ChecksumError, FrameDecoder, decode_frame
from devices.idcard.sim_links import TcpSimulatorServer
from devices.idcard.simulator import SamSimulator

P = PREAMBLE


def ask(sim, request):
    out = sim.respond(decode_frame(request.to_bytes()))
    return None if out is None else Reply.from_frame(out)


def test_card_lifecycle_in_bytes():
    sim = SamSimulator()
    assert sim.respond(b"\x20\x01") == P + bytes.fromhex("00 04 00 00 80 84")  # no card
    sim.present("resident")
    assert sim.respond(b"\x20\x01") == P + bytes.fromhex("00 08 00 00 9F 00 00 00 00 97")
    assert ask(sim, c.SELECT_CARD) == Reply(0, 0, 0x90, bytes(8))
    read = sim.respond(b"\x30\x01")
    assert len(read) == 1295 and read[5:7] == b"\x05\x08"
    blocks = c.parse_read_data(Reply.from_frame(read).data)
    assert (blocks.text, blocks.photo) == (load_card("resident").blocks.text, load_card("resident").blocks.photo)
    assert ask(sim, c.FIND_CARD).sw3 == Sw3.NO_CARD  # read: it must leave the field first
    assert ask(sim, c.SELECT_CARD).sw3 == Sw3.SUCCESS  # ...but it is still there
    sim.remove()
    assert ask(sim, c.SELECT_CARD).sw3 == Sw3.SELECT_FAILED
    sim.present("resident")
    assert ask(sim, c.FIND_CARD).sw3 == Sw3.FIND_OK


def test_read_needs_a_selected_card():
    sim = SamSimulator("resident")
    assert ask(sim, c.READ_TEXT_PHOTO).sw3 == Sw3.READ_FAILED


def test_sam_commands():
    sim = SamSimulator()
    assert sim.respond(b"\x10\xFF") == P + bytes.fromhex("00 04 00 00 90 94")
    assert sim.respond(b"\x11\xFF") == P + bytes.fromhex("00 04 00 00 90 94")
    sam_id = sim.respond(b"\x12\xFF")
    assert sam_id[5:10] == bytes.fromhex("00 14 00 00 90") and len(sam_id) == 5 + 2 + 20
    sim.set_modes(["nosam"])
    for request in (c.RESET_SAM, c.SAM_STATUS, c.SAM_ID, c.FIND_CARD, c.READ_TEXT_PHOTO):
        assert ask(sim, request).sw3 == Sw3.SAM_SELF_TEST_FAILED


def test_fingerprint_and_extra_address():
    sim = SamSimulator("resident")  # 1024 fingerprint bytes and an extra address
    ask(sim, c.FIND_CARD), ask(sim, c.SELECT_CARD)
    read = sim.respond(b"\x30\x10")
    assert len(read) == 2321
    assert len(c.parse_read_data(Reply.from_frame(read).data, with_fingerprint=True).fingerprint) == 1024
    assert c.parse_extra_address(ask(sim, c.READ_EXTRA_ADDRESS).data) == "广西壮族自治区桂林市资源县资源镇测试新村2号"
    sim.present("resident_longterm")  # 512 fingerprint bytes, no extra address
    ask(sim, c.FIND_CARD), ask(sim, c.SELECT_CARD)
    assert len(sim.respond(b"\x30\x10")) == 1809
    assert ask(sim, c.READ_EXTRA_ADDRESS).sw3 == Sw3.NO_CONTENT


def test_unknown_command_and_short_body():
    sim = SamSimulator()
    assert ask(sim, c.Request(0x55, 0x01)).sw3 == Sw3.COMMAND_ERROR
    assert Reply.from_frame(sim.respond(b"\x20")).sw3 == Sw3.LENGTH_ERROR


def test_silent_noisy_and_corrupt_modes():
    sim = SamSimulator("resident", seed=5)
    sim.set_modes(["silent"])
    assert sim.respond(b"\x20\x01") is None
    sim.set_modes(["noisy"])
    for _ in range(50):
        out = sim.respond(b"\x11\xFF")
        assert not out.startswith(P) and out.index(P) > 0
        decoder = FrameDecoder()
        decoder.feed(out)
        assert decoder.next_body() == b"\x00\x00\x90"
    sim.set_modes(["corrupt"])
    ask(sim, c.FIND_CARD), ask(sim, c.SELECT_CARD)
    with pytest.raises(ChecksumError):
        decode_frame(sim.respond(b"\x30\x01"))  # the first read is damaged on the line
    ask(sim, c.SELECT_CARD)
    decode_frame(sim.respond(b"\x30\x01"))  # the second is clean
    with pytest.raises(ValueError):
        sim.set_modes(["wobbly"])


def test_baud_switch_answers_at_the_old_rate_then_changes():
    sim = SamSimulator()
    assert ask(sim, c.set_baud(9600)) == Reply(0, 0, 0x90)
    sim.transmit(b"\x00", lambda data: None)
    assert sim.baud == 9600


def test_pacing_follows_the_baud_rate():
    """1295 bytes at 9600 baud take about 1.35 s on the wire; the simulator must not be faster."""
    sim = SamSimulator(baud=9600)
    sent = []
    start = time.monotonic()
    sim.transmit(bytes(300), sent.append)
    assert b"".join(sent) == bytes(300)
    assert time.monotonic() - start >= 300 * 10 / 9600 * 0.95


def test_tcp_server_answers_raw_socket_clients_and_bad_checksums():
    with TcpSimulatorServer(SamSimulator("resident")) as server:
        with socket.create_connection(server.address, timeout=2) as conn:
            conn.sendall(b"\x13\x37" + c.FIND_CARD.to_bytes())  # noise first: the simulator resyncs too
            assert _recv_frame(conn) == P + bytes.fromhex("00 08 00 00 9F 00 00 00 00 97")
            bad = bytearray(c.SELECT_CARD.to_bytes())
            bad[-1] ^= 0x55
            conn.sendall(bytes(bad))
            assert _recv_frame(conn) == P + bytes.fromhex("00 04 00 00 10 14")  # checksum error


def test_tcp_server_stop_drops_clients():
    server = TcpSimulatorServer(SamSimulator()).start()
    conn = socket.create_connection(server.address, timeout=2)
    time.sleep(0.05)
    stopper = threading.Thread(target=server.stop)
    stopper.start()
    stopper.join(5)
    assert conn.recv(16) == b""
    conn.close()


def _recv_frame(conn):
    data = b""
    while True:
        data += conn.recv(4096)
        decoder = FrameDecoder()
        decoder.feed(data)
        if decoder.next_body() is not None:
            return data
