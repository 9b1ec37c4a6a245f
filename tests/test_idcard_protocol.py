"""SAM_V framing and commands as bytes in, bytes out, against the SAM_V command table."""
import random

import pytest

from devices.idcard import commands as c
from devices.idcard.commands import CardBlocks, Reply, Request, Sw3
from devices.idcard.frames import (PREAMBLE, ChecksumError, FrameDecoder, LengthError, ProtocolError,
                                   checksum, decode_frame, encode_frame)

P = bytes.fromhex("AAAAAA9669")

# request → bytes after the preamble, exactly as the SAM_V protocol gives them
GOLDEN_REQUESTS = [
    (c.RESET_SAM, "00 03 10 FF EC"),
    (c.SAM_STATUS, "00 03 11 FF ED"),
    (c.SAM_ID, "00 03 12 FF EE"),
    (c.FIND_CARD, "00 03 20 01 22"),
    (c.SELECT_CARD, "00 03 20 02 21"),
    (c.READ_TEXT_PHOTO, "00 03 30 01 32"),
    (c.READ_WITH_FINGERPRINT, "00 03 30 10 23"),
    (c.READ_EXTRA_ADDRESS, "00 03 30 03 30"),
    (c.set_baud(115200), "00 03 60 00 63"),
    (c.set_baud(57600), "00 03 60 01 62"),
    (c.set_baud(38400), "00 03 60 02 61"),
    (c.set_baud(19200), "00 03 60 03 60"),
    (c.set_baud(9600), "00 03 60 04 67"),
]


@pytest.mark.parametrize("request_, after_preamble", GOLDEN_REQUESTS, ids=lambda x: getattr(x, "name", None))
def test_request_golden_bytes(request_, after_preamble):
    wire = request_.to_bytes()
    assert wire == P + bytes.fromhex(after_preamble)
    assert Request.from_body(decode_frame(wire)) == request_


def test_set_baud_rejects_a_rate_the_reader_lacks():
    with pytest.raises(ValueError):
        c.set_baud(4800)


def test_status_replies_golden_bytes():
    assert Reply.status(Sw3.SUCCESS).to_bytes() == P + bytes.fromhex("00 04 00 00 90 94")
    find_ok = P + bytes.fromhex("00 08 00 00 9F 00 00 00 00 97")
    assert Reply.status(Sw3.FIND_OK, c.FIND_DATA).to_bytes() == find_ok
    assert Reply.from_frame(find_ok) == Reply(0, 0, 0x9F, b"\x00" * 4)
    assert Reply.status(Sw3.NO_CARD).to_bytes() == P + bytes.fromhex("00 04 00 00 80 84")


def test_sam_id_reply_layout_and_format():
    data = bytes.fromhex("0500 0100 88F03301 4E61BC00 E2E5D0B2".replace(" ", ""))
    wire = Reply.status(Sw3.SUCCESS, data).to_bytes()
    assert wire[5:10] == bytes.fromhex("00 14 00 00 90") and len(wire) == 5 + 2 + 0x14
    assert wire[-1] == checksum(wire[5:-1])
    # words: 5, 1, 0x0133F088, 0x00BC614E, 0xB2D0E5E2 (little-endian)
    assert c.format_sam_id(Reply.from_frame(wire).data) == "05.01-20181128-0012345678-3000034786"
    with pytest.raises(LengthError):
        c.format_sam_id(data[:15])


def test_select_reply_layout():
    wire = Reply.status(Sw3.SUCCESS, bytes(8)).to_bytes()
    assert wire[5:10] == bytes.fromhex("00 0C 00 00 90") and len(wire) == 5 + 2 + 12


def _blocks():
    text = "示".ljust(128).encode("utf-16-le")
    photo = bytes(range(256)) * 4
    return CardBlocks(text, photo, bytes([0x5A]) * 512)


def test_read_reply_layout_by_offset():
    blocks = _blocks()
    wire = Reply.status(Sw3.SUCCESS, c.encode_read_data(blocks)).to_bytes()
    assert len(wire) == 1295
    assert wire[5:7] == b"\x05\x08"
    assert wire[7:10] == b"\x00\x00\x90"
    assert wire[10:12] == b"\x01\x00" and wire[12:14] == b"\x04\x00"
    assert wire[14:270] == blocks.text and wire[270:1294] == blocks.photo
    assert wire[1294] == checksum(wire[5:1294])
    parsed = c.parse_read_data(Reply.from_frame(wire).data)
    assert parsed == CardBlocks(blocks.text, blocks.photo, b"")


@pytest.mark.parametrize("finger, total", [(1024, 2321), (512, 1809), (0, 1297)])
def test_read_with_fingerprint_sizes(finger, total):
    blocks = CardBlocks(_blocks().text, _blocks().photo, bytes([0x33]) * finger)
    wire = Reply.status(Sw3.SUCCESS, c.encode_read_data(blocks, with_fingerprint=True)).to_bytes()
    assert len(wire) == total
    assert wire[14:16] == finger.to_bytes(2, "big")
    assert wire[16:272] == blocks.text
    assert c.parse_read_data(Reply.from_frame(wire).data, with_fingerprint=True) == blocks


