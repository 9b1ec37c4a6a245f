"""replace_file: the cache and ledger head files are replaced whole or not at all."""
from __future__ import annotations

import os
import stat

import pytest

from offline_queue import durable
from offline_queue.durable import replace_file


def test_replace_file_writes_whole_owner_only_and_leaves_no_temp(tmp_path):
    target = tmp_path / "cache" / "catalogue.json"
    replace_file(target, b'{"v": 1}')
    replace_file(target, "{\"名称\": 2}".encode())
    assert target.read_bytes() == "{\"名称\": 2}".encode()
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert sorted(p.name for p in target.parent.iterdir()) == ["catalogue.json"]


def test_a_failed_replace_keeps_the_old_file_and_no_temp(tmp_path, monkeypatch):
    target = tmp_path / "divisions.json"
    replace_file(target, b"old")

    def no_space(fd):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(durable.os, "fsync", no_space)
    with pytest.raises(OSError):
        replace_file(target, b"new" * 1000)
    monkeypatch.undo()
    assert target.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["divisions.json"]
