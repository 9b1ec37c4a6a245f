"""Fleet configuration documents: what they look like and what they may set.

A fleet document is a TOML file with a ``[document]`` header and ordinary configuration sections::

    [document]
    scope = "town/pingan"     # "county", "town/<town>" or "kiosk/<kiosk id>"
    version = 3               # whole number, grows with every publish for that scope
    note = "winter hours"     # optional, shown in ``kiosk fleet status``

    [kiosk]
    notices = ["本服务区全天24小时开放"]

It is published as the TUF target ``config/<scope>/<version>.toml``. A kiosk layers the documents of
its scopes (county, then its town, then itself) over its site file.

What a fleet document may set (everything else is refused before signing and again on the kiosk):

* ``kiosk.notices``, ``kiosk.hotline``
* ``session.idle_timeout_s``, ``session.warning_s``, ``session.elderly_factor``
* ``devices.*`` (device URLs, receipt paper width, printer encoding)
* ``policy.enabled_services``, ``policy.quiet_hours``
* ``service.technicians`` (service-mode PINs, only as the hashes ``kiosk service hash-pin``
  prints), other ``service.*`` keys ending in ``_sha256`` or ``_hash``, and the paper figures
  ``service.receipt_roll_m``, ``service.a4_tray_sheets``, ``service.paper_warn_days``

Never: ``platform.*`` (URL, token), ``fleet.*`` (repository, trust root, broker), ``paths.*``,
``kiosk.id`` and the rest of the site file. Trust roots change only through TUF root rotation.
"""
from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from typing import Any

from kiosk.config import BUILT_IN, Config, _merge, load_config, validate
from kiosk.errors import ConfigError

MAX_DOCUMENT_BYTES = 64 * 1024

ALLOWED: dict[str, set[str] | None] = {
    "kiosk": {"notices", "hotline"},
    "session": {"idle_timeout_s", "warning_s", "elderly_factor"},
    "devices": None,  # every key
    "policy": None,
}
_HASHED_SERVICE_KEY = re.compile(r"^[a-z0-9_]+_(sha256|hash)$")
SERVICE_ALLOWED = {"technicians", "receipt_roll_m", "a4_tray_sheets", "paper_warn_days"}
_SCOPE = re.compile(r"^(county|town/[a-z0-9][a-z0-9_-]{0,31}|kiosk/[A-Za-z0-9][A-Za-z0-9_.-]{0,63})$")
_TARGET = re.compile(r"^config/(.+)/([1-9][0-9]{0,8})\.toml$")


@dataclass(frozen=True)
class Document:
    """A parsed fleet document: its header and the configuration layer it carries."""
    scope: str
    version: int
    note: str
    settings: dict[str, Any]
    raw: bytes

    @property
    def target_path(self) -> str:
        return target_path(self.scope, self.version)


def target_path(scope: str, version: int) -> str:
    return f"config/{scope}/{version}.toml"


def parse_target_path(path: str) -> tuple[str, int] | None:
    """``config/town/pingan/3.toml`` → ("town/pingan", 3); None for anything else."""
    match = _TARGET.match(path)
    if not match or not _SCOPE.match(match.group(1)):
        return None
    return match.group(1), int(match.group(2))


def valid_scope(scope: str) -> bool:
    return bool(_SCOPE.match(scope))


def scopes_for(kiosk_id: str, town: str) -> list[str]:
    """The scopes whose documents apply to a kiosk, in layering order (later wins)."""
    return ["county"] + ([f"town/{town}"] if town else []) + [f"kiosk/{kiosk_id}"]


def _check_allowed(settings: dict[str, Any], name: str) -> None:
    for section, values in settings.items():
        if section == "service" and isinstance(values, dict):
            for key in values:
                if key not in SERVICE_ALLOWED and not _HASHED_SERVICE_KEY.match(key):
                    raise ConfigError(f"{name}: service.{key}: a fleet document may set only hashed service-mode "
                                      f"credentials (technicians, *_sha256, *_hash) and paper figures in [service]")
            continue
        if section not in ALLOWED:
            raise ConfigError(f"{name}: {section}: a fleet document may not set this section "
                              f"(allowed: {', '.join(sorted(ALLOWED))}, service.*_sha256)")
        allowed = ALLOWED[section]
        if allowed is not None and isinstance(values, dict):
            for key in values:
                if key not in allowed:
                    raise ConfigError(f"{name}: {section}.{key}: a fleet document may not set this key "
                                      f"(allowed in [{section}]: {', '.join(sorted(allowed))})")


def parse(raw: bytes, name: str) -> Document:
    """Parse and check a document's header and its allowed keys. Raises ConfigError (one line)."""
    if len(raw) > MAX_DOCUMENT_BYTES:
        raise ConfigError(f"{name}: document is {len(raw)} bytes, more than {MAX_DOCUMENT_BYTES}")
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ConfigError(f"{name}: not valid UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{name}: not valid TOML: {exc}") from None
    header = data.pop("document", None)
    if not isinstance(header, dict):
        raise ConfigError(f"{name}: document: missing [document] table with scope and version")
    unknown = set(header) - {"scope", "version", "note"}
    if unknown:
        raise ConfigError(f"{name}: document.{sorted(unknown)[0]}: unknown key (known: scope, version, note)")
    scope, version, note = header.get("scope"), header.get("version"), header.get("note", "")
    if not isinstance(scope, str) or not _SCOPE.match(scope):
        raise ConfigError(f"{name}: document.scope: must be 'county', 'town/<town>' or 'kiosk/<id>', got {scope!r}")
    if isinstance(version, bool) or not isinstance(version, int) or not 1 <= version <= 999_999_999:
        raise ConfigError(f"{name}: document.version: must be a whole number from 1, got {version!r}")
    if not isinstance(note, str) or len(note) > 200:
        raise ConfigError(f"{name}: document.note: must be a string of at most 200 characters")
    _check_allowed(data, name)
    return Document(scope=scope, version=version, note=note, settings=data, raw=raw)


def check_against(base: Config, settings: dict[str, Any], name: str) -> Config:
    """Layer ``settings`` over ``base`` with the same checks as ``kiosk config check``."""
    return validate(_merge(base, settings, name), name)


def check_for_publish(raw: bytes, name: str) -> Document:
    """Everything the administrator's side can check before signing: header, allowed keys, and the
    configuration checks against the built-in defaults."""
    doc = parse(raw, name)
    check_against(validate(Config(), BUILT_IN), doc.settings, name)
    return doc


def layer(documents: list[Document]) -> dict[str, Any]:
    """Merge documents in order (later scopes win key by key) into one fleet layer."""
    merged: dict[str, dict[str, Any]] = {}
    for doc in documents:
        for section, values in doc.settings.items():
            merged.setdefault(section, {}).update(values)
    return merged


def effective_config(site_path: str | None, documents: list[Document], name: str = "<fleet document>") -> Config:
    """The configuration a kiosk would run with these documents over its site file."""
    for doc in documents:
        _check_allowed(doc.settings, name)
    return load_config(site_path, fleet_doc=layer(documents), fleet_name=name)
