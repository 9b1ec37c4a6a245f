"""The TUF attack list against the kiosk's fetch, over real HTTP on loopback, and the stolen online key.

The served folder plays the repository server (or a mirror an attacker controls); each attack
changes what it serves and checks that the kiosk refuses and keeps what it had.
"""
from __future__ import annotations

import json
import shutil
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from tuf.api.metadata import Metadata, TargetFile
from tuf.api.serialization.json import JSONSerializer

from backend.fleet.repository import FleetRepository, load_key
from fleet_helpers import StaticServer, make_repo, publish
from kiosk.fleet import trust

KIOSK = "k-001"
SCOPES = ["county", "town/pingan", f"kiosk/{KIOSK}"]
GOOD = '[kiosk]\nhotline = "12345"\n'


@pytest.fixture
def fleet(tmp_path):
    repo, keys = make_repo(tmp_path)
    publish(repo, keys, "county", 1, GOOD)
    repo.set_admission({"default": {"county": 1}, "kiosks": {}})
    with StaticServer(repo.repo) as server:
        yield repo, keys, server, tmp_path


def fetch(fleet_tuple, state: str = "kiosk"):
    repo, _keys, server, tmp = fleet_tuple
    return trust.fetch(tmp / state, server.url, repo.dir / "root.json", KIOSK, SCOPES)


def md_path(repo: FleetRepository, role: str) -> Path:
    if role == "timestamp":
        return repo.metadata_dir / "timestamp.json"
    version = repo.load(role).signed.version
    return repo.metadata_dir / f"{version}.{role}.json"


def resign(repo: FleetRepository, role: str, signer, change) -> None:
    """Play a signer of ``role``: change the current metadata and sign it with ``signer``."""
    path = md_path(repo, role)
    md = Metadata.from_file(str(path))
    change(md.signed)
    md.signatures.clear()
    md.sign(signer)
    path.write_bytes(md.to_bytes(JSONSerializer(compact=False)))


def test_a_good_repository_gives_the_admitted_document(fleet):
    result = fetch(fleet)
    assert result.refusals == []
    assert result.documents["county"].settings == {"kiosk": {"hotline": "12345"}}


def test_rollback_to_an_older_timestamp_is_refused(fleet):
    repo, keys, _server, _tmp = fleet
    old_timestamp = md_path(repo, "timestamp").read_bytes()
    fetch(fleet)
    publish(repo, keys, "county", 2, '[kiosk]\nhotline = "12346"\n')
    repo.set_admission({"default": {"county": 2}, "kiosks": {}})
    assert fetch(fleet).documents["county"].version == 2
    (repo.metadata_dir / "timestamp.json").write_bytes(old_timestamp)  # replay the old, valid one
    with pytest.raises(trust.TrustError, match="BadVersionNumber|version"):
        fetch(fleet)


def test_freeze_with_expired_metadata_is_refused(fleet):
    repo, _keys, _server, _tmp = fleet
    fetch(fleet)
    past = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(hours=1)

    def expire(signed):
        signed.version += 1
        signed.expires = past

    resign(repo, "timestamp", repo.online_signer(), expire)
    with pytest.raises(trust.TrustError, match="Expired"):
        fetch(fleet)


def test_mix_and_match_of_metadata_versions_is_refused(fleet):
    repo, keys, _server, _tmp = fleet
    publish(repo, keys, "county", 2, '[kiosk]\nhotline = "12346"\n')
    current = md_path(repo, "targets")
    shutil.copy(repo.metadata_dir / "1.targets.json", current)  # an older targets under the new name
    with pytest.raises(trust.TrustError, match="BadVersionNumber|version"):
        fetch(fleet, "fresh-kiosk")


def test_tampered_document_is_refused_and_nothing_else_breaks(fleet):
    repo, _keys, _server, _tmp = fleet
    for path in (repo.targets_dir / "config" / "county").iterdir():
        path.write_bytes(path.read_bytes().replace(b"12345", b"99999"))
    result = fetch(fleet)
    assert result.documents == {}
    assert len(result.refusals) == 1 and "LengthOrHashMismatch" in result.refusals[0].reason


def test_tampered_metadata_is_refused(fleet):
    repo, _keys, _server, _tmp = fleet
    path = md_path(repo, "targets")
    data = json.loads(path.read_bytes())
    data["signed"]["expires"] = "2099-01-01T00:00:00Z"  # the signature no longer matches
    path.write_text(json.dumps(data))
    with pytest.raises(trust.TrustError, match="Unsigned|signature|threshold"):
        fetch(fleet, "fresh-kiosk")


def test_oversized_metadata_and_documents_are_refused(fleet):
    repo, _keys, _server, _tmp = fleet
    for path in (repo.targets_dir / "config" / "county").iterdir():
        path.write_bytes(path.read_bytes() + b"#" * 10_000_000)
    result = fetch(fleet)
    assert result.documents == {} and "larger than signed" in result.refusals[0].reason
    (repo.metadata_dir / "timestamp.json").write_bytes(b" " * 100_000)  # endless data from a server
    with pytest.raises(trust.TrustError):
        fetch(fleet)


