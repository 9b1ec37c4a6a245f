"""The fleet's TUF repository, kept with python-tuf's Metadata API in a plain directory.

Layout of a fleet directory::

    <fleet dir>/repository/metadata/N.root.json, timestamp.json, N.snapshot.json,
                                    N.targets.json, N.waves.json      (served as static files)
    <fleet dir>/repository/targets/config/<scope>/<sha256>.<version>.toml
    <fleet dir>/repository/targets/waves/<sha256>.admission.json
    <fleet dir>/online.pem      the platform's online key (timestamp, snapshot, waves)
    <fleet dir>/root.json       the current root, to install on kiosks with their site file

Roles and who signs them:

* ``root`` — two offline keys, threshold 2 (``root-1.pem``, ``root-2.pem`` in the administrator's
  key folder, kept off the platform).
* ``targets`` — one offline key (``targets.pem``): lists every configuration document
  ``config/<scope>/<version>.toml`` and delegates ``waves/*`` to the ``waves`` role.
* ``waves`` — the online key: signs only ``waves/admission.json``, which says which kiosk runs
  which published version of each scope. It can hold back or admit documents the administrator
  signed, never add or change one: a ``config/`` path is outside its delegation.
* ``snapshot`` and ``timestamp`` — the online key: freshness only.

Every change is written target files first, then role metadata, then snapshot, then timestamp, each
atomically, under a lock file, so a reader (or a crash) never sees a half-made version.
"""
from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Iterator

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from securesystemslib.signer import CryptoSigner, Signer
from tuf.api.metadata import (
    DelegatedRole,
    Delegations,
    Metadata,
    MetaFile,
    Root,
    Snapshot,
    TargetFile,
    Targets,
    Timestamp,
)
from tuf.api.serialization.json import JSONSerializer

from kiosk.fleet.storage import atomic_write

ADMISSION_PATH = "waves/admission.json"
WAVES_ROLE = "waves"
ROOT_KEY_FILES = ("root-1.pem", "root-2.pem")
TARGETS_KEY_FILE = "targets.pem"
ONLINE_KEY_FILE = "online.pem"

# How long each role's signature stays valid. Online roles are re-signed by the platform well
# before they expire; offline roles by the administrator (``kiosk fleet rotate-key`` or a publish).
EXPIRY = {
    "root": timedelta(days=365),
    "targets": timedelta(days=365),
    WAVES_ROLE: timedelta(days=7),
    "snapshot": timedelta(days=7),
    "timestamp": timedelta(days=1),
}
RESIGN_BEFORE = timedelta(hours=12)  # the platform renews timestamp/snapshot/waves this long before expiry

_SERIALIZER = JSONSerializer(compact=False)


class RepositoryError(Exception):
    """The fleet directory or key folder is missing, incomplete or not ours; one line."""


def _now() -> datetime:
    return datetime.now(timezone.utc).replace(microsecond=0)


def generate_key(path: Path) -> CryptoSigner:
    """A new Ed25519 key written as PKCS#8 PEM, readable by its owner only."""
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(pem)
    return CryptoSigner(key)


def load_key(path: Path) -> CryptoSigner:
    try:
        pem = path.read_bytes()
    except FileNotFoundError:
        raise RepositoryError(f"{path}: key file not found") from None
    except OSError as exc:
        raise RepositoryError(f"{path}: cannot read key file: {exc.strerror}") from None
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError):
        raise RepositoryError(f"{path}: not an unencrypted PEM private key") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise RepositoryError(f"{path}: not an Ed25519 key")
    return CryptoSigner(key)


