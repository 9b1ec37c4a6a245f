"""Kiosk tokens as the operator gives them: a tokens file or the environment, each token checked.

Format (file or ``KIOSK_BACKEND_TOKENS``): one kiosk per line, ``ID NUMBER TOKEN``, separated by
spaces; blank lines and lines starting with ``#`` are ignored. In the environment, ``;`` may stand
for a line break. ``NUMBER`` is the kiosk's 1–9999 number that its receipt numbers carry (``-``
keeps the number the kiosk already has, or gives a new kiosk the next free one)::

    # id            number  token
    zy-chetian-01   42      <43 characters from secrets.token_urlsafe(32), for this kiosk only>

Tokens live in files and the environment rather than on the command line, where every user of the
machine sees them in ``ps``. A tokens file must not be readable by group or others.

A token must carry at least 128 bits of entropy, estimated from its length and the kinds of
characters it uses (see :func:`estimated_bits`): ``python3 -c "import secrets;
print(secrets.token_urlsafe(32))"`` makes a good one.
"""
from __future__ import annotations

import math
import os
import re
import stat
import zlib
from dataclasses import dataclass
from pathlib import Path

TOKENS_ENV = "KIOSK_BACKEND_TOKENS"
MAX_KIOSK_NUMBER = 9999
MIN_BITS = 128
MAX_TOKEN_CHARS = 512
MAX_FILE_BYTES = 1024 * 1024
KIOSK_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
TOKEN_CHARS = re.compile(r"^[\x21-\x7e]+$")  # what fits in an Authorization header unquoted
_CLASSES = ((str.islower, 26), (str.isupper, 26), (str.isdigit, 10))
_ZLIB_OVERHEAD = 8  # zlib's header and checksum, and the smallest block


@dataclass(frozen=True)
class KioskRegistration:
    """A kiosk as the operator registers it: its id, its number (None: keep or pick), its token."""

    kiosk_id: str
    number: int | None
    token: str


class TokenError(ValueError):
    """A token or a tokens file cannot be used; the message says why in one line (no token in it)."""


def estimated_bits(token: str) -> float:
    """A conservative estimate of a token's entropy in bits.

    Each character counts ``log2`` of the alphabet it was drawn from: the union of the character
    classes it uses (lower case 26, upper case 26, digits 10, punctuation 32), but never more than
    the square of the number of distinct characters it has; and the whole never more than what it
    compresses to, so ``aaaa…`` or ``abab…`` count little however long they are.
    """
    if not token:
        return 0.0
    alphabet = sum(size for test, size in _CLASSES if any(test(ch) for ch in token))
    if any(not ch.isalnum() for ch in token):
        alphabet += 32
    alphabet = min(alphabet, len(set(token)) ** 2)
    by_alphabet = len(token) * math.log2(max(alphabet, 1))
    by_compression = 8 * max(len(zlib.compress(token.encode("utf-8"), 9)) - _ZLIB_OVERHEAD, 0)
    return min(by_alphabet, by_compression)


def check_token(kiosk_id: str, token: str, *, allow_weak: bool = False) -> str:
    """The token if it may be registered; :class:`TokenError` otherwise."""
    if not token or len(token) > MAX_TOKEN_CHARS or not TOKEN_CHARS.match(token):
        raise TokenError(f"the token for {kiosk_id} must be 1-{MAX_TOKEN_CHARS} printable ASCII "
                         "characters without spaces")
    if not allow_weak and estimated_bits(token) < MIN_BITS:
        raise TokenError(f"the token for {kiosk_id} is too weak (about {estimated_bits(token):.0f} bits; "
                         f"at least {MIN_BITS} are needed): make one with secrets.token_urlsafe(32)")
    return token


def parse_entries(text: str, where: str, *, allow_weak: bool = False) -> list[KioskRegistration]:
    """The kiosks listed in ``text`` (see the module's docstring); :class:`TokenError` naming
    ``where`` and the line on any fault."""
    entries: list[KioskRegistration] = []
    seen: set[str] = set()
    for index, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split()
        if len(parts) != 3:
            raise TokenError(f"{where}: line {index}: expected 'ID NUMBER TOKEN'")
        kiosk_id, number_text, token = parts
        if not KIOSK_ID.match(kiosk_id):
            raise TokenError(f"{where}: line {index}: a kiosk id is 1-64 letters, digits, '.', '_', '-'")
        if kiosk_id in seen:
            raise TokenError(f"{where}: line {index}: kiosk {kiosk_id} is listed twice")
        seen.add(kiosk_id)
        if number_text == "-":
            number = None
        elif number_text.isascii() and number_text.isdigit() and len(number_text) <= 4 \
                and 1 <= int(number_text) <= MAX_KIOSK_NUMBER:
            number = int(number_text)
        else:
            raise TokenError(f"{where}: line {index}: the kiosk number must be 1-{MAX_KIOSK_NUMBER} or '-'")
        try:
            check_token(kiosk_id, token, allow_weak=allow_weak)
        except TokenError as exc:
            raise TokenError(f"{where}: line {index}: {exc}") from None
        entries.append(KioskRegistration(kiosk_id, number, token))
    return entries


def read_tokens_file(path: Path, *, allow_weak: bool = False) -> list[KioskRegistration]:
    """The kiosks of a tokens file, which must be a regular file private to its owner."""
    try:
        info = path.stat()
    except OSError as exc:
        raise TokenError(f"cannot read tokens file {path}: {exc.strerror}") from None
    if not stat.S_ISREG(info.st_mode):
        raise TokenError(f"tokens file {path} is not a regular file")
    if info.st_mode & 0o077:
        raise TokenError(f"tokens file {path} is readable by others: chmod 600 {path}")
    if info.st_size > MAX_FILE_BYTES:
        raise TokenError(f"tokens file {path} is too large (at most {MAX_FILE_BYTES} bytes)")
    try:
        with open(path, "rb") as handle:
            raw = handle.read(MAX_FILE_BYTES + 1)
        text = raw.decode("utf-8")
    except OSError as exc:
        raise TokenError(f"cannot read tokens file {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise TokenError(f"tokens file {path} is not UTF-8 text") from None
    return parse_entries(text, str(path), allow_weak=allow_weak)


def tokens_from_environment(environ: "os._Environ[str] | dict[str, str]" = os.environ, *,
                            allow_weak: bool = False) -> list[KioskRegistration]:
    text = environ.get(TOKENS_ENV, "")
    if len(text) > MAX_FILE_BYTES:
        raise TokenError(f"{TOKENS_ENV} is too long")
    return parse_entries(text.replace(";", "\n"), TOKENS_ENV, allow_weak=allow_weak)