def test_a_document_the_targets_key_never_signed_is_refused(fleet):
    repo, _keys, _server, _tmp = fleet
    # The admission names version 7; the file is there, but no targets metadata lists it.
    (repo.targets_dir / "config" / "county" / "7.toml").write_text('[document]\nscope="county"\nversion=7\n')
    repo.set_admission({"default": {"county": 7}, "kiosks": {}})
    result = fetch(fleet)
    assert result.documents == {}
    assert "not signed by the fleet's targets key" in result.refusals[0].reason


def test_unsigned_metadata_is_refused(fleet):
    repo, _keys, _server, _tmp = fleet
    path = md_path(repo, "snapshot")
    md = Metadata.from_file(str(path))
    md.signatures.clear()
    path.write_bytes(md.to_bytes(JSONSerializer()))
    with pytest.raises(trust.TrustError, match="Unsigned|signature|threshold"):
        fetch(fleet, "fresh-kiosk")


def test_wrong_target_a_document_under_another_name_is_refused(fleet):
    repo, keys, _server, _tmp = fleet
    # The administrator signed a town document; serving it as the county's version 3 fails the
    # header check even though the bytes verify against their own entry.
    raw = publish(repo, keys, "town/other", 3, GOOD)
    signer = load_key(keys / "targets.pem")

    def alias(signed):
        signed.targets["config/county/3.toml"] = TargetFile.from_data("config/county/3.toml", raw, ["sha256"])
    targets_before = md_path(repo, "targets")
    resign(repo, "targets", signer, alias)
    digest = TargetFile.from_data("x", raw, ["sha256"]).hashes["sha256"]
    (repo.targets_dir / "config" / "county" / f"{digest}.3.toml").write_bytes(raw)
    # Rebuild snapshot/timestamp for the re-signed targets as the platform would.
    repo._snapshot_and_timestamp(repo.online_signer(), {"targets": repo.load("targets").signed.version})
    assert targets_before.exists()
    repo.set_admission({"default": {"county": 3}, "kiosks": {}})
    result = fetch(fleet)
    assert result.documents == {}
    assert "says it is town/other version 3" in result.refusals[0].reason


def test_key_rotation_is_followed_and_the_old_online_key_is_dead(fleet):
    repo, keys, _server, tmp = fleet
    fetch(fleet)
    old_online = repo.online_signer()
    assert repo.rotate("online", keys) == 2
    assert repo.rotate("root", keys) == 3
    assert repo.rotate("targets", keys) == 4
    publish(repo, keys, "county", 2, '[kiosk]\nhotline = "12346"\n')
    repo.set_admission({"default": {"county": 2}, "kiosks": {}})
    result = fetch(fleet)  # bootstrapped from root v1 as installed, walks to v4
    assert result.documents["county"].version == 2
    assert json.loads((tmp / "kiosk" / "trusted_root.json").read_bytes())["signed"]["version"] == 4
    # A kiosk installed with the first root, never seen before, walks the chain as well.
    assert fetch(fleet, "new-kiosk").documents["county"].version == 2

    def bump(signed):
        signed.version += 1
    resign(repo, "timestamp", old_online, bump)  # the retired online key signs a timestamp
    with pytest.raises(trust.TrustError, match="Unsigned|signature|threshold"):
        fetch(fleet)


def test_stolen_online_key_cannot_change_what_a_kiosk_runs(fleet):
    """The attacker holds the platform's online key and writes the repository and the database."""
    repo, _keys, _server, _tmp = fleet
    before = fetch(fleet).documents["county"].raw
    online = repo.online_signer()
    evil = b'[document]\nscope = "county"\nversion = 9\n\n[kiosk]\nhotline = "66666666"\n'

    # 1. A document listed by the waves role (which the online key signs) is outside its delegation.
    def add_to_waves(signed):
        signed.targets["config/county/9.toml"] = TargetFile.from_data("config/county/9.toml", evil, ["sha256"])
    resign(repo, WAVES := "waves", online, add_to_waves)
    digest = TargetFile.from_data("x", evil, ["sha256"]).hashes["sha256"]
    (repo.targets_dir / "config" / "county" / f"{digest}.9.toml").write_bytes(evil)
    repo._snapshot_and_timestamp(online, {WAVES: repo.load(WAVES).signed.version})
    repo.set_admission({"default": {"county": 9}, "kiosks": {}})
    result = fetch(fleet)
    assert result.documents == {} and "not signed by the fleet's targets key" in result.refusals[0].reason

    # 2. Targets re-signed with the online key: the kiosk rejects the whole refresh.
    def add_to_targets(signed):
        signed.targets["config/county/9.toml"] = TargetFile.from_data("config/county/9.toml", evil, ["sha256"])
        signed.version += 1
    resign(repo, "targets", online, add_to_targets)
    repo._snapshot_and_timestamp(online, {"targets": repo.load("targets").signed.version})
    with pytest.raises(trust.TrustError):
        fetch(fleet)

    # The last good fetch is what the kiosk keeps: the administrator's document, nothing else.
    accepted = [p.read_bytes() for p in (_tmp / "kiosk" / "tuf" / "targets").rglob("*.toml")]
    assert accepted == [before]
