"""Hypothesis fuzzing: no byte stream makes the SAM_V parsers raise anything but their own errors."""
import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import given, settings, strategies as st  # noqa: E402

from devices.idcard import commands as c  # noqa: E402
from devices.idcard.card import parse_card  # noqa: E402
from devices.idcard.frames import (HEADER_SIZE, MAX_LEN, PREAMBLE, FrameDecoder, ProtocolError,  # noqa: E402
                                   encode_frame)

noise = st.binary(max_size=40).map(lambda b: b.replace(PREAMBLE[:3], b"\x00"))
splits = st.lists(st.integers(min_value=1, max_value=300), min_size=1, max_size=40)


def _drain(decoder):
    """Take every complete body out; each call must return or raise a ProtocolError."""
    bodies = []
    for _ in range(10_000):  # bounded: a decoder that never settles fails here instead of hanging
        try:
            body = decoder.next_body()
        except ProtocolError:
            continue
        if body is None:
            return bodies
        bodies.append(body)
    raise AssertionError("decoder did not settle")


def _feed(decoder, data, cuts):
    bodies = []
    index = 0
    for cut in cuts * (len(data) // max(1, sum(cuts)) + 1):
        if index >= len(data):
            break
        decoder.feed(data[index:index + cut])
        index += cut
        bodies += _drain(decoder)
    return bodies


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=3000), splits)
def test_arbitrary_streams_only_raise_protocol_errors(data, cuts):
    decoder = FrameDecoder()
    _feed(decoder, data, cuts)
    assert decoder.pending <= HEADER_SIZE + MAX_LEN


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(noise, st.binary(min_size=2, max_size=1400)), min_size=1, max_size=5), splits)
def test_frames_behind_noise_are_all_recovered(items, cuts):
    wire = b"".join(n + encode_frame(body) for n, body in items)
    decoder = FrameDecoder()
    assert _feed(decoder, wire, cuts) == [body for _, body in items]


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=1400))
def test_reply_payload_parsers_only_raise_protocol_errors(body):
    for parse in (c.Reply.from_body, c.Request.from_body, c.parse_read_data, c.parse_extra_address,
                  c.format_sam_id, lambda b: c.parse_read_data(b, with_fingerprint=True)):
        try:
            parse(body)
        except ProtocolError:
            pass


@settings(max_examples=300, deadline=None)
@given(st.binary(min_size=256, max_size=256))
def test_any_text_block_parses_or_raises_a_protocol_error(text):
    try:
        card = parse_card(text, b"")
    except ProtocolError:
        return
    card.to_dict()


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=128).map(lambda t: t.ljust(128)[:128]), st.sampled_from(" JIY"))
def test_text_blocks_of_any_characters_parse_or_raise_a_protocol_error(text, letter):
    block = bytearray(text.encode("utf-16-le", errors="surrogatepass")[:256].ljust(256, b" "))
    block[248:250] = letter.encode("utf-16-le")
    try:
        parse_card(bytes(block), b"")
    except ProtocolError:
        pass