class FleetRepository:
    """One fleet directory. Methods that change it take the lock and leave a complete new version."""

    def __init__(self, fleet_dir: Path | str) -> None:
        self.dir = Path(fleet_dir)
        self.repo = self.dir / "repository"
        self.metadata_dir = self.repo / "metadata"
        self.targets_dir = self.repo / "targets"

    # -- reading ---------------------------------------------------------------------------

    def exists(self) -> bool:
        return (self.metadata_dir / "timestamp.json").is_file()

    def _require(self) -> None:
        if not self.exists():
            raise RepositoryError(f"{self.dir}: no fleet repository here (run 'kiosk fleet init')")

    def _latest_version(self, role: str) -> int:
        pattern = re.compile(rf"^([0-9]+)\.{re.escape(role)}\.json$")
        versions = [int(m.group(1)) for p in self.metadata_dir.iterdir() if (m := pattern.match(p.name))]
        if not versions:
            raise RepositoryError(f"{self.metadata_dir}: no {role} metadata")
        return max(versions)

    def load(self, role: str) -> Metadata:
        """The current metadata of ``role``."""
        self._require()
        if role == "timestamp":
            return Metadata.from_file(str(self.metadata_dir / "timestamp.json"))
        if role == "root":
            version = self._latest_version("root")
        else:
            snapshot = self.load("snapshot") if role != "snapshot" else None
            if snapshot is None:
                version = self.load("timestamp").signed.snapshot_meta.version
            else:
                version = snapshot.signed.meta[f"{role}.json"].version
        return Metadata.from_file(str(self.metadata_dir / f"{version}.{role}.json"))

    def root_bytes(self) -> bytes:
        """The current root metadata, as a kiosk installs it."""
        self._require()
        return (self.metadata_dir / f"{self._latest_version('root')}.root.json").read_bytes()

    def online_signer(self) -> CryptoSigner:
        return load_key(self.dir / ONLINE_KEY_FILE)

    def revision(self) -> int:
        """The snapshot version: grows with every change a kiosk could see."""
        return self.load("snapshot").signed.version

    def document_targets(self) -> dict[str, TargetFile]:
        return {path: info for path, info in self.load("targets").signed.targets.items()
                if path.startswith("config/")}

    def admission(self) -> dict:
        waves = self.load(WAVES_ROLE).signed
        info = waves.targets.get(ADMISSION_PATH)
        if info is None:
            return {}
        digest = info.hashes["sha256"]
        path = self.targets_dir / "waves" / f"{digest}.admission.json"
        return json.loads(path.read_bytes())

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        self.dir.mkdir(parents=True, exist_ok=True)
        with open(self.dir / ".lock", "a+b") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    # -- writing ---------------------------------------------------------------------------

    def _write(self, md: Metadata, name: str) -> None:
        atomic_write(self.metadata_dir / name, md.to_bytes(_SERIALIZER))

    def _write_target(self, path: str, data: bytes) -> TargetFile:
        info = TargetFile.from_data(path, data, ["sha256"])
        directory, _, base = path.rpartition("/")
        atomic_write(self.targets_dir / directory / f"{info.hashes['sha256']}.{base}", data)
        return info

    def _sign(self, md: Metadata, signers: list[Signer]) -> None:
        md.signatures.clear()
        for signer in signers:
            md.sign(signer, append=True)

    def _bump(self, md: Metadata, role: str) -> None:
        md.signed.version += 1
        md.signed.expires = _now() + EXPIRY[role]

    def _snapshot_and_timestamp(self, online: Signer, changed: dict[str, int]) -> int:
        """New snapshot listing ``changed`` role versions, then a new timestamp. Returns the revision."""
        snapshot = self.load("snapshot")
        for role, version in changed.items():
            snapshot.signed.meta[f"{role}.json"] = MetaFile(version=version)
        self._bump(snapshot, "snapshot")
        self._sign(snapshot, [online])
        self._write(snapshot, f"{snapshot.signed.version}.snapshot.json")
        timestamp = self.load("timestamp")
        timestamp.signed.snapshot_meta = MetaFile(version=snapshot.signed.version)
        self._bump(timestamp, "timestamp")
        self._sign(timestamp, [online])
        self._write(timestamp, "timestamp.json")
        return snapshot.signed.version

    @classmethod
    def create(cls, fleet_dir: Path | str, keys_dir: Path | str) -> "FleetRepository":
        """Make keys and the first version of every role. Refuses to touch an existing fleet."""
        repo = cls(fleet_dir)
        keys = Path(keys_dir)
        if repo.exists() or (repo.dir / ONLINE_KEY_FILE).exists():
            raise RepositoryError(f"{repo.dir}: a fleet repository is already there")
        existing = [name for name in (*ROOT_KEY_FILES, TARGETS_KEY_FILE) if (keys / name).exists()]
        if existing:
            raise RepositoryError(f"{keys / existing[0]}: key file already exists; use another folder")
        with repo.locked():
            root_signers = [generate_key(keys / name) for name in ROOT_KEY_FILES]
            targets_signer = generate_key(keys / TARGETS_KEY_FILE)
            online = generate_key(repo.dir / ONLINE_KEY_FILE)
            now = _now()
            root = Root(expires=now + EXPIRY["root"], consistent_snapshot=True)
            for signer in root_signers:
                root.add_key(signer.public_key, "root")
            root.roles["root"].threshold = 2
            root.add_key(targets_signer.public_key, "targets")
            root.add_key(online.public_key, "snapshot")
            root.add_key(online.public_key, "timestamp")
            root_md = Metadata(root)
            repo._sign(root_md, root_signers)
            repo._write(root_md, "1.root.json")

            targets = Targets(expires=now + EXPIRY["targets"])
            targets.delegations = Delegations(keys={}, roles={})
            targets.delegations.roles[WAVES_ROLE] = DelegatedRole(
                WAVES_ROLE, [], 1, True, paths=["waves/*"])
            targets.add_key(online.public_key, WAVES_ROLE)
            targets_md = Metadata(targets)
            repo._sign(targets_md, [targets_signer])
            repo._write(targets_md, "1.targets.json")

            waves = Targets(expires=now + EXPIRY[WAVES_ROLE])
            data = _admission_bytes({"revision": 1, "default": {}, "kiosks": {}})
            waves.targets[ADMISSION_PATH] = repo._write_target(ADMISSION_PATH, data)
            waves_md = Metadata(waves)
            repo._sign(waves_md, [online])
            repo._write(waves_md, f"1.{WAVES_ROLE}.json")

            snapshot = Snapshot(expires=now + EXPIRY["snapshot"])
            snapshot.meta["targets.json"] = MetaFile(version=1)
            snapshot.meta[f"{WAVES_ROLE}.json"] = MetaFile(version=1)
            snapshot_md = Metadata(snapshot)
            repo._sign(snapshot_md, [online])
            repo._write(snapshot_md, "1.snapshot.json")
            timestamp_md = Metadata(Timestamp(expires=now + EXPIRY["timestamp"],
                                              snapshot_meta=MetaFile(version=1)))
            repo._sign(timestamp_md, [online])
            repo._write(timestamp_md, "timestamp.json")
            atomic_write(repo.dir / "root.json", root_md.to_bytes(_SERIALIZER))
        return repo

    def add_document(self, path: str, data: bytes, targets_signer: Signer) -> int:
        """Publish a configuration document as a target signed by the offline targets key."""
        with self.locked():
            targets = self.load("targets")
            self._check_signer(targets_signer, "targets")
            if path in targets.signed.targets:
                raise RepositoryError(f"{path} is already published; give the document a new version")
            targets.signed.targets[path] = self._write_target(path, data)
            self._bump(targets, "targets")
            self._sign(targets, [targets_signer])
            self._write(targets, f"{targets.signed.version}.targets.json")
            return self._snapshot_and_timestamp(self.online_signer(), {"targets": targets.signed.version})

    def set_admission(self, admission: dict) -> int:
        """Sign a new ``waves/admission.json`` with the online key; returns the new revision."""
        with self.locked():
            online = self.online_signer()
            waves = self.load(WAVES_ROLE)
            revision = self.load("snapshot").signed.version + 1
            data = _admission_bytes({**admission, "revision": revision})
            waves.signed.targets = {ADMISSION_PATH: self._write_target(ADMISSION_PATH, data)}
            self._bump(waves, WAVES_ROLE)
            self._sign(waves, [online])
            self._write(waves, f"{waves.signed.version}.{WAVES_ROLE}.json")
            return self._snapshot_and_timestamp(online, {WAVES_ROLE: waves.signed.version})

    def renew_online(self, *, force: bool = False) -> bool:
        """Re-sign waves, snapshot and timestamp when one of them is near expiry. True if renewed."""
        with self.locked():
            soon = _now() + RESIGN_BEFORE
            roles = [self.load(r) for r in (WAVES_ROLE, "snapshot", "timestamp")]
            if not force and all(md.signed.expires > soon for md in roles):
                return False
            online = self.online_signer()
            waves = roles[0]
            self._bump(waves, WAVES_ROLE)
            self._sign(waves, [online])
            self._write(waves, f"{waves.signed.version}.{WAVES_ROLE}.json")
            self._snapshot_and_timestamp(online, {WAVES_ROLE: waves.signed.version})
            return True

    def _check_signer(self, signer: Signer, role: str) -> None:
        root = self.load("root").signed
        if signer.public_key.keyid not in root.roles[role].keyids:
            raise RepositoryError(f"the key given is not the fleet's {role} key")

    def rotate(self, role: str, keys_dir: Path | str) -> int:
        """Replace the ``online``, ``targets`` or ``root`` keys; returns the new root version.

        The new root is signed by the old root keys and by the new ones, so kiosks follow the
        chain; the old key files are kept beside the new ones with a ``.retired-N`` suffix.
        """
        keys = Path(keys_dir)
        with self.locked():
            root_md = self.load("root")
            root = root_md.signed
            old_root_signers = [load_key(keys / name) for name in ROOT_KEY_FILES]
            for signer in old_root_signers:
                if signer.public_key.keyid not in root.roles["root"].keyids:
                    raise RepositoryError(f"{keys}: these are not the fleet's current root keys")
            targets_signer = load_key(keys / TARGETS_KEY_FILE)
            self._check_signer(targets_signer, "targets")
            new_version = root.version + 1
            new_root_signers = old_root_signers
            retired = f".retired-{root.version}"
            if role == "online":
                online_path = self.dir / ONLINE_KEY_FILE
                online_path.rename(online_path.with_name(ONLINE_KEY_FILE + retired))
                online = generate_key(online_path)
                for r in ("snapshot", "timestamp"):
                    for keyid in list(root.roles[r].keyids):
                        root.revoke_key(keyid, r)
                    root.add_key(online.public_key, r)
            elif role == "targets":
                (keys / TARGETS_KEY_FILE).rename(keys / (TARGETS_KEY_FILE + retired))
                for keyid in list(root.roles["targets"].keyids):
                    root.revoke_key(keyid, "targets")
                targets_signer = generate_key(keys / TARGETS_KEY_FILE)
                root.add_key(targets_signer.public_key, "targets")
            elif role == "root":
                for name in ROOT_KEY_FILES:
                    (keys / name).rename(keys / (name + retired))
                new_root_signers = [generate_key(keys / name) for name in ROOT_KEY_FILES]
                for keyid in list(root.roles["root"].keyids):
                    root.revoke_key(keyid, "root")
                for signer in new_root_signers:
                    root.add_key(signer.public_key, "root")
            else:
                raise RepositoryError(f"unknown key role {role!r} (online, targets, root)")
            root.version = new_version
            root.expires = _now() + EXPIRY["root"]
            root_md.signatures.clear()
            signers = {s.public_key.keyid: s for s in [*old_root_signers, *new_root_signers]}
            for signer in signers.values():
                root_md.sign(signer, append=True)
            self._write(root_md, f"{new_version}.root.json")
            atomic_write(self.dir / "root.json", root_md.to_bytes(_SERIALIZER))
            online = self.online_signer()
            # Targets carries the waves delegation key and its signature may have changed: re-sign.
            targets = self.load("targets")
            if role == "online":
                for keyid in list(targets.signed.delegations.roles[WAVES_ROLE].keyids):
                    targets.signed.revoke_key(keyid, WAVES_ROLE)
                targets.signed.add_key(online.public_key, WAVES_ROLE)
            self._bump(targets, "targets")
            self._sign(targets, [targets_signer])
            self._write(targets, f"{targets.signed.version}.targets.json")
            waves = self.load(WAVES_ROLE)
            self._bump(waves, WAVES_ROLE)
            self._sign(waves, [online])
            self._write(waves, f"{waves.signed.version}.{WAVES_ROLE}.json")
            self._snapshot_and_timestamp(online, {"targets": targets.signed.version,
                                                  WAVES_ROLE: waves.signed.version})
            return new_version


def _admission_bytes(admission: dict) -> bytes:
    return json.dumps(admission, sort_keys=True, separators=(",", ":")).encode("utf-8")