def test_read_data_with_wrong_lengths_is_a_length_error():
    data = c.encode_read_data(_blocks())
    with pytest.raises(LengthError):
        c.parse_read_data(data[:-1])
    with pytest.raises(LengthError):
        c.parse_read_data(b"\x00\xFF" + data[2:])
    with pytest.raises(LengthError):
        c.parse_read_data(b"\x01")


def test_extra_address_reply():
    data = "广西壮族自治区桂林市".ljust(35).encode("utf-16-le")
    wire = Reply.status(Sw3.SUCCESS, data).to_bytes()
    assert wire[5:7] == (3 + 70 + 1).to_bytes(2, "big")
    assert c.parse_extra_address(Reply.from_frame(wire).data) == "广西壮族自治区桂林市"
    with pytest.raises(LengthError):
        c.parse_extra_address(data[:-2])


def test_every_sw3_code_has_a_meaning():
    for code in (0x90, 0x9F, 0x91, 0x10, 0x11, 0x21, 0x23, 0x24, 0x31, 0x32, 0x33, 0x40, 0x41, 0x47,
                 0x60, 0x66, 0x80, 0x81):
        assert "unknown status" not in c.describe_sw3(code)
    assert c.describe_sw3(0x55) == "unknown status 0x55"


def test_decode_frame_typed_errors():
    good = c.FIND_CARD.to_bytes()
    bad_chk = good[:-1] + bytes([good[-1] ^ 0x01])
    with pytest.raises(ChecksumError):
        decode_frame(bad_chk)
    with pytest.raises(LengthError):
        decode_frame(good + b"\x00")
    with pytest.raises(LengthError):
        decode_frame(P + b"\x00\x02\x20\x22")  # LEN 2 < minimum
    with pytest.raises(ProtocolError):
        decode_frame(b"\x00" + good)
    with pytest.raises(LengthError):
        Reply.from_body(b"\x00\x00")
    with pytest.raises(LengthError):
        encode_frame(b"\x01")


def test_decoder_skips_noise_and_resynchronises():
    decoder = FrameDecoder()
    frame = Reply.status(Sw3.FIND_OK, c.FIND_DATA).to_bytes()
    decoder.feed(b"\x00\x13\xAA\xAA\x96\xAA\xAA" + frame)
    assert decoder.next_body() == b"\x00\x00\x9F\x00\x00\x00\x00"
    assert decoder.next_body() is None
    assert decoder.noise_bytes == 7


def test_decoder_raises_once_for_a_bad_checksum_then_continues():
    decoder = FrameDecoder()
    bad = bytearray(Reply.status(Sw3.SUCCESS).to_bytes())
    bad[-1] ^= 0xFF
    decoder.feed(bytes(bad) + c.FIND_CARD.to_bytes())
    with pytest.raises(ChecksumError):
        decoder.next_body()
    assert decoder.next_body() == b"\x20\x01"


def test_decoder_impossible_length_then_real_frame():
    decoder = FrameDecoder()
    decoder.feed(P + b"\xFF\xFF\x01\x02" + c.SAM_STATUS.to_bytes())
    with pytest.raises(LengthError):
        decoder.next_body()
    assert decoder.next_body() == b"\x11\xFF"


def test_decoder_keeps_a_preamble_split_across_reads():
    decoder = FrameDecoder()
    frame = c.SELECT_CARD.to_bytes()
    decoder.feed(b"\x01\x02" + frame[:3])
    assert decoder.next_body() is None
    assert decoder.pending == 3  # the partial preamble is kept, the noise dropped
    decoder.feed(frame[3:])
    assert decoder.next_body() == b"\x20\x02"


def _stream_of_frames(rng):
    bodies = [bytes([rng.randrange(256) for _ in range(rng.choice((2, 3, 7, 11, 1287)))]) for _ in range(6)]
    wire = bytearray()
    for body in bodies:
        wire += bytes(rng.randrange(256) for _ in range(rng.randint(0, 9))).replace(PREAMBLE[:3], b"")
        wire += encode_frame(body)
    return bodies, bytes(wire)


@pytest.mark.parametrize("seed", range(40))
def test_random_splits_and_noise_recover_every_frame(seed):
    rng = random.Random(seed)
    bodies, wire = _stream_of_frames(rng)
    decoder = FrameDecoder()
    got = []
    index = 0
    while index < len(wire):
        size = rng.randint(1, 120)
        decoder.feed(wire[index:index + size])
        index += size
        while (body := decoder.next_body()) is not None:
            got.append(body)
    assert got == bodies
