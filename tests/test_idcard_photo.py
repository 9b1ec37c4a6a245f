"""The photo decoder plug-in: a vendor library loaded by path through ctypes.

No vendor WLT library can ship here, so the test compiles a stand-in with the vendors' calling
convention (``int unpack(char *wlt, char *bmp, int save)`` → a 102×126 24-bit BMP) and loads it
exactly as a real one would be loaded.
"""
import datetime as dt
import io
import shutil
import subprocess

import pytest

from devices.idcard.fixtures import load_card
from devices.idcard.photo import BMP_SIZE, PhotoDecoder
from devices.idcard.reader import IdCardReader

STAND_IN = r"""
#include <string.h>
static void put32(unsigned char *p, unsigned v) { p[0]=v; p[1]=v>>8; p[2]=v>>16; p[3]=v>>24; }
int unpack(char *wlt, char *bmp, int save) {
    const unsigned char magic[8] = {0x57, 0x4C, 0x66, 0x00, 0x7E, 0x00, 0x32, 0x00};
    unsigned char *out = (unsigned char *) bmp;
    int row = 308, x, y;
    (void) save;
    if (memcmp(wlt, magic, 8) != 0) return -1;
    memset(out, 0, 38862);
    out[0] = 'B'; out[1] = 'M'; put32(out + 2, 38862); put32(out + 10, 54);
    put32(out + 14, 40); put32(out + 18, 102); put32(out + 22, 126);
    out[26] = 1; out[28] = 24; put32(out + 34, row * 126);
    for (y = 0; y < 126; y++)
        for (x = 0; x < 102 * 3; x++)
            out[54 + y * row + x] = (unsigned char) wlt[(y * 102 * 3 + x) % 1024];
    return 1;
}
"""


@pytest.fixture(scope="module")
def vendor_library(tmp_path_factory):
    compiler = shutil.which("cc") or shutil.which("gcc")
    if compiler is None:
        pytest.skip("no C compiler to build the stand-in vendor library")
    folder = tmp_path_factory.mktemp("wlt")
    source = folder / "wlt.c"
    source.write_text(STAND_IN)
    library = folder / "libwlt.so"
    subprocess.run([compiler, "-shared", "-fPIC", "-o", str(library), str(source)], check=True)
    return library


def test_no_decoder_configured_or_unloadable(tmp_path):
    assert PhotoDecoder.load(None) is None
    assert PhotoDecoder.load("") is None
    assert PhotoDecoder.load(tmp_path / "missing.so") is None
    not_a_library = tmp_path / "libfake.so"
    not_a_library.write_bytes(b"not an ELF file")
    assert PhotoDecoder.load(not_a_library) is None


def test_library_without_the_function_is_refused(vendor_library):
    assert PhotoDecoder.load(vendor_library, function="no_such_symbol") is None


def test_decodes_a_wlt_blob_to_a_bmp(vendor_library):
    from PIL import Image

    decoder = PhotoDecoder.load(vendor_library)
    photo = load_card("resident").blocks.photo
    image = decoder.decode(photo)
    assert image is not None and len(image) == BMP_SIZE == 38862
    with Image.open(io.BytesIO(image)) as picture:
        assert picture.size == (102, 126) and picture.mode == "RGB"
    assert decoder.decode(photo[:100]) is None  # not 1024 bytes
    assert decoder.decode(bytes(1024)) is None  # the library says it is not a photo


def test_reader_hands_the_decoded_photo_with_the_card(vendor_library):
    reader = IdCardReader("sim://?card=hkmt_permit", poll_interval=0.02, today=lambda: dt.date(2026, 1, 1),
                          photo_decoder=PhotoDecoder.load(vendor_library))
    event = reader.read_once(5)
    assert event.photo_image.startswith(b"BM") and event.card.photo_bytes == 1024
