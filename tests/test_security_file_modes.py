"""The platform's data is private to its owner (files 0600, folders 0700), and kiosk tokens come from
a private file or the environment, never the command line that ``ps`` shows."""
from __future__ import annotations

import stat
import uuid
from pathlib import Path

import requests

from conftest import run_kiosk
from platform_process import PlatformProcess, strong_token, tokens_file


def mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def write_something(url: str, token: str) -> None:
    answer = requests.post(url + "/api/v1/ratings", json={"subject": "service", "score": 5}, timeout=10,
                           headers={"Authorization": f"Bearer {token}", "Idempotency-Key": str(uuid.uuid4())})
    assert answer.status_code == 201, answer.text


def test_the_default_data_folder_and_database_are_private(tmp_path):
    data_dir = tmp_path / "data"
    site = tmp_path / "kiosk.toml"
    site.write_text(f'[paths]\ndata_dir = "{data_dir}"\n', encoding="utf-8")
    token = strong_token()
    with PlatformProcess([], env={"KIOSK_BACKEND_TOKENS": f"k1 1 {token}"},
                         global_args=("--config", str(site))) as platform:
        write_something(platform.url, token)
        files = sorted(data_dir.glob("backend.sqlite3*"))
        assert {p.name for p in files} >= {"backend.sqlite3", "backend.sqlite3-wal"}
        assert mode(data_dir) == 0o700
        for path in files:
            assert mode(path) == 0o600, path


def test_an_existing_database_is_made_private(tmp_path):
    db = tmp_path / "platform.sqlite3"
    token = strong_token()
    with PlatformProcess(["--db", f"sqlite:///{db}"], env={"KIOSK_BACKEND_TOKENS": f"k1 1 {token}"}):
        pass
    db.chmod(0o644)
    with PlatformProcess(["--db", f"sqlite:///{db}"], env={"KIOSK_BACKEND_TOKENS": f"k1 1 {token}"}) as platform:
        write_something(platform.url, token)
        assert mode(db) == 0o600
        for path in tmp_path.glob("platform.sqlite3-*"):
            assert mode(path) == 0o600, path


def test_tokens_never_show_on_the_command_line(tmp_path):
    file_token, env_token = strong_token(), strong_token()
    path = tokens_file(tmp_path, [("k1", 1, file_token)])
    with PlatformProcess(["--db", f"sqlite:///{tmp_path / 'p.sqlite3'}", "--kiosk-tokens-file", str(path)],
                         env={"KIOSK_BACKEND_TOKENS": f"k2 2 {env_token}"}) as platform:
        command_line = Path(f"/proc/{platform.pid}/cmdline").read_bytes()
        for token in (file_token, env_token):
            assert token.encode() not in command_line
            headers = {"Authorization": f"Bearer {token}"}
            assert requests.get(platform.url + "/api/v1/catalogue/SB-001", headers=headers, timeout=10).status_code == 200


def test_a_tokens_file_others_can_read_is_refused(tmp_path):
    path = tokens_file(tmp_path, [("k1", 1, strong_token())])
    path.chmod(0o644)
    proc = run_kiosk("backend", "--port", "0", "--db", f"sqlite:///{tmp_path / 'p.sqlite3'}",
                     "--kiosk-tokens-file", str(path), timeout=60)
    assert proc.returncode == 2 and "chmod 600" in proc.stderr and proc.stderr.count("\n") == 1
    assert not (tmp_path / "p.sqlite3").exists()
