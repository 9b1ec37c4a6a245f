"""Encryption at rest: the key file and AES-GCM sealing of item bodies and files.

The key lives outside the data folder so that a copied data folder (a stolen disk image of
``/var/lib/kiosk/outbox``, a support bundle) reveals nothing personal on its own. Every sealed blob
carries its own random nonce and is bound to its item id and part name as associated data, so a
blob copied onto another row, or a file swapped between items, fails to open instead of being sent
under the wrong Idempotency-Key.
"""
from __future__ import annotations

import os
import stat
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from offline_queue.durable import fsync_dir
from offline_queue.errors import KeyFileError, UndeliverableItem

KEY_BYTES = 32  # AES-256
NONCE_BYTES = 12
FORMAT_V1 = b"\x01"
SEAL_OVERHEAD = len(FORMAT_V1) + NONCE_BYTES + 16  # version byte, nonce, GCM tag


def _is_inside(path: Path, folder: Path) -> bool:
    try:
        path.relative_to(folder)
    except ValueError:
        return False
    return True


def load_or_create_key(key_file: Path, data_dir: Path) -> bytes:
    """Return the outbox key, creating the key file (mode 0600) atomically on first use.

    Refuses, with a one-line reason, a key file inside the data folder, one that other users can
    read or write, one that is not a regular file, or one of the wrong size.
    """
    key_file = Path(key_file).expanduser().absolute()
    if _is_inside(key_file.resolve(), Path(data_dir).expanduser().resolve()):
        raise KeyFileError(f"key file {key_file} must be outside the outbox data folder {data_dir}")
    try:
        return _read_key(key_file)
    except FileNotFoundError:
        pass
    key_file.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    key = AESGCM.generate_key(bit_length=KEY_BYTES * 8)
    tmp = key_file.with_name(f".{key_file.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, key)
        os.fsync(fd)
    finally:
        os.close(fd)
    try:
        os.link(tmp, key_file)  # fails if another process created it first: then use theirs
    except FileExistsError:
        return _read_key(key_file)
    finally:
        os.unlink(tmp)
    fsync_dir(key_file.parent)
    return key


def _read_key(key_file: Path) -> bytes:
    st = os.stat(key_file)  # FileNotFoundError goes to the caller
    if not stat.S_ISREG(st.st_mode):
        raise KeyFileError(f"key file {key_file} is not a regular file")
    if st.st_mode & 0o077:
        raise KeyFileError(f"key file {key_file} has mode {stat.S_IMODE(st.st_mode):04o}; "
                           f"it must be readable by its owner only (chmod 600)")
    if st.st_size != KEY_BYTES:
        raise KeyFileError(f"key file {key_file} holds {st.st_size} bytes; an outbox key is {KEY_BYTES} bytes")
    with open(key_file, "rb") as fh:
        key = fh.read()
    if len(key) != KEY_BYTES:
        raise KeyFileError(f"key file {key_file} could not be read whole")
    return key


class ItemSealer:
    """Seals and opens the parts of one outbox item (its envelope and each file)."""

    def __init__(self, key: bytes) -> None:
        self._aead = AESGCM(key)

    @staticmethod
    def _aad(item_id: str, part: str) -> bytes:
        return f"kiosk-outbox/v1|{item_id}|{part}".encode()

    def seal(self, item_id: str, part: str, plaintext: bytes) -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        return FORMAT_V1 + nonce + self._aead.encrypt(nonce, plaintext, self._aad(item_id, part))

    def open(self, item_id: str, part: str, blob: bytes) -> bytes:
        if len(blob) < SEAL_OVERHEAD or blob[:1] != FORMAT_V1:
            raise UndeliverableItem(f"item {item_id}: stored {part} is damaged (bad header)")
        nonce = blob[1:1 + NONCE_BYTES]
        try:
            return self._aead.decrypt(nonce, blob[1 + NONCE_BYTES:], self._aad(item_id, part))
        except InvalidTag:
            raise UndeliverableItem(f"item {item_id}: cannot decrypt its {part} "
                                    f"(wrong key file, or the data was damaged)") from None
