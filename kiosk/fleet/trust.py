"""The kiosk's side of TUF: fetch and verify what the fleet says this kiosk should run.

One :func:`fetch` is one TUF refresh with ``tuf.ngclient.Updater`` (an Updater refreshes once in its
life, so each refresh makes a new one). It is bootstrapped with the last root this kiosk trusted
(``trusted_root.json`` in its state folder, else the root installed with the site file); after a
refresh the newest verified root replaces it, which is the only way trust roots ever change.
"""
from __future__ import annotations

import json
import logging
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from tuf.api import exceptions as tuf_errors
from tuf.ngclient import Updater, UpdaterConfig

from kiosk.errors import ConfigError
from kiosk.fleet import document as fleet_document
from kiosk.fleet.storage import atomic_write

log = logging.getLogger(__name__)

ADMISSION_PATH = "waves/admission.json"
MAX_ADMISSION_BYTES = 4 * 1024 * 1024


class TrustError(Exception):
    """The repository could not be reached or what it served did not verify; one line."""


@dataclass
class Refusal:
    """A document this kiosk was pointed at and will not run, with the reason reported."""
    scope: str
    version: int
    reason: str


@dataclass
class FetchResult:
    revision: int  # the admission file's revision (grows with every change)
    documents: dict[str, fleet_document.Document] = field(default_factory=dict)  # scope → document
    refusals: list[Refusal] = field(default_factory=list)


def _updater(state_dir: Path, repository_url: str, installed_root: Path) -> Updater:
    metadata_dir = state_dir / "tuf" / "metadata"
    targets_dir = state_dir / "tuf" / "targets"
    metadata_dir.mkdir(parents=True, exist_ok=True)
    targets_dir.mkdir(parents=True, exist_ok=True)
    trusted = state_dir / "trusted_root.json"
    try:
        bootstrap = trusted.read_bytes() if trusted.is_file() else installed_root.read_bytes()
    except OSError as exc:
        raise TrustError(f"cannot read the fleet root {installed_root}: {exc.strerror}") from None
    base = repository_url.rstrip("/")
    try:
        return Updater(str(metadata_dir), base + "/metadata/", str(targets_dir), base + "/targets/",
                       config=UpdaterConfig(targets_max_length=2_000_000), bootstrap=bootstrap)
    except tuf_errors.RepositoryError as exc:
        raise TrustError(f"the installed fleet root is not valid: {exc}") from None


def admitted_for(admission: dict, kiosk_id: str, scopes: list[str]) -> tuple[dict[str, int], list[Refusal]]:
    """Which version of each of this kiosk's scopes to run, and entries naming foreign scopes."""
    chosen: dict[str, int] = {}
    refusals: list[Refusal] = []
    default = admission.get("default", {})
    if isinstance(default, dict):
        for scope in scopes:
            version = default.get(scope)
            if isinstance(version, int) and not isinstance(version, bool) and version > 0:
                chosen[scope] = version
    mine = admission.get("kiosks", {}).get(kiosk_id, {}) if isinstance(admission.get("kiosks"), dict) else {}
    if isinstance(mine, dict):
        for scope, version in mine.items():
            if not isinstance(version, int) or isinstance(version, bool):
                continue
            if scope not in scopes:
                who = "another kiosk's" if scope.startswith("kiosk/") else "another group's"
                refusals.append(Refusal(scope, version, f"{who} document ({scope}), not for {kiosk_id}"))
                continue
            if version > 0:
                chosen[scope] = version
            else:
                chosen.pop(scope, None)
    return chosen, refusals


def fetch(state_dir: Path, repository_url: str, installed_root: Path, kiosk_id: str,
          scopes: list[str]) -> FetchResult:
    """Refresh TUF metadata, read the admission file, download and verify this kiosk's documents.

    Raises TrustError when the repository itself fails (unreachable, expired, tampered metadata);
    a single bad document becomes a :class:`Refusal` and the others still count.
    """
    updater = _updater(state_dir, repository_url, installed_root)
    try:
        updater.refresh()
        info = updater.get_targetinfo(ADMISSION_PATH)
        if info is None:
            raise TrustError("the repository has no admission file")
        if info.length > MAX_ADMISSION_BYTES:
            raise TrustError(f"the admission file is {info.length} bytes, too large")
        admission = json.loads(Path(updater.download_target(info)).read_bytes())
    except tuf_errors.DownloadError as exc:
        raise TrustError(f"fleet repository unreachable: {type(exc).__name__}: {exc}") from None
    except tuf_errors.RepositoryError as exc:
        raise TrustError(f"fleet metadata refused: {type(exc).__name__}: {exc}") from None
    except (ValueError, OSError) as exc:
        raise TrustError(f"fleet admission file unusable: {exc}") from None
    finally:
        _keep_trusted_root(updater, state_dir)
    if not isinstance(admission, dict):
        raise TrustError("the admission file is not a JSON object")
    revision = admission.get("revision", 0)
    result = FetchResult(revision=revision if isinstance(revision, int) else 0)
    chosen, result.refusals = admitted_for(admission, kiosk_id, scopes)
    for scope, version in chosen.items():
        path = fleet_document.target_path(scope, version)
        try:
            target = updater.get_targetinfo(path)
            if target is None:
                raise TrustError(f"{path} is not signed by the fleet's targets key")
            if target.length > fleet_document.MAX_DOCUMENT_BYTES:
                raise TrustError(f"{path} is {target.length} bytes, more than a document may be")
            local = updater.find_cached_target(target) or updater.download_target(target)
            raw = Path(local).read_bytes()
            doc = fleet_document.parse(raw, path)
            if (doc.scope, doc.version) != (scope, version):
                raise TrustError(f"{path} says it is {doc.scope} version {doc.version}")
        except (TrustError, ConfigError) as exc:
            result.refusals.append(Refusal(scope, version, str(exc)))
            continue
        except tuf_errors.DownloadLengthMismatchError as exc:
            result.refusals.append(Refusal(scope, version, f"{path}: larger than signed: {exc}"))
            continue
        except tuf_errors.DownloadError as exc:
            raise TrustError(f"fleet repository unreachable: {type(exc).__name__}") from None
        except tuf_errors.RepositoryError as exc:
            result.refusals.append(Refusal(scope, version, f"{path}: {type(exc).__name__}: {exc}"))
            continue
        result.documents[scope] = doc
    return result


def _keep_trusted_root(updater: Updater, state_dir: Path) -> None:
    """Remember the newest root that verified, to bootstrap the next refresh from it."""
    try:
        current = state_dir / "tuf" / "metadata" / "root.json"
        data = current.read_bytes()
        trusted = state_dir / "trusted_root.json"
        # root.json is the Updater's link to the newest root it verified.
        if not trusted.is_file() or trusted.read_bytes() != data:
            atomic_write(trusted, data)
    except OSError:
        log.debug("could not keep the trusted root", exc_info=True)


def forget_cache(state_dir: Path) -> None:
    """Drop downloaded metadata and targets (not the trusted root)."""
    shutil.rmtree(state_dir / "tuf", ignore_errors=True)
